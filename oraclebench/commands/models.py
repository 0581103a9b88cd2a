"""``oraclebench models``: what each model name and pattern is for and how to use it."""

from __future__ import annotations

import shutil
import textwrap

HELP = "list the model names and patterns: what each is for and how to use it"

PAD = "    "


def add_arguments(parser) -> None:
    pass


def entry(usage, extra: str | None, width: int) -> list[str]:
    """One name's lines: the name as typed, what it is for (wrapped to ``width``), a command that uses it."""
    needs = f" (needs oraclebench[{extra}])" if extra else ""
    return [usage.form, *textwrap.wrap(usage.purpose + needs, width, initial_indent=PAD, subsequent_indent=PAD),
            f"{PAD}e.g. {usage.example}"]


def run(args) -> int:
    from oraclebench.models import DESCRIPTIONS, EXTRAS, NAMES, PATTERNS, Usage

    width = max(40, min(100, shutil.get_terminal_size((80, 24)).columns))
    out = ["Model names for --model (pytest benchmark, oraclebench run, try, explore):", ""]
    for name in NAMES:  # the registry's order: baselines, then the reference models
        out += entry(DESCRIPTIONS.get(name) or Usage(name, "", f"pytest benchmark --model {name}"), EXTRAS.get(name), width)
    out += ["", "Patterns: a prefix, then what it names", ""]
    for prefix in PATTERNS:
        usage = DESCRIPTIONS.get(prefix) or Usage(f"{prefix}:...", "", f"pytest benchmark --model {prefix}:...")
        out += entry(usage, EXTRAS.get(prefix), width)
    out += [""] + textwrap.wrap("Adapter options: --model-opt KEY=VALUE (device=cuda, dtype=bfloat16, batch_size=64, "
                                "concurrency=32, timeout=SECONDS; see the README)", width)
    print("\n".join(out))
    return 0
