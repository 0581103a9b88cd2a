"""Collection: which tasks a benchmark module scores, what ``-m`` leaves out before a set is read, and
the end of collection, where the output is chosen and the model loaded (or trained)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

import pytest

from oraclebench.errors import UsageError
from oraclebench.gcfreeze import freeze_long_lived
from oraclebench.logcapture import drop_item_capture, model_logging
from oraclebench.plugin.state import BENCH, QUIET, Bench
from oraclebench.workers import share_cores, stop_worker, write_model_facts


EVERY_OTHER_TASK = "*"  # a benchmark module's TASK: every registered task without a module of its own


def module_tasks(metafunc: pytest.Metafunc) -> list[str]:
    """The tasks a benchmark module scores: its ``TASK``; for ``TASK = "*"`` (``benchmark/test_tasks.py``)
    every registered task with no ``test_<task>.py`` beside it (a task from another package)."""
    from oraclebench.tasks import TASKS

    task = getattr(metafunc.module, "TASK", None)
    if task is None:
        raise UsageError(f"{metafunc.module.__name__} needs TASK = '<task name>'")
    if task != EVERY_OTHER_TASK:
        return [task]
    here = Path(metafunc.module.__file__).parent
    return [t for t in sorted(TASKS) if not (here / f"test_{t}.py").exists()]


def excluded_by_marks(metafunc: pytest.Metafunc, extra: Sequence = ()) -> bool:
    """Whether ``-m`` deselects every item of this benchmark function, decided before its set is read.

    The items will carry exactly the definition's marks (module, class, function) and ``extra`` (the
    task's mark, which the plugin adds to each item of the module that scores several tasks), so
    pytest's own ``-m`` evaluation over them answers now as it would per item later. On a pytest
    without these internals the set is read and pytest deselects as usual.
    """
    expr = metafunc.config.getoption("markexpr", "") or ""
    if not expr:
        return False
    try:
        from _pytest.mark import MarkMatcher
        from _pytest.mark.expression import Expression

        marks = [*metafunc.definition.iter_markers(), *extra]
        return not Expression.compile(expr).evaluate(MarkMatcher.from_markers(marks))
    except Exception:  # noqa: BLE001 - only an optimisation: never let it change what is collected
        return False


class WorkerCollectionFinish:
    """xdist worker: the model loads at the end of collection, before xdist sends the collected items to
    the controller, so that a worker whose model does not load sends none (``stop_worker``)."""

    @pytest.hookimpl(tryfirst=True)
    def pytest_collection_finish(self, session: pytest.Session) -> None:
        collection_finish(session)


def collection_finish(session: pytest.Session) -> None:
    """What the benchmark's items ask for, the tasks' instances; then the model is loaded (or trained)."""
    bench = session.config.stash[BENCH]
    bench.flush_lines(session.config.pluginmanager.get_plugin("terminalreporter"))
    if not bench.needs_model:
        return
    if not bench.model_name:
        raise pytest.UsageError("--model is required to run the benchmark: pytest benchmark --model NAME "
                                "(try --model oracle; `oraclebench models` lists the names)")
    from oraclebench.tasks.base import Instance

    others = False  # an item that is no benchmark instance (a user's own test in the same session)
    for item in session.items:
        inst = getattr(item, "callspec", None) and item.callspec.params.get("oraclebench_instance")
        if isinstance(inst, Instance):
            bench.selected[inst.task].append(inst)
        else:
            others = True
    if not any(bench.selected.values()) and not session.config.getoption("--explore"):
        return
    if session.config.option.collectonly:  # listing items asks nothing of the model: load (or train) none
        _check_name(bench.model_name)
        return
    if not session.config.getoption("--explore"):  # a search's few items stay whole
        if not bench.is_worker:
            quiet_wrong_answers(session.config)
        if not others:  # a test of the user's may use caplog; the items of workers too: they run them
            drop_item_capture(session.config, _user_asked(session.config))
    _start(bench, session.config)
    if bench.start_error:
        stop_worker(session)


def _check_name(name: str) -> None:
    """A model name that names nothing is a usage error even where no model is loaded."""
    from oraclebench.models import ModelError, resolve

    try:
        resolve(name)
    except ModelError as exc:
        raise pytest.UsageError(str(exc)) from None


def _user_asked(config: pytest.Config) -> set[str]:
    """Which of ``-r`` and ``--tb`` the user gave (command line or ``PYTEST_ADDOPTS``; not the ini's addopts)."""
    import shlex

    args = [*config.invocation_params.args, *shlex.split(os.environ.get("PYTEST_ADDOPTS", ""))]
    asked = set()
    for arg in map(str, args):
        if arg.startswith("--tb") or arg == "--full-trace":
            asked.add("tb")
        elif arg.startswith("-") and not arg.startswith("--"):
            for ch in arg[1:]:
                if ch == "r":
                    asked.add("r")
                if ch in "kmpcnoW":  # an option that takes the rest as its value
                    break
    return asked


def quiet_wrong_answers(config: pytest.Config) -> None:
    """The benchmark's default output ends with its table: wrong answers and failed requests are
    counted there, not listed one by one, unless the user asks (``-rf``, ``--tb=short``, ``--junitxml``).

    Only when the user gave neither ``-r`` nor ``--tb``; other failures (a crash) are still shown in
    full in the oraclebench section.
    """
    asked = _user_asked(config)
    tr = config.pluginmanager.get_plugin("terminalreporter")
    if "r" not in asked and tr is not None:
        tr.reportchars = tr.reportchars.replace("f", "").replace("E", "")
    if "tb" not in asked:
        config.option.tbstyle = "no"
        config.stash[QUIET] = True


def _start(bench: Bench, config: pytest.Config) -> None:
    from oraclebench.models import ModelError
    from oraclebench.records import new_run_id
    from oraclebench.runner import check_model_manifest

    if bench.model is not None:
        return
    tr = config.pluginmanager.get_plugin("terminalreporter")
    try:
        if tr is not None and not bench.is_worker:
            tr.write_line(f"oraclebench: loading model {bench.model_name} ...")
        with model_logging(bench.warnings):
            bench.load_model()
        # What the loaded model's manifest says (a worker's first check; an adapter's own manifest file):
        # one the tasks cannot read is this usage error, before it is asked anything.
        check_model_manifest(bench.model_name, getattr(bench.model, "manifest", None))
        if tr is not None and not bench.is_worker and getattr(bench.model, "loaded_as", None):
            tr.write_line(f"oraclebench: {bench.model_name} runs as {bench.model.loaded_as}")
        freeze_long_lived()
        if bench.is_worker:
            share_cores(bench)
    except (ModelError, UsageError) as exc:
        if bench.is_worker:  # see ``stop_worker``
            bench.start_error = str(exc)
            config.workeroutput["oraclebench_usage_error"] = bench.start_error
            return
        raise pytest.UsageError(str(exc)) from None
    bench.run_id = config.workerinput["oraclebench_run_id"] if bench.is_worker else new_run_id(bench.model_name)
    if bench.is_worker:
        write_model_facts(bench)
