"""Counterexample search: flawed callables get their minimal failing instance, a correct one gets none."""

from __future__ import annotations

import itertools
import json
import shutil
import textwrap
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from models import load_model
from oraclebench.cache import ResponseCache
from oraclebench.cli import main
from oraclebench.explore import DecimalDraw, cases_path, explore
from oraclebench.records import read_records
from oraclebench.runner import evaluate
from tasks import get_task

ROOT = Path(__file__).resolve().parent.parent
FLAWED = ROOT / "examples" / "flawed.py"
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


# --------------------------------------------------------------------------- the flawed regions


def test_multiplication_wrong_on_sevens_shrinks_to_one_digit_operands(tmp_path):
    model = counting(tmp_path, "seven_blind")
    result = explore(model, "multiplication", seed=0)
    p = problem_of(result)
    assert result.found and not result.record.correct
    assert "7" in f"{p.a}{p.b}"  # inside the region
    assert len(str(p.a)) + len(str(p.b)) == 2  # the fewest digits any problem has
    assert result.record.reason.startswith(f"minimal counterexample after {result.calls} calls: wrong product")
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
    assert result.record.split == "seen" and result.record.fields["newC"] is False


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
def test_decimal_draws_stay_in_range(data, lo, span):
    assert lo <= DecimalDraw(data.draw).integer(lo, lo + span) <= lo + span


# --------------------------------------------------------------------------- command line and plugin


def test_the_command_prints_one_line_per_task_and_exits_1_on_a_counterexample(tmp_path, capsys):
    args = ["--results", str(tmp_path), "--budget", "60"]
    assert main(["explore", "causal", "multiplication", "--model", f"python:{FLAWED}:flawed", *args]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("causal: minimal counterexample (0,0,0,0,1) after")
    assert out[1].startswith("multiplication: minimal counterexample (1x1) after")
    assert main(["explore", "abcd", "--model", f"python:{FLAWED}:oracle", "--config", "max_length=3", *args]) == 0
    assert capsys.readouterr().out.startswith("abcd: no counterexample in")
    assert main(["explore", "abcd", "--model", "oracle", "--config", "colour=red"]) == 2
    assert "unknown option(s) colour" in capsys.readouterr().err


def test_pytest_explore_fails_each_task_on_its_minimal_instance_and_passes_the_oracle(pytester):
    pytest.importorskip("pandas")  # imported here once: a second in-process run cannot import numpy again
    shutil.copytree(ROOT / "benchmark", pytester.path / "benchmark",
                    ignore=shutil.ignore_patterns("sets", "__pycache__"))
    results = pytester.path / "results"
    common = ["-p", "oraclebench.plugin", "-p", "no:cacheprovider", "benchmark", "--results", str(results), "--explore"]
    flawed = pytester.runpytest(*common, "--model", f"python:{FLAWED}:flawed", "--budget", "80")
    flawed.assert_outcomes(failed=4)
    flawed.stdout.fnmatch_lines(["*abcd: minimal counterexample (len02) after * calls*: 'C D' -> '= C D'*",
                                 "*reason:    minimal counterexample after * calls: *"])
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
