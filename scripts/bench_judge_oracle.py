"""How long the judge oracle takes against text length: ``python scripts/bench_judge_oracle.py``.

Times ``oracles.judge.judge`` on texts of 1 KB .. 1 MB in several shapes (a GSM8K-style chain of
thought repeated, markdown and LaTeX, prose with numbers, and adversarial shapes: open parentheses,
unpaired bold markers, long operator chains). Each measurement runs in a child process with a time
limit, so an oracle that stalls (the one before issue 15 did) shows as ``>LIMIT`` instead of hanging
the benchmark. ``--root DIR`` times the oracle of another checkout (``--root /work/base``: before).

Prints one row per shape: CPU seconds of the child for each size (process time, which a busy machine
disturbs less than wall time); ``>LIMIT`` when it did not finish, ``Recursion!`` (etc.) when it raised.
Not a test: numbers depend on the machine.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

SHAPES = {
    "gsm-cot": "Week 1 is 7 x 5 = 35 dollars. In 2 hours she makes 2 * 18 = 36 dollars. The 3 bags hold "
               "3 x 4 = 12 apples, so 35 + 36 + 12 = 83 in total. ",
    "markdown-latex": "**Step 1:** $\\frac{3}{4} \\times 80 = 60$ students\n- Then 60 − 12 = **48**\n"
                      "$$\\boxed{48}$$\n",
    "prose-numbers": "On day 9 of 30 she had 12 apples, 7 pears and 45 cherries; the 3 boxes were red. ",
    "sentences": "So 7. Then 8! Total 9? 10 + 1 = 11.\n",
    "open-parens": "(((((((((( 1 + ",
    "bold-markers": "**7 × 5 = 35 __ ",
    "operator-chain": "1 + 2 * 3 - 4 / 5 + 6 x 7 + ",
    "unit-chain": "5 tickets + 7 dollars x ",
    "digits": "9999999999",
    "thousands": "1,234,567,890,",
}
SIZES = (1_000, 8_000, 64_000, 1_000_000)


def text_of(shape: str, size: int) -> str:
    unit = SHAPES[shape]
    return (unit * (size // len(unit) + 1))[:size]


def child(root: str, shape: str, size: int) -> None:
    """Time one judge call in this process and print its CPU and wall seconds."""
    sys.path.insert(0, root)
    sys.setrecursionlimit(10_000)
    from oraclebench.oracles.judge import judge

    text = text_of(shape, size)
    cpu, wall = time.process_time(), time.perf_counter()
    try:
        judge(text, 47)
        outcome = "ok"
    except Exception as e:  # the oracle before issue 15 raised on some inputs
        outcome = type(e).__name__
    print(f"{time.process_time() - cpu:.4f} {time.perf_counter() - wall:.4f} {outcome}")


def measure(root: str, shape: str, size: int, limit: float) -> str:
    cmd = [sys.executable, __file__, "--root", root, "--child", shape, str(size)]
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=limit, env={**os.environ, "PYTHONPATH": root})
    except subprocess.TimeoutExpired:
        return f">{limit:g}s"
    if out.returncode != 0:
        return "crash"
    cpu, _, outcome = out.stdout.split()
    return f"{float(cpu):.3f}s" if outcome == "ok" else f"{float(cpu):.3f}s {outcome.replace('Error', '')}!"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--root", default=str(Path(__file__).resolve().parents[1]),
                        help="checkout whose oracle to time")
    parser.add_argument("--limit", type=float, default=60.0, help="seconds allowed per measurement")
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)), help="text lengths in characters")
    parser.add_argument("--shapes", default=",".join(SHAPES), help="which shapes")
    parser.add_argument("--child", nargs=2, metavar=("SHAPE", "SIZE"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args.root, args.child[0], int(args.child[1]))
        return 0
    sizes = [int(s) for s in args.sizes.split(",")]
    print(f"judge oracle of {args.root}: CPU seconds per call ({os.cpu_count()} cores, load {os.getloadavg()[0]:.1f})")
    print(f"{'shape':16s}" + "".join(f"{s:>18,d}" for s in sizes))
    for shape in args.shapes.split(","):
        cells = [measure(args.root, shape, size, args.limit) for size in sizes]
        print(f"{shape:16s}" + "".join(f"{c:>18s}" for c in cells), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
