"""The ``transplant:`` adapter and its hooks, on tiny Llama/GPT-2/Mistral/Qwen models built from config.

Random weights are enough here: every check is an identity between two ways of computing the same
thing (a transplant of a pass's own states, a transplant against layers run by hand, batch sizes,
the plain log-likelihood choice), not a claim about what a trained model does.
"""

from __future__ import annotations

import dataclasses
import json

import pytest

torch = pytest.importorskip("torch")

from oraclebench.models import load_model  # noqa: E402
from oraclebench.models.base import ModelError  # noqa: E402
from oraclebench.models.charlm import build_tokenizer, save, tiny_gpt2, tiny_llama  # noqa: E402
from oraclebench.models.hooks import capture, decoder_layers, hook_count, parse_layers, transplant  # noqa: E402
from oraclebench.models.transplant import arguer_states, chooser_logprobs, encode  # noqa: E402
from oraclebench.tasks.base import Request  # noqa: E402

pytestmark = pytest.mark.judge

QUESTION = "Question: Tom has {a} apples and buys {b} more. How many apples does he have?\n"
TEXTS = [QUESTION.format(a=12, b=34) + "Answer: 12 + 34 = 46 apples.\nCandidate 1: Candidate 2: Argument: "
         "Candidate _ provides a more accurate answer because it is right. So it is 0123456789.\nThe correct answer is candidate_"]


def judge_request(a: int, b: int, wrong: int = 1, tail: str = "") -> Request:
    """A judge-shaped request: two explanations that occur verbatim in the choice prompt."""
    q = QUESTION.format(a=a, b=b)
    s1, s2 = f" {a} + {b} = {a + b} apples.{tail}", f" {a} + {b} = {a + b + wrong} apples."
    prompt = (f"{q}Candidate 1:{s1}\nCandidate 2:{s2}\nArgument: Candidate 1 provides a more accurate answer "
              f"because it is right.\nThe correct answer is candidate_")
    return Request(prompt, choices=("1", "2"), spans=(s1, s2), span_prompts=(q + "Answer:", q + "Answer:"))


def self_request(a: int, b: int) -> Request:
    """The arguer prompt of each span is the choice prompt up to that span: the arguer pass IS the chooser's prefix."""
    r = judge_request(a, b)
    cuts = [r.prompt.index(r.spans[0]), r.prompt.index(r.spans[1])]
    return Request(r.prompt, choices=r.choices, spans=r.spans, span_prompts=tuple(r.prompt[:c] for c in cuts))


REQUESTS = [judge_request(3, 4), judge_request(12, 5, wrong=10, tail=" So it is 17."), judge_request(1, 1)]


@pytest.fixture(scope="module")
def tok():
    return build_tokenizer(TEXTS)


def _qwen_or_mistral(tok, kind: str):
    from transformers import MistralConfig, MistralForCausalLM, Qwen2Config, Qwen2ForCausalLM

    torch.manual_seed(0)
    Config, Model = (MistralConfig, MistralForCausalLM) if kind == "mistral" else (Qwen2Config, Qwen2ForCausalLM)
    return Model(Config(vocab_size=len(tok), hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                        num_key_value_heads=2, intermediate_size=64, pad_token_id=tok.pad_token_id)).eval()


def build(tok, kind: str):
    if kind == "llama":
        return tiny_llama(tok, hidden_size=32, layers=3, heads=4, intermediate=64).eval()
    if kind == "gpt2":
        return tiny_gpt2(tok, n_embd=32, n_layer=3, n_head=4, n_positions=256).eval()
    return _qwen_or_mistral(tok, kind)


@pytest.fixture(scope="module", params=["llama", "gpt2"])
def model(request, tok):
    return build(tok, request.param)


def plain_logprobs(model, ids: list[int]):
    with torch.no_grad():
        return torch.log_softmax(model(torch.tensor([ids])).logits[0, -1].float(), -1)


# --------------------------------------------------------------------------- tokenization by segments


def test_segments_reproduce_the_whole_prompt_tokenization_and_place_each_span_once(tok):
    for r in REQUESTS:
        enc = encode(tok, r)
        assert enc.chooser == tok(r.prompt)["input_ids"]  # charlm splits at every span boundary: no difference
        for k, (start, ids) in enumerate(zip(enc.span_starts, enc.span_ids)):
            assert enc.chooser[start:start + len(ids)] == ids
            assert enc.arguers[k][-len(ids):] == ids
            assert tok.decode(ids) == r.spans[k]
        assert [tok.decode([i]) for i in enc.choice_ids] == ["1", "2"]


def test_a_span_missing_from_the_prompt_or_a_multi_token_option_is_an_error(tok):
    r = REQUESTS[0]
    with pytest.raises(ModelError, match="span 2 does not occur verbatim"):
        encode(tok, Request(r.prompt, choices=r.choices, spans=(r.spans[0], " 3 + 4 = 99 apples."),
                            span_prompts=r.span_prompts))
    with pytest.raises(ModelError, match="is 2 tokens after the prompt"):
        encode(tok, Request(r.prompt, choices=("12", "2"), spans=r.spans, span_prompts=r.span_prompts))


# --------------------------------------------------------------------------- the intervention


@pytest.mark.parametrize("kind", ["llama", "gpt2", "mistral", "qwen2"])
def test_transplanting_a_pass_s_own_states_leaves_the_logits_unchanged(tok, kind):
    model = build(tok, kind)
    encs = [encode(tok, self_request(a, b)) for a, b in [(3, 4), (25, 17)]]
    layers = list(range(len(decoder_layers(model))))
    with torch.no_grad():
        states = arguer_states(model, encs, layers, 4, tok.pad_token_id)
        plain = chooser_logprobs(model, encs, None, 4, tok.pad_token_id)
        moved = chooser_logprobs(model, encs, states, 4, tok.pad_token_id)
    assert torch.allclose(plain, moved, atol=1e-5)
    assert torch.allclose(plain[0], plain_logprobs(model, encs[0].chooser), atol=1e-5)


def _by_hand(model, ids: list[int], layer: int, positions: list[int], values):
    """Logits at the last position with layer ``layer``'s output overwritten, running each block by hand."""
    x = torch.tensor([ids])
    n = len(ids)
    mask = torch.full((n, n), float("-inf")).triu(1)[None, None]
    pos = torch.arange(n)[None]
    if model.config.model_type == "gpt2":
        body, h = model.transformer, model.transformer.wte(x) + model.transformer.wpe(pos)
        blocks, norm, extra = body.h, body.ln_f, {}
    else:
        body, h = model.model, model.model.embed_tokens(x)
        blocks, norm = body.layers, body.norm
        extra = {"position_embeddings": body.rotary_emb(h, pos), "position_ids": pos}
    for i, block in enumerate(blocks):
        out = block(h, attention_mask=mask, **extra)
        h = out[0] if isinstance(out, tuple) else out
        if i == layer:
            h = h.clone()
            h[0, positions] = values
    return torch.log_softmax(model.lm_head(norm(h))[0, -1], -1)


@pytest.mark.parametrize("layer", [0, 1, 2])
def test_transplanting_other_states_at_one_layer_equals_running_the_layers_by_hand(tok, model, layer):
    enc = encode(tok, REQUESTS[0])
    donor = encode(tok, judge_request(2, 5))  # same span lengths, different numbers
    assert [len(s) for s in donor.span_ids] == [len(s) for s in enc.span_ids]
    with torch.no_grad():
        states = arguer_states(model, [donor], [layer], 4, tok.pad_token_id)
        got = chooser_logprobs(model, [enc], states, 4, tok.pad_token_id)[0]
        positions = [s + i for s, ids in zip(enc.span_starts, enc.span_ids) for i in range(len(ids))]
        values = torch.cat([states[0][0][layer], states[0][1][layer]])
        want = _by_hand(model, enc.chooser, layer, positions, values)
        plain = chooser_logprobs(model, [enc], None, 4, tok.pad_token_id)[0]
    assert torch.allclose(got, want, atol=1e-5)
    # After the last block nothing reads the span positions again: only earlier layers change the answer.
    changed = not torch.allclose(got, plain, atol=1e-4)
    assert changed == (layer < len(decoder_layers(model)) - 1)


def test_results_do_not_depend_on_batch_size_or_padding(tok, model):
    encs = [encode(tok, r) for r in REQUESTS * 2]
    assert len({len(e.chooser) for e in encs}) > 1  # rows of different lengths: padding is exercised
    with torch.no_grad():
        one = chooser_logprobs(model, encs, arguer_states(model, encs, [0, 2], 1, tok.pad_token_id), 1,
                               tok.pad_token_id)
        many = chooser_logprobs(model, encs, arguer_states(model, encs, [0, 2], 5, tok.pad_token_id), 5,
                                tok.pad_token_id)
    assert torch.allclose(one, many, atol=1e-5)


def test_hooks_are_removed_after_an_exception_also_one_raised_inside_the_forward_pass(tok, model):
    ids = torch.tensor([encode(tok, REQUESTS[0]).chooser])
    with pytest.raises(RuntimeError, match="boom"):
        with capture(model, [0, 1]):
            assert hook_count(model) == 2
            raise RuntimeError("boom")
    assert hook_count(model) == 0
    hidden = model.config.hidden_size if hasattr(model.config, "hidden_size") else model.config.n_embd
    wrong_width = {1: torch.zeros(2, hidden + 1)}
    with pytest.raises(ModelError, match="states for 2 positions"):
        with transplant(model, wrong_width, torch.tensor([0, 0]), torch.tensor([3, 4])):
            model(ids)
    assert hook_count(model) == 0


def test_misaligned_spans_are_an_error_never_a_shift(tok, model):
    enc = encode(tok, REQUESTS[0])
    longer = encode(tok, REQUESTS[1])  # its span 1 is longer than REQUESTS[0]'s
    with torch.no_grad():
        states = arguer_states(model, [longer], [0], 4, tok.pad_token_id)
        with pytest.raises(ModelError, match="arguer states"):
            chooser_logprobs(model, [enc], states, 4, tok.pad_token_id)
    shifted = dataclasses.replace(enc, span_starts=[enc.span_starts[0] + 1, enc.span_starts[1]])
    with torch.no_grad(), pytest.raises(ModelError, match="misaligned"):
        chooser_logprobs(model, [shifted], arguer_states(model, [enc], [0], 4, tok.pad_token_id), 4, tok.pad_token_id)
    assert hook_count(model) == 0


def test_layer_specs_and_unsupported_architectures(tok):
    assert parse_layers("0,2-3", 5) == [0, 2, 3] and parse_layers("all", 2) == [0, 1] and parse_layers("none", 2) == []
    assert parse_layers("-1", 4) == [3] and parse_layers([1, -1], 3) == [1, 2]
    with pytest.raises(ModelError, match="layers 0..1"):
        parse_layers("0-5", 2)
    with pytest.raises(ModelError, match="write all, none"):
        parse_layers("first", 2)
    from transformers import OPTConfig, OPTForCausalLM

    opt = OPTForCausalLM(OPTConfig(vocab_size=len(tok), hidden_size=16, num_hidden_layers=1, ffn_dim=32,
                                   num_attention_heads=2, word_embed_proj_dim=16))
    with pytest.raises(ModelError, match="'opt' is not supported; supported: gpt2, llama"):
        decoder_layers(opt)


# --------------------------------------------------------------------------- the adapter


@pytest.fixture(scope="module")
def saved(tok, tmp_path_factory):
    out = tmp_path_factory.mktemp("tiny-llama")
    save(build(tok, "llama"), tok, out)
    (out / "manifest.json").write_text(json.dumps({"task": "judge", "split": {}, "transplant": {"layers": [1]}}))
    return out


@pytest.fixture(autouse=True)
def offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """These matrices are tiny: one thread is as fast, and does not thrash on a busy 2-core runner."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_the_adapter_costs_two_arguer_passes_and_one_chooser_pass_per_request(saved):
    model = load_model(f"transplant:{saved}", {"batch_size": "2", "wave": "2"})
    assert model.layers == [1]  # the manifest's default
    out = model.generate(REQUESTS)
    assert model.passes == {"arguer": 6, "chooser": 3}
    assert all(r.error is None and r.choice in (0, 1) and len(r.scores) == 2 for r in out)
    assert all(r.text == ("1", "2")[r.choice] and r.scores[r.choice] == max(r.scores) for r in out)
    again = load_model(f"transplant:{saved}?layers=all", {}).generate(REQUESTS)
    assert [r.scores for r in again] != [r.scores for r in out]


def test_no_layers_is_the_hf_choice_with_no_arguer_pass(saved, tok):
    model = load_model(f"transplant:{saved}?layers=none", {"batch_size": "2"})
    out = model.generate(REQUESTS)
    assert model.passes["arguer"] == 0
    hf = load_model(f"hf:{saved}", {}).generate(REQUESTS)
    assert [r.choice for r in out] == [r.choice for r in hf]
    assert [s for r in out for s in r.scores] == pytest.approx([s for r in hf for s in r.scores], abs=1e-5)
    from transformers import AutoModelForCausalLM

    plain = AutoModelForCausalLM.from_pretrained(saved).eval()  # and both are the plain forward pass's numbers
    for r, resp in zip(REQUESTS, out):
        ref = plain_logprobs(plain, tok(r.prompt)["input_ids"])
        assert resp.scores == pytest.approx([float(ref[tok.convert_tokens_to_ids(c)]) for c in r.choices], abs=1e-5)


def test_bad_options_and_paths_are_one_line_errors(saved, tmp_path):
    with pytest.raises(ModelError, match="no config.json"):
        load_model(f"transplant:{tmp_path}", {})
    with pytest.raises(ModelError, match="unknown option.*layer"):
        load_model(f"transplant:{saved}", {"layer": "1"})
    with pytest.raises(ModelError, match="dtype="):
        load_model(f"transplant:{saved}", {"dtype": "float8"})
    with pytest.raises(ModelError, match="adapter_config.json"):
        load_model(f"transplant:{saved}?lora={tmp_path}", {})


def test_float64_residual_stream_agrees_with_float32(saved):
    f32 = load_model(f"transplant:{saved}", {}).generate(REQUESTS)
    f64 = load_model(f"transplant:{saved}", {"dtype": "float64"}).generate(REQUESTS)
    assert [r.choice for r in f32] == [r.choice for r in f64]
    assert [s for r in f64 for s in r.scores] == pytest.approx([s for r in f32 for s in r.scores], abs=1e-4)


def test_16_bit_arithmetic_warns_that_a_choice_can_depend_on_the_batching(saved, caplog):
    """As ``hf:`` does: in 16 bits rounding decides a near tie, and so can the prompts sharing a batch."""
    for dtype, warned in (("bfloat16", True), ("float16", True), ("float32", False), ("float64", False)):
        caplog.clear()
        with caplog.at_level("WARNING", logger="oraclebench.transplant"):
            load_model(f"transplant:{saved}", {"dtype": dtype, "device": "cpu"})
        said = [r.getMessage() for r in caplog.records if "share its batch" in r.getMessage()]
        assert said == ([f"transplant: {dtype} arithmetic: an answer can depend on which prompts share its batch "
                         "(rounding decides a near tie); for scores that do not, use --model-opt dtype=float32"]
                        if warned else []), dtype


def test_a_lora_adapter_applies_to_both_passes(saved, tok, tmp_path):
    from peft import LoraConfig, PeftModel, get_peft_model
    from transformers import AutoModelForCausalLM

    import warnings

    from oraclebench.models.transplant import quiet_peft

    base = AutoModelForCausalLM.from_pretrained(saved)
    torch.manual_seed(1)
    with quiet_peft():
        peft = get_peft_model(base, LoraConfig(r=4, target_modules=["q_proj", "v_proj"], init_lora_weights=False))
    peft.save_pretrained(tmp_path / "lora")
    with warnings.catch_warnings():  # peft's read of a deprecated property is silenced in the adapter (issue 21)
        warnings.simplefilter("error", FutureWarning)
        got = load_model(f"transplant:{saved}?lora={tmp_path / 'lora'}&layers=0,2", {}).generate(REQUESTS)
    plain = load_model(f"transplant:{saved}?layers=0,2", {}).generate(REQUESTS)
    assert [r.scores for r in got] != [r.scores for r in plain]
    with quiet_peft():
        ref = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(saved), tmp_path / "lora").eval()
    encs = [encode(tok, r) for r in REQUESTS]
    with torch.no_grad():
        want = chooser_logprobs(ref, encs, arguer_states(ref, encs, [0, 2], 4, tok.pad_token_id), 4, tok.pad_token_id)
    assert [s for r in got for s in r.scores] == pytest.approx(
        [float(want[i, c]) for i, e in enumerate(encs) for c in e.choice_ids], abs=1e-5)
