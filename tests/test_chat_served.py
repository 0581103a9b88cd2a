"""Chat and reasoning models behind ``vllm:``/``openai:``, against a scripted chat server on 127.0.0.1.

The server (``oraclebench.testing.chatserver``) is a real HTTP server speaking the OpenAI chat API;
its scripts write what chat models write: a judge answer as a sentence ("The correct answer is
candidate 2.", the case ``../shared/cases/answers/chat_sentence.py``), a product in prose unless the
answer format is stated, and reasoning before the answer (in ``reasoning_content``/``reasoning``, or
in ``<think>`` blocks). The scripts read the problem back from the prompt as that case's
``_solve.py`` does (with ``examples/flawed.py``'s prompt reader), so every answer they give is right
unless the token budget cuts it.

Run a server by hand: ``python tests/test_chat_served.py [chat|reasoner|thinker] [PORT]``.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from oraclebench.models import load_model
from oraclebench.models.base import strip_thinking
from oraclebench.cache import ResponseCache
from oraclebench.runner import evaluate
from oraclebench.summary import summarize
from oraclebench.testing.chatserver import ChatServer, Reply, tokens
from oraclebench.tasks import TASKS, get_task
from oraclebench.tasks.base import Response

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from examples.flawed import read_prompt  # noqa: E402

SENTENCE = "The correct answer is candidate {n}."
PRODUCT_FORMAT = "product alone"  # words of multiplication's format sentence the scripted model obeys


# --------------------------------------------------------------------------------------- the scripts


def solve(messages: list[dict]) -> tuple[str, object, str]:
    """(task, problem, the oracle's completion) behind a chat request, read from its user message as
    ``_solve.py`` reads a prompt; the multiplication chat form is turned back into the prompt form."""
    text = "\n".join(str(m.get("content") or "") for m in messages if m.get("role") == "user")
    m = re.search(r"What is (\d+) × (\d+)\?( Show your work\.)?", text)
    name, problem = read_prompt(f"Q: What is {m[1]} × {m[2]}?{m[3] or ''} A:" if m else text)
    task = get_task(name)
    return name, problem, task.render_answer(problem, task.solve(problem))


def told(messages: list[dict], words: str) -> bool:
    return any(words in str(m.get("content") or "") for m in messages)


def chat(messages: list[dict]) -> Reply:
    """A chat model: judge in a sentence; a product alone when told so, else in prose."""
    name, problem, right = solve(messages)
    if name == "judge":
        return Reply(SENTENCE.format(n=right.strip()))
    if name == "multiplication" and not told(messages, PRODUCT_FORMAT):
        return Reply(f"Sure! {problem.a} × {problem.b} = {right.strip()}, so that is the product.")
    return Reply(right.strip())


def reasoner(where: str):
    """A reasoning model: first thinks (naming the wrong candidate first), then answers as ``chat``."""

    def script(messages: list[dict]) -> Reply:
        name, problem, right = solve(messages)
        wrong = 3 - int(right) if name == "judge" else right
        thinking = (f"Candidate {wrong} looks right at first. Let me check every step of both candidates "
                    f"again, one line at a time, before I answer.")
        return Reply(chat(messages).answer, thinking=thinking, thinking_in=where)

    return script


THINKING_TOKENS = len(tokens(reasoner("content")([{"role": "user", "content": "What is 2 × 3?"}]).thinking))


@pytest.fixture
def judge_instances():
    task = get_task("judge")
    return task.frozen()[::23][:24]  # 24 instances: all 12 templates, half swapped, half masked


def served(server: ChatServer, **opts):
    return load_model(f"vllm:{server.model}@{server.url}/v1", {k: str(v) for k, v in opts.items()})


# --------------------------------------------------------------------------------------- chat forms


@pytest.mark.parametrize("name", sorted(TASKS))
def test_every_task_has_a_chat_form_that_states_the_answer_format_in_one_sentence(name):
    task = get_task(name)
    for inst in task.frozen()[::50]:
        req = task.request(inst)
        problem = task.decode(inst.problem)
        form = req.chat
        assert form is not None and form == task.chat(problem)
        assert len(re.findall(r"[.!?](\s|$)", form.instruction)) == 1 and form.instruction.endswith(".")
        assert form.max_tokens >= req.max_tokens + 256  # room for a sentence around the answer
        assert "chat" in req.key() and req.key()["chat"][0] == form.instruction  # reworded: asked again
        answer = task.chat_answer(problem, task.solve(problem))  # what the sentence asks for
        assert task.score(problem, Response(text=answer)).correct, (form.instruction, answer)


def test_the_chat_form_keeps_the_question_and_drops_the_completion_scaffolding():
    judge = get_task("judge")
    problem = judge.decode(judge.frozen()[0].problem)
    form = judge.chat(problem)
    assert problem.question in form.user and problem.argument in form.user
    assert "### Response" not in form.user and not form.user.endswith("candidate_")
    mult = get_task("multiplication")
    assert mult.chat(mult.Problem(7, 8)).user == "What is 7 × 8?"


# --------------------------------------------------------------------------------------- kind 5: budgets


def test_a_chat_sentence_scores_like_it_does_through_python(judge_instances, tmp_path):
    """The case chat_sentence.py: 0% on a chat server under judge's 4-token budget; 100% now."""
    with ChatServer(chat) as server:
        model = served(server)  # api=auto: the server has no completions route, so chat it is
        records = evaluate(model, judge_instances, "chat")
    assert [r.status for r in records] == ["correct"] * len(records)
    assert {r.completion for r in records} == {SENTENCE.format(n=1), SENTENCE.format(n=2)}
    budgets = {b.get("max_tokens") for b in server.requests}
    assert budgets == {get_task("judge").chat(get_task("judge").decode(judge_instances[0].problem)).max_tokens}
    first = server.requests[0]["messages"]
    assert [m["role"] for m in first] == ["system", "user"] and "1 or 2" in first[0]["content"]
    assert "stop" not in server.requests[0]  # a chat model ends its own turn

    path = tmp_path / "pipeline.py"  # the same sentence through python: scores the same
    path.write_text("def answer(prompts):\n    return [' ' + s for s in ANSWERS]\nANSWERS = []\n")
    py = load_model(f"python:{path}:answer")
    py.module.ANSWERS[:] = [r.completion for r in records]
    assert [r.correct for r in evaluate(py, judge_instances, "py")] == [True] * len(records)


def test_a_truncated_answer_is_its_own_status_never_cached_and_retried_with_a_larger_budget(judge_instances, tmp_path):
    cache = ResponseCache(tmp_path / "cache.sqlite")
    try:
        with ChatServer(chat) as server:
            small = served(server, max_tokens=4)  # "The correct answer is" ... cut
            first = evaluate(small, judge_instances, "small", cache)
            again = evaluate(small, judge_instances, "again", cache)
            asked_twice = len(server.requests)
            server.requests.clear()
            retried = evaluate(served(server, max_tokens=4, retry_truncated=1), judge_instances, "retry", cache)
    finally:
        cache.close()
    assert {r.status for r in first} == {"truncated"} and not any(r.correct for r in first)
    assert all(r.completion == "The correct answer is" for r in first)
    assert all(r.reason.startswith("truncated: ") and "max_tokens=" in r.reason for r in first)
    cell = summarize(first)["tasks"]["judge"]["all"]
    assert (cell["truncated"], cell["noanswer"], cell["correct"], cell["n"]) == (24, 0, 0, 24)
    assert not any(r.cached for r in again) and asked_twice == 2 * len(judge_instances)  # never cached
    assert [r.status for r in retried] == ["correct"] * len(judge_instances)
    assert sorted(b["max_tokens"] for b in server.requests) == [4] * 24 + [8] * 24  # doubled once


def rambler(messages: list[dict]) -> Reply:
    """A chat model that says the right candidate, then goes on explaining."""
    return Reply(chat(messages).answer + " Here is why, step by step: the first candidate's third line")


def test_a_right_answer_cut_by_the_budget_counts_right_but_is_not_cached_and_the_two_counts_say_which(
        judge_instances, tmp_path):
    """The timing line counts every answer the budget cut (none is cached); the table's truncated column
    only those not right. Both said "truncated", 6 in the one and 4 in the other (found by review)."""
    from oraclebench.plugin.finish import _timing_line
    from oraclebench.runner import RunStats

    budget = len(tokens(SENTENCE.format(n=1)))  # the sentence whole, the explanation cut
    cache, stats = ResponseCache(tmp_path / "cache.sqlite"), RunStats()
    try:
        with ChatServer(rambler) as server:
            records = evaluate(served(server, max_tokens=budget), judge_instances, "cut", cache, stats=stats)
            again = evaluate(served(server, max_tokens=budget), judge_instances, "again", cache)
    finally:
        cache.close()
    assert {r.status for r in records} == {"correct"} and all(r.detail.get("truncated") for r in records)
    assert not any(r.cached for r in again)  # cut: not final, so asked again
    assert stats.truncated == 24 and summarize(records)["tasks"]["judge"]["all"]["truncated"] == 0
    line = _timing_line("judge", {"requested": 24, "cached": 0, "computed": 24, "errors": 0,
                                  "truncated": stats.truncated, "seconds": 1.0}, 0)
    assert "24 asked (0 failed, 24 cut by the token budget)" in line


def test_budget_options_are_checked_and_named_in_the_identity():
    with ChatServer(chat) as server:
        assert served(server).identity() == "vllm:chat|api=auto|logprobs=auto"  # existing caches keep their keys
        assert served(server, max_tokens=512, retry_truncated=2).identity().endswith("|max_tokens=512|retry_truncated=2")
        with pytest.raises(Exception, match="max_tokens='0' must be positive"):
            served(server, max_tokens=0)
        with pytest.raises(Exception, match="chat_prompt='sys' must be one of system|user|raw"):
            served(server, chat_prompt="sys")


# --------------------------------------------------------------------------------------- kind 5: reasoning


def test_a_server_returning_several_different_choices_for_one_request_is_an_error_not_an_answer(judge_instances):
    """n=1 is what every request asks; a server that returns two different choices leaves the answer unknown.
    Before, the first was read without a word: here it is the right one, so every item scored correct."""
    def two(messages: list[dict]) -> Reply:
        right = chat(messages).answer
        return Reply(right, others=(SENTENCE.format(n=3 - int(right[-2])),))

    def same(messages: list[dict]) -> Reply:
        return Reply(chat(messages).answer, others=(chat(messages).answer,))

    with ChatServer(two) as server:
        records = evaluate(served(server, retries=0), judge_instances, "two")
    assert {r.status for r in records} == {"error"}
    assert all("2 different choices for a request of one" in r.error for r in records), {r.error for r in records}
    with ChatServer(same) as server:  # the same answer twice is that answer
        assert {r.status for r in evaluate(served(server), judge_instances, "same")} == {"correct"}


@pytest.mark.parametrize("where", ["reasoning_content", "reasoning", "content"])
def test_reasoning_is_never_read_as_the_answer(where, judge_instances):
    with ChatServer(reasoner(where)) as server:
        records = evaluate(served(server), judge_instances, "reasoner")
    assert [r.status for r in records] == ["correct"] * len(records)
    assert all(r.completion.startswith("The correct answer is candidate") for r in records)  # no thinking
    # Thinking written in the answer's own text is kept beside it: a record shows all the model wrote.
    kept = [r.detail.get("written") for r in records]
    if where == "content":
        assert all(w and "<think>" in w and w.endswith(r.completion) for w, r in zip(kept, records))
    else:  # a separate field: the answer's text is all of the content
        assert kept == [None] * len(records)


@pytest.mark.parametrize("where", ["reasoning_content", "content"])
def test_a_budget_spent_thinking_is_truncated_not_an_empty_answer(where, judge_instances):
    budget = THINKING_TOKENS - 3  # the thinking does not end: no answer is written
    with ChatServer(reasoner(where)) as server:
        records = evaluate(served(server, max_tokens=budget), judge_instances, "cut")
        retried = evaluate(served(server, max_tokens=budget, retry_truncated=1), judge_instances, "retried")
    assert {r.status for r in records} == {"truncated"}
    assert {r.completion for r in records} == {""}  # the cut thinking is not the answer either
    if where == "content":  # ... and is kept, not lost: the record shows where the budget went
        assert all("<think>" in r.detail["written"] for r in records)
    assert [r.status for r in retried] == ["correct"] * len(records)


@given(st.text(alphabet=st.characters(blacklist_characters="<>"), max_size=40),
       st.text(alphabet=st.characters(blacklist_characters="<>"), max_size=40))
def test_think_blocks_come_out_and_an_unclosed_one_is_unfinished(thinking, answer):
    assert strip_thinking(f"<think>{thinking}</think>{answer}") == (answer.lstrip(), False)
    assert strip_thinking(f"{thinking}</think>{answer}") == (answer.lstrip(), False)  # template opened it
    assert strip_thinking(f"<think>{thinking}") == ("", True)
    assert strip_thinking(answer) == (answer, False)  # no thinking: the text as it is


# --------------------------------------------------------------------------------------- kind 6: chat prompt


def test_the_format_sentence_reaches_a_chat_model_and_its_product_scores(tmp_path):
    task = get_task("multiplication")
    insts = task.fresh(12, 5)
    with ChatServer(chat) as server:
        raw = evaluate(served(server, chat_prompt="raw"), insts, "raw")  # as before: the bare completion prompt
        told_ = evaluate(served(server), insts, "chat")
        as_user = evaluate(served(server, chat_prompt="user"), insts, "user")
    assert not any(r.correct for r in raw)  # "Sure! 7 × 8 = 56, ..." is no strict answer
    assert all(r.correct for r in told_) and all(r.correct for r in as_user)
    sent = [json.dumps(b["messages"], ensure_ascii=False) for b in server.requests]  # 3 runs, each concurrent
    forms = [task.request(i).chat for i in insts]
    assert sorted(sent[:12]) == sorted(json.dumps([{"role": "user", "content": task.request(i).prompt}],
                                                  ensure_ascii=False) for i in insts)
    assert sorted(sent[12:24]) == sorted(json.dumps([{"role": "system", "content": f.instruction},
                                                     {"role": "user", "content": f.user}], ensure_ascii=False)
                                         for f in forms)
    assert sorted(sent[24:]) == sorted(json.dumps([{"role": "user", "content": f"{f.instruction}\n\n{f.user}"}],
                                                  ensure_ascii=False) for f in forms)


def test_a_causal_chat_answer_that_takes_its_lines_back_is_no_strict_answer():
    """The causal completion form has no stop string, so its strict reading takes the first lines; a chat
    answer is read whole. Before, the chat model's right lines, then "Wait, actually" and wrong ones, scored
    right: the adapter now says which form it answered (``Response.chat``) and the record keeps it."""
    task = get_task("causal")
    insts = task.frozen()[:8]

    def withdrawn(messages: list[dict]) -> Reply:
        _, problem, right = solve(messages)
        flipped = {k: 1 - v for k, v in task.solve(problem).items() if k.startswith("new") and k != "new_sum"}
        return Reply(f"{right.strip()}\n\nWait, actually:\n{task.chat_answer(problem, {**task.solve(problem), **flipped})}")

    with ChatServer(withdrawn) as server:
        records = evaluate(served(server), insts, "withdrawn")
    with ChatServer(chat) as server:
        plain = evaluate(served(server), insts, "plain")
    assert [r.status for r in records] == ["no_answer"] * 8 and not any(r.correct_lenient for r in records)
    assert all(r.detail.get("chat") is True for r in records)
    assert [r.status for r in plain] == ["correct"] * 8  # the answer's lines alone


# --------------------------------------------------------------------------------------- the real entry point


@pytest.mark.slow  # a pytest subprocess: a few seconds
def test_pytest_benchmark_scores_the_chat_sentence_case_served_at_100(tmp_path):
    results = tmp_path / "results"
    with ChatServer(reasoner("reasoning_content")) as server:
        cmd = [sys.executable, "-m", "pytest", "benchmark", "-q", "-p", "no:cacheprovider", "-m", "judge",
               "--limit", "24", "--model", f"vllm:chat@{server.url}/v1", "--results", str(results)]
        proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
        small = subprocess.run(cmd + ["--model-opt", "max_tokens=8"], cwd=ROOT, capture_output=True, text=True,
                               timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert "24 passed" in proc.stdout
    assert "judge: 24 requests, 0 from the cache, 24 asked (0 failed) in" in proc.stdout
    assert small.returncode == 1 and "24 failed" in small.stdout
    assert "judge: 24 requests, 0 from the cache, 24 asked (0 failed, 24 cut by the token budget)" in small.stdout
    # wrong, no answer, truncated, errors: all 24 truncated, none counted wrong (the split: no manifest)
    assert re.search(r"\| judge +\| all \(unknown\) +\| +24 \| 0\.0 .*\| +0 \| +0 \| +24 \| +0 \|", small.stdout), \
        small.stdout[-2000:]
    run = sorted((results / "runs").iterdir())[-1]
    assert {json.loads(line)["status"] for line in (run / "records.jsonl").read_text().splitlines()} == {"truncated"}


if __name__ == "__main__":  # a scripted server for trying the adapters by hand
    kind = sys.argv[1] if len(sys.argv) > 1 else "chat"
    scripts = {"chat": chat, "reasoner": reasoner("reasoning_content"), "thinker": reasoner("content")}
    with ChatServer(scripts[kind], port=int(sys.argv[2]) if len(sys.argv) > 2 else 0) as srv:
        print(f"{kind} model 'chat' at {srv.url}/v1 (Ctrl-C stops it)", flush=True)
        try:
            srv._thread.join()
        except KeyboardInterrupt:
            pass


def test_openai_chat_models_get_the_chat_form_with_max_completion_tokens(judge_instances, monkeypatch):
    from oraclebench.models.served import OpenAIModel

    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-" + "k" * 24)
    with ChatServer(reasoner("reasoning_content"), model="o4-mini") as server:
        model = OpenAIModel("o4-mini", {"base_url": f"{server.url}/v1"})  # a chat model: api=chat
        records = evaluate(model, judge_instances[:6], "openai")
    assert [r.status for r in records] == ["correct"] * 6
    assert all("max_completion_tokens" in b and "max_tokens" not in b for b in server.requests)
    assert all(b["messages"][0]["role"] == "system" for b in server.requests)
