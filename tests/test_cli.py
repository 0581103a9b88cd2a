"""The `oraclebench` command: tasks, freeze, generate, models; bad input is one line and exit 2."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from oraclebench.cli import main


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "oraclebench.cli", *args], capture_output=True, text=True, timeout=300)


def read_jsonl(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_generate_causal_writes_the_seed_format_with_omitted_sequences_absent(tmp_path):
    omit = "1,1,1,1,1;0,0,0,0,0"
    assert main(["generate", "causal", "--n", "2000", "--seed", "3", "--omit", omit, "--out", str(tmp_path)]) == 0
    train, valid, test = (read_jsonl(tmp_path / f"{s}.jsonl") for s in ("train", "valid", "test"))
    assert (len(train), len(valid), len(test)) == (2000, 200, 200)
    prompts = {r["prompt"] for r in train + valid + test}
    assert prompts.isdisjoint({"1,1,1,1,1", "0,0,0,0,0"}) and len(prompts) == 30
    row = next(r for r in train if r["prompt"] == "0,1,1,1,0")
    assert row["completion"] == "\n1,0,0,0\n3 - 1\n"
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["split"]["omitted"] == ["1,1,1,1,1", "0,0,0,0,0"]
    assert manifest["counts"] == {"train": 2000, "valid": 200, "test": 200} and manifest["seed"] == 3


def test_generate_says_how_many_valid_and_test_rows_are_also_training_rows(tmp_path, capsys):
    """valid and test sample the training distribution (a trial scored a fine-tune on test.jsonl as if it were
    unseen): the count of their rows that train.jsonl holds too, printed and in the manifest, by hand here."""
    assert main(["generate", "multiplication", "--n", "2000", "--seed", "5", "--heldout", "digits=2x2",
                 "--out", str(tmp_path)]) == 0
    train = {json.dumps(r, sort_keys=True) for r in read_jsonl(tmp_path / "train.jsonl")}
    also = {s: sum(json.dumps(r, sort_keys=True) in train for r in read_jsonl(tmp_path / f"{s}.jsonl"))
            for s in ("valid", "test")}
    assert 0 < also["valid"] < 200 and 0 < also["test"] < 200
    assert json.loads((tmp_path / "manifest.json").read_text())["also_in_train"] == also
    assert f"{also['valid']} of 200 valid rows and {also['test']} of 200 test rows are also training rows" in capsys.readouterr().out


@pytest.mark.parametrize("where", ["file", "below a file"])
def test_generate_into_a_file_is_one_line_and_exit_2(tmp_path, where):
    (tmp_path / "f.txt").write_text("x")
    out = tmp_path / "f.txt" if where == "file" else tmp_path / "f.txt" / "d"
    result = run("generate", "multiplication", "--n", "10", "--out", str(out))
    assert result.returncode == 2, result.stderr
    assert result.stderr.count("\n") == 1 and "--out" in result.stderr and "Traceback" not in result.stderr


def test_generate_is_deterministic_and_writes_openai_chat(tmp_path):
    for out in ("a", "b"):
        assert main(["generate", "abcd", "--n", "50", "--seed", "1", "--heldout", "lengths=1-12",
                     "--format", "openai-chat", "--out", str(tmp_path / out)]) == 0
    a, b = ((tmp_path / o / "train.jsonl").read_text() for o in ("a", "b"))
    assert a == b
    first = json.loads(a.splitlines()[0])
    assert [m["role"] for m in first["messages"]] == ["system", "user", "assistant"]
    # The messages a chat model is scored with (the task's chat form), and the answer in its format.
    from oraclebench.tasks import get_task

    task = get_task("abcd")
    problem = task.sample(1, 0, task.train_config(task.manifest_from_spec("lengths=1-12")), stream="train")
    form = task.chat(problem)
    assert first["messages"][0]["content"] == form.instruction and first["messages"][1]["content"] == form.user
    assert first["messages"][2]["content"] == "\n".join(f"= {line}" for line in task.solve(problem))


@pytest.mark.parametrize("omit, words", [
    ("1,1,1", "1,1,1"),
    ("1,1,1,1,2", "1,1,1,1,2"),
])
def test_a_malformed_omit_is_one_line_and_exit_2(tmp_path, omit, words):
    result = run("generate", "causal", "--n", "10", "--omit", omit, "--out", str(tmp_path))
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and words in result.stderr and "Traceback" not in result.stderr


def test_unknown_task_suggests_the_near_name(tmp_path):
    result = run("generate", "casual", "--out", str(tmp_path))
    assert result.returncode == 2 and "did you mean 'causal'" in result.stderr


def test_tasks_lists_every_task_with_its_set_size():
    result = run("tasks")
    assert result.returncode == 0
    for name in ("abcd", "causal", "judge", "multiplication"):
        assert name in result.stdout
    assert "| causal " in result.stdout and " 32 " in result.stdout


def test_python_dash_m_oraclebench_is_the_command_and_exits_as_it_does(tmp_path):
    """Where the ``oraclebench`` script is not on PATH (a clone with PYTHONPATH=., a venv not activated)."""
    module = subprocess.run([sys.executable, "-m", "oraclebench", "tasks"], capture_output=True, text=True, timeout=300)
    assert module.returncode == 0 and module.stdout == run("tasks").stdout
    bad = subprocess.run([sys.executable, "-m", "oraclebench", "generate", "casual", "--out", str(tmp_path)],
                         capture_output=True, text=True, timeout=300)
    assert bad.returncode == 2 and "did you mean 'causal'" in bad.stderr


def test_freeze_writes_the_same_set_as_committed(tmp_path):
    assert main(["freeze", "causal", "--out", str(tmp_path)]) == 0
    from oraclebench.sets import set_path

    assert (tmp_path / "causal-v1.jsonl").read_text() == set_path("causal").read_text()


def test_models_lists_names_and_patterns():
    result = run("models")
    assert result.returncode == 0 and "oracle" in result.stdout and "hf:PATH" in result.stdout


@pytest.mark.parametrize("columns", [80, 120])
def test_models_says_what_each_name_is_for_and_how_to_use_it(columns):
    """Each registered name and pattern: its form, a line on what it is for, and a command that uses it;
    no Python import path; every line fits the terminal."""
    import os

    from oraclebench.models import DESCRIPTIONS, NAMES, PATTERNS

    assert set(DESCRIPTIONS) == set(NAMES) | set(PATTERNS)  # a new adapter is described, or this fails
    result = subprocess.run([sys.executable, "-m", "oraclebench.cli", "models"], capture_output=True, text=True,
                            timeout=120, env={**os.environ, "COLUMNS": str(columns)})
    out = result.stdout
    assert result.returncode == 0 and "oraclebench.models." not in out and "oraclebench.training." not in out
    assert max(map(len, out.splitlines())) <= columns
    blocks = out.split("\n")
    for key, usage in DESCRIPTIONS.items():
        at = blocks.index(usage.form)  # the name as typed, on a line of its own
        body = " ".join(line.strip() for line in blocks[at + 1:at + 5])
        assert " ".join(usage.purpose.split()[:4]) in body, key
        assert f"e.g. {usage.example}" in body
        assert f"--model {usage.form.split(':')[0]}" in usage.example.replace("'", "")  # the example uses this name
    assert "e.g. pytest benchmark --model hf:/path/to/checkpoint" in out and "(needs oraclebench[local])" in out


def test_trains_next_step_names_the_task_the_world_and_survives_spaces(tmp_path, monkeypatch):
    # `train gpt2-causal --world W` printed `pytest benchmark --model hf:DIR`, which a run refuses without
    # --world W; the step must carry the world, the task, and paths that run from the checkout's root.
    import shlex

    from oraclebench.commands.train import score_command

    monkeypatch.chdir(tmp_path)
    (tmp_path / "my worlds").mkdir()
    words = shlex.split(score_command("out dir/m", "causal", "my worlds/w.toml"))
    assert words == ["pytest", "benchmark", "--model", f"hf:{tmp_path / 'out dir' / 'm'}", "-m", "causal",
                     "--world", str(tmp_path / "my worlds" / "w.toml")]
    assert shlex.split(score_command("m", "abcd")) == ["pytest", "benchmark", "--model", f"hf:{tmp_path / 'm'}",
                                                       "-m", "abcd"]
