"""``oraclebench report [--results DIR] [--model NAME ...] [--out DIR]``.

Writes ``report.html`` (self-contained: figures embedded, opens from disk) and its markdown twin
``report.md`` (figures under ``figures/``) from each model's latest complete run per task (every
frozen instance, uninterrupted, nothing deselected, no ``--fresh``, no failed request), or from the
runs named with ``--run`` (a partial run named so is reported, and marked partial).
"""

from __future__ import annotations

import sys
from pathlib import Path

HELP = "write the HTML and markdown report of the latest complete runs (or of --run RUN ...)"


def add_arguments(parser) -> None:
    parser.add_argument("--results", default="results", help="results directory (default results/)")
    parser.add_argument("--model", action="extend", nargs="+", default=[], metavar="NAME",
                        help="only these models (default: every model with a run)")
    parser.add_argument("--run", action="extend", nargs="+", default=[], metavar="RUN",
                        help="report these runs (run id, run folder or MODEL@latest) instead of the latest complete ones")
    parser.add_argument("--out", default=None, help="output directory (default RESULTS/report)")


def run(args) -> int:
    from oraclebench.report import build_report
    from oraclebench.textsafe import printable

    results = Path(args.results)
    out = Path(args.out) if args.out else results / "report"
    warnings: list[str] = []
    path = build_report(results, out=out, models=args.model or None, runs=args.run or None, warnings=warnings)
    for line in warnings:
        print(f"oraclebench report: warning: {printable(line, 1000, line=True)}", file=sys.stderr)
    print(f"oraclebench: wrote {path} and {path.with_suffix('.md')}")
    return 0
