"""``build_report``: the HTML report (and its markdown twin) that answers "learned or memorised?".

From the per-instance records of each model's latest complete run per task (every frozen instance,
uninterrupted, nothing deselected, no ``--fresh``, no failed request), or of the runs named with ``runs=``
(partial ones marked as such in the runs table and the leaderboard's rows):

- the leaderboard: models x tasks x split, n, accuracy and 95% Wilson interval;
- per task, accuracy against its difficulty knob, one line per model, each model's training range
  shaded (from the run's manifest or ``--heldout``); multiplication as digit heat maps;
- the gaps, with Newcombe's interval: trained minus unseen (recall beyond what carries to new problems of
  the same distribution) and unseen (or, where the training data is not recorded, seen) minus held-out;
- per task, how much of each stratum of the training distribution the training data covered, with a
  warning where ``unseen`` is too small to read as learning;
- per-field detail (causal variables and sums, abcd's first bad step and final-versus-trace,
  multiplication digit positions, judge's argument analysis);
- a few failed instances per task and bucket, with prompt, expected, answer and the oracle's reason.

Fast by design: records are aggregated with pandas group-bys, and the number of figures is bounded
(a handful per task, whatever the number of models or records). The HTML embeds its figures as
base64 PNG and opens from disk; the markdown twin links the same PNGs under ``figures/``.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import pandas as pd

from oraclebench import report_plots as plots
from oraclebench.errors import UsageError
from oraclebench.records import (DamagedFile, Record, atomic_write, latest_runs, partial_reason, read_records,
                                 request_errors, resolve_run, scan_runs, scored_runs, task_complete)
from oraclebench.stats import TINY_N, difference_interval, stratified_difference, tiny, wilson
from oraclebench.tasks import TaskError, get_task
from oraclebench.tasks.base import percent

SPLIT_ORDER = {s: i for i, s in enumerate(("all", "trained", "unseen", "seen", "heldout", "unknown"))}
INSIDE_SPLITS = ("trained", "unseen", "seen")  # inside the training distribution (tasks.base.INSIDE)

@dataclass
class Run:
    """One model's records: per task, from the run chosen for it (``summaries``); ``summary`` is the
    latest of those runs, ``run_id`` names them all."""

    model: str
    run_id: str
    summary: dict
    records: list[Record]
    summaries: dict[str, dict] = field(default_factory=dict)  # task -> the summary of the run its records come from

    def summary_for(self, task: str) -> dict:
        return self.summaries.get(task, self.summary)


def _run_of(model: str, by_task: dict[str, dict]) -> Run:
    """A model's ``Run`` from the summary chosen for each task."""
    records: list[Record] = []
    cache: dict[str, list[Record]] = {}
    for task, summary in sorted(by_task.items()):
        if summary["path"] not in cache:
            cache[summary["path"]] = read_records(Path(summary["path"]))
        records += [r for r in cache[summary["path"]] if r.task == task]
    ordered = sorted(by_task.values(), key=lambda s: (s.get("finished", ""), s["run_id"]))
    ids = ", ".join(dict.fromkeys(s["run_id"] for s in ordered))
    return Run(model, ids, ordered[-1], records, dict(by_task))


def load_runs(results: Path | str, models: Sequence[str] | None = None, runs: Sequence[str] | None = None,
              warnings: list[str] | None = None) -> list[Run]:
    """Per model, its latest complete run of each task under ``results`` (only ``models`` when given);
    or, with ``runs`` (run ids, run folders, ``MODEL@latest``), exactly those runs, partial or not.

    A run whose summary or records are damaged is skipped, with one line in ``warnings`` when given.
    """
    if runs:
        return _named_runs(Path(results), runs)
    skipped: list[str] = []
    scores = scored_runs(Path(results), skipped)
    wanted = list(models) if models else sorted(scores.complete)
    loaded: dict[str, Run] = {}
    for m in wanted:
        if m in scores.complete:
            try:
                loaded[m] = _run_of(m, scores.complete[m])
            except DamagedFile as exc:
                skipped.append(f"{exc}; run of {m} skipped")
    if warnings is not None:
        warnings.extend(skipped)
    if not latest_runs(Path(results)):
        damaged = f" ({len(skipped)} damaged, skipped: {skipped[0]})" if skipped else ""
        raise UsageError(f"no runs under {results}/runs{damaged}; run `pytest benchmark --model NAME` first")
    if not models:  # a damaged run the user did not name is skipped, not an error
        wanted = [m for m in wanted if m in loaded]
    for m in wanted:
        if m not in loaded:
            raise UsageError(_no_complete_run(Path(results), m, scores) if m not in scores.complete
                             else f"the records of {m}'s run are damaged ({skipped[-1]})")
    if not wanted:
        raise UsageError(_no_complete_run(Path(results), None, scores))
    return [loaded[m] for m in wanted]


def _no_complete_run(results: Path, model: str | None, scores) -> str:
    latest = latest_runs(results)
    if model is not None and model not in latest:
        return f"no run of model(s) {model} under {results}; models with runs: {', '.join(sorted(latest))}"
    partial = [(m, t, r[-1]) for m, tasks in scores.partial.items() for t, r in tasks.items() if model in (None, m)]
    listed = "; ".join(f"{m} {t}: {s['run_id']} ({partial_reason(s, t)})" for m, t, s in partial[:4])
    if len(partial) > 4:
        listed += f"; and {len(partial) - 4} more"
    who = model or "any model"
    return (f"no complete run of {who} under {results} (partial runs: {listed or 'none'}); score the whole "
            f"frozen set, or name runs with --run RUN_ID")


def _named_runs(results: Path, names: Sequence[str]) -> list[Run]:
    """The runs named, one ``Run`` per model (a later name wins for a task two runs share)."""
    by_model: dict[str, dict[str, dict]] = {}
    for name in names:
        run_dir = resolve_run(results, name)
        try:
            summary = json.loads((run_dir / "summary.json").read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise UsageError(f"run {name}: cannot read {run_dir / 'summary.json'}: {exc}") from None
        summary.setdefault("run_id", run_dir.name)
        summary["path"] = str(run_dir)
        for task in summary.get("tasks") or {}:
            by_model.setdefault(summary["model"], {})[task] = summary
    return [_run_of(m, tasks) for m, tasks in by_model.items()]


def records_frame(runs: Sequence[Run]) -> pd.DataFrame:
    """One row per record; dict columns (bucket, fields, detail) are kept whole for per-task use."""
    rows = [(r.model, r.run_id, r.task, r.instance_id, r.label, r.split, bool(r.correct), r.error is not None,
             r.status == "no_answer", r.status == "truncated", bool(r.correct or r.correct_lenient), r.bucket or {}, r.fields or {},
             r.detail or {}, r.prompt, r.completion, r.expected, r.parsed, r.reason)
            for run in runs for r in run.records]
    columns = ["model", "run_id", "task", "instance_id", "label", "split", "correct", "error", "noanswer",
               "truncated", "lenient", "bucket", "fields", "detail", "prompt", "completion", "expected", "parsed", "reason"]
    frame = pd.DataFrame(rows, columns=columns)
    frame["model"] = pd.Categorical(frame["model"], categories=[run.model for run in runs], ordered=True)
    return frame


# --------------------------------------------------------------------------------------- manifests


def task_manifest(summary: dict, task: str) -> dict | None:
    """What the run's model saw in training for ``task``: ``--heldout`` first, then the model's manifest."""
    from oraclebench.tasks import get_task

    for spec in (summary.get("options") or {}).get("heldout") or []:
        name, sep, rest = str(spec).partition(":")
        if Path(str(spec)).is_file():  # a manifest.json given to --heldout
            try:
                found = _from_manifest(json.loads(Path(spec).read_text(encoding="utf-8")), task)
            except (OSError, ValueError, AttributeError):  # changed or damaged since the run: no range to shade
                found = None
            if found is not None:
                return found
        elif sep and name == task:
            try:
                return get_task(task).manifest_from_spec(rest)
            except ValueError:
                return None
    return _from_manifest(summary.get("manifest") or {}, task)


def _from_manifest(manifest: dict, task: str) -> dict | None:
    """A task's part of a model manifest: ``{"task": T, "split": {...}}`` or ``{"tasks": {T: {...}}}``."""
    if not isinstance(manifest, dict):
        return None
    if "tasks" in manifest:
        found = (manifest["tasks"] or {}).get(task) if isinstance(manifest["tasks"], dict) else None
    else:
        found = manifest.get("split") or {} if manifest.get("task") == task else None
    return found if isinstance(found, dict) else None  # a damaged manifest shades no training range


def _range_from_manifest(task: str, knob: str, m: dict) -> tuple[Callable | None, str]:
    """A predicate over knob values for the training range the manifest describes, and its text
    (``Task.trained_on``; a task that is no longer registered shades nothing)."""
    try:
        return get_task(task).trained_on(knob, m)
    except TaskError:
        return None, ""


def _task(name: str):
    """The registered task called ``name``, or None (a run of a task no longer installed still reports)."""
    try:
        return get_task(name)
    except TaskError:
        return None


def training_range(run: Run, task: str, knob: str, frame: pd.DataFrame) -> tuple[Callable | None, str]:
    """The model's training range along ``knob``: from its manifest, else from the records' splits.

    ``frame`` holds this model's records of ``task`` with the knob in column ``x``. Without any
    held-out record and no manifest, nothing is known to be held out and nothing is shaded.
    """
    manifest = task_manifest(run.summary_for(task), task)
    if manifest:
        try:
            pred, text = _range_from_manifest(task, knob, manifest)
            if pred is not None:
                [pred(x) for x in frame["x"]]  # a hand-damaged manifest fails here, not inside a plot
                return pred, text
        except (TypeError, ValueError, KeyError):
            pass  # no range from it: fall back on the records' splits
    if not (frame["split"] == "heldout").any():
        return None, ""
    seen = set(frame.loc[frame["split"].isin(INSIDE_SPLITS), "x"].astype(str))
    return (lambda x: str(x) in seen), "values with instances inside the training distribution (from the records' splits)"


# --------------------------------------------------------------------------------------- tables


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
    text = f"{100 * row.accuracy:.1f} [{100 * row.lo:.1f}, {100 * row.hi:.1f}] n={row.n}"
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


def held_out_words(summary: dict, task: str) -> str:
    """What the run's model was trained on for ``task``, in words, and where that is known from:
    ``trained on all inputs but 0,0,0,0,0; 1,1,1,1,1 (manifest)``. Read with the task's ``trained_on``
    along each of its knobs, from the same manifest the report shades (``task_manifest``)."""
    manifest = task_manifest(summary, task)
    if manifest is None:
        return "nothing known (no manifest, no --heldout)"
    t = _task(task)
    source = "--heldout" if task_manifest({"options": summary.get("options")}, task) is not None else "manifest"
    knobs = ["grid"] if getattr(t, "knob_grid", None) else list(getattr(t, "knobs", ()) or ())
    texts = []
    for knob in knobs:
        try:
            text = t.trained_on(knob, manifest)[1]
        except (TypeError, ValueError, KeyError, AttributeError):  # a hand-damaged manifest: said, not shown
            text = ""
        if text and text not in texts:
            texts.append(text)
    if texts:
        return f"trained on {'; '.join(texts)} ({source})"
    return f"nothing held out ({source})" if not manifest else f"held out: see the {source} ({len(manifest)} keys)"


def runs_table(runs: Sequence[Run]) -> pd.DataFrame:
    """One row per model and run used: its tasks, whether each is complete (and why not), and what the
    model was trained on for each task (the rest held out), in words."""
    rows = []
    for run in runs:
        by_run: dict[str, list[str]] = {}
        for task, summary in sorted(run.summaries.items()):
            by_run.setdefault(summary["run_id"], []).append(task)
        for run_id, tasks in by_run.items():
            summary = run.summaries[tasks[0]]
            status = "; ".join(f"{t}: complete" if task_complete(summary, t) else f"{t}: PARTIAL ({partial_reason(summary, t)})"
                               for t in tasks)
            rows.append({"model": run.model, "run": run_id, "finished": summary.get("finished", "-"),
                         "records": sum(r.run_id == run_id for r in run.records), "tasks": status,
                         "training (the rest held out)": "; ".join(f"{t}: {held_out_words(summary, t)}" for t in tasks)})
    return pd.DataFrame(rows)


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
    table["lenient (+only lenient)"] = [f"{100 * r.lenient / r.n:.1f} (+{r.lenient - r.correct})"
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


# The gaps the report measures, (first split, second split, name): recall beyond learning, then learning
# beyond the training distribution (``seen`` where the training data is not recorded).
GAPS = (("trained", "unseen", "trained - unseen"), ("unseen", "heldout", "unseen - held-out"),
        ("seen", "heldout", "seen - held-out"))


# Gaps measured within strata: trained and unseen come from the same training distribution, so a
# difference in their difficulty mix (abcd: every short program trained, the unseen ones long) is the
# mix, not recall. Held-out instances differ in difficulty by design: that difference is what is measured.
WITHIN_STRATA = {"trained - unseen"}


def gap_table(frame: pd.DataFrame) -> pd.DataFrame:
    """Per model, task and gap (``GAPS``) whose two splits both have records: the first split's accuracy
    minus the second's, with Newcombe's hybrid score interval; for ``WITHIN_STRATA`` gaps, compared
    within the task's strata (``Task.stratum``) that hold both splits (``stats.stratified_difference``),
    with ``strata`` saying how many did and how many instances they hold (none: the gap is NaN)."""
    counts = accuracy(frame, ["model", "task", "split"]).set_index(["model", "task", "split"])
    rows = []
    for (model, task) in sorted(_split_pairs(frame)):
        for first, second, name in GAPS:
            if (model, task, first) not in counts.index or (model, task, second) not in counts.index:
                continue
            s, h = counts.loc[(model, task, first)], counts.loc[(model, task, second)]
            row = {"model": model, "task": task, "gap of": name, "first n": int(s.n), "first %": 100 * s.accuracy,
                   "second n": int(h.n), "second %": 100 * h.accuracy, "strata": "all instances"}
            if name in WITHIN_STRATA:  # the accuracies beside it are those of the strata compared
                gap, lo, hi, row["strata"], cells = _within_strata(frame, model, task, first, second)
                for side, (k, n) in (("first", (sum(c[0] for c in cells), sum(c[1] for c in cells))),
                                     ("second", (sum(c[2] for c in cells), sum(c[3] for c in cells)))):
                    row[f"{side} n"], row[f"{side} %"] = n, (100 * k / n if n else float("nan"))
            else:
                gap, lo, hi = difference_interval(int(s.correct), int(s.n), int(h.correct), int(h.n))
            rows.append(row | {"gap": gap, "lo": lo, "hi": hi})
    return pd.DataFrame(rows)


def _within_strata(frame: pd.DataFrame, model: str, task: str, first: str,
                   second: str) -> tuple[float, float, float, str, list[tuple[int, int, int, int]]]:
    """The gap between splits ``first`` and ``second`` within the strata that hold both, which those are, and
    their ``(k1, n1, k2, n2)`` cells."""
    part = frame[(frame["model"].astype(str) == str(model)) & (frame["task"] == task)
                 & frame["split"].isin([first, second])]
    known = _task(task)
    stratum = known.stratum if known is not None else (lambda label, bucket: label)
    keys = [stratum(label, bucket) for label, bucket in zip(part["label"], part["bucket"])]
    counts = part.assign(stratum=keys).groupby(["stratum", "split"], observed=True)["correct"].agg(["sum", "size"])
    cells, held, shared = [], 0, []
    for key in sorted(set(keys), key=str):
        if (key, first) in counts.index and (key, second) in counts.index:
            a, b = counts.loc[(key, first)], counts.loc[(key, second)]
            cells.append((int(a["sum"]), int(a["size"]), int(b["sum"]), int(b["size"])))
            held += int(a["size"]) + int(b["size"])
            shared.append(str(key))
    gap, lo, hi = stratified_difference(cells)
    total = len(set(keys))
    if not cells:
        return gap, lo, hi, f"none of {total} strata holds both: no like-for-like comparison", cells
    named = ", ".join(shared) if len(shared) <= 6 else f"{', '.join(shared[:6])}, ..."
    return gap, lo, hi, f"{len(cells)} of {total} strata ({named}): {held} of {len(part)} instances", cells


# What each split a (model, task) lacks would take, keyed by the splits it has; the README's gaps only.
_SPLIT_NAMES = {"trained": "trained", "unseen": "unseen", "heldout": "held-out", "seen": "seen", "unknown": "unknown"}
_UNSEEN_FIX = "score it on unseen instances with --fresh N --split unseen, where its training distribution has them"


def missing_gap_words(splits: set[str]) -> str:
    """Why no gap of ``GAPS`` can be measured from records of ``splits`` only, and how to get one.

    Args:
        splits: the splits a model's records of one task have (trained, unseen, heldout, seen, unknown).
    Returns:
        One sentence, true of those splits: a run of trained and held-out instances is told that no unseen
        instance exists (the README defines no trained - held-out gap), not that it lacks a manifest.
    """
    have = ", ".join(_SPLIT_NAMES.get(s, s) for s in sorted(splits, key=list(_SPLIT_NAMES).index)) or "no"
    if not splits & {"trained", "unseen", "seen", "heldout"}:
        return (f"only {have} instances: nothing is known of its training data, so no gap can be measured; give the "
                "model a training manifest, or score it with --heldout TASK:SPEC")
    if "unseen" not in splits and "trained" in splits:
        return (f"only {have} instances, no unseen ones, so neither trained - unseen nor unseen - held-out can be "
                f"measured; {_UNSEEN_FIX}")
    if "heldout" not in splits and "unseen" in splits:
        return (f"only {have} instances, no held-out ones, so unseen - held-out cannot be measured; score it also on "
                "the frozen set (no --split), whose held-out instances are those its training distribution leaves out")
    if "heldout" not in splits:
        return (f"only {have} instances, no held-out ones, so no gap to held-out inputs can be measured; score it on "
                "inputs its training distribution leaves out (the frozen set, or --heldout TASK:SPEC naming them)")
    return (f"only {have} instances, no trained or unseen ones, so no gap can be measured; score it on the frozen "
            f"set, or {_UNSEEN_FIX}")


def gap_notes(frame: pd.DataFrame, gaps: pd.DataFrame) -> list[str]:
    """Per model and task with records but no row in ``gaps``: which splits it has and why no gap is measured."""
    measured = set() if gaps.empty else set(zip(gaps["model"].astype(str), gaps["task"]))
    splits = frame.groupby([frame["model"].astype(str), "task"], observed=True)["split"].agg(lambda v: set(v))
    return [f"{model}, {task}: {missing_gap_words(s)}." for (model, task), s in splits.items()
            if (model, task) not in measured]


def gap_section(doc: plots.Doc, frame: pd.DataFrame, colors: dict) -> None:
    gaps = gap_table(frame)
    notes = gap_notes(frame, gaps)
    if gaps.empty:
        doc.p("No gap can be measured in these runs (a gap needs instances of both of its splits: trained and "
              "unseen, unseen and held out, or seen and held out where only the training distribution is known):")
        for note in notes:
            doc.p(note)
        return
    doc.p("'trained - unseen': a model that memorised its training data scores far better on the exact problems it "
          "trained on than on new problems of the same distribution; one that learned scores about the same (gap "
          "near 0). It is compared within strata (abcd's program lengths, multiplication's digit pairs, judge's "
          "templates) that hold both, each weighted by Mantel-Haenszel's n1 n2 / (n1 + n2): where every short "
          "problem is trained on and the unseen ones are long, the plain difference would be difficulty, not "
          "recall ('strata' in the table below says which strata were compared, and its accuracies are theirs). 'unseen - held-out': how much "
          "carries outside the training distribution ('seen - held-out' where the training data is not "
          "recorded: seen mixes trained and unseen). Intervals: Newcombe's hybrid score method (1998, method "
          "10), 95%; within strata its weighted form (Zou & Donner 2008, MOVER).")
    shown = gaps.assign(**{"first %": gaps["first %"].round(1), "second %": gaps["second %"].round(1),
                           "gap pts [95% CI]": [f"{100 * g:+.1f} [{100 * lo:+.1f}, {100 * hi:+.1f}]" if g == g
                                                else "no stratum holds both"
                                                for g, lo, hi in zip(gaps["gap"], gaps["lo"], gaps["hi"])]})
    wide = shown.assign(model=[f"{m} ({g})" for m, g in zip(shown["model"], shown["gap of"])])
    doc.table(_pivot(wide, "model", "task", "gap pts [95% CI]").fillna("-"))
    doc.table(shown.drop(columns=["gap", "lo", "hi"]), collapsed="the accuracies behind each gap")
    for k, (_, _, name) in enumerate(GAPS):
        part = gaps[(gaps["gap of"] == name) & gaps["gap"].notna()]
        if not part.empty:
            doc.figure(plots.gap_figure(part, colors, name.replace("held-out", "held out")), f"gap{k}" if k else "gap",
                       f"Gap {name} per model and task (points, 95% CI)")
    for note in notes:
        doc.p(f"Not shown: {note}")


# --------------------------------------------------------------------------------------- curves


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


def _pivot(frame: pd.DataFrame, index: str, columns: str, values: str) -> pd.DataFrame:
    """A wide table with the index as its first column (and no stray axis name in the header)."""
    return frame.pivot(index=index, columns=columns, values=values).reset_index().rename_axis(columns=None)


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
        wide = acc.assign(cell=[(count_cell(k, n) if tiny(n) else f"{100 * a:.0f} ({n})") + errors_text(e)
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


# --------------------------------------------------------------------------------------- details


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
    """The argument analysis per model and split (seen vs held-out templates): all figures in %."""
    ok = _split_rows(part[~part["error"]])
    # The keys live in Record.detail (or, for a task that buckets by them, in Record.bucket).
    arg, follow, masked = (pd.Series([d.get(k, b.get(k)) for d, b in zip(ok["detail"], ok["bucket"])], index=ok.index,
                                     dtype=object) for k in JUDGE_KEYS)
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
    return _pct_table(ok, values, ["model", "split"])


def _trace_detail(doc: plots.Doc, task: str, part: pd.DataFrame, colors: dict) -> None:
    """A trace answer (abcd): where traces go wrong, and final form against trace validity."""
    doc.h3("Where traces go wrong")
    _first_bad(part, colors, doc, task)
    doc.p("Final form versus trace validity (% of answered requests): a right final form with a bad trace "
          "suggests a memorised result rather than a learned procedure.")
    doc.table(_final_vs_trace(part))


def _judge_detail(doc: plots.Doc, task: str, part: pd.DataFrame, colors: dict) -> None:
    """A judged argument (judge): the argument's base rate, and accuracy by whether it is right."""
    doc.h3("Argument analysis")
    doc.p("How often the choice argument favours the correct candidate (its base rate), accuracy when the "
          "argument is right and when it is wrong, how often the model follows the argument, and masked versus "
          "unmasked arguments; 'seen'/'heldout' split the templates by training.")
    doc.table(judge_table(part))


def _fields_detail(doc: plots.Doc, task: str, part: pd.DataFrame, colors: dict, digits: bool = False) -> None:
    """Accuracy per answer field; for a ``digits`` view (multiplication) also per digit position."""
    table = field_table(part)
    if table.empty:
        return
    doc.h3("Per-field accuracy")
    if digits:
        columns = [c for c in table.columns if _field_order(c)[0] == 0]
        doc.p("Per-digit accuracy by position (d0 = units digit), % of the answered requests whose product has "
              "that digit (n: all answered requests): errors in the middle digits point at a learned-but-imperfect "
              "carry, errors everywhere at no algorithm at all.")
        lines = table[table["split"] == "all"].melt(id_vars=["model"], value_vars=columns, var_name="d", value_name="y")
        lines = lines.assign(x=lines["d"].map(lambda d: int(d[1:])), y=lines["y"] / 100).dropna(subset=["y"])
        doc.figure(plots.lines_figure(lines, colors, "digit position (0 = units)", "digit accuracy %",
                                      f"{task}: accuracy per digit position"), f"{task}-digits",
                   f"{task}: per-digit accuracy by position")
    else:
        doc.p(f"{task}: accuracy per answer field, % of the answered requests that have the field "
              "(n: all answered requests).")
    doc.table(table)
    counts = field_table(part, counts=True)
    fields = [c for c in counts.columns if c not in ("model", "split", "n")]
    if counts[fields].ne(counts["n"], axis=0).any(axis=None):  # some answers lack a field: each % has its own base
        doc.table(counts, collapsed=f"{task}: answered requests per field (the base of each %)")


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


def _show(value) -> str:
    if value is None:
        return "(none)"
    if isinstance(value, (list, tuple)):
        return "\n".join(map(str, value))
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)


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
             "prompt": _clip(r.prompt), "expected": _clip(_show(r.expected)), "answer": _clip(r.completion or "(empty)"),
             "reason": r.reason or "(no reason given)"} for r in picked.itertuples()]


# --------------------------------------------------------------------------------------- worlds


WORLD_SPLITS = ("trained", "unseen", "seen", "heldout", "unknown")  # the summary's splits, "all" aside
# What the Worlds section shows, as the README's study table does: seen (every input inside the training
# distribution: trained + unseen, pooled) against held out.
WORLD_SHOWN = ("seen", "heldout", "unknown")


def world_runs(results: Path) -> list[dict]:
    """Per model, task and world (by its hash), the latest run that scored the world's whole frozen
    set (``--world``; not ``--fresh``, ``--limit``, interrupted or stopped early, no failed request), as
    rows: model, task, world name, its complexity measures and per split n, accuracy and 95% interval."""
    latest: dict[tuple, dict] = {}
    for summary in scan_runs(results)[0]:
        for task, variant in (summary.get("variants") or {}).items():
            cover = (summary.get("coverage") or {}).get(task) or {}
            whole = cover.get("of") is not None and cover.get("instances") == cover.get("of")
            sel = summary.get("selection") or {}
            measured = not request_errors(summary, task)  # a failed request did not measure the model
            if whole and measured and not summary.get("interrupted") and not summary.get("stopped_early") \
                    and not sel.get("fresh"):
                latest[(summary["model"], task, variant.get("sha256"))] = {"summary": summary, "variant": variant}
    rows = []
    for (model, task, _), found in sorted(latest.items(), key=lambda kv: (kv[0][0], kv[0][1])):
        cells = (found["summary"].get("tasks") or {}).get(task) or {}
        row = {"model": model, "task": task, "world": found["variant"].get("name"), **(found["variant"].get("measures") or {})}
        for split in WORLD_SPLITS:
            if split in cells:
                c = cells[split]
                row[split] = {"n": c["n"], "acc": c["accuracy"], "lo": c["ci"][0], "hi": c["ci"][1]}
        inside = [cells[s] for s in INSIDE_SPLITS if s in cells]
        if inside:  # seen = trained + unseen (+ seen, where only the distribution is known): counts pooled
            n, k = sum(c["n"] for c in inside), sum(c.get("correct", round(c["accuracy"] * c["n"])) for c in inside)
            lo, hi = wilson(k, n)
            row["seen"] = {"n": n, "acc": k / n, "lo": lo, "hi": hi}
        rows.append(row)
    return rows


def worlds_table(rows: list[dict]) -> pd.DataFrame:
    def cell(c: dict | None) -> str:
        return "-" if not c else f"{100 * c['acc']:.1f} [{100 * c['lo']:.1f}, {100 * c['hi']:.1f}] n={c['n']}"

    names = {"seen": "seen %", "heldout": "held out %", "unknown": "unknown %"}
    return pd.DataFrame([{"model": r["model"], "world": r["world"], "variables": r.get("variables"),
                          "equations": r.get("equations"), "depth": r.get("depth"),
                          "outputs using outputs": r.get("dependent_outputs"), "inputs": r.get("input_space"),
                          **{names[s]: cell(r.get(s)) for s in WORLD_SHOWN}}
                         for r in rows]).replace("-", pd.NA).dropna(axis=1, how="all").fillna("-")


def worlds_section(doc: plots.Doc, results: Path, rows: list[dict] | None = None) -> None:
    """Accuracy against world complexity, when models were scored on several worlds (``--world``);
    ``rows``: ``world_runs(results)`` when already read."""
    rows = world_runs(results) if rows is None else rows
    if not rows:
        return
    doc.h2("Worlds", "worlds")
    doc.p("Runs on causal worlds of your own (--world): each model's latest run over a world's whole frozen set, "
          "with the world's complexity (variables, equations, dependency depth, outputs that use other outputs, "
          "input space) and its seen and held-out accuracy with 95% Wilson intervals (seen: every input inside the "
          "training distribution, trained and unseen together). These runs are not the "
          "leaderboard's causal score, which is the default world's.")
    doc.table(worlds_table(rows))
    if len(rows) < 2:
        return
    for measure in ("depth", "equations"):
        points = [{"label": f"{r['model']} / {r['world']}", "x": r.get(measure), "split": split, **r[split]}
                  for r in rows for split in WORLD_SHOWN if split in r and r.get(measure) is not None]
        if points:
            doc.figure(plots.complexity_figure(pd.DataFrame(points), measure, f"causal: accuracy by world {measure}"),
                       f"worlds-{measure}", f"Seen and held-out accuracy against the world's {measure.replace('_', ' ')}")


# --------------------------------------------------------------------------------------- building


def build_report(results: Path | str, out: Path | str | None = None, models: Sequence[str] | None = None,
                 runs: Sequence[str] | None = None, warnings: list[str] | None = None) -> Path:
    """Write ``report.html`` (self-contained) and ``report.md`` (+ ``figures/``) under ``out``; returns the HTML path.

    ``runs``: the runs to report (run ids, folders, ``MODEL@latest``) instead of each model's latest
    complete run per task. Raises ``UsageError`` when there is nothing complete to report. Damaged
    runs are skipped: named in the report and, one line each, in ``warnings`` when given.
    """
    results = Path(results)
    out = Path(out) if out is not None else results / "report"
    skipped: list[str] = []
    named = bool(runs)
    try:
        runs = load_runs(results, models, runs, skipped)
    except UsageError:
        if runs or models or not world_runs(results):
            raise
        return _worlds_only(results, out)  # only runs on worlds of one's own: their section alone
    if warnings is not None:
        warnings.extend(skipped)
    frame = records_frame(runs)
    if frame.empty:
        raise UsageError(f"the latest runs under {results} have no records; score a model first")
    for old in (out / "figures").glob("*.png"):  # figures of an earlier build with other tasks
        old.unlink()
    doc = plots.Doc(out / "figures")
    colors = plots.palette([run.model for run in runs])
    runs_by_model = {run.model: run for run in runs}

    doc.h2("Runs", "runs")
    doc.table(runs_table(runs))
    for line in skipped:
        doc.p(f"Skipped: {line}")
    for run in runs:
        for line in logged_warnings(run):
            doc.p(f"Logged while {run.model} ran: {line}")
    for line in [] if named else left_out(results, runs, models):
        doc.p(f"Not in this report: {line}")
    doc.h2("Leaderboard", "leaderboard")
    source = ("from the runs named with --run (see Runs; a row marked PARTIAL is from a partial run: not the "
              "model's score)" if named else "from each model's latest complete run per task (see Runs)")
    doc.p(f"Accuracy in % with its 95% Wilson interval and n, {source}; 'trained' (the exact problem is in the "
          "model's training data), 'unseen' (inside its training "
          "distribution, not trained on) and 'held-out' (outside it) split each model's instances by its manifest; "
          "'seen' (inside, trained on or not) where only the distribution is known (--heldout, an older manifest or "
          "run), 'unknown' where the model has neither. Failed requests (a run with any is partial: the model was "
          "not measured on them) count as not right and are shown apart (err). "
          "Accuracy is the strict reading (the task's answer format); 'lenient' reads the final answer from prose "
          "('The answer is 56.', '**56**'), with how many answers only it accepted.")
    doc.table(mark_partial(leaderboard(frame), runs))
    doc.h2("Generalization gap", "gap")
    gap_section(doc, frame, colors)
    world_rows = world_runs(results)
    worlds_section(doc, results, world_rows)
    for task in sorted(frame["task"].unique()):
        part = frame[frame["task"] == task]
        doc.h2(f"{task}", f"task-{task}")
        coverage_section(doc, task, runs)
        curves_section(doc, task, part, getattr(_task(task), "knobs", ()), runs_by_model, colors)
        detail_section(doc, task, part, colors)
        doc.h3("Failed instances")
        models = part["model"].nunique()
        doc.failures(task, failures(part), total=int((~part["correct"]).sum()),
                     scope=f"of {models} models" if models > 1 else "")

    worlds = (f"; {_count(len(world_rows), 'run')} of {_count(len({r['model'] for r in world_rows}), 'model')} on "
              "worlds of your own (Worlds)") if world_rows else ""
    meta = (f"{_count(len(runs), 'model')} and {_count(len(frame), 'record')} in the leaderboard{worlds}; from "
            f"{results.resolve()}; built {time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())}")
    return _write(doc, out, meta)


def logged_warnings(run: Run) -> list[str]:
    """The warnings logged while the model loaded and answered (``summary.json``'s ``warnings``), each once,
    over the runs the model's records come from."""
    summaries = {id(s): s for s in [run.summary, *run.summaries.values()]}.values()
    lines = [w for s in summaries for w in (s.get("warnings") or []) if isinstance(w, str)]
    return list(dict.fromkeys(lines))


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def left_out(results: Path, runs: Sequence[Run], models: Sequence[str] | None = None) -> list[str]:
    """Per model and task with runs under ``results`` but none complete (so not in ``runs``): one line naming
    its latest partial run, why it is partial, and how to include it. Runs on a world of one's own are left
    to the Worlds section."""
    shown = {(run.model, task) for run in runs for task in (run.summaries or {t: None for t in run.summary.get("tasks", {})})}
    lines = []
    for model, tasks in sorted(scored_runs(results).partial.items()):
        for task, summaries in sorted(tasks.items()):
            plain = [s for s in summaries if not (s.get("variants") or {}).get(task)]
            if (model, task) in shown or not plain or (models and model not in models):
                continue
            last = plain[-1]
            lines.append(f"{model} {task}: only partial runs (latest {last['run_id']}: {partial_reason(last, task)}); "
                         f"score the whole frozen set, or name it with --run {last['run_id']}")
    return lines


def _write(doc: plots.Doc, out: Path, meta: str) -> Path:
    title = "oraclebench report"
    out.mkdir(parents=True, exist_ok=True)
    atomic_write(out / "report.md", doc.render_md(title, meta))
    path = out / "report.html"
    atomic_write(path, doc.render_html(title, meta))
    return path


def _worlds_only(results: Path, out: Path) -> Path:
    """The report of a results folder whose only whole runs are on worlds of one's own (``--world``)."""
    for old in (out / "figures").glob("*.png"):
        old.unlink()
    doc = plots.Doc(out / "figures")
    worlds_section(doc, results)
    meta = (f"runs on causal worlds (--world) only, from {results.resolve()}; built "
            f"{time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())}")
    return _write(doc, out, meta)
