"""The leaderboard, and the accuracy table every section of the report is built from: per group, n,
accuracy and its 95% Wilson interval.
"""

from __future__ import annotations

from typing import Sequence

import pandas as pd

from oraclebench.records import task_complete
from oraclebench.report_runs import Run
from oraclebench.stats import wilson
from oraclebench.tasks.exchange import shown_share


def accuracy(frame: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """n, correct, errors, no-answers, accuracy and its Wilson interval per group; ``lenient``: how many
    the lenient reading accepts."""
    out = frame.groupby(by, observed=True, sort=True).agg(
        n=("correct", "size"), correct=("correct", "sum"), errors=("error", "sum"), noanswer=("noanswer", "sum"),
        truncated=("truncated", "sum"), lenient=("lenient", "sum"),
    ).reset_index()
    ci = [wilson(int(k), int(n)) for k, n in zip(out["correct"], out["n"])]
    out["accuracy"] = out["correct"] / out["n"]
    out["lo"] = [c[0] for c in ci]
    out["hi"] = [c[1] for c in ci]
    return out


def _cell(row) -> str:
    text = f"{shown_share(row.accuracy)} [{shown_share(row.lo)}, {shown_share(row.hi)}] n={row.n}"
    return text + errors_text(row.errors)


def errors_text(errors: int) -> str:
    """``", 20 err"`` beside an accuracy whose group has failed requests (the model was not measured on
    them), else nothing: a cell of failed requests never reads as a plain accuracy."""
    return f", {int(errors)} err" if errors else ""


def _split_pairs(frame: pd.DataFrame) -> set[tuple[str, str]]:
    """(model, task) pairs whose records have more than one split: only there does a split row add anything."""
    kinds = frame.groupby([frame["model"].astype(str), "task"], observed=True)["split"].nunique()
    return {key for key, k in kinds.items() if k > 1}


def _heldout_pairs(frame: pd.DataFrame) -> set[tuple[str, str]]:
    held = frame[frame["split"] == "heldout"]
    return set(zip(held["model"].astype(str), held["task"]))


def leaderboard(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per task and model: all instances, then trained, unseen and held-out (and seen, where only the
    training distribution is known) where the model's records have more than one split."""
    table = accuracy(frame, ["task", "model"])
    table["all"] = [_cell(r) for r in table.itertuples()]
    held = _split_pairs(frame)
    by_split = accuracy(frame, ["task", "model", "split"])
    by_split = by_split[[(str(m), t) in held for m, t in zip(by_split["model"], by_split["task"])]]
    columns = [("trained", "trained"), ("unseen", "unseen"), ("seen", "seen"), ("heldout", "held-out")]
    # seen only where some record has it (only the distribution known; older runs); trained and unseen unless
    # every split shown is such an older one, so an old results folder reads as it did.
    has = set(by_split["split"])
    columns = [(s, c) for s, c in columns
               if (s in has if s == "seen" else s not in ("trained", "unseen") or has & {"trained", "unseen"} or "seen" not in has)]
    for split, column in columns:
        cells = {(t, str(m)): _cell(r) for r in by_split[by_split["split"] == split].itertuples()
                 for t, m in [(r.task, r.model)]}
        table[column] = [cells.get((t, str(m)), "-") for t, m in zip(table["task"], table["model"])]
    table["lenient (+only lenient)"] = [f"{shown_share(r.lenient / r.n)} (+{r.lenient - r.correct})"
                                        for r in table.itertuples()]
    kinds = frame.groupby(["task", "model"], observed=True)["split"].agg(lambda v: ", ".join(sorted(set(v))))
    table["split"] = [kinds.get((t, m), "-") for t, m in zip(table["task"], table["model"])]
    table = table.rename(columns={"noanswer": "no answer"})
    # Truncated answers (cut by the token budget) are neither wrong nor no answer: counted apart, as in the terminal.
    return table[["task", "model", "all", *(c for _, c in columns), "split", "lenient (+only lenient)", "errors",
                  "no answer", "truncated"]]


def mark_partial(table: pd.DataFrame, runs: Sequence[Run]) -> pd.DataFrame:
    """The leaderboard with ``MODEL (PARTIAL)`` on each row whose task's run is partial (named with --run):
    the row itself says it is not the model's score, not only the Runs table."""
    partial = {(run.model, task) for run in runs for task, summary in run.summaries.items()
               if not task_complete(summary, task)}
    if not partial:
        return table
    names = [f"{m} (PARTIAL)" if (str(m), t) in partial else str(m) for m, t in zip(table["model"], table["task"])]
    return table.assign(model=names)


def _pivot(frame: pd.DataFrame, index: str, columns: str, values: str) -> pd.DataFrame:
    """A wide table with the index as its first column (and no stray axis name in the header)."""
    return frame.pivot(index=index, columns=columns, values=values).reset_index().rename_axis(columns=None)
