"""Numbers a researcher can trust (issue 13): subsets that represent the set, splits that say what is
known, partial runs that never stand as a score, workers that ask each instance once, mistakes
caught before any model work, and output that ends with the result."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pandas  # noqa: F401 - imported once here: pytester's in-process runs cannot re-import numpy
import pytest

from oraclebench.records import RECORD_KEY, list_runs, read_records

ROOT = Path(__file__).resolve().parent.parent
pytest_plugins = ["pytester"]
ALWAYS_1 = "python:examples.flawed:first_always"  # judge: always candidate 1, right exactly when unswapped


@pytest.fixture
def bench(pytester: pytest.Pytester, monkeypatch):
    """A pytester dir with the benchmark modules; returns a runner of `pytest benchmark ...`."""
    shutil.copytree(ROOT / "benchmark", pytester.path / "benchmark", ignore=shutil.ignore_patterns("sets", "__pycache__"))
    monkeypatch.syspath_prepend(str(ROOT))

    def run(*args: str, cache: bool = False, **kwargs):
        plugins = ["-p", "oraclebench.plugin"] + ([] if cache else ["-p", "no:cacheprovider"])
        return pytester.runpytest(*plugins, "benchmark", "--results", str(pytester.path / "results"), *args, **kwargs)

    return run


def last_summary(pytester: pytest.Pytester) -> dict:
    return list_runs(pytester.path / "results")[-1]


def board(pytester: pytest.Pytester) -> str:
    return (pytester.path / "results" / "leaderboard.md").read_text()


# --------------------------------------------------------------------------------- --limit


@pytest.mark.parametrize("limit", ["50", "192", None])
def test_always_answering_1_scores_half_on_any_subset_of_judge(bench, pytester, limit):
    # The frozen judge set is exactly half swapped; a subset keeps that balance (within one instance).
    args = ["--limit", limit] if limit else []
    bench("--model", ALWAYS_1, "-m", "judge", *args)
    cell = last_summary(pytester)["tasks"]["judge"]["all"]
    n = int(limit) if limit else 576
    assert cell["n"] == n and abs(cell["correct"] - n / 2) <= 1


def test_the_summary_says_what_a_subset_covers(bench, pytester):
    result = bench("--model", ALWAYS_1, "-m", "judge", "--limit", "50")
    assert last_summary(pytester)["coverage"]["judge"] == {"instances": 50, "of": 576, "strata": 50, "of_strata": 192,
                                                           "version": "v2"}
    result.stdout.fnmatch_lines(["judge: 50 of 576 instances, 50 of 192 strata; PARTIAL (*--limit 50*)*"])


# --------------------------------------------------------------------------------- splits


def test_a_model_without_a_manifest_has_split_unknown_everywhere(bench, pytester):
    result = bench("--model", "random", "--task", "causal", "--tb=short")
    summary = last_summary(pytester)
    assert {r.split for r in read_records(Path(summary["path"]))} == {"unknown"}
    assert set(summary["tasks"]["causal"]) == {"all", "unknown"} and "seen" not in summary["tasks"]["causal"]
    assert "n=32, split unknown" in board(pytester)
    result.stdout.fnmatch_lines(["wrong answer on causal-v1-* (unknown, *)", "*causal*all (unknown)*32*"])


def test_a_gate_on_seen_for_an_unknown_split_is_an_error_not_a_pass(bench, pytester):
    gates = pytester.path / "gates.toml"
    gates.write_text('[oracle]\n"causal.seen" = 0.5\n')
    result = bench("--model", "oracle", "--task", "causal", "--gate", str(gates))
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stdout.fnmatch_lines(["*ERROR gate*the split of causal's instances is unknown*--heldout causal:SPEC*"])


def test_heldout_gives_seen_and_heldout_and_leaves_other_tasks_unknown(bench, pytester):
    bench("--model", "oracle", "--task", "causal,judge", "--limit", "40", "--heldout", "causal:omitted=1,0,1,0,1")
    tasks = last_summary(pytester)["tasks"]
    assert (tasks["causal"]["seen"]["n"], tasks["causal"]["heldout"]["n"]) == (31, 1)
    assert set(tasks["judge"]) == {"all", "unknown"}


# --------------------------------------------------------------------------------- partial runs


@pytest.mark.parametrize("args", [["--lf"], ["-k", "0000 or 0017"], ["--limit", "10"], ["-x"]])
def test_a_partial_run_never_replaces_the_score(bench, pytester, args):
    cache = "--lf" in args  # --lf needs pytest's cache of what failed
    bench("--model", "random", "--task", "causal", cache=cache)
    whole = last_summary(pytester)
    assert whole["complete"] == {"causal": True}
    from oraclebench.summary import lenient_text

    cell = whole["tasks"]["causal"]["all"]
    score = f"{100 * cell['accuracy']:.1f}, lenient {lenient_text(cell)}, n=32, split unknown"
    assert score in board(pytester)
    result = bench("--model", "random", "--task", "causal", *args, cache=cache)
    part = last_summary(pytester)
    assert part["run_id"] != whole["run_id"] and part["complete"] == {"causal": False}
    assert part["tasks"]["causal"]["all"]["n"] < 32
    text = board(pytester)
    assert score + " [1]" in text and whole["run_id"] in text
    assert f"{part['run_id']}: " in text  # listed, marked partial
    result.stdout.fnmatch_lines(["causal: * of 32 instances*PARTIAL*not shown as the score"])
    # `oraclebench report` draws on the complete run; a partial one only when named
    from oraclebench.report import load_runs

    [run] = load_runs(pytester.path / "results")
    assert run.run_id == whole["run_id"] and len(run.records) == 32
    [named] = load_runs(pytester.path / "results", runs=[part["run_id"]])
    assert named.run_id == part["run_id"]


DYING = """
import os
from pathlib import Path

from examples.flawed import solve


def answer(prompts):
    \"\"\"Right on every prompt, like a served model whose server dies once 12 prompts were answered
    (unless OB_ALIVE=1): every call after that fails.\"\"\"
    log = Path(os.environ["OB_ANSWERED"])
    done = int(log.read_text()) if log.exists() else 0
    if done >= 12 and os.environ.get("OB_ALIVE") != "1":
        raise ConnectionError("connection refused: the server is gone")
    log.write_text(str(done + len(prompts)))
    return [solve(p) for p in prompts]


answer.batch_size = 4
"""


def test_a_run_whose_requests_failed_is_partial_and_a_rerun_asks_only_them(bench, pytester, monkeypatch):
    """A model that answers every instance right, but whose server died after 12 of causal's 32: the 20
    failed requests were never measured, so the run (12/32 = 37.5%) is not the model's score anywhere
    (found by a trial: it was "complete" and the leaderboard read 19.9 for a 100% model). Errors are not
    cached: the rerun asks only those 20 again, and that run is the score."""
    from oraclebench.errors import UsageError
    from oraclebench.records import resolve_run
    from oraclebench.report import load_runs

    pytester.makepyfile(dying=DYING)
    monkeypatch.setenv("OB_ANSWERED", str(pytester.path / "answered.txt"))
    model, results = "python:./dying.py:answer", pytester.path / "results"
    result = bench("--model", model, "--task", "causal")
    died = last_summary(pytester)
    cell = died["tasks"]["causal"]["all"]
    assert (cell["n"], cell["correct"], cell["errors"]) == (32, 12, 20)  # by the script: 12 answered, 20 failed
    assert died["complete"] == {"causal": False}
    assert died["partial"]["causal"] == ("20 request errors (e.g. ConnectionError: connection refused: the server "
                                         "is gone): not measured (failed requests are not cached: rerun to ask "
                                         "only them again)")
    result.stdout.fnmatch_lines(["causal: 32 of 32 instances*; PARTIAL (20 request errors (e.g. *): *): not shown as the score"])
    assert "37.5" not in board(pytester) and "no complete run [1]" in board(pytester)
    with pytest.raises(UsageError, match="has no complete run.*20 request errors"):
        resolve_run(results, f"{model}@latest")
    with pytest.raises(UsageError, match="no complete run of any model.*20 request errors"):
        load_runs(results)

    monkeypatch.setenv("OB_ALIVE", "1")
    result = bench("--model", model, "--task", "causal")
    result.stdout.fnmatch_lines(["causal: 32 requests, 12 from the cache, 20 asked (0 failed) in *",
                                 "causal: 32 of 32 instances*; complete"])
    whole = last_summary(pytester)
    assert whole["complete"] == {"causal": True} and whole["tasks"]["causal"]["all"]["correct"] == 32
    assert "100.0, lenient 100.0 (+0), n=32" in board(pytester)
    assert resolve_run(results, f"{model}@latest").name == whole["run_id"]


def test_a_run_recorded_complete_with_failed_requests_is_not_the_score_either(tmp_path):
    """A summary written before failed requests made a run partial says ``complete`` with errors (a trial's
    leaderboard read "19.9, lenient 19.9 (+0), n=1000" for 801 failed of 1000); so does one from before
    completeness was recorded. Neither is the score: the leaderboard lists it as partial, with the errors."""
    from oraclebench.errors import UsageError
    from oraclebench.records import Record, errors_reason, resolve_run, task_complete, write_run
    from oraclebench.summary import summarize, write_leaderboard

    def run(run_id: str, complete: bool | None) -> dict:
        records = [Record(run_id=run_id, model="m", task="causal", instance_id=f"causal-v1-{i:04d}", label="x",
                          bucket={}, split="unknown", prompt="p", completion="", parsed=None, expected="x",
                          correct=i < 4, reason="", error="gone" if i >= 12 else None) for i in range(32)]
        summary = summarize(records, run_id=run_id, model="m")
        if complete is not None:
            summary["complete"] = {"causal": complete}
        write_run(tmp_path, run_id, records, summary)
        return summary

    # 32 instances, as many as the frozen set: complete by count, but for the 20 errors
    assert not task_complete(run("20260101T000000-000000-m", None), "causal")
    assert not task_complete(run("20260102T000000-000000-m", True), "causal")
    text = write_leaderboard(tmp_path).read_text()
    assert "12.5" not in text and "no complete run [1]" in text
    assert f"20260102T000000-000000-m: {errors_reason(20)}" in text
    assert errors_reason(1, cached=False) == "1 request error: not measured (rerun to ask them again)"
    with pytest.raises(UsageError, match="m has no complete run"):
        resolve_run(tmp_path, "m@latest")


def test_a_complete_run_of_an_older_version_of_a_set_is_not_the_score(tmp_path):
    """judge's set is v2 (v1 tied the right answer's position to the masking): a run that scored all of
    v1 was recorded complete, and would have stood on the leaderboard as the model's judge score beside
    runs of v2. The summary records the version it scored; one written before that scored v1, the only
    version any set had then. A task whose set is still v1 keeps such runs."""
    from oraclebench.records import Record, partial_reason, task_complete, write_run
    from oraclebench.summary import leaderboard_rows, summarize, write_leaderboard

    def run(run_id: str, task: str, version: str | None) -> dict:
        records = [Record(run_id=run_id, model="m", task=task, instance_id=f"{task}-{version or 'v1'}-{i:04d}",
                          label="x", bucket={}, split="unknown", prompt="p", completion="", parsed=None,
                          expected="x", correct=i < 3, reason="") for i in range(6)]
        summary = summarize(records, run_id=run_id, model="m")
        summary["complete"] = {task: True}
        summary["coverage"] = {task: {"instances": 6, "of": 6, "strata": 1, "of_strata": 1}
                               | ({"version": version} if version else {})}
        write_run(tmp_path, run_id, records, summary)
        return summary

    before = run("20260101T000000-000000-m", "judge", None)
    v1 = run("20260102T000000-000000-m", "judge", "v1")
    assert not task_complete(before, "judge") and not task_complete(v1, "judge")
    assert partial_reason(v1, "judge") == "scored judge's set v1, not its current v2: rerun to score v2"
    assert task_complete(run("20260103T000000-000000-m", "causal", None), "causal")  # causal's set is v1
    (row,), notes = leaderboard_rows(tmp_path)
    assert row["judge"] == "no complete run [1]" and row["run"] == "20260103T000000-000000-m"
    assert "20260102T000000-000000-m: scored judge's set v1" in notes[0]
    assert "scored judge's set v1, not its current v2" in write_leaderboard(tmp_path).read_text()
    assert task_complete(run("20260104T000000-000000-m", "judge", "v2"), "judge")
    (row,), notes = leaderboard_rows(tmp_path)
    assert row["judge"].startswith("50.0, ") and row["run"].endswith("20260104T000000-000000-m") and notes == []


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["one process", "xdist"])
def test_x_is_recorded_as_stopped_early_not_interrupted(bench, pytester, workers):
    """xdist's controller stops at ``-x`` by raising a KeyboardInterrupt (exit status 2): the summary
    said "interrupted" where one process says "stopped early" (found by a trial)."""
    if workers:
        pytest.importorskip("xdist")
    bench("--model", "random", "--task", "causal", "-x", *workers)
    part = last_summary(pytester)
    assert (part["stopped_early"], part["interrupted"]) == (True, False)
    assert "stopped early (-x/--maxfail 1)" in part["partial"]["causal"]


@pytest.mark.parametrize("model, line", [
    ("hf:{path}/no-checkpoint", "ERROR: hf:*/no-checkpoint: no such directory*"),
    ("python:./broken_at_import.py:answer", "ERROR: python:./broken_at_import.py:answer: importing *RuntimeError: boom*"),
    ("python:./broken_in_gw1.py:answer", "ERROR: python:./broken_in_gw1.py:answer: importing *RuntimeError: only gw1*"),
], ids=["missing checkpoint", "module raising at import", "on one worker only"])
def test_under_xdist_a_model_that_does_not_load_is_one_line_and_exit_4(bench, pytester, model, line):
    """In one process a model that does not load is a usage error. Under -n its workers raised it and the
    controller failed with a 40-line INTERNALERROR, exit 3 (found by a review); then each worker stopped
    after collection, and xdist printed its "Interrupted" banner and the skipped items around the line."""
    pytest.importorskip("xdist")
    pytester.makepyfile(broken_at_import="raise RuntimeError('boom')", broken_in_gw1="""
        import os

        if os.environ.get("PYTEST_XDIST_WORKER") == "gw1":  # as an out-of-memory on one worker would
            raise RuntimeError("only gw1")

        def answer(prompts):
            return [" 1" for _ in prompts]
    """)
    result = bench("--model", model.format(path=pytester.path), "--task", "causal", "-n", "2")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stdout.fnmatch_lines([line])
    out = result.stdout.str() + result.stderr.str()
    assert "INTERNALERROR" not in out and "Traceback" not in out and out.count("ERROR: ") == 1
    assert "Interrupted" not in out and "skipped" not in out and "passed" not in out
    assert "Different tests were collected" not in out and len(out.splitlines()) < 12
    assert not (pytester.path / "results" / "runs").exists() or not list((pytester.path / "results" / "runs").iterdir())


ANSWERS = """
def answer(prompts):
    return [" 1" for _ in prompts]
"""


def test_when_the_only_xdist_worker_is_killed_mid_run_the_summary_keeps_the_models_identity(bench, pytester):
    """Its identity (the answer cache's key) came from the worker's last message, which a killed worker
    never sends: the summary named the model by its bare name, and its partial reason did not say why
    instances were missing (found by a trial)."""
    pytest.importorskip("xdist")
    pytester.makepyfile(answers=ANSWERS)
    model = "python:./answers.py:answer"
    bench("--model", model, "--task", "causal", "--limit", "3")
    whole = last_summary(pytester)
    assert whole["identity"] != model  # it names the module's contents, not only the model
    pytester.makeconftest(f"""
        import itertools, os, signal

        COUNT = itertools.count()

        def pytest_runtest_teardown(item):
            # The run's worker, not this test's process (which is itself an xdist worker under -n).
            if os.getpid() != {os.getpid()} and next(COUNT) == 4:
                os.kill(os.getpid(), signal.SIGKILL)
    """)
    bench("--model", model, "--task", "causal", "-n", "1", "--max-worker-restart", "0")
    killed = last_summary(pytester)
    assert killed["run_id"] != whole["run_id"] and killed["tasks"]["causal"]["all"]["n"] == 5
    assert killed["identity"] == whole["identity"]
    assert killed["partial"]["causal"] == "5 of 32 instances (1 xdist worker crashed)"


def test_ctrl_c_after_the_model_answered_keeps_the_run_marked_interrupted(bench, pytester):
    pytester.makeconftest("""
        import itertools
        COUNT = itertools.count()

        def pytest_runtest_teardown(item):
            if next(COUNT) == 9:
                raise KeyboardInterrupt
    """)
    result = bench("--model", "oracle", "--task", "causal", no_reraise_ctrlc=True)
    assert result.ret == pytest.ExitCode.INTERRUPTED
    summary = last_summary(pytester)
    assert summary["interrupted"] and summary["complete"] == {"causal": False}
    assert summary["tasks"]["causal"]["all"]["n"] == 10 and "interrupted" in summary["partial"]["causal"]
    assert "no complete run [1]" in board(pytester)


def test_report_without_a_complete_run_says_so_and_reports_named_runs(bench, pytester, tmp_path):
    """`--report` after a `--limit 5` run wrote a report whose Leaderboard ("from each model's latest complete
    run") showed the partial run as a plain row, while `oraclebench report` on the same folder refused (found
    by a trial). `--report` is `oraclebench report`, or where that refuses `oraclebench report --run` of this
    run, and says so; that report's leaderboard says where its rows come from and marks the partial one."""
    result = bench("--model", "oracle", "--task", "causal", "--limit", "5", "--report")
    run_id, results = last_summary(pytester)["run_id"], str(pytester.path / "results")
    result.stdout.fnmatch_lines([f"WARNING: no complete run of any model under {results} (partial runs: oracle causal: "
                                 f"{run_id} (5 of 32 instances (--limit 5))); score the whole frozen set, or name runs "
                                 f"with --run RUN_ID: the report is of this run, as `oraclebench report --results "
                                 f"{results} --run {run_id}` writes it"])

    def report(*args: str) -> subprocess.CompletedProcess:  # a process of its own: matplotlib after pytester runs
        return subprocess.run([sys.executable, "-m", "oraclebench.cli", "report", "--results", results, "--out",
                               str(tmp_path / "r"), *args], cwd=ROOT, capture_output=True, text=True, timeout=300,
                              env={**os.environ, "PYTHONPATH": str(ROOT)})

    refused = report()
    assert refused.returncode == 2 and "no complete run of any model" in refused.stderr
    named = report("--run", run_id)
    assert named.returncode == 0, named.stderr
    md = (tmp_path / "r" / "report.md").read_text()
    assert "causal: PARTIAL (5 of 32 instances (--limit 5))" in md
    board = md.split("## Leaderboard", 1)[1].split("\n## ", 1)[0]
    assert "latest complete run" not in board and "from the runs named with --run" in board
    assert "| oracle (PARTIAL) " in board  # a partial run's row says so where its accuracy is

    def body(path: Path) -> list[str]:  # the report less its header (folder and build time)
        return path.read_text().splitlines()[3:]

    assert body(pytester.path / "results" / "report" / "report.md") == body(tmp_path / "r" / "report.md")


# --------------------------------------------------------------------------------- -n N

COUNTING_MODEL = '''
import os
import time
from pathlib import Path


def answer(prompts):
    """Right on multiplication; logs its process and how many prompts each call got."""
    with Path(os.environ["OB_CALL_LOG"]).open("a") as fh:
        fh.write(f"{os.getpid()} {len(prompts)}\\n")
    time.sleep(float(os.environ.get("OB_SLEEP", "0")))
    out = []
    for p in prompts:
        a, b = p.split("is ")[1].split("?")[0].split(" × ")
        out.append(f" {int(a) * int(b)}\\n")
    return out


answer.batch_size = int(os.environ.get("OB_BATCH", "10"))
'''


@pytest.fixture
def counting(pytester: pytest.Pytester, monkeypatch):
    (pytester.path / "counting_model.py").write_text(COUNTING_MODEL)
    log = pytester.path / "calls.log"
    monkeypatch.setenv("OB_CALL_LOG", str(log))
    return log


def _asked(log: Path) -> list[tuple[int, int]]:
    return [tuple(map(int, line.split())) for line in log.read_text().splitlines()] if log.exists() else []


def test_workers_ask_each_instance_once_in_total(counting, tmp_path, pytester):
    pytest.importorskip("xdist")
    results = tmp_path / "results"
    cmd = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", str(ROOT / "benchmark"), "-n", "2",
           "--model", "python:counting_model:answer", "--task", "multiplication", "--limit", "40",
           "--results", str(results), "--rootdir", str(ROOT)]
    env = {**os.environ, "PYTHONPATH": f"{pytester.path}{os.pathsep}{ROOT}", "OB_SLEEP": "1"}
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    asked = _asked(counting)
    assert sum(n for _, n in asked) == 40  # not 80: each instance asked by one worker only
    # ... split between them: each call takes a second, so the other worker takes its own half meanwhile
    per_worker = {pid: sum(n for p, n in asked if p == pid) for pid, _ in asked}
    assert sorted(per_worker.values()) == [20, 20]
    summary = list_runs(results)[-1]
    assert summary["timing"]["multiplication"]["computed"] == 40
    assert summary["tasks"]["multiplication"]["all"]["correct"] == 40
    assert "multiplication: 40 requests, 0 from the cache, 40 asked (0 failed) by 2 of 2 workers" in done.stdout
    assert not (results / ".inflight").exists() or not any((results / ".inflight").iterdir())


def test_killing_the_controller_stops_the_workers_asking(counting, tmp_path, pytester):
    pytest.importorskip("xdist")
    cmd = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", str(ROOT / "benchmark"), "-n", "2",
           "--model", "python:counting_model:answer", "--task", "multiplication", "--limit", "200",
           "--results", str(tmp_path / "results"), "--rootdir", str(ROOT)]
    env = {**os.environ, "PYTHONPATH": f"{pytester.path}{os.pathsep}{ROOT}", "OB_SLEEP": "0.2", "OB_BATCH": "1"}
    controller = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while len(_asked(counting)) < 3 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(_asked(counting)) >= 3, "the workers never started asking"
        controller.kill()
        controller.wait(timeout=30)
        time.sleep(2)  # the watchdog checks every 0.2 s; a call in flight ends within 0.2 s
        settled = len(_asked(counting))
        time.sleep(2)
        assert len(_asked(counting)) == settled < 200  # nobody asks any more
        for pid in {pid for pid, _ in _asked(counting)}:
            with pytest.raises(ProcessLookupError):
                os.kill(pid, 0)
    finally:
        if controller.poll() is None:
            controller.kill()


def test_an_interrupt_sent_to_the_controller_alone_stops_the_workers_asking(counting, tmp_path, pytester):
    """``kill -INT`` or ``timeout -s INT`` interrupts the controller only: xdist asks each worker to exit
    after its item, a whole share's batch of requests, and kills it 10 s later; the workers went on
    asking the model meanwhile (found by review: 157 requests after the signal). They stop as at a Ctrl-C."""
    pytest.importorskip("xdist")
    results = tmp_path / "results"
    cmd = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", str(ROOT / "benchmark"), "-n", "2",
           "--model", "python:counting_model:answer", "--task", "multiplication", "--limit", "200",
           "--results", str(results), "--rootdir", str(ROOT)]
    env = {**os.environ, "PYTHONPATH": f"{pytester.path}{os.pathsep}{ROOT}", "OB_SLEEP": "0.2", "OB_BATCH": "1"}
    controller = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 120
        while len(_asked(counting)) < 3 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(_asked(counting)) >= 3, "the workers never started asking"
        controller.send_signal(signal.SIGINT)
        time.sleep(1.5)  # the workers look for the mark every 0.2 s; a call in flight takes 0.2 s
        settled = len(_asked(counting))
        out, _ = controller.communicate(timeout=60)
        assert len(_asked(counting)) == settled < 100, out[-3000:]  # nobody asked after the first second
    finally:
        if controller.poll() is None:
            controller.kill()
    # What was answered is kept, as at a Ctrl-C: every answer given is in the cache (each call is logged as it
    # starts: the last call of each worker may have been cut short unanswered), and a rerun asks only the rest.
    with sqlite3.connect(results / "cache.sqlite") as db:
        cached = db.execute("SELECT COUNT(*) FROM responses").fetchone()[0]
    assert settled - 2 <= cached <= settled
    counting.unlink()
    env["OB_SLEEP"] = "0"
    rerun = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stdout[-3000:]
    assert sum(n for _, n in _asked(counting)) == 200 - cached
    assert list_runs(results)[-1]["tasks"]["multiplication"]["all"]["correct"] == 200


# --------------------------------------------------------------------------------- mistakes and output


@pytest.mark.parametrize("args, message", [
    (["--task", "multiplcation"], "ERROR: --task multiplcation: no such task (did you mean 'multiplication'?)*"),
    (["-m", "multiplcation"], "ERROR: -m 'multiplcation': 'multiplcation' is no task or marker (did you mean "
                              "'multiplication'?)*"),
])
def test_a_misspelt_task_is_one_error_line_with_exit_4(bench, args, message):
    result = bench("--model", "oracle", *args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([message])
    assert "Traceback" not in result.stdout.str() + result.stderr.str()


def test_the_default_output_ends_with_the_summary_table(bench, pytester):
    result = bench("--model", "random", "-m", "judge")
    lines = result.stdout.lines
    assert not any(line.startswith("FAILED ") for line in lines)  # was 290 lines of them
    assert len(lines) < 60
    table = [i for i, line in enumerate(lines) if line.startswith("| task ")]
    assert table and lines[table[0] + 2].startswith("| judge")
    assert lines[-1].startswith("=") and "failed" in lines[-1]  # pytest's own count, then nothing else
    assert all(len(line) <= 100 for line in lines[table[0]:])
    header = [c.strip() for c in lines[table[0]].split("|")[1:-1]]
    assert header[-3:] == ["wrong", "no answer", "errors"]
    row = [c.strip() for c in lines[table[0] + 2].split("|")[1:-1]]
    cell = last_summary(pytester)["tasks"]["judge"]["all"]
    wrong = int(row[header.index("wrong")])
    assert wrong == cell["n"] - cell["correct"] - cell["errors"] - cell["noanswer"] == result.parseoutcomes()["failed"]


def test_per_item_failures_stay_available(bench, pytester):
    junit = pytester.path / "junit.xml"
    result = bench("--model", "random", "-m", "judge", "--limit", "20", "-rf", "--junitxml", str(junit))
    failed = result.parseoutcomes()["failed"]
    assert sum(line.startswith("FAILED ") for line in result.stdout.lines) == failed
    assert junit.read_text().count("<failure") == failed
    result = bench("--model", "random", "-m", "judge", "--limit", "20", "--tb=short")
    result.stdout.fnmatch_lines(["wrong answer on judge-v2-* (unknown, *)"])


def test_a_crash_outside_the_answers_is_still_shown_whole(bench, pytester):
    pytester.makeconftest("""
        import itertools
        COUNT = itertools.count()

        def pytest_runtest_call(item):
            if next(COUNT) == 3:
                raise RuntimeError("a bug in someone's conftest")
    """)
    result = bench("--model", "oracle", "--task", "judge", "--limit", "10")
    result.stdout.fnmatch_lines(["*RuntimeError: a bug in someone's conftest*"])


def test_fresh_on_a_model_whose_manifest_declares_its_training_rows(tmp_path):
    from oraclebench.models import declared_training
    from oraclebench.cli import main
    from oraclebench.tasks import get_task

    assert main(["generate", "causal", "--n", "40", "--seed", "0", "--omit", "1,1,1,1,1", "--out", str(tmp_path)]) == 0
    data = declared_training(f"hf:{tmp_path}")
    task = get_task("causal")
    trained = task.training_identities(data["causal"])
    fresh, dropped = task.fresh_draws(32, seed=0, exclude=trained)
    assert dropped == len(trained) and len(fresh) == 32 - len(trained)
    assert "1,1,1,1,1" in {i.label for i in fresh}  # held out of training, so fresh for this model
    assert json.loads((tmp_path / "manifest.json").read_text())["training_data"]["count"] == 40


def _shares(tmp_path: Path):
    from oraclebench.workers import SharedAnswers

    return SharedAnswers(tmp_path, "run", "multiplication")


def _scorer(insts_asked: list):
    from oraclebench.models import load_model
    from oraclebench.runner import evaluate

    def answer(part):
        insts_asked.extend(i.id for i in part)
        return evaluate(load_model("oracle"), part, "run")
    return answer


def test_a_share_whose_worker_died_holding_it_is_answered_by_another(tmp_path):
    from oraclebench.sets import load_set

    insts = load_set("multiplication")[:10]
    shares = _shares(tmp_path)
    shares.dir.mkdir(parents=True)
    # A worker took share 1's lock and died before writing it: the lock dies with its process.
    holder = subprocess.Popen([sys.executable, "-c", "import fcntl, sys, time; fh = open(sys.argv[1], 'w'); "
                               "fcntl.flock(fh, fcntl.LOCK_EX); print(flush=True); time.sleep(0.5)",
                               str(shares.dir / "multiplication.1.lock")], stdout=subprocess.PIPE)
    holder.stdout.readline()  # it holds the lock now
    asked: list = []
    records = shares.records(insts, _scorer(asked), workers=2, first=0)
    holder.wait(timeout=30)
    assert sorted(asked) == sorted(i.id for i in insts)  # its own half, then the dead worker's half
    assert [r.instance_id for r in records] == [i.id for i in insts] and all(r.correct for r in records)


def test_the_workers_shares_are_dealt_every_nth_instance_and_read_back_in_order(tmp_path):
    """A frozen set is ordered by stratum (abcd's from the shortest traces to the longest): dealt, not
    cut in halves, each worker gets as many long ones."""
    from oraclebench.sets import load_set

    insts = load_set("multiplication")[:11]
    calls: list[list[str]] = []

    def answer(part):
        calls.append([i.id for i in part])
        return _scorer([])(part)

    records = _shares(tmp_path).records(insts, answer, workers=3, first=1)  # a lone worker answers all three
    ids = [i.id for i in insts]
    assert calls == [ids[1::3], ids[2::3], ids[0::3]]  # its own share first, then the others' from the last
    assert [r.instance_id for r in records] == ids


@pytest.mark.parametrize("items, workers, shares", [(10, 2, 2), (932, 2, 2), (1023, 2, 2), (1024, 2, 4),
                                                    (4000, 2, 14), (100_000, 2, 16), (100_000, 16, 128), (3, 4, 3)])
def test_a_task_is_dealt_into_a_few_shares_per_worker_each_at_least_a_first_batch(items, workers, shares):
    """A whole number of shares per worker, each of at least 256 instances (the adapter's first batch),
    at most 8 per worker, never more shares than instances."""
    from oraclebench.workers import share_count

    assert share_count(items, workers) == shares


def test_a_worker_done_with_its_shares_takes_over_the_others_from_the_last(tmp_path):
    """Shares dealt alike cost unlike: the worker done first answers the shares no one has begun,
    from the far end (their owner goes in order), and waits only for a share another worker holds."""
    from oraclebench.tasks import get_task

    insts, _ = get_task("multiplication").fresh_draws(1100, seed=0)
    shares = _shares(tmp_path)
    shares.dir.mkdir(parents=True)
    # The other worker (index 0) is answering its first share, 0, and dies before writing it.
    holder = subprocess.Popen([sys.executable, "-c", "import fcntl, sys, time; fh = open(sys.argv[1], 'w'); "
                               "fcntl.flock(fh, fcntl.LOCK_EX); print(flush=True); time.sleep(0.5)",
                               str(shares.dir / "multiplication.0.lock")], stdout=subprocess.PIPE)
    holder.stdout.readline()
    calls: list[list[str]] = []

    def answer(part):
        calls.append([i.id for i in part])
        return _scorer([])(part)

    records = shares.records(insts, answer, workers=2, first=1)
    holder.wait(timeout=30)
    ids = [i.id for i in insts]
    assert calls == [ids[1::4], ids[3::4], ids[2::4], ids[0::4]]  # its own two, the other's last, then the held one
    assert [r.instance_id for r in records] == ids


@pytest.mark.parametrize("when, keeps", [("setup", True), ("call", False), ("teardown", True)])
def test_an_xdist_worker_sends_an_items_record_on_its_setup_and_teardown_reports_only(when, keeps):
    """Setup: the first report the controller reads (an item stopped mid-call keeps its record);
    teardown: the one junitxml writes properties from; call: sent once more for nothing."""
    from oraclebench.plugin import OUTCOME_KEY
    from oraclebench.workers import OneRecordPerSend
    from oraclebench.records import RECORD_KEY

    report = pytest.TestReport("t.py::t[x]", ("t.py", 0, "t"), {}, "failed", "wrong", when, [],
                               user_properties=[(RECORD_KEY, {"instance_id": "x"}), (OUTCOME_KEY, when)])
    OneRecordPerSend().pytest_runtest_logreport(report)
    assert report.user_properties == ([(RECORD_KEY, {"instance_id": "x"})] if keeps else []) + [(OUTCOME_KEY, when)]


SEEN_REPORTS = """
    import json, os

    WHO = []

    def pytest_configure(config):  # not PYTEST_XDIST_WORKER: under -n this test's own process has it
        WHO.append(config.workerinput["workerid"] if hasattr(config, "workerinput") else "controller")

    def pytest_runtest_logreport(report):
        with open(os.path.join({folder!r}, WHO[-1] + ".jsonl"), "a") as fh:
            fh.write(json.dumps([report.nodeid, report.when, report.outcome,
                                 any(k == {key!r} for k, _ in report.user_properties)]) + "\\n")
"""


def seen_reports(folder: Path, who: str) -> list[tuple]:
    path = folder / f"{who}.jsonl"
    return [tuple(json.loads(line)) for line in path.read_text().splitlines()] if path.exists() else []


@pytest.mark.parametrize("model", ["oracle", "random"])
def test_an_xdist_worker_sends_a_benchmark_items_call_report_only_with_its_record(bench, pytester, tmp_path, model):
    """Each sent report is serialized and read back, and on 2 cores the controller competes with the
    workers for that: a benchmark item's passing setup and teardown, with nothing on them, stay on the
    worker (its own hooks see them); the call report, pass or wrong answer, carries the record."""
    pytest.importorskip("xdist")
    pytester.makeconftest(SEEN_REPORTS.format(folder=str(tmp_path), key=RECORD_KEY))
    bench("--model", model, "--task", "multiplication", "--limit", "12", "-n", "2")
    controller = seen_reports(tmp_path, "controller")
    outcome = "passed" if model == "oracle" else "failed"
    assert len(controller) == 12 and all(when == "call" and out == outcome and record
                                         for _, when, out, record in controller)
    worker = seen_reports(tmp_path, "gw0") + seen_reports(tmp_path, "gw1")
    assert sorted(when for _, when, _, _ in worker) == ["call"] * 12 + ["setup"] * 12 + ["teardown"] * 12
    summary = last_summary(pytester)
    assert summary["tasks"]["multiplication"]["all"]["n"] == 12
    records = read_records(pytester.path / "results" / "runs" / summary["run_id"])
    assert sorted(r.instance_id.rsplit("-", 1)[1] for r in records) == sorted(
        nodeid.rstrip("]").rsplit("|", 1)[1] for nodeid, *_ in controller)  # ...-v1-0280 and ...|3x3|0280]


def test_an_xdist_worker_sends_a_setup_that_has_something_to_show(bench, pytester, tmp_path):
    pytest.importorskip("xdist")
    pytester.makeconftest(SEEN_REPORTS.format(folder=str(tmp_path), key=RECORD_KEY) + """
    import pytest

    @pytest.fixture(autouse=True)
    def chatty():
        print("said in setup")
    """)
    bench("--model", "oracle", "--task", "multiplication", "--limit", "5", "-n", "2")
    # pytest puts an earlier phase's captured output on the later reports too: the teardown's is sent
    whens = sorted(when for _, when, _, _ in seen_reports(tmp_path, "controller"))
    assert whens == ["call"] * 5 + ["setup"] * 5 + ["teardown"] * 5


@pytest.mark.parametrize("option", ["--junitxml=out.xml", "--durations=3", "--setup-only"])
def test_an_xdist_worker_sends_every_phase_where_the_controller_writes_from_each(bench, pytester, tmp_path, option):
    """junitxml writes a test case's properties from its teardown report, --durations lists the
    setups (a task's first item answers it all in its setup), --setup-only makes no call report."""
    pytest.importorskip("xdist")
    pytester.makeconftest(SEEN_REPORTS.format(folder=str(tmp_path), key=RECORD_KEY))
    bench("--model", "oracle", "--task", "multiplication", "--limit", "4", "-n", "2", option)
    whens = sorted(when for _, when, _, _ in seen_reports(tmp_path, "controller"))
    calls = [] if option == "--setup-only" else ["call"] * 4
    assert whens == calls + ["setup"] * 4 + ["teardown"] * 4
    if option.startswith("--junitxml"):
        assert (pytester.path / "out.xml").read_text().count(f'name="{RECORD_KEY}"') == 4


@pytest.mark.parametrize("option, value, every", [
    ("durations", 0, True), ("durations", None, False), ("xmlpath", "out.xml", True), ("report_log", "log.jsonl", True),
    ("setupplan", True, True), ("htmlpath", "report.html", True), ("json_report", True, True),
    ("allure_report_dir", "allure", True), ("xmlpath", None, False)])
def test_the_options_whose_reports_list_every_phase_make_a_worker_send_every_phase(option, value, every):
    """pytest-html, pytest-json-report and allure-pytest list each phase too (not installed here: read
    from the options they add, by their ``dest``)."""
    import types

    from oraclebench.workers import sends_every_phase

    assert sends_every_phase(types.SimpleNamespace(option=types.SimpleNamespace(**{option: value}))) is every


def test_a_share_another_worker_answered_is_read_not_asked_again(tmp_path):
    from oraclebench.sets import load_set

    insts = load_set("multiplication")[:10]
    first: list = []
    _shares(tmp_path).records(insts, _scorer(first), workers=2, first=1)  # a lone worker answers both
    again: list = []
    records = _shares(tmp_path).records(insts, _scorer(again), workers=2, first=0)
    assert sorted(first) == sorted(i.id for i in insts) and again == []
    assert [r.instance_id for r in records] == [i.id for i in insts]
