"""The pytest plugin: ``pytest benchmark --model NAME`` scores a model, one test item per instance.

Flow:
- collection: each ``benchmark/test_<task>.py`` is parametrized over the selected instances of its
  task (frozen set, ``--limit``, ``--fresh``); item ids read ``test_abcd[gpt2-abcd|len07|0123]``;
- after collection the model is loaded once (a missing checkpoint is trained or named, in one line);
- the first item of a task answers ALL collected items of that task in one batched, cached call;
  items only assert on the precomputed records (a failed request is a setup ERROR, a wrong answer a
  FAILED item);
- each item attaches its record to its report (``user_properties``), so with pytest-xdist the
  controller collects them; only the controller writes ``results/``, prints the table and checks
  ``--gate`` (the exit status is then 0 iff every gate holds).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import re
import time
from collections import defaultdict
from pathlib import Path

import pytest

from oraclebench.errors import UsageError
from oraclebench.records import Record
from oraclebench.textsafe import printable

RECORD_KEY = "oraclebench.record"


# --------------------------------------------------------------------------------------- options


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _key_value(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    return key.strip(), value.strip()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("oraclebench", "oraclebench: score a language model")
    group.addoption("--model", default=None, help="model to score: oracle, random, hf:PATH, gpt2-causal, vllm:MODEL@URL, ...")
    group.addoption("--model-opt", action="append", type=_key_value, default=[], metavar="KEY=VALUE",
                    help="adapter option, repeatable (device=cpu, dtype=float32, batch_size=64, concurrency=16, ...)")
    group.addoption("--task", action="append", default=[], help="only these tasks (repeatable or comma-separated)")
    group.addoption("--limit", type=_positive_int, default=None, help="a stratified subset of N instances per task")
    group.addoption("--fresh", type=_positive_int, default=None, metavar="N",
                    help="score N new instances drawn from each task's strategy instead of the frozen set")
    group.addoption("--seed", type=int, default=0, help="seed for --fresh and --explore (default 0)")
    group.addoption("--results", default="results", help="results directory (default results/)")
    group.addoption("--gate", default=None, metavar="FILE", help="TOML gate file; exit 0 iff every gate holds")
    group.addoption("--heldout", action="append", default=[], metavar="SPEC",
                    help="what the model saw in training: TASK:SPEC (e.g. abcd:lengths=1-12) or a manifest.json")
    group.addoption("--no-cache", action="store_true", default=False, help="do not read or write the response cache")
    group.addoption("--report", action="store_true", default=False, help="write the HTML report after the run")
    group.addoption("--explore", action="store_true", default=False,
                    help="search for the smallest instance the model gets wrong (Hypothesis) instead of the set")
    group.addoption("--budget", type=_positive_int, default=200, help="model calls per task for --explore (default 200)")
    group.addoption("--budget-seconds", type=float, default=300.0, help="seconds per task for --explore (default 300)")


# --------------------------------------------------------------------------------------- state


class Bench:
    """Per-session state, kept in ``config.stash``."""

    def __init__(self, config: pytest.Config):
        self.config = config
        opt = config.getoption
        self.model_name: str | None = opt("--model")
        self.options = dict(opt("--model-opt"))
        self.results = Path(opt("--results"))
        self.tasks_filter = {t.strip() for chunk in opt("--task") for t in chunk.split(",") if t.strip()}
        self.model = None
        self.heldout: dict = {}
        self.instances: dict[str, list] = {}  # task -> selected instances (before -k deselection)
        self.selected: dict[str, list] = defaultdict(list)  # task -> instances of collected items
        self.records: dict[str, dict[str, Record]] = {}  # task -> instance id -> record
        self.timing: dict[str, dict] = {}  # task -> requests asked, answered from the cache, seconds in the model
        self.collected: dict[str, dict] = {}  # nodeid -> record json, from reports (controller)
        self.needs_model = False
        self.declared: list[str] | None = None  # tasks the model says it was trained on
        self.run_id = ""
        self.summary: dict | None = None
        self.gates: list = []
        self.gate_error: str | None = None
        self.notices: list[str] = []  # damaged results files set aside or skipped: one WARNING line each
        self.started = time.time()
        self.is_worker = hasattr(config, "workerinput")

    # -- instances ------------------------------------------------------------------------------
    def task_instances(self, task: str) -> list:
        if task not in self.instances:
            from oraclebench.sets import load_set, stratified
            from tasks import get_task

            opt = self.config.getoption
            if opt("--fresh"):
                insts = get_task(task).fresh(opt("--fresh"), opt("--seed"))
            else:
                insts = load_set(task)
            self.instances[task] = stratified(insts, opt("--limit"))
        return self.instances[task]

    def wants(self, task: str) -> bool:
        """``--task`` if given; else the tasks the model declares it was trained on; else every task."""
        if self.tasks_filter:
            return task in self.tasks_filter
        if self.declared is None and self.model_name:
            from models import declared_tasks

            self.declared = declared_tasks(self.model_name) or []
            if self.declared and not self.is_worker:
                tr = self.config.pluginmanager.get_plugin("terminalreporter")
                if tr is not None:
                    tr.write_line(f"oraclebench: {self.model_name} was trained on {', '.join(self.declared)}; "
                                  f"scoring only that (choose others with --task)")
        return not self.declared or task in self.declared

    # -- the model ------------------------------------------------------------------------------
    def load_model(self) -> None:
        from models import load_model

        if self.model is not None:
            return
        self.heldout = parse_heldout(self.config.getoption("--heldout"))
        self.model = load_model(self.model_name, self.options)

    def cache(self):
        from oraclebench.cache import ResponseCache

        if self.config.getoption("--no-cache"):
            return ResponseCache(None)
        return ResponseCache(self.results / "cache.sqlite")

    def score_task(self, task: str) -> dict[str, Record]:
        """Answer every collected instance of ``task`` in one batched call (once per session)."""
        if task not in self.records:
            from oraclebench.runner import RunStats, evaluate

            insts = self.selected.get(task) or self.task_instances(task)
            tr = self.config.pluginmanager.get_plugin("terminalreporter")
            if tr is not None and not self.is_worker:
                tr.write_line(f"oraclebench: {self.model_name} answering {len(insts)} {task} instances ...")
            cache, stats = self.cache(), RunStats()
            try:
                records = evaluate(self.model, insts, self.run_id, cache, self.heldout, stats=stats)
            except (Exception, SystemExit) as exc:  # noqa: BLE001 - the model failed the whole task
                records = self._failed_task(task, insts, exc, stats, tr)
            finally:
                cache.close()
                self.notices += cache.notices
            self.records[task] = {r.instance_id: r for r in records}
            self.timing[task] = dataclasses.asdict(stats) | {"seconds": round(stats.seconds, 3)}
        return self.records[task]


    def _failed_task(self, task: str, insts: list, exc: BaseException, stats, tr) -> list[Record]:
        """Every instance an error saying what the model did, once: the items never ask it again."""
        from models.base import describe_exception
        from oraclebench.runner import failed_records

        why = f"{self.model_name} failed on the whole {task} task: {describe_exception(exc)}"
        if tr is not None and not self.is_worker:
            tr.write_line(f"oraclebench: {why}", red=True)
        records = failed_records(self.model, insts, self.run_id, why, self.heldout)
        stats.errors += len(records)
        return records


BENCH = pytest.StashKey[Bench]()


def parse_heldout(specs: list[str]) -> dict:
    """``--heldout`` values to ``{task: manifest}``: ``TASK:SPEC`` or a manifest JSON file.

    Every way a value can be wrong (bad syntax, unknown task, out-of-range numbers, a manifest file
    that is unreadable, not JSON, or of the wrong shape) is a one-line ``UsageError`` naming it.
    """
    from tasks import TaskError, get_task

    out: dict = {}
    for spec in specs:
        if os.path.isfile(spec):
            for task, manifest in _manifest_file(spec).items():
                out[task] = _checked_manifest(task, manifest, f"--heldout {spec}")
            continue
        task, sep, rest = spec.partition(":")
        if not sep:
            raise UsageError(f"--heldout {_quoted(spec)}: write TASK:SPEC, e.g. abcd:lengths=1-12 or "
                             "causal:omitted=1,0,1,0,1")
        try:
            manifest = get_task(task).manifest_from_spec(rest)
        except TaskError as exc:
            raise UsageError(f"--heldout {_quoted(spec)}: {printable(str(exc), 300)}") from None
        out[task] = _checked_manifest(task, manifest, f"--heldout {_quoted(spec)}")
    return out


def _quoted(spec: str) -> str:
    """A user's value in an error line: quoted, control characters visible, at most about 80 characters."""
    return printable(repr(spec), 80)


def _manifest_file(spec: str) -> dict:
    """``{task: manifest}`` of a manifest JSON file (``{"task": T, "split": {...}}`` or ``{"tasks": {T: {...}}}``)."""
    try:
        data = json.loads(Path(spec).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:  # ValueError: not JSON, not UTF-8
        raise UsageError(f"--heldout {spec}: cannot read it as a JSON manifest ({exc}); give a manifest.json "
                         "or TASK:SPEC") from None
    if isinstance(data, dict) and isinstance(data.get("tasks"), dict):
        return data["tasks"]
    if isinstance(data, dict) and isinstance(data.get("task"), str):
        return {data["task"]: data.get("split", {})}
    raise UsageError(f"--heldout {spec}: a manifest needs 'task' and 'split', or 'tasks' (an object by task name)")


def _checked_manifest(task_name: str, manifest, where: str) -> dict:
    """``manifest`` if ``task_name`` is a task that can split its problems by it."""
    from tasks import TaskError, get_task

    try:
        task = get_task(task_name)
        if not isinstance(manifest, dict):
            raise TaskError(f"the {task_name} manifest must be an object, not {type(manifest).__name__}")
        task.split(task.sample(0, 0), manifest)
    except TaskError as exc:
        raise UsageError(f"{where}: {exc}") from None
    except (ValueError, TypeError, KeyError, AttributeError, RecursionError) as exc:
        shown = printable(json.dumps(manifest, default=str), 120)
        raise UsageError(f"{where}: the {task_name} manifest {shown} is malformed ({type(exc).__name__}: "
                         f"{printable(str(exc), 200)}); write it as `oraclebench generate` does") from None
    return manifest


def model_label(name: str) -> str:
    """A short, id-safe label of the model for test ids (paths shortened to their last part)."""
    prefix, sep, spec = name.partition(":")
    spec = spec.split("@", 1)[0]  # vllm:MODEL@URL -> the model, not the URL
    if sep and ("/" in spec or os.sep in spec):
        name = f"{prefix}:{Path(spec.rstrip('/')).name}"
    elif sep:
        name = f"{prefix}:{spec}"
    return re.sub(r"[\[\]|\s]+", "_", name)


# --------------------------------------------------------------------------------------- hooks


def pytest_configure(config: pytest.Config) -> None:
    bench = config.stash[BENCH] = Bench(config)
    if not bench.is_worker:
        config.pluginmanager.register(RecordCollector(bench), "oraclebench-records")
    if config.getoption("--gate") and not bench.is_worker:
        from oraclebench.gates import validate_gates

        try:  # the whole gate file and every file it names, before any model is loaded
            validate_gates(config.getoption("--gate"), bench.model_name)
        except UsageError as exc:
            raise pytest.UsageError(str(exc)) from None
    for task in ("abcd", "causal", "multiplication", "judge"):
        config.addinivalue_line("markers", f"{task}: the {task} task")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "oraclebench_instance" not in metafunc.fixturenames:
        return
    bench = metafunc.config.stash[BENCH]
    task = getattr(metafunc.module, "TASK", None)
    if task is None:
        raise UsageError(f"{metafunc.module.__name__} needs TASK = '<task name>'")
    bench.needs_model = True
    if not bench.model_name or not bench.wants(task):
        metafunc.parametrize("oraclebench_instance", [], ids=[])
        return
    if metafunc.config.getoption("--explore"):
        metafunc.parametrize("oraclebench_instance", [f"explore:{task}"], ids=[f"{model_label(bench.model_name)}|explore"])
        return
    try:
        insts = bench.task_instances(task)
    except UsageError as exc:
        raise pytest.UsageError(str(exc)) from None
    label = model_label(bench.model_name)
    ids = [f"{label}|{i.label}|{i.id.rsplit('-', 1)[-1]}" for i in insts]
    metafunc.parametrize("oraclebench_instance", insts, ids=ids)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Drop the empty placeholders of tasks that were filtered out (``--task``), instead of skipping them."""
    from tasks.base import Instance

    def placeholder(item) -> bool:
        params = getattr(item, "callspec", None) and item.callspec.params
        return "oraclebench_instance" in getattr(item, "fixturenames", ()) and not (
            params and isinstance(params.get("oraclebench_instance"), (Instance, str)))

    dropped = [i for i in items if placeholder(i)]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = [i for i in items if not placeholder(i)]


def pytest_collection_finish(session: pytest.Session) -> None:
    bench = session.config.stash[BENCH]
    if not bench.needs_model:
        return
    if not bench.model_name:
        raise pytest.UsageError("--model is required to run the benchmark: pytest benchmark --model NAME "
                                "(try --model oracle; `oraclebench models` lists the names)")
    from tasks.base import Instance

    for item in session.items:
        inst = getattr(item, "callspec", None) and item.callspec.params.get("oraclebench_instance")
        if isinstance(inst, Instance):
            bench.selected[inst.task].append(inst)
    if not any(bench.selected.values()) and not session.config.getoption("--explore"):
        return
    _start(bench, session.config)


def _start(bench: Bench, config: pytest.Config) -> None:
    from models import ModelError
    from oraclebench.records import new_run_id

    if bench.model is not None:
        return
    tr = config.pluginmanager.get_plugin("terminalreporter")
    try:
        if tr is not None and not bench.is_worker:
            tr.write_line(f"oraclebench: loading model {bench.model_name} ...")
        bench.load_model()
    except (ModelError, UsageError) as exc:
        raise pytest.UsageError(str(exc)) from None
    bench.run_id = config.workerinput["oraclebench_run_id"] if bench.is_worker else new_run_id(bench.model_name)


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node) -> None:
    """xdist controller: every worker writes its records under the controller's run id."""
    bench = node.config.stash[BENCH]
    if not bench.run_id:
        from oraclebench.records import new_run_id

        bench.run_id = new_run_id(bench.model_name or "none")
    node.workerinput["oraclebench_run_id"] = bench.run_id


@pytest.fixture
def oraclebench_instance(request):
    """The instance an item scores (parametrized by the plugin)."""
    return request.param


@pytest.fixture
def oraclebench_record(request, oraclebench_instance) -> Record:
    """The scored record of this item's instance; a failed model request is a setup error."""
    bench = request.config.stash[BENCH]
    if isinstance(oraclebench_instance, str):  # --explore
        from oraclebench.explore import run_explore_item

        return run_explore_item(request, bench, oraclebench_instance.split(":", 1)[1])
    record = bench.score_task(oraclebench_instance.task)[oraclebench_instance.id]
    request.node.user_properties.append((RECORD_KEY, record.to_json()))
    if record.error is not None:
        pytest.fail(f"model request failed (counted as an error, not a wrong answer): {printable(record.error)}",
                    pytrace=False)
    return record


def _short(value, limit: int = 400) -> str:
    """One terminal line of a model's text: newlines and control characters visible, capped to ``limit``."""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    return printable(text.replace("\n", "\\n"), limit)


def explain(record: Record) -> str:
    """The few lines shown for a wrong answer."""
    return "\n".join([
        f"wrong answer on {record.instance_id} ({record.split}, {record.label})",
        f"  prompt:    {_short(record.prompt)}",
        f"  expected:  {_short(record.expected)}",
        f"  answer:    {_short(record.completion)}",
        f"  parsed:    {_short(record.parsed)}",
        f"  reason:    {_short(record.reason, 1000)}",
        *([f"  lenient:   {_short(record.parsed_lenient)}, right by the lenient reading (not the score)"]
          if record.correct_lenient else []),
    ])


def assert_correct(record: Record) -> None:
    """What every benchmark item does: pass iff the model's answer is correct by the oracle."""
    if not record.correct:
        pytest.fail(explain(record), pytrace=False)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> pytest.TestReport | None:
    """A benchmark item's wrong answer (or failed request) is reported as its few lines, as is.

    pytest would build and filter a traceback for every failure only to print the message
    (``pytrace=False``): on a 2,000-item run with most answers wrong that was a third of the time
    not spent answering. Everything else goes to pytest's own report.
    """
    exc = call.excinfo
    if (exc is None or not isinstance(exc.value, pytest.fail.Exception) or exc.value.pytrace
            or "oraclebench_record" not in getattr(item, "fixturenames", ())):
        return None
    sections = [(f"Captured {key} {when}", text) for when, key, text in getattr(item, "_report_sections", [])]
    return pytest.TestReport(item.nodeid, item.location, dict.fromkeys(item.keywords, 1), "failed", exc.value.msg,
                             call.when, sections, call.duration, call.start, call.stop,
                             user_properties=item.user_properties)


class RecordCollector:
    """Gathers the records that items attach to their reports (also those sent back by xdist workers)."""

    def __init__(self, bench: Bench):
        self.bench = bench

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        for key, value in report.user_properties:
            if key == RECORD_KEY:
                self.bench.collected.setdefault(report.nodeid, value)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error) -> None:
    """xdist controller: add up what each worker asked the model (every worker answers its tasks whole)."""
    bench = node.config.stash[BENCH]
    bench.notices += (getattr(node, "workeroutput", None) or {}).get("oraclebench_notices", [])
    for task, t in (getattr(node, "workeroutput", None) or {}).get("oraclebench_timing", {}).items():
        merged = bench.timing.setdefault(task, dict.fromkeys(t, 0) | {"workers": 0})
        for key in ("requested", "cached", "computed", "errors", "truncated"):
            merged[key] = merged.get(key, 0) + t.get(key, 0)
        merged["seconds"] = max(merged["seconds"], t["seconds"])  # workers run side by side
        merged["workers"] += 1


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    bench = session.config.stash[BENCH]
    if bench.is_worker:
        session.config.workeroutput["oraclebench_timing"] = bench.timing
        session.config.workeroutput["oraclebench_notices"] = bench.notices
        return
    if not bench.collected:
        return
    from oraclebench.records import write_run
    from oraclebench.summary import summarize, write_leaderboard

    records = [Record.from_json(v) for v in bench.collected.values()]
    identity = bench.model.identity() if bench.model is not None else bench.model_name
    opt = session.config.getoption
    bench.summary = summarize(
        records, run_id=bench.run_id or records[0].run_id, model=bench.model_name, identity=identity,
        started=time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(bench.started)),
        options={"limit": opt("--limit"), "fresh": opt("--fresh"), "seed": opt("--seed"), "heldout": opt("--heldout"),
                 "tasks": sorted(bench.tasks_filter) or "all"},
        manifest=getattr(bench.model, "manifest", None),
        explore=bool(opt("--explore")),  # a search, not a score: kept out of the leaderboard
    )
    if bench.timing:
        bench.summary["timing"] = bench.timing
    # Records and summary first: nothing that goes wrong with a gate can lose the run.
    run_dir = write_run(bench.results, bench.summary["run_id"], records, bench.summary)
    bench.summary["path"] = str(run_dir)
    if opt("--gate"):
        _check_gates(bench, session, records, run_dir)
    write_leaderboard(bench.results, bench.notices)
    if opt("--report"):
        from oraclebench.report import build_report

        bench.summary["report"] = str(build_report(bench.results, out=bench.results / "report", warnings=bench.notices))


def _check_gates(bench: Bench, session: pytest.Session, records: list[Record], run_dir: Path) -> None:
    """Evaluate ``--gate`` on the written run; any failure to evaluate is one gate ERROR line."""
    from models.base import describe_exception
    from oraclebench.gates import check_gates
    from oraclebench.records import atomic_write

    try:
        bench.gates = check_gates(session.config.getoption("--gate"), bench.summary, records=records)
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


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    bench = config.stash[BENCH]
    if bench.summary is None:
        return
    from oraclebench.summary import render_table

    tr = terminalreporter
    tr.section("oraclebench")
    tr.write_line(printable(f"model {bench.summary['model']}  run {bench.summary['run_id']}", 1000))
    tr.write_line(render_table(bench.summary))
    only = {task: splits["all"]["lenient"]["only"] for task, splits in bench.summary["tasks"].items()
            if splits["all"].get("lenient", {}).get("only")}
    if only:
        counts = ", ".join(f"{task} {k}" for task, k in only.items())
        tr.write_line(f"only the lenient reading (the final answer found in prose) accepted {sum(only.values())} "
                      f"answers ({counts}); the score is the strict reading")
    for notice in dict.fromkeys(bench.notices):  # each damaged file once
        tr.write_line(f"WARNING: {printable(notice, 1000)}", yellow=True)
    for task, t in bench.summary.get("timing", {}).items():
        workers = f" by {t['workers']} workers" if t.get("workers") else ""
        cut = f", {t['truncated']} truncated" if t.get("truncated") else ""  # cut by the budget: not final
        tr.write_line(f"{task}: {t['requested']} requests, {t['cached']} from the cache, {t['computed']} asked "
                      f"({t['errors']} failed{cut}){workers} in {t['seconds']:.1f} s")
    tr.write_line(f"records and summary: {bench.summary['path']}; leaderboard: {bench.results / 'leaderboard.md'}")
    if "report" in bench.summary:
        tr.write_line(f"report: {bench.summary['report']}")
    for gate in bench.gates:
        tr.write_line(gate.line(), green=gate.ok, red=not gate.ok)
    if bench.gate_error:
        tr.write_line(f"ERROR gate: {bench.gate_error}", red=True)
    if config.getoption("--gate") and bench.gate_error is None:
        verdict = "all gates hold" if all(g.ok for g in bench.gates) else "a gate failed"
        tr.write_line(f"oraclebench gates: {verdict}", bold=True, green="hold" in verdict, red="failed" in verdict)
