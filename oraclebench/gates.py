"""Regression gates: accuracy floors per model, task and split, and baselines with a tolerance.

A gate file is TOML, one table per model (``"*"`` applies to every model)::

    [gpt2-causal]
    causal = 0.99                 # accuracy on all causal instances
    "causal.heldout" = 0.90       # accuracy on the held-out split

    [gpt2-causal.baseline]        # optional: compare with a stored run
    summary = "baselines/gpt2-causal/summary.json"
    tolerance = 0.02              # fail when more than 2 points below the baseline

With ``--gate FILE`` the exit status is 0 iff every gate holds. A malformed file, a gate for a task
that did not run, or a file with no gates for the model is a ``UsageError``, never a silent pass.
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass
from pathlib import Path

from oraclebench.errors import UsageError

SPLITS = ("all", "seen", "heldout")


@dataclass(frozen=True)
class GateResult:
    name: str
    measured: float | None
    floor: float
    ok: bool
    detail: str = ""

    def line(self) -> str:
        got = "n/a" if self.measured is None else f"{self.measured:.4f}"
        verdict = "PASS" if self.ok else "FAIL"
        return f"{verdict} {self.name}: measured {got}, floor {self.floor:.4f}" + (f" ({self.detail})" if self.detail else "")


def load_gates(path: Path | str) -> dict:
    """The parsed gate file; a missing or malformed file is a one-line ``UsageError``."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(f"gate file {path} not found; pass an existing TOML file to --gate") from None
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"gate file {path} is not valid TOML: {exc}") from None
    for model, table in data.items():
        if not isinstance(table, dict):
            raise UsageError(f"gate file {path}: {model!r} must be a table like [{model}] with task = floor lines")
    return data


def _parse_key(key: str, path: Path, model: str) -> tuple[str, str]:
    task, _, split = key.partition(".")
    split = split or "all"
    if split not in SPLITS:
        raise UsageError(f"gate file {path}: [{model}] {key!r}: split must be one of {', '.join(SPLITS)}")
    return task, split


def _floor(value, where: str, path: Path) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        raise UsageError(f"gate file {path}: {where} must be a number between 0 and 1, not {value!r}")
    return float(value)


def _accuracy(summary: dict, task: str, split: str) -> float | None:
    return summary.get("tasks", {}).get(task, {}).get(split, {}).get("accuracy")


def check_gates(path: Path | str, summary: dict) -> list[GateResult]:
    """Every gate of ``path`` that applies to ``summary``'s model, checked against it."""
    path = Path(path)
    data = load_gates(path)
    model = summary["model"]
    tables = [(name, data[name]) for name in ("*", model) if name in data]
    if not tables:
        raise UsageError(f"gate file {path} has no [{model}] table (it has: {', '.join(data) or 'none'}); add one")
    results: list[GateResult] = []
    for name, table in tables:
        for key, value in table.items():
            if key == "baseline":
                results += _baseline_gates(value, summary, path, name)
                continue
            task, split = _parse_key(key, path, name)
            floor = _floor(value, f"[{name}] {key}", path)
            if task not in summary.get("tasks", {}):
                raise UsageError(f"gate [{name}] {key}: task {task!r} did not run (ran: {', '.join(summary['tasks'])})")
            measured = _accuracy(summary, task, split)
            if measured is None:
                raise UsageError(f"gate [{name}] {key}: no {split} instances of {task} in this run; "
                                 f"give the model a manifest or --heldout, or drop the gate")
            results.append(GateResult(f"{model} {key}", measured, floor, measured >= floor))
    return results


def _baseline_gates(spec, summary: dict, path: Path, name: str) -> list[GateResult]:
    if not isinstance(spec, dict) or "summary" not in spec:
        raise UsageError(f"gate file {path}: [{name}.baseline] needs summary = \"PATH\" (and optional tolerance)")
    base_path = (path.parent / spec["summary"]).resolve()
    try:
        baseline = json.loads(base_path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise UsageError(f"gate file {path}: cannot read baseline summary {base_path}: {exc}") from None
    tolerance = _floor(spec.get("tolerance", 0.0), f"[{name}.baseline] tolerance", path)
    results = []
    for task, splits in baseline.get("tasks", {}).items():
        if task not in summary.get("tasks", {}):
            continue  # the baseline covers more tasks than this run: gate only what ran
        for split, c in splits.items():
            measured = _accuracy(summary, task, split)
            if measured is None or c.get("accuracy") is None:
                continue
            floor = max(0.0, c["accuracy"] - tolerance)
            results.append(GateResult(f"{summary['model']} {task}.{split} vs baseline", measured, floor,
                                      measured >= floor, f"baseline {c['accuracy']:.4f} - tolerance {tolerance}"))
    if not results:
        raise UsageError(f"gate file {path}: baseline {base_path} shares no task with this run")
    return results
