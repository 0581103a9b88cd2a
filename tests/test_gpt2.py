"""The lean GPT-2 decode step (``models/gpt2.py``): the very floats of the model's own forward,
used by the ``hf:`` adapter only where it applies, and never where a hook must run."""

from __future__ import annotations

import logging

import pytest

torch = pytest.importorskip("torch")

from oraclebench.models import gpt2  # noqa: E402
from oraclebench.models.charlm import build_tokenizer, save, tiny_gpt2  # noqa: E402
from oraclebench.models.hf import HFModel, kv_cache  # noqa: E402
from oraclebench.tasks import get_task  # noqa: E402
from oraclebench.tasks.base import Request  # noqa: E402

SHAPES = [dict(n_embd=32, n_layer=2, n_head=2), dict(n_embd=48, n_layer=3, n_head=4), dict(n_embd=64, n_layer=1, n_head=1)]


def tokenizer():
    return build_tokenizer(["Q: What is 0123456789 × 0123456789? A: = ,\n", "A B C D"])


def decode_both(model, adapter, prompts: list[list[int]], steps: int):
    """Prefills two caches alike (left padding), then feeds the same greedy tokens through the lean
    step and through the forward; yields both logits at every step."""
    rows, width = len(prompts), max(map(len, prompts))
    capacity = width + steps
    caches = [adapter._new_cache(capacity), adapter._new_cache(capacity)]
    mask = torch.ones(rows, capacity, dtype=torch.long)
    ids = torch.zeros(rows, width, dtype=torch.long)
    for k, p in enumerate(prompts):
        ids[k, width - len(p):] = torch.tensor(p)
        mask[k, :width - len(p)] = 0
    positions = (mask[:, :width].cumsum(-1) - 1).clamp(min=0)
    with torch.inference_mode():
        for cache in caches:
            logits = model(input_ids=ids, attention_mask=mask[:, :width], position_ids=positions,
                           **kv_cache(model, cache), use_cache=True).logits[:, -1]
        position = positions[:, -1:]
        for t in range(steps):
            nxt, position = logits.argmax(-1), position + 1
            cols = mask[:, :width + t + 1]
            mine = gpt2.step(model, caches[0], nxt, position, cols)
            logits = adapter._forward(caches[1], nxt, position, cols)
            yield mine, logits


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s.values())))
def test_the_lean_step_gives_the_forwards_logits_bit_for_bit(tmp_path, shape):
    tok = tokenizer()
    path = save(tiny_gpt2(tok, seed=3, **shape), tok, tmp_path / "m")
    adapter = HFModel(str(path))
    assert gpt2.supports(adapter.model) and adapter.lean
    generator = torch.Generator().manual_seed(0)
    for rows, longest in ((1, 5), (3, 9), (17, 12)):
        prompts = [torch.randint(2, len(tok), (int(n),), generator=generator).tolist()
                   for n in torch.randint(1, longest + 1, (rows,), generator=generator)]
        prompts[0] = prompts[0][:longest] + [3] * (longest - len(prompts[0]))  # one full row, the rest padded
        pairs = list(decode_both(adapter.model, adapter, prompts, steps=8))
        assert len(pairs) == 8
        for mine, theirs in pairs:
            assert mine.shape == theirs.shape == (rows, len(tok))
            assert torch.equal(mine, theirs)


def test_only_a_plain_gpt2_in_eval_mode_takes_the_lean_step(tmp_path):
    from transformers import AutoModelForCausalLM, LlamaConfig

    tok = tokenizer()
    path = save(tiny_gpt2(tok, n_embd=32, n_layer=1, n_head=2), tok, tmp_path / "m")
    model = AutoModelForCausalLM.from_pretrained(path)
    assert not gpt2.supports(model.train())
    assert gpt2.supports(model.eval())
    llama = AutoModelForCausalLM.from_config(LlamaConfig(vocab_size=40, hidden_size=32, intermediate_size=64,
                                                         num_hidden_layers=1, num_attention_heads=2))
    assert not gpt2.supports(llama.eval())
    assert not gpt2.hooked(model)
    handle = model.transformer.h[0].mlp.register_forward_hook(lambda *a: None)
    assert gpt2.hooked(model)
    handle.remove()
    assert not gpt2.hooked(model)


@pytest.fixture(scope="module")
def trained_like(tmp_path_factory):
    task = get_task("multiplication")
    problems = [task.sample(0, i) for i in range(24)]
    texts = [task.render(p).prompt + task.render_answer(p, task.solve(p)) for p in problems]
    tok = build_tokenizer(texts)
    path = save(tiny_gpt2(tok, n_embd=32, n_layer=2, n_head=2, seed=2), tok, tmp_path_factory.mktemp("m") / "m")
    reqs = [Request(task.render(p).prompt, stop=("\n",), max_tokens=6 + i % 5) for i, p in enumerate(problems)]
    return path, reqs


def answers(path, reqs, prepare=None):
    model = HFModel(str(path), {"batch_size": "8"})
    if prepare:
        prepare(model)
    return model, [r.text for r in model.generate(reqs)]


def test_the_adapter_decodes_through_the_lean_step_with_the_forwards_answers(trained_like, monkeypatch):
    path, reqs = trained_like
    calls = []
    real = gpt2.step
    monkeypatch.setattr(gpt2_step, "step", lambda *a: calls.append(1) or real(*a))
    lean, with_lean = answers(path, reqs)
    monkeypatch.setattr(gpt2_step, "supports", lambda model: False)
    plain, without = answers(path, reqs)
    assert lean.lean and lean.lean_checked and not plain.lean
    assert len(calls) > 10  # every step after the check
    assert with_lean == without and len(set(without)) > 1


def test_a_forward_hook_runs_on_every_step_the_lean_step_is_not_taken(trained_like):
    path, reqs = trained_like
    decode_rows = []  # rows of each call of the first block with one new token per row: a decode step

    def hook_on(model):
        def seen(module, args, out):
            if args[0].shape[1] == 1:
                decode_rows.append(args[0].shape[0])
        model.model.transformer.h[0].register_forward_hook(seen)

    model, _ = answers(path, reqs, hook_on)
    assert model.work.decode_tokens > 0
    # Every decode step ran through the hooked block: as many rows as were fed, plus finished rows
    # riding along in their batch until it drops them.
    assert sum(decode_rows) >= model.work.decode_tokens
    assert len(decode_rows) >= max(r.max_tokens for r in reqs) - 1


def test_a_lean_step_that_differs_is_dropped_with_a_warning_and_the_answers_stay_the_forwards(trained_like, monkeypatch,
                                                                                             caplog):
    path, reqs = trained_like
    _, expected = answers(path, reqs)
    real = gpt2.step
    monkeypatch.setattr(gpt2_step, "step", lambda *a: real(*a) + 1e-3)  # a transformers that changed GPT-2
    with caplog.at_level(logging.WARNING, logger="oraclebench.hf"):
        model, got = answers(path, reqs)
    assert not model.lean
    assert "lean GPT-2 decode step does not give the forward's logits" in caplog.text
    assert got == expected


def test_work_counts_the_tokens_of_each_phase_and_their_context(trained_like):
    """Counted by hand from the requests and answers: every prompt token once (these prompts share
    fewer tokens than a shared prefix needs), each attending to its position + 1 tokens; in decoding,
    each generated token that went back in: all of a row's tokens where it ended on EOS, all but the
    last where its budget or a stop string ended it."""
    from oraclebench.tasks.reading import stop_index

    path, reqs = trained_like
    model = HFModel(str(path), {"batch_size": "64"})
    # Random weights seldom choose end-of-text: "7", which these weights write in some answers (":77777")
    # and not in others ("::::::"), plays its part.
    model.eos = set(model.tokenizer("7", add_special_tokens=False)["input_ids"])
    out = model.generate(reqs)
    prompts = [len(ids) for ids in model._encode([r.prompt for r in reqs])]
    fed, chosen, eos = [], [], 0
    for r, answer in zip(reqs, out):
        generated = len(model.tokenizer(answer.text, add_special_tokens=False)["input_ids"])
        ended_by_eos = generated < r.max_tokens and stop_index(answer.text, r.stop) is None
        fed.append(generated if ended_by_eos else generated - 1)
        chosen.append(generated + ended_by_eos)  # the end-of-text token is chosen, not shown
        eos += ended_by_eos
    w = model.work
    assert w.generated_tokens == sum(chosen)
    assert 0 < eos < len(reqs), eos  # both endings are counted here
    assert w.prefill_tokens == sum(prompts)
    assert w.prefill_context == sum(p * (p + 1) // 2 for p in prompts)
    assert w.decode_tokens == sum(fed) > 0
    assert w.decode_context == sum(f * p + f * (f + 1) // 2 for f, p in zip(fed, prompts))
    assert w.decode_seconds > 0 and w.prefill_seconds > 0


@pytest.mark.parametrize("attention", ["eager", "sdpa"])
def test_both_attention_backends_of_the_cpu_give_the_forwards_logits(tmp_path, attention):
    from transformers import AutoModelForCausalLM

    tok = tokenizer()
    path = save(tiny_gpt2(tok, n_embd=32, n_layer=2, n_head=2, seed=9), tok, tmp_path / "m")
    adapter = HFModel(str(path))
    adapter.model = AutoModelForCausalLM.from_pretrained(path, attn_implementation=attention).eval()
    assert gpt2.supports(adapter.model)
    pairs = list(decode_both(adapter.model, adapter, [[5, 6, 7, 8], [9, 10], [4]], steps=6))
    assert pairs and all(torch.equal(mine, theirs) for mine, theirs in pairs)
    adapter.model.config._attn_implementation = "flash_attention_2"
    assert not gpt2.supports(adapter.model)
