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
"""

from __future__ import annotations

import argparse
import dataclasses
import difflib
import json
import logging
import os
import re
import sys
import threading
import time
from typing import Sequence
from collections import defaultdict
from pathlib import Path

import pytest

from oraclebench.errors import UsageError
from oraclebench.files import results_problem
from oraclebench.gcfreeze import freeze_long_lived, thaw
from oraclebench.logcapture import WarningNotices, count_line, drop_item_capture, model_logging
from oraclebench.records import RECORD_KEY, Record
from oraclebench.textsafe import printable, storable
from oraclebench.workers import (OneRecordPerSend, QuietPasses, SharedAnswers, adopt_drawn_facts, drawn_facts,
                                 drop_collection_diffs, inflight_dir, own_shares, read_model_facts, share_count,
                                 share_cores, stop_worker, stopped_at_maxfail, watch_controller,
                                 worker_share, worker_writer, write_model_facts)


# --------------------------------------------------------------------------------------- options


def positive_int(text: str) -> int:
    """argparse/pytest option type: a whole number above 0; ``ArgumentTypeError`` otherwise."""
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


FRESH_SPLITS = ("unseen",)  # what --fresh N --split can draw


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
                                 f"on for {task}: its trained, unseen and held-out splits follow the flag, not the "
                                 "model's training distribution")

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
OUTCOME_KEY = "oraclebench.outcome"  # on reports the plugin made for a wrong answer or a failed request


def parse_heldout(specs: list[str]) -> dict:
    """``--heldout`` values to ``{task: manifest}``: ``TASK:SPEC`` or a manifest JSON file.

    Every way a value can be wrong (bad syntax, unknown task, out-of-range numbers, a manifest file
    that is unreadable, not JSON, or of the wrong shape) is a one-line ``UsageError`` naming it.
    """
    from oraclebench.tasks import TaskError, get_task

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
            raise UsageError(f"--heldout {_quoted(spec)}: {printable(str(exc), 300, line=True)}") from None
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
    from oraclebench.tasks import TaskError, get_task

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
                         f"{printable(str(exc), 200, line=True)}); write it as `oraclebench generate` does") from None
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


def pytest_configure(config: pytest.Config) -> None:
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
        if bench.model_name and not bench.chooses_tasks:
            bench.declared_tasks()  # a manifest naming no task here: one line now, not an error per module
        try:
            bench.check_variants()
        except UsageError as exc:
            raise pytest.UsageError(str(exc)) from None
        config.pluginmanager.register(RecordCollector(bench), "oraclebench-records")
    else:
        if QuietPasses.install(config) is None:
            config.pluginmanager.register(OneRecordPerSend(), "oraclebench-one-record")
        config.pluginmanager.register(WorkerCollectionFinish(), "oraclebench-worker-collection")
        if "oraclebench_controller" in config.workerinput:
            watch_controller(config.workerinput["oraclebench_controller"])
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


def pytest_unconfigure(config: pytest.Config) -> None:
    """Unbind the session's variants and its draw store: a process that runs pytest again (pytester, an
    IDE) starts on the defaults."""
    from oraclebench.tasks import reset_variants
    from oraclebench.tasks.base import keep_training_draws

    if config.stash.get(VARIANTS, []):
        reset_variants()
    keep_training_draws(None)


def keep_draws(bench: Bench) -> None:
    """Training draws behind the split labels kept across runs, in ``$ORACLEBENCH_HOME/cache/training-draws``
    (``tasks.base.keep_training_draws``): 0.36 s of a 3.9 s ``gpt2-mult`` run made them again each time."""
    from oraclebench.cache import DrawStore
    from oraclebench.models.reference import home
    from oraclebench.tasks.base import keep_training_draws

    if bench.model_name:
        keep_training_draws(DrawStore(home() / "cache" / "training-draws"))


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

    if bench.model is not None:
        return
    tr = config.pluginmanager.get_plugin("terminalreporter")
    try:
        if tr is not None and not bench.is_worker:
            tr.write_line(f"oraclebench: loading model {bench.model_name} ...")
        with model_logging(bench.warnings):
            bench.load_model()
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


def _short(value, limit: int = 400) -> str:
    """One terminal line of a model's text: newlines and control characters visible, capped to ``limit``."""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    return printable(text, limit, line=True)


# A failed item is headed by what the summary's columns count it as (wrong, no answer, truncated, errors):
# a prose reply read as a "wrong answer" would send its reader to the wrong fix (the format, not the maths).
FAILED_AS = {"wrong": "wrong answer", "no_answer": "no answer", "truncated": "truncated answer", "error": "error"}


def explain(record: Record) -> str:
    """The few lines shown for an answer that is not right, headed by what it is (``no answer on ...``)."""
    return "\n".join([
        f"{FAILED_AS.get(record.status, record.status)} on {record.instance_id} ({record.split}, {record.label})",
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
                             user_properties=[*item.user_properties, (OUTCOME_KEY, call.when)])


class RecordCollector:
    """Gathers the records that items attach to their reports (also those sent back by xdist workers)."""

    def __init__(self, bench: Bench):
        self.bench = bench

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        keys = set()
        for key, value in report.user_properties:
            keys.add(key)
            if key == RECORD_KEY:
                self.bench.collected.setdefault(report.nodeid, value)
        if report.failed and OUTCOME_KEY not in keys:
            self.bench.other_failures.append(report)


class TeardownIndex:
    """The terminal reporter's teardown reports of one item, found in an index instead of a scan.

    For each failure it lists (``--tb=short``, ``--tb=long``; each pass under ``-rP``), pytest's
    terminal summary looks for the item's teardown sections by scanning every passed setup and
    teardown report of the session (``TerminalReporter._get_teardown_reports``): quadratic in the
    items, 9 s for 1,000 wrong answers and 334 s for 10,000 here. This answers the same lists, in the
    same order, reading each new report once. Reports are only ever appended to ``stats``.
    """

    def __init__(self, reporter):
        self.reporter = reporter
        self.read = 0  # how many of stats[""] are in the index
        self.by_id: dict = defaultdict(list)

    def __call__(self, node_id) -> list:
        reports = self.reporter.stats.get("", [])
        for report in reports[self.read:]:
            if getattr(report, "when", None) == "teardown":
                self.by_id[_report_id(report)].append(report)
        self.read = len(reports)
        return [r for r in self.by_id.get(node_id, ()) if not hasattr(r, "_pdbshown")]  # as getreports filters


def _report_id(report):
    # pytest 9 matches on the structured ``id`` (and passes one); pytest 8 on ``nodeid``.
    return report.id if hasattr(report, "id") else report.nodeid


def index_teardown_reports(reporter) -> None:
    """Give ``reporter`` a ``TeardownIndex`` where its pytest has the scan it replaces; else nothing."""
    if reporter is not None and callable(getattr(reporter, "_get_teardown_reports", None)):
        reporter._get_teardown_reports = TeardownIndex(reporter)


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


def selection(config: pytest.Config) -> dict:
    """The options that chose this run's instances, as the summary records them."""
    opt = config.getoption
    return {"limit": opt("--limit"), "fresh": opt("--fresh"), "seed": opt("--seed") if opt("--fresh") else None,
            "split": opt("--split"),
            "tasks": sorted(config.stash[BENCH].tasks_filter) or "all", "keyword": opt("keyword") or None,
            "markexpr": opt("markexpr") or None, "last_failed": bool(opt("lf", False)),
            "deselect": list(opt("deselect", None) or []) or None, "maxfail": opt("maxfail") or None,
            "explore": bool(opt("--explore"))}


def completeness(bench: Bench, session: pytest.Session, exitstatus: int, records: list[Record]) -> dict:
    """``selection``, ``interrupted``, and per task ``coverage``, ``complete`` and (where not) ``partial``.

    A task is complete when the run scored every instance of its current frozen set, was not
    interrupted or stopped early, drew no fresh set, and no request failed (the model was not measured
    on a failed one): then its number can stand as the model's score.
    """
    from oraclebench.records import errors_reason
    from oraclebench.sets import coverage, load_set

    sel = selection(session.config)
    maxfail = stopped_at_maxfail(session)
    interrupted = exitstatus == pytest.ExitCode.INTERRUPTED and not maxfail
    stopped = bool(session.shouldfail or session.shouldstop) and not interrupted or maxfail
    by_task: dict[str, list[Record]] = {}
    for r in records:
        by_task.setdefault(r.task, []).append(r)
    cover, complete, partial = {}, {}, {}
    for task, recs in sorted(by_task.items()):
        fresh = bool(sel["fresh"]) or sel["explore"]
        cover[task] = coverage(task, [r.label for r in recs], fresh=fresh)
        if sel["fresh"] and task not in bench.fresh_dropped and task not in bench.unseen_space:
            bench.task_instances(task)  # an xdist controller collected nothing: draw as its workers did
        if fresh:
            cover[task]["dropped_as_training"] = bench.fresh_dropped.get(task, 0)
        if task in bench.unseen_space:
            cover[task]["unseen_in_space"] = bench.unseen_space[task]
        whole = not fresh and {r.instance_id for r in recs} == {i.id for i in load_set(task)}
        reasons = _reasons(sel, cover[task], interrupted, stopped, whole, bench.workers_crashed) + _variant_reason(task)
        if errors := sum(r.status == "error" for r in recs):
            example = next(r.error for r in recs if r.status == "error")
            reasons.append(errors_reason(errors, cached=not session.config.getoption("--no-cache"), example=example))
        complete[task] = whole and not reasons
        if not complete[task]:
            partial[task] = "; ".join(reasons) or "not the whole frozen set"
    return {"selection": sel, "interrupted": interrupted, "stopped_early": stopped, "coverage": cover,
            "complete": complete, "partial": partial}


def _reasons(sel: dict, cover: dict, interrupted: bool, stopped: bool, whole: bool, crashed: int = 0) -> list[str]:
    reasons = []
    if sel["explore"]:
        reasons.append("an --explore search")
    elif sel["fresh"]:
        split = f" --split {sel['split']}" if sel.get("split") else ""
        reasons.append(f"--fresh {sel['fresh']}{split} --seed {sel['seed']} (not the frozen set)")
    if interrupted:
        reasons.append("interrupted")
    if stopped:
        reasons.append(f"stopped early (-x/--maxfail {sel['maxfail']})")
    if not whole and cover.get("of") is not None:
        picked = [f"--limit {sel['limit']}"] if sel["limit"] else []
        picked += [f"-k {sel['keyword']!r}"] if sel["keyword"] else []
        picked += ["--lf"] if sel["last_failed"] else []
        picked += ["--deselect"] if sel["deselect"] else []
        picked += [f"-m {sel['markexpr']!r}"] if _selects_within_tasks(sel["markexpr"]) else []
        picked += [f"{crashed} xdist worker{'s' if crashed > 1 else ''} crashed"] if crashed else []
        reasons.append(f"{cover['instances']} of {cover['of']} instances" + (f" ({', '.join(picked)})" if picked else ""))
    return reasons


def _variant_reason(task: str) -> list[str]:
    """A run on a task variant (``--world``) is not the task's score: the leaderboard keeps the default
    world's; the report's Worlds section shows it."""
    from oraclebench.tasks import get_task

    variant = get_task(task).variant_id()
    return [f"on {variant['option']} {variant['name']}, not the default (see the report's Worlds section)"] \
        if variant else []


def marker_words(expr: str | None) -> list[str]:
    """The words of a ``-m`` expression: marker names and ``and``/``or``/``not``."""
    return re.findall(r"[A-Za-z_][\w-]*", expr or "")


def _names_a_task(expr: str) -> bool:
    """Whether ``-m EXPR`` names a task (``-m multiplication``, ``-m "abcd or causal"``, ``-m "not judge"``)."""
    from oraclebench.tasks import TASKS

    return any(word in TASKS for word in marker_words(expr))


def _selects_within_tasks(expr: str | None) -> bool:
    """Whether ``-m EXPR`` can leave out instances of a task it keeps (``-m judge`` cannot)."""
    from oraclebench.tasks import TASKS

    words = marker_words(expr)
    return bool(words) and not all(w in TASKS or w == "or" for w in words)


def _timing_line(task: str, t: dict, workers: int) -> str:
    cut = f", {t['truncated']} truncated" if t.get("truncated") else ""  # cut by the budget: not final
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


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
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
