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
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from oraclebench.errors import UsageError
from oraclebench.files import atomic_write  # here too, where records and summaries are written
from oraclebench.textsafe import ERROR_CHARS, STORED_CHARS, cap, printable, storable


# What became of one instance, as a field of its own (inspect_ai's Score separates NOANSWER from
# INCORRECT): never to be pieced together again from ``parsed``, ``error`` or ``reason``.
# The user_properties key under which a pytest item carries its record (the plugin and explore both set it).
RECORD_KEY = "oraclebench.record"

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
        # Whatever the model sent, a record is storable and bounded: no lone surrogate reaches a file,
        # a page or a terminal, and a 10 MB answer is kept as its first and last parts (the full
        # length is in detail["completion_chars"]). Scoring has already read the whole text.
        for name in _FIELDS:
            setattr(self, name, storable(getattr(self, name)))
        if isinstance(self.completion, str) and len(self.completion) > STORED_CHARS:
            self.detail = {**(self.detail or {}), "completion_chars": len(self.completion)}
            self.completion = cap(self.completion, STORED_CHARS)
        if isinstance(self.parsed, str) and len(self.parsed) > STORED_CHARS:
            self.parsed = cap(self.parsed, STORED_CHARS)
        if isinstance(self.parsed, (list, tuple)) and sum(len(str(v)) for v in self.parsed) > STORED_CHARS:
            self.parsed = _cap_lines(self.parsed)
        for name, limit in (("reason", ERROR_CHARS), ("error", ERROR_CHARS)):
            value = getattr(self, name)
            if isinstance(value, str) and len(value) > limit:
                setattr(self, name, cap(value, limit))

    def to_json(self) -> dict:
        # Containers are copied one level deep, enough for what tasks put there (flat dicts, lists of
        # strings or numbers); asdict's recursive copy was a visible share of a 2,000-item run.
        return {name: _plain(getattr(self, name)) for name in _FIELDS}

    @classmethod
    def from_json(cls, data: dict) -> "Record":
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})

    @classmethod
    def from_line(cls, line: str) -> "Record":
        """The record that ``record_line`` wrote as ``line`` in this run (an xdist worker's report, a
        share's in-flight file), read without checking again what its writer's ``__post_init__``
        made so: every string storable, every text capped, ``status`` set. A JSON round trip keeps
        all of that (a record's strings hold no lone surrogate to escape, and no cap to reapply).
        That check is most of a record's reading (0.27 of 0.32 s for 4,000 abcd records, profiled),
        paid by an xdist controller after its workers are done. A file from elsewhere (a run's
        ``records.jsonl``, read back by a later command) goes through ``from_json``.

        Raises ``ValueError`` (``json.JSONDecodeError``) where ``line`` is no JSON, ``KeyError`` where
        it lacks a field: no line ``record_line`` wrote.
        """
        data = json.loads(line)
        record = cls.__new__(cls)
        record.__dict__.update({name: data[name] for name in _FIELDS})
        return record


_FIELDS = tuple(f.name for f in dataclasses.fields(Record))


_MARKER_ROOM = 64  # characters kept free for the last line's "...[N more lines cut]"


def _cap_lines(lines) -> list:
    """A parsed list of lines (an abcd trace) cut to ``STORED_CHARS`` in all, each line capped, and a
    last line saying how many were cut. The marker fits within ``STORED_CHARS``, so capping a capped
    list changes nothing: a record read back from its file is the record written (the marker once
    pushed the total over, and the reading cut it again to "...[1 more lines cut]")."""
    out, used = [], 0
    for i, line in enumerate(lines):
        text = cap(str(line), STORED_CHARS // 8)
        if used + len(text) > STORED_CHARS - _MARKER_ROOM:
            return out + [f"...[{len(lines) - i:,} more lines cut]"]
        out.append(text)
        used += len(text)
    return out


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


def record_line(record: Record) -> str:
    """``record`` as one line of ``records.jsonl`` (no newline): what an item carries on its reports.

    One string, not the record's dict: an xdist worker sends each report through execnet, whose
    serializer walks a dict key by key in Python (0.9 ms a report for abcd's 2 KB records, 1.0 s of
    a worker's 600 items); a string goes whole.
    """
    return json.dumps(record.to_json(), ensure_ascii=False, default=str)


def write_run(results: Path, run_id: str, records: Iterable[Record], summary: dict,
              lines: Iterable[str] | None = None) -> Path:
    """Write a run's records and summary; returns the run folder.

    ``lines``: the records' ``record_line`` where the caller has them already (the plugin does: each
    item carried its record so), one per record in order, so no record is converted twice.
    """
    run_dir = Path(results) / "runs" / run_id
    lines = (record_line(r) for r in records) if lines is None else lines
    atomic_write(run_dir / "records.jsonl", "".join(line + "\n" for line in lines))
    atomic_write(run_dir / "summary.json", json.dumps(summary, indent=2, ensure_ascii=False, default=str) + "\n")
    return run_dir


class DamagedFile(UsageError):
    """A results file that cannot be read (truncated, edited, not UTF-8, not the expected shape).

    The message names the file, the place and the fix. Readers of many runs (leaderboard, report,
    the browser) skip such a run with one warning; a reader of one named run reports it as an error.
    """


# What every record must hold, and the type each of these fields must have when present.
_RECORD_TYPES = {"run_id": str, "model": str, "task": str, "instance_id": str, "label": str, "bucket": dict,
                 "split": str, "correct": bool, "fields": dict, "detail": dict, "reason": str}
_REQUIRED = tuple(f.name for f in dataclasses.fields(Record)
                  if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING)


def _damaged(path: Path, where: str, why: str) -> DamagedFile:
    return DamagedFile(f"{path}{where}: damaged ({why}); move it aside or delete its run folder, "
                       "or re-run the model to write it again")


def _record(line: str, path: Path, n: int) -> Record:
    try:
        data = json.loads(line)
    except ValueError as exc:
        raise _damaged(path, f" line {n}", f"not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise _damaged(path, f" line {n}", f"a {type(data).__name__}, not a record object")
    missing = [k for k in _REQUIRED if k not in data]
    wrong = [k for k, t in _RECORD_TYPES.items() if k in data and data[k] is not None and not isinstance(data[k], t)]
    if missing or wrong:
        why = ", ".join([f"no {k}" for k in missing[:3]]
                        + [f"{k} is not a {_RECORD_TYPES[k].__name__}" for k in wrong[:3]])
        raise _damaged(path, f" line {n}", why)
    return Record.from_json(data)


def read_records(path: Path) -> list[Record]:
    """Records of a run folder or of a ``records.jsonl`` file; a damaged file is a ``DamagedFile``
    naming it and the first bad line."""
    path = Path(path)
    if path.is_dir():
        path = path / "records.jsonl"
    if not path.exists():
        raise UsageError(f"no records at {path}; run `pytest benchmark --model NAME` first or name another run")
    try:
        with path.open(encoding="utf-8") as fh:
            return [_record(line, path, n) for n, line in enumerate(fh, 1) if line.strip()]
    except UnicodeDecodeError as exc:
        raise _damaged(path, "", f"not UTF-8 text: {exc.reason}") from None
    except OSError as exc:
        raise _damaged(path, "", f"cannot be read: {exc.strerror or exc}") from None


def _is_count(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _cell_problem(c) -> str | None:
    if not isinstance(c, dict):
        return "a cell is not an object"
    if not (_is_count(c.get("n")) and _is_count(c.get("correct"))):
        return "n and correct must be counts"
    acc = c.get("accuracy")
    if acc is not None and (isinstance(acc, bool) or not isinstance(acc, (int, float)) or not 0 <= acc <= 1):
        return f"accuracy {acc!r} is not a fraction"
    if "fields" in c and not isinstance(c["fields"], dict):
        return "fields is not an object"
    return None


def summary_problem(data) -> str | None:
    """What is wrong with a parsed ``summary.json`` for the readers (leaderboard, report, browser), or None."""
    if not isinstance(data, dict):
        return f"a JSON {type(data).__name__}, not an object"
    for key in ("model", "run_id", "finished"):
        if key in data and not isinstance(data[key], str) or key == "model" and key not in data:
            return f"{key} is missing or not a string"
    for key in ("tasks", "options", "manifest", "timing", "complete", "partial", "coverage"):
        if data.get(key) is not None and not isinstance(data[key], dict):
            return f"{key} is not an object"
    tasks = data.get("tasks") or {}
    for task, splits in tasks.items():
        if not isinstance(splits, dict) or "all" not in splits:
            return f"task {task!r} has no 'all' cell"
        for split, c in splits.items():
            if (problem := _cell_problem(c)) is not None:
                return f"{task}.{split}: {problem}"
    return None


def read_summary(run: Path) -> dict | None:
    """The ``summary.json`` of a run folder (or beside a records file), or None where it is missing or
    damaged (``summary_problem``): a reader that only adds to what the records say goes on without it."""
    path = Path(run) / "summary.json" if Path(run).is_dir() else Path(run).parent / "summary.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if summary_problem(data) is None else None


def scan_runs(results: Path) -> tuple[list[dict], list[str]]:
    """Summaries of every finished run under ``results`` (oldest first), and one warning per damaged
    ``summary.json`` (named, with what is wrong): such a run is skipped, never a crash."""
    runs, damaged = [], []
    for summary in sorted((Path(results) / "runs").glob("*/summary.json")):
        try:
            data = json.loads(summary.read_text(encoding="utf-8"))
            problem = summary_problem(data)
        except FileNotFoundError:
            continue  # removed between the listing and the read
        except (OSError, ValueError) as exc:  # ValueError: not JSON, not UTF-8
            problem = f"not readable JSON: {str(exc)[:200]}"
        if problem is not None:
            damaged.append(f"{summary}: damaged ({problem}); skipped (move its run folder aside or delete it)")
            continue
        data = storable(data)  # a model name or option with a lone surrogate still renders on a page
        data.setdefault("run_id", summary.parent.name)
        data["path"] = str(summary.parent)
        runs.append(data)
    return sorted(runs, key=lambda s: (s.get("finished", ""), s["run_id"])), damaged


def list_runs(results: Path) -> list[dict]:
    """Summaries of every finished run under ``results``, oldest first; damaged ones are skipped
    (``scan_runs`` says which)."""
    return scan_runs(results)[0]


def latest_runs(results: Path, warnings: list[str] | None = None) -> dict[str, dict]:
    """The latest scoring run of each model (``--explore`` searches are not scores); a damaged
    summary is skipped, and its warning appended to ``warnings`` when given."""
    latest: dict[str, dict] = {}
    runs, damaged = scan_runs(results)
    if warnings is not None:
        warnings.extend(damaged)
    for summary in runs:
        if not summary.get("explore"):
            latest[summary["model"]] = summary
    return latest


def task_complete(summary: dict, task: str) -> bool:
    """Whether ``summary``'s run scored every frozen instance of ``task`` (the current set version),
    uninterrupted, with nothing deselected, no ``--fresh`` and no failed request: a run whose number can
    stand as the model's score on the task. A failed request makes any run partial, whatever its summary
    recorded (one written before that rule says ``complete``).

    Runs written before completeness was recorded count as complete when they were no search, no
    fresh set, had no failed request, and scored as many instances as the frozen set has.
    """
    if summary.get("explore") or task not in (summary.get("tasks") or {}) or request_errors(summary, task):
        return False  # a failed request did not measure the model (recorded complete before that rule, or not)
    if set_versions(summary, task)[0] != set_versions(summary, task)[1]:
        return False  # all of a set since replaced (judge v1) is not the model's score on the current one
    if "complete" in summary:
        return bool((summary.get("complete") or {}).get(task))
    if (summary.get("options") or {}).get("fresh"):
        return False
    from oraclebench.sets import load_set

    try:
        size = len(load_set(task))
    except (UsageError, ValueError):
        return False
    return summary["tasks"][task].get("all", {}).get("n") == size


def measured_as(summary: dict) -> str:
    """How ``summary``'s run measured its model, where that is not the model's plain measurement: in
    16-bit arithmetic (an ``hf:`` identity ending ``:bfloat16``), or a reference model trained at a
    reduced ``ORACLEBENCH_TRAIN_SCALE`` (its manifest's recipe). ``""`` for the plain one. The
    leaderboard names it beside a score: a run in bfloat16, or of a model trained at scale 0.05, became
    the model's score under its plain name (found by a trial).

    >>> measured_as({"identity": "hf:gpt2-mult@3f3d:bfloat16", "manifest": {"recipe": {"scale": 0.05}}})
    'bfloat16, training scale 0.05'
    """
    said = []
    dtype = str(summary.get("identity") or "").rpartition(":")[2]
    if dtype in ("bfloat16", "float16"):
        said.append(dtype)
    manifest = summary.get("manifest") if isinstance(summary.get("manifest"), dict) else {}
    recipe = manifest.get("recipe")
    # the reference recipes keep it in their recipe, the judge recipe beside it
    scale = recipe.get("scale") if isinstance(recipe, dict) and "scale" in recipe else manifest.get("scale")
    if isinstance(scale, (int, float)) and not isinstance(scale, bool) and scale != 1:
        said.append(f"training scale {scale:g}")
    return ", ".join(said)


def request_errors(summary: dict, task: str) -> int:
    """How many of ``task``'s requests failed in ``summary``'s run (status error: not measured)."""
    return int(((summary.get("tasks") or {}).get(task) or {}).get("all", {}).get("errors") or 0)


def errors_reason(errors: int, cached: bool = True, example: str = "") -> str:
    """The partial reason of a run with ``errors`` failed requests: the model was not measured on them.
    Failed requests are never cached (``cache.ResponseCache``), so where the run used the cache a
    rerun asks only them again and answers the rest from the cache. ``example``: one of the errors, so
    the reason says what failed (a rerun helps a server that was gone, not a prompt too long for the
    model)."""
    again = "failed requests are not cached: rerun to ask only them again" if cached else "rerun to ask them again"
    said = f" (e.g. {printable(example, 120, line=True)})" if example else ""  # one line, whatever the model said
    return f"{errors} request error{'s' * (errors != 1)}{said}: not measured ({again})"


def set_versions(summary: dict, task: str) -> tuple[str, str]:
    """The version of ``task``'s frozen set that ``summary``'s run scored, and the current one.

    A summary written before runs recorded it (``coverage``'s ``version``) scored ``v1``: every set was
    v1 until judge's became v2. A task not known here (a plugin's, not installed) is taken as
    unchanged: (recorded, recorded).
    """
    from oraclebench.tasks import get_task
    from oraclebench.tasks.base import TaskError

    recorded = str(((summary.get("coverage") or {}).get(task) or {}).get("version") or "v1")
    try:
        task_class = type(get_task(task))
    except TaskError:
        return recorded, recorded
    return recorded, task_class.version  # the class's: a world's variant (``--world``) sets its own


def partial_reason(summary: dict, task: str) -> str:
    """Why a run is not complete on ``task`` (as the summary recorded it), in a few words."""
    reason = (summary.get("partial") or {}).get(task)
    if reason:
        return reason
    scored, current = set_versions(summary, task)
    if scored != current:
        return f"scored {task}'s set {scored}, not its current {current}: rerun to score {current}"
    n = summary.get("tasks", {}).get(task, {}).get("all", {}).get("n")
    if summary.get("explore"):
        return "explore search"
    errors = request_errors(summary, task)
    return errors_reason(errors) if errors else f"{n} instances, not the whole frozen set"


@dataclass
class Scores:
    """What stands as each model's score: per model and task, the latest complete run, and the
    partial runs newer than it (kept, shown marked, never as the score)."""

    complete: dict[str, dict[str, dict]]  # model -> task -> summary
    partial: dict[str, dict[str, list[dict]]]  # model -> task -> newer partial summaries, oldest first


def scored_runs(results: Path, warnings: list[str] | None = None) -> Scores:
    """Per model and task, the latest complete run and the partial runs after it (see ``Scores``); a
    damaged summary is skipped, and its warning appended to ``warnings`` when given."""
    complete: dict[str, dict[str, dict]] = {}
    partial: dict[str, dict[str, list[dict]]] = {}
    runs, damaged = scan_runs(results)
    if warnings is not None:
        warnings.extend(damaged)
    for summary in runs:
        if summary.get("explore"):
            continue
        model = summary["model"]
        for task in summary.get("tasks") or {}:
            if task_complete(summary, task):
                complete.setdefault(model, {})[task] = summary
                partial.get(model, {}).pop(task, None)
            else:
                partial.setdefault(model, {}).setdefault(task, []).append(summary)
    return Scores(complete, {m: t for m, t in partial.items() if t})


def latest_complete_run(results: Path, model: str) -> dict | None:
    """The model's latest run that is complete on every task it ran, or None."""
    found = None
    for summary in list_runs(results):
        tasks = summary.get("tasks") or {}
        if summary.get("model") == model and tasks and all(task_complete(summary, t) for t in tasks):
            found = summary
    return found


def resolve_run(results: Path, name: str, warnings: list[str] | None = None) -> Path:
    """A run folder named by run id, by a records/summary file or folder, or by ``MODEL@latest`` (damaged
    summaries skipped, one line each in ``warnings`` when given)."""
    path = Path(name)
    if path.exists():
        return path.parent if path.is_file() else path
    if name.endswith("@latest"):
        model = name[: -len("@latest")]
        damaged: list[str] = []
        latest = latest_runs(results, damaged)
        if warnings is not None:
            warnings.extend(damaged)
        if model not in latest:
            known = ", ".join(sorted(latest)) or "none yet"
            # The error ends the command before its warnings are printed: a damaged summary is named here.
            skipped = f" ({len(damaged)} damaged, skipped: {damaged[0]})" if damaged else ""
            raise UsageError(f"no run of model {model!r} under {results}; models with runs: {known}{skipped}")
        found = latest_complete_run(results, model)
        if found is None:
            last = latest[model]
            why = "; ".join(f"{t}: {partial_reason(last, t)}" for t in last.get("tasks") or {})
            raise UsageError(f"{model} has no complete run under {results} (its latest, {last['run_id']}, is partial: "
                             f"{why}); name a run id to use a partial run")
        return Path(found["path"])
    run_dir = Path(results) / "runs" / name
    if run_dir.is_dir():
        return run_dir
    raise UsageError(f"no run {name!r}: give a run id under {results}/runs, a records file, or MODEL@latest")
