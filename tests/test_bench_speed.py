"""``scripts/bench_speed.py``: bad input is one line, and every line of its report reads on its own.

Nothing here times anything: the input checks run the script as a subprocess and stop before any
way runs; the report's lines come from its functions fed with hand-made runs.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "bench_speed.py"


@pytest.fixture(scope="module")
def bench():
    """The script as a module (scripts/ is not a package)."""
    spec = importlib.util.spec_from_file_location("bench_speed", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_speed"] = module
    spec.loader.exec_module(module)
    yield module
    sys.modules.pop("bench_speed", None)


def run_script(*args: str, home: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "ORACLEBENCH_HOME": str(home), "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=120,
                          env=env, cwd=ROOT)


def one_error_line(run: subprocess.CompletedProcess) -> str:
    """The run's stderr, which must be exactly one ``bench_speed.py: error: ...`` line (after argparse's usage)."""
    assert "Traceback" not in run.stderr + run.stdout
    errors = [line for line in run.stderr.splitlines() if line.startswith("bench_speed.py: error:")]
    assert len(errors) == 1, run.stderr
    assert run.stderr.rstrip().splitlines()[-1] == errors[0]
    return errors[0]


# --------------------------------------------------------------------------------------- bad input


@pytest.mark.parametrize("option", ["--n", "--repeat", "--batch", "--threads", "--adapter-batch", "--xdist"])
@pytest.mark.parametrize("value", ["0", "-3"])
def test_a_count_that_is_not_positive_is_refused_up_front(option, value, tmp_path):
    run = run_script(option, value, home=tmp_path)
    assert run.returncode == 2
    assert f"argument {option}: expected a positive integer, got '{value}'" in one_error_line(run)
    assert run.stdout == ""  # refused before any header or run


@pytest.mark.parametrize("device, message", [
    ("cuda", "--device cuda: no CUDA device here (torch sees none); use --device cpu"),  # the suite hides any GPU
    ("tpu9", "--device tpu9: not a torch device; use cpu, cuda or cuda:1"),
    ("mps", "--device mps: only cpu and cuda are measured; use --device cpu"),
])
def test_a_device_it_cannot_measure_is_refused_up_front(device, message, tmp_path):
    run = run_script("--device", device, "--n", "5", home=tmp_path)
    assert run.returncode == 2
    assert one_error_line(run) == f"bench_speed.py: error: {message}"
    assert run.stdout == ""


def test_the_matmul_limit_is_float32_on_the_cpu_and_the_runs_dtype_on_a_gpu(bench):
    """A CPU without 16-bit units ran a 1024^3 bfloat16 matmul at 1 GFLOP/s, below the model's own
    small ones: a limit in bfloat16 there would print efficiencies above 100%."""
    assert bench.limit_dtype("cpu", "bfloat16") == "float32"
    assert bench.limit_dtype("cpu", "float32") == "float32"
    assert bench.limit_dtype("cuda", "bfloat16") == "bfloat16"
    assert bench.limit_dtype("cuda:1", "float16") == "float16"
    assert bench.limit_dtype("cpu:0", "bfloat16") == "float32"


def test_cpu_0_is_timed_as_the_cpu(bench, monkeypatch):
    """``cpu:0`` is the CPU (``hf:`` takes it so): its limit is the CPU's 1024^3 matmul, not a GPU's
    8192^3, which takes minutes on a CPU (found by a trial: ``--device cpu:0`` hung for minutes)."""
    import torch

    sizes = []
    real = torch.mm
    monkeypatch.setattr(torch, "mm", lambda a, b: sizes.append(a.shape[0]) or real(a, b))
    bench.matmul_limit(1, "cpu:0", "float32")
    assert set(sizes) == {1024}


def test_a_reference_name_not_trained_yet_says_how_to_train_it(tmp_path):
    run = run_script("--model", "gpt2-abcd", "--task", "abcd", "--n", "5", home=tmp_path)
    assert run.returncode == 2
    line = one_error_line(run)
    assert "--model gpt2-abcd: not trained yet" in line and line.endswith("oraclebench train gpt2-abcd")
    assert run.stdout == ""


def test_a_missing_model_directory_is_named(tmp_path):
    run = run_script("--model", str(tmp_path / "nowhere"), "--n", "5", home=tmp_path)
    assert run.returncode == 2
    assert f"--model {tmp_path / 'nowhere'}: no such model directory" in one_error_line(run)


def test_a_folder_without_a_model_is_named(tmp_path):
    (tmp_path / "empty").mkdir()
    run = run_script("--model", str(tmp_path / "empty"), "--n", "5", home=tmp_path)
    assert run.returncode == 2
    assert "no config.json in it, not a model directory" in one_error_line(run)


def test_a_run_that_fails_shows_its_own_error_in_one_line(tmp_path):
    """A folder that passes the up-front check but holds no loadable model: the adapter's run fails, and
    its own error (the adapter's "cannot load the tokenizer"), not a missing result file, is the line."""
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "config.json").write_text("{}")
    run = run_script("--model", str(broken), "--n", "3", "--repeat", "1", "--no-lm-eval", "--threads", "1",
                     home=tmp_path)
    assert run.returncode == 1
    line = one_error_line(run)
    assert line.startswith("bench_speed.py: error: the adapter run failed (exit 1): ")
    assert "cannot load the tokenizer" in line and "adapter.json" not in line


def test_the_xdist_mode_says_nothing_about_lm_eval_which_it_never_runs(tmp_path):
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "config.json").write_text("{}")
    run = run_script("--model", str(broken), "--n", "3", "--repeat", "1", "--xdist", "2", home=tmp_path)
    assert "lm-eval" not in run.stdout + run.stderr
    assert run.returncode == 1 and "the pytest run failed (exit 4)" in one_error_line(run)  # pytest's usage error


# --------------------------------------------------------------------------------------- the header


def test_the_count_line_says_how_many_of_n_were_left_and_why(bench):
    # causal has 32 distinct inputs (tasks/causal.py); a checkpoint trained on 29 of them leaves 3.
    line = bench.count_line("causal", 300, 3, 29)
    first, warning = line.splitlines()
    assert first == ("causal: 3 of --n 300 fresh instances timed (29 dropped: in the checkpoint's training data; "
                     "the task has only 32 distinct problems)")
    assert warning.startswith("WARNING: only 3 prompts of the 300 asked for")


def test_all_of_n_timed_is_one_plain_line(bench):
    assert bench.count_line("multiplication", 300, 300, 0) == "multiplication: 300 of --n 300 fresh instances timed"
    assert "WARNING" not in bench.count_line("multiplication", 300, 200, 100)  # two thirds left: not "far fewer"


def test_causal_draws_stop_at_its_32_problems(bench):
    insts, dropped = bench.draws("causal", 300, 0)
    assert (len(insts), dropped) == (32, 0)
    assert "the task has only 32 distinct problems" in bench.count_line("causal", 300, len(insts), dropped)


def test_without_a_checkpoint_the_random_model_is_called_meaningless_and_built_quietly(bench, tmp_path, monkeypatch,
                                                                                      capfd):
    monkeypatch.setenv("ORACLEBENCH_HOME", str(tmp_path / "home"))
    args = bench.argparse.Namespace(model=None, task="multiplication", n=5, seed=0)
    path, how = bench.model_path(args, tmp_path)
    assert (path / "config.json").is_file()
    assert "random-weight" in how and "meaningless for correctness" in how
    assert how.endswith("oraclebench train gpt2-mult")
    out, err = capfd.readouterr()
    assert "Writing model shards" not in out + err  # transformers' progress bar stays out of the output


# --------------------------------------------------------------------------------------- the report


def test_the_plugins_own_time_is_a_time_only_above_the_noise(bench):
    # One repeat: 0.50 s outside generation, 0.76 s of it pytest alone: -0.26 s is no cost.
    assert bench.plugin_own([0.50], [0.76]).startswith("below the noise (-0.26 s")
    assert bench.plugin_own([0.90], [0.40]).strip().startswith("0.50 s")
    # Three repeats: own = median(0.5, 0.1, 0.3) = 0.3; spread = (1.0 - 0.6) + (0.5 - 0.5) = 0.4 > 0.3.
    assert bench.plugin_own([1.0, 0.6, 0.8], [0.5, 0.5, 0.5]).startswith("below the noise (+0.30 s")
    # own = median(-0.5, -0.6, -0.7) = -0.6 < -(0 + 0.2): below zero, said as such, not "within the noise".
    assert bench.plugin_own([0.0, 0.0, 0.0], [0.5, 0.6, 0.7]).startswith("below zero (-0.60 s, beyond the 0.20 s")
    # own = 1.0, spread = 0.2 + 0: a time.
    assert bench.plugin_own([1.5, 1.6, 1.7], [0.5, 0.6, 0.7]).strip() == "1.00 s"


def adapter_result(generate_s: float) -> dict:
    work = {f"{phase}_{key}": 1.0 for phase in ("decode", "prefill") for key in ("tokens", "context", "seconds")}
    return {"generate_s": generate_s, "correct": 1, "texts": ["1", "2"], "tokens": 10, "flops_per_token": 100,
            "work": work, "attention_flops": 10, "limit": 1e9}


def test_every_ratio_line_says_which_way_it_goes(bench, capsys):
    runs = {"adapter": [(2.0, adapter_result(1.0))],
            "plain": [(4.0, {"generate_s": 3.0, "correct": 1, "texts": ["1", "2"]})],
            "pytest": [(3.0, {"generate_s": 1.0, "correct": 1})]}
    bench.report(2, runs, [0.5], 1, 1e9)
    lines = [line for line in capsys.readouterr().out.splitlines() if "x  median" in line]
    assert len(lines) == 3
    assert lines[0].startswith("adapter vs plain loop, generation alone:") and "above 1: the adapter is faster" in lines[0]
    assert "3.00x" in lines[0]  # plain 3.0 s / adapter 1.0 s
    assert "above 1: the adapter is faster" in lines[1]
    assert lines[2].startswith("pytest whole run vs plain loop") and "above 1: the pytest run is faster" in lines[2]


def test_the_xdist_ratio_line_says_which_way_it_goes(bench, capsys):
    bench.report_xdist(2, 5, {"pytest": [(4.0, {"correct": 1})], "pytest-xdist": [(2.0, {"correct": 1})]})
    last = capsys.readouterr().out.splitlines()[-1]
    assert last.startswith("-n 2 vs one process, whole run:") and "2.00x" in last  # 4.0 s / 2.0 s
    assert last.endswith("above 1: the workers are faster)")


def test_lm_eval_s_cut_is_at_the_first_stop_string_even_inside_the_leading_whitespace(bench):
    # lm-eval cuts "\n3" at its first "\n" (""); oraclebench reads past the opening line break ("\n3").
    # The comparison re-cuts oraclebench's text by lm-eval's rule, so the same tokens compare equal.
    assert bench.first_cut("\n3", ("\n",)) == ""
    assert bench.first_cut(" 56\nQ: next", ("\n",)) == " 56"
    assert bench.first_cut(" = 7\n\nmore", ("\n\n", "Q:")) == " = 7"
    assert bench.first_cut(" no stop", ("\n",)) == " no stop"
    assert bench.first_cut(None, ("\n",)) is None
