"""The pytest plugin: ``pytest benchmark --model NAME`` scores a model, one test item per instance.

Flow:
- collection: each ``benchmark/test_<task>.py`` is parametrized over the selected instances of its
  task (frozen set, ``--limit``, ``--fresh``); item ids read ``test_abcd[gpt2-abcd|len07|0123]``;
  ``benchmark/test_tasks.py`` over those of every registered task with no module of its own (a task
  from another package), ids ``test_task[oracle|toy|sum07|0042]``;
- after collection the model is loaded once (a missing checkpoint is trained or named, in one line);
- the first item of a task answers ALL collected items of that task in one batched, cached call;
  items only assert on the precomputed records (a failed request is a setup ERROR, a wrong answer a
  FAILED item);
- each item attaches its record, one JSON line, to its reports (``user_properties``; under xdist its setup and
  teardown reports only, see ``oraclebench.workers``), so with pytest-xdist the controller collects them;
  only the controller writes ``results/``, prints the table and checks ``--gate`` (the exit status is
  then 0 iff every gate holds);
- with pytest-xdist (``-n N``) each worker answers its share of a task and reads the others' records
  (``SharedAnswers``): each instance is asked once in total. The workers also send what the summary
  needs of the draw (``drawn_facts``): the controller collects nothing. A worker whose controller is
  gone stops at once (a watchdog thread), so a killed run asks the model nothing more;
- the summary records what the run covers and whether it is complete per task (see
  ``oraclebench.summary``); the default output ends with the summary table (wrong answers stay
  available through ``-rf``, ``--tb`` and ``--junitxml``).

This module holds what pytest finds on the plugin: its hooks and fixtures. Each concern is a module
beside it: ``signals`` (SIGINT and SIGTERM end a run as one Ctrl-C), ``options``, ``state`` (``Bench``),
``items``, ``collection``, ``configure``, ``completeness``, ``finish``; each imports only those listed before
it, and none imports this module (no import cycle).
"""

from __future__ import annotations

import os

import pytest

from oraclebench.errors import UsageError
from oraclebench.logcapture import model_logging
from oraclebench.plugin.collection import EVERY_OTHER_TASK, collection_finish, excluded_by_marks, module_tasks
from oraclebench.plugin.configure import VARIANTS, configure
from oraclebench.plugin.finish import finish_session, terminal_summary
from oraclebench.plugin.items import OUTCOME_KEY, assert_correct, explain, index_teardown_reports
from oraclebench.plugin.options import FRESH_SPLITS, _key_value, model_label, parse_heldout, positive_int
from oraclebench.plugin.state import BENCH
from oraclebench.records import Record
from oraclebench.textsafe import printable
from oraclebench.workers import adopt_drawn_facts

# Reached as ``oraclebench.plugin.NAME``: the benchmark modules (``assert_correct``, ``EVERY_OTHER_TASK``),
# ``oraclebench explore`` (``parse_heldout``), scripts/bench_speed.py (``positive_int``) and tests.
__all__ = ["EVERY_OTHER_TASK", "OUTCOME_KEY", "assert_correct", "explain", "parse_heldout", "positive_int"]


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("oraclebench", "oraclebench: score a language model")
    group.addoption("--model", default=None, help="model to score: oracle, random, hf:PATH, gpt2-causal, vllm:MODEL@URL, ...")
    group.addoption("--model-opt", action="append", type=_key_value, default=[], metavar="KEY=VALUE",
                    help="adapter option, repeatable (device=cpu, dtype=float32, batch_size=64, concurrency=16, ...)")
    group.addoption("--task", action="append", default=[], help="only these tasks (repeatable or comma-separated)")
    group.addoption("--limit", type=positive_int, default=None, help="a stratified subset of N instances per task")
    group.addoption("--fresh", type=positive_int, default=None, metavar="N",
                    help="score N new instances drawn from each task's strategy instead of the frozen set")
    group.addoption("--split", choices=FRESH_SPLITS, default=None,
                    help="with --fresh N: draw only problems of this split (unseen: inside the model's training "
                         "distribution, never in its training data)")
    group.addoption("--seed", type=int, default=0, help="seed for --fresh and --explore (default 0)")
    group.addoption("--results", default="results", help="results directory (default results/)")
    group.addoption("--gate", default=None, metavar="FILE", help="TOML gate file; exit 0 iff every gate holds")
    group.addoption("--heldout", action="append", default=[], metavar="SPEC",
                    help="what the model saw in training: TASK:SPEC (e.g. abcd:lengths=1-12) or a manifest.json")
    group.addoption("--no-cache", action="store_true", default=False, help="do not read or write the response cache")
    group.addoption("--report", action="store_true", default=False, help="write the HTML report after the run")
    group.addoption("--explore", action="store_true", default=False,
                    help="search for the smallest instance the model gets wrong (Hypothesis) instead of the set")
    group.addoption("--budget", type=positive_int, default=200, help="model calls per task for --explore (default 200)")
    group.addoption("--budget-seconds", type=float, default=300.0, help="seconds per task for --explore (default 300)")
    from oraclebench.tasks import VARIANT_OPTIONS

    for option, (help_text, _) in VARIANT_OPTIONS.items():  # a task variant: causal's --world FILE
        group.addoption(f"--{option}", default=None, metavar="FILE", help=help_text)


def pytest_configure(config: pytest.Config) -> None:
    configure(config)


def pytest_unconfigure(config: pytest.Config) -> None:
    """Unbind the session's variants and its draw store: a process that runs pytest again (pytester, an
    IDE) starts on the defaults."""
    from oraclebench.tasks import reset_variants
    from oraclebench.tasks.base import keep_training_draws

    if config.stash.get(VARIANTS, []):
        reset_variants()
    keep_training_draws(None)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "oraclebench_instance" not in metafunc.fixturenames:
        return
    bench = metafunc.config.stash[BENCH]
    named = module_tasks(metafunc)
    bench.needs_model = True
    several = getattr(metafunc.module, "TASK", None) == EVERY_OTHER_TASK  # ids and marks name the task
    tasks = [t for t in named if bench.model_name and bench.wants(t)
             and not excluded_by_marks(metafunc, [getattr(pytest.mark, t).mark] if several else [])]
    if not tasks:
        metafunc.parametrize("oraclebench_instance", [], ids=[])
        return
    label = model_label(bench.model_name)
    if metafunc.config.getoption("--explore"):
        params = [pytest.param(f"explore:{t}", id=f"{label}|{t}|explore" if several else f"{label}|explore",
                               marks=[getattr(pytest.mark, t)] if several else []) for t in tasks]
        metafunc.parametrize("oraclebench_instance", params)
        return
    from oraclebench.models import ModelError
    from oraclebench.tasks.base import TaskError

    params = []
    for task in tasks:
        try:
            insts = bench.task_instances(task)
        except (UsageError, TaskError, ModelError) as exc:
            raise pytest.UsageError(str(exc)) from None
        marks = [getattr(pytest.mark, task)] if several else []
        for i in insts:
            name = f"{label}|{task}|{i.label}|{i.id.rsplit('-', 1)[-1]}" if several else \
                f"{label}|{i.label}|{i.id.rsplit('-', 1)[-1]}"
            params.append(pytest.param(i, id=name, marks=marks))
    metafunc.parametrize("oraclebench_instance", params)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Drop the empty placeholders of tasks that were filtered out (``--task``), instead of skipping them."""
    from oraclebench.tasks.base import Instance

    def placeholder(item) -> bool:
        params = getattr(item, "callspec", None) and item.callspec.params
        return "oraclebench_instance" in getattr(item, "fixturenames", ()) and not (
            params and isinstance(params.get("oraclebench_instance"), (Instance, str)))

    dropped = [i for i in items if placeholder(i)]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = [i for i in items if not placeholder(i)]


def pytest_collection_finish(session: pytest.Session) -> None:
    if not session.config.stash[BENCH].is_worker:  # a worker's runs before xdist's: WorkerCollectionFinish
        collection_finish(session)


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node) -> None:
    """xdist controller: every worker writes its records under the controller's run id."""
    bench = node.config.stash[BENCH]
    if not bench.run_id:
        from oraclebench.records import new_run_id

        bench.run_id = new_run_id(bench.model_name or "none")
    node.workerinput["oraclebench_run_id"] = bench.run_id
    node.workerinput["oraclebench_controller"] = os.getpid()


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

        with model_logging(bench.warnings):
            return run_explore_item(request, bench, oraclebench_instance.split(":", 1)[1])
    record = bench.score_task(oraclebench_instance.task)[oraclebench_instance.id]
    bench.attach(request.node, record)
    if record.error is not None:
        pytest.fail(f"model request failed (counted as an error, not a wrong answer): {printable(record.error, line=True)}",
                    pytrace=False)
    return record


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
                             user_properties=[*item.user_properties, (OUTCOME_KEY, call.when)])


def pytest_sessionstart(session: pytest.Session) -> None:
    # Not in pytest_configure: the terminal reporter is registered after this plugin is configured. An
    # xdist worker's reporter writes its failure summary too (to no one): 0.16 s of a worker's end
    # for 600 wrong answers with the scan, on the run's critical path.
    index_teardown_reports(session.config.pluginmanager.get_plugin("terminalreporter"))


@pytest.hookimpl(tryfirst=True)
def pytest_collection(session: pytest.Session) -> None:
    if session.config.pluginmanager.has_plugin("dsession"):
        # An xdist controller collects nothing, so no collection end says what configure found (the model
        # was trained on X; scoring only that): said where one process says it, not at the end.
        session.config.stash[BENCH].flush_lines(session.config.pluginmanager.get_plugin("terminalreporter"))


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error) -> None:
    """xdist controller: add up what the workers asked the model (each answers its share of a task)."""
    bench = node.config.stash[BENCH]
    output = getattr(node, "workeroutput", None) or {}  # none from a worker that crashed
    bench.notices += output.get("oraclebench_notices", [])
    bench.logged += output.get("oraclebench_warnings", [])
    bench.logged_dropped += output.get("oraclebench_warnings_dropped", 0)
    bench.workers += 1
    bench.workers_crashed += error is not None
    if usage_error := output.get("oraclebench_usage_error"):
        bench.worker_errors.append(usage_error)
    adopt_drawn_facts(bench, output.get("oraclebench_draws", {}))
    for task, t in output.get("oraclebench_timing", {}).items():
        merged = bench.timing.setdefault(task, dict.fromkeys(t, 0) | {"workers": 0})
        for key in ("requested", "cached", "computed", "errors", "truncated"):
            merged[key] = merged.get(key, 0) + t.get(key, 0)
        merged["seconds"] = max(merged["seconds"], t["seconds"])  # workers run side by side
        merged["workers"] += 1


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    finish_session(session, exitstatus)


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    terminal_summary(terminalreporter, exitstatus, config)
