"""``oraclebench compare RUN_A RUN_B [--results DIR] [--flips N] [--json]``.

A run is named by its run id, its records or summary file (or folder), or ``MODEL@latest``. Prints,
per task and split, the paired 2x2 table, the exact McNemar p-value and a paired bootstrap interval
for ``acc(B) - acc(A)``, then the instances that flipped.
"""

from __future__ import annotations

import json
import sys

HELP = "paired comparison of two runs"


def add_arguments(parser) -> None:
    parser.add_argument("run_a", metavar="RUN_A", help="run id, records file, run folder or MODEL@latest")
    parser.add_argument("run_b", metavar="RUN_B", help="the run compared with RUN_A (differences read B - A)")
    parser.add_argument("--results", default="results", help="results directory (default results/)")
    parser.add_argument("--flips", type=int, default=40, help="flipped instances to list (default 40)")
    parser.add_argument("--bootstrap", type=int, default=2000, help="bootstrap resamples (default 2000)")
    parser.add_argument("--seed", type=int, default=0, help="bootstrap seed (default 0)")
    parser.add_argument("--json", action="store_true", help="print the whole comparison as JSON")


def run(args) -> int:
    from oraclebench.compare import compare_runs, render_text
    from oraclebench.textsafe import printable
    from oraclebench.errors import UsageError

    if args.flips < 0 or args.bootstrap < 1:
        raise UsageError("--flips must be >= 0 and --bootstrap >= 1")
    warnings: list[str] = []
    cmp = compare_runs(args.results, args.run_a, args.run_b, n_boot=args.bootstrap, seed=args.seed, warnings=warnings)
    for line in warnings:
        print(f"oraclebench compare: warning: {printable(line, 1000, line=True)}", file=sys.stderr)
    if args.json:
        print(json.dumps(cmp.to_json(), indent=2, ensure_ascii=False, default=str))
    else:
        print(render_text(cmp, max_flips=args.flips))
    return 0
