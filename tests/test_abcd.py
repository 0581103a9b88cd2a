"""The abcd oracle and task, as specifications: seed examples first, then properties."""

from __future__ import annotations

import itertools
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from oraclebench.oracles.abcd import (
    TraceVerdict,
    check_trace,
    format_program,
    normal_form,
    parse_program,
    reachable,
    redexes,
    step,
    step_count,
    successors,
    trace,
)
from oraclebench.tasks.abcd import TASK, AbcdConfig, AbcdProblem, max_completion_chars
from oraclebench.tasks.base import Response, TaskError

pytestmark = pytest.mark.abcd

RULES = {"A B": "", "A D": "D A", "C B": "B C", "C D": ""}
some = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def P(text: str) -> tuple[str, ...]:
    return parse_program(text)


def naive_normal_form(tokens: tuple[str, ...]) -> tuple[str, ...]:
    """Rewrite the text with the first rule that matches anywhere, until none does."""
    text = " " + " ".join(tokens) + " "
    while True:
        for lhs, rhs in RULES.items():
            if f" {lhs} " in text:
                text = text.replace(f" {lhs} ", f" {rhs} " if rhs else " ", 1)
                break
        else:
            return tuple(text.split())


def reachable_by_search(program: tuple[str, ...]) -> set[tuple[str, ...]]:
    """Every program some sequence of rewrites gives, breadth first."""
    seen, frontier = {program}, [program]
    while frontier:
        frontier = [nxt for cur in frontier for nxt in successors(cur) if nxt not in seen]
        seen.update(frontier)
    return seen


def random_reduction(data, program: tuple[str, ...]) -> list[tuple[str, ...]]:
    """A complete reduction choosing, at each step, a redex drawn by Hypothesis."""
    lines = [program]
    while found := redexes(lines[-1]):
        lines.append(step(lines[-1], data.draw(st.sampled_from(found))))
    return lines


def lines_of(program: tuple[str, ...]) -> list[str]:
    """The canonical trace as check_trace takes it: written lines, program not repeated."""
    return list(TASK.solve(AbcdProblem(program)))


# --------------------------------------------------------------------------- the seed's own cases


def test_both_spellings_read_as_the_same_program():
    assert P("A# #B B#") == ("A", "D", "C")
    assert P("A# #A B# #B") == P("A B C D") == ("A", "B", "C", "D")
    assert normal_form(P("A# #B B#")) == normal_form(P("A D C")) == ("D", "A", "C")
    assert P("(empty)") == P("  ") == ()


def test_an_unknown_token_is_named_in_the_error():
    with pytest.raises(ValueError, match="unknown token 'E' at position 2"):
        P("A B E")


def test_clevergpt_example_reduces_leftmost_first():
    assert [format_program(line) for line in trace(P("C A D B C"))] == ["C A D B C", "C D A B C", "A B C", "C"]


def test_a_deletion_at_the_end_is_applied_unlike_clevergpts_reducer():
    assert normal_form(P("C A B")) == ("C",)
    assert trace(P("C A B")) == [P("C A B"), P("C")]
    assert check_trace(P("C A B"), ["C"]).ok
    assert check_trace(P("C A B"), ["C A B"]) == TraceVerdict(False, 0, "wrong rewrite", False)


def test_a_step_elsewhere_than_a_redex_is_refused():
    assert step(P("B A")) is None
    with pytest.raises(ValueError, match="no rule applies at position 0"):
        step(P("B A"), 0)


def test_reachable_in_several_steps_is_told_apart_from_impossible():
    # from A D C B: D A B C takes two swaps; D C A B would need C to pass A, which no rule does
    assert check_trace(P("A D C B"), ["D A B C"]) == TraceVerdict(False, 0, "skipped steps", False)
    assert check_trace(P("A D C B"), ["D C A B"]) == TraceVerdict(False, 0, "wrong rewrite", False)
    # from A C D B the A B pair cannot go before the C D pair that sits between them
    assert not reachable(P("A C D B"), P("C D"))


def test_a_program_in_normal_form_is_answered_by_repeating_it():
    assert TASK.solve(AbcdProblem(P("D B A C"))) == ("D B A C",)
    assert check_trace(P("D B A C"), ["D B A C"]).ok
    assert check_trace(P("D B A C"), ["D B A C", "D B A C"]).reason == "wrong rewrite"
    assert check_trace(P("D B A C"), []) == TraceVerdict(False, 0, "stopped early", False)


def test_an_empty_result_is_written_empty():
    assert TASK.render_answer(AbcdProblem(P("A B")), TASK.solve(AbcdProblem(P("A B")))) == "= (empty)\n\n"
    assert check_trace(P("C A B D"), ["C D", "(empty)"]).ok


def test_normal_form_is_linear_on_a_long_program():
    alternating = ("A", "D") * 100_000
    assert normal_form(alternating) == ("D",) * 100_000 + ("A",) * 100_000
    nested = ("A",) * 100_000 + ("C", "D") + ("B",) * 100_000
    assert normal_form(nested) == ()


def test_the_budget_bound_is_met_by_ten_as_then_eleven_ds():
    program = ("A",) * 10 + ("D",) * 11
    assert step_count(program) == len(trace(program)) - 1 == 21 * 21 // 4
    completion = TASK.render_answer(AbcdProblem(program), TASK.solve(AbcdProblem(program)))
    assert len(completion) == max_completion_chars(21) <= TASK.render(AbcdProblem(program)).max_tokens


# --------------------------------------------------------------------------- the oracle's properties


@some
@given(TASK.strategy())
def test_normal_form_agrees_with_simulation(p):
    nf = normal_form(p.tokens)
    assert redexes(nf) == []
    assert nf == trace(p.tokens)[-1] == naive_normal_form(p.tokens)


@some
@given(TASK.strategy(), st.data())
def test_every_order_reaches_the_normal_form_in_the_same_number_of_steps(p, data):
    lines = random_reduction(data, p.tokens)
    assert lines[-1] == normal_form(p.tokens)
    assert len(lines) - 1 == step_count(p.tokens) == len(trace(p.tokens)) - 1
    assert step_count(p.tokens) <= len(p.tokens) ** 2 // 4


@some
@given(TASK.strategy(), st.data())
def test_check_trace_accepts_canonical_and_any_other_valid_order(p, data):
    assert check_trace(p.tokens, lines_of(p.tokens)) == TraceVerdict(True, None, "", True)
    other = random_reduction(data, p.tokens)[1:] or [p.tokens]
    assert check_trace(p.tokens, other).ok
    assert check_trace(p.tokens, [" ".join(line) for line in other]).ok


def traces_with_steps(min_steps: int):
    return TASK.strategy().filter(lambda p: len(trace(p.tokens)) > min_steps)


@some
@given(traces_with_steps(2), st.data())
def test_dropping_a_middle_line_is_skipped_steps_there(p, data):
    lines = lines_of(p.tokens)
    i = data.draw(st.integers(0, len(lines) - 2))
    assert check_trace(p.tokens, lines[:i] + lines[i + 1 :]) == TraceVerdict(False, i, "skipped steps", True)


@some
@given(traces_with_steps(1), st.data())
def test_truncating_is_stopped_early_at_the_last_line(p, data):
    lines = lines_of(p.tokens)
    keep = data.draw(st.integers(0, len(lines) - 1))
    assert check_trace(p.tokens, lines[:keep]) == TraceVerdict(False, max(keep - 1, 0), "stopped early", False)


@some
@given(traces_with_steps(1), st.data())
def test_wrong_rewrites_and_garbage_are_caught_at_their_line(p, data):
    lines = lines_of(p.tokens)
    i = data.draw(st.integers(0, len(lines) - 1))
    final_ok = i < len(lines) - 1
    # one token more than the line before changes the length by an odd number: never reachable
    odd = format_program(parse_program(lines[i]) + ("A",))
    assert check_trace(p.tokens, lines[:i] + [odd] + lines[i + 1 :]) == TraceVerdict(False, i, "wrong rewrite", final_ok)
    assert check_trace(p.tokens, lines[: i + 1] + lines[i:]) == TraceVerdict(False, i + 1, "wrong rewrite", True)
    assert check_trace(p.tokens, lines[:i] + ["A X B"] + lines[i + 1 :]) == TraceVerdict(False, i, "garbage", final_ok)


@settings(max_examples=40, deadline=None)
@given(TASK.strategy(AbcdConfig(1, 6)))
def test_reachable_agrees_with_search_on_reachable_programs_and_near_misses(p):
    found = reachable_by_search(p.tokens)
    near = set(found)
    for t in found:
        near |= {t[:i] + (t[i + 1], t[i]) + t[i + 2 :] for i in range(len(t) - 1)}  # any two swapped
        near |= {t[:i] + (x,) + t[i + 1 :] for i in range(len(t)) for x in "ABCD"}  # one token changed
    for t in near:
        assert reachable(p.tokens, t) == (t in found), (p.tokens, t)


def test_reachable_agrees_with_search_on_every_short_program():
    programs = {n: list(itertools.product("ABCD", repeat=n)) for n in range(5)}
    for n, sources in programs.items():
        for s in sources:
            found = reachable_by_search(s)
            for t in (t for m in range(n % 2, n + 1, 2) for t in programs[m]):
                assert reachable(s, t) == (t in found), (s, t)


# --------------------------------------------------------------------------- the task


@some
@given(TASK.strategy())
def test_oracle_answer_renders_parses_and_scores(p):
    answer = TASK.solve(p)
    text = TASK.render_answer(p, answer)
    assert TASK.parse(text, p) == answer
    assert text.endswith("\n\n") and text.count("\n\n") == 1
    assert len(text) <= max_completion_chars(len(p.tokens))
    assert len(text) < TASK.render(p).max_tokens  # the budget fits this program's own trace
    score = TASK.score(p, Response(text=text))
    assert score.correct and score.fields == {"final": True, "trace": True} and score.reason == ""
    assert TASK.decode(TASK.encode(p)) == p


def test_prompt_ends_with_the_program_and_stops_at_an_empty_line():
    request = TASK.render(AbcdProblem(P("C A D B C")))
    assert request.prompt.endswith("\n\nC A D B C\n")
    assert "A D  becomes  D A" in request.prompt
    assert request.stop == ("\n\n",)


def test_parse_tolerates_formatting_but_not_content():
    p = AbcdProblem(P("C A D B C"))
    assert TASK.parse("\n=  C D A B C =\r\n= A#  #A B#\n=C\n", p) == ("C D A B C", "A B C", "C")
    assert TASK.parse("= C D a B C\n= C\n", p) == ("C D a B C", "C")
    assert TASK.parse("  \n\n", p) is None


def test_the_trace_ends_at_its_stop_string_and_a_chat_answer_has_no_other_text():
    """The completion form is cut at its stop string (a blank line) before it is read; the chat form has none and
    asks for "the trace only ... and no other text": what it writes after a blank line is one more line, not a
    step (read as the first trace only, a trace withdrawn after "Wait, actually:" scored right; found by review)."""
    p = AbcdProblem(P("C A D B C"))
    run_on = "= C D A B C\n= A B C\n= C\n\nC A D B C\n= junk"
    assert TASK.assess(p, TASK.render(p), Response(text=run_on)).correct  # a base model running on: cut
    withdrawn = TASK.assess(p, TASK.render(p), Response(text="= C D A B C\n= A B C\n= C\n\nWait, actually:\n= C", stop=()))
    assert withdrawn.answer == ("C D A B C", "A B C", "C", "Wait, actually:") and not withdrawn.correct
    assert withdrawn.reason == "trace line 3 'Wait, actually:': garbage"
    assert TASK.assess(p, TASK.render(p), Response(text="= C D A B C\n= A B C\n= C\n\n", stop=())).correct


def test_scores_say_which_line_is_wrong_and_why():
    p = AbcdProblem(P("C A D B C"))
    skipped = TASK.score(p, Response(text="= C D A B C\n= C\n\n"))
    assert not skipped.correct and skipped.fields == {"final": True, "trace": False}
    assert skipped.reason == "trace line 1 'C': skipped steps" and skipped.detail["first_bad_line"] == 1
    early = TASK.score(p, Response(text="= C D A B C\n= A B C\n"))
    assert early.fields == {"final": False, "trace": True} and early.reason.endswith("stopped early")
    assert TASK.score(p, Response(text="")).answer is None
    failed = TASK.score(p, Response(error="timeout"))
    assert not failed.correct and failed.reason == "error: timeout"


def test_bucket_and_label():
    p = AbcdProblem(P("C A D B C"))
    assert TASK.bucket(p) == {"length": 5, "steps": 3}
    assert TASK.label(p) == "len05"


def test_heldout_lengths_from_manifest_and_spec():
    assert TASK.manifest_from_spec("lengths=1-12") == TASK.manifest_from_spec(" 1 - 12 ") == {"lengths": [1, 12]}
    assert TASK.manifest_from_spec("7") == {"lengths": [7, 7]}
    for bad in ("lengths=12-1", "sizes=1-12", "1-", "0-3"):
        with pytest.raises(TaskError, match="abcd: bad"):
            TASK.manifest_from_spec(bad)
    manifest = {"lengths": [1, 12]}
    assert TASK.split(AbcdProblem(("A",) * 12), manifest) == "seen"
    assert TASK.split(AbcdProblem(("A",) * 13), manifest) == "heldout"
    assert TASK.split(AbcdProblem(("A",) * 13), None) == "unknown"
    assert TASK.split(AbcdProblem(("A",) * 13), {}) == "seen"
    assert TASK.train_config(manifest) == AbcdConfig(1, 12)
    assert TASK.train_config(None) == AbcdConfig()


@some
@given(TASK.strategy(TASK.train_config({"lengths": [3, 9]})))
def test_training_problems_are_all_seen(p):
    assert TASK.split(p, {"lengths": [3, 9]}) == "seen"


def test_bad_knobs_are_named():
    with pytest.raises(TaskError, match="min_length=0"):
        TASK.config(min_length=0)
    with pytest.raises(TaskError, match="exceeds max_length"):
        TASK.config(min_length=9, max_length=3)
    with pytest.raises(TaskError, match="unknown option"):
        TASK.config(length=3)


def test_frozen_set_has_48_distinct_programs_per_length():
    frozen = TASK.frozen()
    assert len(frozen) == 4 + 16 + 48 * 19
    assert len({tuple(i.problem["tokens"]) for i in frozen}) == len(frozen)
    lengths = [i.bucket["length"] for i in frozen]
    assert {n: lengths.count(n) for n in (1, 2, 3, 21)} == {1: 4, 2: 16, 3: 48, 21: 48}
    assert all(set(i.label) <= set("len0123456789") for i in frozen)


def test_registry_invariant_on_the_frozen_set():
    for instance in TASK.frozen()[::5]:
        p = TASK.decode(instance.problem)
        assert TASK.decode(TASK.encode(p)) == p
        request = TASK.request(instance)
        text = TASK.render_answer(p, TASK.solve(p))
        assert len(text) <= request.max_tokens
        assert TASK.score(p, Response(text=text)).correct, instance.id


def test_the_pure_core_imports_neither_torch_nor_pytest():
    code = "import tasks.abcd, sys; assert 'torch' not in sys.modules and 'pytest' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
