"""``oraclebench report [--results DIR] [--model NAME ...] [--out DIR]``.

Writes ``report.html`` (self-contained: figures embedded, opens from disk) and its markdown twin
``report.md`` (figures under ``figures/``) from the latest run of each model.
"""

from __future__ import annotations

import sys
from pathlib import Path

HELP = "write the HTML and markdown report of the latest runs"


def add_arguments(parser) -> None:
    parser.add_argument("--results", default="results", help="results directory (default results/)")
    parser.add_argument("--model", action="extend", nargs="+", default=[], metavar="NAME",
                        help="only these models (default: every model with a run)")
    parser.add_argument("--out", default=None, help="output directory (default RESULTS/report)")


def run(args) -> int:
    from oraclebench.report import build_report
    from oraclebench.textsafe import printable

    results = Path(args.results)
    out = Path(args.out) if args.out else results / "report"
    warnings: list[str] = []
    path = build_report(results, out=out, models=args.model or None, warnings=warnings)
    for line in warnings:
        print(f"oraclebench report: warning: {printable(line, 1000)}", file=sys.stderr)
    print(f"oraclebench: wrote {path} and {path.with_suffix('.md')}")
    return 0
