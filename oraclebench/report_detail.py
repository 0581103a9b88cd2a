"""A task's per-field detail and failed instances. The detail is drawn by the view its
``Task.report_view`` names (``DETAIL_VIEWS``): per-field accuracy (causal variables and sums), per
digit position (multiplication), where traces first go wrong and final form against trace (abcd),
the argument analysis (judge).
"""

from __future__ import annotations

from typing import Callable

import pandas as pd

from oraclebench import report_plots as plots
from oraclebench.report_leaderboard import _split_pairs
from oraclebench.report_runs import _task
from oraclebench.textsafe import shown_value

SPLIT_ORDER = {s: i for i, s in enumerate(("all", "trained", "unseen", "seen", "heldout", "unknown"))}


def _pct_table(frame: pd.DataFrame, values: pd.DataFrame, by: list[str], counts: bool = False) -> pd.DataFrame:
    """Mean of boolean ``values`` columns (in %) per group of ``frame``, with the group's n; ``counts``: how
    many values each column has per group instead (the base of each mean, where some are missing)."""
    data = pd.concat([frame[by].reset_index(drop=True), values.reset_index(drop=True).astype(float)], axis=1)
    grouped = data.groupby(by, observed=True, sort=True)
    out = grouped.count() if counts else (100 * grouped.mean()).round(1)
    out.insert(0, "n", grouped.size())
    out = out.reset_index()
    if "split" in by:  # all, seen, heldout: the reading order, not the alphabet's
        out = out.sort_values(by, key=lambda c: c.map(SPLIT_ORDER) if c.name == "split" else c, kind="stable")
    return out


def _split_rows(part: pd.DataFrame) -> pd.DataFrame:
    """Records once under split "all", again under their own split where the model held anything out."""
    held = _split_pairs(part)
    mask = [(str(m), t) in held for m, t in zip(part["model"], part["task"])]
    return pd.concat([part.assign(split="all"), part[mask]], ignore_index=True)


def field_table(part: pd.DataFrame, counts: bool = False) -> pd.DataFrame:
    """Per-field accuracy (%) per model and split, each field over the answered requests that have it
    (errors left out); ``counts``: how many those are, per field."""
    ok = _split_rows(part[~part["error"]])
    fields = pd.DataFrame(ok["fields"].tolist())
    if fields.empty:
        return fields
    fields = fields[sorted(fields.columns, key=_field_order)]
    # A field an answer does not have (a digit position past a short product) is left out, not wrong.
    return _pct_table(ok, fields, ["model", "split"], counts=counts)


def _field_order(name: str):
    # d0, d1, ..., d10 by position; other fields after, in the order the task writes them (a stable sort).
    return (0, int(name[1:])) if name[:1] == "d" and name[1:].isdigit() else (1, 0)


def _first_bad(part: pd.DataFrame, colors: dict, doc: plots.Doc, task: str = "abcd") -> None:
    wrong = part[~part["correct"] & ~part["error"]]
    if wrong.empty:
        doc.p("No wrong trace to analyse.")
        return
    def step(d):
        line = d.get("first_bad_line")
        return "no trace" if line is None else (int(line) if int(line) < 10 else "10+")
    counts = pd.crosstab(wrong["model"], wrong["detail"].map(step))  # absent steps are 0, not missing
    counts = counts[sorted(counts.columns, key=plots.sort_key)]
    dist = counts.div(counts.sum(axis=1), axis=0).stack().rename("y").reset_index()
    dist.columns = ["model", "x", "y"]
    doc.figure(plots.lines_figure(dist, colors, "first bad trace line (0 = the first line)", "% of wrong answers",
                                  f"{task}: where traces first go wrong"), f"{task}-first-bad",
               f"{task}: distribution of the first bad trace line among wrong answers")
    doc.table(counts.reset_index().rename_axis(columns=None), collapsed=f"{task}: wrong answers by first bad line (counts)")


def _final_vs_trace(part: pd.DataFrame) -> pd.DataFrame:
    ok = _split_rows(part[~part["error"]])
    final = ok["fields"].map(lambda f: bool(f.get("final")))
    trace = ok["fields"].map(lambda f: bool(f.get("trace")))
    kinds = pd.DataFrame({
        "final ok, trace ok": final & trace, "final ok, trace bad": final & ~trace,
        "final bad, trace ok": ~final & trace, "final bad, trace bad": ~final & ~trace,
    })
    return _pct_table(ok, kinds, ["model", "split"])


JUDGE_KEYS = ("argument_correct", "followed_argument", "masked")


def judge_table(part: pd.DataFrame) -> pd.DataFrame:
    """The argument analysis per model and split (seen vs held-out templates): all figures in %, over every
    instance as ``judge_report`` and the leaderboard count them (a failed request is not right; ``failed``
    counts them), except "follows argument", over the answers that name a candidate. It left failed requests out
    before, and one report printed two accuracies of one run (32.5 on the leaderboard, 38.2 here) and an
    argument base rate that moved with which requests failed."""
    ok = _split_rows(part)
    # The keys live in Record.detail (or, for a task that buckets by them, in Record.bucket: a failed
    # request has no detail).
    arg, follow, masked = (pd.Series([d.get(k, b.get(k)) for d, b in zip(ok["detail"], ok["bucket"])], index=ok.index,
                                     dtype=object) for k in JUDGE_KEYS)
    follow = follow.where(~ok["error"].astype(bool))
    correct = ok["correct"].astype(float)
    def cond(mask):
        return correct.where(mask.fillna(False).astype(bool))
    values = pd.DataFrame({
        "accuracy": correct,
        "argument right (base rate)": arg.astype(float),
        "acc | argument right": cond(arg == True),  # noqa: E712 (None must stay out of both sides)
        "acc | argument wrong": cond(arg == False),  # noqa: E712
        "follows argument": follow.astype(float),
        "acc masked": cond(masked == True),  # noqa: E712
        "acc unmasked": cond(masked == False),  # noqa: E712
    })
    table = _pct_table(ok, values, ["model", "split"])
    failed = ok.groupby(["model", "split"], observed=True)["error"].sum().astype(int).rename("failed")
    return table.merge(failed.reset_index(), on=["model", "split"]).pipe(
        lambda t: t[["model", "split", "n", "failed", *values.columns]])


def _trace_detail(doc: plots.Doc, task: str, part: pd.DataFrame, colors: dict) -> None:
    """A trace answer (abcd): where traces go wrong, and final form against trace validity."""
    doc.h3("Where traces go wrong")
    _first_bad(part, colors, doc, task)
    doc.p("Final form versus trace validity (% of the requests that did not fail; no answer and cut-short answers "
          "count, as neither right): a right final form with a bad trace "
          "suggests a memorised result rather than a learned procedure.")
    doc.table(_final_vs_trace(part))


def _judge_detail(doc: plots.Doc, task: str, part: pd.DataFrame, colors: dict) -> None:
    """A judged argument (judge): the argument's base rate, and accuracy by whether it is right."""
    doc.h3("Argument analysis")
    doc.p("How often the choice argument favours the correct candidate (its base rate), accuracy when the "
          "argument is right and when it is wrong, how often the model follows the argument, and masked versus "
          "unmasked arguments; 'seen'/'heldout' split the templates by training. A failed request counts as not "
          "right, as on the leaderboard (failed: how many); 'follows argument' is over the answers that name a candidate.")
    doc.table(judge_table(part))


def _fields_detail(doc: plots.Doc, task: str, part: pd.DataFrame, colors: dict, digits: bool = False) -> None:
    """Accuracy per answer field; for a ``digits`` view (multiplication) also per digit position."""
    table = field_table(part)
    if table.empty:
        return
    doc.h3("Per-field accuracy")
    if digits:
        columns = [c for c in table.columns if _field_order(c)[0] == 0]
        doc.p("Per-digit accuracy by position (d0 = units digit), % of the requests that did not fail (no answer "
              "included, as not right) whose product has that digit (n: all requests that did not fail): errors in the middle digits point at a learned-but-imperfect "
              "carry, errors everywhere at no algorithm at all.")
        lines = table[table["split"] == "all"].melt(id_vars=["model"], value_vars=columns, var_name="d", value_name="y")
        lines = lines.assign(x=lines["d"].map(lambda d: int(d[1:])), y=lines["y"] / 100).dropna(subset=["y"])
        doc.figure(plots.lines_figure(lines, colors, "digit position (0 = units)", "digit accuracy %",
                                      f"{task}: accuracy per digit position"), f"{task}-digits",
                   f"{task}: per-digit accuracy by position")
    else:
        doc.p(f"{task}: accuracy per answer field, % of the requests that did not fail (no answer included, as not "
              "right) and have the field (n: all requests that did not fail).")
    doc.table(table)
    counts = field_table(part, counts=True)
    fields = [c for c in counts.columns if c not in ("model", "split", "n")]
    if counts[fields].ne(counts["n"], axis=0).any(axis=None):  # some answers lack a field: each % has its own base
        doc.table(counts, collapsed=f"{task}: requests that did not fail, per field (the base of each %)")


def _digits_detail(doc: plots.Doc, task: str, part: pd.DataFrame, colors: dict) -> None:
    _fields_detail(doc, task, part, colors, digits=True)


# A task names its view (``Task.report_view``); a new kind of answer adds one here, not a branch per task.
DETAIL_VIEWS: dict[str, Callable] = {"trace": _trace_detail, "judge": _judge_detail, "digits": _digits_detail,
                                     "fields": _fields_detail}


def detail_section(doc: plots.Doc, task: str, part: pd.DataFrame, colors: dict) -> None:
    """Per-field detail of one task, drawn by the view its ``report_view`` names (see the module docstring)."""
    view = getattr(_task(task), "report_view", "fields")
    DETAIL_VIEWS.get(view, _fields_detail)(doc, task, part, colors)


def _clip(text: str, limit: int = 1200) -> str:
    return text if len(text) <= limit else f"{text[: limit // 4]}\n[... {len(text) - limit} characters ...]\n{text[-3 * limit // 4:]}"


def failures(part: pd.DataFrame, per_bucket: int = 2, limit: int = 24) -> list[dict]:
    """A few failed instances per bucket label; with more labels than room, evenly spread labels."""
    wrong = part[~part["correct"]].sort_values(["label", "model", "instance_id"])
    labels = sorted(wrong["label"].unique())
    if len(labels) > limit:  # e.g. judge's 192 labels: a spread, not the first 24 in the alphabet
        labels = [labels[round(i * (len(labels) - 1) / (limit - 1))] for i in range(limit)]
    wrong = wrong[wrong["label"].isin(labels)]
    rank = wrong.groupby("label", observed=True).cumcount()
    picked = wrong[rank < per_bucket].assign(_rank=rank[rank < per_bucket])
    picked = picked.sort_values(["_rank", "label"]).head(limit).sort_values(["label", "model"])
    return [{"model": str(r.model), "label": r.label, "split": r.split, "instance_id": r.instance_id,
             "prompt": _clip(r.prompt), "expected": _clip(shown_value(r.expected)), "answer": _clip(r.completion or "(empty)"),
             "reason": r.reason or "(no reason given)"} for r in picked.itertuples()]
