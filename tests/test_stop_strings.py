"""One stop-string rule for every adapter, the cache and the records: cutting starts after the
leading whitespace, what is stored is the raw completion, and what is scored is the cut.

A tiny GPT-2 trained here for a few seconds answers ``"\\n56\\n"`` (a line break first, as chat models
often write), and is asked in process (``hf:``) and through ``transformers serve`` (``vllm:``): both
must score it right, where a cut at the first ``"\\n"`` left nothing to read.
"""

from __future__ import annotations

import json
from importlib.util import find_spec
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from oraclebench.models import load_model
from oraclebench.models.base import stops_past_blank
from oraclebench.cache import ResponseCache, request_key
from oraclebench.runner import evaluate
from oraclebench.testing.serve import transformers_serve
from oraclebench.tasks import get_task
from oraclebench.tasks.base import Response
from oraclebench.tasks.reading import cut_at_stop, stop_index

ONE_DIGIT = {"a_digits": (1, 1), "b_digits": (1, 1)}
MULT = get_task("multiplication")


# --------------------------------------------------------------------------------------- the rule


@pytest.mark.parametrize("text,stop,cut", [
    (" 56\nQ: next", ("\n",), " 56"),
    ("\n56\n", ("\n",), "\n56"),
    ("\n\n= C D A B C\n= C\n\nmore", ("\n\n",), "\n\n= C D A B C\n= C"),
    (" \t\n 56\nmore", ("\n",), " \t\n 56"),
    ("= 1\n= 2\n\nmore", ("\n\n", "Q:"), "= 1\n= 2"),
    ("no stop here", ("\n",), "no stop here"),
    ("\n\n", ("\n",), "\n\n"),  # nothing but whitespace: nothing to cut
    ("abc", (), "abc"),
])
def test_the_cut_starts_after_the_leading_whitespace(text, stop, cut):
    assert cut_at_stop(text, stop) == cut


@given(st.text(" \t\n", max_size=4), st.text(max_size=20).filter(lambda t: not t[:1].isspace()),
       st.lists(st.sampled_from(["\n", "\n\n", "Q:", "."]), max_size=3))
def test_leading_whitespace_never_moves_the_cut(lead, text, stop):
    assert cut_at_stop(lead + text, stop) == lead + cut_at_stop(text, stop)
    at = stop_index(lead + text, stop)
    assert at is None or any((lead + text).startswith(s, at) for s in stop)


def test_a_server_answer_left_blank_by_a_stop_string_is_asked_again_past_it():
    assert stops_past_blank("", ("\n",)) == ()
    assert stops_past_blank("\n", ("\n\n", "Q:")) == ("Q:",)
    assert stops_past_blank(" 56", ("\n",)) is None  # an answer: nothing to ask again
    assert stops_past_blank("", ("Q:",)) is None  # no stop string could have matched in whitespace


def test_the_cache_keeps_the_raw_completion_and_never_replays_answers_cut_the_old_way(tmp_path):
    model = load_model("python:examples.flawed:oracle")
    inst = MULT.instance(MULT.Problem(7, 8), "m")
    request = MULT.request(inst)
    cache = ResponseCache(tmp_path / "cache.sqlite")
    # An entry of the first cache format, keyed without a format: the old cut left "" of "\n56\n".
    old_key = __import__("hashlib").sha256(json.dumps([model.identity(), request.key()], sort_keys=True,
                                                      ensure_ascii=False).encode()).hexdigest()
    cache.put_many(model.identity(), [(old_key, Response(text=""))])
    records = evaluate(model, [inst], "t", cache=cache)
    assert records[0].correct and not records[0].cached
    stored = cache.get_many([request_key(model.identity(), request)])
    assert [r.text for r in stored.values()] == [" 56\n"]  # raw, stop string and all


# --------------------------------------------------------------------------------------- real models


@pytest.fixture(scope="module")
def newline_checkpoint(tmp_path_factory) -> Path:
    """A tiny GPT-2 that answers the 1-digit tables as ``"\\n56\\n"``: a line break before the product."""
    import torch

    from oraclebench.models.charlm import build_tokenizer, save, tiny_gpt2
    from oraclebench.training.loop import TrainConfig, train_lm

    problems = [MULT.sample(3, i, MULT.config(**ONE_DIGIT)) for i in range(600)]
    pairs = [(MULT.render(p).prompt, f"\n{MULT.solve(p)}\n") for p in problems]
    tok = build_tokenizer([q + a for q, a in pairs], extra=["0123456789", "abcdef"])
    tok.chat_template = "{% for m in messages %}{{ m['content'] }}{% endfor %}"
    model = tiny_gpt2(tok, n_embd=64, n_layer=2, n_head=4, n_positions=64)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a tiny model trains faster on one thread than on a busy pool
    try:
        train_lm(model, tok, pairs, TrainConfig(steps=250, batch_size=32, lr=3e-3), progress=False)
    finally:
        torch.set_num_threads(threads)
    return save(model.eval(), tok, tmp_path_factory.mktemp("newline") / "tiny-newline")


def newline_instances():
    return [MULT.instance(MULT.Problem(a, b), f"m{a}{b}") for a, b in ((7, 8), (3, 4), (9, 9), (2, 6), (5, 7), (8, 3))]


@pytest.mark.slow  # trains a tiny GPT-2 for ~20 s (shared with the served test)
def test_hf_generates_past_a_leading_line_break_and_stops_at_the_next(newline_checkpoint):
    model = load_model(f"hf:{newline_checkpoint}", {"device": "cpu"})
    records = evaluate(model, newline_instances(), "t")
    assert all(r.completion.startswith("\n") for r in records)  # it does open with a line break
    assert sum(r.correct for r in records) >= 4, [(r.completion, r.expected) for r in records]
    # Generation stopped at the first line break after the answer, not after the budget ran out.
    assert all(r.completion.count("\n") <= 2 for r in records)


@pytest.mark.slow  # starts `transformers serve`: ~30 s on a busy 2-core machine
def test_a_served_model_that_opens_with_a_line_break_scores_as_in_process(newline_checkpoint):
    if find_spec("fastapi") is None or find_spec("uvicorn") is None:
        pytest.skip("transformers serve needs the serving extra: pip install -e '.[dev]'")
    insts = newline_instances()
    in_process = evaluate(load_model(f"hf:{newline_checkpoint}", {"device": "cpu"}), insts, "hf")
    with transformers_serve(newline_checkpoint) as url:
        served = evaluate(load_model(f"vllm:{newline_checkpoint}@{url}/v1"), insts, "served")
    assert [r.error for r in served] == [None] * len(insts)
    assert [r.parsed for r in served] == [r.parsed for r in in_process]
    assert [r.status for r in served] == [r.status for r in in_process]
    assert sum(r.correct for r in served) >= 4
