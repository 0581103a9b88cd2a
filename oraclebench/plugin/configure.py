"""The session's start (``pytest_configure``): its state, the task variants and draw store it binds, and
every usage check made before any model work."""

from __future__ import annotations

import difflib

import pytest

from oraclebench.errors import UsageError
from oraclebench.files import results_problem
from oraclebench.gcfreeze import thaw
from oraclebench.plugin.collection import WorkerCollectionFinish
from oraclebench.plugin.items import RecordCollector
from oraclebench.plugin.options import marker_words, parse_heldout
from oraclebench.plugin.signals import EndOnSignal
from oraclebench.plugin.state import BENCH, Bench
from oraclebench.textsafe import printable
from oraclebench.workers import (
    INTERRUPTED, InterruptWorkers, OneRecordPerSend, QuietPasses, inflight_dir, watch_controller,
)


def configure(config: pytest.Config) -> None:
    """What ``pytest_configure`` does: the session's state, then its usage checks."""
    bench = config.stash[BENCH] = Bench(config)
    thaw()  # what an earlier session in this process froze (pytester, an IDE) is collectable again
    from oraclebench.tasks import TASKS

    for task in sorted(TASKS):  # the built-ins and every task registered by another package
        config.addinivalue_line("markers", f"{task}: the {task} task")
    bind_variants(config)
    keep_draws(bench)
    if not bench.is_worker:
        check_task_names(bench, config)
        if bench.model_name and (why := results_problem(config.getoption("--results"), config.getoption("--report"))):
            raise pytest.UsageError(why)
        try:  # a manifest the tasks cannot read: one line now, not the whole task failed item after item
            bench.check_manifest()
        except UsageError as exc:
            raise pytest.UsageError(str(exc)) from None
        if bench.model_name and not bench.chooses_tasks:
            bench.declared_tasks()  # a manifest naming no task here: one line now, not an error per module
        try:
            bench.check_variants()
        except UsageError as exc:
            raise pytest.UsageError(str(exc)) from None
        config.pluginmanager.register(RecordCollector(bench), "oraclebench-records")
        config.pluginmanager.register(InterruptWorkers(config, bench), "oraclebench-interrupt-workers")
    else:
        if QuietPasses.install(config) is None:
            config.pluginmanager.register(OneRecordPerSend(), "oraclebench-one-record")
        config.pluginmanager.register(WorkerCollectionFinish(), "oraclebench-worker-collection")
        if "oraclebench_controller" in config.workerinput:
            watch_controller(config.workerinput["oraclebench_controller"],
                             inflight_dir(bench.results, config.workerinput["oraclebench_run_id"]) / INTERRUPTED)
    if not bench.is_worker:  # a bad ORACLEBENCH_PROGRESS_SECONDS is one line now, not a traceback mid-run
        from oraclebench.progress import interval_for

        try:
            interval_for()
        except UsageError as exc:
            raise pytest.UsageError(str(exc)) from None
    if config.getoption("--split") and not bench.is_worker:
        try:
            check_split(bench, config.getoption("--split"), config.getoption("--fresh"))
        except UsageError as exc:
            raise pytest.UsageError(str(exc)) from None
    if config.getoption("--report") and not bench.is_worker:  # before any model work, not after the run
        from oraclebench.extras import require

        try:
            require("report", "--report")
        except UsageError as exc:
            raise pytest.UsageError(str(exc)) from None
    if config.getoption("--gate") and not bench.is_worker:
        from oraclebench.gates import validate_gates

        try:  # the whole gate file and every file it names, before any model is loaded
            validate_gates(config.getoption("--gate"), bench.model_name)
        except UsageError as exc:
            raise pytest.UsageError(str(exc)) from None
    if bench.model_name and not bench.is_worker:  # last: a usage error above leaves no handler behind
        bench.signals = EndOnSignal().install(config)


def check_task_names(bench: Bench, config: pytest.Config) -> None:
    """A misspelt ``--task`` or ``-m`` task is a usage error with a did-you-mean, before any model work."""
    from oraclebench.tasks import TASKS

    unknown = sorted(bench.tasks_filter - set(TASKS))
    if unknown:
        name = unknown[0]
        raise pytest.UsageError(f"--task {name}: no such task{_did_you_mean(name, TASKS)}; tasks: {', '.join(sorted(TASKS))}")
    expr = config.getoption("markexpr", "") or ""
    if bench.model_name and expr:
        known = {line.split(":")[0].split("(")[0].strip() for line in config.getini("markers")}
        for word in marker_words(expr):
            if word not in known | {"and", "or", "not"}:
                raise pytest.UsageError(f"-m {expr!r}: {word!r} is no task or marker{_did_you_mean(word, sorted(TASKS))}; "
                                        f"tasks: {', '.join(sorted(TASKS))}")


def _did_you_mean(name: str, names) -> str:
    near = difflib.get_close_matches(name, list(names), n=1)
    return f" (did you mean {near[0]!r}?)" if near else ""


def check_split(bench: Bench, split: str, fresh: int | None) -> None:
    """``--split``, before any model work: it needs ``--fresh N`` and a model whose manifest records its
    training data for every task asked for (else nothing is known to be unseen)."""
    if not fresh:
        raise UsageError(f"--split {split} draws fresh problems: give --fresh N too (e.g. --fresh 200 --split {split})")
    if not bench.model_name:
        return  # the missing --model is reported as such
    from oraclebench.models import ModelError, declared_training

    try:
        declared = declared_training(bench.model_name, bench.options) or {}
    except ModelError as exc:
        raise UsageError(str(exc)) from None
    missing = sorted(bench.tasks_filter - set(declared)) if declared else []
    if not declared:
        bench.check_loads()
    if not declared or missing:
        what = f" for {', '.join(missing)}" if missing else ""
        raise UsageError(f"--split {split}: {bench.model_name} records no training data{what} (no training_data in its "
                         "manifest), so nothing is known to be unseen; drop --split, or score a model trained by a "
                         "recipe or on `oraclebench generate` data")
    # Unseen is inside the model's own training distribution and not trained on; a --heldout flag that moves what is
    # inside labelled the problems drawn as unseen "heldout" (found by review): one of the two must go.
    flags = parse_heldout(bench.config.getoption("--heldout"))
    for task in sorted(t for t in flags if t in declared and flags[t] != (declared[t].get("split") or {})):
        raise UsageError(f"--split {split} draws from {bench.model_name}'s training distribution for {task}, and "
                         f"--heldout replaces it there; drop --heldout for {task}, or drop --split {split}")


VARIANTS = pytest.StashKey[list]()  # the tasks bound to a variant for this session (unbound at unconfigure)


def bind_variants(config: pytest.Config) -> None:
    """``--world FILE``: bind the tasks it applies to (``tasks.use_variants``) for the whole session
    (workers too); a bad world file is one usage error line naming the file, line and column."""
    from oraclebench.tasks import VARIANT_OPTIONS, use_variants
    from oraclebench.tasks.base import TaskError

    config.stash[VARIANTS] = []
    try:
        config.stash[VARIANTS] = use_variants({option: config.getoption(f"--{option}") for option in VARIANT_OPTIONS})
    except TaskError as exc:
        raise pytest.UsageError(printable(str(exc), 500, line=True)) from None


def keep_draws(bench: Bench) -> None:
    """Training draws behind the split labels kept across runs, in ``$ORACLEBENCH_HOME/cache/training-draws``
    (``tasks.base.keep_training_draws``): 0.36 s of a 3.9 s ``gpt2-mult`` run made them again each time."""
    from oraclebench.cache import DrawStore
    from oraclebench.models.reference import home
    from oraclebench.tasks.base import keep_training_draws

    if bench.model_name:
        keep_training_draws(DrawStore(home() / "cache" / "training-draws"))
