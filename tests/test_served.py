"""Served adapters against a real OpenAI-compatible server: ``transformers serve`` on 127.0.0.1.

One server for the module serves a tiny GPT-2 trained here for a few seconds on multiplication. The
``vllm:`` adapter must give the same answers as the in-process ``hf:`` adapter on the same weights;
a fault-injecting proxy between adapter and server (dropped connections, 500s, 429 + Retry-After,
slow answers, a server that dies) checks that nothing is lost or answered twice, that errors are
items of their own, and that a cached run resumes where it stopped.
"""

from __future__ import annotations

import json
import logging
import os
import random
import subprocess
import sys
import time
from importlib.util import find_spec
from pathlib import Path

import pytest

from oraclebench.models import load_model
from oraclebench.models.base import ModelError
from oraclebench.models.served import NoLogprobs, OpenAIModel, ServedModel, _split_spec, continuation_logprob, scrub
from oraclebench.cache import ResponseCache
from oraclebench.runner import evaluate
from oraclebench.summary import summarize
from oraclebench.testing.faultproxy import Fault, FaultProxy
from oraclebench.testing.serve import free_port, transformers_serve
from oraclebench.tasks import get_task
from oraclebench.tasks.base import Request

ROOT = Path(__file__).resolve().parent.parent
STARTUP_SECONDS = 180  # a loaded 2-core CI machine needs ~30 s to import torch and start the server
CHAT_TEMPLATE = "{% for m in messages %}{{ m['content'] }}{% endfor %}"  # chat = the bare prompt
ONE_DIGIT = {"a_digits": (1, 1), "b_digits": (1, 1)}

needs_serving = pytest.mark.skipif(find_spec("fastapi") is None or find_spec("uvicorn") is None,
                                   reason="transformers serve needs the serving extra: pip install -e '.[dev]'")


# --------------------------------------------------------------------------------------- fixtures


def multiplication_instances(n: int, seed: int):
    """``n`` 1-digit multiplication instances with distinct prompts (the fault plans key on prompts)."""
    task = get_task("multiplication")
    out, prompts = [], set()
    for inst in task.fresh(4 * n, seed, task.config(**ONE_DIGIT)):
        prompt = task.request(inst).prompt
        if prompt not in prompts and len(out) < n:
            prompts.add(prompt)
            out.append(inst)
    return out


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory) -> Path:
    """A tiny GPT-2 trained for a few seconds on the 1-digit tables: varied, decisive greedy answers."""
    import torch

    from oraclebench.models.charlm import build_tokenizer, save, tiny_gpt2

    task = get_task("multiplication")
    problems = [task.sample(7, i, task.config(**ONE_DIGIT)) for i in range(1000)]
    prompts = [task.render(p).prompt for p in problems]
    texts = [q + task.render_answer(p, task.solve(p)) for q, p in zip(prompts, problems)]
    # "abcdef": transformers' stop-string criterion (used by `transformers serve` for `stop`) splits
    # the vocabulary against this probe text and crashes if the tokenizer cannot encode it.
    tok = build_tokenizer(texts, extra=["0123456789", "abcdef"])
    tok.chat_template = CHAT_TEMPLATE
    model = tiny_gpt2(tok, n_embd=64, n_layer=2, n_head=4, n_positions=64)
    encoded = [tok(t)["input_ids"] + [tok.eos_token_id] for t in texts]
    starts = [len(tok(q)["input_ids"]) for q in prompts]
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a tiny model trains several times faster on one thread than on a busy pool
    try:
        torch.manual_seed(0)
        rng = random.Random(0)
        opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
        for _ in range(200):
            picked = rng.sample(range(len(encoded)), 32)
            width = max(len(encoded[i]) for i in picked)
            ids = torch.full((32, width), tok.pad_token_id)
            labels = torch.full((32, width), -100)
            for row, i in enumerate(picked):
                seq = encoded[i]
                ids[row, :len(seq)] = torch.tensor(seq)
                labels[row, starts[i]:len(seq)] = torch.tensor(seq[starts[i]:])  # learn the answers only
            loss = model(input_ids=ids, attention_mask=(ids != tok.pad_token_id).long(), labels=labels).loss
            opt.zero_grad()
            loss.backward()
            opt.step()
    finally:
        torch.set_num_threads(threads)
    return save(model.eval(), tok, tmp_path_factory.mktemp("served") / "tiny-mult")


@pytest.fixture(scope="module")
def server(checkpoint):
    """``transformers serve CHECKPOINT`` on 127.0.0.1 for the module; yields ``http://127.0.0.1:N``."""
    if find_spec("fastapi") is None or find_spec("uvicorn") is None:
        pytest.skip("transformers serve needs the serving extra: pip install -e '.[dev]'")
    try:
        with transformers_serve(checkpoint, startup_seconds=STARTUP_SECONDS) as url:
            yield url
    except RuntimeError as exc:
        pytest.fail(str(exc))


def hf_texts(checkpoint: Path, requests: list[Request]) -> list[str]:
    """The in-process reference: the ``hf:`` adapter's greedy answers on the same checkpoint."""
    from oraclebench.models.hf import HFModel

    return [r.text for r in HFModel(str(checkpoint), {"device": "cpu"}).generate(requests)]


@pytest.fixture(scope="module")
def reference(checkpoint):
    """Instances, their requests and the in-process answers, for the equality and fault tests."""
    insts = multiplication_instances(24, seed=11)
    task = get_task("multiplication")
    requests = [task.request(i) for i in insts]
    return insts, requests, dict(zip((r.prompt for r in requests), hf_texts(checkpoint, requests)))


def served(checkpoint: Path, url: str, **opts) -> ServedModel:
    return load_model(f"vllm:{checkpoint}@{url}/v1", {k: str(v) for k, v in opts.items()})


# --------------------------------------------------------------------------------------- pure parts


def test_model_url_specs():
    assert _split_spec("/ckpt/m@http://127.0.0.1:8000/v1") == ("/ckpt/m", "http://127.0.0.1:8000/v1")
    assert _split_spec("org/name@http://h:1") == ("org/name", "http://h:1/v1")
    assert _split_spec("http://h:1/v1/") == ("", "http://h:1/v1")
    with pytest.raises(ModelError, match="vllm:MODEL@http://HOST:PORT/v1"):
        _split_spec("model-without-url")


def test_api_keys_are_scrubbed_from_text():
    key = "sk-proj-abcDEF123456"
    text = f'HTTP 401: {{"message": "Incorrect API key provided: {key}", "auth": "Bearer {key}"}} sk-ab***56'
    clean = scrub(text, [key])
    assert key not in clean and "abcDEF" not in clean and "sk-ab" not in clean
    assert "HTTP 401" in clean and "Incorrect API key provided" in clean


def test_continuation_logprob_sums_the_tokens_past_the_prompt():
    # vLLM's echo for prompt "A:" + continuation " 12": tokens "A" ":" " 1" "2" then one generated token.
    offsets, values = [0, 1, 2, 4, 5], [None, -0.5, -1.0, -0.25, -3.0]
    assert continuation_logprob(2, 5, offsets, values) == pytest.approx(-1.25)
    # "A:" + "12" with ":1" one token that straddles the boundary: it counts for the continuation.
    assert continuation_logprob(2, 4, [0, 1, 3, 4], [None, -2.0, -0.5, -9.0]) == pytest.approx(-2.5)
    with pytest.raises(NoLogprobs):
        continuation_logprob(2, 5, [], [])  # a server that gives no logprobs (transformers serve)
    with pytest.raises(NoLogprobs):
        continuation_logprob(2, 5, [5], [-1.0])  # only the generated token: the echo was ignored


def test_bad_options_are_one_line_errors_before_any_request():
    with pytest.raises(ModelError, match="unknown --model-opt 'concurency'.*concurrency"):
        load_model("vllm:m@http://127.0.0.1:9/v1", {"concurency": "4"})
    with pytest.raises(ModelError, match="api='json' must be one of auto|completions|chat"):
        load_model("vllm:m@http://127.0.0.1:9/v1", {"api": "json"})
    with pytest.raises(ModelError, match="timeout='soon' must be a float"):
        load_model("vllm:m@http://127.0.0.1:9/v1", {"timeout": "soon"})


def test_a_server_that_is_not_there_fails_fast_naming_the_url():
    url = f"http://127.0.0.1:{free_port()}/v1"
    t0 = time.perf_counter()
    with pytest.raises(ModelError) as info:
        load_model(f"vllm:m@{url}")
    assert time.perf_counter() - t0 < 5
    message = str(info.value)
    assert url in message and "\n" not in message and "start it" in message


def test_openai_without_a_key_says_to_set_it(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(ModelError, match="set OPENAI_API_KEY"):
        load_model("openai:ft:gpt-4o-mini:org::abc123")


@pytest.mark.skipif(find_spec("vllm") is not None, reason="vllm is installed here")
def test_vllm_local_without_vllm_says_how_to_install():
    with pytest.raises(ModelError, match=r'^vllm-local: needs vllm: pip install "oraclebench\[vllm\]"$'):
        load_model("vllm-local:/some/checkpoint")


# --------------------------------------------------------------------------------------- a real server


@needs_serving
def test_served_answers_equal_the_in_process_model(checkpoint, server, reference):
    insts, requests, expected = reference
    with FaultProxy(server) as proxy:  # a pass-through proxy, to watch the requests in flight
        model = served(checkpoint, proxy.url, concurrency=8)
        records = evaluate(model, insts, "served-vs-hf")
    assert [r.completion for r in records] == [expected[q.prompt] for q in requests]
    assert all(r.error is None for r in records)
    assert sum(r.correct for r in records) > 0 and len({r.completion for r in records}) >= 5  # not a constant
    assert sum(proxy.forwarded.values()) == len(requests) and set(proxy.forwarded.values()) == {1}
    assert 1 < proxy.max_in_flight <= 8  # concurrent, not one by one, and bounded by concurrency=8
    assert model.identity() == f"vllm:{checkpoint}|api=auto|logprobs=auto"  # no URL: a moved server keeps its cache


@needs_serving
def test_chat_api_gives_the_same_answers(checkpoint, server, reference):
    _, requests, expected = reference
    # A base model behind a chat template: the completion prompt as it is (chat_prompt=raw), not the
    # chat form with its format sentence, which this model never saw.
    model = served(checkpoint, server, api="chat", chat_prompt="raw", concurrency=4)
    out = model.generate(requests[:8])
    assert [r.error for r in out] == [None] * 8
    assert [r.text for r in out] == [expected[q.prompt] for q in requests[:8]]


@needs_serving
def test_choices_fall_back_to_generation_without_logprobs(checkpoint, server, reference):
    _, requests, expected = reference
    choice_requests, truth = [], []
    for q in requests[:6]:
        said = expected[q.prompt].strip()
        choice_requests.append(Request(q.prompt, choices=(said, said + "9")))
        truth.append(0)
    with FaultProxy(server) as proxy:
        model = served(checkpoint, proxy.url)
        out = model.generate(choice_requests)
    assert [r.error for r in out] == [None] * 6
    # Generated text, for the task to read the choice from (the adapter no longer reads prefixes).
    assert [r.choice for r in out] == [None] * 6
    assert [r.text.strip() for r in out] == [q.choices[k] for q, k in zip(choice_requests, truth)]
    assert model._logprobs_ok is False  # found out by one pilot request (transformers serve has no logprobs)
    assert sum(proxy.attempts.values()) == 2 + 6  # the pilot's two echo requests, then one generation each


# --------------------------------------------------------------------------------------- faults


@needs_serving
def test_transient_faults_are_retried_and_persistent_ones_become_errors(checkpoint, server, reference):
    insts, requests, expected = reference
    prompts = [q.prompt for q in requests]
    once = {prompts[0]: Fault.status(500), prompts[1]: Fault.status(503), prompts[2]: Fault.drop(),
            prompts[3]: Fault.status(429, retry_after=0.6), prompts[4]: Fault.slow(6.0)}
    always = {prompts[5]: Fault.status(500), prompts[6]: Fault.status(502)}

    def plan(path, prompt, attempt):
        return always.get(prompt) or (once.get(prompt) if attempt == 0 else None)

    with FaultProxy(server, plan) as proxy:
        model = served(checkpoint, proxy.url, concurrency=6, retries=3, backoff=0.05, timeout=4)
        records = evaluate(model, insts, "faults")
    by_prompt = {r.prompt: r for r in records}
    assert len(records) == len(insts) and len(by_prompt) == len(insts)  # one answer per request
    for p in prompts:
        r = by_prompt[p]
        if p in always:
            assert r.error and not r.correct and r.reason.startswith("error: ")
            assert "HTTP 50" in r.error and "gave up after 4 attempts" in r.error
            assert proxy.attempts[p] == 4 and proxy.forwarded[p] == 0
        else:
            assert r.error is None and r.completion == expected[p]
            assert proxy.attempts[p] == (2 if p in once else 1)
            assert proxy.forwarded[p] >= 1
    assert sum(proxy.forwarded[p] for p in prompts if p not in once) == len(prompts) - len(once) - len(always)
    assert by_prompt[prompts[3]].latency >= 0.6  # Retry-After was honoured (back-off alone is ~0.05 s)
    cell = summarize(records)["tasks"]["multiplication"]["all"]
    assert cell["errors"] == 2 and cell["n"] == len(insts)  # errors counted apart from wrong answers


@needs_serving
def test_a_run_cut_by_a_dying_server_resumes_from_the_cache(checkpoint, server, reference, tmp_path):
    insts, requests, expected = reference
    port = free_port()
    proxy = FaultProxy(server, port=port)
    served_before_death = 8

    def dies(path, prompt, attempt):
        if sum(proxy.forwarded.values()) >= served_before_death:
            proxy.kill()
            return Fault.drop()
        return None

    proxy.plan = dies
    cache = ResponseCache(tmp_path / "cache.sqlite")
    try:
        model = served(checkpoint, proxy.url, concurrency=2, retries=2, backoff=0.05, breaker=3)
        t0 = time.perf_counter()
        first = evaluate(model, insts, "cut", cache)
        assert time.perf_counter() - t0 < 60  # the breaker ends the run instead of retrying every item
        answered = [r for r in first if r.error is None]
        failed = [r for r in first if r.error is not None]
        assert len(answered) >= served_before_death and failed
        assert any(r.error.startswith("not sent:") for r in failed)  # the rest came back at once
        assert all(r.completion == expected[r.prompt] for r in answered)

        with FaultProxy(server, port=port) as revived:  # the server is back on the same address
            second = evaluate(model, insts, "resumed", cache)
        assert sum(revived.attempts.values()) == len(failed)  # only the unanswered items were asked again
        assert [r.completion for r in second] == [expected[q.prompt] for q in requests]
        assert sum(r.cached for r in second) == len(answered)
    finally:
        cache.close()
        proxy.stop()


def test_answers_replayed_from_another_server_of_the_same_name_are_said_once(tmp_path, caplog):
    """Nothing a server tells identifies its weights, so cached answers are keyed by the model's name and
    tag: a second server of the same name replays the first one's answers. The run must say so, once,
    naming the way out (a trial saw 84% for a server that answers 100%, "68 from the cache" the only hint)."""
    from oraclebench.testing.scripted import ScriptedServer

    insts = multiplication_instances(6, seed=3)
    cache = ResponseCache(tmp_path / "cache.sqlite")
    try:
        with ScriptedServer(answer=lambda prompt: " 1\n") as first:
            evaluate(load_model(f"vllm:m@{first.url}/v1"), insts, "first", cache)
        with caplog.at_level("WARNING", logger="oraclebench.runner"), ScriptedServer(answer=lambda p: " 2\n") as second:
            model = load_model(f"vllm:m@{second.url}/v1")
            replayed = evaluate(model, insts, "second", cache)
            evaluate(model, insts, "third", cache)
        assert [r.completion for r in replayed] == [" 1\n"] * 6 and not second.answered  # the first server's
        said = [r.getMessage() for r in caplog.records if "cache of earlier runs" in r.getMessage()]
        assert len(said) == 1 and "tag=" in said[0] and "--no-cache" in said[0]
        with ScriptedServer(answer=lambda p: " 2\n") as third:  # the way out: another tag asks again
            tagged = evaluate(load_model(f"vllm:m@{third.url}/v1", {"tag": "retrained"}), insts, "tagged", cache)
        assert [r.completion for r in tagged] == [" 2\n"] * 6
    finally:
        cache.close()


@pytest.mark.parametrize("api", ["completions", "chat"])
def test_a_choice_with_no_text_is_an_error_and_never_cached(tmp_path, api):
    """``"text": null`` (or a chat message's ``"content": null``) is a broken response, as ``"choices": []`` is
    (an error): it was read as an empty answer, scored no answer and cached, so a rerun replayed it (review)."""
    from oraclebench.testing.scripted import ScriptedServer

    insts = multiplication_instances(6, seed=5)
    nulls = {get_task("multiplication").request(i).prompt for i in insts[:3]}
    cache = ResponseCache(tmp_path / "cache.sqlite")
    try:
        with ScriptedServer(answer=lambda prompt: None if prompt in nulls else " 1\n") as server:
            model = load_model(f"vllm:m@{server.url}/v1", {"api": api, "retries": "0", "chat_prompt": "raw"})
            first = evaluate(model, insts, "first", cache)
            second = evaluate(model, insts, "second", cache)
            asked = server.answered
        assert [r.status for r in first[:3]] == ["error"] * 3 and "no text (null" in first[0].error
        assert all(r.status != "error" for r in first[3:])
        assert [r.cached for r in second] == [False] * 3 + [True] * 3 and asked == 9  # the broken three asked again
    finally:
        cache.close()


# --------------------------------------------------------------------------------------- openai:


@needs_serving
def test_openai_adapter_answers_and_never_leaks_the_key(checkpoint, server, reference, monkeypatch, caplog):
    _, requests, expected = reference
    key = "sk-test-" + "Zq7" * 12
    monkeypatch.setenv("OPENAI_API_KEY", key)

    def refuse(path, prompt, attempt):  # as OpenAI does: the 401 body quotes the key it was given
        if prompt == requests[0].prompt:
            return Fault.status(401, body=lambda h: json.dumps(
                {"error": {"message": f"Incorrect API key provided: {h.get('authorization', '')}"}}))
        return None

    caplog.set_level(logging.DEBUG)
    with FaultProxy(server, refuse) as proxy:
        model = OpenAIModel(str(checkpoint), {"base_url": f"{proxy.url}/v1", "api": "completions"})
        out = model.generate(requests[:4])
    assert "401" in out[0].error and "Incorrect API key provided" in out[0].error
    assert [r.text for r in out[1:]] == [expected[q.prompt] for q in requests[1:4]]
    assert proxy.attempts[requests[0].prompt] == 1  # a refused key is not retried
    for text in (out[0].error, model.identity(), model.name, repr(model), caplog.text):
        assert key not in text and key[8:20] not in text


@needs_serving
@pytest.mark.slow  # a pytest subprocess: ~13 s on an idle 2-core machine, ~22 s on a busy one
def test_pytest_benchmark_scores_a_served_model_like_hf(checkpoint, server, tmp_path):
    results = tmp_path / "results"
    cmd = [sys.executable, "-m", "pytest", "benchmark", "-q", "-p", "no:cacheprovider", "--task", "multiplication",
           "--fresh", "10", "--seed", "3", "--model", f"vllm:{checkpoint}@{server}/v1", "--results", str(results)]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "HF_HUB_OFFLINE": "1"})
    assert proc.returncode in (0, 1), proc.stdout[-3000:] + proc.stderr[-2000:]  # 1: some answers are wrong
    lines = (next((results / "runs").iterdir()) / "records.jsonl").read_text().splitlines()
    records = [json.loads(line) for line in lines]
    assert len(records) == 10 and all(r["error"] is None for r in records)
    task = get_task("multiplication")
    by_id = {i.id: task.request(i) for i in task.fresh(10, 3)}
    reqs = [by_id[r["instance_id"]] for r in records]
    assert [r["completion"] for r in records] == hf_texts(checkpoint, reqs)
