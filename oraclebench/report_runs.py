"""The runs a report draws on: each model's latest complete run per task (or the runs named), their
records as one frame, what each model was trained on (its manifest or ``--heldout``), and the Runs
section's tables and lines.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import pandas as pd

from oraclebench.errors import UsageError
from oraclebench.records import (DamagedFile, Record, latest_runs, partial_reason, read_records, resolve_run,
                                 scored_runs, task_complete)
from oraclebench.tasks import TaskError, get_task

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
    """The runs named, one ``Run`` per model; where two runs named of one model share a task (before and after,
    side by side), one per run instead, each named ``MODEL@RUN_ID`` (a later name replaced the earlier one
    without a word)."""
    summaries = []
    for name in names:
        run_dir = resolve_run(results, name)
        try:
            summary = json.loads((run_dir / "summary.json").read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise UsageError(f"run {name}: cannot read {run_dir / 'summary.json'}: {exc}") from None
        summary.setdefault("run_id", run_dir.name)
        summary["path"] = str(run_dir)
        summaries.append(summary)
    covered = Counter((s["model"], task) for s in {s["path"]: s for s in summaries}.values() for task in s.get("tasks") or {})
    apart = {model for (model, _), runs in covered.items() if runs > 1}
    by_model: dict[str, dict[str, dict]] = {}
    for summary in summaries:
        key = f"{summary['model']}@{summary['run_id']}" if summary["model"] in apart else summary["model"]
        for task in summary.get("tasks") or {}:
            by_model.setdefault(key, {})[task] = summary
    return [_run_of(m, tasks) for m, tasks in by_model.items()]


def records_frame(runs: Sequence[Run]) -> pd.DataFrame:
    """One row per record; dict columns (bucket, fields, detail) are kept whole for per-task use."""
    # A record is its run's: the run's model name, never the adapter's own (``random`` with a seed wrote
    # ``random@3`` in its records, which no run was named, and its rows fell out of the leaderboard).
    rows = [(run.model, r.run_id, r.task, r.instance_id, r.label, r.split, bool(r.correct), r.error is not None,
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


def logged_warnings(run: Run) -> list[str]:
    """The warnings logged while the model loaded and answered (``summary.json``'s ``warnings``), each once,
    over the runs the model's records come from."""
    summaries = {id(s): s for s in [run.summary, *run.summaries.values()]}.values()
    lines = [w for s in summaries for w in (s.get("warnings") or []) if isinstance(w, str)]
    return list(dict.fromkeys(lines))


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
