"""The ``hf:`` adapter on tiny GPT-2s built from config: greedy answers independent of batching and
padding and equal to plain ``model.generate``; stop strings, budgets, log-likelihood choices,
out-of-memory back-off and one-line errors.

The answer-equality tests run a model whose greedy answers depend on the whole context (``sensitive``),
checked first by ``test_the_test_model_answers_tell_a_wrong_position_mask_or_row_apart``: a wrong
cache row, mask column or position changes its answers, where a GPT-2 at its own initial scale
answers much the same ("::::77777") whatever it attends to.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

torch = pytest.importorskip("torch")

from oraclebench.models import load_model  # noqa: E402
from oraclebench.models.base import ModelError  # noqa: E402
from oraclebench.models.charlm import build_tokenizer, save, tiny_gpt2  # noqa: E402
from oraclebench.tasks import get_task  # noqa: E402
from oraclebench.tasks.base import Request  # noqa: E402
from oraclebench.tasks.reading import cut_at_stop, stop_index  # noqa: E402


SCALE = 15.0  # see sensitive


@pytest.fixture(autouse=True, params=["native", "transformers"])
def impl(request, monkeypatch) -> str:
    """Every test runs on both ways of reading a GPT-2 (``--model-opt impl=``): ``models/gpt2.py``'s
    own forward and transformers' model."""
    from oraclebench.models import hf

    monkeypatch.setattr(hf, "DEFAULT_IMPL", request.param)
    return request.param


def sensitive(model, scale: float = SCALE):
    """``model`` with every weight matrix (embeddings, attention, MLP) ``scale`` times GPT-2's initial
    std of 0.02: a random model whose greedy answers depend on its whole context.

    At the initial scale, queries and keys are near zero, so attention is a near-uniform average of
    tiny values; the residual stream is the current token's and position's embedding, and the answer a
    function of the last token, blind to a wrong cache row, mask column or position. Scaled up,
    attention is sharp, positions weigh as much as tokens, and a changed context changes the argmax
    (``test_the_test_model_answers_tell_a_wrong_position_mask_or_row_apart`` checks it). Float rounding
    stays far below the logit gaps: on 52 of these tests' prompts, 12 greedy tokens each, the two best
    logits were never closer than 9e-4, and left-padded batched logits within 4e-6 of one row's."""
    with torch.no_grad():
        for weight in model.parameters():
            if weight.ndim >= 2:
                weight.mul_(scale)
    return model


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    """Random weights, scaled so that greedy decoding depends on the whole prompt (``sensitive``)."""
    task = get_task("multiplication")
    problems = [task.sample(0, i) for i in range(40)]
    texts = [task.render(p).prompt + task.render_answer(p, task.solve(p)) for p in problems]
    abcd = get_task("abcd")
    tokenizer = build_tokenizer(texts + [abcd.render(abcd.sample(0, 0)).prompt, "A B C D = (empty)\n"])
    model = sensitive(tiny_gpt2(tokenizer, n_embd=32, n_layer=2, n_head=2, seed=1))
    return save(model, tokenizer, tmp_path_factory.mktemp("ckpt") / "tiny"), problems, task


def requests(problems, task, budgets=(5, 12, 3)):
    # Mixed prompt lengths and budgets, so batches carry padding of every size and rows finish apart.
    out = []
    for i, p in enumerate(problems):
        r = task.render(p)
        out.append(Request(r.prompt + " " * (i % 4), stop=("7",) if i % 3 == 0 else (), max_tokens=budgets[i % 3]))
    return out


def abcd_requests(n: int = 12):
    """Long prompts that share a ~350-token instruction: the adapter runs that prefix once."""
    task = get_task("abcd")
    return [Request(task.render(task.sample(5, i, task.config(max_length=8))).prompt, stop=("\n\n",),
                    max_tokens=4 + i % 5) for i in range(n)]


def reference(path, reqs):
    """Plain ``model.generate``, one prompt at a time: no padding at all."""
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
        texts.append(cut_at_stop(text, r.stop))
    return texts


def texts(path, reqs, **options):
    """The adapter's answers as scored: its raw continuations cut at the stop strings (``cut_at_stop``)."""
    from oraclebench.models.hf import HFModel

    answers = HFModel(str(path), {k: str(v) for k, v in options.items()}).generate(reqs)
    return [cut_at_stop(r.text, q.stop) for r, q in zip(answers, reqs)]


def greedy(model, ids: list[int], steps: int, shift: int = 0, pads: int = 0) -> list[int]:
    """Plain greedy decoding, the whole row through the model's forward at every step (no cache, none of
    the adapter's code): ``shift`` added to every position, ``pads`` padding tokens in front, attended
    (not masked) at position 0."""
    pad = model.config.pad_token_id
    out: list[int] = []
    for _ in range(steps):
        row = ids + out
        positions = [0] * pads + [i + shift for i in range(len(row))]
        with torch.inference_mode():
            logits = model(input_ids=torch.tensor([[pad] * pads + row]), position_ids=torch.tensor([positions])).logits
        out.append(int(logits[0, -1].argmax()))
    return out


def test_the_test_model_answers_tell_a_wrong_position_mask_or_row_apart(checkpoint):
    """What the answer-equality tests below rest on: the checkpoint's greedy answers change where its
    context does. The multiplication prompts differ only in their middle digits, yet give distinct
    answers (a row decoding from another row's cache answers otherwise); every position shifted by one
    changes the answers, one padding column left unmasked those of most prompts. Checked on plain
    forwards of the model, without the adapter."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    path, problems, task = checkpoint
    tok = AutoTokenizer.from_pretrained(path)
    model = AutoModelForCausalLM.from_pretrained(path).eval()
    rows = [tok(r.prompt)["input_ids"] for r in requests(problems[:16], task) + abcd_requests(4)]
    answers = [greedy(model, ids, 8) for ids in rows]
    assert len(set(map(tuple, answers))) >= 0.9 * len(rows)
    shifted = sum(greedy(model, ids, 8, shift=1) != a for ids, a in zip(rows, answers))
    unmasked = sum(greedy(model, ids, 8, pads=1) != a for ids, a in zip(rows, answers))
    assert shifted >= 0.9 * len(rows) and unmasked >= 0.5 * len(rows), (shifted, unmasked, len(rows))


def test_greedy_answers_do_not_depend_on_batch_size_or_padding(checkpoint):
    path, problems, task = checkpoint
    reqs = requests(problems, task)
    answers = {size: texts(path, reqs, batch_size=size) for size in (1, 3, 16)}
    assert answers[1] == answers[3] == answers[16]
    assert answers[1] == reference(path, reqs)
    assert len(set(answers[1])) > 1  # not a degenerate constant


def test_a_shared_prompt_prefix_run_once_gives_the_same_answers(checkpoint):
    path, _, _ = checkpoint
    reqs = abcd_requests()
    mixed = reqs + requests(checkpoint[1][:6], checkpoint[2])  # no common prefix across the whole batch
    one = texts(path, reqs, batch_size=1)
    assert texts(path, reqs, batch_size=16) == one == reference(path, reqs)
    assert texts(path, mixed, batch_size=32)[:len(reqs)] == one


def test_stop_strings_and_token_budgets_are_respected(checkpoint):
    from oraclebench.models.hf import HFModel

    path, problems, task = checkpoint
    reqs = requests(problems, task)
    model = HFModel(str(path), {})
    stopped = 0
    for req, resp in zip(reqs, model.generate(reqs)):
        assert resp.error is None
        at = stop_index(resp.text, req.stop)  # the raw continuation ends within the token that completes a stop
        if at is not None:
            end = at + min(len(s) for s in req.stop if resp.text.startswith(s, at))
            assert len(model.tokenizer(resp.text[end:], add_special_tokens=False)["input_ids"]) <= 1
        assert len(model.tokenizer(resp.text, add_special_tokens=False)["input_ids"]) <= req.max_tokens
        stopped += bool(req.stop) and len(model.tokenizer(resp.text)["input_ids"]) < req.max_tokens
    unbounded = [Request(r.prompt, max_tokens=r.max_tokens) for r in reqs]
    longer = [r.text for r in model.generate(unbounded)]
    # Where a stop string cut the answer, the unstopped answer goes on past it.
    assert all(t.startswith(r.text) for t, r in zip(longer, model.generate(reqs)))
    assert stopped > 0


# Rows of one batch with stop strings of one character, one whole token, across two tokens (and
# across a token's end), two at once, or none. The test model writes the abcd instruction's words.
MIXED_STOPS = [("7",), (), ("××",), ("es×", "9"), ("computes",), ("D", "4"), ("Keep×",)]


def test_each_row_stops_at_its_own_stop_strings_in_a_batch_of_different_ones(checkpoint):
    """A row's raw continuation ends within the token that completes one of its own stop strings
    (past the leading whitespace: ``stop_index``); a row that wrote none of its own runs on exactly as
    it would without any. Other rows' stop strings in the same batch change neither."""
    from oraclebench.models.hf import HFModel

    path, problems, task = checkpoint
    model = HFModel(str(path), {})
    reqs = [Request(task.render(p).prompt, stop=MIXED_STOPS[i % len(MIXED_STOPS)], max_tokens=12)
            for i, p in enumerate(problems)]
    free = [r.text for r in model.generate([Request(r.prompt, max_tokens=r.max_tokens) for r in reqs])]
    stopped = set()
    for req, whole, resp in zip(reqs, free, model.generate(reqs)):
        assert resp.error is None and whole.startswith(resp.text)
        at = stop_index(resp.text, req.stop)
        if at is None:
            assert resp.text == whole
            continue
        end = at + min(len(s) for s in req.stop if resp.text.startswith(s, at))
        assert len(model.tokenizer(resp.text[end:], add_special_tokens=False)["input_ids"]) <= 1
        assert len(resp.text) < len(whole)
        stopped.add(req.stop)
    assert len(stopped) >= 5  # rows of most stop sets did stop early


@pytest.fixture(scope="module")
def loaded(checkpoint):
    from oraclebench.models.hf import HFModel

    model = HFModel(str(checkpoint[0]), {})
    return model, [model._piece(t) for t in range(len(model.tokenizer))]


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_a_stop_string_is_found_where_it_ends_a_row_and_only_overlapping_a_last_token_it_shares_a_character_with(
        loaded, data):
    """What the decode loop relies on to read back only some rows (``HFModel._finish``): ``_stop_hit``
    finds a stop string that the joined token texts end with, and finds none unless the last token's
    text shares a character with one."""
    model, texts_ = loaded
    ids = [t for t, piece in enumerate(texts_) if piece]
    row = data.draw(st.lists(st.sampled_from(ids), min_size=1, max_size=10))
    joined = "".join(texts_[t] for t in row)
    ending = data.draw(st.integers(1, min(5, len(joined))))
    stop = (joined[-ending:],) if data.draw(st.booleans()) else ()
    stop += tuple(data.draw(st.lists(st.text("0123456789×Keps", min_size=1, max_size=4), max_size=2)))
    hit = model._stop_hit(row, stop)
    if any(joined.endswith(s) for s in stop):
        assert hit
    if hit:
        assert not set(texts_[row[-1]]).isdisjoint("".join(stop))
    # The decode loop passes only a row's last tokens, and the whole row for when they are too few.
    last = row[-data.draw(st.integers(1, len(row))):]
    assert model._stop_hit(last, stop, lambda: row) == hit


def test_choice_is_the_option_of_highest_log_likelihood(checkpoint):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from oraclebench.models.hf import HFModel

    path, problems, task = checkpoint
    reqs = [Request(task.render(p).prompt, choices=(" 1", " 2", " 93")) for p in problems[:3]]
    responses = HFModel(str(path), {"batch_size": "4"}).generate(reqs)
    tok = AutoTokenizer.from_pretrained(path)
    model = AutoModelForCausalLM.from_pretrained(path).eval()
    for req, resp in zip(reqs, responses):
        prompt = tok(req.prompt)["input_ids"]
        expected = []
        for option in req.choices:
            ids = prompt + tok(option, add_special_tokens=False)["input_ids"]
            with torch.inference_mode():
                logp = model(torch.tensor([ids])).logits[0].log_softmax(-1)
            expected.append(sum(float(logp[i - 1, ids[i]]) for i in range(len(prompt), len(ids))))
        assert resp.scores == pytest.approx(expected, abs=1e-4)
        assert resp.choice == max(range(3), key=expected.__getitem__)
        assert resp.text == req.choices[resp.choice]


def test_out_of_memory_halves_the_batch_and_keeps_the_answers(checkpoint, caplog):
    from oraclebench.models.hf import HFModel

    path, problems, task = checkpoint
    reqs = requests(problems, task)
    model = HFModel(str(path), {"batch_size": "32"})
    seen = []

    def cap(rows: int) -> None:  # a device that holds at most 5 rows
        seen.append(rows)
        if rows > 5:
            raise torch.OutOfMemoryError(f"simulated: {rows} rows do not fit")

    model.before_batch = cap
    got = [cut_at_stop(r.text, q.stop) for r, q in zip(model.generate(reqs), reqs)]
    assert got == texts(path, reqs, batch_size=40)
    assert seen[:3] == [32, 16, 8] and model.max_batch == 4 and max(seen[3:]) <= 4
    assert "out of memory" in caplog.text


def test_a_prompt_beyond_the_context_is_an_error_of_that_request_only(checkpoint):
    from oraclebench.models.hf import HFModel

    path, problems, task = checkpoint
    reqs = requests(problems, task)[:6]
    long = Request("7" * 600, max_tokens=4)  # beyond the 512 positions of the tiny GPT-2
    out = HFModel(str(path), {}).generate(reqs[:3] + [long] + reqs[3:])
    assert "does not fit the model's context of 512" in out[3].error
    assert [r.text for r in out[:3] + out[4:]] == texts(path, reqs)


def test_a_finished_row_riding_along_never_steps_past_the_position_table(tmp_path):
    """A row that finished keeps riding in its batch until the batch drops it, its position counting on:
    past the model's last position it used to crash the whole batch (an IndexError)."""
    from oraclebench.models.hf import HFModel

    tok = build_tokenizer(["abc 0123456789 "])
    path = save(sensitive(tiny_gpt2(tok, n_embd=32, n_layer=1, n_head=2, n_positions=32, seed=0)), tok, tmp_path / "m")
    model = HFModel(str(path), {})
    model.eos = set()  # every row runs to its budget
    reqs = [Request("0123456789" * 3, max_tokens=2)] + [Request(f"abc {i}", max_tokens=20) for i in range(4)]
    together = model.complete(reqs)  # the batched call itself (generate would retry a failed batch in parts)
    assert all(r.error is None for r in together)
    assert [r.text for r in together] == [model.complete([r])[0].text for r in reqs]


def test_a_choice_that_cannot_be_scored_is_an_error_of_that_request_only(checkpoint):
    """An empty option would score log 1 = 0, the best there is, and win whatever the model thinks."""
    from oraclebench.models.hf import HFModel

    path, _, _ = checkpoint
    model = HFModel(str(path), {})
    ok = Request("Q: What is 12 × 34? A:", choices=(" 408", " 407"))
    out = model.choose([ok, Request(ok.prompt, choices=(" 408", "")), Request("", choices=(" 1", " 2")),
                        Request("1" * 600, choices=(" 1", " 2"))])
    assert out[0].error is None and out[0].scores == model.choose([ok])[0].scores
    assert out[1].error == "option 1 has no tokens to score"
    assert out[2].error == "empty prompt"
    assert "(602 tokens) do not fit the model's context of 512" in out[3].error  # 600 + " " + "1"


def test_an_end_of_text_id_that_is_no_whole_number_is_ignored(checkpoint, tmp_path):
    from oraclebench.models.hf import HFModel

    path, problems, task = checkpoint
    copy = shutil.copytree(path, tmp_path / "copy")
    (copy / "generation_config.json").write_text(json.dumps({"eos_token_id": [1.5, "x"]}))
    model = HFModel(str(copy), {})
    assert model.eos == {model.tokenizer.eos_token_id}
    assert all(r.error is None for r in model.generate(requests(problems, task)[:3]))


def test_cpu_0_is_the_cpu_and_an_unknown_device_is_a_one_line_error(checkpoint):
    from oraclebench.models.hf import HFModel

    path, _, _ = checkpoint
    assert HFModel(str(path), {"device": "cpu:0"}).dtype_name == "float32"
    with pytest.raises(ModelError, match="device='tpu9' is not a torch device; use cpu, cuda, cuda:1 or mps"):
        HFModel(str(path), {"device": "tpu9"})


def test_16_bit_arithmetic_warns_that_answers_can_depend_on_the_batching(checkpoint, caplog):
    """In bfloat16 a near tie goes either way with the batch's shapes (gpt2-abcd on the CPU: 1 and 2 of
    60 traces changed with batch_size 7 and 1, none in float32): the run must say so, where float32 is silent."""
    from oraclebench.models.hf import HFModel

    path, _, _ = checkpoint
    for dtype, warned in (("bfloat16", True), ("float16", True), ("float32", False), ("auto", False)):
        caplog.clear()
        with caplog.at_level("WARNING", logger="oraclebench.hf"):
            HFModel(str(path), {"device": "cpu", "dtype": dtype})
        said = [r.getMessage() for r in caplog.records if "can depend on which prompts share its batch" in r.getMessage()]
        assert bool(said) == warned, dtype
        if warned:
            assert said == [f"hf: {dtype} arithmetic: an answer can depend on which prompts share its batch (rounding "
                            "decides a near tie); for scores that do not, use --model-opt dtype=float32"]


def test_attention_on_cuda_leaves_cudnn_out_and_elsewhere_changes_nothing():
    """cuDNN builds a plan for every new attention shape, and a decode loop that drops finished rows meets
    one at almost every step (bfloat16 on an H200: 91 s against 2.5 s); the flags are restored after."""
    from oraclebench.models.base import shape_stable_attention

    flags = (torch.backends.cuda.cudnn_sdp_enabled, torch.backends.cuda.flash_sdp_enabled,
             torch.backends.cuda.mem_efficient_sdp_enabled, torch.backends.cuda.math_sdp_enabled)
    before = [flag() for flag in flags]
    assert before[0], "torch's default order includes cuDNN (else this test shows nothing)"
    with shape_stable_attention("cuda:1"):
        assert [flag() for flag in flags] == [False, True, True, True]
    assert [flag() for flag in flags] == before
    with shape_stable_attention("cpu"):
        assert [flag() for flag in flags] == before


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU (ORACLEBENCH_TEST_GPU=1 on a machine with one)")
def test_bfloat16_decoding_on_a_gpu_never_sends_attention_to_cudnn(checkpoint, monkeypatch):
    """Every attention call of a bfloat16 decode with rows dropping out (batches of 3 over mixed budgets)
    and of log-likelihood scoring goes to a kernel without per-shape plans."""
    from torch.nn import functional as F
    from torch.nn.attention import SDPBackend

    from oraclebench.models.hf import HFModel

    path, problems, task = checkpoint
    sdpa, chosen = F.scaled_dot_product_attention, []

    def spy(q, k, v, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None, **kw):
        chosen.append(int(torch._fused_sdp_choice(q, k, v, attn_mask, dropout_p, is_causal, scale=scale)))
        return sdpa(q, k, v, attn_mask=attn_mask, dropout_p=dropout_p, is_causal=is_causal, scale=scale, **kw)

    monkeypatch.setattr(F, "scaled_dot_product_attention", spy)
    model = HFModel(str(path), {"device": "cuda", "dtype": "bfloat16", "batch_size": "3"})
    model.generate(requests(problems[:12], task) + abcd_requests(6))
    model.choose([Request("2 * 3 =", choices=(" 6", " 5"))])
    assert len(chosen) > 50
    assert int(SDPBackend.CUDNN_ATTENTION) not in chosen


def test_identity_hashes_weights_and_dtype_and_the_manifest_is_read(checkpoint, tmp_path):
    from oraclebench.models.hf import HFModel

    path, _, _ = checkpoint
    copy = shutil.copytree(path, tmp_path / "copy")
    a = HFModel(str(copy), {})
    assert a.identity().endswith(":float32") and a.manifest is None
    assert HFModel(str(copy), {"dtype": "bfloat16"}).identity().endswith(":bfloat16")
    (copy / "manifest.json").write_text(json.dumps({"task": "causal", "split": {"omitted": ["1,1,1,1,1"]}}))
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(copy)
    with torch.no_grad():
        model.transformer.wte.weight[0, 0] += 1
    model.save_pretrained(copy)
    b = load_model(f"hf:{copy}")
    assert b.identity() != a.identity() and b.manifest["split"]["omitted"] == ["1,1,1,1,1"]


@pytest.mark.parametrize("make, words", [
    (lambda tmp: tmp / "missing", "no such directory"),
    (lambda tmp: tmp, "not a model directory"),
])
def test_a_path_that_is_not_a_model_is_a_one_line_model_error(tmp_path, make, words):
    with pytest.raises(ModelError, match=words) as info:
        load_model(f"hf:{make(tmp_path)}")
    assert "\n" not in str(info.value)


def test_unknown_options_and_bad_values_are_model_errors(checkpoint):
    path, _, _ = checkpoint
    with pytest.raises(ModelError, match="unknown option.*known: device, dtype, batch_size, threads"):
        load_model(f"hf:{path}", {"temperature": "1"})
    with pytest.raises(ModelError, match="batch_size='zero' must be a positive integer"):
        load_model(f"hf:{path}", {"batch_size": "zero"})


def test_decoding_and_training_pass_the_cache_without_a_deprecation_warning(checkpoint):
    """transformers 5.x renamed ``past_key_values`` to ``cache`` and warned (FutureWarning) on every call
    that used the old name: on every run and every ``try``. Neither the decode loop (a shared prefix
    run once, then token by token) nor the training loss (a shared prefix too) may warn."""
    import warnings

    from oraclebench.models.charlm import build_tokenizer, tiny_gpt2
    from oraclebench.training.loop import batch_loss, encode_pairs

    path, problems, task = checkpoint
    model = load_model(f"hf:{path}", {})
    asked = abcd_requests(4) + requests(problems[:4], task)
    with warnings.catch_warnings():
        warnings.simplefilter("error", FutureWarning)
        warnings.simplefilter("error", DeprecationWarning)
        answers = model.generate(asked)
        abcd = get_task("abcd")
        pairs = [(abcd.render(abcd.sample(5, i)).prompt, " A B\n") for i in range(3)]
        tokenizer = build_tokenizer([p + c for p, c in pairs])
        lm = tiny_gpt2(tokenizer, n_embd=32, n_layer=2, n_head=2, seed=1)
        loss, tokens = batch_loss(lm, encode_pairs(tokenizer, pairs), tokenizer.pad_token_id, share_prefix=32)
    assert len(answers) == len(asked) and all(a.error is None for a in answers)
    assert tokens > 3 * 32 and loss.item() > 0  # the prefix path ran (the abcd instruction is far longer than 32)


def test_without_batch_size_the_rows_of_a_batch_come_from_the_requests_and_the_memory(checkpoint):
    """No fixed default: all 40 requests in one batch where memory holds them; fewer rows per batch where
    the KV cache budget (or the prefill attention budget) would be exceeded; the same answers either way."""
    from oraclebench.models.hf import HFModel

    path, problems, task = checkpoint
    reqs = requests(problems, task)
    model = HFModel(str(path))
    seen: list[int] = []
    model.before_batch = seen.append
    alone = [cut_at_stop(r.text, q.stop) for r, q in zip(model.generate(reqs), reqs)]
    assert seen == [40] and alone == reference(path, reqs)
    prompts = [len(model._encode([q.prompt])[0]) for q in reqs]
    widths = [p + q.max_tokens for p, q in zip(prompts, reqs)]
    # A cap that holds 8 of the widest rows (longest prompts) holds at most cap / narrowest of any.
    for cap, value, most in (("token_cap", 8 * max(widths), 8 * max(widths) // min(widths)),
                             ("score_cap", 8 * max(prompts) ** 2, 8 * max(prompts) ** 2 // min(prompts) ** 2)):
        small = HFModel(str(path))
        setattr(small, cap, value)
        rows: list[int] = []
        small.before_batch = rows.append
        got = [cut_at_stop(r.text, q.stop) for r, q in zip(small.generate(reqs), reqs)]
        assert sum(rows) == 40 and max(rows) <= min(most, 39) and len(rows) >= 2, (cap, rows)
        assert got == alone


class Clock:
    """The adapter's clock (standing in for ``hf.time``), moved by the model's forwards only: each costs
    ``seconds_per_row`` per row it runs, as a larger model's steps on a CPU would. The batches' timing
    is then the same on every run, whatever the machine's speed or load (a test that slept per forward
    and read the real clock failed on a loaded machine)."""

    def __init__(self, seconds_per_row: float):
        self.now, self.seconds_per_row = 0.0, seconds_per_row

    def monotonic(self) -> float:
        return self.now

    perf_counter = monotonic

    def forward(self, module, args, kwargs) -> None:
        self.now += self.seconds_per_row * kwargs["input_ids"].shape[0]


def slowed(model, monkeypatch, seconds_per_row: float) -> Clock:
    """``model`` (an ``HFModel``) on a ``Clock`` that its forwards move: a model whose steps cost what
    their rows do, at a tiny model's size. The forward hook also sends every step through the forward."""
    from oraclebench.models import hf

    clock = Clock(seconds_per_row)
    monkeypatch.setattr(hf, "time", clock)
    model.model.register_forward_pre_hook(clock.forward, with_kwargs=True)
    return clock


def timed_batches(model, clock: Clock) -> tuple[list[int], list[float]]:
    """(rows, start time) of each batch ``model`` runs from now on, appended as it starts."""
    rows: list[int] = []
    starts: list[float] = []
    model.before_batch = lambda n: (rows.append(n), starts.append(clock.now))
    return rows, starts


@pytest.mark.parametrize("share", [0.0, 0.25], ids=["dropped-at-once", "riding-along"])
def test_a_batch_too_large_for_the_deadline_sets_rows_aside_instead_of_failing_them(checkpoint, monkeypatch, share):
    """``timeout`` is each request's: a batch whose steps say it cannot finish in time runs half its
    unfinished rows later (with a deadline of their own) instead of making them errors."""
    from oraclebench.models import hf
    from oraclebench.models.hf import HFModel

    path, problems, task = checkpoint
    # A few rows finish after 2 tokens: dropped at once (their places taken by rows from the end), or
    # riding along (fewer than a quarter finished). The rows set aside and those that go on are then
    # not a plain first and second half of the batch.
    monkeypatch.setattr(hf, "COMPACT_SHARE", share)
    reqs = [replace(r, max_tokens=2) if i % 8 == 0 else r for i, r in enumerate(requests(problems, task, (12, 12, 12)))]
    expected = texts(path, reqs)
    # The premise: 40 rows at 0.8 s a step need over 10 s for 12 tokens; kept together, rows miss the 6 s.
    together = HFModel(str(path), {"timeout": "6"})
    slowed(together, monkeypatch, 0.02)
    monkeypatch.setattr(together, "_set_aside", lambda alive, done, aside: list(range(len(alive))))
    assert sum(r.error is not None for r in together.generate(reqs)) > 0
    model = HFModel(str(path), {"timeout": "6"})
    clock = slowed(model, monkeypatch, 0.02)
    rows, starts = timed_batches(model, clock)
    answers = model.generate(reqs)
    assert [r.error for r in answers] == [None] * 40, rows
    assert [cut_at_stop(r.text, q.stop) for r, q in zip(answers, reqs)] == expected
    assert rows[0] == 40 and len(rows) >= 2 and max(rows[1:]) < 40
    # Each batch ended within its requests' deadline: the rows set aside did not wait out the first one's.
    assert all(end - start <= 6 for start, end in zip(starts, starts[1:] + [clock.now])), (rows, starts, clock.now)


def test_batches_are_timed_so_answers_are_committed_at_a_steady_pace(checkpoint, monkeypatch):
    """After the first batch, a batch holds as many rows as the last one's seconds per row fit in
    ``BATCH_SECONDS``: each is committed (``on_answer``) as it finishes, not after one long batch."""
    from oraclebench.models import hf

    monkeypatch.setattr(hf, "BATCH_SECONDS", 0.25)
    monkeypatch.setattr(hf, "FIRST_ROWS", 10)
    path, problems, task = checkpoint
    reqs = requests(problems, task, budgets=(12, 12, 12))
    expected = texts(path, reqs)
    model = hf.HFModel(str(path))
    clock = slowed(model, monkeypatch, 0.005)
    rows, starts = timed_batches(model, clock)
    committed: list[int] = []
    answers = model.generate(reqs, on_answer=lambda i, resp: committed.append(i))
    seconds = [end - start for start, end in zip(starts, starts[1:] + [clock.now])]
    assert rows[0] == 10 and sum(rows) == 40, rows
    assert seconds[0] > 2 * 0.25 and max(rows[1:]) < 10  # the first batch took over twice the goal
    for k in range(1, len(rows)):  # as many rows as the last batch's seconds per row fit in 0.25 s
        assert rows[k] == min(40 - sum(rows[:k]), max(1, int(0.25 / (seconds[k - 1] / rows[k - 1])))), (rows, seconds)
    assert sorted(committed) == list(range(40))
    assert [cut_at_stop(r.text, q.stop) for r, q in zip(answers, reqs)] == expected


def test_the_in_place_gelu_new_is_bit_for_bit_the_checkpoints_own_activation(checkpoint):
    """The adapter swaps GPT-2's ``gelu_new`` modules for an in-place twin (speed); the values must be
    the very same floats, on activations of every scale, and the logits of a whole forward too."""
    from transformers import AutoModelForCausalLM
    from transformers.activations import NewGELUActivation

    from oraclebench.models.hf import lean_activations

    own = NewGELUActivation()
    model = AutoModelForCausalLM.from_pretrained(checkpoint[0]).eval()
    twin = AutoModelForCausalLM.from_pretrained(checkpoint[0]).eval()
    assert lean_activations(twin) == twin.config.n_layer  # one per block's MLP
    swapped = twin.transformer.h[0].mlp.act
    assert type(swapped) is not NewGELUActivation
    generator = torch.Generator().manual_seed(0)
    for scale in (1e-30, 1e-3, 1.0, 7.0, 1e4):
        x = torch.randn(4096, 64, generator=generator) * scale
        with torch.inference_mode():
            assert torch.equal(swapped(x), own(x)), scale
    ids = torch.randint(2, 10, (8, 12), generator=generator)
    with torch.inference_mode():
        assert torch.equal(twin(ids).logits, model(ids).logits)
    # With gradients on, it must not write in place (autograd needs the input).
    x = torch.randn(16, 8, requires_grad=True)
    swapped(x).sum().backward()
    assert x.grad is not None and torch.equal(x.grad, torch.autograd.grad(own(x).sum(), x)[0])


@pytest.mark.parametrize("chunk", [1, 4, 5])
def test_prefill_in_chunks_of_rows_gives_the_same_answers(checkpoint, monkeypatch, chunk):
    """A batch's prefill runs ``PREFILL_ROWS`` rows at a time into one slab, with and without a shared
    prefix, the last chunk short or full: the answers are those of one row at a time."""
    from oraclebench.models import hf

    path, problems, task = checkpoint
    plain = requests(problems[:13], task)
    shared = abcd_requests(10)
    expected = texts(path, plain, batch_size=1), texts(path, shared, batch_size=1)
    monkeypatch.setattr(hf, "PREFILL_ROWS", chunk)
    assert texts(path, plain, batch_size=16) == expected[0]
    assert texts(path, shared, batch_size=16) == expected[1]
    assert len(set(expected[0])) > 1 and len(set(expected[1])) > 1


def test_a_chunked_prefill_leaves_the_cache_and_logits_of_a_whole_one(checkpoint, monkeypatch):
    """What decoding starts from: the first logits and every attended key and value, equal (to float
    rounding: a matmul over fewer rows may round differently) whether the prefill ran 4 rows at a time
    or all at once. Greedy answers of a random-weight model can hide a shifted cache; these cannot."""
    from oraclebench.models import hf
    from oraclebench.tasks.base import Response

    path, problems, task = checkpoint

    def start(reqs, chunk):
        monkeypatch.setattr(hf, "PREFILL_ROWS", chunk)
        model = hf.HFModel(str(path), {"batch_size": "64"})
        got = {}

        def first(logits, cache, mask, position, length, *rest):
            attended = mask[:, :length].bool()
            rows, columns = attended.nonzero(as_tuple=True)  # padding columns hold nothing to compare
            got.update(logits=logits, mask=attended, position=position,
                       kv=[(layer.keys[rows, :, columns], layer.values[rows, :, columns]) for layer in cache.layers])
            return [Response(text="")] * len(logits)

        model._decode = first
        model.generate(reqs)
        return got

    for reqs in (requests(problems[:13], task), abcd_requests(10)):  # without and with a shared prefix
        whole, chunked = start(reqs, 1000), start(reqs, 4)
        assert torch.equal(whole["mask"], chunked["mask"]) and torch.equal(whole["position"], chunked["position"])
        assert torch.allclose(whole["logits"], chunked["logits"], rtol=1e-5, atol=1e-6)
        for (k1, v1), (k2, v2) in zip(whole["kv"], chunked["kv"], strict=True):
            assert torch.allclose(k1, k2, rtol=1e-5, atol=1e-6) and torch.allclose(v1, v2, rtol=1e-5, atol=1e-6)


def test_a_model_whose_layers_keep_other_state_decodes_with_transformers_own_cache(checkpoint):
    """Where the slab does not apply (``slab`` false: linear-attention hybrids), the adapter uses
    transformers' ``DynamicCache``, one prefill and the forward per step, with and without a shared
    prefix: the answers are plain ``generate``'s."""
    from oraclebench.models.hf import HFModel

    path, problems, task = checkpoint
    for reqs in (requests(problems[:9], task), abcd_requests(6)):
        model = HFModel(str(path), {"batch_size": "16", "impl": "transformers"})
        model.slab = model.lean = False
        assert [cut_at_stop(r.text, q.stop) for r, q in zip(model.generate(reqs), reqs)] == reference(path, reqs)


def test_a_linear_attention_hybrid_keeps_its_finished_rows_and_answers_as_plain_generate(tmp_path):
    """A Qwen3-Next (linear attention and full attention layers: ``slab`` false) decodes a batch whose
    rows finish at different steps: transformers' cache for it cannot drop rows (its
    ``LinearAttentionLayer`` has no ``batch_select_indices``), so they ride along, and every answer is
    plain ``generate``'s, one prompt at a time, and the adapter's one row at a time."""
    from transformers import AutoModelForCausalLM, Qwen3NextConfig

    from oraclebench.models.hf import HFModel

    task = get_task("multiplication")
    problems = [task.sample(0, i) for i in range(12)]
    tok = build_tokenizer([task.render(p).prompt + task.render_answer(p, task.solve(p)) for p in problems])
    torch.manual_seed(0)
    config = Qwen3NextConfig(vocab_size=len(tok), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                             num_attention_heads=2, num_key_value_heads=1, head_dim=16, linear_num_value_heads=2,
                             linear_num_key_heads=2, linear_key_head_dim=8, linear_value_head_dim=8,
                             layer_types=["linear_attention", "full_attention"], mlp_only_layers=[0, 1],
                             pad_token_id=tok.pad_token_id, eos_token_id=tok.eos_token_id)
    path = save(sensitive(AutoModelForCausalLM.from_config(config).eval()), tok, tmp_path / "hybrid")
    reqs = requests(problems, task, budgets=(2, 9, 5))  # rows finish at many different steps
    model = HFModel(str(path), {"batch_size": "16", "impl": "transformers"})
    assert not model.slab
    answers = model.complete(reqs)  # one call, one batch: generate would isolate a failing batch's rows
    assert [r.error for r in answers] == [None] * len(reqs)
    got = [cut_at_stop(r.text, q.stop) for r, q in zip(answers, reqs)]
    assert got == texts(path, reqs, batch_size=1, impl="transformers") == reference(path, reqs)
    assert len(set(got)) > 1


def test_dropping_finished_rows_in_place_keeps_every_other_rows_answer(checkpoint, monkeypatch):
    """Finished rows leave the batch as rows from its end move into their places in the same slab:
    decoding that drops them at every finish gives what decoding that never drops them gives."""
    from oraclebench.models import hf, kv_slab

    path, problems, task = checkpoint
    reqs = requests(problems, task, budgets=(2, 12, 5))  # rows finish at many different steps
    monkeypatch.setattr(hf, "COMPACT_SHARE", 2)  # more than every row: never dropped
    kept = texts(path, reqs, batch_size=64)
    monkeypatch.setattr(hf, "COMPACT_SHARE", 0.0)  # dropped as soon as one has finished
    dropped = []
    real = kv_slab.Slab.move  # every layer's compaction, under transformers too
    monkeypatch.setattr(kv_slab.Slab, "move", lambda self, kept, *change: dropped.append(kept) or real(self, kept, *change))
    assert texts(path, reqs, batch_size=64) == kept
    assert len(set(dropped)) >= 2  # it did drop rows, more than once
    assert len(set(kept)) > 1


@settings(max_examples=200, deadline=None)
@given(st.lists(st.booleans(), min_size=1, max_size=40))
def test_filling_the_gaps_keeps_every_running_row_once_and_moves_only_as_many_as_finished_before_the_end(finished):
    from oraclebench.models.hf import _fill_gaps

    order = _fill_gaps(finished)
    running = [b for b, f in enumerate(finished) if not f]
    assert sorted(order) == running
    moved = [j for j, b in enumerate(order) if b != j]
    assert len(moved) == sum(finished[:len(running)])  # a gap before the new end, filled from past it
    assert all(order[j] >= len(running) for j in moved)


def test_the_slab_keeps_rows_in_any_order():
    """A compaction that moves rows from the end into gaps: the slab holds exactly the chosen rows, in
    the chosen order, and appends after them."""
    from oraclebench.models.kv_slab import Slab

    layer = Slab(capacity=6)
    keys, values = torch.randn(7, 2, 3, 4), torch.randn(7, 2, 3, 4)
    layer.update(keys, values)
    order = torch.tensor([0, 6, 2, 5, 4])  # rows 1 and 3 finished; 5 and 6 fill their places
    layer.batch_select_indices(order)
    assert torch.equal(layer.keys, keys[order]) and torch.equal(layer.values, values[order])
    more_k, more_v = torch.randn(5, 2, 1, 4), torch.randn(5, 2, 1, 4)
    k, _ = layer.update(more_k, more_v)
    assert torch.equal(k, torch.cat([keys[order], more_k], dim=2))
    layer.batch_select_indices(torch.tensor([3, 1, 0]))  # row 0 is written and is row 2's source
    assert torch.equal(layer.keys, torch.cat([keys[order], more_k], dim=2)[[3, 1, 0]])
    layer.batch_select_indices(torch.tensor([1, 0]))  # a swap
    assert torch.equal(layer.keys, torch.cat([keys[order], more_k], dim=2)[[1, 3]])


def test_the_slab_keeps_exactly_the_selected_rows_and_appends_after_them():
    """The cache operation itself, on known values (a random-weight model's answers barely depend on
    its cache, so answers alone cannot show a row mixed up)."""
    from oraclebench.models.kv_slab import Slab

    layer = Slab(capacity=8)
    keys, values = torch.randn(5, 2, 3, 4), torch.randn(5, 2, 3, 4)
    layer.update(keys, values)
    keep = torch.tensor([0, 2, 3])
    layer.batch_select_indices(keep)
    assert torch.equal(layer.keys, keys[keep]) and torch.equal(layer.values, values[keep])
    more_k, more_v = torch.randn(3, 2, 1, 4), torch.randn(3, 2, 1, 4)
    k, v = layer.update(more_k, more_v)
    assert torch.equal(k, torch.cat([keys[keep], more_k], dim=2)) and torch.equal(v, torch.cat([values[keep], more_v], dim=2))
    layer.batch_select_indices(torch.tensor([2]))
    assert torch.equal(layer.keys, torch.cat([keys[keep], more_k], dim=2)[2:3]) and layer.get_seq_length() == 4
