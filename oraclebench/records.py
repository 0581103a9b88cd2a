"""Per-instance records and the results folder.

Layout under the results directory (default ``results/``)::

    runs/<run_id>/records.jsonl   one Record per scored instance
    runs/<run_id>/summary.json    the run's summary (see ``oraclebench.summary``)
    cache.sqlite                  the response cache
    leaderboard.md                regenerated after every run

Both run files are written whole to a temporary name and renamed, so a reader (the report, the
results browser) never sees a half-written file and a killed run leaves nothing torn behind.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from oraclebench.errors import UsageError


# What became of one instance, as a field of its own (inspect_ai's Score separates NOANSWER from
# INCORRECT): never to be pieced together again from ``parsed``, ``error`` or ``reason``.
STATUSES = ("correct", "wrong", "no_answer", "error", "truncated")


def status_of(correct: bool, parsed: Any, error: str | None, truncated: bool = False) -> str:
    """A record's ``status``, one of ``STATUSES``, from the strict reading.

    ``error``: the request failed (counted apart from answers); ``truncated``: the answer ran out of
    token budget before it ended (and was not right); ``correct``; ``no_answer``: nothing could be
    read in the task's format; ``wrong``: an answer, and not the right one.

    >>> status_of(False, None, None), status_of(False, 55, None), status_of(False, None, "timeout")
    ('no_answer', 'wrong', 'error')
    """
    if error is not None:
        return "error"
    if correct:
        return "correct"
    if truncated:
        return "truncated"
    return "no_answer" if parsed is None else "wrong"


@dataclass
class Record:
    """One scored instance of one run.

    ``completion`` is what the model wrote, whole (the scoring cut it at the stop strings first);
    ``correct``/``parsed`` are the strict reading, ``correct_lenient``/``parsed_lenient`` the
    lenient one (the final answer found in prose), which accepts all that the strict one does;
    ``status`` is one of ``STATUSES`` (the strict reading's).
    """

    run_id: str
    model: str
    task: str
    instance_id: str
    label: str
    bucket: dict
    split: str
    prompt: str
    completion: str
    parsed: Any
    expected: Any
    correct: bool
    reason: str = ""
    fields: dict = field(default_factory=dict)
    detail: dict = field(default_factory=dict)
    error: str | None = None
    latency: float = 0.0
    cached: bool = False
    correct_lenient: bool = False
    parsed_lenient: Any = None
    status: str = ""

    def __post_init__(self) -> None:
        if not self.status:  # a record written before the field existed reads as it was scored
            self.status = status_of(self.correct, self.parsed, self.error)
            self.correct_lenient = self.correct_lenient or self.correct

    def to_json(self) -> dict:
        # Containers are copied one level deep, enough for what tasks put there (flat dicts, lists of
        # strings or numbers); asdict's recursive copy was a visible share of a 2,000-item run.
        return {name: _plain(getattr(self, name)) for name in _FIELDS}

    @classmethod
    def from_json(cls, data: dict) -> "Record":
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


_FIELDS = tuple(f.name for f in dataclasses.fields(Record))


def _plain(value):
    if isinstance(value, dict):
        return dict(value)
    if isinstance(value, (list, tuple)):
        return list(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    return value


def new_run_id(model: str) -> str:
    """``20261123T101500-123456-gpt2-causal``: sortable by time, readable, safe as a folder name."""
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", model).strip("_")[-60:]
    now = time.time()
    return time.strftime("%Y%m%dT%H%M%S", time.gmtime(now)) + f"-{int(now * 1e6) % 1_000_000:06d}-{slug}"


def atomic_write(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` so that readers see the old file or the new one, never a part."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_run(results: Path, run_id: str, records: Iterable[Record], summary: dict) -> Path:
    """Write a run's records and summary; returns the run folder."""
    run_dir = Path(results) / "runs" / run_id
    lines = "".join(json.dumps(r.to_json(), ensure_ascii=False, default=str) + "\n" for r in records)
    atomic_write(run_dir / "records.jsonl", lines)
    atomic_write(run_dir / "summary.json", json.dumps(summary, indent=2, ensure_ascii=False, default=str) + "\n")
    return run_dir


def read_records(path: Path) -> list[Record]:
    """Records of a run folder or of a ``records.jsonl`` file."""
    path = Path(path)
    if path.is_dir():
        path = path / "records.jsonl"
    if not path.exists():
        raise UsageError(f"no records at {path}; run `pytest benchmark --model NAME` first or name another run")
    with path.open(encoding="utf-8") as fh:
        return [Record.from_json(json.loads(line)) for line in fh if line.strip()]


def list_runs(results: Path) -> list[dict]:
    """Summaries of every finished run under ``results``, oldest first."""
    runs = []
    for summary in sorted((Path(results) / "runs").glob("*/summary.json")):
        try:
            data = json.loads(summary.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            continue  # a run being written right now, or damaged by hand: skip it, never crash
        data.setdefault("run_id", summary.parent.name)
        data["path"] = str(summary.parent)
        runs.append(data)
    return sorted(runs, key=lambda s: (s.get("finished", ""), s["run_id"]))


def latest_runs(results: Path) -> dict[str, dict]:
    """The latest scoring run of each model (``--explore`` searches are not scores)."""
    latest: dict[str, dict] = {}
    for summary in list_runs(results):
        if not summary.get("explore"):
            latest[summary["model"]] = summary
    return latest


def resolve_run(results: Path, name: str) -> Path:
    """A run folder named by run id, by a records/summary file or folder, or by ``MODEL@latest``."""
    path = Path(name)
    if path.exists():
        return path.parent if path.is_file() else path
    if name.endswith("@latest"):
        model = name[: -len("@latest")]
        latest = latest_runs(results)
        if model not in latest:
            known = ", ".join(sorted(latest)) or "none yet"
            raise UsageError(f"no run of model {model!r} under {results}; models with runs: {known}")
        return Path(latest[model]["path"])
    run_dir = Path(results) / "runs" / name
    if run_dir.is_dir():
        return run_dir
    raise UsageError(f"no run {name!r}: give a run id under {results}/runs, a records file, or MODEL@latest")
