"""Reference fine-tunes and the `oraclebench train` / `try` commands, at a tiny training budget."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from oraclebench.cli import main


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("ORACLEBENCH_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("ORACLEBENCH_TRAIN_SCALE", "0.01")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    return tmp_path / "home"


def weights(path):
    return (path / "model.safetensors").read_bytes()


def test_train_writes_model_tokenizer_manifest_and_loss_curve_deterministically(home, tmp_path):
    for out in ("a", "b"):
        assert main(["train", "gpt2-causal", "--steps", "6", "--seed", "3", "--out", str(tmp_path / out)]) == 0
    a, b = tmp_path / "a", tmp_path / "b"
    for name in ("config.json", "model.safetensors", "tokenizer.json", "manifest.json", "loss.png"):
        assert (a / name).is_file(), name
    assert weights(a) == weights(b)  # same seed, same weights
    manifest = json.loads((a / "manifest.json").read_text())
    assert manifest["task"] == "causal" and manifest["seed"] == 3
    assert manifest["split"]["omitted"] == ["1,0,1,0,1", "1,1,1,1,1", "0,0,0,0,0"]
    assert manifest["train"]["steps"] == 6 and len(manifest["dataset_sha256"]) == 64
    assert (a / "loss.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_another_seed_gives_other_weights(home, tmp_path):
    main(["train", "gpt2-mult", "--steps", "3", "--seed", "1", "--out", str(tmp_path / "s1")])
    main(["train", "gpt2-mult", "--steps", "3", "--seed", "2", "--out", str(tmp_path / "s2")])
    assert weights(tmp_path / "s1") != weights(tmp_path / "s2")


def test_load_reference_trains_when_missing_and_reuses_a_matching_checkpoint(home, capsys):
    from models.reference import load_reference

    model = load_reference("gpt2-causal")
    assert "training it now" in capsys.readouterr().err
    path = home / "models" / "gpt2-causal"
    assert model.manifest["split"]["omitted"] == ["1,0,1,0,1", "1,1,1,1,1", "0,0,0,0,0"]
    stamp = (path / "model.safetensors").stat().st_mtime_ns
    load_reference("gpt2-causal")
    assert "training" not in capsys.readouterr().err
    assert (path / "model.safetensors").stat().st_mtime_ns == stamp


def test_a_checkpoint_of_another_recipe_is_not_silently_reused(home, monkeypatch, capsys):
    from models.reference import load_reference

    load_reference("gpt2-causal")
    capsys.readouterr()
    monkeypatch.setenv("ORACLEBENCH_TRAIN_SCALE", "0.02")
    load_reference("gpt2-causal")
    assert "trained with another recipe" in capsys.readouterr().err


def test_a_reference_model_answers_every_request_and_splits_seen_from_heldout(home):
    from models.reference import load_reference
    from oraclebench.runner import evaluate
    from oraclebench.sets import load_set

    model = load_reference("gpt2-causal")
    records = evaluate(model, load_set("causal"), "run")
    assert len(records) == 32 and all(r.error is None for r in records)
    assert sorted(r.bucket["inputs"] for r in records if r.split == "heldout") == ["0,0,0,0,0", "1,0,1,0,1", "1,1,1,1,1"]


@pytest.mark.parametrize("args, words", [
    (["train", "gpt2-causal", "--omit", "1,1"], "bad sequence '1,1'"),
    (["train", "gpt2-abcd", "--omit", "1,1,1,1,1"], "--omit is for gpt2-causal"),
    (["train", "gpt2-causal", "--steps", "0"], "--steps must be positive"),
    (["try", "causal", "1,0,1", "--model", "oracle"], "bad sequence '1,0,1'"),
    (["try", "abcd", "C E", "--model", "oracle"], "unknown token 'E'"),
    (["try", "multiplication", "47 plus 2", "--model", "oracle"], "write it like 47x23"),
    (["try", "causal", "1,0,1,0,1", "--model", "nope"], "unknown model 'nope'"),
])
def test_bad_input_is_one_line_and_exit_2(args, words, home):
    result = subprocess.run([sys.executable, "-m", "oraclebench.cli", *args], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 2
    assert words in result.stderr and result.stderr.count("\n") == 1 and "Traceback" not in result.stderr


@pytest.mark.parametrize("task, text", [("causal", "1,0,1,0,1"), ("abcd", "C A D B C"), ("multiplication", "47x23")])
def test_try_shows_the_oracle_and_the_model_field_by_field(task, text, capsys):
    assert main(["try", task, text, "--model", "oracle"]) == 0
    out = capsys.readouterr().out
    assert "has no training manifest" in out and out.rstrip().endswith("correct")


def test_try_says_when_an_input_was_held_out(home, capsys):
    main(["try", "causal", "1,0,1,0,1", "--model", "gpt2-causal"])
    out = capsys.readouterr().out
    assert "HELD OUT from gpt2-causal's training" in out
    assert "newA" in out and "new_sum" in out
    main(["try", "causal", "0,1,1,1,0", "--model", "gpt2-causal"])
    assert "seen in gpt2-causal's training" in capsys.readouterr().out
