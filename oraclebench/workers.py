"""pytest-xdist support for the plugin (``-n N``): what workers share and send, and how they stop.

- ``SharedAnswers``: each worker answers its share of a task and reads the others' records, so each
  instance is asked once in the whole run;
- ``drawn_facts`` / ``adopt_drawn_facts``: the workers send what the controller's summary needs of
  the draw (the controller collects nothing and draws nothing again);
- ``QuietPasses``: a benchmark item sends its call report only (its record on it), unless its setup
  or teardown has something to say; ``OneRecordPerSend``: where every report is sent
  (``sends_every_phase``), an item's record travels on its setup and teardown reports only;
- ``share_cores``, ``watch_controller``, ``worker_writer``, ``stop_worker``: a worker's torch threads,
  its end when the controller is gone or interrupted (``InterruptWorkers``: the controller's side),
  its terminal lines, its end when its model does not load (``drop_collection_diffs``: the
  controller's side of it);
- ``write_model_facts`` / ``read_model_facts``: the loaded model's identity, manifest and code, as a
  worker knew them once it loaded (a worker that crashes later sends nothing at its end);
- ``stopped_at_maxfail``: the controller's reading of how xdist stopped a run.

The plugin (``oraclebench.plugin``) imports this module; this module imports nothing of the plugin
(a layer below it, see pyproject.toml).
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from oraclebench.records import RECORD_KEY, Record

Bench = Any  # the plugin's per-session state (``oraclebench.plugin.state.Bench``), which imports this module


def worker_writer(config: pytest.Config):
    """An xdist worker's ``live_writer``: its stderr is the controller's, so a line written there with
    capture suspended reaches the terminal (or the CI log), marked with the worker's id."""
    capture = config.pluginmanager.get_plugin("capturemanager")
    worker = config.workerinput.get("workerid", "worker")
    lock = threading.Lock()

    def write(line: str) -> None:
        with lock:
            if capture is None:
                print(f"[{worker}] {line}", file=sys.__stderr__, flush=True)
                return
            with capture.global_and_fixture_disabled():
                print(f"[{worker}] {line}", file=sys.stderr, flush=True)
    return write


class SharedAnswers:
    """xdist: one task's records for the whole run, each instance answered by exactly one worker.

    The task's instances (collected alike on every worker, in the same order) are dealt into shares,
    every S-th instance to the same share (``share_count``: a few per worker): a frozen set is ordered
    by stratum (abcd's from the shortest traces to the longest), and cut in halves one worker got all
    the long traces and the other waited. Each worker answers its own shares first, in order, then
    takes any share no one holds, starting from the far end of the others' (where their owners get to
    last), and reads the shares the others answered. Shares dealt alike still cost unlike: over 4,000
    fresh abcd traces dealt in halves, one half took 19.3 to 20.3 CPU-seconds to answer alone where the
    other took 17.2 to 17.3 (16% more attention work: a batch decodes until its longest rows end), and
    under ``-n 2`` the worker that finished first waited 2 to 5 s. Each share has a lock (``flock``: released if its holder dies, so another worker answers
    that share) and a file ``results/.inflight/<run_id>/<task>.<i>.jsonl``, written whole and renamed:
    a reader finds all of a share's records or answers the share itself. The controller removes the
    folder at the end of the run.
    """

    def __init__(self, results: Path, run_id: str, task: str):
        self.dir = inflight_dir(results, run_id)
        self.task = task

    def records(self, insts: list, answer, workers: int, first: int) -> list[Record]:
        """Every instance's record, in ``insts``' order. ``answer(part)`` scores a share's instances (called
        once per share this worker answers); ``workers`` is the number of workers, ``first`` this
        worker's index."""
        try:
            import fcntl
        except ImportError:  # not POSIX: no sharing, each worker answers everything
            return answer(insts)
        self.dir.mkdir(parents=True, exist_ok=True)
        n = share_count(len(insts), workers)
        got: dict[int, list[Record]] = {}
        for wait in (False, True):  # first the shares free now, then wait for those others hold
            for i in share_order(n, workers, first):
                if i not in got and (records := self._share(fcntl, i, insts[i::n], answer, wait)) is not None:
                    got[i] = records
        out: list = [None] * len(insts)
        for i in range(n):
            out[i::n] = got[i]
        return out

    def _share(self, fcntl, i: int, part: list, answer, wait: bool) -> list[Record] | None:
        """Share ``i``'s records: read where a worker wrote them, else answered here; None when another
        worker holds its lock and ``wait`` is false."""
        from oraclebench.records import atomic_write, record_line

        path = self.dir / f"{self.task}.{i}.jsonl"
        with open(path.with_suffix(".lock"), "w") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
            except BlockingIOError:
                return None
            if path.exists():
                with path.open(encoding="utf-8") as fh:
                    return [Record.from_line(line) for line in fh if line.strip()]
            records = answer(part)
            atomic_write(path, "".join(record_line(r) + "\n" for r in records))
            return records  # closing the file releases the lock


SHARE_MIN = 256  # instances; the adapter's first batch holds at most 256 rows (``models.hf``)
SHARES_PER_WORKER = 8  # at most: each share is one batched call, with its own start and end


def share_count(items: int, workers: int) -> int:
    """How many shares ``items`` instances are dealt into for ``workers`` workers: a whole number per
    worker, as many as leave each share at least ``SHARE_MIN`` instances, at most ``SHARES_PER_WORKER``
    (and one per worker below that). Smaller shares let a worker that is done take over another's
    last ones; a share below a batch would decode in smaller batches. Measured (one thread,
    ``gpt2-abcd``, 2,000 fresh traces): in 8 calls of 250 they cost the same CPU time as in one call.

    >>> share_count(932, 2), share_count(1200, 2), share_count(4000, 2), share_count(3, 4)
    (2, 4, 14, 3)
    """
    per_worker = max(1, min(SHARES_PER_WORKER, items // max(1, workers * SHARE_MIN)))
    return max(1, min(workers * per_worker, items))


def share_order(shares: int, workers: int, first: int) -> list[int]:
    """The order in which worker ``first`` tries the shares: its own (every ``workers``-th from
    ``first``) in order, then the others' from the last, which their owners reach last.

    >>> share_order(6, 2, 1)
    [1, 3, 5, 4, 2, 0]
    """
    own = own_shares(shares, workers, first)
    return own + [i for i in reversed(range(shares)) if i not in own]


def own_shares(shares: int, workers: int, first: int) -> list[int]:
    """Worker ``first``'s own shares: every ``workers``-th from its index (none where there are fewer
    shares than workers and its index is past them)."""
    return list(range(first % workers, shares, workers))


def worker_share(config: pytest.Config) -> tuple[int, int]:
    """An xdist worker's (number of workers, its index): ``gw3`` of 4 is (4, 3)."""
    count = int(config.workerinput.get("workercount", 1))
    digits = re.sub(r"\D", "", str(config.workerinput.get("workerid", "")))
    return count, int(digits) % count if digits else 0


def share_cores(bench: Bench) -> None:
    """xdist worker: torch's threads = cores / workers. N workers each running a thread per core
    oversubscribe the cores and finish slower than one worker. Left alone where the user chose
    (``OMP_NUM_THREADS``, ``--model-opt threads=N``) or the model does not use torch. An empty
    ``OMP_NUM_THREADS`` is no choice: torch then takes a thread per core (two workers on 2 cores so
    took 53 s for 1,200 abcd traces, one process 9 s)."""
    if os.environ.get("OMP_NUM_THREADS", "").strip() or "threads" in bench.options or "torch" not in sys.modules:
        return
    workers, _ = worker_share(bench.config)
    sys.modules["torch"].set_num_threads(max(1, (os.cpu_count() or 1) // workers))


def inflight_dir(results: Path, run_id: str) -> Path:
    return Path(results) / ".inflight" / (run_id or "run")


MODEL_FACTS = "model.json"


def write_model_facts(bench: Bench) -> None:
    """xdist worker, once its model has loaded: the model's identity, manifest and ``loaded_as`` into the
    run's in-flight folder, where the controller reads them at the end (``read_model_facts``). Written
    at load, not sent at the worker's end: a worker killed mid-run sends nothing, and the run's summary
    then named the model by its bare name instead of its identity (the answer cache's key)."""
    from oraclebench.files import atomic_write
    from oraclebench.textsafe import storable

    facts = {"identity": bench.model.identity(), "manifest": getattr(bench.model, "manifest", None),
             "loaded_as": getattr(bench.model, "loaded_as", None)}
    folder = inflight_dir(bench.results, bench.run_id)
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write(folder / MODEL_FACTS, json.dumps(storable(facts), default=str))  # every worker writes the same


def read_model_facts(results: Path, run_id: str) -> dict:
    """The facts a worker wrote (``write_model_facts``); ``{}`` where no worker loaded the model."""
    try:
        return json.loads((inflight_dir(results, run_id) / MODEL_FACTS).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


INTERRUPTED = "interrupted"  # the controller's mark, in the run's in-flight folder: the run was interrupted


def mark_interrupted(results: Path, run_id: str) -> None:
    """xdist controller, on KeyboardInterrupt: marks the run interrupted for its workers (``watch_controller``).

    A SIGINT sent to the controller alone (``kill -INT``, ``timeout -s INT``) reaches no worker: xdist
    then only asks each worker to exit after its item and kills it 10 s later, and a worker's item is a
    batch of the model's requests, so the workers went on asking the model for seconds (157 requests
    after the signal; found by review). A Ctrl-C in the terminal interrupts every process of the group.
    """
    folder = inflight_dir(results, run_id)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / INTERRUPTED).touch()


class InterruptWorkers:
    """xdist controller: at a KeyboardInterrupt, the workers are told (``mark_interrupted``)."""

    def __init__(self, config: pytest.Config, bench: Bench):
        self.config, self.bench = config, bench

    def pytest_keyboard_interrupt(self, excinfo) -> None:
        if self.bench.run_id and self.config.pluginmanager.get_plugin("dsession") is not None:
            mark_interrupted(self.bench.results, self.bench.run_id)


def watch_controller(parent: int, interrupted: Path | None = None, interval: float = 0.2) -> threading.Thread:
    """xdist worker: exit at once when the controller that started it is gone (killed, crashed), so a
    killed run leaves no worker asking the model. The controller is the worker's parent process.

    ``interrupted``: the run's ``INTERRUPTED`` mark; when it appears, the worker interrupts itself as a
    Ctrl-C would (KeyboardInterrupt in its main thread: the answers given are kept, no request more is
    sent). A worker takes one interrupt only: the terminal's Ctrl-C and the mark both come, and a
    second KeyboardInterrupt would cut short the first one's orderly end. A SIGTERM (sent to the whole
    group: Slurm, CI cancellation) is taken as that interrupt too: by default it ended the worker at
    once, losing the records it had not sent. Call from the main thread.
    """
    import signal

    first = threading.Event()
    main = threading.main_thread().ident
    if interrupted is not None:
        def on_interrupt(signum, frame) -> None:
            if not first.is_set():
                first.set()
                raise KeyboardInterrupt

        signal.signal(signal.SIGINT, on_interrupt)
        if hasattr(signal, "SIGTERM"):  # kill, timeout, CI cancellation, Slurm, docker stop: ended as at a Ctrl-C
            signal.signal(signal.SIGTERM, on_interrupt)

    def interrupt_main() -> None:
        if hasattr(signal, "pthread_kill"):
            # A signal to the main thread itself: it wakes a main thread blocked in a wait (for a batch's
            # answers), where _thread.interrupt_main only sets a flag read once that wait returns.
            signal.pthread_kill(main, signal.SIGINT)
        else:  # Windows
            import _thread

            _thread.interrupt_main()

    def watch() -> None:
        while True:
            time.sleep(interval)
            if os.getppid() != parent:
                os._exit(70)
            if interrupted is not None and not first.is_set() and interrupted.exists():
                interrupt_main()

    thread = threading.Thread(target=watch, name="oraclebench-watchdog", daemon=True)
    thread.start()
    return thread


def stop_worker(session: pytest.Session) -> None:
    """xdist worker whose model did not load: it deselects every item before xdist sends the collection, so
    the controller schedules nothing, and hands the one line to the controller (``workeroutput``), which
    exits with it as a usage error (4). Raising here, as one process does, left the worker's items
    scheduled and the controller failed with a 40-line INTERNALERROR; stopping the worker after
    collection (``session.shouldfail``) printed xdist's "Interrupted" banner and skipped items."""
    session.config.hook.pytest_deselected(items=list(session.items))
    session.items[:] = []


def drop_collection_diffs(config: pytest.Config) -> None:
    """xdist controller, where a worker's model did not load: forget xdist's "Different tests were
    collected" errors. A worker whose model did not load deselected its items (``stop_worker``); where
    another worker's loaded (an out-of-memory on one of them), xdist reported the two collections'
    difference, a line per item (932 for abcd's set), around the one line that says why."""
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is None:
        return
    reporter.stats["error"] = [r for r in reporter.stats.get("error", [])
                               if not (re.fullmatch(r"gw\d+", str(getattr(r, "nodeid", "")))
                                       and str(getattr(r, "longrepr", "")).startswith("Different tests were collected"))]
    if not reporter.stats["error"]:
        del reporter.stats["error"]


class OneRecordPerSend:
    """xdist worker: an item's record leaves its call report, before xdist sends that to the controller.

    pytest puts an item's ``user_properties`` on each of its three reports, and the worker serializes
    and sends each (a record is 1.5-3 KB; the controller reads each back). The setup report keeps it
    (the first the controller gets: a run stopped mid-item keeps the record, as in one process) and
    so does the teardown report (junitxml writes its properties from that one). Used where every
    report is sent (``sends_every_phase``); elsewhere ``QuietPasses`` sends the call report only, record on.
    """

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when == "call":
            report.user_properties = [(k, v) for k, v in report.user_properties if k != RECORD_KEY]


# Options (their ``dest``) under which the controller writes something from every phase's report:
# ``--junitxml`` (a test case's properties, from its teardown report), ``--durations`` (the slowest
# setups: a benchmark's first item answers its whole task in its setup), ``--report-log`` (a line per
# report), ``--setup-only``/``--setup-plan`` (no call report: the setup's carries the record), and
# the report plugins that list phases: pytest-html (``--html``), pytest-json-report
# (``--json-report``), allure-pytest (``--alluredir``).
EVERY_PHASE_OPTIONS = ("xmlpath", "report_log", "setuponly", "setupplan", "htmlpath", "json_report",
                       "allure_report_dir")


def sends_every_phase(config: pytest.Config) -> bool:
    """Whether the controller needs every phase's report of an item (``EVERY_PHASE_OPTIONS`` set, or
    ``--durations`` given, even 0)."""
    option = config.option
    return (getattr(option, "durations", None) is not None
            or any(getattr(option, name, None) for name in EVERY_PHASE_OPTIONS))


class QuietPasses:
    """xdist worker: a benchmark item's passing setup and teardown reports, with nothing on them, stay here.

    xdist sends each item's three reports to the controller, besides its start, end and completion:
    six messages an item, each serialized in Python (execnet) and read back by the controller, which
    on 2 cores competes with the workers for them: over 4,000 abcd items under ``-n 2``, the
    controller took 1.9 CPU-s and each worker 2.4 (``--model oracle``, no model cost). A benchmark
    item's setup and teardown that pass with no captured output say nothing the controller shows
    (pytest counts the call as the item's outcome, and a passing phase without sections prints
    nothing), so they go through every hook of this worker but are not sent, as xdist keeps passing
    collection reports (pytest-xdist #330); the item's record travels on its call report, sent before
    its teardown runs. Measured, same run: the controller 1.4 CPU-s, each worker 0.15 less, 0.5 s
    less in all. A setup or teardown that fails or has sections (a model's logged warning) is sent;
    so is every report where ``sends_every_phase``, and every report of other tests.

    The worker's sender (xdist's ``WorkerInteractor``) sends a report from its
    ``pytest_runtest_logreport`` through its ``sendevent``; this wraps that ``sendevent`` to drop the
    ``testreport`` event of a report found quiet (every other event, from any thread, passes). A
    later xdist that sends otherwise sends every report again, as before: slower, never wrong.

    The price: a worker killed or interrupted during an item's call loses that item's record, which its
    setup report carried to the controller before (one process, and a run that ``sends_every_phase``,
    keep it). The call only checks the record already made (``assert_correct``), microseconds, and a
    killed worker loses the records of every item it had not run yet anyway.
    """

    def __init__(self, sender):
        self.quiet = False
        send = sender.sendevent

        def sendevent(name: str, **kwargs) -> None:
            if not (self.quiet and name == "testreport"):
                send(name, **kwargs)

        sender.sendevent = sendevent

    @classmethod
    def install(cls, config: pytest.Config) -> "QuietPasses | None":
        """Registered on an xdist worker's plugin manager, wrapping its sender; None where the run
        ``sends_every_phase`` or no sender of the known shape is there."""
        senders = [p for p in config.pluginmanager.get_plugins()
                   if type(p).__name__ == "WorkerInteractor" and callable(getattr(p, "sendevent", None))]
        if sends_every_phase(config) or len(senders) != 1:
            return None
        quiet = cls(senders[0])
        config.pluginmanager.register(quiet, "oraclebench-quiet-passes")
        return quiet

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_runtest_logreport(self, report: pytest.TestReport):
        self.quiet = (report.when != "call" and report.passed and not report.sections
                      and any(key == RECORD_KEY for key, _ in report.user_properties))
        try:
            return (yield)
        finally:
            self.quiet = False


def drawn_facts(bench: Bench) -> dict:
    """xdist worker: per task it drew, what the controller's summary needs of the draw: the fresh draws
    dropped as training problems, the unseen space, and ``training_facts`` where the model declares
    training data. The controller collects nothing; drawing again there (the training data included)
    cost 0.6 s after the workers were done (1,200 abcd traces, 2 workers). Every worker draws the same
    instances (xdist checks that they collected the same items), so any one's facts serve."""
    from oraclebench.models import declared_training, manifest_training
    from oraclebench.summary import training_facts

    declared = (manifest_training(getattr(bench.model, "manifest", None))
                or (declared_training(bench.model_name, bench.options) if bench.model_name else None) or {})
    out = {}
    for task in bench.instances:
        facts: dict = {"fresh_dropped": bench.fresh_dropped.get(task)}
        if task in bench.unseen_space:
            facts |= {"unseen_space": bench.unseen_space[task], "unseen_found": bench.unseen_found[task]}
        if task in declared:
            found = training_facts(task, bench.task_instances(task), declared[task])
            facts |= {"buckets": found["buckets"], "strata": [dataclasses.asdict(b) for b in found["strata"]]}
        out[task] = facts
    return out


def adopt_drawn_facts(bench: Bench, drawn: dict) -> None:
    """xdist controller: take a worker's ``drawn_facts`` for each task no worker reported before."""
    from oraclebench.tasks.base import BucketCoverage

    for task, facts in drawn.items():
        if task in bench.coverage_facts or task in bench.fresh_dropped or task in bench.unseen_space:
            continue
        if facts.get("fresh_dropped") is not None:
            bench.fresh_dropped[task] = facts["fresh_dropped"]
        if "unseen_found" in facts:
            bench.unseen_space[task], bench.unseen_found[task] = facts["unseen_space"], facts["unseen_found"]
            bench.say_unseen_shortfall(task)
        if "strata" in facts:
            bench.coverage_facts[task] = {"buckets": facts["buckets"],
                                          "strata": [BucketCoverage(**b) for b in facts["strata"]]}


def stopped_at_maxfail(session: pytest.Session) -> bool:
    """Whether xdist's controller stopped the run at ``-x``/``--maxfail``. It stops by raising a
    ``KeyboardInterrupt``, so the exit status says interrupted; its ``shouldstop`` says why."""
    why = getattr(session.config.pluginmanager.get_plugin("dsession"), "shouldstop", None)
    return isinstance(why, str) and why.startswith("stopping after")
