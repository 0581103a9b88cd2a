"""The session's end: the run's records and summary written, its gates checked and report built, and
the oraclebench section of the terminal summary."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pytest

from oraclebench.errors import UsageError
from oraclebench.logcapture import count_line
from oraclebench.plugin.collection import quiet_wrong_answers
from oraclebench.plugin.completeness import completeness
from oraclebench.plugin.state import BENCH, QUIET, Bench
from oraclebench.records import Record
from oraclebench.textsafe import printable, storable
from oraclebench.workers import drawn_facts, drop_collection_diffs, inflight_dir, read_model_facts


def finish_session(session: pytest.Session, exitstatus: int) -> None:
    """What ``pytest_sessionfinish`` does: a worker sends back what it did; the controller (or the only
    process) writes the run, checks its gates and builds its report."""
    bench = session.config.stash[BENCH]
    drop_idle_hypothesis(session.config)
    if bench.is_worker:
        session.config.workeroutput["oraclebench_timing"] = bench.timing
        session.config.workeroutput["oraclebench_notices"] = bench.notices
        session.config.workeroutput["oraclebench_warnings"] = bench.warnings.lines
        session.config.workeroutput["oraclebench_warnings_dropped"] = len(bench.warnings.dropped)
        session.config.workeroutput["oraclebench_draws"] = storable(drawn_facts(bench))
        return
    import shutil

    bench.worker_model = read_model_facts(bench.results, bench.run_id)
    shutil.rmtree(inflight_dir(bench.results, bench.run_id), ignore_errors=True)
    if bench.worker_errors:  # the workers' model did not load: a usage error, as in one process
        session.exitstatus = pytest.ExitCode.USAGE_ERROR
        drop_collection_diffs(session.config)
    if not bench.chooses_tasks:
        bench.declared_tasks()  # said during collection in one process; an xdist controller says it here
    if not bench.collected:
        return
    from oraclebench.records import write_run
    from oraclebench.summary import summarize, write_leaderboard

    records = [bench.own_record(v) for v in bench.collected.values()]
    identity = (bench.model.identity() if bench.model is not None
                else bench.worker_model.get("identity") or bench.model_name)
    opt = session.config.getoption
    if session.config.pluginmanager.has_plugin("dsession") and not opt("--explore"):
        quiet_wrong_answers(session.config)  # xdist's controller collects nothing: the same output, decided here
    bench.summary = summarize(
        records, run_id=bench.run_id or records[0].run_id, model=bench.model_name, identity=identity,
        started=time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(bench.started)),
        options={"limit": opt("--limit"), "fresh": opt("--fresh"), "seed": opt("--seed"), "heldout": opt("--heldout"),
                 "tasks": sorted(bench.tasks_filter) or "all"},
        manifest=getattr(bench.model, "manifest", None) if bench.model is not None else bench.worker_model.get("manifest"),
        explore=bool(opt("--explore")),  # a search, not a score: kept out of the leaderboard
    )
    bench.summary.update(completeness(bench, session, exitstatus, records))
    if not opt("--explore") and (training := training_summary(bench, records)):
        bench.summary["training"] = training

    loaded_as = getattr(bench.model, "loaded_as", None) if bench.model is not None else bench.worker_model.get("loaded_as")
    if loaded_as:
        bench.summary["loaded_as"] = loaded_as
    bench.summary.update(variants_of(records))
    if logged := logged_warnings(bench):
        bench.summary["warnings"] = logged
    if bench.timing:
        bench.summary["timing"] = bench.timing
    # Records and summary first: nothing that goes wrong with a gate can lose the run.
    run_dir = write_run(bench.results, bench.summary["run_id"], records, bench.summary,
                        lines=bench.collected.values())
    bench.summary["path"] = str(run_dir)
    if opt("--gate"):
        _check_gates(bench, session, records, run_dir)
    write_leaderboard(bench.results, bench.notices)
    if opt("--report"):
        from oraclebench.report import build_report

        # `oraclebench report` on the results folder; where it refuses (no complete run), `oraclebench report
        # --run THIS_RUN`, whose leaderboard marks the run PARTIAL, and a line that says which it was.
        try:
            path = build_report(bench.results, out=bench.results / "report", warnings=bench.notices)
        except UsageError as exc:
            bench.notices.append(f"{exc}: the report is of this run, as `oraclebench report --results "
                                 f"{bench.results} --run {run_dir.name}` writes it")
            path = build_report(bench.results, out=bench.results / "report", runs=[str(run_dir)],
                                warnings=bench.notices)
        bench.summary["report"] = str(path)


def drop_idle_hypothesis(config: pytest.Config) -> None:
    """Unregister Hypothesis's pytest plugin where nothing in the run imported Hypothesis.

    Its terminal summary imports Hypothesis to look for what Hypothesis's tests wrote. A run that never
    imported it (a benchmark run imports it only under ``--explore``) has nothing there, and paid the
    import at its end: 0.2 s, and 1.1 s where bytecode is not cached (``PYTHONDONTWRITEBYTECODE``),
    since pytest rewrites the asserts of every module of a package that ships a pytest plugin. Called
    at the session's end, before the terminal summary.
    """
    if "hypothesis" not in sys.modules and (plugin := config.pluginmanager.get_plugin("hypothesispytest")):
        config.pluginmanager.unregister(plugin)


def logged_warnings(bench: Bench) -> list[str]:
    """What was logged while the model loaded and answered, this process's and the workers', each line once,
    and a count line for what was not kept."""
    lines = list(dict.fromkeys([*bench.warnings.lines, *bench.logged]))
    dropped = len(bench.warnings.dropped) + bench.logged_dropped
    return lines + [count_line(dropped)] if dropped else lines


def training_summary(bench: Bench, records: list[Record]) -> dict:
    """Per task whose training data the model's manifest records: the training coverage per stratum
    and the run's instances by split there (``summary.training_coverage``)."""
    from oraclebench.models import declared_training, manifest_training
    from oraclebench.summary import training_coverage, training_facts
    from oraclebench.tasks import get_task

    # The loaded model's manifest where there is one (what labelled the records), else what the name
    # declares (an xdist controller loads no model; a python: callable's manifest is declared too).
    declared = (manifest_training(getattr(bench.model, "manifest", None))
                or declared_training(bench.model_name, bench.options) or {})
    out = {}
    for task in sorted({r.task for r in records} & set(declared)):
        facts = bench.coverage_facts.get(task) or training_facts(task, bench.task_instances(task), declared[task])
        out[task] = training_coverage(get_task(task), declared[task], [r for r in records if r.task == task],
                                      facts["buckets"], strata=facts["strata"])
    return out


def variants_of(records: list[Record]) -> dict:
    """``{"variants": {task: its variant}}`` for the run's tasks bound to one (``--world``): the world's
    name, hash, path, complexity measures and frozen-set coverage, which the report plots against."""
    from oraclebench.tasks import get_task

    found = {t: get_task(t).variant_id() for t in sorted({r.task for r in records})}
    return {"variants": {t: v for t, v in found.items() if v is not None}}


def describe_variant(task: str, variant: dict) -> str:
    """``causal: world counter (sha256 ab376c20c408, /path/counter.toml): 16 of 16 inputs, every input``."""
    cover = variant.get("frozen") or {}
    how = "every input" if cover.get("exhaustive") else "a seeded sample stratified by the inputs' sum"
    return printable(f"{task}: {variant.get('option')} {variant.get('name')} (sha256 {str(variant.get('sha256'))[:12]}, "
                     f"{variant.get('path')}): frozen set of {cover.get('size')} of {cover.get('space')} inputs, {how}",
                     1000)


def _timing_line(task: str, t: dict, workers: int) -> str:
    # Every answer cut by the budget, right or not (none is cached); the table's "trunc." counts those not right.
    cut = f", {t['truncated']} cut by the token budget" if t.get("truncated") else ""
    line = (f"{task}: {t['requested']} requests, {t['cached']} from the cache, {t['computed']} asked "
            f"({t['errors']} failed{cut})")
    if workers:
        line += f" by {t.get('workers', 1)} of {workers} workers (each its share)"
    return line + f" in {t['seconds']:.1f} s"


def _check_gates(bench: Bench, session: pytest.Session, records: list[Record], run_dir: Path) -> None:
    """Evaluate ``--gate`` on the written run; any failure to evaluate is one gate ERROR line."""
    from oraclebench.models.base import describe_exception
    from oraclebench.gates import GateErrors, check_gates
    from oraclebench.records import atomic_write

    try:
        bench.gates = check_gates(session.config.getoption("--gate"), bench.summary, records=records)
    except GateErrors as exc:  # the measurable gates are still shown, each error on its own line
        bench.gates, bench.gate_error = exc.results, "\n".join(exc.errors)
    except UsageError as exc:
        bench.gate_error = str(exc)
    except Exception as exc:  # noqa: BLE001 - the run is written; a gate mistake must not hide it
        bench.gate_error = f"{session.config.getoption('--gate')}: evaluating the gates failed: {describe_exception(exc)}"
    bench.summary["gates"] = [g.__dict__ for g in bench.gates]
    saved = {k: v for k, v in bench.summary.items() if k != "path"}
    atomic_write(run_dir / "summary.json", json.dumps(saved, indent=2, ensure_ascii=False, default=str) + "\n")
    if bench.gate_error is not None:
        session.exitstatus = pytest.ExitCode.USAGE_ERROR
    elif session.exitstatus in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED):
        ok = all(g.ok for g in bench.gates)
        session.exitstatus = pytest.ExitCode.OK if ok else pytest.ExitCode.TESTS_FAILED


def terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    """What ``pytest_terminal_summary`` shows: the oraclebench section."""
    bench = config.stash[BENCH]
    for error in dict.fromkeys(bench.worker_errors):
        terminalreporter.write_line(f"ERROR: {printable(error, 1000, line=True)}", red=True)
    if bench.summary is None:  # no record: still what the workers' draws said (an empty unseen space)
        bench.flush_lines(terminalreporter)
        return
    from oraclebench.sets import describe_coverage
    from oraclebench.summary import render_table, warning_lines

    tr = terminalreporter
    s = bench.summary
    tr.section("oraclebench")
    bench.flush_lines(tr)
    for rep in bench.other_failures:  # a crash, not an answer: shown whole even when wrong answers are not
        tr.write_sep("_", f"{rep.when} of {rep.nodeid}")
        tr.write_line(rep.longreprtext)
    tr.write_line(printable(f"model {s['model']}  run {s['run_id']}", 1000, line=True))
    for task, t in s.get("timing", {}).items():
        tr.write_line(_timing_line(task, t, bench.workers))
    for task, c in s.get("coverage", {}).items():
        dropped = c.get("dropped_as_training")
        extra = f"; {dropped} fresh draws dropped: in the model's training data" if dropped else ""
        status = "complete" if s["complete"].get(task) else f"PARTIAL ({s['partial'][task]}): not shown as the score"
        tr.write_line(f"{describe_coverage(task, c)}{extra}; {status}")
    for task, variant in s.get("variants", {}).items():
        tr.write_line(describe_variant(task, variant))
    tr.write_line(f"records and summary: {s['path']}")
    tr.write_line(f"leaderboard: {bench.results / 'leaderboard.md'}")
    if "report" in s:
        tr.write_line(f"report: {s['report']}")
    only = {task: splits["all"]["lenient"]["only"] for task, splits in s["tasks"].items()
            if splits["all"].get("lenient", {}).get("only")}
    if only:
        counts = ", ".join(f"{task} {k}" for task, k in only.items())
        tr.write_line(f"only the lenient reading (the final answer found in prose) accepted {sum(only.values())} "
                      f"answers ({counts}); the score is the strict reading")
    for task, t in s.get("training", {}).items():
        tr.write_line(f"{task} training data covers: " + "; ".join(b["text"] for b in t["buckets"].values()))
    for line in warning_lines(s.get("training", {}), s.get("selection")):
        tr.write_line(f"WARNING: {line}", yellow=True)
    for notice in dict.fromkeys(bench.notices):  # each damaged file once
        tr.write_line(f"WARNING: {printable(notice, 1000, line=True)}", yellow=True)
    for line in s.get("warnings", []):  # logged while the model loaded and answered: "LEVEL: logger: message"
        tr.write_line(line, red=line.startswith(("ERROR", "CRITICAL")), yellow=not line.startswith(("ERROR", "CRITICAL")))
    if config.stash.get(QUIET, False):
        tr.write_line("wrong answers one by one: -rf, --tb=short, --junitxml FILE, or the run's records.jsonl")
    for gate in bench.gates:
        tr.write_line(gate.line(), green=gate.ok, red=not gate.ok)
    for error in (bench.gate_error or "").splitlines():
        tr.write_line(f"ERROR gate: {error}", red=True)
    if config.getoption("--gate") and bench.gate_error is None:
        verdict = "all gates hold" if all(g.ok for g in bench.gates) else "a gate failed"
        tr.write_line(f"oraclebench gates: {verdict}", bold=True, green="hold" in verdict, red="failed" in verdict)
    tr.write_line(render_table(s))

