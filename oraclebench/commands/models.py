"""``oraclebench models``: the model names and patterns the registry knows."""

from __future__ import annotations

HELP = "list the model names and patterns"


def add_arguments(parser) -> None:
    pass


def run(args) -> int:
    from oraclebench.models import NAMES, PATTERNS

    for name in sorted(NAMES):
        print(f"{name:24s} {NAMES[name]}")
    for prefix in sorted(PATTERNS):
        print(f"{prefix + ':...':24s} {PATTERNS[prefix]}")
    return 0
