"""The pytest plugin, driven through pytest's own ``pytester``: what `pytest benchmark --model NAME` promises."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pandas  # noqa: F401 - imported once here: pytester's in-process runs cannot re-import numpy
import pytest

from oraclebench.records import list_runs, read_records

ROOT = Path(__file__).resolve().parent.parent
pytest_plugins = ["pytester"]



def summary_of(pytester: pytest.Pytester, model: str) -> dict:
    return [s for s in list_runs(pytester.path / "results") if s["model"] == model][-1]


def test_oracle_passes_every_item_of_every_task_and_writes_results(bench, pytester):
    result = bench("--model", "oracle", "--limit", "60")
    result.assert_outcomes(passed=3 * 60 + 32)  # causal has only its 32 inputs
    summary = summary_of(pytester, "oracle")
    assert set(summary["tasks"]) == {"abcd", "causal", "judge", "multiplication"}
    for task, splits in summary["tasks"].items():
        assert splits["all"]["accuracy"] == 1.0, task
        assert splits["all"]["errors"] == 0
    records = read_records(Path(summary["path"]))
    assert len(records) == 212 and len({r.instance_id for r in records}) == 212
    assert all(r.correct and r.split == "unknown" for r in records)  # the oracle has no training manifest
    board = (pytester.path / "results" / "leaderboard.md").read_text()
    # causal's 32 are its whole set: a score; 60 of abcd's 932 are a partial run: never a score
    assert "| oracle" in board and "100.0, lenient 100.0 (+0), n=32, split unknown" in board and "n=60" not in board
    assert "no complete run [" in board and "60 of 932 instances (--limit 60)" in board
    result.stdout.fnmatch_lines(["*oraclebench*", "*causal*all (unknown)*32*100.0*"])


def test_item_ids_are_readable(bench):
    result = bench("--model", "oracle", "--task", "multiplication", "--limit", "3", "--collect-only", "-q")
    result.stdout.fnmatch_lines(["benchmark/test_multiplication.py::test_multiplication[[]oracle|1x1|*[]]"])


def test_a_wrong_answer_is_reported_by_its_few_lines_without_a_traceback(bench):
    result = bench("--model", "random", "--task", "causal", "--limit", "4", "-rf", "--tb=short")
    outcomes = result.parseoutcomes()
    assert outcomes.get("failed", 0) >= 1 and outcomes.get("failed", 0) + outcomes.get("passed", 0) == 4
    result.stdout.fnmatch_lines([
        "_*_ test_causal[[]random|*[]] _*_",
        "wrong answer on causal-v1-* (unknown, *)",
        "  prompt:    *",
        "  expected:  {*}",
        "  answer:    *",
        "  parsed:    *",
        "  reason:    *expected*got*",
    ])
    result.stdout.fnmatch_lines(["FAILED benchmark/test_causal.py::test_causal[[]random|*[]] - wrong*"])
    assert "assert_correct" not in result.stdout.str() and "Failed:" not in result.stdout.str()


PROSE_MODEL = """
def answer(prompts):
    return ["Let me think about it." for _ in prompts]
"""


def test_a_failed_item_is_headed_no_answer_when_the_model_wrote_no_answer(bench, pytester, monkeypatch):
    """Prose has no product in it: the summary counts it under "no answer", and so does the item's header."""
    pytest.importorskip("oraclebench.models.pycall")
    (pytester.path / "prose_model.py").write_text(PROSE_MODEL)
    monkeypatch.syspath_prepend(str(pytester.path))
    result = bench("--model", "python:prose_model:answer", "--task", "multiplication", "--limit", "3", "--tb=short")
    result.assert_outcomes(failed=3)
    cell = summary_of(pytester, "python:prose_model:answer")["tasks"]["multiplication"]["all"]
    assert (cell["noanswer"], cell["wrong"]) == (3, 0)
    result.stdout.fnmatch_lines(["no answer on multiplication-v1-* (unknown, *)",
                                 "  answer:    Let me think about it."])
    assert sum(line.startswith("no answer on ") for line in result.stdout.lines) == 3
    assert "wrong answer on" not in result.stdout.str()


@pytest.mark.parametrize("status, header", [("wrong", "wrong answer"), ("no_answer", "no answer"),
                                            ("truncated", "truncated answer"), ("error", "error")])
def test_a_failed_items_header_names_its_status_as_the_summary_columns_do(status, header):
    """The summary's columns: wrong, no answer, truncated, errors."""
    from oraclebench.plugin import explain
    from oraclebench.records import Record

    record = Record(run_id="r", model="m", task="multiplication", instance_id="multiplication-v1-0007", label="2x2",
                    bucket={}, split="unknown", prompt="Q: What is 12 × 34? A:", completion="", parsed=None,
                    expected=408, correct=False, reason="", status=status)
    assert explain(record).splitlines()[0] == f"{header} on multiplication-v1-0007 (unknown, 2x2)"


def test_the_summary_says_what_was_asked_and_how_long_the_model_took(bench, pytester):
    bench("--model", "oracle", "--task", "causal", "--limit", "5")
    first = summary_of(pytester, "oracle")["timing"]["causal"]
    assert (first["requested"], first["cached"], first["computed"], first["errors"]) == (5, 0, 5, 0)
    result = bench("--model", "oracle", "--task", "causal", "--limit", "5")
    again = summary_of(pytester, "oracle")["timing"]["causal"]
    assert (again["requested"], again["cached"], again["computed"]) == (5, 5, 0)
    result.stdout.fnmatch_lines(["causal: 5 requests, 5 from the cache, 0 asked (0 failed) in *s"])


def test_under_xdist_every_record_and_the_model_time_reach_the_controller(bench, pytester):
    pytest.importorskip("xdist")
    result = bench("--model", "oracle", "--task", "causal", "-n", "2")
    result.assert_outcomes(passed=32)
    summary = summary_of(pytester, "oracle")
    records = read_records(Path(summary["path"]))
    assert sorted(r.instance_id for r in records) == sorted({r.instance_id for r in records}) and len(records) == 32
    timing = summary["timing"]["causal"]
    # Each instance asked once in the whole run: a worker answers its share, or both where the other
    # had not started yet (the oracle answers at once).
    assert timing["workers"] in (1, 2) and timing["requested"] == 32
    result.stdout.fnmatch_lines(["causal: 32 requests, * from the cache, * asked (0 failed) by ? of 2 workers*in *s"])


def test_random_lands_near_chance_on_judge_and_fails_a_high_floor(bench, pytester):
    gates = pytester.path / "gates.toml"
    gates.write_text('[random]\njudge = 0.9\n')
    result = bench("--model", "random", "--task", "judge", "--gate", str(gates))
    assert result.ret == 1
    accuracy = summary_of(pytester, "random")["tasks"]["judge"]["all"]["accuracy"]
    assert 0.4 < accuracy < 0.6
    result.stdout.fnmatch_lines(["*FAIL random judge: measured 0.*, floor 0.9000*", "*a gate failed*"])


def test_a_floor_that_holds_exits_zero_whatever_the_wrong_answers(bench, pytester):
    gates = pytester.path / "gates.toml"
    gates.write_text('[random]\njudge = 0.3\n"judge.all" = 0.3\n')
    result = bench("--model", "random", "--task", "judge", "--gate", str(gates))
    outcomes = result.parseoutcomes()
    assert outcomes["failed"] > 0 and outcomes["passed"] > 0
    assert result.ret == 0
    result.stdout.fnmatch_lines(["*PASS random judge: measured*", "*all gates hold*"])


@pytest.mark.parametrize("text, message", [
    ("[random\njudge = 0.3\n", "*is not valid TOML*"),
    ("[random]\njudge = 3\n", "*must be a number between 0 and 1*"),
    ("[random]\n\"judge.train\" = 0.5\n", "*split must be one of all, trained, unseen, heldout, seen (seen: trained, unseen and seen together)*"),
    ("[somebody-else]\njudge = 0.5\n", "*has no [[]random[]] table*"),
])
def test_a_malformed_gate_file_is_a_usage_error(bench, pytester, text, message):
    gates = pytester.path / "gates.toml"
    gates.write_text(text)
    result = bench("--model", "random", "--task", "judge", "--limit", "4", "--gate", str(gates))
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    output = result.stdout.lines + result.stderr.lines
    errors = [line for line in output if "ERROR" in line and "gate" in line]
    assert errors, output
    pytest.LineMatcher(errors).fnmatch_lines([message])
    assert "Traceback" not in "\n".join(output)


def test_a_gate_for_a_task_that_did_not_run_is_an_error_not_a_pass(bench, pytester):
    gates = pytester.path / "gates.toml"
    gates.write_text("[oracle]\nabcd = 0.5\n")
    result = bench("--model", "oracle", "--task", "causal", "--gate", str(gates))
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stdout.fnmatch_lines(["*ERROR gate*task 'abcd' did not run*"])


def test_missing_model_and_unknown_model_are_one_line_errors(bench):
    result = bench()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: --model is required*"])
    result = bench("--model", "orcale")
    result.stderr.fnmatch_lines(["ERROR: unknown model 'orcale' (did you mean 'oracle'?)*"])


def test_heldout_spec_splits_results_seen_and_heldout(bench, pytester):
    result = bench("--model", "oracle", "--task", "causal", "--heldout", "causal:omitted=1,0,1,0,1;0,0,0,0,0")
    result.assert_outcomes(passed=32)
    splits = summary_of(pytester, "oracle")["tasks"]["causal"]
    assert splits["heldout"]["n"] == 2 and splits["seen"]["n"] == 30
    board = (pytester.path / "results" / "leaderboard.md").read_text()
    assert "causal (heldout)" in board


def test_fresh_instances_come_from_the_strategy_and_are_reproducible(bench, pytester):
    bench("--model", "oracle", "--task", "multiplication", "--fresh", "25", "--seed", "7").assert_outcomes(passed=25)
    first = {r.prompt for r in read_records(Path(summary_of(pytester, "oracle")["path"]))}
    bench("--model", "oracle", "--task", "multiplication", "--fresh", "25", "--seed", "7").assert_outcomes(passed=25)
    second = {r.prompt for r in read_records(Path(summary_of(pytester, "oracle")["path"]))}
    assert first == second and all(r.endswith("A:") for r in first)


FLAKY_MODEL = '''
import os
from pathlib import Path

from oraclebench.models.baselines import OracleModel
from oraclebench.tasks import get_task

LOG = Path(os.environ["OB_CALL_LOG"])


def answer(prompts):
    """Right on every prompt, except that it raises on prompts mentioning 7 (a failing request)."""
    with LOG.open("a") as fh:
        fh.write(f"{len(prompts)}\\n")
    if os.environ.get("OB_DIE_AFTER") and len(LOG.read_text().split()) > int(os.environ["OB_DIE_AFTER"]):
        os.kill(os.getpid(), 9)
    out = []
    for p in prompts:
        if "7" in p and not os.environ.get("OB_NEVER_RAISE"):
            raise RuntimeError("server said no")
        a, b = p.split("is ")[1].split("?")[0].split(" × ")
        out.append(f" {int(a) * int(b)}\\n")
    return out


answer.batch_size = 10
'''


@pytest.fixture
def flaky(pytester: pytest.Pytester, monkeypatch):
    (pytester.path / "flaky_model.py").write_text(FLAKY_MODEL)
    monkeypatch.syspath_prepend(str(pytester.path))
    log = pytester.path / "calls.log"
    monkeypatch.setenv("OB_CALL_LOG", str(log))
    return log


def test_errors_from_a_model_that_raises_are_counted_apart(bench, pytester, flaky):
    pytest.importorskip("oraclebench.models.pycall")
    result = bench("--model", "python:flaky_model:answer", "--task", "multiplication", "--limit", "100")
    outcomes = result.parseoutcomes()
    cell = summary_of(pytester, "python:flaky_model:answer")["tasks"]["multiplication"]["all"]
    assert outcomes["errors"] == cell["errors"] > 0
    assert outcomes.get("failed", 0) == 0  # a failed request is never a wrong answer
    assert cell["correct"] == outcomes["passed"] == 100 - cell["errors"]


def test_a_killed_run_resumes_without_recomputing_finished_requests(pytester, flaky, tmp_path):
    pytest.importorskip("oraclebench.models.pycall")
    results = tmp_path / "results"
    cmd = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", str(ROOT / "benchmark"), "-q",
           "--model", "python:flaky_model:answer", "--task", "multiplication", "--limit", "200",
           "--results", str(results), "--rootdir", str(ROOT)]
    env = {**os.environ, "PYTHONPATH": f"{pytester.path}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
           "OB_NEVER_RAISE": "1"}
    killed = subprocess.run(cmd, cwd=ROOT, env={**env, "OB_DIE_AFTER": "6"}, capture_output=True, timeout=300)
    assert killed.returncode == -signal.SIGKILL
    assert not list((results / "runs").glob("*/records.jsonl")) if (results / "runs").exists() else True
    asked_before = sum(map(int, flaky.read_text().split()))
    flaky.write_text("")
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode in (0, 1), done.stdout[-2000:] + done.stderr[-2000:]
    asked_after = sum(map(int, flaky.read_text().split()))
    runs = list_runs(results)
    assert len(runs) == 1  # the killed run left nothing half-written behind
    records = read_records(Path(runs[0]["path"]))
    assert len(records) == 200 and len({r.instance_id for r in records}) == 200
    # The 6 batches of 10 answered before the kill came from the cache; only the rest was asked.
    assert asked_before == 70 and asked_after == 140
    assert sum(r.cached for r in records) == 60 and all(r.correct for r in records)


def test_the_leaderboard_has_a_row_per_model_with_its_latest_complete_run(bench, pytester):
    bench("--model", "oracle", "--task", "causal")
    bench("--model", "random", "--task", "causal")
    bench("--model", "oracle", "--task", "causal", "--limit", "8")  # newer, but partial
    board = (pytester.path / "results" / "leaderboard.md").read_text()
    rows = [line for line in board.splitlines() if line.startswith("| oracle") or line.startswith("| random")]
    assert len(rows) == 2
    oracle = next(r for r in rows if r.startswith("| oracle"))
    assert "100.0, lenient 100.0 (+0), n=32, split unknown [1]" in oracle and "n=8" not in oracle
    assert "[1] oracle causal: newer partial run(s), not the score: " in board and "8 of 32 instances (--limit 8)" in board


def bench_process(pytester: pytest.Pytester, monkeypatch, *args: str):
    """`pytest benchmark ...` in a process of its own: pytester's in-process run does not capture output
    as a real run does, so a line kept from the terminal would still reach its result."""
    shutil.copytree(ROOT / "benchmark", pytester.path / "benchmark", ignore=shutil.ignore_patterns("sets", "__pycache__"))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(pytester.path), str(ROOT)]))
    return pytester.runpytest_subprocess("-p", "oraclebench.plugin", "-p", "no:cacheprovider", "benchmark",
                                         "--results", str(pytester.path / "results"), *args, timeout=300)


def test_what_the_plugin_says_during_collection_reaches_the_terminal(pytester, monkeypatch):
    # pytest captures output while it collects: a line written then was kept from the terminal.
    checkpoint = pytester.path / "ckpt"
    checkpoint.mkdir()
    (checkpoint / "manifest.json").write_text('{"task": "causal"}')
    result = bench_process(pytester, monkeypatch, "--model", f"hf:{checkpoint}", "--collect-only", "-q")
    result.stdout.fnmatch_lines([f"oraclebench: hf:{checkpoint} was trained on causal; scoring only that "
                                 "(choose others with --task or -m)"])


def test_under_xdist_the_run_says_it_scores_only_the_tasks_the_model_was_trained_on(pytester, monkeypatch):
    pytest.importorskip("xdist")
    checkpoint = pytester.path / "ckpt"
    checkpoint.mkdir()
    (checkpoint / "manifest.json").write_text('{"task": "causal"}')
    result = bench_process(pytester, monkeypatch, "--model", f"hf:{checkpoint}", "-n", "2", "-k", "nothing")
    result.stdout.fnmatch_lines([f"oraclebench: hf:{checkpoint} was trained on causal; scoring only that "
                                 "(choose others with --task or -m)"])
    assert result.stdout.str().count("scoring only that") == 1
    # At the start, as one process says it, not at the end with the summary.
    lines = result.stdout.lines
    said = next(i for i, line in enumerate(lines) if "scoring only that" in line)
    assert said < next(i for i, line in enumerate(lines) if "workers [" in line)  # xdist's collection line


@pytest.mark.parametrize("choice", [["--task", "multiplication"], ["-m", "multiplication"]], ids=["--task", "-m"])
def test_a_task_chosen_by_task_or_by_marker_is_scored_whatever_the_model_trained_on(bench, pytester, choice):
    """The README gives `--task T` and `-m T` one meaning; `-m` scored nothing of a model trained on abcd
    ("scoring only that", exit 5: found by a trial)."""
    pytester.makepyfile(abcd_model="""
        def answer(prompts):
            return [" 1" for _ in prompts]
        answer.manifest = {"task": "abcd"}
    """)
    result = bench("--model", "python:abcd_model:answer", *choice, "--limit", "3")
    assert result.ret == pytest.ExitCode.TESTS_FAILED and result.parseoutcomes()["failed"] == 3
    assert summary_of(pytester, "python:abcd_model:answer")["tasks"].keys() == {"multiplication"}
    assert "scoring only that" not in result.stdout.str()


def test_a_model_failing_the_whole_task_says_so_on_the_terminal(pytester, monkeypatch):
    # The task is answered inside a fixture, whose output pytest captures.
    pytester.makepyfile(refusing_model="""
        from oraclebench.models.base import ModelError
        def answer(prompts):
            raise ModelError("the licence server refused")
    """)
    result = bench_process(pytester, monkeypatch, "--model", "python:refusing_model:answer", "--task", "causal",
                           "--limit", "4")
    result.stdout.fnmatch_lines(["oraclebench: python:refusing_model:answer failed on the whole causal task: "
                                 "ModelError: the licence server refused"])


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["alone", "xdist"])
def test_wrong_answers_are_counted_not_listed_with_or_without_xdist(bench, workers):
    if workers:
        pytest.importorskip("xdist")
    result = bench("--model", "random", "--task", "causal", *workers)
    out = result.stdout.str()
    assert result.ret == pytest.ExitCode.TESTS_FAILED  # random answers: some are wrong
    assert "FAILURES" not in out and "wrong answer on causal" not in out and "FAILED benchmark" not in out
    result.stdout.fnmatch_lines(["wrong answers one by one: -rf, --tb=short, --junitxml FILE, or the run's *",
                                 "| task *| split *|*", "*| causal *| all *|*"])
    listed = bench("--model", "random", "--task", "causal", "-rf", *workers)
    listed.stdout.fnmatch_lines(["FAILED benchmark/test_causal.py::test_causal*"])


@pytest.mark.parametrize("omp, threads", [(None, 1), ("", 1), (" ", 1), ("2", None)])
def test_an_xdist_worker_takes_its_share_of_the_cores_unless_the_user_chose_a_thread_count(monkeypatch, omp, threads):
    """2 workers on 2 cores: one torch thread each. An empty OMP_NUM_THREADS chooses nothing (torch then
    takes a thread per core); a number there is the user's choice and stays."""
    import types

    torch = pytest.importorskip("torch")
    from oraclebench.workers import share_cores

    monkeypatch.setattr("os.cpu_count", lambda: 2)
    if omp is None:
        monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    else:
        monkeypatch.setenv("OMP_NUM_THREADS", omp)
    before = torch.get_num_threads()
    calls = []
    monkeypatch.setattr(torch, "set_num_threads", calls.append)
    config = types.SimpleNamespace(workerinput={"workerid": "gw1", "workercount": 2})
    share_cores(types.SimpleNamespace(config=config, options={}))
    assert calls == ([threads] if threads else [])
    assert torch.get_num_threads() == before


def test_a_python_without_oraclebench_is_told_the_set_up_in_one_line():
    # The checkout's conftest.py loads the plugin; a Python where oraclebench cannot be imported (no
    # set-up yet, or another environment's pytest) gets the set-up command, not pytest's bare import error.
    hide = "import sys; sys.modules['oraclebench'] = None; import pytest; sys.exit(pytest.main(sys.argv[1:]))"
    done = subprocess.run([sys.executable, "-c", hide, "-p", "no:cacheprovider", "benchmark", "--model", "oracle"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 4
    lines = (done.stdout + done.stderr).strip().splitlines()
    assert lines == [f"ERROR: oraclebench is not installed in this Python ({sys.executable}): run the set-up "
                     "first, from the checkout: pip install torch==2.13.0 && pip install -e \".[dev]\""]
