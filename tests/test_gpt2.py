"""GPT-2 without transformers' model code (``models/gpt2.py``): the very floats of transformers'
forward, whether it runs the whole model (``impl=native``, a plain GPT-2 directory read without
transformers) or the lean decode step of a model transformers loaded; used by the ``hf:`` adapter
only where it applies, and never where a hook must run."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

torch = pytest.importorskip("torch")

from oraclebench.models import gpt2, gpt2_checkpoint  # noqa: E402
from oraclebench.models.charlm import build_tokenizer, save, tiny_gpt2  # noqa: E402
from oraclebench.models.base import ModelError  # noqa: E402
from oraclebench.models.hf import HFModel  # noqa: E402
from oraclebench.models.kv_slab import kv_cache  # noqa: E402
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
    mask = torch.ones(rows, capacity, dtype=torch.long, device=adapter.device)  # cuda where the machine has one
    ids = torch.zeros(rows, width, dtype=torch.long, device=adapter.device)
    for k, p in enumerate(prompts):
        ids[k, width - len(p):] = torch.tensor(p)
        mask[k, :width - len(p)] = 0
    positions = (mask[:, :width].cumsum(-1) - 1).clamp(min=0)
    with torch.inference_mode():
        for cache in caches:
            logits = model(input_ids=ids, attention_mask=mask[:, :width], position_ids=positions,
                           **kv_cache(model, cache), use_cache=True).logits[:, -1]
        position = positions[:, -1:]
        weights, bias = gpt2.bind(model), gpt2.padding_bias(mask, logits.dtype)
        for t in range(steps):
            nxt, position = logits.argmax(-1), position + 1
            cols = mask[:, :width + t + 1]
            mine = gpt2.step(weights, gpt2.Config.read(model.config), caches[0], nxt, position,
                             None if bias is None else bias[..., :width + t + 1])
            logits = adapter._forward(caches[1], nxt, position, cols)
            yield mine, logits


@pytest.mark.parametrize("impl", ["transformers", "native"])
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s.values())))
def test_the_lean_step_gives_the_forwards_logits_bit_for_bit(tmp_path, shape, impl):
    """Both ways ``hf:`` runs a GPT-2 decode through the lean step: with and without padding (one
    row alone, rows of one length, rows padded), its logits are the forward's."""
    tok = tokenizer()
    path = save(tiny_gpt2(tok, seed=3, **shape), tok, tmp_path / "m")
    adapter = HFModel(str(path), {"impl": impl})
    assert adapter.native == (impl == "native") and adapter.lean
    assert adapter.native or gpt2.supports(adapter.model)
    generator = torch.Generator().manual_seed(0)
    same_length = [torch.randint(2, len(tok), (6,), generator=generator).tolist() for _ in range(4)]
    pairs = list(decode_both(adapter.model, adapter, same_length, steps=5))
    assert all(torch.equal(mine, theirs) for mine, theirs in pairs)
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


def answers(path, reqs, prepare=None, impl="transformers"):
    model = HFModel(str(path), {"batch_size": "8", "impl": impl})
    if prepare:
        prepare(model)
    return model, [r.text for r in model.generate(reqs)]


@pytest.mark.parametrize("impl", ["transformers", "native"])
def test_the_adapter_decodes_through_the_lean_step_with_the_forwards_answers(trained_like, monkeypatch, impl):
    path, reqs = trained_like
    calls = []
    real = gpt2.step
    monkeypatch.setattr(gpt2, "step", lambda *a: calls.append(1) or real(*a))
    lean, with_lean = answers(path, reqs, impl=impl)
    assert lean.lean and lean.lean_checked
    assert len(calls) > 10  # every step after the check
    calls.clear()
    plain, without = answers(path, reqs, prepare=lambda model: setattr(model, "lean", False), impl=impl)
    assert not calls
    assert with_lean == without and len(set(without)) > 1


def test_the_padding_bias_is_the_mask_sdpa_makes_of_a_boolean_one_and_none_without_padding():
    from torch.nn import functional as F

    mask = torch.tensor([[0, 0, 1, 1, 1], [1, 1, 1, 1, 1], [0, 1, 1, 1, 1]])
    bias = gpt2.padding_bias(mask, torch.float32)
    assert bias.shape == (3, 1, 1, 5)
    assert bias[0, 0, 0].tolist() == [float("-inf")] * 2 + [0.0] * 3 and not bias[1].any()
    q, k, v = (torch.randn(3, 2, 1, 8, generator=torch.Generator().manual_seed(i)) for i in range(3))
    k, v = k.expand(3, 2, 5, 8), v.expand(3, 2, 5, 8) * torch.arange(1.0, 6.0)[:, None]
    boolean = F.scaled_dot_product_attention(q, k, v, attn_mask=mask[:, None, None, :].bool())
    assert torch.equal(F.scaled_dot_product_attention(q, k, v, attn_mask=bias), boolean)
    assert gpt2.padding_bias(torch.ones(4, 7, dtype=torch.long), torch.float32) is None
    assert gpt2.padding_bias(mask[1:2], torch.bfloat16) is None
    assert gpt2.padding_bias(mask, torch.bfloat16).dtype == torch.bfloat16


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
    # Every decode step ran through the hooked block: as many rows as were fed, plus any finished row
    # still in its batch (rows leave at the step they finish; a batch's last step ends them all).
    assert sum(decode_rows) >= model.work.decode_tokens
    assert len(decode_rows) >= max(r.max_tokens for r in reqs) - 1


@pytest.mark.parametrize("impl", ["transformers", "native"])
def test_a_lean_step_that_differs_is_dropped_with_a_warning_and_the_answers_stay_the_forwards(trained_like, monkeypatch,
                                                                                             caplog, impl):
    path, reqs = trained_like
    _, expected = answers(path, reqs, impl=impl)
    real = gpt2.step
    monkeypatch.setattr(gpt2, "step", lambda *a: real(*a) + 1e-3)  # a transformers that changed GPT-2
    with caplog.at_level(logging.WARNING, logger="oraclebench.hf"):
        model, got = answers(path, reqs, impl=impl)
    assert not model.lean
    assert "lean GPT-2 decode step does not give the forward's logits" in caplog.text
    assert got == expected


@pytest.mark.parametrize("impl", ["transformers", "native"])
def test_the_padded_step_is_checked_on_its_first_use_even_after_an_unpadded_batch(trained_like, monkeypatch, caplog,
                                                                                  impl):
    """SDPA gets a mask on one path of the step and none on the other: a batch without padding (one
    request) checks only its own path, and the first padded batch checks the other."""
    path, reqs = trained_like
    lengths = {len(r.prompt) for r in reqs}
    assert len(lengths) > 1  # prompts of several lengths: the batch of all of them is padded
    _, expected = answers(path, reqs, impl=impl)
    real = gpt2.step
    monkeypatch.setattr(gpt2, "step", lambda *a: real(*a) + (1e-3 if a[-1] is not None else 0.0))  # wrong only padded
    model = HFModel(str(path), {"batch_size": "8", "impl": impl})
    with caplog.at_level(logging.WARNING, logger="oraclebench.hf"):
        alone = model.generate(reqs[:1])
        assert model.lean and model.lean_checked == {False} and not caplog.text
        got = [r.text for r in model.generate(reqs)]
    assert not model.lean and model.lean_checked == {False, True}
    assert "does not give the forward's logits with padding" in caplog.text
    assert alone[0].text == expected[0] and got == expected


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


def test_only_sdpa_attention_takes_the_lean_step_and_it_gives_the_forwards_logits(tmp_path):
    """The step mirrors transformers' SDPA attention; eager attention (a different sum order) and
    flash kernels decode through the forward."""
    from transformers import AutoModelForCausalLM

    tok = tokenizer()
    path = save(tiny_gpt2(tok, n_embd=32, n_layer=2, n_head=2, seed=9), tok, tmp_path / "m")
    adapter = HFModel(str(path), {"impl": "transformers"})
    adapter.model = AutoModelForCausalLM.from_pretrained(path, attn_implementation="sdpa").eval().to(adapter.device)
    assert gpt2.supports(adapter.model)
    pairs = list(decode_both(adapter.model, adapter, [[5, 6, 7, 8], [9, 10], [4]], steps=6))
    assert pairs and all(torch.equal(mine, theirs) for mine, theirs in pairs)
    for attention in ("eager", "flash_attention_2"):
        adapter.model.config._attn_implementation = attention
        assert not gpt2.supports(adapter.model)


# ---------------------------------------------------------------------------------------- the whole model, natively
VARIANTS = {
    "plain": {},
    "inverse-layer-scale": dict(scale_attn_by_inverse_layer_idx=True),
    "unscaled-attention": dict(scale_attn_weights=False),
    "wide-mlp": dict(n_inner=40),
    "untied-head": dict(tie_word_embeddings=False),
    "coarse-layer-norm": dict(layer_norm_epsilon=1e-2),
    # One-wide heads: where SDPA on the CPU rounds copies of the keys and values apart from views of them.
    "one-wide-heads": dict(n_embd=16, n_head=16),
}


def mixed_tokenizer():
    task, abcd = get_task("multiplication"), get_task("abcd")
    texts = [task.render(task.sample(0, i)).prompt + " 1234567890\n" for i in range(20)]
    return build_tokenizer(texts + [abcd.render(abcd.sample(0, 0)).prompt, "A B C D = (empty)\n"])


def gpt2_dir(path: Path, tok, seed: int = 0, n_embd: int = 32, n_layer: int = 2, n_head: int = 2, **extra) -> Path:
    """A random GPT-2 saved as ``save_pretrained`` writes it, its weight matrices scaled 15x so that
    its answers depend on the whole context (as ``tests/test_hf.py``'s ``sensitive``)."""
    from transformers import GPT2Config, GPT2LMHeadModel

    torch.manual_seed(seed)
    config = GPT2Config(vocab_size=len(tok), n_embd=n_embd, n_layer=n_layer, n_head=n_head, n_positions=512,
                        bos_token_id=tok.eos_token_id, eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id,
                        **extra)
    model = GPT2LMHeadModel(config)
    with torch.no_grad():
        for weight in model.parameters():
            if weight.ndim >= 2:
                weight.mul_(15.0)
    return save(model, tok, path)


def padded(rows: int, longest: int, vocab: int, generator) -> tuple:
    """(ids, mask, positions) of ``rows`` random left-padded prompts, the first one ``longest`` long."""
    lengths = torch.randint(1, longest + 1, (rows,), generator=generator).tolist()
    lengths[0] = longest
    ids = torch.zeros(rows, longest, dtype=torch.long)
    mask = torch.zeros(rows, longest, dtype=torch.long)
    for k, n in enumerate(lengths):
        ids[k, longest - n:] = torch.randint(3, vocab, (n,), generator=generator)
        mask[k, longest - n:] = 1
    return ids, mask, (mask.cumsum(-1) - 1).clamp(min=0)


@pytest.mark.parametrize("variant", VARIANTS)
def test_the_native_forward_gives_transformers_logits_bit_for_bit(tmp_path, variant):
    from transformers import AutoModelForCausalLM

    tok = tokenizer()
    path = gpt2_dir(tmp_path / "m", tok, seed=4, **VARIANTS[variant])
    assert gpt2_checkpoint.unsupported(path) is None
    theirs = AutoModelForCausalLM.from_pretrained(path).eval()
    _, mine = gpt2_checkpoint.load(path, "cpu", "float32")
    generator = torch.Generator().manual_seed(0)
    with torch.inference_mode():
        for rows, longest in ((1, 7), (5, 11), (70, 9)):
            ids, mask, positions = padded(rows, longest, len(tok), generator)
            for keep in (0, 1, 3):
                # Without a cache, as the adapter asks (transformers' own cache hands SDPA copies of the keys and
                # values, which it rounds apart from views at some head sizes: the one-wide heads here).
                a = theirs(input_ids=ids, attention_mask=mask, position_ids=positions, logits_to_keep=keep,
                           use_cache=False).logits
                b = mine(input_ids=ids, attention_mask=mask, position_ids=positions, logits_to_keep=keep).logits
                assert a.shape == b.shape == (rows, keep or longest, len(tok))
                assert torch.equal(a, b)
            # No mask, no positions: SDPA's own causal mask, positions counted from 0.
            assert torch.equal(theirs(input_ids=ids, use_cache=False).logits, mine(input_ids=ids).logits)


def asked(n: int) -> list[Request]:
    """Multiplication prompts of mixed lengths, budgets and stop strings, then abcd prompts that share a
    ~350-token instruction (the adapter runs it once): over 64 rows, so the prefill runs in chunks."""
    task, abcd = get_task("multiplication"), get_task("abcd")
    reqs = [Request(task.render(task.sample(1, i)).prompt + " " * (i % 3), stop=("7",) if i % 4 == 0 else ("\n",),
                    max_tokens=(1, 6, 12)[i % 3]) for i in range(n)]
    return reqs + [Request(abcd.render(abcd.sample(5, i, abcd.config(max_length=8))).prompt, stop=("\n\n",),
                           max_tokens=5 + i % 4) for i in range(12)]


@pytest.mark.parametrize("variant", ["plain", "inverse-layer-scale", "untied-head", "one-wide-heads"])
def test_native_and_transformers_adapters_give_the_same_answers_and_choice_scores(tmp_path, variant):
    tok = mixed_tokenizer()
    path = gpt2_dir(tmp_path / "m", tok, seed=5, **VARIANTS[variant])
    reqs = asked(90)
    choices = [Request(r.prompt, choices=(" 1", " 22", "3 × 4", "\n")) for r in reqs[:30]]
    seen = {}
    for impl in ("native", "transformers"):
        model = HFModel(str(path), {"impl": impl})
        assert model.native == (impl == "native")
        texts = [(r.text, r.error) for r in model.generate(reqs)]
        scores = [(r.choice, r.scores) for r in model.choose(choices)]
        seen[impl] = texts, scores, model.identity()
    assert seen["native"] == seen["transformers"]
    texts, scores, _ = seen["native"]
    assert all(error is None for _, error in texts)
    assert len({text for text, _ in texts}) > 20 and len({tuple(values) for _, values in scores}) > 20


def test_a_checkpoint_written_by_oraclebench_train_reads_natively_and_answers_alike(tmp_path, monkeypatch):
    """What the benchmark runs: a reference recipe's checkpoint (``gpt2-mult``, a few steps)."""
    from oraclebench.cli import main

    monkeypatch.setenv("ORACLEBENCH_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("ORACLEBENCH_TRAIN_SCALE", "0.002")
    assert main(["train", "gpt2-mult", "--steps", "20", "--out", str(tmp_path / "m")]) == 0
    task = get_task("multiplication")
    reqs = [task.render(task.sample(3, i)) for i in range(150)]
    native = HFModel(str(tmp_path / "m"), {"device": "cpu"})  # device auto is a GPU where there is one
    assert native.native
    plain = HFModel(str(tmp_path / "m"), {"impl": "transformers", "device": "cpu"})
    assert [r.text for r in native.generate(reqs)] == [r.text for r in plain.generate(reqs)]


# ---------------------------------------------------------------------------------------- the tokenizer
def bpe_tokenizer(bos: bool = False):
    """A byte-level BPE as GPT-2's (trained here on a few lines), optionally with a post-processor that
    puts ``<|endoftext|>`` before every text."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    core = Tokenizer(models.BPE())
    core.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    core.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=300, special_tokens=["<|endoftext|>", "<pad>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    core.train_from_iterator(["Q: What is 12 × 34? A: 408\n", "A B C D = (empty)\n", "héllo wörld €"] * 3, trainer)
    if bos:
        core.post_processor = processors.TemplateProcessing(single="<|endoftext|> $A", pair="<|endoftext|> $A $B",
                                                            special_tokens=[("<|endoftext|>", 0)])
    # Saved as transformers saves it by default (no clean_up_tokenization_spaces: off).
    return PreTrainedTokenizerFast(tokenizer_object=core, eos_token="<|endoftext|>", pad_token="<pad>")


TOKENIZERS = {"task-pieces": tokenizer, "byte-bpe": bpe_tokenizer, "byte-bpe-with-bos": lambda: bpe_tokenizer(True)}


@pytest.fixture(scope="module", params=TOKENIZERS)
def both_tokenizers(request, tmp_path_factory):
    """(transformers' tokenizer, ``gpt2_checkpoint.Tokenizer``) of one saved tokenizer directory."""
    from transformers import AutoTokenizer

    path = tmp_path_factory.mktemp("tok")
    TOKENIZERS[request.param]().save_pretrained(path)
    assert gpt2_checkpoint._tokenizer_unsupported(path) is None
    return AutoTokenizer.from_pretrained(path), gpt2_checkpoint.Tokenizer(path)


PIECES = st.sampled_from(["Q", ":", " ", "What", "is", "12", "×", "?", "A", "\n", "é", "€", "😀", "zz", "<eos>", "<pad>",
                          "<|endoftext|>", "<unk>", "  ", "\t"])
TEXTS = st.lists(PIECES, max_size=12).map("".join)


@settings(max_examples=60, deadline=None)
@given(texts=st.lists(TEXTS, min_size=1, max_size=5), extra=st.lists(st.integers(0, 299), max_size=6))
def test_the_native_tokenizer_encodes_and_decodes_as_transformers_does(both_tokenizers, texts, extra):
    theirs, mine = both_tokenizers
    assert mine(texts)["input_ids"] == theirs(texts)["input_ids"]
    for text in texts:
        for special in (True, False):
            assert mine(text, add_special_tokens=special)["input_ids"] == theirs(text, add_special_tokens=special)["input_ids"]
    # Any ids, specials and partial byte sequences included.
    rows = [ids + [i % len(mine) for i in extra] for ids in mine(texts)["input_ids"]]
    for skip in (True, False):
        assert mine.batch_decode(rows, skip_special_tokens=skip) == theirs.batch_decode(rows, skip_special_tokens=skip)
        assert [mine.decode(r, skip_special_tokens=skip) for r in rows] == [theirs.decode(r, skip_special_tokens=skip)
                                                                            for r in rows]
    assert (mine.eos_token_id, mine.pad_token_id, len(mine)) == (theirs.eos_token_id, theirs.pad_token_id, len(theirs))


# ---------------------------------------------------------------------------------------- what is not read natively
def edit_json(name: str, change):
    def edit(path: Path) -> None:
        data = json.loads((path / name).read_text())
        change(data)
        (path / name).write_text(json.dumps(data))
    return edit


def drop_weight(path: Path) -> None:
    from safetensors.torch import load_file, save_file

    tensors = load_file(str(path / "model.safetensors"))
    del tensors["transformer.h.0.mlp.c_fc.bias"]
    save_file(tensors, str(path / "model.safetensors"), metadata={"format": "pt"})


def head_apart_from_wte(path: Path) -> None:
    from safetensors.torch import load_file, save_file

    tensors = load_file(str(path / "model.safetensors"))
    tensors["lm_head.weight"] = tensors["transformer.wte.weight"] * 2
    save_file(tensors, str(path / "model.safetensors"), metadata={"format": "pt"})


def write(name: str, text: str):
    return lambda path: (path / name).write_text(text)


def token_flag(**flags):
    def change(settings: dict) -> None:
        settings["added_tokens_decoder"] = {"1": {"content": "<eos>", "special": True, **flags}}
    return edit_json("tokenizer_config.json", change)


def weights_as_bin(path: Path) -> None:
    from safetensors.torch import load_file

    torch.save(load_file(str(path / "model.safetensors")), path / "pytorch_model.bin")
    (path / "model.safetensors").unlink()


# Each: a change to a plain GPT-2 directory, the words the reason must name, and whether transformers
# reads the result (some with a warning): a directory is read there, never approximately here.
NOT_NATIVE = {
    "another activation": (edit_json("config.json", lambda c: c.update(activation_function="gelu")), "activation_function", True),
    "an unknown config key": (edit_json("config.json", lambda c: c.update(rotary_dim=4)), "rotary_dim", True),
    "eager attention": (edit_json("config.json", lambda c: c.update(_attn_implementation="eager")), "_attn_implementation", True),
    "outputs as tuples": (edit_json("config.json", lambda c: c.update(return_dict=False)), "return_dict", True),
    "no model_type": (edit_json("config.json", lambda c: c.pop("model_type")), "model_type", False),
    "a null epsilon": (edit_json("config.json", lambda c: c.update(layer_norm_epsilon=None)), "layer_norm_epsilon", False),
    "an integer epsilon": (edit_json("config.json", lambda c: c.update(layer_norm_epsilon=1)), "layer_norm_epsilon", False),
    "a null scale switch": (edit_json("config.json", lambda c: c.update(scale_attn_weights=None)), "scale_attn_weights", False),
    "an empty MLP": (edit_json("config.json", lambda c: c.update(n_inner=0)), "n_inner", False),
    "a missing weight": (drop_weight, "weights by name and shape", True),
    "weights in pytorch_model.bin": (weights_as_bin, "model.safetensors", True),
    "a tied head that differs from wte": (head_apart_from_wte, "holds another lm_head.weight", True),
    "a PEFT adapter": (write("adapter_config.json", "{}"), "adapter_config.json is present", False),
    "legacy added tokens": (write("added_tokens.json", '{"12": 40}'), "added_tokens.json is present", True),
    "legacy special tokens": (write("special_tokens_map.json", '{"eos_token": "<eos>"}'), "special_tokens_map.json", True),
    "generation settings in a list": (write("generation_config.json", "[1]"), "generation_config.json is not", False),
    "a tokenizer adding BOS": (edit_json("tokenizer_config.json", lambda c: c.update(add_bos_token=True)), "add_bos_token",
                               True),
    "space clean-up on": (edit_json("tokenizer_config.json", lambda c: c.update(clean_up_tokenization_spaces=True)),
                          "clean_up_tokenization_spaces", True),
    "an eos that is no special token": (edit_json("tokenizer_config.json", lambda c: c.update(eos_token="Q")), "eos_token",
                                        True),
    "an eos as a bare mapping": (edit_json("tokenizer_config.json", lambda c: c.update(eos_token={"content": "<eos>"})),
                                 "eos_token", False),
    "an added token that strips": (token_flag(lstrip=True, rstrip=True), "added token 1 differs", True),
    "an added token for single words": (token_flag(single_word=True), "added token 1 differs", True),
    "an added token as a string": (edit_json("tokenizer_config.json", lambda c: c.update(added_tokens_decoder={"1": "<eos>"})),
                                   "added token 1 differs", False),
    "another tokenizer class": (edit_json("tokenizer_config.json", lambda c: c.update(tokenizer_class="GPT2Tokenizer")),
                                "GPT2Tokenizer", True),
    "no tokenizer.json": (lambda p: (p / "tokenizer.json").unlink(), "tokenizer.json", False),
}


@pytest.fixture(scope="module")
def plain_dir(tmp_path_factory) -> Path:
    tok = tokenizer()
    return gpt2_dir(tmp_path_factory.mktemp("plain") / "m", tok, seed=6)


@pytest.mark.parametrize("case", NOT_NATIVE)
def test_a_directory_outside_what_is_mirrored_goes_to_transformers_and_impl_native_says_why(plain_dir, tmp_path, case):
    import shutil

    change, words, transformers_reads = NOT_NATIVE[case]
    path = Path(shutil.copytree(plain_dir, tmp_path / "m"))
    change(path)
    assert words in (gpt2_checkpoint.unsupported(path) or "")
    if transformers_reads:
        model = HFModel(str(path))
        assert not model.native and model.generate([Request("Q: What is 1 × 2? A:", max_tokens=3)])[0].error is None
    with pytest.raises(ModelError, match=f"impl=native cannot read this model .*{words}.*use impl=auto or impl=transformers"):
        HFModel(str(path), {"impl": "native"})


def test_an_unknown_impl_is_a_one_line_error(plain_dir):
    with pytest.raises(ModelError, match="impl='fast' is not one of auto, native, transformers"):
        HFModel(str(plain_dir), {"impl": "fast"})


def test_a_native_run_imports_no_transformers(plain_dir):
    """The point of reading GPT-2 here: a benchmark run of it never pays transformers' imports (3 s)."""
    code = ("import sys; from oraclebench.models import load_model; from oraclebench.tasks.base import Request; "
            f"m = load_model('hf:{plain_dir}', {{'device': 'cpu'}}); out = m.generate([Request('Q: What is 1 × 2? A:', max_tokens=4)]); "
            "assert m.native and out[0].error is None; print(sorted(k for k in sys.modules if k.startswith('transformers')))")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         cwd=Path(__file__).resolve().parents[1])
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "[]"


# ---------------------------------------------------------------------------------------- hooks
def test_a_hook_on_the_native_model_runs_every_step_and_one_on_an_inner_module_is_an_error(trained_like):
    path, reqs = trained_like
    model = HFModel(str(path), {"impl": "native"})
    assert model.native
    calls = []
    model.model.register_forward_pre_hook(lambda module, args, kwargs: calls.append(kwargs["input_ids"].shape),
                                          with_kwargs=True)
    out = model.generate(reqs)
    assert all(r.error is None for r in out)
    assert sum(shape[1] == 1 for shape in calls) >= max(r.max_tokens for r in reqs) - 1  # the decode steps
    model.model.transformer.h[0].mlp.register_forward_hook(lambda *a: None)
    with pytest.raises(ModelError, match="inner module runs only with --model-opt impl=transformers"):
        model.generate(reqs)


# ---------------------------------------------------------------------------------------- settings read as transformers reads them
def test_an_empty_generation_config_names_no_end_of_text_as_transformers_reads_it(plain_dir, tmp_path):
    import shutil

    path = Path(shutil.copytree(plain_dir, tmp_path / "m"))
    edit_json("config.json", lambda c: c.update(eos_token_id=5))(path)  # a token that is no end of text
    (path / "generation_config.json").write_text("{}")
    native, plain = HFModel(str(path), {"impl": "native"}), HFModel(str(path), {"impl": "transformers"})
    assert native.eos == plain.eos == {native.tokenizer.eos_token_id}


def test_dtype_auto_casts_to_the_configs_dtype_as_transformers_does(plain_dir, tmp_path):
    """Off the CPU ``dtype=auto`` keeps the checkpoint's dtype: config.json's, whatever the file stores."""
    import shutil

    from safetensors.torch import load_file, save_file
    from transformers import AutoModelForCausalLM

    path = Path(shutil.copytree(plain_dir, tmp_path / "m"))
    tensors = load_file(str(path / "model.safetensors"))
    tensors = {k: v.half() if ".ln_" in k else v for k, v in tensors.items()}  # mixed stored dtypes
    save_file(tensors, str(path / "model.safetensors"), metadata={"format": "pt"})
    edit_json("config.json", lambda c: c.update(dtype="float32"))(path)
    _, mine = gpt2_checkpoint.load(path, "cpu", "auto")
    theirs = AutoModelForCausalLM.from_pretrained(path, dtype="auto")
    assert {p.dtype for p in mine.parameters()} == {p.dtype for p in theirs.parameters()} == {torch.float32}


def test_a_directory_without_a_tokenizer_is_one_line_naming_the_file(plain_dir, tmp_path):
    import shutil

    path = Path(shutil.copytree(plain_dir, tmp_path / "m"))
    (path / "tokenizer.json").unlink()
    for impl in ("auto", "transformers"):
        with pytest.raises(ModelError) as caught:
            HFModel(str(path), {"impl": impl})
        message = str(caught.value)
        assert "\n" not in message and "cannot load the tokenizer (the directory has no tokenizer.json)" in message
        assert message.endswith("save the tokenizer beside the model with save_pretrained")
