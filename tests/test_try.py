"""``oraclebench try``: the oracle's answer and a model's on one typed input, and one-line errors."""

from __future__ import annotations

import subprocess
import sys

import pytest

from oraclebench.cli import main


@pytest.mark.parametrize("task, text, shown", [
    ("causal", "1,0,1,0,1", ["newA     oracle 0    model 0 [ok]", "new_sum  oracle 2    model 2 [ok]"]),
    ("abcd", "C A D B C", ["C D A B C                    | C D A B C [ok]", "final: right [ok]"]),
    ("multiplication", "47x23", ["oracle         1081", "model          1081", "all digits right [ok]"]),
    ("multiplication", "47 × 23", ["oracle         1081"]),
    ("multiplication", "47*23", ["oracle         1081"]),
])
def test_try_shows_the_oracle_and_the_model_field_by_field(task, text, shown, capsys):
    assert main(["try", task, text, "--model", "oracle"]) == 0
    out = capsys.readouterr().out
    assert "has no training manifest" in out and out.rstrip().endswith("correct [ok]")
    for line in shown:
        assert line in out


def test_a_wrong_answer_is_marked_field_by_field_and_exits_1(capsys):
    # The random model writes another problem's product: wrong here (seeded, so always the same).
    assert main(["try", "multiplication", "47x23", "--model", "random"]) == 1
    out = capsys.readouterr().out
    assert "oracle         1081" in out and "wrong product: expected 1081" in out and "[XX]" in out


def test_held_out_is_taken_from_heldout_when_the_model_has_no_manifest(capsys):
    main(["try", "abcd", "A B A B A B A B A B A B A B", "--heldout", "lengths=1-12"])
    assert "HELD OUT from oracle's training" in capsys.readouterr().out
    main(["try", "abcd", "A B", "--heldout", "lengths=1-12"])
    assert "inside oracle's training distribution (trained on or not: the exact training data is not recorded)" \
        in capsys.readouterr().out


def test_try_reads_what_was_held_out_from_the_model_manifest(tmp_path, monkeypatch, capsys):
    from oraclebench.training.recipes import train

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    path = train("gpt2-causal", tmp_path / "causal", steps=4, progress=False)  # manifest.json beside the weights
    capsys.readouterr()
    main(["try", "causal", "1,0,1,0,1", "--model", f"hf:{path}"])
    out = capsys.readouterr().out
    assert f"HELD OUT from hf:{path}'s training" in out
    assert "newA" in out and "new_sum" in out
    main(["try", "causal", "0,1,1,1,0", "--model", f"hf:{path}"])  # 1,000 draws of 29 inputs hold every one
    assert f"TRAINED ON: this exact problem is in hf:{path}'s training data" in capsys.readouterr().out


@pytest.mark.parametrize("args, words", [
    (["try", "causal", "1,0,1"], "bad sequence '1,0,1'"),
    (["try", "abcd", "C E"], "unknown token 'E'"),
    (["try", "multiplication", "47 plus 2"], "write it like 47x23"),
    (["try", "judge", "anything"], "try takes abcd, causal, multiplication, not 'judge'"),
    (["try", "causal", "1,0,1,0,1", "--model", "nope"], "unknown model 'nope'"),
    (["try", "causal", "1,0,1,0,1", "--model-opt", "seed"], "write KEY=VALUE"),
])
def test_bad_input_is_one_line_and_exit_2(args, words, tmp_path):
    result = subprocess.run([sys.executable, "-m", "oraclebench.cli", *args], capture_output=True, text=True,
                            timeout=120, cwd=tmp_path)
    assert result.returncode == 2
    assert words in result.stderr and result.stderr.count("\n") == 1 and "Traceback" not in result.stderr


def test_an_answer_cut_short_is_said_truncated_as_the_run_says_it(tmp_path, capsys):
    """A thinking block never closed is a truncated answer in a run's record; try printed "wrong: no answer"."""
    model = tmp_path / "thinker.py"
    model.write_text("def answer(prompts):\n    return ['<think>47 times 20 is 940, and' for _ in prompts]\n")
    assert main(["try", "multiplication", "47x23", "--model", f"python:{model}:answer"]) == 1
    last = capsys.readouterr().out.rstrip().splitlines()[-1]
    assert last.startswith("truncated: the answer ends inside a <think> block") and "wrong" not in last


def test_a_manifest_the_task_cannot_read_is_one_line_before_the_model_loads(tmp_path, capsys):
    """As a run says it (exit 4 there): a split written as a string was read as it stood, and failed inside."""
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "manifest.json").write_text('{"task": "multiplication", "split": "digits=2x2"}', encoding="utf-8")
    assert main(["try", "multiplication", "47x23", "--model", f"hf:{folder}"]) == 2
    err = capsys.readouterr().err
    assert "its manifest's 'split'" in err and "is a str, 'digits=2x2', not a table" in err and err.count("\n") == 1
