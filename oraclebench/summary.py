"""Summaries of runs: accuracy per task and split with Wilson intervals, the terminal table, the leaderboard.

A summary is plain JSON::

    {"run_id": ..., "model": ..., "finished": ISO time,
     "tasks": {"causal": {"all": Cell, "trained": Cell, "unseen": Cell, "heldout": Cell}},
     "training": {"causal": {"buckets": {"inputs": {"space", "trained", "unseen", "text", "records"}},
                             "warnings": [...]}}}

where a Cell is ``{"n", "correct", "accuracy", "ci": [lo, hi], "wrong", "noanswer", "truncated", "errors",
"cached", "lenient": {"correct", "accuracy", "ci", "only"}, "fields": {name: acc}, "field_n": {name: n}}``
(each field over the records that are not errors and have it, ``field_n`` of them: a failed request has no
answer to compare field by field, and a product's d6 exists only where it has 7 digits). Errors (failed
requests), no-answers and truncated answers (cut by the token budget) count in ``n`` as not correct,
and are reported apart from wrong answers (``n = correct + wrong + noanswer + truncated + errors``);
``cached``: answers replayed from the cache. ``correct``/``accuracy`` are the strict reading (the
task's own answer format); ``lenient`` the lenient one (the final answer found in prose), and
``only`` how many answers only the lenient reading accepted. A split is ``trained`` (the exact problem
is in the training data the model's manifest records), ``unseen`` (inside the training distribution,
not trained on) or ``heldout`` (outside it); ``seen`` (inside, trained on or not) where the manifest or
``--heldout`` says what the distribution was but not the exact training data, and in summaries written
before the three-way split; ``unknown`` where the model has no manifest. ``training`` (where the
manifest records the training data) says per stratum how much of the space training covered and
how many of the run's instances fall in each split, with a warning where ``unseen`` is too small to read.

A scoring run's summary also says what it covers (``coverage``), whether it is ``complete`` per task
(every frozen instance of the set version, uninterrupted, nothing deselected, no ``--fresh``, no failed
request) and, where not, why (``partial``); the leaderboard shows per model and task the latest complete run.
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Sequence

from oraclebench.records import Record, atomic_write, measured_as, partial_reason, scored_runs
from oraclebench.stats import wilson
from oraclebench.tasks.base import INSIDE, MIN_UNSEEN, SPLIT_KINDS
from oraclebench.tasks.exchange import shown_share
from oraclebench.textsafe import md_cell, md_inline

SPLITS = ("all", *SPLIT_KINDS)  # all, trained, unseen, seen, heldout, unknown: the reading order
KINDS = SPLITS[1:]  # the splits a record can have


def cell(records: list[Record]) -> dict:
    """Accuracy, interval, errors and per-field accuracies of a group of records."""
    n = len(records)
    k = sum(r.correct for r in records)
    lo, hi = wilson(k, n)
    errors = sum(r.status == "error" for r in records)
    noanswer = sum(r.status == "no_answer" for r in records)
    truncated = sum(r.status == "truncated" for r in records)
    fields: dict[str, list[bool]] = defaultdict(list)
    for r in records:
        if r.error is None:
            for name, ok in (r.fields or {}).items():
                fields[name].append(bool(ok))
    return {
        "n": n, "correct": k, "accuracy": k / n if n else None, "ci": [lo, hi],
        "wrong": n - k - errors - noanswer - truncated, "errors": errors, "noanswer": noanswer,
        "truncated": truncated, "cached": sum(bool(r.cached) for r in records), "lenient": lenient_cell(records),
        "fields": {name: sum(v) / len(v) for name, v in sorted(fields.items()) if v},
        "field_n": {name: len(v) for name, v in sorted(fields.items()) if v},
    }


def lenient_cell(records: list[Record]) -> dict:
    """The lenient reading's count, accuracy and interval, and how many only it accepted."""
    n = len(records)
    k = sum(r.correct or r.correct_lenient for r in records)
    return {"correct": k, "accuracy": k / n if n else None, "ci": list(wilson(k, n)),
            "only": sum(r.correct_lenient and not r.correct for r in records)}


def summarize(records: Iterable[Record], **info) -> dict:
    """The summary of one run's records; ``info`` (run_id, model, options...) is stored alongside."""
    by_task: dict[str, list[Record]] = defaultdict(list)
    for r in records:
        by_task[r.task].append(r)
    tasks = {}
    for task, recs in sorted(by_task.items()):
        tasks[task] = {"all": cell(recs)}
        for split in KINDS:
            part = [r for r in recs if r.split == split]
            if part:
                tasks[task][split] = cell(part)
    return {**info, "finished": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()), "tasks": tasks}


def training_coverage(task, data: dict, records: Sequence[Record], buckets: dict[str, str],
                      strata: Sequence | None = None) -> dict:
    """What the model's training data covered of ``task``'s training distribution, per stratum, beside
    how many of the run's ``records`` fall in each split there; with the warnings where ``unseen`` is too
    small to read as learning.

    Args: ``task``: a ``Task``; ``data``: its ``training_data``; ``buckets``: instance id -> the instance's
    ``coverage_bucket``; ``strata``: ``task.training_coverage(data)`` where it is already known (an
    xdist worker's), else computed here. Returns ``{"buckets": {label: {"space", "trained", "unseen", "text", "records"}},
    "warnings": [line, ...]}``.
    """
    counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for r in records:
        counts[buckets.get(r.instance_id, r.label)][r.split] += 1
    out = {b.label: b.to_json() | {"text": b.text(), "records": dict(counts.get(b.label, {}))}
           for b in (task.training_coverage(data) if strata is None else strata)}
    warnings = [w for label, b in out.items() if (w := unseen_warning(task.name, label, b))]
    return {"buckets": out, "warnings": warnings}


def training_facts(task: str, instances: Sequence, data: dict) -> dict:
    """What ``training_coverage`` reads of a run's draw and of the training data: ``{"buckets":
    {instance id: coverage bucket}, "strata": the task's training_coverage(data)}`` (an xdist worker
    sends them to the controller, which draws nothing)."""
    from oraclebench.tasks import get_task

    t = get_task(task)
    return {"buckets": {i.id: t.coverage_bucket(t.decode(i.problem)) for i in instances},
            "strata": t.training_coverage(data)}


def unseen_warning(task: str, label: str, bucket: dict) -> dict | None:
    """The warning for a stratum the run scored inside the training distribution whose ``unseen`` part is
    too small to measure learning (``MIN_UNSEEN``), or ``None``: ``{"bucket", "kind", "text"}``, kind
    ``recall`` (the space itself has too few unseen problems) or ``few`` (this run scored too few of them)."""
    ran = bucket["records"]
    if not any(ran.get(s) for s in INSIDE):
        return None
    unseen, space = ran.get("unseen", 0), bucket["unseen"]
    if space is not None and space < MIN_UNSEEN:
        what = "no" if space == 0 else f"only {space:,}"
        return {"bucket": label, "kind": "recall", "unseen": space, "of": f"{bucket['trained']:,} of {bucket['space']:,}",
                "text": f"{task} {label}: {what} unseen problem{'s' * (space != 1)} in the space ({bucket['text']}): "
                        "its score is recall of the training data, not a measure of learning"}
    if unseen < MIN_UNSEEN:
        more = f"the space has {space:,} unseen problems: " if space is not None else ""
        return {"bucket": label, "kind": "few", "unseen": unseen,
                "text": f"{task} {label}: only {unseen} unseen instance{'s' * (unseen != 1)} in this run, too few "
                        f"to measure learning ({more}score more with --fresh N --split unseen)"}
    return None


def warning_lines(training: dict, selection: dict | None = None) -> list[str]:
    """The ``training`` warnings of a summary, one line per task and kind (the terminal's WARNING lines).

    ``selection`` (the summary's): where the run already was ``--fresh N --split unseen``, the advice
    names a larger N, scaled from the thinnest stratum's unseen count to ``MIN_UNSEEN``."""
    import math

    selection = selection or {}
    lines = []
    for task, t in sorted(training.items()):
        recall = [f"{w['bucket']} ({w.get('of', '?')} trained on)" for w in t.get("warnings", ()) if w.get("kind") == "recall"]
        few = [f"{w['bucket']} ({w['unseen']})" for w in t.get("warnings", ()) if w.get("kind") == "few"]
        if recall:
            lines.append(f"{task}: fewer than {MIN_UNSEEN} unseen problems exist in {', '.join(recall)}: scores there "
                         "are recall of the training data, not learning")
        if few:
            advice = "score more with --fresh N --split unseen"
            n = selection.get("fresh")
            if n and selection.get("split") == "unseen":
                least = min(w["unseen"] for w in t["warnings"] if w.get("kind") == "few")
                advice = (f"this run drew --fresh {n}; about --fresh {math.ceil(n * MIN_UNSEEN / max(1, least))} "
                          "--split unseen would give each of them enough")
            lines.append(f"{task}: too few unseen instances in this run to measure learning in {', '.join(few)}; "
                         + advice)
    return lines


def shown_splits(splits: dict) -> list[str]:
    """``all``, plus each split when the records have more than one (else that split is ``all``)."""
    kinds = [s for s in KINDS if s in splits]
    return ["all", *kinds] if len(kinds) > 1 else ["all"]


def split_name(splits: dict, split: str) -> str:
    """``all``, or ``all (unknown)``/``all (seen)`` when every record has that one split."""
    kinds = [s for s in KINDS if s in splits]
    return f"all ({kinds[0]})" if split == "all" and len(kinds) == 1 else split


def _pct(x: float | None) -> str:
    return "-" if x is None else shown_share(x)


def lenient_text(c: dict) -> str:
    """``"100.0 (+20)"``: the lenient reading's accuracy and how many answers only it accepted."""
    lenient = c.get("lenient")
    if not lenient:  # a summary written before the lenient reading existed
        return "-"
    return f"{_pct(lenient['accuracy'])} (+{lenient['only']})"


@dataclass(frozen=True)
class Column:
    """A column of the terminal table: its header (and a shorter one), alignment and cell per row."""

    header: str
    short: str
    right: bool
    cell: Callable[[str, dict, str, dict], object]  # (task, splits, split, cell) -> shown value


COLUMNS = (
    Column("task", "task", False, lambda t, ss, s, c: t),
    Column("split", "split", False, lambda t, ss, s, c: split_name(ss, s)),
    Column("n", "n", True, lambda t, ss, s, c: c["n"]),
    Column("strict % [95% CI]", "strict % [95% CI]", False,
           lambda t, ss, s, c: f"{_pct(c['accuracy'])} [{_pct(c['ci'][0])}, {_pct(c['ci'][1])}]"),
    Column("lenient % (+only)", "lenient (+)", False, lambda t, ss, s, c: lenient_text(c)),
    Column("wrong", "wrong", True,
           lambda t, ss, s, c: c.get("wrong", c["n"] - c["correct"] - c["errors"] - c["noanswer"] - c.get("truncated", 0))),
    Column("no answer", "no ans.", True, lambda t, ss, s, c: c["noanswer"]),
    Column("truncated", "trunc.", True, lambda t, ss, s, c: c.get("truncated", 0)),
    Column("errors", "errors", True, lambda t, ss, s, c: c["errors"]),
)


def _cells(summary: dict) -> list[tuple]:
    return [(task, splits, split, splits[split]) for task, splits in summary["tasks"].items()
            for split in shown_splits(splits)]


def table_columns(summary: dict, lenient: bool = True) -> list[Column]:
    """The columns shown: truncated only when some answer was; lenient when asked and known."""
    cells = _cells(summary)
    def wanted(col: Column) -> bool:
        if col.header == "truncated":
            return any(c.get("truncated") for *_, c in cells)
        if col.header.startswith("lenient"):
            return lenient and any(c.get("lenient") for *_, c in cells)
        return True
    return [col for col in COLUMNS if wanted(col)]


def table_rows(summary: dict, columns: Sequence[Column] | None = None) -> list[list]:
    """Rows of the terminal table: task, split, n, strict accuracy [95% CI], lenient accuracy (+only
    lenient), wrong, no answer, truncated (when any), errors."""
    columns = table_columns(summary) if columns is None else columns
    return [[col.cell(*cell) for col in columns] for cell in _cells(summary)]


def field_lines(summary: dict, width: int = 100, lenient: bool = False) -> list[str]:
    """Per task (all instances): the lenient reading when it is not in the table, and the per-field
    accuracies, wrapped to ``width`` columns."""
    import textwrap

    lines = []
    for task, splits in summary["tasks"].items():
        if lenient and splits["all"].get("lenient"):
            lines.append(f"{task} lenient % (+only lenient): {lenient_text(splits['all'])}")
        fields = splits["all"].get("fields") or {}
        if fields:
            # Each field has its own base, the answers that have it (7-digit products' d6), so no one count
            # is the base of all; and a failed request has no answer, where the accuracy counts it as not right.
            counts = splits["all"].get("field_n") or {}  # a summary from before field_n: no counts to show
            errors = splits["all"].get("errors", 0)
            failed = f"; {errors} failed left out" if errors else ""
            base = "n: answers with the field" if counts else "over the answers with the field"
            # A no-break placeholder, swapped back after wrapping, keeps "d6=61.9 (n=21)" on one line.
            shown = " ".join(f"{k}={_pct(v)}" + (f"\0(n={counts[k]})" if k in counts else "")
                             for k, v in fields.items())
            text = f"{task} per-field accuracy % ({base}{failed}): {shown}"
            lines += [line.replace("\0", " ") for line in
                      textwrap.wrap(text, width, subsequent_indent="    ", break_on_hyphens=False)]
    return lines


def render_table(summary: dict, width: int = 100) -> str:
    """The run's table (a row per task and split), then per-field accuracies, within ``width`` columns.

    Tried in turn until one fits: full headers; short headers; short headers with the lenient
    reading moved to a line per task below the table.
    """
    for short, lenient in ((False, True), (True, True), (True, False)):
        columns = table_columns(summary, lenient=lenient)
        headers = [col.short if short else col.header for col in columns]
        right = {i for i, col in enumerate(columns) if col.right}
        table = markdown_table(headers, table_rows(summary, columns), right)
        if max(map(len, table.splitlines())) <= width:
            break
    return "\n".join([table, *field_lines(summary, width, lenient=not lenient)])


def markdown_table(headers: list[str], rows: list[list], right: set[int] = frozenset()) -> str:
    """A GitHub markdown table as narrow as its cells (tabulate pads every header by two more)."""
    cells = [[md_cell(str(h)) for h in headers], *[[md_cell(str(v)) for v in row] for row in rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]

    def line(row):
        return "| " + " | ".join(v.rjust(w) if i in right else v.ljust(w) for i, (v, w) in enumerate(zip(row, widths))) + " |"

    rule = "|" + "|".join("-" * (w + 1) + ":" if i in right else "-" * (w + 2) for i, w in enumerate(widths)) + "|"
    return "\n".join([line(cells[0]), rule, *map(line, cells[1:])])


def _score_cell(c: dict, splits: dict, split: str) -> str:
    kinds = [s for s in KINDS if s in splits]
    note = ", split unknown" if split == "all" and kinds == ["unknown"] else ""
    # No errors column: a run with a failed request is never complete (``records.task_complete``), so never here.
    return f"{_pct(c['accuracy'])}, lenient {lenient_text(c)}, n={c['n']}{note}"


def leaderboard_rows(results: Path, warnings: list[str] | None = None) -> tuple[list[dict], list[str]]:
    """One row per model: per task (and split) its latest complete run's accuracy, then the runs used;
    and the notes on partial runs (newer than the score, or the only runs of a task), never shown as scores.
    Damaged summaries are skipped, each with a line in ``warnings`` when given."""
    scores = scored_runs(results, warnings)
    rows, notes = [], []
    for model in sorted(set(scores.complete) | set(scores.partial)):
        row: dict = {"model": model}
        used = []
        for task, summary in sorted(scores.complete.get(model, {}).items()):
            splits = summary["tasks"][task]
            how = measured_as(summary)
            for split in shown_splits(splits):
                column = task if split == "all" else f"{task} ({split})"
                row[column] = _score_cell(splits[split], splits, split) + (f" [{how}]" if how else "")
            used.append(summary["run_id"])
        for task, runs in sorted(scores.partial.get(model, {}).items()):
            mark = len(notes) + 1
            if task in row:
                row[task] += f" [{mark}]"
                what = "newer partial run(s), not the score"
            else:
                row[task] = f"no complete run [{mark}]"
                what = "partial run(s) only"
            listed = "; ".join(f"{r['run_id']}: {partial_reason(r, task)}" for r in runs[-3:])
            notes.append(f"[{mark}] {model} {task}: {what}: {listed}")
        rows.append(row | {"run": ", ".join(dict.fromkeys(used)) or "-"})
    return rows, notes


def write_leaderboard(results: Path, warnings: list[str] | None = None) -> Path:
    """Regenerate ``results/leaderboard.md``: per model and task, the latest complete run; a damaged
    summary is skipped, named under the table and in ``warnings`` (when given)."""
    from tabulate import tabulate

    skipped: list[str] = []
    rows, notes = leaderboard_rows(results, skipped)
    if warnings is not None:
        warnings.extend(skipped)
    # tabulate, not pandas: this runs after every benchmark run and pandas alone took half a second to import.
    columns = ["model", *sorted({c for r in rows for c in r} - {"model", "run"}), "run"]
    table = [[md_cell(r.get(c, "")) for c in columns] for r in rows]
    body = tabulate(table, headers=[md_cell(c) for c in columns], tablefmt="pipe") if rows else "No runs yet."
    text = ("# oraclebench leaderboard\n\nAccuracy in % per model and task, from the latest complete run: every "
            "instance of the task's frozen set, uninterrupted, nothing deselected (`-k`, `--lf`, `--limit`, `-x`) and "
            "no `--fresh`. Partial runs are kept under runs/ and listed below, never shown as the score. "
            "Splits by the model's training manifest: `trained` (the exact problem is in its training data), "
            "`unseen` (inside the training distribution, not trained on), `heldout` (outside it); `seen` (inside, "
            "trained on or not) where only the distribution is known (`--heldout`, an older manifest or run); "
            "`split unknown`: the model has no manifest. Each cell: the strict reading (the task's answer format), the lenient reading (the final "
            "answer found in prose; +k: answers only it accepted), n; in brackets, how the run measured the model "
            "where it was not the plain way (`[bfloat16]`, a reference model trained at `[training scale 0.05]`). "
            "A run with failed requests is partial: the model was not measured on them.\n\n" + body + "\n")
    if notes:
        # Each a list item of one line, whatever a model name or a reason holds.
        text += "\n" + "\n".join(f"- {md_inline(n)}" for n in notes) + "\n"
    if skipped:
        text += "\nSkipped:\n\n" + "".join(f"- {md_inline(line)}\n" for line in skipped)
    path = Path(results) / "leaderboard.md"
    atomic_write(path, text)
    return path
