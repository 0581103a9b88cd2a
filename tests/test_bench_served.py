"""``scripts/bench_served.py`` shows that concurrency keeps a batching server busy.

The server is the scripted one in batching mode (``ScriptedServer(batching=...)``) on 127.0.0.1:
it gathers the requests that arrive within ``WINDOW`` seconds into one batch of at most ``SIZE``,
runs it for ``SECONDS`` and serves vLLM's ``/metrics`` gauges, so what the benchmark samples can be
held against what the server's own parameters imply. ``transformers serve`` cannot report its batch.
"""

from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from oraclebench.testing.scripted import Batching, ScriptedServer

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "bench_served.py"

SIZE, WINDOW, SECONDS = 8, 0.02, 0.1  # the batching server: most requests in a batch, gathering window, run time
N, CONCURRENCY, EVERY = 32, 16, 0.02  # prompts per pass, the concurrent pass's requests in flight, sampling step


@pytest.fixture(scope="module")
def bench():
    """The script as a module (scripts/ is not a package)."""
    spec = importlib.util.spec_from_file_location("bench_served", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_served"] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    yield module
    sys.modules.pop("bench_served", None)


@pytest.fixture(scope="module")
def passes(bench):
    """(why no metrics, the metrics URL, [sequential pass, concurrent pass]) against the batching server."""
    with ScriptedServer(batching=Batching(size=SIZE, window=WINDOW, seconds=SECONDS)) as server:
        yield bench.run_passes(f"vllm:scripted@{server.url}/v1", f"{server.url}/v1", n=N, concurrency=CONCURRENCY,
                               every=EVERY)


def expected_mean_batch(seconds: float) -> float:
    """The server's time-averaged batch over a pass of ``seconds``: each of the ``N`` requests spends
    exactly ``SECONDS`` in a running batch, so the batch integrates to ``N * SECONDS`` over the pass."""
    return N * SECONDS / seconds


# --------------------------------------------------------------------------------------- the measurement


def test_the_batching_server_reports_its_batch(passes):
    missing, url, _ = passes
    assert missing is None
    assert url.endswith("/metrics") and "/v1" not in url  # vLLM serves it beside /v1, at the root


def test_one_request_at_a_time_never_makes_a_batch_above_one(passes):
    _, _, (seq, _) = passes
    assert seq.concurrency == 1 and seq.errors == 0
    assert max(seq.load.in_flight) == 1  # seen in flight (each request takes >= WINDOW + SECONDS), never more
    assert max(seq.load.running) == 1 and max(seq.load.waiting) <= 1
    assert seq.load.full_share() == 0  # nothing ever waits behind a running batch


def test_concurrency_fills_the_servers_batch(passes):
    _, _, (seq, con) = passes
    assert con.concurrency == CONCURRENCY and con.errors == 0
    assert max(con.load.in_flight) <= CONCURRENCY  # the adapter's bound on requests in flight
    assert max(con.load.running) <= SIZE  # the server's own bound on its batch
    # Ideal: N / SIZE full batches back to back, a mean batch of SIZE. The bound allows the pass 4x
    # the ideal N / SIZE * SECONDS (0.4 s) for HTTP and scheduling overhead: a mean of SIZE / 4 = 2.
    assert sum(con.load.running) / len(con.load.running) >= SIZE / 4
    assert con.load.full_share() > 0  # with 2 x SIZE in flight, requests waited behind a running batch


@pytest.mark.parametrize("which", [0, 1], ids=["sequential", "concurrent"])
def test_the_sampled_batch_is_the_servers_time_average(passes, which):
    """The sampled mean agrees with the pass's length and the server's run time (within sampling noise)."""
    load, seconds = passes[2][which].load, passes[2][which].seconds
    sampled = sum(load.running) / len(load.running)
    assert sampled == pytest.approx(expected_mean_batch(seconds), rel=0.35)


def test_the_concurrent_pass_is_faster(passes):
    _, _, (seq, con) = passes
    # One at a time, each request waits out the window alone, then runs alone: the sequential pass
    # lasts at least N * (WINDOW + SECONDS) = 3.84 s, twice the 4x-overhead allowance above.
    assert seq.seconds >= N * (WINDOW + SECONDS)
    assert con.seconds < seq.seconds / 2
    assert seq.completions == con.completions


# --------------------------------------------------------------------------------------- the printed report


def test_a_server_without_metrics_gets_one_line_and_the_client_side(tmp_path):
    with ScriptedServer() as server:  # not batching: no /metrics, as transformers serve has none
        out = subprocess.run([sys.executable, str(SCRIPT), "--url", f"{server.url}/v1", "--n", "8",
                              "--concurrency", "4"], capture_output=True, text=True, timeout=120,
                             env={**__import__("os").environ, "PYTHONPATH": str(ROOT)})
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0] == f"server: vllm:{server.model}@{server.url}/v1"  # the model it lists, named without --model
    assert lines[1].startswith("measuring: a warm-up request") and "then 8 with 4 in flight" in lines[1]
    speedup = next(line for line in lines if line.startswith("speed-up:"))
    assert "(sequential time / concurrent time; above 1: concurrency is faster)" in speedup
    assert "one request at a time" not in speedup  # said only of the script's own transformers serve
    assert [line for line in lines if "metrics" in line] == [
        f"server batch: not shown, no vLLM metrics at {server.url}/metrics (HTTP 404); "
        f"the client's requests in flight only"]
    client = [line for line in lines if "in flight (client)" in line]
    assert len(client) == 2 and not any("server batch (running)" in line for line in client)
    assert "Traceback" not in out.stderr


def test_the_report_shows_both_sides_against_a_batching_server(bench, capsys):
    with ScriptedServer(batching=Batching(size=4, window=0.01, seconds=0.02)) as server:
        assert bench.main(["--url", f"{server.url}/v1", "--n", "8", "--concurrency", "4"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert f"from {server.url}/metrics" in lines[2]
    loads = [line for line in lines if "in flight (client)" in line]
    assert len(loads) == 2 and all("server batch (running)" in line and "idle" in line for line in loads)
    assert all("batch full (requests queued behind it)" in line and "idle (nothing running)" in line for line in loads)


# --------------------------------------------------------------------------------------- bad input and waits


def run_script(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"})


def one_error_line(run: subprocess.CompletedProcess) -> str:
    """The run's stderr ends with exactly one ``bench_served.py: error: ...`` line, and holds no traceback."""
    assert "Traceback" not in run.stderr + run.stdout
    errors = [line for line in run.stderr.splitlines() if line.startswith("bench_served.py: error:")]
    assert len(errors) == 1 and run.stderr.rstrip().splitlines()[-1] == errors[0], run.stderr
    return errors[0]


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_no_server_at_the_url_is_one_line():
    url = f"http://127.0.0.1:{closed_port()}/v1"
    run = run_script("--url", url, "--n", "4")
    assert run.returncode == 2
    line = one_error_line(run)
    assert f"no server answers at {url}" in line and "fix the URL" in line
    assert run.stdout == ""


@pytest.mark.parametrize("args, message", [
    (["--checkpoint", "/nonexistent/model"], "--checkpoint /nonexistent/model: no such model directory"),
    (["--checkpoint", str(ROOT / "tests")], "no config.json in it: not a model directory"),
    (["--model", "m"], "--model names one of a running server's models: give its --url too"),
    (["--url", "http://127.0.0.1:9/v1", "--checkpoint", str(ROOT)], "--checkpoint is for the server this script starts"),
    (["--threads", "0"], "--threads must be positive"),
    (["--url", "localhost:8000"], "--url localhost:8000: not a server's base URL; write it as http://HOST:PORT/v1"),
    (["--url", "http://[::1"], "--url http://[::1: not a server's base URL"),
    (["--url", "http://127.0.0.1:port/v1"], "not a server's base URL"),
], ids=["missing-checkpoint", "not-a-model", "model-without-url", "checkpoint-with-url", "threads-0", "url-no-scheme",
        "url-broken", "url-port"])
def test_bad_input_is_refused_in_one_line_before_anything_starts(args, message):
    run = run_script(*args)
    assert run.returncode == 2
    assert message in one_error_line(run)
    assert run.stdout == ""


def test_the_wait_for_the_server_is_announced_and_its_failure_is_one_line():
    """A server that cannot start (an option transformers serve does not know): the waiting line comes
    first, then one line with the server's own error line; the tiny model is built without a progress bar."""
    run = run_script("--serve-arg=--no-such-option", "--n", "2", timeout=180)
    assert run.returncode == 1
    assert run.stdout.splitlines()[0].startswith("starting transformers serve ")
    assert "waiting for it to answer /health" in run.stdout.splitlines()[0]
    line = one_error_line(run)
    assert "exited with" in line and line.endswith("(Error: No such option '--no-such-option'.)")
    assert "Writing model shards" not in run.stderr


def test_a_one_at_a_time_server_is_named_as_the_reason_for_a_speed_up_near_one(bench):
    seq, con = (bench.Pass(c, s, [], 0, bench.Load()) for c, s in ((1, 2.0), (16, 2.02)))
    line = bench.speedup_line(seq, con, one_at_a_time=True)
    assert line.startswith("speed-up: 0.99x (sequential time / concurrent time; above 1: concurrency is faster)")
    assert "answers one request at a time unless started with --continuous-batching" in line


# --------------------------------------------------------------------------------------- reading the metrics

VLLM_TWO_ENGINES = """\
# HELP vllm:num_requests_running Number of requests in model execution batches.
# TYPE vllm:num_requests_running gauge
vllm:num_requests_running{engine="0",model_name="m"} 5.0
vllm:num_requests_running{engine="1",model_name="m"} 3.0
# HELP vllm:num_requests_waiting Number of requests waiting to be processed.
# TYPE vllm:num_requests_waiting gauge
vllm:num_requests_waiting{engine="0",model_name="m"} 2.0
vllm:num_requests_waiting{engine="1",model_name="m"} NaN
vllm:num_requests_waiting_by_reason{reason="capacity"} 7.0
vllm:num_requests_running_total 99 1700000000000
"""


def test_gauges_sum_over_engines_and_only_the_named_series_count(bench):
    assert bench.parse_gauges(VLLM_TWO_ENGINES) == {bench.RUNNING: 8.0, bench.WAITING: 2.0}


def test_gauges_absent_from_the_text_are_absent(bench):
    assert bench.parse_gauges("# llama.cpp\nllamacpp:requests_processing 3\n") == {}


@pytest.mark.parametrize("api, metrics", [
    ("http://127.0.0.1:8000/v1", "http://127.0.0.1:8000/metrics"),
    ("http://127.0.0.1:8000/v1/", "http://127.0.0.1:8000/metrics"),
    ("http://127.0.0.1:8000", "http://127.0.0.1:8000/metrics"),
    ("http://host/llm/v1", "http://host/llm/metrics"),
])
def test_the_metrics_live_beside_the_api(bench, api, metrics):
    assert bench.metrics_url(api) == metrics


def test_the_servers_error_line_is_picked_from_its_log():
    from oraclebench.testing.serve import log_error

    log = "usage: serve [OPTIONS]\nError: No such option '--x'.\n  --host TEXT\n\nDid you mean: --no-compile?\n"
    assert log_error(log) == "Error: No such option '--x'."
    assert log_error("Traceback:\n  File x\nOSError: no weights\n") == "OSError: no weights"
    assert log_error("starting\nkilled\n") == "killed"
