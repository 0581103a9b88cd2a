"""The `hf:` adapter on a tiny GPT-2 built from config: greedy answers independent of batching and padding."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from models.base import ModelError  # noqa: E402
from models.charlm import build_tokenizer, save, tiny_gpt2  # noqa: E402
from tasks import get_task  # noqa: E402
from tasks.base import Request  # noqa: E402


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    """Random weights: greedy decoding is still a deterministic function of the prompt."""
    task = get_task("multiplication")
    problems = [task.sample(0, i) for i in range(40)]
    texts = [task.render(p).prompt + task.render_answer(p, task.solve(p)) for p in problems]
    tokenizer = build_tokenizer(texts + ["A B C D = (empty)\n"])
    model = tiny_gpt2(tokenizer, n_embd=32, n_layer=2, n_head=2, seed=1)
    return save(model, tokenizer, tmp_path_factory.mktemp("ckpt") / "tiny"), problems, task


def requests(problems, task, budgets=(5, 12, 3)):
    # Mixed prompt lengths and budgets, so batches carry padding of every size.
    out = []
    for i, p in enumerate(problems):
        r = task.render(p)
        out.append(Request(r.prompt + " " * (i % 4), stop=("7",) if i % 3 == 0 else (), max_tokens=budgets[i % 3]))
    return out


def reference(path, reqs):
    """Plain `model.generate`, one prompt at a time: no padding at all."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(path)
    model = AutoModelForCausalLM.from_pretrained(path).eval()
    texts = []
    for r in reqs:
        ids = tok(r.prompt, return_tensors="pt")
        with torch.inference_mode():
            out = model.generate(**ids, max_new_tokens=r.max_tokens, do_sample=False, pad_token_id=tok.pad_token_id,
                                 eos_token_id=tok.eos_token_id)
        text = tok.decode(out[0, ids["input_ids"].shape[1]:], skip_special_tokens=True)
        for s in r.stop:
            text = text.split(s)[0]
        texts.append(text)
    return texts


def test_greedy_answers_do_not_depend_on_batch_size_or_padding(checkpoint):
    from models.hf import HFModel

    path, problems, task = checkpoint
    reqs = requests(problems, task)
    answers = {size: [r.text for r in HFModel(str(path), {"batch_size": size}).generate(reqs)] for size in (1, 3, 16)}
    assert answers[1] == answers[3] == answers[16]
    assert answers[1] == reference(path, reqs)
    assert len(set(answers[1])) > 1  # not a degenerate constant


def test_stop_strings_and_token_budgets_are_respected(checkpoint):
    from models.hf import HFModel

    path, problems, task = checkpoint
    reqs = requests(problems, task)
    model = HFModel(str(path), {})
    for req, resp in zip(reqs, model.generate(reqs)):
        assert resp.error is None
        assert not any(s in resp.text for s in req.stop)
        assert len(model.tokenizer(resp.text, add_special_tokens=False)["input_ids"]) <= req.max_tokens


def test_choice_is_the_option_of_highest_log_likelihood(checkpoint):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from models.hf import HFModel

    path, problems, task = checkpoint
    req = Request(task.render(problems[0]).prompt, choices=(" 1", " 2", " 9"))
    resp = HFModel(str(path), {}).generate([req])[0]
    tok = AutoTokenizer.from_pretrained(path)
    model = AutoModelForCausalLM.from_pretrained(path).eval()
    prompt = tok(req.prompt)["input_ids"]
    expected = []
    for option in req.choices:
        ids = prompt + tok(option, add_special_tokens=False)["input_ids"]
        with torch.inference_mode():
            logp = model(torch.tensor([ids])).logits[0].log_softmax(-1)
        expected.append(sum(float(logp[i - 1, ids[i]]) for i in range(len(prompt), len(ids))))
    assert resp.scores == pytest.approx(expected, abs=1e-4)
    assert resp.choice == max(range(3), key=expected.__getitem__)


@pytest.mark.parametrize("make", [lambda tmp: tmp / "missing", lambda tmp: tmp])
def test_a_path_that_is_not_a_model_is_a_one_line_model_error(tmp_path, make):
    from models.hf import HFModel

    with pytest.raises(ModelError, match="hf:"):
        HFModel(str(make(tmp_path)), {})
