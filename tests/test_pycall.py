"""The ``python:MODULE:FUNCTION`` adapter: any callable from prompts to completions is a model."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

from oraclebench.models import ModelError, load_model
from oraclebench.models.base import DEAD_PROBES, Adapter, Response
from oraclebench.models.pycall import PythonModel
from oraclebench.runner import evaluate
from oraclebench.summary import summarize
from oraclebench.tasks import get_task
from oraclebench.tasks.base import Request

ROOT = Path(__file__).resolve().parent.parent
FLAWED = ROOT / "examples" / "flawed.py"


def write_module(directory: Path, body: str, name: str = "pipeline") -> Path:
    path = directory / f"{name}.py"
    path.write_text(textwrap.dedent(body), encoding="utf-8")
    return path


def sample(task: str, n: int, seed: int = 0):
    return get_task(task).fresh(n, seed)


@pytest.mark.parametrize("task", ["abcd", "causal", "multiplication"])
def test_the_oracle_callable_scores_every_instance_right(task):
    model = load_model(f"python:{FLAWED}:oracle")
    records = evaluate(model, sample(task, 30), "t")
    assert [r.reason for r in records if not r.correct] == []
    assert all(r.error is None for r in records)


def test_a_dotted_module_name_loads_from_the_current_directory(tmp_path, monkeypatch):
    write_module(tmp_path, """
        def answer(prompts):
            return [" 56" for _ in prompts]
    """, name="pycall_cwd_module")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p not in ("", str(tmp_path))])
    model = load_model("python:pycall_cwd_module:answer")
    assert model.generate([Request("Q: What is 7 × 8? A:", stop=("\n",))])[0].text == " 56"


def test_batch_size_attribute_caps_each_call_and_the_option_overrides_it(tmp_path):
    path = write_module(tmp_path, """
        SIZES = []
        def answer(prompts):
            SIZES.append(len(prompts))
            return [p.upper() for p in prompts]
        answer.batch_size = 3
    """)
    model = load_model(f"python:{path}:answer")
    responses = model.generate([Request(f"p{i}") for i in range(10)])
    assert [r.text for r in responses] == [f"P{i}" for i in range(10)]  # order kept across batches
    assert model.module.SIZES == [3, 3, 3, 1]
    model = load_model(f"python:{path}:answer", {"batch_size": "5"})
    model.generate([Request(f"p{i}") for i in range(10)])
    assert model.module.SIZES[-2:] == [5, 5]


def test_an_exception_in_the_callable_is_a_request_error_isolated_by_bisection(tmp_path):
    path = write_module(tmp_path, """
        CALLS = []
        def answer(prompts):
            CALLS.append(len(prompts))
            if any("7" in p for p in prompts):
                raise ValueError("cannot read sevens")
            return [" %d" % eval(p[11:p.index("?")].replace("×", "*")) for p in prompts]
    """)
    model = load_model(f"python:{path}:answer")
    task = get_task("multiplication")
    pairs = [(2, 3), (7, 4), (5, 5), (6, 8), (3, 17), (9, 9)]
    insts = [task.instance(task.Problem(a, b), f"i{a}x{b}") for a, b in pairs]
    records = evaluate(model, insts, "t")
    errors = {r.instance_id: r.error for r in records if r.error}
    assert set(errors) == {"i7x4", "i3x17"}
    assert all(e == "ValueError: cannot read sevens" for e in errors.values())
    assert all(r.correct for r in records if r.error is None)  # the others still scored, and right
    cell = summarize(records)["tasks"]["multiplication"]["all"]
    assert (cell["n"], cell["correct"], cell["errors"]) == (6, 4, 2)
    assert model.module.CALLS[0] == 6 and max(model.module.CALLS[1:]) < 6  # the batch was split


def test_a_call_that_fails_only_when_large_keeps_every_answer_and_warns_once(tmp_path, caplog):
    """A model that fails every call of more than four prompts and answers any smaller one: every
    answer is right, and one warning names the failure (it would otherwise only cost time, unseen)."""
    path = write_module(tmp_path, """
        def answer(prompts):
            if len(prompts) > 4:
                raise RuntimeError("payload too large")
            return [" %d" % eval(p[11:p.index("?")].replace("×", "*")) for p in prompts]
    """)
    model = load_model(f"python:{path}:answer")
    task = get_task("multiplication")
    insts = [task.instance(task.Problem(a, a + 1), f"i{a}") for a in range(2, 12)]
    with caplog.at_level("WARNING", logger="oraclebench.models"):
        first = evaluate(model, insts, "t")
        again = evaluate(model, insts[:6], "u")  # fails again: the same line, not warned again
    assert all(r.error is None and r.correct for r in first + again)
    warnings = [r.getMessage() for r in caplog.records if r.name == "oraclebench.models"]
    assert len(warnings) == 1  # once, not per failing call
    assert "a call of 10 requests failed (RuntimeError: payload too large)" in warnings[0]
    assert "none of them raised when asked alone" in warnings[0]


def test_a_large_call_failure_is_warned_even_when_other_prompts_have_errors_of_their_own(tmp_path, caplog):
    """Calls of more than four prompts raise, with a line naming the size; prompts with a 7 are answered
    with None (an error of their own, not the call's). Every other answer is kept and right, the
    sevens are errors saying what was returned, and the size failure is warned about once, though its
    line differs from call to call."""
    path = write_module(tmp_path, """
        def answer(prompts):
            if len(prompts) > 4:
                raise RuntimeError(f"payload of {len(prompts)} prompts too large")
            return [None if "7" in p else " %d" % eval(p[11:p.index("?")].replace("×", "*")) for p in prompts]
    """)
    model = load_model(f"python:{path}:answer")
    task = get_task("multiplication")
    insts = [task.instance(task.Problem(a, a + 1), f"i{a}") for a in range(2, 12)]
    with caplog.at_level("WARNING", logger="oraclebench.models"):
        first = evaluate(model, insts, "t")
        again = evaluate(model, insts[:6], "u")  # "payload of 6 prompts": the same kind, not warned again
    errors = {r.instance_id for r in first + again if r.error}
    assert errors == {"i6", "i7"}  # 6 x 7 and 7 x 8
    assert all("NoneType" in r.error for r in first + again if r.error)
    assert all(r.correct for r in first + again if r.error is None)
    warnings = [r.getMessage() for r in caplog.records if r.name == "oraclebench.models"]
    assert len(warnings) == 1
    assert "a call of 10 requests failed (RuntimeError: payload of 10 prompts too large)" in warnings[0]


def test_a_size_failure_met_only_inside_the_search_is_warned(tmp_path, caplog):
    """The first call fails on a bad prompt (checked first), and calls of more than four prompts without
    it fail for their size: the bad prompt is the only error, and the size failure is warned about."""
    path = write_module(tmp_path, """
        def answer(prompts):
            if "p7" in prompts:
                raise ValueError("cannot parse p7")
            if len(prompts) > 4:
                raise RuntimeError("payload too large")
            return [p.upper() for p in prompts]
    """)
    with caplog.at_level("WARNING", logger="oraclebench.models"):
        out = load_model(f"python:{path}:answer").generate([Request(f"p{i}") for i in range(20)])
    assert [(i, r.error) for i, r in enumerate(out) if r.error] == [(7, "ValueError: cannot parse p7")]
    assert all(r.text == f"P{i}" for i, r in enumerate(out) if i != 7)
    warnings = [r.getMessage() for r in caplog.records if r.name == "oraclebench.models"]
    assert len(warnings) == 1 and "(RuntimeError: payload too large)" in warnings[0]


def test_a_request_left_alone_by_a_failed_call_is_asked_alone_before_it_is_an_error():
    """An adapter that fails calls of more than four requests, and in calls of two to four reports all but
    the last request early, then raises: each request is answered (the last of such a call when asked
    alone), none is an error that a call of it alone never raised."""
    from oraclebench.models.base import Adapter

    class ReportsEarly(Adapter):
        name = "reports-early"

        def __init__(self):
            self.calls = []

        def complete(self, requests):
            self.calls.append(len(requests))
            if len(requests) > 4:
                raise RuntimeError("too large")
            if len(requests) > 1:
                for r in requests[:-1]:
                    self.answered(r, Response(text=r.prompt.upper()))
                raise RuntimeError("too large")
            return [Response(text=requests[0].prompt.upper())]

    model = ReportsEarly()
    out = model.generate([Request(f"p{i}") for i in range(8)])
    assert [(r.text, r.error) for r in out] == [(f"P{i}", None) for i in range(8)]
    assert model.calls[0] == 8


def test_a_size_failure_is_warned_though_a_bad_prompt_raises_too(tmp_path, caplog):
    """Calls of more than four prompts fail, and so does any call holding p7, with the same exception
    type: the calls of the search that fail without p7 show the size failure, which is warned about."""
    path = write_module(tmp_path, """
        def answer(prompts):
            if len(prompts) > 4:
                raise RuntimeError("payload too large")
            if "p7" in prompts:
                raise RuntimeError("cannot parse p7")
            return [p.upper() for p in prompts]
    """)
    with caplog.at_level("WARNING", logger="oraclebench.models"):
        out = load_model(f"python:{path}:answer").generate([Request(f"p{i}") for i in range(20)])
    assert [(i, r.error) for i, r in enumerate(out) if r.error] == [(7, "RuntimeError: cannot parse p7")]
    warnings = [r.getMessage() for r in caplog.records if r.name == "oraclebench.models"]
    assert len(warnings) == 1 and "(RuntimeError: payload too large)" in warnings[0]


@pytest.mark.parametrize("raising, alone", [
    ('raise ValueError(f"prompt {prompts.index(\'p7\')} cannot be parsed")', "ValueError: prompt 0 cannot be parsed"),
    ('raise ValueError(f"cannot tokenize batch {prompts!r}")', "ValueError: cannot tokenize batch ['p7']"),
])
def test_a_bad_prompt_whose_line_varies_with_the_call_is_no_size_failure(tmp_path, caplog, raising, alone):
    """Each call holding the bad prompt fails with a line of its own (naming the prompt's place, or the
    call's prompts): every failed call held a prompt that raised alone, so nothing fails for its size:
    the prompt's own error, and no warning about larger calls."""
    path = write_module(tmp_path, f"""
        def answer(prompts):
            if "p7" in prompts:
                {raising}
            return [p.upper() for p in prompts]
    """)
    with caplog.at_level("WARNING", logger="oraclebench.models"):
        out = load_model(f"python:{path}:answer").generate([Request(f"p{i}") for i in range(10)])
    assert [(i, r.error) for i, r in enumerate(out) if r.error] == [(7, alone)]
    assert not [r for r in caplog.records if r.name == "oraclebench.models"]


def test_probes_that_answer_before_raising_do_not_make_a_model_look_dead():
    """Calls of more than four requests fail; smaller ones report every answer, then raise the same line:
    the dead-model probes were answered, so no request is called "not asked alone" of a dead model."""
    from oraclebench.models.base import Adapter

    class AnswersThenRaises(Adapter):
        name = "answers-then-raises"

        def complete(self, requests):
            if len(requests) <= 4:
                for r in requests:
                    self.answered(r, Response(text=r.prompt.upper()))
            raise RuntimeError("too large")

    out = AnswersThenRaises().generate([Request(f"p{i}") for i in range(16)])
    assert [(r.text, r.error) for r in out] == [(f"P{i}", None) for i in range(16)]


def test_a_call_that_raises_after_reporting_every_answer_keeps_them_and_is_warned_about(caplog):
    from oraclebench.models.base import Adapter

    class ReportsAllThenRaises(Adapter):
        name = "reports-all-then-raises"

        def complete(self, requests):
            for r in requests:
                self.answered(r, Response(text=r.prompt.upper()))
            raise RuntimeError("cleanup failed")

    with caplog.at_level("WARNING", logger="oraclebench.models"):
        out = ReportsAllThenRaises().generate([Request(f"p{i}") for i in range(10)])
    assert [(r.text, r.error) for r in out] == [(f"P{i}", None) for i in range(10)]
    warnings = [r.getMessage() for r in caplog.records if r.name == "oraclebench.models"]
    assert len(warnings) == 1 and "a call of 10 requests failed (RuntimeError: cleanup failed)" in warnings[0]


def test_a_size_failure_met_before_a_broken_contract_is_still_warned(caplog):
    """Calls of more than four requests raise; a call of two to four holding p15 answers nothing. By hand:
    the call of 16 raises, the probe p0 answers (not dead); the 15 others raise, then p1-p7 and p8-p15;
    p1-p3, p4-p7 and p8-p11 answer, and p12-p15 breaks the contract, ending the search. p1-p7 were all
    answered in smaller calls: their call's failure is a size failure, warned although the search broke."""
    from oraclebench.models.base import Adapter

    class FailsLargeBreaksOnP15(Adapter):
        name = "fails-large"

        def complete(self, requests):
            if len(requests) > 4:
                raise RuntimeError("too large")
            if len(requests) > 1 and any(r.prompt == "p15" for r in requests):
                return []
            return [Response(text=r.prompt.upper()) for r in requests]

    with caplog.at_level("WARNING", logger="oraclebench.models"):
        out = FailsLargeBreaksOnP15().generate([Request(f"p{i}") for i in range(16)])
    broke = "fails-large returned 0 answers for 4 requests"
    assert [(r.text, r.error) for r in out] == [(f"P{i}", None) for i in range(12)] + [("", broke)] * 4
    warnings = [r.getMessage() for r in caplog.records if r.name == "oraclebench.models"]
    assert len(warnings) == 1 and "a call of 7 requests failed (RuntimeError: too large)" in warnings[0]


def test_an_answer_reported_early_is_the_answer_returned_even_if_the_call_returns_another(caplog):
    """The runner commits a reported answer at once: the one scored at the end must be that one, or an
    interrupted run and a whole one would store different answers for the same request."""
    from oraclebench.models.base import Adapter

    class ReportsThenReturnsOther(Adapter):
        name = "reports-then-returns-other"

        def complete(self, requests):
            for r in requests:
                self.answered(r, Response(text=r.prompt.upper()))
            return [Response(text="changed") for _ in requests]

    reported = {}
    with caplog.at_level("WARNING", logger="oraclebench.models"):
        out = ReportsThenReturnsOther().generate([Request(f"p{i}") for i in range(3)],
                                                 on_answer=lambda i, r: reported.setdefault(i, r.text))
    assert [r.text for r in out] == ["P0", "P1", "P2"]
    assert reported == {0: "P0", 1: "P1", 2: "P2"}
    warnings = [r.getMessage() for r in caplog.records if r.name == "oraclebench.models"]
    assert len(warnings) == 1 and "the reported one is kept" in warnings[0]


def test_a_failing_call_of_one_request_is_its_error_asked_once(tmp_path):
    path = write_module(tmp_path, """
        CALLS = []
        def answer(prompts):
            CALLS.append(list(prompts))
            if "p1" in prompts:
                raise ValueError("bad p1")
            return [p.upper() for p in prompts]
    """)
    model = load_model(f"python:{path}:answer", {"batch_size": "1"})
    out = model.generate([Request(f"p{i}") for i in range(3)])
    assert [(r.text, r.error) for r in out] == [("P0", None), ("", "ValueError: bad p1"), ("P2", None)]
    assert model.module.CALLS == [["p0"], ["p1"], ["p2"]]


def test_an_answer_reported_before_a_probe_raises_is_kept():
    """An adapter that fails calls of more than four requests, and reports each request of a smaller
    call early before raising: every answer reported is the answer returned (none overwritten by the
    error of the call that reported it)."""
    from oraclebench.models.base import Adapter

    class ReportsThenRaises(Adapter):
        name = "reports-then-raises"

        def complete(self, requests):
            if len(requests) > 4:
                raise RuntimeError("too large")
            for r in requests:
                self.answered(r, Response(text=r.prompt.upper()))
            raise RuntimeError("cleanup failed")

    reported = {}
    out = ReportsThenRaises().generate([Request(f"p{i}") for i in range(8)],
                                       on_answer=lambda i, r: reported.setdefault(i, r.text))
    assert [(r.text, r.error) for r in out] == [(f"P{i}", None) for i in range(8)]
    assert reported == {i: f"P{i}" for i in range(8)}


def test_prompts_that_fail_alone_are_their_own_errors_and_no_warning(tmp_path, caplog):
    path = write_module(tmp_path, """
        def answer(prompts):
            if any("7" in p for p in prompts):
                raise ValueError("cannot read sevens")
            return [" 1" for p in prompts]
    """)
    task = get_task("multiplication")
    insts = [task.instance(task.Problem(a, b), f"i{a}x{b}") for a, b in [(2, 3), (7, 4), (5, 5), (6, 8)]]
    with caplog.at_level("WARNING", logger="oraclebench.models"):
        records = evaluate(load_model(f"python:{path}:answer"), insts, "t")
    assert [r.instance_id for r in records if r.error] == ["i7x4"]
    assert not [r for r in caplog.records if r.name == "oraclebench.models"]


# ------------------------------------------------------- a failure costs the answers of the prompts that raise, only


def rare_failures(tmp_path: Path, batch_size: int | None) -> Path:
    """The tester's F1 pipeline: right on every multiplication prompt except where (7a + b) % 199 == 3,
    where it raises naming its own problem."""
    size = "" if batch_size is None else f"answer.batch_size = {batch_size}"
    return write_module(tmp_path, f"""
        import sys
        sys.path.insert(0, {str(ROOT)!r})
        from examples.flawed import read_prompt, solve

        def answer(prompts):
            out = []
            for p in prompts:
                name, prob = read_prompt(p)
                if (prob.a * 7 + prob.b) % 199 == 3:
                    raise ValueError(f"cannot parse {{prob.a}}x{{prob.b}}")
                out.append(solve(p))
            return out
        {size}
    """)


@pytest.mark.parametrize("batch_size", [None, 32])
def test_six_raising_prompts_of_a_thousand_cost_six_answers_whatever_the_batch_size(tmp_path, batch_size):
    # Trial 13 F1/L4: in one call of 1000, four raising prompts in four different quarters were taken
    # for a dead model and all 1000 became errors (6x8 carrying "boom 1x5"); with batch_size 32, 6 errors.
    task = get_task("multiplication")
    insts = task.frozen()
    problems = {i.id: task.decode(i.problem) for i in insts}
    raising = {k: f"ValueError: cannot parse {p.a}x{p.b}" for k, p in problems.items() if (p.a * 7 + p.b) % 199 == 3}
    assert len(raising) == 6  # the hand count of the report
    model = load_model(f"python:{rare_failures(tmp_path, batch_size)}:answer")
    records = evaluate(model, insts, "t")
    assert {r.instance_id: r.error for r in records if r.error} == raising  # each its own message
    assert all(r.correct for r in records if r.error is None)
    cell = summarize(records)["tasks"]["multiplication"]["all"]
    assert (cell["n"], cell["correct"], cell["errors"]) == (1000, 994, 6)


class Scripted(Adapter):
    """An adapter that raises ``raising[prompt]`` for a call holding that prompt (the first such prompt of
    the call), breaks its contract (answers nothing) for a call of 2..``broken_below - 1`` prompts holding a
    prompt of ``breaks``, else answers each prompt with its upper case; every call is logged."""

    name = "scripted"

    def __init__(self, raising: dict[str, str], batch_size: int | None = None,
                 breaks: frozenset[str] = frozenset(), broken_below: int = 0):
        self.raising, self.batch_size, self.breaks, self.broken_below = raising, batch_size, breaks, broken_below
        self.calls: list[tuple[tuple[str, ...], str | None]] = []  # (prompts, what it raised or None)

    def complete(self, requests):
        prompts = tuple(r.prompt for r in requests)
        for p in prompts:
            if p in self.raising:
                self.calls.append((prompts, f"ValueError: {self.raising[p]}"))
                raise ValueError(self.raising[p])
        if 1 < len(prompts) < self.broken_below and self.breaks & set(prompts):
            self.calls.append((prompts, "broken"))
            return []
        self.calls.append((prompts, None))
        return [Response(text=p.upper()) for p in prompts]


def assert_errors_are_their_own(model: Scripted, prompts: list[str], out: list) -> None:
    """Every error is the error of a call that held that prompt, and an ordinary exception only ever
    that of the prompt asked alone; or it says the prompt was not asked alone."""
    for p, r in zip(prompts, out):
        if r.error is None or r.error.startswith("not asked alone") or "(not asked alone:" in r.error:
            continue
        if r.error.startswith("scripted returned"):  # a broken contract: the prompts of that call
            assert any(p in call and what == "broken" for call, what in model.calls), (p, r.error)
        else:
            assert ((p,), r.error) in model.calls, (p, r.error)


@st.composite
def failures(draw):
    """(prompts, {prompt: message} of those that raise, batch_size): messages either name their prompt
    (any set of prompts may raise), or are one shared message, on fewer prompts than the probes for a
    dead model (a few bad prompts) or on any prompts of a call no larger than the probes."""
    n = draw(st.integers(1, 80))
    prompts = [f"p{i}" for i in range(n)]
    bad = draw(st.sets(st.sampled_from(prompts)))
    if draw(st.booleans()):
        raising = {p: f"boom {p}" for p in bad}
    else:
        if n > DEAD_PROBES and len(bad) >= DEAD_PROBES:
            bad = set(sorted(bad)[:DEAD_PROBES - 1])
        raising = {p: "cannot parse" for p in bad}
    batch_size = draw(st.none() | st.integers(1, n + 1))
    return prompts, raising, batch_size


@settings(max_examples=300, deadline=None)
@given(failures())
def test_exactly_the_raising_prompts_are_errors_whatever_the_batch_size(case):
    prompts, raising, batch_size = case
    model = Scripted(raising, batch_size)
    out = model.generate([Request(p) for p in prompts])
    assert [r.error for r in out] == [f"ValueError: {raising[p]}" if p in raising else None for p in prompts]
    assert [r.text for r in out if r.error is None] == [p.upper() for p in prompts if p not in raising]
    assert_errors_are_their_own(model, prompts, out)


@pytest.mark.parametrize("n, batch_size", [(1000, None), (1000, 32), (5, None)])
def test_a_dead_model_is_asked_a_bounded_number_of_times_and_says_which_prompts_were_not_asked(n, batch_size):
    prompts = [f"p{i}" for i in range(n)]
    model = Scripted({p: "the GPU is gone" for p in prompts}, batch_size)
    out = model.generate([Request(p) for p in prompts])
    calls = -(-n // (batch_size or n))  # one whole call per batch, then its probes
    assert len(model.calls) <= calls * (1 + DEAD_PROBES)
    assert all(r.error.startswith("ValueError: the GPU is gone") for r in out)  # every one an error, saying why
    alone = [p for p, r in zip(prompts, out) if r.error == "ValueError: the GPU is gone"]
    assert len(alone) == min(n, calls * DEAD_PROBES)  # the probes: asked alone, each its own error
    assert all(r.error.endswith("(not asked alone: the whole call and 8 prompts asked alone all failed "
                                "with this error, as they do when the model is down or every prompt of the call "
                                "fails alike; a rerun asks it again)")
               for p, r in zip(prompts, out) if p not in alone)
    assert_errors_are_their_own(model, prompts, out)


def test_prompts_outside_a_call_that_broke_the_contract_do_not_carry_its_error():
    # p1 raises; a call of 2 to 4 prompts holding p6 answers nothing. By hand: the call of all 8 raises;
    # the probes ask p0 alone, which answers (not dead); the other 7 raise (p1); of their halves p1-p3
    # raises and p4-p7 breaks the contract, which ends the search. p1-p3 were never asked without p1 or
    # alone: they say so, and do not carry p4-p7's line (before: all of p0-p7 carried it).
    prompts = [f"p{i}" for i in range(8)]
    model = Scripted({"p1": "boom p1"}, breaks=frozenset({"p6"}), broken_below=5)
    out = model.generate([Request(p) for p in prompts])
    broke = "scripted returned 0 answers for 4 requests"
    unasked = f"not asked alone: another call of its batch broke the contract ({broke})"
    assert [r.error for r in out] == [None] + [unasked] * 3 + [broke] * 4
    assert out[0].text == "P0"
    assert_errors_are_their_own(model, prompts, out)


def test_completions_are_kept_whole_and_scored_cut_at_the_stop_string_and_choices_are_read_by_the_task(tmp_path):
    path = write_module(tmp_path, """
        def answer(prompts):
            return ["2 because\\nmore" if p.endswith("candidate_") else " 56\\nQ: next" for p in prompts]
    """)
    model = load_model(f"python:{path}:answer")
    mult, judge = get_task("multiplication"), get_task("judge")
    seven_by_eight = mult.instance(mult.Problem(7, 8), "m")
    chooser = judge.instance(judge.sample(0, 0), "j")
    gen, choice = model.generate([mult.request(seven_by_eight), judge.request(chooser)])
    assert gen.text == " 56\nQ: next" and choice.text == "2 because\nmore"  # as written: the cache keeps this
    assert choice.choice is None and choice.error is None  # no prefix reading in the adapter: the task reads
    records = evaluate(model, [seven_by_eight, chooser], "t")
    assert [(r.completion, r.parsed, r.status) for r in records][0] == (" 56\nQ: next", 56, "correct")
    assert records[1].parsed == 2


def test_a_non_string_completion_is_an_error_for_that_prompt_only(tmp_path):
    path = write_module(tmp_path, """
        def answer(prompts):
            return [None if p == "bad" else "ok" for p in prompts]
    """)
    out = load_model(f"python:{path}:answer").generate([Request("good"), Request("bad")])
    assert out[0].text == "ok" and out[0].error is None
    assert "returned NoneType" in out[1].error


def test_a_wrong_number_of_completions_is_one_error_line_for_every_prompt_of_the_call(tmp_path):
    # A broken contract for the whole call (issue 16): answered once, as errors, and the run goes on.
    path = write_module(tmp_path, """
        def answer(prompts):
            return ["x"]
    """)
    out = load_model(f"python:{path}:answer").generate([Request("a"), Request("b")])
    assert [r.error for r in out] == [f"python:{path}:answer returned 1 completion(s) for 2 prompts; "
                                      "it must return one string per prompt, in order"] * 2


def test_identity_changes_when_the_module_file_changes(tmp_path):
    body = 'def answer(prompts):\n    return ["%s" for _ in prompts]\n'
    path = tmp_path / "pipeline.py"
    path.write_text(body % "a")
    first = PythonModel(str(path) + ":answer").identity()
    assert first == PythonModel(str(path) + ":answer").identity()
    path.write_text(body % "b")
    second = PythonModel(str(path) + ":answer").identity()
    assert first != second and first.startswith(f"python:{path}:answer@")


@pytest.mark.parametrize("spec, words", [
    ("python:examples.flawed", "write python:MODULE:FUNCTION"),
    ("python:no_such_module_xyz:answer", "no module 'no_such_module_xyz'"),
    ("python:examples.flawed:no_such_function", "function 'no_such_function' not found in examples.flawed; "
                                                "callables there: e_blind, first_always, flawed"),
    ("python:./no/such/file.py:answer", "no file ./no/such/file.py"),
])
def test_what_cannot_be_found_is_a_one_line_model_error(spec, words):
    with pytest.raises(ModelError) as info:
        load_model(spec.replace("examples.flawed", str(FLAWED)) if "file" in words else spec)
    message = str(info.value)
    assert words in message and "\n" not in message


def test_a_module_that_fails_to_import_and_an_unknown_option_are_model_errors(tmp_path):
    path = write_module(tmp_path, "import no_such_dependency_xyz\n")
    with pytest.raises(ModelError, match="importing .* failed: ModuleNotFoundError"):
        load_model(f"python:{path}:answer")
    with pytest.raises(ModelError, match="unknown option.s. device; known: batch_size"):
        load_model(f"python:{FLAWED}:oracle", {"device": "cpu"})
    with pytest.raises(ModelError, match="batch_size must be a positive integer"):
        load_model(f"python:{FLAWED}:oracle", {"batch_size": "0"})


# ------------------------------------------------------------------------- cache identity: every local source


def local_package(root: Path) -> dict[str, Path]:
    """pipeline.py -> helper.py -> mylib/fmt.py (a package, relative import), a function-level import, and
    modules the function imports by a literal name while it runs (``importlib.import_module``, ``__import__``:
    plugin-style pipelines; a trial found their edits left the cache key as it was)."""
    (root / "mylib").mkdir()
    files = {
        "pipeline": write_module(root, """
            import importlib
            import json
            import helper

            def answer(prompts):
                from mylib import late
                suffix = importlib.import_module("mylib.suffix").SUFFIX + __import__("prefix").PREFIX
                return [late.wrap(helper.reply(p)) + suffix for p in prompts]
        """),
        "helper": write_module(root, """
            from mylib.fmt import fmt

            def reply(prompt):
                return fmt("56")
        """, name="helper"),
        "init": write_module(root / "mylib", "", name="__init__"),
        "fmt": write_module(root / "mylib", """
            from .style import SPACE

            def fmt(text):
                return SPACE + text
        """, name="fmt"),
        "style": write_module(root / "mylib", 'SPACE = " "\n', name="style"),
        "late": write_module(root / "mylib", "def wrap(text):\n    return text\n", name="late"),
        "suffix": write_module(root / "mylib", 'SUFFIX = ""\n', name="suffix"),
        "prefix": write_module(root, 'PREFIX = ""\n', name="prefix"),
    }
    return files


@pytest.fixture
def pipeline_dir(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(tmp_path))
    files = local_package(tmp_path)
    yield files
    for name in [n for n in sys.modules if n in ("helper", "pipeline", "prefix") or n.split(".")[0] == "mylib"]:
        del sys.modules[name]  # the next test's modules of the same names are other files


def test_the_sources_of_a_callable_are_every_local_file_it_imports(pipeline_dir):
    from oraclebench.models.pycall import local_sources

    model = PythonModel(f"{pipeline_dir['pipeline']}:answer")
    assert model.generate([Request("Q: What is 7 × 8? A:")])[0].text == " 56"
    # Transitively, relative and function-level imports too; json (the standard library) and the
    # packages installed in site-packages are not sources of the user's.
    assert set(local_sources(model.module)) == {str(p.resolve()) for p in pipeline_dir.values()}


@pytest.mark.parametrize("edited", ["helper", "fmt", "style", "late", "init", "suffix", "prefix"])
def test_identity_changes_when_any_local_module_the_callable_uses_changes(pipeline_dir, edited):
    spec = f"{pipeline_dir['pipeline']}:answer"
    first = PythonModel(spec).identity()
    assert PythonModel(spec).identity() == first
    path = pipeline_dir[edited]
    path.write_text(path.read_text() + "\n# fixed\n")
    assert PythonModel(spec).identity() != first


def test_a_module_imported_while_answering_by_a_computed_name_is_warned_about_once(tmp_path, monkeypatch, caplog):
    """Its name cannot be read from the source, and the identity was taken before the call: a later edit of
    that module would not ask again. The run says so (a literal name is read and keyed: see above)."""
    monkeypatch.syspath_prepend(str(tmp_path))
    write_module(tmp_path, "OFFSET = 0\n", name="computed_helper")
    write_module(tmp_path, """
        import importlib

        def answer(prompts):
            helper = importlib.import_module("computed_" + "helper")
            return [" 56" + "" * helper.OFFSET for _ in prompts]
    """, name="computed_pipeline")
    monkeypatch.delitem(sys.modules, "computed_helper", raising=False)
    model = PythonModel("computed_pipeline:answer")
    assert not any(s.endswith("computed_helper.py") for s in model.sources)
    with caplog.at_level("WARNING", logger="oraclebench.pycall"):
        model.generate([Request("Q: What is 7 × 8? A:")])
        model.generate([Request("Q: What is 7 × 8? A:")])
    said = [r.getMessage() for r in caplog.records if "computed_helper" in r.getMessage()]
    assert len(said) == 1 and "answer.version" in said[0]
    for name in ("computed_helper", "computed_pipeline"):
        sys.modules.pop(name, None)


def test_a_version_attribute_is_part_of_the_identity(tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "dont_write_bytecode", False)  # as Python is by default: __pycache__ written
    body = 'def answer(prompts):\n    return [" 56" for _ in prompts]\nanswer.version = "%s"\n'
    path = tmp_path / "pipeline.py"
    path.write_text(body % "2026-11-01")
    first = PythonModel(f"{path}:answer").identity()
    stat = path.stat()
    path.write_text(body % "2026-11-30")  # e.g. a remote model or a data file it reads changed
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # within the same second, as a quick edit is
    second = PythonModel(f"{path}:answer").identity()
    assert first != second and second.endswith("|version=2026-11-30")


@pytest.mark.slow  # three pytest subprocesses: a few seconds
def test_a_fixed_helper_module_is_asked_again_and_the_summary_says_what_came_from_the_cache(tmp_path):
    write_module(tmp_path, "def product(a, b):\n    return a * b + 1  # the bug\n", name="arith")
    pipeline = write_module(tmp_path, """
        import os, re, sys
        sys.path.insert(0, os.path.dirname(__file__))
        import arith

        def answer(prompts):
            pairs = [re.search(r"(\\d+) × (\\d+)", p).groups() for p in prompts]
            return [f" {arith.product(int(a), int(b))}\\n" for a, b in pairs]
    """)
    results = tmp_path / "results"
    cmd = [sys.executable, "-m", "pytest", "benchmark", "-q", "-p", "no:cacheprovider", "-m", "multiplication",
           "--fresh", "12", "--seed", "4", "--model", f"python:{pipeline}:answer", "--results", str(results)]

    def run() -> tuple[str, dict]:
        proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
        summary = json.loads((sorted((results / "runs").iterdir())[-1] / "summary.json").read_text())
        return proc.stdout, summary["tasks"]["multiplication"]["all"]

    out, first = run()
    assert "multiplication: 12 requests, 0 from the cache, 12 asked" in out and first["correct"] == 0
    out, again = run()  # nothing changed: every answer is replayed, and the summary says so
    assert "multiplication: 12 requests, 12 from the cache, 0 asked" in out and again["cached"] == 12
    (tmp_path / "arith.py").write_text("def product(a, b):\n    return a * b\n")  # the fix, in the helper only
    out, fixed = run()
    assert "multiplication: 12 requests, 0 from the cache, 12 asked" in out, out[-2000:]
    assert (fixed["correct"], fixed["cached"]) == (12, 0)


@pytest.mark.parametrize("spec_of", [lambda d: "pipe_twice:answer", lambda d: f"{d / 'pipe_twice.py'}:answer"],
                         ids=["module", "file"])
def test_the_identity_is_the_same_whether_the_manifest_was_read_before_loading(tmp_path, monkeypatch, spec_of):
    """The manifest is read before the model loads (``declared_manifest``: fresh draws drop its training
    problems). The identity counts what importing the module loaded, a helper imported by a computed
    name too: reading the manifest first must not hide that helper (its edits would then not reach
    the cache key), nor import a file twice."""
    from oraclebench.models.pycall import declared_manifest

    (tmp_path / "dyn_helper_twice.py").write_text("VALUE = 1\n")
    (tmp_path / "pipe_twice.py").write_text(textwrap.dedent("""
        import importlib
        importlib.import_module("dyn_helper_" + "twice")
        RUNS = [0]
        RUNS[0] += 1
        def answer(prompts):
            return [" 1" for _ in prompts]
        answer.manifest = {"task": "causal"}
    """))
    monkeypatch.syspath_prepend(str(tmp_path))
    spec = spec_of(tmp_path)

    def forget():
        for name in [m for m in sys.modules if "twice" in m or m.startswith("oraclebench_pycall_")]:
            monkeypatch.delitem(sys.modules, name)

    forget()
    loaded_alone = PythonModel(spec)
    forget()
    assert declared_manifest(spec) == {"task": "causal"}
    after_manifest = PythonModel(spec)
    assert after_manifest.identity() == loaded_alone.identity()
    assert any(source.endswith("dyn_helper_twice.py") for source in after_manifest.sources)
    assert after_manifest.module.RUNS == [1]  # executed once


def test_a_file_edited_within_its_timestamps_tick_is_imported_again(tmp_path, monkeypatch):
    """A file module is imported once per process (its manifest may be read before the model loads);
    an edit that keeps its size and modification time (a coarse clock, ``cp -p``) must still be seen,
    also where Python keeps bytecode in ``__pycache__`` (its default), which trusts time and size."""
    from oraclebench.models.pycall import declared_manifest

    monkeypatch.setattr(sys, "dont_write_bytecode", False)

    body = "def answer(prompts):\n    return [' {}' for _ in prompts]\nanswer.manifest = {{'task': 'causal'}}\n"
    path = write_module(tmp_path, body.format(1), name="edited")
    assert declared_manifest(f"{path}:answer") == {"task": "causal"}  # imported, for the model to use
    stat = path.stat()
    path.write_text(body.format(2), encoding="utf-8")
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    model = PythonModel(f"{path}:answer")
    assert model.fn(["x"]) == [" 2"]


def test_a_manifest_that_is_not_a_dict_is_a_one_line_error(tmp_path):
    path = write_module(tmp_path, """
        def answer(prompts):
            return [" 1" for _ in prompts]
        answer.manifest = ["multiplication"]
    """, name="listed")
    with pytest.raises(ModelError, match=r"answer\.manifest must be a dict .*not list"):
        PythonModel(f"{path}:answer")


def test_a_record_keeps_all_a_model_wrote_around_its_answer(tmp_path):
    """Thinking is not the answer, and is not lost: "stored whole, as the model wrote it" held only for
    the answer ('<think>maybe 6</think> 5' kept '5'; a block that never closed kept '': a trial)."""
    written = {0: "<think>maybe 6</think> 5\n", 1: "<think>hmm 1", 2: " 5\n"}
    path = write_module(tmp_path, f"""
        WRITTEN = {written!r}

        def answer(prompts):
            return [WRITTEN[i] for i in range(len(prompts))]
        answer.batch_size = 3
    """)
    insts = sample("multiplication", 3)
    records = evaluate(PythonModel(f"{path}:answer"), insts, "think")
    assert [r.completion for r in records] == ["5\n", "", " 5\n"]
    assert [r.detail.get("written") for r in records] == [written[0], written[1], None]
    assert [r.status for r in records][1] == "truncated"
    # A callable has no token budget: the reason must not send the user to an option python: refuses (a trial).
    assert records[1].reason.startswith("truncated: the answer ends inside a <think> block that never closed")
    assert "max_tokens" not in records[1].reason


def test_a_model_that_calls_os_exit_is_a_failed_request_not_a_run_that_ends_with_status_0(tmp_path):
    """os._exit in a python: model ended the process at once with exit status 0 and no results: a --gate run
    "passed" (review). It is refused in the model's thread: every prompt of the call is an error, the run goes on."""
    model = tmp_path / "exits.py"
    model.write_text("import os\n\ndef answer(prompts):\n    os._exit(0)\n")
    gates = tmp_path / "gates.toml"
    gates.write_text(f'["python:{model}:answer"]\nmultiplication = 0.9\n')
    proc = subprocess.run([sys.executable, "-m", "pytest", "benchmark", "-q", "-p", "no:cacheprovider", "-m",
                           "multiplication", "--limit", "5", "--model", f"python:{model}:answer", "--gate", str(gates),
                           "--results", str(tmp_path / "results"), "--no-cache"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1, proc.stdout[-2000:] + proc.stderr[-2000:]
    records = [json.loads(line) for run in (tmp_path / "results" / "runs").iterdir()
               for line in (run / "records.jsonl").read_text().splitlines()]
    assert len(records) == 5 and all("called os._exit(0)" in r["error"] for r in records)
