"""Frozen instance sets: versioned, seeded, stratified JSONL files under ``benchmark/sets/``.

Every model is scored on the same instances. A line is ``Instance.to_json()`` plus the oracle's
``answer``, so the set documents its own ground truth (and a test re-checks it against the oracle).
"""

from __future__ import annotations

import functools
import importlib.util
import itertools
import json
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from oraclebench.errors import UsageError
from oraclebench.files import atomic_write
from oraclebench.tasks import BUILTIN, TASKS, get_task
from oraclebench.tasks.base import Instance

# benchmark/sets/ in a checkout, oraclebench/benchmark/sets/ in an installed wheel (pyproject's package-dir).
SETS_DIR = Path(next(iter(importlib.util.find_spec("oraclebench.benchmark").submodule_search_locations))) / "sets"


def set_path(task: str, directory: Path = SETS_DIR) -> Path:
    return Path(directory) / f"{task}-{get_task(task).version}.jsonl"


def freeze(task: str, seed: int = 0, directory: Path = SETS_DIR) -> Path:
    """Write the frozen set of ``task`` (deterministic under ``seed``)."""
    t = get_task(task)
    lines = []
    for inst in t.frozen(seed):
        lines.append(json.dumps({**inst.to_json(), "answer": t.solve(t.decode(inst.problem))}, ensure_ascii=False))
    path = set_path(task, directory)
    atomic_write(path, "\n".join(lines) + "\n")
    return path


def load_set(task: str, directory: Path = SETS_DIR) -> list[Instance]:
    """The frozen instances of ``task``; a missing file says how to make it.

    A task bound to a variant (``--world my.toml``, see ``tasks.use_variant``) has its own set, drawn
    in memory by the task (``Task.frozen_variant``). A task from another package (entry point) ships no set file here: its frozen set is drawn in
    memory from its ``frozen_configs`` (``Task.frozen(0)``, deterministic), the same instances every
    run, and never written into the installed package.
    """
    if get_task(task).variant_id() is not None:  # a variant (``--world``): its own set, drawn in memory
        return get_task(task).frozen_variant()
    path = set_path(task, directory)
    if not path.exists() and task not in BUILTIN:
        return _drawn_set(task)
    if not path.exists():
        raise UsageError(f"no frozen set {path}; run `oraclebench freeze {task}`")
    stat = path.stat()
    return list(_read_set(str(path), stat.st_mtime_ns, stat.st_size))


@functools.lru_cache(maxsize=16)
def _read_set(path: str, mtime_ns: int, size: int) -> tuple[Instance, ...]:
    # A run reads its sets more than once (selection, completeness, coverage): parsed once per file
    # version (a rewritten file has another mtime or size, so `freeze` is seen at once).
    out = []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                d = json.loads(line)
                out.append(Instance(d["task"], d["id"], d["problem"], d["bucket"], d["label"]))
    return tuple(out)


@functools.lru_cache(maxsize=None)
def _drawn_set_cached(task: str) -> tuple[Instance, ...]:
    return tuple(get_task(task).frozen(0))


def _drawn_set(task: str) -> list[Instance]:
    return list(_drawn_set_cached(task))


def load_answers(task: str, directory: Path = SETS_DIR) -> dict[str, object]:
    """The oracle answers stored beside each frozen instance, by instance id."""
    with set_path(task, directory).open(encoding="utf-8") as fh:
        return {d["id"]: d["answer"] for d in map(json.loads, filter(str.strip, fh))}


def stratified(instances: Sequence[Instance], limit: int | None) -> list[Instance]:
    """At most ``limit`` instances that keep the set's balance on every axis its score depends on.

    The axes are the task's ``subset_axes`` (each bucket key, and what a bucket leaves out: judge's
    answer position), each pair of them, and the bucket label itself. Instances are taken one at a
    time, each from the cell (label and axis values) whose axis values are furthest below their share
    of the whole set, ties going to the cell first in sorted order; within a cell, in set order. So
    every prefix is balanced: at ``--limit 50`` judge has 25 or so answers in each position, spread over
    the templates, errors and labels in the set's proportions, each with half its answers in each
    position within two, instead of the first 50 labels' unswapped instances. The held-out split is a
    function of these knobs in every task, so it keeps its share too. Deterministic: the same set and
    limit give the same subset.
    """
    if limit is None or limit >= len(instances):
        return list(instances)
    cells = _cells(instances)
    share = _shares(cells, len(instances))
    taken: dict[tuple, int] = defaultdict(int)
    picked: list[Instance] = []
    for k in range(1, limit + 1):
        cell = max((c for c in cells if c.left), key=lambda c: (sum(k * share[a] - taken[a] for a in c.axes), -c.order))
        picked.append(cell.left.pop(0))
        for a in cell.axes:
            taken[a] += 1
    ids = {i.id for i in picked}
    return [i for i in instances if i.id in ids]  # keep the set's own order


@dataclass
class _Cell:
    order: int
    axes: tuple[tuple, ...]  # (axis, value), the label's included, and ((axis, axis), (value, value))
    left: list[Instance]


def _cells(instances: Sequence[Instance]) -> list[_Cell]:
    """Instances grouped by label and strata values, cells in a fixed (sorted) order. A cell's axes are
    each (axis, value) and each pair of two of the task's axes with their values: balanced one at a time,
    two axes could fall together (judge at ``--limit 50``: every argument-right instance had its right
    answer as candidate 2 and every argument-wrong one as candidate 1)."""
    groups: dict[tuple, list[Instance]] = defaultdict(list)
    for inst in instances:
        task = get_task(inst.task)
        axes = {"label": inst.label, **task.subset_axes(task.decode(inst.problem))}
        groups[tuple(sorted((k, json.dumps(v, sort_keys=True, default=str)) for k, v in axes.items()))].append(inst)
    return [_Cell(n, _with_pairs(key), group) for n, (key, group) in enumerate(sorted(groups.items()))]


def _with_pairs(axes: tuple[tuple, ...]) -> tuple[tuple, ...]:
    """``axes`` and each pair of them but the label (which fixes the bucket's values: its pairs are the cell)."""
    own = [a for a in axes if a[0] != "label"]
    return axes + tuple(((a[0], b[0]), (a[1], b[1])) for a, b in itertools.combinations(own, 2))


def _shares(cells: list[_Cell], total: int) -> dict[tuple, float]:
    counts: dict[tuple, int] = defaultdict(int)
    for c in cells:
        for a in c.axes:
            counts[a] += len(c.left)
    return {a: n / total for a, n in counts.items()}


def coverage(task: str, selected: Sequence[Instance] | Sequence[str], fresh: bool = False) -> dict:
    """What a run's instances cover of the task's frozen set: ``{"instances", "of", "strata", "of_strata",
    "version"}``.

    ``selected``: instances, or the records' labels. Strata are the set's bucket labels. A fresh
    set has no frozen set to cover: ``of`` and ``of_strata`` are then None. ``version``: the set's
    (``Task.version``), so that a run of a set since replaced is never taken as complete
    (``records.task_complete``).
    """
    labels = [s if isinstance(s, str) else s.label for s in selected]
    version = get_task(task).version
    if fresh:
        return {"instances": len(labels), "of": None, "strata": len(set(labels)), "of_strata": None, "version": version}
    full = load_set(task)
    return {"instances": len(labels), "of": len(full), "strata": len(set(labels)),
            "of_strata": len({i.label for i in full}), "version": version}


def describe_coverage(task: str, c: dict) -> str:
    """``judge: 50 of 576 instances, 50 of 192 strata`` (or ``... fresh instances in 24 strata``)."""
    strata = "stratum" if (c.get("of_strata") or c["strata"]) == 1 else "strata"  # "of 1 stratum", "in 1 stratum"
    if c.get("of") is None:
        return f"{task}: {c['instances']} fresh instances in {c['strata']} {strata}"
    return f"{task}: {c['instances']} of {c['of']} instances, {c['strata']} of {c['of_strata']} {strata}"


def all_tasks() -> list[str]:
    return sorted(TASKS)
