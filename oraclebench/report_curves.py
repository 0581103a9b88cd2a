"""A task's difficulty sections: how much of the training distribution each model's training data
covered, and accuracy against the task's difficulty knob(s), one line per model with its training range
shaded (two knobs on a grid, as multiplication's digits: a heat map).
"""

from __future__ import annotations

from typing import Callable, Sequence

import pandas as pd

from oraclebench import report_plots as plots
from oraclebench.report_leaderboard import _cell, _pivot, accuracy, errors_text
from oraclebench.report_runs import Run, _task, training_range
from oraclebench.stats import TINY_N, tiny
from oraclebench.tasks.base import percent
from oraclebench.tasks.exchange import shown_share


def coverage_table(runs: Sequence[Run], task: str) -> pd.DataFrame:
    """Per model whose run records its training coverage of ``task`` (``summary["training"]``), a row per
    stratum: the space, how many of its problems training drew, and the run's instances by split there."""
    rows = []
    for run in runs:
        for label, b in (((run.summary_for(task).get("training") or {}).get(task) or {}).get("buckets") or {}).items():
            space, trained, ran = b.get("space"), b.get("trained", 0), b.get("records") or {}
            rows.append({"model": run.model, "stratum": label, "problems": "-" if space is None else f"{space:,}",
                         "trained on": f"{trained:,}" + (f" ({percent(trained, space)})" if space else ""),
                         "unseen in the space": "-" if space is None else f"{space - trained:,}",
                         **{f"run: {name}": ran.get(split, 0) for split, name in
                            (("trained", "trained"), ("unseen", "unseen"), ("heldout", "held out"))}})
    return pd.DataFrame(rows)


def coverage_section(doc: plots.Doc, task: str, runs: Sequence[Run]) -> None:
    """How much of the training distribution each model's training data covered, with the warnings."""
    table = coverage_table(runs, task)
    if table.empty:
        return
    doc.h3("Training coverage")
    doc.p("Per stratum of each model's training distribution: how many distinct problems it holds, how many of them "
          "the training data drew, and how many of this run's instances were trained on, unseen or held out there. "
          "Where nearly every problem was trained on, a score is recall, not learning.")
    doc.table(table)
    for run in runs:
        for w in (((run.summary_for(task).get("training") or {}).get(task) or {}).get("warnings") or []):
            doc.p(f"Warning ({run.model}): {w.get('text', w) if isinstance(w, dict) else w}")


def _with_knob(part: pd.DataFrame, knob: str) -> pd.DataFrame:
    x = part["bucket"].map(lambda b: b.get(knob))
    return part.assign(x=x)[x.notna()]


def _grouped_ranges(runs_by_model: dict, task: str, knob: str, part: pd.DataFrame, xs: list) -> list:
    groups: dict[tuple, list[str]] = {}
    preds: dict[tuple, Callable] = {}
    for model, sub in part.groupby("model", observed=True):
        pred, text = training_range(runs_by_model[str(model)], task, knob, sub)
        if pred is not None:
            key = (tuple(bool(pred(x)) for x in xs), text)
            groups.setdefault(key, []).append(str(model))
            preds.setdefault(key, pred)
    return [plots.TrainingRange(tuple(models), preds[key], key[1]) for key, models in groups.items()]


def curves_section(doc: plots.Doc, task: str, part: pd.DataFrame, knobs, runs_by_model: dict, colors: dict) -> None:
    """Accuracy against the task's difficulty knob(s), one line per model, training ranges shaded."""
    present = [k for k in (knobs or ()) if part["bucket"].map(lambda b: k in b).any()]
    if not present:  # an unknown task, or buckets named otherwise: use its first bucket key
        first = next((b for b in part["bucket"] if b), {})
        present = list(first)[:1]
    if not present:
        doc.p(f"{task} records carry no bucket, so there is no difficulty curve.")
        return
    grid = getattr(_task(task), "knob_grid", None)
    if grid and set(grid) <= set(present):
        return _heatmap(doc, task, grid, part, runs_by_model, colors)
    for knob in present:
        sub = _with_knob(part, knob)
        acc = accuracy(sub, ["model", "x"])
        xs = sorted(acc["x"].unique(), key=plots.sort_key)
        categorical = not all(plots.is_number(x) for x in xs)
        ranges = _grouped_ranges(runs_by_model, task, knob, sub, xs)
        fig = plots.curve_figure(acc, knob, f"{task}: accuracy by {knob}", colors, ranges, categorical)
        few = (f"; points of fewer than {TINY_N} instances show their count (right/n) instead of an interval"
               if any(tiny(n) for n in acc["n"]) else "")
        doc.figure(fig, f"curve-{task}-{knob}", f"{task}: accuracy (95% Wilson CI) by {knob}; shaded: training "
                   f"range{few}")
        wide = acc.assign(cell=[(count_cell(k, n) if tiny(n) else f"{shown_share(a, 0)} ({n})") + errors_text(e)
                                for a, k, n, e in zip(acc["accuracy"], acc["correct"], acc["n"], acc["errors"])])
        few = f"; right/n where n < {TINY_N}" if any(tiny(n) for n in acc["n"]) else ""
        doc.table(_pivot(wide, "x", "model", "cell").rename(columns={"x": knob}),
                  collapsed=f"{task} accuracy % (n) by {knob}{few}")


def count_cell(correct: int, n: int) -> str:
    """``1/1``: right of all, where ``n`` is too small for a percentage and interval to mean much."""
    return f"{int(correct)}/{int(n)}"


def _heatmap(doc: plots.Doc, task: str, grid: tuple[str, str], part: pd.DataFrame, runs_by_model: dict,
             colors: dict) -> None:
    """Accuracy per pair of the task's two ``knob_grid`` knobs (multiplication: digits of a and b)."""
    sub = part.assign(x=[(b.get(grid[0]), b.get(grid[1])) for b in part["bucket"]])
    acc = accuracy(sub, ["model", "x"])
    acc["a"] = [x[0] for x in acc["x"]]
    acc["b"] = [x[1] for x in acc["x"]]
    models = [str(m) for m in acc["model"].unique()]
    seen = {}
    for model, msub in sub.groupby("model", observed=True):
        pred, _ = training_range(runs_by_model[str(model)], task, "grid", msub)
        seen[str(model)] = None if pred is None else (lambda a, b, p=pred: p((a, b)))
    both = part["bucket"].map(lambda b: b.get("scratchpad")).nunique() > 1
    note = " (plain and worked problems together)" if both else ""
    a_name, b_name = (k.replace("_", " ") for k in grid)
    fig = plots.heatmap_figure(acc, models, seen, f"{task}: accuracy % by {a_name} and {b_name}" + note,
                               labels=(a_name, b_name))
    failed = "; N err: N of the cell's requests failed (counted as not right)" if acc["errors"].any() else ""
    doc.figure(fig, f"heatmap-{task}", f"{task}: accuracy % per ({a_name}, {b_name}), one panel per "
               f"model; red outline: the model's training range{failed}")
    acc["cell"] = [count_cell(r.correct, r.n) + errors_text(r.errors) if tiny(r.n) else _cell(r)
                   for r in acc.itertuples()]
    acc["digits"] = [f"{a}x{b}" for a, b in zip(acc["a"], acc["b"])]
    doc.table(_pivot(acc, "digits", "model", "cell").rename(columns={"digits": f"{a_name} x {b_name}"}),
              collapsed=f"{task} accuracy % [95% CI] by {a_name} and {b_name}")
