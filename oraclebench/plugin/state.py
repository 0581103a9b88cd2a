"""The session's state: ``Bench``, kept in ``config.stash`` under ``BENCH``; it selects the instances,
loads the model, answers each task once and keeps the records."""

from __future__ import annotations

import dataclasses
import logging
import sys
import threading
import time
from collections import defaultdict
from pathlib import Path

import pytest

from oraclebench.errors import UsageError
from oraclebench.logcapture import WarningNotices, model_logging
from oraclebench.plugin.options import _names_a_task, parse_heldout
from oraclebench.records import RECORD_KEY, Record
from oraclebench.textsafe import printable
from oraclebench.workers import SharedAnswers, own_shares, share_count, worker_share, worker_writer


class Bench:
    """Per-session state, kept in ``config.stash``."""

    def __init__(self, config: pytest.Config):
        self.config = config
        opt = config.getoption
        self.model_name: str | None = opt("--model")
        self.options = dict(opt("--model-opt"))
        self.results = Path(opt("--results"))
        self.tasks_filter = {t.strip() for chunk in opt("--task") for t in chunk.split(",") if t.strip()}
        # ``-m multiplication`` chooses tasks as ``--task`` does: the model's declared tasks are then no default
        # (a model trained on abcd, asked -m multiplication, scored nothing and exited 5; found by a trial).
        self.marks_tasks = _names_a_task(opt("markexpr", "") or "")
        self.model = None
        self.heldout: dict = {}
        self.instances: dict[str, list] = {}  # task -> selected instances (before -k deselection)
        self.selected: dict[str, list] = defaultdict(list)  # task -> instances of collected items
        self.records: dict[str, dict[str, Record]] = {}  # task -> instance id -> record
        self.timing: dict[str, dict] = {}  # task -> requests asked, answered from the cache, seconds in the model
        self.collected: dict[str, str] = {}  # nodeid -> record line (``record_line``), from the items' reports
        self.attached: dict[str, Record] = {}  # record line -> the record this process scored and attached
        self.needs_model = False
        self.declared: list[str] | None = None  # tasks the model says it was trained on
        self.run_id = ""
        self.summary: dict | None = None
        self.gates: list = []
        self.gate_error: str | None = None
        self.notices: list[str] = []  # damaged results files set aside or skipped: one WARNING line each
        self.warnings = WarningNotices()  # what is logged while the model loads and answers (model_logging)
        self.logged: list[str] = []  # the workers' such lines (controller)
        self.logged_dropped = 0  # and how many distinct ones they did not keep
        self.started = time.time()
        self.is_worker = hasattr(config, "workerinput")
        self.fresh_dropped: dict[str, int] = {}  # task -> fresh draws dropped as the model's training problems
        self.unseen_space: dict[str, int | None] = {}  # task -> unseen problems in the space (--split unseen)
        self.unseen_found: dict[str, int] = {}  # task -> of them, how many the draws found
        # task -> the instances' coverage buckets and the training data's strata (``training_facts``),
        # computed where the instances were drawn: an xdist controller takes a worker's, not drawing again.
        self.coverage_facts: dict[str, dict] = {}
        self.pending: list[tuple[str, dict]] = []  # terminal lines said while output was captured (see _say)
        self.workers = 0  # xdist workers that reported back (controller)
        self.workers_crashed = 0  # of them, those that went down with an error (killed, crashed)
        # The loaded model's identity and manifest as a worker wrote them (controller: it loads no model).
        self.worker_model: dict = {}
        self.other_failures: list = []  # failed reports that are not a wrong answer or a failed request
        self.start_error = ""  # xdist worker: why its model did not load (``stop_worker``)
        self.worker_errors: list[str] = []  # controller: the workers' such lines
        self.signals = None  # ``EndOnSignal`` of the process that writes the run (``signals``)

    # -- instances ------------------------------------------------------------------------------
    def task_instances(self, task: str) -> list:
        if task not in self.instances:
            from oraclebench.sets import load_set, stratified
            from oraclebench.tasks import get_task

            opt = self.config.getoption
            if opt("--split"):
                insts = self.unseen_instances(task, opt("--fresh"), opt("--seed"))
            elif opt("--fresh"):
                exclude = self.training_identities(task)
                insts, self.fresh_dropped[task] = get_task(task).fresh_draws(opt("--fresh"), opt("--seed"),
                                                                             exclude=exclude)
            else:
                insts = load_set(task)
            self.instances[task] = stratified(insts, opt("--limit"))
        return self.instances[task]

    def unseen_instances(self, task: str, n: int, seed: int) -> list:
        """``--fresh N --split unseen``: up to ``n`` problems inside the model's training distribution that
        its training data never drew; says so in one line when the space holds fewer than ``n``."""
        from oraclebench.models import declared_training
        from oraclebench.tasks import get_task

        data = (declared_training(self.model_name, self.options) or {}).get(task) if self.model_name else None
        if data is None:
            raise UsageError(f"--split unseen: {self.model_name} records no training data for {task} (no "
                             "training_data in its manifest), so nothing is known to be unseen; drop --split, "
                             "or score a model trained by a recipe or on `oraclebench generate` data")
        insts, self.unseen_space[task] = get_task(task).unseen_draws(n, seed, data)
        self.unseen_found[task] = len(insts)
        if not self.is_worker:
            self.say_unseen_shortfall(task)
        return insts

    def say_unseen_shortfall(self, task: str) -> None:
        """The line for ``--fresh N --split unseen`` when the draws found fewer than N unseen problems."""
        n, found, space = self.config.getoption("--fresh"), self.unseen_found[task], self.unseen_space[task]
        if found >= n:
            return
        if space is None:
            why = f"only {found} were found among the draws"
        else:
            held = "no problem" if space == 0 else f"only {space:,} problem{'s' * (space != 1)}"
            why = f"{self.model_name}'s training distribution holds {held} it was not trained on"
        self._say(f"oraclebench: {task}: asked for {n} unseen problems, scoring {found}: {why}", yellow=True)

    def check_loads(self) -> None:
        """A ``UsageError`` with the model's own line where it does not load: a python: module that fails
        to import declares nothing, and "records no training data" would hide why."""
        from oraclebench.models import ModelError

        try:
            self.load_model()
        except ModelError as exc:
            raise UsageError(str(exc)) from None

    def check_manifest(self) -> None:
        """A ``UsageError``, one line naming the model, the manifest's key and the fix, where a task the
        model's manifest names cannot read it (``runner.check_model_manifest``): before any model work,
        from what the name declares (a ``python:`` callable's ``manifest``, a checkpoint's ``manifest.json``).
        Such a manifest failed the whole task at every item, and no result was written (found by review)."""
        from oraclebench.models import ModelError, local_manifest
        from oraclebench.runner import check_model_manifest

        if not self.model_name:
            return
        try:
            check_model_manifest(self.model_name, local_manifest(self.model_name))
        except ModelError as exc:
            raise UsageError(printable(str(exc), 1000, line=True)) from None

    def _say(self, line: str, **markup) -> None:
        """A line for the terminal, written when output is no longer captured (collection captures it):
        at the end of collection, or in the run's summary section."""
        self.pending.append((line, markup))

    def flush_lines(self, tr) -> None:
        for line, markup in self.pending:
            if tr is not None:
                tr.write_line(line, **markup)
        self.pending.clear()

    def check_variants(self) -> None:
        """A usage error naming both when the model trained on another variant of a task it is scored
        on (another world) than the one this run scores; ``--heldout`` wins over the model's manifest.
        Checked before any model work, from what the model declares without loading it."""
        from oraclebench.models import ModelError, declared_splits
        from oraclebench.tasks import TASKS, get_task
        from oraclebench.tasks.base import TaskError

        if not self.model_name:
            return
        try:
            declared = declared_splits(self.model_name, self.options) or {}
            flags = parse_heldout(self.config.getoption("--heldout"))
            for task, split in sorted({**declared, **flags}.items()):
                if task in TASKS and (not self.tasks_filter or task in self.tasks_filter):
                    get_task(task).check_variant(split, self.model_name)
        except (TaskError, ModelError) as exc:
            raise UsageError(printable(str(exc), 500, line=True)) from None
        for task in sorted(set(flags) & set(declared)):
            if flags[task] != declared[task] and (not self.tasks_filter or task in self.tasks_filter):
                spec = next((f for f in self.config.getoption("--heldout") if f.startswith(f"{task}:")), "FILE")
                self.say_warning(f"--heldout {spec} replaces what {self.model_name}'s manifest says it trained "
                                 f"on for {task}: what is inside or held out follows the flag, not the model's "
                                 "training distribution (trained still means in its training data)")

    def say_warning(self, message: str) -> None:
        """A warning of the run itself, shown at its end and kept in ``summary.json`` with the warnings logged
        while the model answered (``WARNING: oraclebench: ...``)."""
        self.warnings.handle(logging.LogRecord("oraclebench", logging.WARNING, __file__, 0, message, None, None))

    def training_identities(self, task: str) -> frozenset[str]:
        """The problems the model's manifest says it trained on for ``task`` (empty when it says nothing)."""
        from oraclebench.models import declared_training
        from oraclebench.tasks import get_task

        declared = declared_training(self.model_name, self.options) if self.model_name else None
        data = (declared or {}).get(task)
        return get_task(task).training_identities(data) if data else frozenset()

    def wants(self, task: str) -> bool:
        """``--task`` if given; else the tasks the model declares it was trained on; else every task."""
        if self.tasks_filter:
            return task in self.tasks_filter
        if self.marks_tasks:  # -m selects among all of them
            return True
        declared = self.declared_tasks()
        return not declared or task in declared

    @property
    def chooses_tasks(self) -> bool:
        """Whether the command line chose the tasks (``--task``, or ``-m`` naming one): no default from the model."""
        return bool(self.tasks_filter) or self.marks_tasks

    def declared_tasks(self) -> list[str]:
        """The tasks the model declares it was trained on (``[]``: none); the first call says that only
        those are scored. An xdist controller, which collects nothing, asks at the end of the run."""
        if self.declared is None and self.model_name:
            from oraclebench.models import ModelError, declared_tasks

            try:
                self.declared = declared_tasks(self.model_name) or []
            except ModelError as exc:  # a manifest naming no task here
                raise pytest.UsageError(str(exc)) from None
            if self.declared and not self.is_worker:
                self._say(f"oraclebench: {self.model_name} was trained on {', '.join(self.declared)}; "
                          f"scoring only that (choose others with --task or -m)")
        return self.declared or []

    def attach(self, node: pytest.Item, record: Record) -> None:
        """Put ``record`` on ``node``'s reports (``user_properties``), whence every process collects it."""
        from oraclebench.records import record_line

        line = record_line(record)
        self.attached[line] = record
        node.user_properties.append((RECORD_KEY, line))

    def own_record(self, line: str) -> Record:
        """The ``Record`` an item's report carried as ``line``: this process's own object where it
        attached it (no second conversion), else read back (an xdist worker's)."""
        record = self.attached.get(line)
        return record if record is not None else Record.from_line(line)

    # -- the model ------------------------------------------------------------------------------
    def load_model(self) -> None:
        from oraclebench.models import load_model

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
        """Answer every collected instance of ``task`` in one batched call (once per session; under xdist
        once per run: each worker answers its share and reads the others', see ``SharedAnswers``)."""
        if task not in self.records:
            from oraclebench.runner import RunStats

            insts = self.selected.get(task) or self.task_instances(task)
            stats = RunStats()  # summed over the shares this process answers
            if self.is_worker:
                records = self._answer_shares(task, insts, stats)
            else:
                meter = self.progress(task, len(insts))
                records = self._evaluate(task, insts, stats, meter)
                if meter:
                    meter.finish()
            self.records[task] = {r.instance_id: r for r in records}
        return self.records[task]

    def _answer_shares(self, task: str, insts: list, stats) -> list[Record]:
        """xdist worker: its shares of ``task`` answered (``SharedAnswers``), the others' read; one
        progress meter over the shares it answers (its own, grown by any it takes over)."""
        workers, first = worker_share(self.config)
        n = share_count(len(insts), workers)
        meter = self.progress(task, sum(len(insts[i::n]) for i in own_shares(n, workers, first)))

        def answer(part: list) -> list[Record]:
            if meter and meter.done + len(part) > meter.total:  # a share taken over from another worker
                meter.total = meter.done + len(part)
            return self._evaluate(task, part, stats, meter)

        records = SharedAnswers(self.results, self.run_id, task).records(insts, answer, workers, first)
        if meter:
            meter.finish()
        return records

    def _evaluate(self, task: str, insts: list, stats, meter) -> list[Record]:
        from oraclebench.runner import evaluate

        cache = self.cache()
        try:
            with model_logging(self.warnings):
                records = evaluate(self.model, insts, self.run_id, cache, self.heldout, stats=stats,
                                   progress=meter and meter.advance)
        except (Exception, SystemExit) as exc:  # noqa: BLE001 - the model failed the whole task
            records = self._failed_task(task, insts, exc, stats)
        finally:
            cache.close()
            self.notices += cache.notices
        self.timing[task] = dataclasses.asdict(stats) | {"seconds": round(stats.seconds, 3)}
        return records

    def live_write(self):
        """A function writing a line to the terminal now (``live_writer``). On an xdist worker (the one that
        answers a task for all), a line on the stderr it shares with the controller, named by the worker."""
        if self.is_worker:
            return worker_writer(self.config)
        if self.config.pluginmanager.get_plugin("terminalreporter") is None:
            return None
        return live_writer(self.config)

    def progress(self, task: str, total: int):
        """The lines that show a task's batched model call as it goes (``oraclebench.progress``): where it
        starts, then done/total, rate and time left every 10 s on a terminal, 30 s piped or in CI (under
        xdist, from the worker that answers, marked ``[gw0]``). None without a terminal reporter."""
        from oraclebench.progress import Progress, interval_for

        write = self.live_write()
        if write is None:
            return None
        tr = self.config.pluginmanager.get_plugin("terminalreporter")
        tty = _Tty(tr.isatty() if tr is not None and not self.is_worker else sys.__stderr__.isatty())
        meter = Progress(f"oraclebench: {task}", total, "answers", write, interval=interval_for(tty))
        return meter.start(f"oraclebench: {self.model_name} answering {total} {task} instances ...")

    def _failed_task(self, task: str, insts: list, exc: BaseException, stats) -> list[Record]:
        """Every instance an error saying what the model did, once: the items never ask it again."""
        from oraclebench.models.base import describe_exception
        from oraclebench.runner import failed_records

        why = f"{self.model_name} failed on the whole {task} task: {describe_exception(exc)}"
        if (write := self.live_write()) is not None:  # a fixture's output is captured: write past it
            write(f"oraclebench: {why}")
        records = failed_records(self.model, insts, self.run_id, why, self.heldout)
        stats.errors += len(records)
        return records


class _Tty:
    """A stream that only answers ``isatty`` (``interval_for`` of the terminal pytest writes to)."""

    def __init__(self, tty: bool):
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


def live_writer(config: pytest.Config):
    """A function that writes one line to the terminal now, even while pytest captures output (a line
    written in a fixture would otherwise land in the item's captured output and never be seen)."""
    from oraclebench.progress import reporter_line

    tr = config.pluginmanager.get_plugin("terminalreporter")
    capture = config.pluginmanager.get_plugin("capturemanager")
    lock = threading.Lock()

    def write(line: str) -> None:
        with lock:
            if capture is None:
                reporter_line(tr, line)
                return
            with capture.global_and_fixture_disabled():
                reporter_line(tr, line)
                tr.flush()
    return write


BENCH = pytest.StashKey[Bench]()
QUIET = pytest.StashKey[bool]()  # per-item failures are left out of the output (see quiet_wrong_answers)
