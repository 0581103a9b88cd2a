"""Summaries of runs: accuracy per task and split with Wilson intervals, the terminal table, the leaderboard.

A summary is plain JSON::

    {"run_id": ..., "model": ..., "finished": ISO time,
     "tasks": {"causal": {"all": Cell, "seen": Cell, "heldout": Cell}}}

where a Cell is ``{"n", "correct", "accuracy", "ci": [lo, hi], "errors", "noanswer", "truncated", "cached",
"lenient": {"correct", "accuracy", "ci", "only"}, "fields": {name: acc}}``. Errors (failed requests)
and truncated answers (cut by the token budget) count in ``n`` as not correct, and are reported
apart; ``cached``: answers replayed from the cache. ``correct``/``accuracy`` are the strict reading
(the task's own answer format); ``lenient`` the lenient one (the final answer found in prose), and
``only`` how many answers only the lenient reading accepted.
"""

from __future__ import annotations

import time
from collections import defaultdict
from pathlib import Path
from typing import Iterable

from oraclebench.records import Record, atomic_write, latest_runs
from oraclebench.stats import wilson

SPLITS = ("all", "seen", "heldout")


def cell(records: list[Record]) -> dict:
    """Accuracy, interval, errors and per-field accuracies of a group of records."""
    n = len(records)
    k = sum(r.correct for r in records)
    lo, hi = wilson(k, n)
    fields: dict[str, list[bool]] = defaultdict(list)
    for r in records:
        if r.error is None:
            for name, ok in (r.fields or {}).items():
                fields[name].append(bool(ok))
    return {
        "n": n, "correct": k, "accuracy": k / n if n else None, "ci": [lo, hi],
        "errors": sum(r.status == "error" for r in records),
        "noanswer": sum(r.status == "no_answer" for r in records),
        "truncated": sum(r.status == "truncated" for r in records),
        "cached": sum(bool(r.cached) for r in records),
        "lenient": lenient_cell(records),
        "fields": {name: sum(v) / len(v) for name, v in sorted(fields.items()) if v},
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
        for split in ("seen", "heldout"):
            part = [r for r in recs if r.split == split]
            if part:
                tasks[task][split] = cell(part)
    return {**info, "finished": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()), "tasks": tasks}


def shown_splits(splits: dict) -> list[str]:
    """``all``, plus ``seen`` and ``heldout`` when something was held out (else ``seen`` is ``all``)."""
    return ["all", *(s for s in ("seen", "heldout") if s in splits)] if "heldout" in splits else ["all"]


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.1f}"


def lenient_text(c: dict) -> str:
    """``"100.0 (+20)"``: the lenient reading's accuracy and how many answers only it accepted."""
    lenient = c.get("lenient")
    if not lenient:  # a summary written before the lenient reading existed
        return "-"
    return f"{_pct(lenient['accuracy'])} (+{lenient['only']})"


def table_rows(summary: dict) -> list[list]:
    """Rows of the terminal table: task, split, n, strict accuracy [95% CI], lenient accuracy (+only
    lenient), errors, no-answer, truncated, fields."""
    rows = []
    for task, splits in summary["tasks"].items():
        for split in shown_splits(splits):
            c = splits[split]
            fields = " ".join(f"{k}={_pct(v)}" for k, v in list(c["fields"].items())[:8])
            rows.append([task, split, c["n"], f"{_pct(c['accuracy'])} [{_pct(c['ci'][0])}, {_pct(c['ci'][1])}]",
                         lenient_text(c), c["errors"], c["noanswer"], c.get("truncated", 0), fields])
    return rows


TABLE_HEADERS = ["task", "split", "n", "strict % [95% CI]", "lenient % (+only lenient)", "errors", "no answer",
                 "truncated", "per-field accuracy %"]


def render_table(summary: dict) -> str:
    from tabulate import tabulate

    return tabulate(table_rows(summary), headers=TABLE_HEADERS, tablefmt="github")


def leaderboard_rows(results: Path, warnings: list[str] | None = None) -> list[dict]:
    """One row per model (its latest run): a column per task and per held-out split, n shown, then the run.
    Damaged summaries are skipped, each with a line in ``warnings`` when given."""
    rows = []
    for model, summary in sorted(latest_runs(results, warnings).items()):
        row = {"model": model}
        for task, splits in summary.get("tasks", {}).items():
            for split in shown_splits(splits):
                c = splits[split]
                column = task if split == "all" else f"{task} ({split})"
                row[column] = f"{_pct(c['accuracy'])}, lenient {lenient_text(c)}, n={c['n']}"
        rows.append(row | {"run": summary["run_id"]})
    return rows


def write_leaderboard(results: Path, warnings: list[str] | None = None) -> Path:
    """Regenerate ``results/leaderboard.md`` from every model's latest summary; a damaged summary is
    skipped, named under the table and in ``warnings`` (when given)."""
    from tabulate import tabulate

    skipped: list[str] = []
    rows = leaderboard_rows(results, skipped)
    if warnings is not None:
        warnings.extend(skipped)
    # tabulate, not pandas: this runs after every benchmark run and pandas alone took half a second to import.
    columns = ["model", *sorted({c for r in rows for c in r} - {"model", "run"}), "run"]
    table = [[r.get(c, "") for c in columns] for r in rows]
    body = tabulate(table, headers=columns, tablefmt="pipe") if rows else "No runs yet."
    text = ("# oraclebench leaderboard\n\nAccuracy in % of each model's latest run (regenerated after every run;"
            " `seen`/`heldout` split by the model's training manifest). Each cell: the strict reading (the task's"
            " answer format), the lenient reading (the final answer found in prose; +k: answers only it accepted),"
            " n.\n\n" + body + "\n")
    if skipped:
        text += "\nSkipped:\n\n" + "".join(f"- {line}\n" for line in skipped)
    path = Path(results) / "leaderboard.md"
    atomic_write(path, text)
    return path
