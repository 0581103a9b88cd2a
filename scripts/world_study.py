"""The reference study of issue 19: gpt2-causal trained and scored on generated worlds of growing depth.

    python scripts/world_study.py --out study --steps 1500 [--variables 6] [--depth 1..4] [--seed 0]
                                  [--heldout-fraction 0.1]

For every depth it generates one world (``oraclebench worlds generate``), holds out the same
fraction of its inputs (a seeded sample), trains ``gpt2-causal`` on it with the same recipe and the
same number of steps (``oraclebench train gpt2-causal --world W --omit ... --steps N``), scores it
on the world's frozen set (``pytest benchmark --model hf:DIR --world W``), and prints the table:
seen and held-out accuracy with 95% Wilson intervals against the world's complexity. Every step is
the public command a user would run; the commands are printed as they run.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import random
import shlex
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def sh(cmd: list[str]) -> None:
    print("$ " + " ".join(shlex.quote(c) for c in cmd), flush=True)
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    subprocess.run(cmd, check=False, env=env, cwd=ROOT)


def heldout_inputs(world_path: str, fraction: float, seed: int) -> list[str]:
    """``fraction`` of the world's frozen-set inputs (at least 2), a seeded sample: the held-out inputs."""
    sys.path.insert(0, str(ROOT))
    from oraclebench.tasks import use_variant

    task = use_variant("causal", world_path)
    labels = [i.label for i in task.frozen_variant()]
    k = max(2, round(fraction * len(labels)))
    return sorted(random.Random(f"study/{seed}/{world_path}").sample(labels, k))


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default="study")
    p.add_argument("--steps", type=int, default=1500)
    p.add_argument("--variables", default="6")
    p.add_argument("--depth", default="1..4")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--heldout-fraction", type=float, default=0.1)
    args = p.parse_args()
    out = Path(args.out).resolve()
    py = sys.executable
    sh([py, "-m", "oraclebench.cli", "worlds", "generate", "--variables", args.variables, "--depth", args.depth,
        "--seed", str(args.seed), "--out", str(out / "worlds")])
    rows = json.loads((out / "worlds" / "worlds.json").read_text())
    for row in rows:
        omit = ";".join(heldout_inputs(row["path"], args.heldout_fraction, args.seed))
        model = out / "models" / row["name"]
        if not (model / "manifest.json").exists():
            sh([py, "-m", "oraclebench.cli", "train", "gpt2-causal", "--world", row["path"], "--omit", omit,
                "--steps", str(args.steps), "--out", str(model)])
        sh([py, "-m", "pytest", "-p", "no:cacheprovider", "-q", "--rootdir", str(ROOT), str(ROOT / "benchmark"),
            "--model", f"hf:{model}", "--world", row["path"], "--results", str(out / "results"), "--tb=no"])
    print(table(out, rows, args.steps, args.heldout_fraction))
    return 0


def table(out: Path, rows: list[dict], steps: int, fraction: float) -> str:
    """The markdown table: one row per world, from the latest summary of its model."""
    lines = ["| world | variables | equations | depth | outputs using outputs | inputs | seen % [95% CI] | "
             "held out % [95% CI] |", "|---|--:|--:|--:|--:|--:|---|---|"]
    summaries = [json.loads(Path(f).read_text()) for f in sorted(glob.glob(str(out / "results/runs/*/summary.json")))]
    for row in rows:
        m = row["measures"]
        latest = [s for s in summaries if s.get("model") == f"hf:{out / 'models' / row['name']}"]
        causal = latest[-1].get("tasks", {}).get("causal", {}) if latest else {}
        seen = causal.get("seen") or _merged(causal.get("trained"), causal.get("unseen"))  # all the inputs not held out
        lines.append(f"| {row['name']} | {m['variables']} | {m['equations']} | {m['depth']} | {m['dependent_outputs']} | "
                     f"{m['input_space']} | {_cell(seen)} | {_cell(causal.get('heldout'))} |")
    lines.append(f"\ngpt2-causal recipe (128-dim, 4 layers, 4 heads, lr 5e-4, batch 16) at {steps} steps "
                 f"(reduced from the recipe's 3,750: CPU budget), the same seeded {100 * fraction:.0f}% of each world's "
                 "frozen-set inputs held out.")
    return "\n".join(lines)


def _merged(a: dict | None, b: dict | None) -> dict | None:
    """Two splits' cells as one (trained + unseen = every input not held out), with its Wilson interval."""
    sys.path.insert(0, str(ROOT))
    from oraclebench.stats import wilson

    cells = [c for c in (a, b) if c]
    if not cells:
        return None
    n, k = sum(c["n"] for c in cells), sum(c["correct"] for c in cells)
    return {"n": n, "accuracy": k / n, "ci": list(wilson(k, n)), "errors": sum(c.get("errors", 0) for c in cells)}


def _cell(c: dict | None) -> str:
    """A summary cell as ``acc [lo, hi] (n=N)``; failed requests (in ``n``, not correct) are named: ``(n=N, K failed)``."""
    if not c:
        return "-"
    errors = f", {c['errors']} failed" if c.get("errors") else ""
    return f"{100 * c['accuracy']:.1f} [{100 * c['ci'][0]:.1f}, {100 * c['ci'][1]:.1f}] (n={c['n']}{errors})"


if __name__ == "__main__":
    sys.exit(main())
