"""``oraclebench train judge-transplant`` at a tiny scale, and the judge argument analysis over records."""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace

import pytest

from oraclebench.judge_report import judge_analysis, render_markdown
from oraclebench.records import Record
from oraclebench.stats import mcnemar_exact

pytestmark = pytest.mark.judge

TINY = dict(hidden=16, n_layers=2, pretrain_steps=2, pretrain_batch=4, steps=3, batch=2, train_n=12, eval_every=2,
            eval_n=2, layers="0", finetune="lora")


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Tiny matrices: one thread is as fast, and does not thrash on a busy 2-core runner."""
    torch = pytest.importorskip("torch")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


# --------------------------------------------------------------------------- data


def test_training_problems_come_only_from_the_seen_templates_and_errors_and_curves_cover_both_splits():
    from oraclebench.training.judge import Recipe, arguer_texts, make_data
    from oraclebench.tasks import get_task

    recipe = Recipe(train_n=200, eval_n=20, heldout="templates=tickets,money,average;errors=slip,dropped")
    data = make_data(recipe)
    task = get_task("judge")
    assert data.manifest == {"templates": ["tickets", "money", "average"], "errors": ["slip", "dropped"], "masked": False}
    assert {p.template for p in data.train} == {"tickets", "money", "average"}
    assert {p.error for p in data.train} == {"slip", "dropped"}
    assert not any(p.masked for p in data.train)
    assert all(task.split(p, data.manifest) == "heldout" for p in data.curves["heldout"])
    assert all(task.split(p, data.manifest) == "seen" for p in data.curves["seen"])
    assert len(data.curves["heldout"]) == len(data.curves["seen"]) == 20
    assert make_data(recipe).train == data.train  # deterministic under the seed
    texts = arguer_texts(data.train[:1])
    assert len(texts) == 2 and data.train[0].correct in "".join(texts) and data.train[0].wrong in "".join(texts)
    assert all(p.masked for p in make_data(replace(recipe, masked=True)).train)


def test_the_masking_the_chooser_did_not_train_on_is_held_out():
    """The recipe trains on unmasked arguments only (or masked only, with --masked): an instance of a seen
    template with the other masking was never inside its training distribution, so it is held out, not
    'unseen' (a model trained without masking was reported as generalising to masked arguments)."""
    import dataclasses

    from oraclebench.training.judge import Recipe, make_data, training_data
    from oraclebench.tasks import get_task

    task = get_task("judge")
    recipe = Recipe(train_n=50, eval_n=5, heldout="templates=tickets,money")
    data = make_data(recipe)
    trained = task.training_identities(training_data(recipe, data.manifest))
    p = data.train[0]
    assert not p.masked and task.training_split(p, data.manifest, trained) == "trained"
    other = dataclasses.replace(p, swapped=not p.swapped)
    assert task.training_split(other, data.manifest, trained) == "unseen"
    assert task.training_split(dataclasses.replace(other, masked=True), data.manifest, trained) == "heldout"
    masked = make_data(replace(recipe, masked=True)).manifest
    assert task.split(dataclasses.replace(other, masked=True), masked) == "seen"
    assert task.split(other, masked) == "heldout"
    # A manifest from before (no "masked" key) reads as it did: masking is not part of its split.
    assert task.split(dataclasses.replace(other, masked=True), {"templates": ["tickets", "money"]}) == "seen"


def test_the_training_scale_and_bad_flags(monkeypatch):
    from oraclebench.errors import UsageError
    from oraclebench.training.judge import Recipe, scaled, train_scale

    small = scaled(Recipe(), 0.01)
    assert (small.steps, small.pretrain_steps, small.eval_n) == (12, 3, 4)
    monkeypatch.setenv("ORACLEBENCH_TRAIN_SCALE", "fast")
    with pytest.raises(UsageError, match=r"ORACLEBENCH_TRAIN_SCALE='fast' must be a number in \(0, 100\]"):
        train_scale()
    monkeypatch.setenv("ORACLEBENCH_TRAIN_SCALE", "200")  # the reference recipes' one rule: it was accepted here
    with pytest.raises(UsageError, match="must be a number in"):
        train_scale()


def test_a_reduced_scale_trains_beside_the_full_recipes_folder(monkeypatch, tmp_path):
    """ORACLEBENCH_TRAIN_SCALE=0.05 wrote models/judge-transplant, the full recipe's folder (a trial), and the
    leaderboard did not say the scale: the judge manifest keeps it beside its recipe."""
    from oraclebench.records import measured_as
    from oraclebench.training.judge import Recipe, default_out

    monkeypatch.setenv("ORACLEBENCH_HOME", str(tmp_path))
    assert default_out(Recipe()) == tmp_path / "models" / "judge-transplant"
    assert default_out(Recipe(transplant=False), 0.05) == tmp_path / "models" / "judge-transplant-control-scale0.05"
    assert measured_as({"manifest": {"scale": 0.05, "recipe": {"steps": 12}}}) == "training scale 0.05"


# --------------------------------------------------------------------------- the recipe end to end


def _digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """The tiny recipe run twice with one seed (determinism), and once as the no-transplant control."""
    from oraclebench.training.judge import Recipe, train

    root = tmp_path_factory.mktemp("judge-recipe")
    a = train(Recipe(**TINY), root / "a", device="cpu", quiet=True)
    b = train(Recipe(**TINY), root / "b", device="cpu", quiet=True)
    c = train(Recipe(**{**TINY, "transplant": False}), root / "c", device="cpu", quiet=True)
    return root, a, b, c


def test_the_recipe_writes_a_model_usable_as_transplant_and_as_hf(trained, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    root, manifest, _, _ = trained
    out = root / "a"
    for name in ("model.safetensors", "tokenizer.json", "manifest.json", "history.json", "curves.png",
                 "lora/adapter_config.json", "base/model.safetensors"):
        assert (out / name).is_file(), name
    assert manifest["task"] == "judge" and manifest["transplant"]["layers"] == [0]
    assert manifest["split"]["errors"] == ["slip", "operation", "dropped"]
    assert manifest["recipe"]["seed"] == 0 and set(manifest["final"]) >= {"seen_accuracy", "heldout_accuracy"}
    history = json.loads((out / "history.json").read_text())["curve"]
    assert [h["step"] for h in history] == [0, 2, 3]

    from oraclebench.models import load_model
    from oraclebench.runner import evaluate
    from oraclebench.sets import load_set, stratified

    instances = stratified(load_set("judge"), 8)
    transplant = load_model(f"transplant:{out}", {})
    assert transplant.layers == [0]  # the layers the manifest records
    records = evaluate(transplant, instances, "t")
    # The manifest's split and training data reach the records: the frozen set holds no training problem.
    assert {r.split for r in records} == {"unseen", "heldout"}
    assert all(r.error is None and r.detail["chosen"] in (1, 2) for r in records)
    assert transplant.passes == {"arguer": 16, "chooser": 8}
    plain = evaluate(load_model(f"transplant:{out}?layers=none", {}), instances, "n")
    hf = evaluate(load_model(f"hf:{out}", {}), instances, "h")
    assert [r.parsed for r in plain] == [r.parsed for r in hf]
    assert [s for r in plain for s in r.detail["scores"]] == pytest.approx(
        [s for r in hf for s in r.detail["scores"]], abs=1e-5)


def test_the_recipe_is_deterministic_under_its_seed(trained):
    root, a, b, _ = trained
    assert a["final"] == b["final"]
    assert _digest(root / "a" / "model.safetensors") == _digest(root / "b" / "model.safetensors")
    assert json.loads((root / "a" / "history.json").read_text())["pretrain_loss"] == \
        json.loads((root / "b" / "history.json").read_text())["pretrain_loss"]


def test_the_control_records_no_transplant_layers(trained):
    root, a, _, c = trained
    assert c["transplant"]["layers"] == [] and c["variant"]["transplant"] is False
    # The same pretraining (same seed, same data): the control differs only from the chooser stage on.
    assert _digest(root / "a" / "base" / "model.safetensors") == _digest(root / "c" / "base" / "model.safetensors")
    assert _digest(root / "a" / "model.safetensors") != _digest(root / "c" / "model.safetensors")


def test_the_command_line_runs_scaled_and_rejects_bad_input(tmp_path, monkeypatch, capsys):
    pytest.importorskip("torch")
    from oraclebench.training.judge import main

    assert main(["--out", str(tmp_path), "--hidden", "30"]) == 2
    assert "multiple of 4" in capsys.readouterr().err
    assert main(["--out", str(tmp_path), "--base", str(tmp_path / "nothing")]) == 2
    assert "no config.json" in capsys.readouterr().err


# --------------------------------------------------------------------------- the argument analysis


def _record(i: int, correct: bool, argument_correct: bool, split: str = "seen", masked: bool = False,
            model: str = "m", error: str | None = None) -> Record:
    expected = 1
    chosen = None if error else (expected if correct else 2)
    argued = expected if argument_correct else 2
    detail = {} if error else {"chosen": chosen, "p1": 0.7 if correct else 0.3, "p2": 0.3 if correct else 0.7,
                               "argument_correct": argument_correct, "followed_argument": chosen == argued,
                               "masked": masked, "template": "tickets", "error": "slip"}
    return Record(run_id="r", model=model, task="judge", instance_id=f"judge-v2-{i:04d}", label="x",
                  bucket={"template": "tickets", "error": "slip", "argument_correct": argument_correct, "masked": masked},
                  split=split, prompt=f"p{i}", completion=str(chosen), parsed=chosen, expected=expected,
                  correct=bool(correct and not error), detail=detail, error=error)


def test_the_argument_analysis_counts_what_seed_004_asked():
    # 20 instances, argument right on 10. The model is right on all 10 where the argument is right and on
    # 6 of the 10 where it is wrong: 16/20, never worse than the argument, better on 6 instances.
    recs = [_record(i, True, True) for i in range(10)] + [_record(10 + i, i < 6, False, split="heldout")
                                                            for i in range(10)]
    a = judge_analysis(recs)
    m = a["splits"]["all"]
    assert m["accuracy"]["k"] == 16 and m["accuracy"]["n"] == 20
    assert m["argument_base_rate"]["p"] == 0.5
    assert m["accuracy_argument_right"]["p"] == 1.0 and m["accuracy_argument_wrong"]["p"] == 0.6
    assert m["follows_argument"]["k"] == 14  # 10 where it is right, 4 where it is wrong
    assert m["versus_argument"]["only_first"] == 6 and m["versus_argument"]["only_second"] == 0
    assert m["versus_argument"]["p_first_better"] == pytest.approx(1 / 64)
    assert a["splits"]["heldout"]["accuracy"]["k"] == 6
    assert a["by_error"]["slip"]["seen"]["k"] == 10 and a["by_template"]["tickets"]["heldout"]["n"] == 10
    lo, hi = m["accuracy"]["ci"]
    assert lo < 0.8 < hi
    text = render_markdown(a)
    assert "beats the argument base rate (80.0% vs 50.0%" in text and "| accuracy | 80.0 [" in text


def test_the_paired_control_comparison_and_errors():
    model = [_record(i, i % 2 == 0, True) for i in range(12)] + [_record(12, False, True, error="timeout")]
    control = [_record(i, i < 3, True, model="c") for i in range(12)] + [_record(99, True, True, model="c")]
    a = judge_analysis(model, control)
    c = a["control"]["splits"]["all"]
    assert a["control"]["model"] == "c" and c["n"] == 12  # paired on the shared instance ids only
    # model right on 0,2,4,6,8,10; control on 0,1,2: both 0,2; only model 4,6,8,10; only control 1.
    assert (c["both"], c["only_first"], c["only_second"], c["neither"]) == (2, 4, 1, 5)
    assert c["p_two_sided"] == pytest.approx(0.375)
    assert c["difference"][0] == pytest.approx(3 / 12)
    assert a["splits"]["all"]["errors"] == 1 and a["splits"]["all"]["accuracy"]["n"] == 13
    assert "Paired with the control c" in render_markdown(a)


def test_the_control_pairs_only_instances_asking_the_same_question():
    """An id alone is not the question (fresh unseen draws number each model's own problems): a control
    record whose prompt differs under the same id is not paired (it was, by id alone)."""
    model = [_record(i, True, True) for i in range(4)]
    control = [_record(i, False, True, model="c") for i in range(4)]
    control[3] = replace(control[3], prompt="another problem")
    c = judge_analysis(model, control)["control"]["splits"]["all"]
    assert c["n"] == 3 and c["only_first"] == 3


def test_every_accuracy_of_the_analysis_says_how_many_requests_failed():
    """A failed request counts as not right (as in the summary), so each table shows the failures beside the
    accuracy: 3 of 10 'tickets' requests failed and 7 were right, which must not read as 70% judged."""
    recs = [_record(i, True, True) for i in range(7)] + [_record(7 + i, False, False, error="HTTP 500") for i in range(3)]
    control = [_record(i, True, True, model="c") for i in range(10)]
    a = judge_analysis(recs, control)
    assert a["by_template"]["tickets"]["seen"] == {**a["by_template"]["tickets"]["seen"], "k": 7, "n": 10, "errors": 3}
    # The paired comparison measures the pairs both runs answered, as compare does; the 3 failed are counted apart.
    paired = a["control"]["splits"]["all"]
    assert (paired["n"], paired["left_out"], paired["errors_model"], paired["errors_control"]) == (7, 3, 3, 0)
    assert paired["accuracy_model"]["n"] == paired["accuracy_control"]["n"] == 7
    text = render_markdown(a)
    tickets = next(line for line in text.splitlines() if line.startswith("| tickets |"))
    assert "70.0 [" in tickets and "(n=10, 3 failed)" in tickets
    assert "| accuracy | 70.0 [" in text and "(n=10, 3 failed)" in text.split("| accuracy |")[1].splitlines()[0]
    row = next(line for line in text.splitlines() if line.startswith("| all |"))
    assert "(n=7)" in row and row.endswith("| 3 (3 / 0) |")


def test_the_control_comparison_is_compares_own_and_leaves_failed_pairs_out():
    """judge_report and ``oraclebench compare`` test the same pairs alike (review: counting failed requests as
    not right, judge_report made failed pairs discordant: 29 vs 29, p = 1, where compare read 21 vs 26 over 88
    measured pairs). Here: 12 pairs; the model fails 8-9, the control fails 10-11 and is right on 8-11; the
    model is right on 0-5, the control on 0-1 and 6-7. Measured 0-7: both 0-1, only model 2-5, only control 6-7."""
    from oraclebench.compare import paired_cell

    model = [_record(i, i < 6, True, error="HTTP 500" if i in (8, 9) else None) for i in range(12)]
    control = [_record(i, i < 2 or 6 <= i, True, model="c", error="timeout" if i >= 10 else None) for i in range(12)]
    c = judge_analysis(model, control)["control"]["splits"]["all"]
    assert (c["n"], c["both"], c["only_first"], c["only_second"], c["neither"], c["left_out"]) == (8, 2, 4, 2, 0, 4)
    assert c["p_two_sided"] == pytest.approx(mcnemar_exact(4, 2))
    same = paired_cell("judge", "all", list(zip(model, control)))
    assert (same.both, same.only_a, same.only_b, same.left_out) == (2, 4, 2, 4)
    assert c["p_two_sided"] == pytest.approx(same.p_value)
    assert c["difference"][0] == pytest.approx(2 / 8)


def test_arguer_grad_lets_the_loss_reach_the_arguer_pass(trained):
    import torch

    from oraclebench.models.transplant import load
    from oraclebench.training.judge import Chooser, Recipe, make_data

    root, *_ = trained
    model, tokenizer = load(root / "a", device="cpu")
    problems = make_data(Recipe(**TINY)).train[:2]
    grads = []
    for arguer_grad in (False, True):
        model.zero_grad(set_to_none=True)
        scores, targets = Chooser(model, tokenizer, [0]).option_logprobs(problems, 2, arguer_grad=arguer_grad)
        torch.nn.functional.nll_loss(scores, targets).backward()
        grads.append(model.model.embed_tokens.weight.grad.clone())
    # With arguer_grad the loss also flows back through the transplanted states into the arguer passes.
    assert not torch.allclose(grads[0], grads[1])


def test_the_analysis_of_a_partial_run_says_so(tmp_path, capsys):
    """It printed "beats the argument base rate" for a --limit run with failed requests, without a word (a
    second trial); the leaderboard would not show such a run as the model's score."""
    from oraclebench.judge_report import main
    from oraclebench.records import write_run
    from oraclebench.summary import summarize

    recs = [_record(i, True, True) for i in range(8)] + [_record(8 + i, False, False, error="HTTP 500") for i in range(2)]
    summary = summarize(recs, run_id="r", model="m", manifest=None, options={})
    summary["complete"], summary["partial"] = {"judge": False}, {"judge": "10 of 576 instances (--limit 10)"}
    run_dir = write_run(tmp_path, "r", recs, summary)
    assert main([str(run_dir), "--results", str(tmp_path)]) == 0
    assert "PARTIAL run (10 of 576 instances (--limit 10)): not the model's score." in capsys.readouterr().out
