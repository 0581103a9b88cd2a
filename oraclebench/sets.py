"""Frozen instance sets: versioned, seeded, stratified JSONL files under ``benchmark/sets/``.

Every model is scored on the same instances. A line is ``Instance.to_json()`` plus the oracle's
``answer``, so the set documents its own ground truth (and a test re-checks it against the oracle).
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Sequence

from oraclebench.errors import UsageError
from oraclebench.records import atomic_write
from tasks import TASKS, get_task
from tasks.base import Instance

SETS_DIR = Path(__file__).resolve().parent.parent / "benchmark" / "sets"


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
    """The frozen instances of ``task``; a missing file says how to make it."""
    path = set_path(task, directory)
    if not path.exists():
        raise UsageError(f"no frozen set {path}; run `oraclebench freeze {task}`")
    out = []
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                d = json.loads(line)
                out.append(Instance(d["task"], d["id"], d["problem"], d["bucket"], d["label"]))
    return out


def load_answers(task: str, directory: Path = SETS_DIR) -> dict[str, object]:
    """The oracle answers stored beside each frozen instance, by instance id."""
    with set_path(task, directory).open(encoding="utf-8") as fh:
        return {d["id"]: d["answer"] for d in map(json.loads, filter(str.strip, fh))}


def stratified(instances: Sequence[Instance], limit: int | None) -> list[Instance]:
    """At most ``limit`` instances, taken round-robin over buckets (labels) so every bucket is represented."""
    if limit is None or limit >= len(instances):
        return list(instances)
    groups: dict[str, list[Instance]] = defaultdict(list)
    for inst in instances:
        groups[inst.label].append(inst)
    order = sorted(groups)
    picked: list[Instance] = []
    depth = 0
    while len(picked) < limit:
        for label in order:
            if depth < len(groups[label]) and len(picked) < limit:
                picked.append(groups[label][depth])
        depth += 1
    ids = {i.id for i in picked}
    return [i for i in instances if i.id in ids]  # keep the set's own order


def all_tasks() -> list[str]:
    return sorted(TASKS)
