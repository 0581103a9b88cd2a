"""Reference fine-tunes and ``oraclebench train``, at a tiny training budget (ORACLEBENCH_TRAIN_SCALE=0.002)."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys

import pytest

from oraclebench.cli import main


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("ORACLEBENCH_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("ORACLEBENCH_TRAIN_SCALE", "0.002")
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
    assert manifest["recipe"]["scale"] == 0.002 and manifest["recipe"]["steps"] == 6 and manifest["loss_curve"]
    assert (a / "loss.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_another_seed_gives_other_weights(home, tmp_path):
    main(["train", "gpt2-mult", "--steps", "3", "--seed", "1", "--out", str(tmp_path / "s1")])
    main(["train", "gpt2-mult", "--steps", "3", "--seed", "2", "--out", str(tmp_path / "s2")])
    assert weights(tmp_path / "s1") != weights(tmp_path / "s2")


def test_load_reference_trains_when_missing_and_reuses_a_matching_checkpoint(home, capsys):
    from oraclebench.training.recipes import load_reference

    model = load_reference("gpt2-causal")
    err = capsys.readouterr().err
    path = home / "models" / "gpt2-causal-scale0.002"  # a reduced scale never takes the published recipe's folder
    assert f"gpt2-causal: no checkpoint at {path}; training it now" in err
    assert model.manifest["split"]["omitted"] == ["1,0,1,0,1", "1,1,1,1,1", "0,0,0,0,0"]
    stamp = (path / "model.safetensors").stat().st_mtime_ns
    load_reference("gpt2-causal")
    assert "training" not in capsys.readouterr().err
    assert (path / "model.safetensors").stat().st_mtime_ns == stamp


def test_a_checkpoint_of_another_recipe_is_not_silently_reused(home, monkeypatch, capsys):
    from oraclebench.training.recipes import load_reference

    load_reference("gpt2-causal")
    capsys.readouterr()
    path = home / "models" / "gpt2-causal-scale0.002"
    manifest = json.loads((path / "manifest.json").read_text())
    manifest["recipe"]["examples"] += 1  # as a checkpoint of an older recipe at the same place
    (path / "manifest.json").write_text(json.dumps(manifest))
    load_reference("gpt2-causal")
    err = capsys.readouterr().err
    assert "was trained with" in err and "training it now" in err
    assert json.loads((path / "manifest.json").read_text())["recipe"]["examples"] == manifest["recipe"]["examples"] - 1


def test_another_training_scale_trains_beside_the_checkpoint_earlier_runs_measured(home, monkeypatch, capsys):
    """A forgotten ORACLEBENCH_TRAIN_SCALE retrained the reference in place (a trial): the weights behind a
    leaderboard row were gone. Each scale has its folder; the published recipe's is models/NAME."""
    from oraclebench.models.reference import checkpoint_path
    from oraclebench.training.recipes import load_reference

    load_reference("gpt2-causal")
    first = home / "models" / "gpt2-causal-scale0.002"
    stamp = (first / "model.safetensors").stat().st_mtime_ns
    monkeypatch.setenv("ORACLEBENCH_TRAIN_SCALE", "0.004")
    load_reference("gpt2-causal")
    assert "no checkpoint at " + str(home / "models" / "gpt2-causal-scale0.004") in capsys.readouterr().err
    assert (first / "model.safetensors").stat().st_mtime_ns == stamp
    assert checkpoint_path("gpt2-causal") == home / "models" / "gpt2-causal"
    assert checkpoint_path("gpt2-causal", seed=1, scale=0.5).name.startswith("gpt2-causal-")
    assert checkpoint_path("gpt2-causal", seed=1, scale=0.5).name.endswith("-scale0.5")


def test_training_cut_short_has_a_folder_of_its_own_and_the_published_one_is_left_alone(home, capsys):
    """``train gpt2-causal --steps 3`` saved into the recipe's own folder: the next --steps replaced it without a
    word, and ``--model gpt2-causal`` trained the recipe over it (a new user)."""
    from oraclebench.training.recipes import load_reference

    assert main(["train", "gpt2-causal", "--steps", "3"]) == 0
    assert main(["train", "gpt2-causal", "--epochs", "0.5"]) == 0
    short, half = home / "models" / "gpt2-causal-scale0.002-steps3", home / "models" / "gpt2-causal-scale0.002-epochs0.5"
    assert f"saved to {short}" in capsys.readouterr().out or (short / "model.safetensors").is_file()
    assert (half / "model.safetensors").is_file()
    stamp = (short / "model.safetensors").stat().st_mtime_ns
    load_reference("gpt2-causal")  # the recipe's own checkpoint, trained beside them
    assert (home / "models" / "gpt2-causal-scale0.002" / "model.safetensors").is_file()
    assert (short / "model.safetensors").stat().st_mtime_ns == stamp


def test_a_reference_model_answers_every_request_and_splits_seen_from_heldout(home):
    from oraclebench.training.recipes import load_reference
    from oraclebench.runner import evaluate
    from oraclebench.sets import load_set

    model = load_reference("gpt2-causal")
    records = evaluate(model, load_set("causal"), "run")
    assert len(records) == 32 and all(r.error is None for r in records)
    assert sorted(r.bucket["inputs"] for r in records if r.split == "heldout") == ["0,0,0,0,0", "1,0,1,0,1", "1,1,1,1,1"]


@pytest.mark.parametrize("args, words", [
    (["train", "gpt2-causal", "--omit", "1,1"], "bad sequence '1,1'"),
    (["train", "gpt2-abcd", "--omit", "1,1,1,1,1"], "--omit is for gpt2-causal"),
    (["train", "gpt2-mult", "--heldout", "digits=2"], "bad digit counts '2'"),
    (["train", "gpt2-causal", "--steps", "0"], "--steps must be positive"),
])
def test_bad_train_input_is_one_line_and_exit_2(args, words, home):
    result = subprocess.run([sys.executable, "-m", "oraclebench.cli", *args], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 2
    assert words in result.stderr and result.stderr.count("\n") == 1 and "Traceback" not in result.stderr


def test_a_bad_train_scale_is_a_one_line_model_error(home, monkeypatch):
    from oraclebench.models.base import ModelError
    from oraclebench.training.recipes import load_reference

    monkeypatch.setenv("ORACLEBENCH_TRAIN_SCALE", "lots")
    with pytest.raises(ModelError, match="ORACLEBENCH_TRAIN_SCALE='lots' must be a number"):
        load_reference("gpt2-causal")


def test_the_scratchpad_model_answers_a_plain_question_from_its_worked_answer(home):
    from oraclebench.training.recipes import load_reference
    from oraclebench.oracles.multiply import read_final, work_lines
    from oraclebench.tasks import get_task

    task = get_task("multiplication")
    model = load_reference("gpt2-mult-scratchpad")
    plain = [task.request(i) for i in task.fresh(4, 0, task.config(a_digits=(1, 2), b_digits=(1, 2)))]
    worked = [dataclasses.replace(task.render(task.decode({**r.problem, "scratchpad": True})), task=r.task)
              for r in plain]
    for answer, work, asked in zip(model.generate(plain), model.generate(worked), worked):
        lines = work_lines(work.text)
        final = read_final(lines[-1]) if lines else None
        assert answer.text == (work.text if final is None else f" {final}\n{work.text}")
        # A record keeps the prompt really sent and all the model wrote (they were not shown: a trial).
        assert (answer.asked, answer.written) == (asked.prompt, work.text)
        assert (work.asked, work.written) == (None, None)  # a worked question is asked as it is
    assert model.identity().endswith("+worked")


def test_a_scratchpad_checkpoint_of_ones_own_is_asked_its_worked_form_and_never_trained_over(home, tmp_path, capsys,
                                                                                             monkeypatch):
    """``train gpt2-mult-scratchpad --steps N`` printed "score it: ... --model hf:DIR": hf: asked the plain question,
    the model wrote its work, and every answer read no answer (0.0%). And ``--model gpt2-mult-scratchpad
    --model-opt path=DIR`` would have trained the recipe over DIR (review)."""
    from oraclebench.models import load_model
    from oraclebench.models.base import ModelError
    from oraclebench.models.reference import WorkedMultiplication
    from oraclebench.tasks import get_task

    out = tmp_path / "sp"
    assert main(["train", "gpt2-mult-scratchpad", "--steps", "3", "--out", str(out)]) == 0
    assert f"--model hf:{out}" in capsys.readouterr().out  # the score command train prints
    model = load_model(f"hf:{out}")
    assert isinstance(model, WorkedMultiplication) and model.identity().endswith("+worked")
    task = get_task("multiplication")
    [answer] = model.generate([task.request(task.fresh(1, 0, task.config(a_digits=(1, 1), b_digits=(1, 1)))[0])])
    assert answer.asked.endswith("Show your work. A:")  # the worked form was asked
    assert type(load_model(f"hf:{out}", {"worked": "off"})) is not WorkedMultiplication
    with pytest.raises(ModelError, match="worked='maybe' must be one of auto|on|off"):
        load_model(f"hf:{out}", {"worked": "maybe"})
    # Worked text with no final "= N" line is no answer strictly, and leniently read whole (its last number): cut at
    # the plain "\n" it read 141, the first line of work.
    from oraclebench.models.hf import HFModel
    from oraclebench.runner import evaluate
    from oraclebench.tasks.base import Response

    work = " 47 × 3 = 141 (carries 1,2)\n47 × 20 = 940\n141 + 940 = 1081\n1081\n\n"
    monkeypatch.setattr(HFModel, "complete", lambda self, requests: [Response(text=work) for _ in requests])
    [record] = evaluate(model, [task.instance(task.Problem(47, 23), "m-0")], "r")
    assert (record.status, record.parsed_lenient, record.correct_lenient) == ("no_answer", 1081, True)
    stamp = (out / "model.safetensors").stat().st_mtime_ns
    with pytest.raises(ModelError, match=f"is never trained over: score it as hf:{out}"):
        load_model("gpt2-mult-scratchpad", {"path": str(out)})
    assert (out / "model.safetensors").stat().st_mtime_ns == stamp


def test_a_shared_prompt_prefix_run_once_gives_the_same_training_loss():
    torch = pytest.importorskip("torch")
    from oraclebench.models.charlm import build_tokenizer, tiny_gpt2
    from oraclebench.training.loop import batch_loss, encode_pairs, shared_prefix
    from oraclebench.tasks import get_task

    task = get_task("abcd")  # every prompt starts with the same ~350-token instruction
    problems = [task.sample(0, i, task.config(max_length=6)) for i in range(6)]
    pairs = [(task.render(p).prompt, task.render_answer(p, task.solve(p))) for p in problems]
    tokenizer = build_tokenizer([p + c for p, c in pairs])
    model = tiny_gpt2(tokenizer, n_embd=32, n_layer=2, n_head=2, n_positions=1024).eval()
    batch = encode_pairs(tokenizer, pairs)
    assert shared_prefix(batch) > 300
    with torch.no_grad():
        full, full_tokens = batch_loss(model, batch, tokenizer.pad_token_id, share_prefix=0)
        shared, shared_tokens = batch_loss(model, batch, tokenizer.pad_token_id, share_prefix=32)
    assert float(shared) == pytest.approx(float(full), rel=1e-5)
    assert shared_tokens < full_tokens / 3


def test_an_instruction_read_as_one_token_round_trips_through_save_and_load(tmp_path):
    pytest.importorskip("torch")
    from transformers import AutoTokenizer

    from oraclebench.models.charlm import build_tokenizer, pieces, save, tiny_gpt2
    from oraclebench.training.recipes import instruction
    from oraclebench.tasks import get_task

    task = get_task("abcd")
    prompts = [task.render(task.sample(0, i)).prompt for i in range(20)]
    phrase = instruction(prompts)
    assert phrase.endswith("step by step:\n\n") and all(p.startswith(phrase) for p in prompts)
    tokenizer = build_tokenizer(prompts, phrases=[phrase])
    save(tiny_gpt2(tokenizer, n_embd=16, n_layer=1, n_head=1), tokenizer, tmp_path / "m")
    loaded = AutoTokenizer.from_pretrained(tmp_path / "m")
    for prompt in prompts:
        ids = loaded(prompt)["input_ids"]
        assert ids[0] == loaded.convert_tokens_to_ids(phrase)
        assert len(ids) == 1 + len(pieces(prompt[len(phrase):]))  # the program, token by token
        assert loaded.decode(ids) == prompt
    assert instruction(["short\n1", "short\n2"]) == ""  # nothing worth a token
