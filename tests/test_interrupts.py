"""A run ended by a signal keeps its results, marked interrupted (README, "nothing lost").

- Two SIGINTs (Ctrl-C twice; ``timeout -s INT`` sends two): the second landed inside pytest's own
  handling of the first, so pytest never recorded the run as interrupted: summary.json said
  ``interrupted: false``, tasks cut short were marked complete, and a long traceback ended the run.
- SIGTERM (``kill``, ``timeout``, CI cancellation, Slurm, ``docker stop``) ended the process at once:
  no records, no summary, though the cache held the answers.

Each test starts a real ``pytest benchmark`` subprocess with a ``python:`` model that answers causal at
once and multiplication slowly (a call of 4 prompts every 0.25 s), waits until causal is scored and
multiplication is being answered, sends the signals, and reads what the run wrote.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

MODEL = """
    import os
    import time

    def answer(prompts):
        if any(" × " in p for p in prompts):  # multiplication: slow, each call logged
            with open(os.environ["OB_CALLS"], "a") as fh:
                fh.write(f"{len(prompts)}\\n")
            time.sleep(0.25)
        return [" 0" for _ in prompts]

    answer.batch_size = 4
"""

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="POSIX signals")


def _start(tmp_path: Path, *extra: str) -> tuple[subprocess.Popen, Path, Path]:
    (tmp_path / "slow_model.py").write_text(textwrap.dedent(MODEL), encoding="utf-8")
    calls, results = tmp_path / "calls.log", tmp_path / "results"
    env = {**os.environ, "PYTHONPATH": f"{tmp_path}{os.pathsep}{ROOT}", "OB_CALLS": str(calls)}
    cmd = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", str(ROOT / "benchmark"), "-q", "--rootdir", str(ROOT),
           "--model", "python:slow_model:answer", "--task", "causal,multiplication", "--results", str(results), *extra]
    # SIGINT as a terminal's process would take it (a background shell job starts with it ignored),
    # in a session of its own so that a signal to the group reaches no one else.
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    return proc, calls, results


def _wait_for_calls(proc: subprocess.Popen, calls: Path, timeout: float = 60) -> None:
    """Until multiplication is being answered, its second call (causal comes first: in one process it is
    all scored by then; under xdist a worker's first items are, and their reports have reached the controller)."""
    deadline = time.monotonic() + timeout
    while not (calls.exists() and len(calls.read_text().split()) >= 2):
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"the run never reached multiplication: {proc.communicate()[0][-3000:]}")
        time.sleep(0.05)


def _end(proc: subprocess.Popen) -> str:
    try:
        out, _ = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
        pytest.fail(f"the run did not end after the signal: {out[-3000:]}")
    return out


def _the_run(results: Path) -> tuple[dict, list[dict]]:
    runs = [p for p in (results / "runs").iterdir() if (p / "summary.json").exists()] if (results / "runs").exists() else []
    assert len(runs) == 1, f"expected one written run in {results}, found {runs}"
    summary = json.loads((runs[0] / "summary.json").read_text(encoding="utf-8"))
    records = [json.loads(line) for line in (runs[0] / "records.jsonl").read_text(encoding="utf-8").splitlines()]
    return summary, records


def _assert_kept_and_interrupted(proc: subprocess.Popen, out: str, results: Path, calls: Path, causal: int) -> None:
    """``causal``: the causal records the run must keep (under xdist, at least one: those that reached
    the controller; which they are depends on how the items were dealt)."""
    assert proc.returncode == 2, (proc.returncode, out[-3000:])  # pytest's exit status for an interrupt
    assert "Traceback" not in out, out[-3000:]
    summary, records = _the_run(results)
    assert summary["interrupted"] is True, out[-3000:]
    assert summary["complete"].get("causal") is False and "interrupted" in summary["partial"]["causal"]
    assert not any(summary["complete"].values())  # no task marked complete in a run that was cut
    kept = sum(r["task"] == "causal" for r in records)
    assert kept == causal if causal == 32 else kept >= causal, (kept, out[-3000:])
    asked = len(calls.read_text().split())
    time.sleep(0.6)
    assert len(calls.read_text().split()) == asked  # nothing is asked of the model after the run ended


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["one process", "-n 2"])
def test_two_sigints_mark_the_run_interrupted_and_keep_its_records(tmp_path, workers):
    proc, calls, results = _start(tmp_path, *workers)
    _wait_for_calls(proc, calls)
    for gap in (0.05, 0.1):  # Ctrl-C twice, to the controller alone (`timeout -s INT` sends two)
        os.kill(proc.pid, signal.SIGINT)
        time.sleep(gap)
    _assert_kept_and_interrupted(proc, _end(proc), results, calls, 1 if workers else 32)


@pytest.mark.parametrize("workers,group", [([], False), (["-n", "2"], False), (["-n", "2"], True)],
                         ids=["one process", "-n 2 controller", "-n 2 group"])
def test_sigterm_ends_the_run_as_an_interrupt_and_keeps_its_records(tmp_path, workers, group):
    proc, calls, results = _start(tmp_path, *workers)
    _wait_for_calls(proc, calls)
    if group:  # Slurm, CI cancellation: every process of the run
        os.killpg(proc.pid, signal.SIGTERM)
    else:  # kill, timeout, docker stop: the process started
        os.kill(proc.pid, signal.SIGTERM)
    _assert_kept_and_interrupted(proc, _end(proc), results, calls, 1 if workers else 32)


def test_a_process_the_model_forks_ends_on_sigterm_as_by_default(tmp_path):
    """A run's SIGTERM handler was inherited by the processes a python: model forks: ``Process.terminate()`` (and
    ``Pool.terminate()``) no longer ended them (exit code 1 instead of -15, found by review)."""
    model = tmp_path / "forks.py"
    model.write_text(textwrap.dedent("""
        import multiprocessing
        import os
        import time

        def _sleep():
            time.sleep(30)

        def answer(prompts):
            child = multiprocessing.get_context("fork").Process(target=_sleep)
            child.start()
            time.sleep(0.2)
            child.terminate()
            child.join(10)
            with open(os.environ["OB_EXIT"], "a") as fh:
                fh.write(f"{child.exitcode}\\n")
            return [" 12" for _ in prompts]
    """))
    log = tmp_path / "exit.log"
    proc = subprocess.run([sys.executable, "-m", "pytest", "benchmark", "-q", "-p", "no:cacheprovider", "-m",
                           "multiplication", "--limit", "2", "--no-cache", "--model", f"python:{model}:answer",
                           "--results", str(tmp_path / "results")], cwd=ROOT, capture_output=True, text=True,
                          timeout=120, env={**os.environ, "OB_EXIT": str(log)})
    assert proc.returncode in (0, 1), proc.stdout[-2000:] + proc.stderr[-2000:]
    assert log.read_text().split() == [str(-signal.SIGTERM)]
