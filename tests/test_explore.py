"""Counterexample search: flawed callables get their smallest failing instance, a correct one gets none.

"Smallest" is each task's documented measure, written out again here (``MEASURE``) so the expected
answer never comes from the search's own code: multiplication digits then value, abcd length then
letters, causal input vector order, judge steps, then template rank, then numbers.
"""

from __future__ import annotations

import itertools
import json
import shutil
import textwrap
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from oraclebench.models import load_model
from oraclebench.cache import ResponseCache
from oraclebench.cli import main
from oraclebench.explore import cases_path, explore
from oraclebench.records import read_records
from oraclebench.runner import evaluate
from oraclebench.tasks import get_task
from oraclebench.tasks.base import HypothesisDraw
from oraclebench.tasks.judge import Problem as JudgeProblem
from oraclebench.tasks.judge_templates import ERRORS, TEMPLATES, mutations, plain, question, work

ROOT = Path(__file__).resolve().parent.parent
FLAWED = ROOT / "examples" / "flawed.py"
REGIONS_FILE = ROOT / "tests" / "explore_regions.py"
pytest_plugins = ["pytester"]

# A wrapper module around examples/flawed.py that records every prompt the callable receives.
COUNTING = """
import sys, time
sys.path.insert(0, {root!r})
from examples import flawed
PROMPTS = []
CALLS = []
def {name}(prompts):
    CALLS.append(len(prompts))
    PROMPTS.extend(prompts)
    time.sleep({sleep})
    return flawed.{name}(prompts)
"""


def counting(tmp_path: Path, name: str, sleep: float = 0.0):
    path = tmp_path / f"counting_{name}.py"
    path.write_text(COUNTING.format(root=str(ROOT), name=name, sleep=sleep), encoding="utf-8")
    return load_model(f"python:{path}:{name}")


def wrong(model, task: str, problem) -> bool:
    t = get_task(task)
    return not evaluate(model, [t.instance(problem, "check")], "check")[0].correct


def problem_of(result):
    return get_task(result.task).decode(result.problem)


# --------------------------------------------------------------------------- the measures, written out

# Templates easiest first, by hand from tasks/judge_templates.py: fewest steps, then the sum of the
# lowest numbers, then those numbers in order (multiplication (2, 6, 2) and rates (6, 2, 2) both sum to 10).
EASIEST_TEMPLATES = ("multiplication", "rates", "change", "speed", "division", "addition", "percent", "average",
                     "subtraction", "money", "tickets", "farm")


def every_draw(generate):
    """Every value of ``generate(draw)`` over all the integers it can draw: depth first, lowest first."""
    picks: list[list[int]] = []  # [value, hi] of each draw, replayed in order
    while True:
        at = 0

        class Replay:
            def integer(self, lo, hi):
                nonlocal at
                if at == len(picks):
                    picks.append([lo, hi])
                at += 1
                return picks[at - 1][0]

        yield generate(Replay())
        del picks[at:]
        while picks and picks[-1][0] == picks[-1][1]:
            picks.pop()
        if not picks:
            return
        picks[-1][0] += 1


def smallest_multiplication(region):
    """(a, b) of the smallest problem in ``region``: fewest digits in all (1..5 each), then a, then b."""
    for total in range(2, 11):
        inside = [(a, b) for da in range(max(1, total - 5), min(5, total - 1) + 1)
                  for a in range(10 ** (da - 1), 10**da) for b in range(10 ** (total - da - 1), 10 ** (total - da))
                  if region(get_task("multiplication").Problem(a, b))]
        if inside:
            return min(inside)


def smallest_abcd(region):
    """The smallest program in ``region``: fewest tokens, then alphabetical."""
    for n in range(1, 22):
        for tokens in sorted(itertools.product("ABCD", repeat=n)):
            if region(get_task("abcd").Problem(tokens)):
                return tokens


def smallest_causal(region):
    return min(inputs for inputs in itertools.product((0, 1), repeat=5) if region(get_task("causal").Problem(inputs)))


def smallest_judge(region):
    """(template, numbers) of the smallest problem in ``region``: the first template of EASIEST_TEMPLATES
    with one, at its smallest numbers (sum, then in order). Error kind and argument do not count."""
    for name in EASIEST_TEMPLATES:
        t = TEMPLATES[name]
        numbers = lambda q: tuple(map(plain, q.values()))  # noqa: E731
        quantities = sorted(every_draw(t.draw), key=lambda q: (sum(numbers(q)), numbers(q)))
        for q in quantities:
            correct, answer = work(t, q)
            for error in ERRORS:
                for m in mutations(t, q, error):
                    p = JudgeProblem(name, tuple(map(plain, q.values())), question(t, q), plain(answer), correct,
                                     work(t, q, m)[0], error, "", False, False, False)
                    if region(p):
                        return name, p.numbers


SMALLEST = {"multiplication": smallest_multiplication, "abcd": smallest_abcd, "causal": smallest_causal,
            "judge": smallest_judge}
WHICH = {"multiplication": lambda p: (p.a, p.b), "abcd": lambda p: p.tokens, "causal": lambda p: p.inputs,
         "judge": lambda p: (p.template, tuple(p.numbers))}


def regions(name: str):
    model = load_model(f"python:{REGIONS_FILE}:{name}")
    task, region, _ = model.module.REGIONS[name]
    return model, task, region


# --------------------------------------------------------------------------- the smallest failure, every task


# proven: whether the default budget can prove it. a_two_digits_b_one's smallest, 10 x 1, lies after
# every 1x1 and 1x2 product (81 + 810 > 200); judge_speed's after every instance of three templates.
@pytest.mark.parametrize("name, seed, proven", [
    ("product_has_7", 0, True), ("b_multiple_of_11", 1, True), ("a_two_digits_b_one", 2, False),
    ("b_then_a", 3, True), ("d_d_long", 4, True), ("three_ones", 5, True), ("a_and_b", 6, True),
    ("judge_dropped", 7, True), ("judge_misread", 8, True), ("judge_speed", 9, False),
])
def test_the_smallest_failure_is_found_within_the_default_budget(name, seed, proven):
    model, task, region = regions(name)
    result = explore(model, task, seed=seed)
    assert result.found and result.calls <= 200
    p = problem_of(result)
    assert WHICH[task](p) == SMALLEST[task](region)
    assert wrong(model, task, p)
    assert result.proven is proven
    assert result.size == list(get_task(task).size(p))


def test_a_failure_in_a_smaller_digit_class_is_found_below_the_shrunk_one(tmp_path):
    # Seed 0 screens and shrinks to 3 x 9 = 27 (the kind: a 1x1 within reach of no shrink of 27).
    model, _, _ = regions("product_has_7")
    result = explore(model, "multiplication", seed=0)
    assert (problem_of(result).a, problem_of(result).b) == (1, 7)
    assert result.below == ["1x1: all 6 below answered right"]  # 1x1 .. 1x6, asked in order
    assert result.line().startswith("multiplication: minimal counterexample, proven (1x1; digits=2 a=1 b=7) after")
    assert result.record.reason.startswith(
        f"minimal counterexample, proven (digits=2 a=1 b=7) after {result.calls} calls: wrong product")


def test_the_output_says_best_found_when_smaller_instances_were_not_all_asked():
    model, _, _ = regions("a_two_digits_b_one")
    result = explore(model, "multiplication", seed=2)
    assert result.line().startswith(
        "multiplication: smallest counterexample found, not proven minimal (2x1; digits=3 a=10 b=1) after")
    assert result.below[0] == "1x1: all 81 below answered right" and result.below[1].startswith("1x2: ")
    abcd, _, _ = regions("b_then_a")
    assert "(len02; length=2 program='B A')" in explore(abcd, "abcd").line()


def test_no_proof_without_every_smaller_instance_answered(tmp_path):
    path = tmp_path / "raising.py"
    path.write_text(textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(ROOT / "tests")!r})
        from explore_regions import product_has_7
        def answer(prompts):
            if any("What is 1 × 3?" in p for p in prompts):
                raise RuntimeError("threes are not supported")
            return product_has_7(prompts)
    """))
    result = explore(load_model(f"python:{path}:answer"), "multiplication", seed=0)
    assert (problem_of(result).a, problem_of(result).b) == (1, 7) and not result.proven  # 1 x 3 is unknown
    assert result.line().startswith("multiplication: smallest counterexample found, not proven minimal")
    model = regions("b_multiple_of_11")[0]
    small = explore(model, "multiplication", seed=1, budget=60)
    assert not small.proven  # 1x1 alone is 81 problems
    if small.found:
        assert wrong(model, "multiplication", problem_of(small))


@pytest.mark.parametrize("task, config, space", [
    ("multiplication", {"a_digits": (1, 2), "b_digits": (1, 2), "omitted_pairs": ((1, 7), (12, 3))},
     lambda: {(a, b) for a in range(1, 100) for b in range(1, 100)} - {(1, 7), (7, 1), (12, 3), (3, 12)}),
    ("abcd", {"min_length": 2, "max_length": 4},
     lambda: {t for n in (2, 3, 4) for t in itertools.product("ABCD", repeat=n)}),
    ("causal", {"omitted": "0,0,1,1,1"}, lambda: set(itertools.product((0, 1), repeat=5)) - {(0, 0, 1, 1, 1)}),
])
def test_complete_strata_list_every_problem_once_in_size_order(task, config, space):
    t = get_task(task)
    strata = t.strata(t.config(**config))
    listed = [p for s in strata for p in s.problems()]
    assert all(s.complete for s in strata)
    assert [t.size(p) for p in listed] == sorted(t.size(p) for p in listed)  # strata in order, each in order
    assert len(listed) == len(space()) and {WHICH[task](p) for p in listed} == space()
    assert [s.count for s in strata] == [len(list(s.problems())) for s in strata]  # coverage counts by it


def test_judge_strata_are_templates_easiest_first_starting_at_their_lowest_numbers():
    judge = get_task("judge")
    strata = judge.strata(judge.Config(), like=None)
    assert [s.label for s in strata] == list(EASIEST_TEMPLATES) and not any(s.complete for s in strata)
    firsts = [next(iter(s.problems())) for s in strata]
    assert [judge.size(p) for p in firsts] == sorted(judge.size(p) for p in firsts)
    assert firsts[0].numbers == (2, 6, 2) and firsts[3].numbers == (10, 2, 3)  # multiplication, speed


@pytest.mark.parametrize("name", ["multiplication", "rates", "change", "speed", "division", "percent", "average",
                                  "money", "tickets"])  # the templates of at most 40,000 number draws
def test_a_judge_stratum_starts_at_the_templates_smallest_numbers(name):
    judge = get_task("judge")
    first = next(iter(next(s for s in judge.strata(judge.Config()) if s.label == name).problems()))
    every = [tuple(map(plain, q.values())) for q in every_draw(TEMPLATES[name].draw)]
    assert min(every, key=lambda n: (sum(n), n)) == first.numbers


# --------------------------------------------------------------------------- Hypothesis's own shrink


@pytest.mark.parametrize("condition, expected", [
    (lambda p: True, ("multiplication", (2, 6, 2), "slip")),
    (lambda p: p.error == "dropped", ("multiplication", (2, 6, 2), "dropped")),
    (lambda p: p.template in ("speed", "farm"), ("speed", (10, 2, 3), "slip")),
    (lambda p: p.error == "misread" and p.template != "multiplication", ("rates", (6, 2, 2), "misread")),
    (lambda p: len(p.numbers) == 4, ("money", (1, 0.25, 2, 2), "slip")),  # the easiest of three steps
])
def test_hypothesis_alone_shrinks_judge_to_the_easiest_template_then_its_lowest_numbers(condition, expected):
    from hypothesis import find, settings

    p = find(get_task("judge").strategy(), condition, settings=settings(database=None, derandomize=True))
    assert (p.template, p.numbers, p.error) == expected


@given(st.data())
def test_every_judge_example_is_padded_to_one_length(data):
    judge = get_task("judge")
    draw = HypothesisDraw(data.draw)
    judge.generate(draw, judge.Config())
    assert draw.drawn <= judge.search_choices  # so pad() makes them all as long


# --------------------------------------------------------------------------- the flawed regions


def test_multiplication_wrong_on_sevens_shrinks_to_one_digit_operands(tmp_path):
    model = counting(tmp_path, "seven_blind")
    result = explore(model, "multiplication", seed=0)
    p = problem_of(result)
    assert result.found and not result.record.correct
    assert "7" in f"{p.a}{p.b}"  # inside the region
    assert len(str(p.a)) + len(str(p.b)) == 2  # the fewest digits any problem has
    assert result.record.reason.startswith(
        f"minimal counterexample, proven (digits=2 a=1 b=7) after {result.calls} calls: wrong product")
    assert len(model.module.PROMPTS) == result.calls <= 200


def test_abcd_without_the_cd_rule_shrinks_to_c_d(tmp_path):
    model = load_model(f"python:{FLAWED}:no_cd")
    result = explore(model, "abcd", seed=1)
    tokens = problem_of(result).tokens
    assert result.found and len(tokens) == 2
    assert any(a == "C" and b == "D" for a, b in zip(tokens, tokens[1:]))  # a C D interaction
    # Minimal against the region: every shorter program is answered right.
    abcd = get_task("abcd")
    shorter = [abcd.Problem(t) for n in range(1, len(tokens)) for t in itertools.product("ABCD", repeat=n)]
    assert not any(wrong(model, "abcd", p) for p in shorter)


def test_causal_wrong_when_e_is_one_shrinks_to_no_other_ones(tmp_path):
    model = load_model(f"python:{FLAWED}:e_blind")
    result = explore(model, "causal", seed=2)
    inputs = problem_of(result).inputs
    assert result.found and inputs[4] == 1  # E = 1
    assert sum(inputs) == 1  # no other input is 1
    assert result.record.split == "unknown" and result.record.fields["newC"] is False  # python: has no training manifest


def test_judge_always_first_is_caught_where_candidate_two_is_right_with_no_other_flag_set():
    model = load_model(f"python:{FLAWED}:first_always")
    result = explore(model, "judge", seed=0)
    p = problem_of(result)
    assert result.found and result.record.parsed == 1 and result.record.expected == 2
    assert p.swapped  # the region: candidate 2 is the right one
    assert not p.argument_correct and not p.masked  # the other flags shrunk to their simplest


@pytest.mark.parametrize("task", ["abcd", "causal", "judge", "multiplication"])
def test_a_correct_callable_yields_no_counterexample_within_the_budget(tmp_path, task):
    model = counting(tmp_path, "oracle")
    result = explore(model, task, budget=40, seed=0)
    assert not result.found and result.record.correct and result.record.error is None
    assert result.record.reason.startswith(f"no counterexample in {result.calls} calls")
    assert len(model.module.PROMPTS) == result.calls <= 40
    assert len(set(model.module.PROMPTS)) == len(model.module.PROMPTS)  # no prompt asked twice
    assert result.stopped in ("budget", "exhausted")


# --------------------------------------------------------------------------- budget, cache, replay, seed


@pytest.mark.parametrize("budget", [1, 5, 20])
def test_the_call_budget_holds_while_shrinking(tmp_path, budget):
    model = counting(tmp_path, "seven_blind")
    result = explore(model, "multiplication", budget=budget, seed=0)
    assert len(model.module.PROMPTS) == result.calls <= budget
    if result.found:  # whatever was found within the budget is a real failure
        assert wrong(model, "multiplication", problem_of(result))


def test_the_time_budget_stops_the_search(tmp_path):
    model = counting(tmp_path, "oracle", sleep=0.3)
    result = explore(model, "abcd", budget=10_000, seconds=0.5, seed=0)
    assert result.stopped == "time" and not result.found
    assert len(model.module.CALLS) <= 3 and result.seconds < 5  # a loose bound: stopped, not timed


def test_cached_answers_are_free_and_give_the_same_counterexample(tmp_path):
    cache = ResponseCache(tmp_path / "cache.sqlite")
    first = explore(counting(tmp_path, "seven_blind"), "multiplication", cache=cache, seed=4)
    again = counting(tmp_path, "seven_blind")
    second = explore(again, "multiplication", cache=cache, seed=4)
    cache.close()
    assert first.calls > 0 and second.calls == 0 and again.module.PROMPTS == []
    assert second.record.prompt == first.record.prompt and second.cached == first.calls
    # Its line says what was checked, not only "0 calls" (which read as if nothing was: a trial).
    assert f"0 calls ({second.screened} problems checked, {second.cached} from the cache)" in second.line()


def test_the_same_seed_gives_the_same_search(tmp_path):
    runs = [explore(load_model(f"python:{FLAWED}:no_cd"), "abcd", seed=7) for _ in range(2)]
    assert runs[0].record.prompt == runs[1].record.prompt
    assert (runs[0].calls, runs[0].screened) == (runs[1].calls, runs[1].screened)


def test_a_found_counterexample_is_kept_and_replayed_first(tmp_path):
    results = tmp_path / "results"
    first = explore(counting(tmp_path, "seven_blind"), "multiplication", results=results, seed=0)
    kept = json.loads(cases_path(results, first.model, "multiplication").read_text())
    assert [c["prompt"] for c in kept["cases"]] == [first.record.prompt]
    assert kept["last"]["found"] is True
    model = counting(tmp_path, "seven_blind")
    second = explore(model, "multiplication", results=results, seed=123)
    assert model.module.PROMPTS == [first.record.prompt]  # the case, first and alone
    assert second.stopped == "replayed" and second.calls == 1 and not second.record.correct
    assert second.record.reason.startswith("counterexample replayed from an earlier explore")


def test_a_case_is_replayed_only_under_the_config_it_was_found_under_and_never_dropped(tmp_path):
    """A case found in 3x3 digits was given as the answer to a search over all digits (where 1 x 7 fails),
    "not re-checked for minimality"; one found over all digits lies outside a 3x3 search (a trial)."""
    results = tmp_path / "results"
    narrow = {"a_digits": (3, 3), "b_digits": (3, 3)}
    task = get_task("multiplication")
    first = explore(counting(tmp_path, "seven_blind"), task, config=task.config(**narrow), results=results, seed=0)
    assert first.found and first.size[0] == 6  # 3 + 3 digits
    wide = explore(counting(tmp_path, "seven_blind"), task, results=results, seed=0)
    assert wide.stopped != "replayed" and wide.proven and wide.record.prompt != first.record.prompt
    assert wide.size[0] < 6  # the smallest over all digits, not the 3x3 case
    again = explore(counting(tmp_path, "seven_blind"), task, config=task.config(**narrow), results=results, seed=5)
    assert again.stopped == "replayed" and again.record.prompt == first.record.prompt
    explore(counting(tmp_path, "seven_blind"), task, results=results, seed=0, replay=False)
    kept = json.loads(cases_path(results, first.model, "multiplication").read_text())["cases"]
    assert {c["prompt"] for c in kept} == {first.record.prompt, wide.record.prompt}  # --no-replay drops none


def test_request_errors_are_counted_apart_not_taken_for_counterexamples(tmp_path):
    path = tmp_path / "raising.py"
    path.write_text(textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(ROOT)!r})
        from examples.flawed import oracle
        def answer(prompts):
            if any("9" in p for p in prompts):
                raise RuntimeError("nines are not supported")
            return oracle(prompts)
    """))
    result = explore(load_model(f"python:{path}:answer"), "multiplication", budget=30, seed=0)
    assert not result.found and result.errors > 0
    assert "explore requests failed, e.g. RuntimeError: nines are not supported" in result.record.error


@given(st.data(), st.integers(0, 10**6), st.integers(0, 10**6))
def test_digit_by_digit_draws_stay_in_range(data, lo, span):
    assert lo <= HypothesisDraw(data.draw).integer(lo, lo + span) <= lo + span


# --------------------------------------------------------------------------- command line and plugin


def test_the_command_prints_one_line_per_task_and_exits_1_on_a_counterexample(tmp_path, capsys):
    args = ["--results", str(tmp_path), "--budget", "60"]
    assert main(["explore", "causal", "multiplication", "--model", f"python:{FLAWED}:flawed", *args]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("causal: minimal counterexample, proven (0,0,0,0,1; inputs='0,0,0,0,1') after")
    assert out[1].startswith("multiplication: minimal counterexample, proven (1x1; digits=2 a=1 b=7) after")
    assert main(["explore", "abcd", "--model", f"python:{FLAWED}:oracle", "--config", "max_length=3", *args]) == 0
    assert capsys.readouterr().out.startswith("abcd: no counterexample in")
    assert main(["explore", "abcd", "--model", "oracle", "--config", "colour=red"]) == 2
    assert "unknown option(s) colour" in capsys.readouterr().err
    # A pair in the form the knob's own error names ("a (lo, hi) pair") is taken, as [3, 3] is (a trial).
    for pair in ("(3,3)", "[3, 3]"):
        assert main(["explore", "multiplication", "--model", f"python:{FLAWED}:flawed", "--config", f"a_digits={pair}",
                     "--config", f"b_digits={pair}", *args, "--no-replay"]) == 1
        assert "digits=6" in capsys.readouterr().out


def test_pytest_explore_fails_each_task_on_its_minimal_instance_and_passes_the_oracle(pytester):
    pytest.importorskip("pandas")  # imported here once: a second in-process run cannot import numpy again
    shutil.copytree(ROOT / "benchmark", pytester.path / "benchmark",
                    ignore=shutil.ignore_patterns("sets", "__pycache__"))
    results = pytester.path / "results"
    common = ["-p", "oraclebench.plugin", "-p", "no:cacheprovider", "benchmark", "--results", str(results), "--explore"]
    flawed = pytester.runpytest(*common, "--model", f"python:{FLAWED}:flawed", "--budget", "80")
    flawed.assert_outcomes(failed=4)
    flawed.stdout.fnmatch_lines(["*abcd: minimal counterexample, proven (len02; length=2 program='C D') after * calls*: "
                                 "'C D' -> '= C D'*",
                                 "*reason:    minimal counterexample, proven (*) after * calls: *"])
    run = next((results / "runs").iterdir())
    records = {r.task: r for r in read_records(run)}
    assert set(records) == {"abcd", "causal", "judge", "multiplication"}
    assert all(not r.correct and r.reason.startswith("minimal counterexample") for r in records.values())
    assert records["causal"].prompt == "0,0,0,0,1"
    for task, record in records.items():  # each kept as a regression case, with the result
        kept = json.loads(cases_path(results, f"python:{FLAWED}:flawed", task).read_text())
        assert [c["prompt"] for c in kept["cases"]] == [record.prompt] and kept["last"]["found"]
    oracle = pytester.runpytest(*common, "--model", f"python:{FLAWED}:oracle", "--budget", "32")
    oracle.assert_outcomes(passed=4)
    oracle.stdout.fnmatch_lines(["*causal: no counterexample in 32 calls*"])
