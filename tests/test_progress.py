"""Long work shows progress off a terminal too (issue 21): whole lines with done/total, rate and time
left, from the batched model call under pytest, training and ``explore``, read through a pipe as a CI
log reads them."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from oraclebench.errors import UsageError
from oraclebench.progress import ENV_INTERVAL, Progress, duration, interval_for

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parent.parent

# A pipeline slow enough to be seen: 20 ms a prompt, at most 4 prompts a call, answers each prompt "1"
# (a wrong answer for causal, which is all this test needs: the model is asked and answers).
SLOW = """
import time

def answer(prompts):
    time.sleep(0.02 * len(prompts))
    return ["1" for _ in prompts]

answer.batch_size = 4
"""


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_line_every_interval_with_done_total_rate_and_time_left():
    clock, lines = Clock(), []
    meter = Progress("abcd", 100, "answers", lines.append, interval=30, clock=clock)
    meter.start("answering 100 abcd instances ...")
    clock.now += 10
    meter.advance(25)  # 10 s in: not yet an interval since the start
    assert lines == ["answering 100 abcd instances ..."]
    clock.now += 20
    meter.advance(25)  # 30 s in, 50 done: 50/30 per second, 50 left: 30 s
    assert lines[-1] == "abcd: 50/100 answers (50%), 1.7 answers/s, about 30 s left"
    clock.now += 10
    meter.advance(10, "loss 0.5")
    assert len(lines) == 2  # 10 s after the last line: none
    clock.now += 20
    meter.advance(40)
    assert lines[-1] == "abcd: 100/100 answers (100%), 1.7 answers/s, done in 1 min 00 s, loss 0.5"
    meter.finish()  # the last line was the end already: not written twice
    assert lines[-1] == "abcd: 100/100 answers (100%), 1.7 answers/s, done in 1 min 00 s, loss 0.5" and len(lines) == 3


def test_the_end_is_said_again_when_the_total_grew_after_the_line_that_said_it():
    """An xdist worker's meter grows when it takes over a share: its end line is the new total's."""
    clock, lines = Clock(), []
    meter = Progress("abcd", 100, "answers", lines.append, interval=30, clock=clock)
    clock.now += 40
    meter.advance(100)
    meter.total += 50
    clock.now += 10
    meter.advance(50)  # within the interval: no line
    meter.finish()
    assert lines == ["abcd: 100/100 answers (100%), 2.5 answers/s, done in 40 s",
                     "abcd: 150/150 answers (100%), 3.0 answers/s, done in 50 s"]


def test_short_work_is_one_line_and_a_search_that_ends_early_says_done():
    clock, lines = Clock(), []
    quick = Progress("causal", 32, write=lines.append, interval=30, clock=clock).start("answering 32 causal instances")
    quick.advance(32)
    quick.finish()
    assert lines == ["answering 32 causal instances"]
    search = Progress("judge: explore", 200, "calls", lines.append, interval=1, clock=clock)
    clock.now += 2
    search.advance(40)
    search.finish()  # stopped at 40 of 200 calls: found what it looked for
    assert lines[-1] == "judge: explore: 40/200 calls (20%), 20.0 calls/s, done in 2 s"


def test_interval_is_30_seconds_piped_10_on_a_terminal_and_the_variable_wins(monkeypatch):
    class Tty:
        def isatty(self):
            return True

    monkeypatch.delenv(ENV_INTERVAL, raising=False)
    assert interval_for(Tty()) == 10 and interval_for(open(os.devnull, "w")) == 30
    monkeypatch.setenv(ENV_INTERVAL, "0.5")
    assert interval_for(Tty()) == 0.5
    monkeypatch.setenv(ENV_INTERVAL, "soon")
    with pytest.raises(UsageError, match="ORACLEBENCH_PROGRESS_SECONDS='soon': give a positive number"):
        interval_for()
    assert duration(59.4) == "59 s" and duration(61) == "1 min 01 s" and duration(7260) == "2 h 01 min"


def _piped(args: list[str], cwd: Path, timeout: int = 240) -> str:
    """Run the command line with stdout and stderr into one pipe, as CI captures it; returns the text."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(cwd)]), ENV_INTERVAL: "0.2",
           "ORACLEBENCH_TRAIN_SCALE": os.environ.get("ORACLEBENCH_TRAIN_SCALE", "0.05")}
    result = subprocess.run([sys.executable, "-m", "oraclebench.cli", *args], cwd=cwd, env=env, timeout=timeout,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert "Traceback" not in result.stdout, result.stdout[-3000:]
    return result.stdout


def _counts(pattern: str, text: str) -> list[int]:
    return [int(m.group(1)) for m in re.finditer(pattern, text)]


def test_the_batched_model_call_shows_progress_lines_through_a_pipe(tmp_path):
    (tmp_path / "slowpipe.py").write_text(SLOW)
    out = _piped(["run", "--model", "python:slowpipe:answer", "-m", "causal", "-p", "no:cacheprovider"], tmp_path)
    assert "oraclebench: python:slowpipe:answer answering 32 causal instances ..." in out
    line = r"oraclebench: causal: (\d+)/32 answers \(\d+%\), [\d.]+ answers/s, (about .+ left|done in .+)"
    done = _counts(line, out)
    # 8 calls of about 80 ms each, a line at most every 0.2 s: a few lines, counting up to all 32.
    assert len(done) >= 2 and done == sorted(done) and done[-1] == 32, out
    assert out.index("answering 32 causal instances") < out.index("causal: 32 requests")  # before the summary
    assert "\r" not in out  # whole lines, never a redrawn bar


def test_under_xdist_each_answering_worker_shows_the_lines_of_its_share(tmp_path):
    pytest.importorskip("xdist")
    (tmp_path / "slowpipe.py").write_text(SLOW)
    out = _piped(["run", "--model", "python:slowpipe:answer", "-m", "causal", "-n", "2", "-p", "no:cacheprovider"],
                 tmp_path)
    starts = re.findall(r"\[(gw\d)\] oraclebench: python:slowpipe:answer answering (\d+) causal instances \.\.\.", out)
    assert sum(int(n) for _, n in starts) == 32, out[-3000:]  # the shares add up to the task, each asked once
    for worker, n in starts:
        done = _counts(rf"\[{worker}\] oraclebench: causal: (\d+)/{n} answers", out)
        assert done and done[-1] == int(n), out[-3000:]


def test_training_off_a_terminal_shows_step_loss_and_time_left(tmp_path):
    pytest.importorskip("torch")
    out = _piped(["train", "gpt2-causal", "--steps", "12", "--out", str(tmp_path / "ckpt")], tmp_path)
    assert "gpt2-causal: training 12 steps ..." in out
    steps = _counts(r"gpt2-causal: (\d+)/12 steps \(\d+%\), [\d.]+ steps/s, (?:about .+ left|done in .+)", out)
    assert steps and steps == sorted(steps) and steps[-1] == 12, out
    # a fast machine trains 12 steps in "under 1 s"
    assert re.search(r"12/12 steps \(100%\), [\d.]+ steps/s, done in (?:under 1 s|\d[^,]* s), loss \d\.\d{4}",
                     out), out
    assert len(re.findall(r"12/12 steps", out)) == 1, out  # the end said once
    assert "\r" not in out and "it/s" not in out  # no tqdm bar when piped


def test_explore_shows_its_calls_against_the_budget(tmp_path):
    (tmp_path / "slowpipe.py").write_text(SLOW)
    out = _piped(["explore", "causal", "--model", "python:slowpipe:answer", "--budget", "40", "--no-replay",
                  "--results", str(tmp_path / "results")], tmp_path)
    assert "causal: exploring with python:slowpipe:answer: at most 40 calls and 300 s ..." in out
    calls = _counts(r"causal: explore: (\d+)/40 calls \(\d+%\), [\d.]+ calls/s", out)
    assert calls and calls == sorted(calls) and calls[-1] <= 40, out
    assert "minimal counterexample" in out


@pytest.mark.parametrize("command", [["run", "--model", "oracle", "-m", "causal"], ["explore", "causal", "--model", "oracle"]])
def test_a_bad_interval_is_one_line_before_any_work(tmp_path, command):
    env = {**os.environ, "PYTHONPATH": str(ROOT), ENV_INTERVAL: "-3"}
    result = subprocess.run([sys.executable, "-m", "oraclebench.cli", *command], cwd=tmp_path, env=env, timeout=120,
                            capture_output=True, text=True)
    out = result.stdout + result.stderr
    assert result.returncode in (2, 4) and "ORACLEBENCH_PROGRESS_SECONDS='-3': give a positive number" in out
    assert "Traceback" not in out and not (tmp_path / "results" / "runs").exists()


def test_a_line_written_between_result_letters_leaves_them_on_one_line(pytester):
    # Piped, not -q: the progress line came between "test_dots.py " and its first dot, leaving the dot
    # alone on the next line and the file's name written again. Through reporter_line, the letters of
    # one file stay on one line after it.
    pytester.makeconftest('''
import pytest
from oraclebench.progress import reporter_line

@pytest.fixture
def answering(request):
    tr = request.config.pluginmanager.get_plugin("terminalreporter")
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    with capture.global_and_fixture_disabled():
        reporter_line(tr, "oraclebench: m answering 3 t instances ...")
''')
    pytester.makepyfile(test_dots="def test_a(answering): pass\ndef test_b(): pass\ndef test_c(): assert 0\n")
    result = pytester.runpytest("-p", "no:cacheprovider")
    lines = result.outlines
    at = lines.index("oraclebench: m answering 3 t instances ...")
    assert lines[at + 1].startswith("test_dots.py ..F")
    assert "." not in [line.strip() for line in lines]
    assert sum(line.startswith("test_dots.py ") for line in lines) == 2  # the opening and the reopened line
