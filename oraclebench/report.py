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

import time
from pathlib import Path
from typing import Sequence

from oraclebench.errors import UsageError
from oraclebench.records import atomic_write
from oraclebench.report_curves import coverage_section, curves_section
from oraclebench.report_detail import detail_section, failures, field_table
from oraclebench.report_gap import gap_notes, gap_section, gap_table
from oraclebench.report_leaderboard import leaderboard, mark_partial
from oraclebench.report_runs import (Run, _task, left_out, load_runs, logged_warnings, records_frame, runs_table,
                                     task_manifest, training_range)
from oraclebench.report_worlds import world_runs, worlds_section

# Last: the sections import pandas before report_plots imports matplotlib, so an install without the
# report extra is told that it needs pandas, as when the report was one module.
from oraclebench import report_plots as plots

# build_report, and the names callers (the web page, the tests) import from here: re-exported from the
# modules that now hold them.
__all__ = ["Run", "build_report", "detail_section", "field_table", "gap_notes", "gap_table", "leaderboard",
           "load_runs", "records_frame", "runs_table", "task_manifest", "training_range", "world_runs"]


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


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


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
