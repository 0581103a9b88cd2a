"""The judge task and its oracle: checking chains of thought, choosing between two of them, seed-004 CSVs."""

from __future__ import annotations

import collections
import csv
import itertools
import json
import re
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from oraclebench.oracles.judge import Verdict, claims, final_answer, judge
from oraclebench.tasks.base import Response, TaskError
from oraclebench.tasks.judge import (
    ALPACA, CSV_COLUMNS, TASK, TEMPLATE_NAMES, Config, Problem, argued, arguer_prompt, candidates, choice_prompt,
    load_csv, mask_argument,
)
from oraclebench.tasks.judge_templates import ERRORS, TEMPLATES, Mutation, work

pytestmark = pytest.mark.judge
pytest_plugins = ["pytester"]

SEED_QUESTION = (
    "Janet needs 5 tickets to ride the roller coaster and 3 tickets to ride the giant slide. How many tickets does "
    "she need to ride the roller coaster 7 times and the giant slide 4 times?"
)
SEED_CORRECT = (
    "Janet needs 5 tickets to ride the roller coaster and 3 tickets to ride the giant slide. To ride the roller "
    "coaster 7 times, she needs 7 x 5 = 35 tickets. To ride the giant slide 4 times, she needs 4 x 3 = 12 tickets. "
    "Therefore, Janet needs 35 + 12 = 47 tickets."
)
SEED_INCORRECT = (
    "Janet needs 5 tickets to ride the roller coaster once and 3 tickets to ride the giant slide once. Therefore, "
    "she needs 5 x 7 = 35 tickets to ride the roller coaster 7 times and 3 x 4 = 12 tickets to ride the giant slide "
    "4 times. In total, she needs 35 + 12 = 58 tickets."
)
SEED_ARGUMENT = (
    "Candidate 1 provides a more accurate answer because it takes into account the fact that Janet needs 5 tickets "
    "to ride the roller coaster and 3 tickets to ride the giant slide each time. Candidate 2 does not take this into "
    "account and therefore provides an incorrect answer."
)
IDENTIFIER = re.compile(r"candidate[\s_]*[12]", re.I)


# --------------------------------------------------------------------------- the seed's example


def test_the_seeds_correct_explanation_is_judged_correct_with_its_three_claims():
    v = judge(SEED_CORRECT, 47)
    assert v == Verdict(True, 47.0, v.claims, (), "")
    assert [(c.text, c.value, c.claimed, c.ok) for c in v.claims] == [
        ("7 x 5 = 35", 35, 35, True), ("4 x 3 = 12", 12, 12, True), ("35 + 12 = 47", 47, 47, True)]


def test_the_seeds_incorrect_explanation_is_wrong_because_35_plus_12_is_not_58():
    v = judge(SEED_INCORRECT, 47)
    assert not v.correct and v.final == 58.0
    assert [(c.text, c.value, c.claimed) for c in v.false_claims] == [("35 + 12 = 58", 47, 58)]
    assert "35 + 12 = 58" in v.reason and "\n" not in v.reason


def test_the_tickets_template_writes_the_seeds_correct_explanation_byte_for_byte():
    q = {"a": 5, "b": 3, "m": 7, "n": 4}
    assert work(TEMPLATES["tickets"], q) == (SEED_CORRECT, 47)
    slipped, final = work(TEMPLATES["tickets"], q, Mutation("slip", delta=Fraction(11)))
    assert final == 58 and slipped.endswith("Therefore, Janet needs 35 + 12 = 58 tickets.")


# --------------------------------------------------------------------------- answers as large models write them

STYLES = [
    ("gpt4-markdown", "To find the total number of tickets Janet needs, calculate each ride separately.\n\n"
     "1. **Roller coaster:** 7 rides × 5 tickets per ride = 35 tickets\n2. **Giant slide:** 4 rides × 3 tickets per "
     "ride = 12 tickets\n\n**Total:** 35 + 12 = **47 tickets**\n\nJanet needs **47 tickets**.", 47, True, 47, []),
    ("claude-bold-last-line", "Let me work through this step by step.\n\nRoller coaster: Janet rides 7 times at 5 "
     "tickets each, so she needs 7 × 5 = 35 tickets.\nGiant slide: she rides 4 times at 3 tickets each, so she needs "
     "4 × 3 = 12 tickets.\n\nAdding these together: 35 + 12 = 47\n\nJanet needs **47 tickets** in total.",
     47, True, 47, []),
    ("claude-headers", "## Solution\n\n**Step 1: Roller coaster tickets**\n7 rides × 5 tickets = 35 tickets\n\n"
     "**Step 2: Giant slide tickets**\n4 rides × 3 tickets = 12 tickets\n\n**Step 3: Total**\n35 + 12 = 47 tickets"
     "\n\n**Janet needs 47 tickets.**", 47, True, 47, []),
    ("latex-boxed", "The roller coaster needs $7 \\times 5 = 35$ tickets and the slide $4 \\times 3 = 12$ tickets.\n"
     "So the total is $35 + 12 = 47$.\n\n$$\\boxed{47}$$", 47, True, 47, []),
    ("latex-display-wrong", "\\[ 7 \\times 5 = 35 \\] \\[ 4 \\cdot 3 = 12 \\] \\[ 35 + 12 = 57 \\] "
     "The answer is \\(\\boxed{57}\\).", 47, False, 57, ["35 + 12 = 57"]),
    ("latex-frac-chain", "The average is $\\frac{81 + 75 + 90}{3} = \\frac{246}{3} = 82$.", 82, True, 82, []),
    ("dollars-each-side", "The ride pass costs $35 and the snacks cost $12, so she spends $35 + $12 = $47 in total.",
     47, True, 47, []),
    ("units-each-side", "5 tickets × 7 rides = 35 tickets, and 3 tickets × 4 rides = 12 tickets. Altogether "
     "35 tickets + 12 tickets = 47 tickets.", 47, True, 47, []),
    ("word-operators", "7 times 5 is 35, and 4 times 3 is 12. 35 plus 12 equals 47, so Janet needs 47 tickets.",
     47, True, 47, []),
    ("word-operators-wrong", "7 times 5 is 35, and 4 times 3 is 12. 35 plus 12 equals 57, so Janet needs 57 tickets.",
     47, False, 57, ["35 + 12 equals 57"]),
    ("multiplied-divided-by", "35 divided by 5 equals 7, and 7 multiplied by 6 gives 42. The answer is 42.",
     42, True, 42, []),
    ("llama-sure", "Sure! Here's the solution:\n\nJanet needs 5 tickets for the roller coaster, and she wants to ride "
     "it 7 times, so she needs 5 x 7 = 35 tickets.\nShe needs 3 tickets for the giant slide, and she wants to ride it "
     "4 times, so she needs 3 x 4 = 12 tickets.\nIn total, Janet needs 35 + 12 = 47 tickets.\n\nTherefore, the "
     "answer is 47.", 47, True, 47, []),
    ("gsm8k-calculator", "Janet needs 7*5=<<7*5=35>>35 tickets for the roller coaster.\nShe needs 4*3=<<4*3=12>>12 "
     "tickets for the slide.\nShe needs 35+12=<<35+12=47>>47 tickets.\n#### 47", 47, True, 47, []),
    ("markdown-bullets", "- Roller coaster: 7 × 5 = 35\n- Slide: 4 × 3 = 12\n- Total: 35 + 12 = 47", 47, True, 47, []),
    ("parentheses-chain", "Total tickets = (7 × 5) + (4 × 3) = 35 + 12 = 47.", 47, True, 47, []),
    ("precedence", "Let x be the number of tickets. Then x = 7 × 5 + 4 × 3 = 47.", 47, True, 47, []),
    ("precedence-wrong", "The total is 7 × 5 + 4 × 3 = 117.", 47, False, 117, ["7 × 5 + 4 × 3 = 117"]),
    ("running-total", "She needs 7 × 5 = 35 + 12 = 47 tickets.", 47, True, 47, []),
    ("running-total-wrong", "She needs 7 × 5 = 36 + 12 = 48 tickets.", 47, False, 48, ["7 × 5 = 36"]),
    ("thousands", "The company earns $1,200 per month, so in 12 months it earns $1,200 × 12 = $14,400. "
     "The answer is $14,400.", 14400, True, 14400, []),
    ("decimals", "Her speed is 150 ÷ 4 = 37.5 miles per hour. In 6 hours she rides 37.5 × 6 = 225 miles.\n\n"
     "**Answer: 225 miles**", 225, True, 225, []),
    ("cents", "Notebooks: 3 × $2.50 = $7.50. Pens: 2 × $1.25 = $2.50. Total: $7.50 + $2.50 = $10.00.",
     10, True, 10, []),
    ("percent-of", "20% of $80 is $16, so the sale price is $80 - $16 = $64.", 64, True, 64, []),
    ("percentage-points", "She got 15 of 60 questions wrong: 15/60 × 100 = 25%. So 25% of her answers were wrong.",
     25, True, 25, []),
    ("rounded-decimal", "Each person pays 100 / 3 ≈ 33.33 dollars, so the answer is 33.33.", 100 / 3, True,
     Fraction("33.33"), []),
    ("unicode-minus", "There are 120 − 40 = 80 liters left; at 5 liters per minute that takes 80 ÷ 5 = 16 minutes.",
     16, True, 16, []),
    ("restated-numbers-after", "7 × 5 = 35 and 4 × 3 = 12, and 35 + 12 = 47. Janet needs 47 tickets to ride the "
     "roller coaster 7 times and the giant slide 4 times.", 47, True, 47, []),
    ("right-steps-wrong-final", "7 × 5 = 35 and 4 × 3 = 12. So Janet needs 35 tickets.", 47, False, 35, []),
    ("wrong-step-right-final", "7 × 5 = 36 tickets for the coaster, 4 × 3 = 12 for the slide, so 35 + 12 = 47 "
     "tickets.", 47, False, 47, ["7 × 5 = 36"]),
    ("no-number", "I cannot determine how many tickets Janet needs.", 47, False, None, []),
]


@pytest.mark.parametrize("text,truth,correct,final,false", [s[1:] for s in STYLES], ids=[s[0] for s in STYLES])
def test_answers_in_large_model_styles_get_the_expected_verdict(text, truth, correct, final, false):
    v = judge(text, truth)
    assert (v.correct, v.final, [c.text for c in v.false_claims]) == (correct, final, false)
    assert (v.reason == "") == correct


def test_unsupported_forms_are_never_read_as_false_claims():
    # Numbers in words and "the sum of A and B" are not read: no claim, so nothing is called false.
    assert claims("The sum of 35 and 12 is 57.") == ()
    assert judge("Janet needs forty-seven tickets.", 47).final is None
    assert claims("She rode 7 times, 5 of them at night.") == ()
    assert claims("There are 2x + 3 = 7 solutions.") == ()  # 'x' beside a letter or operator is no times sign


def test_integer_results_are_exact_and_decimals_are_correctly_rounded():
    assert [c.ok for c in claims("10 / 4 = 2. 100/3 = 33. 100/3 is about 33. 2/3 = 0.67. 2/3 = 0.6")] == [
        False, False, True, True, False]  # 2/3 is 0.7 to one decimal
    assert judge("So the answer is 12.4.", 12.5).correct is False
    assert judge("So the answer is $12.50.", 12.5).correct is True


def test_the_final_answer_prefers_markers_to_the_last_number():
    assert final_answer("The answer is 47. Let me double-check with 11 rides.") == 47
    assert final_answer("Janet needs 35 + 12 = 47 tickets.\n#### 47") == 47
    assert final_answer("Therefore, she needs 35 + 12 = 47 tickets. She will enjoy her 11 rides!") == 47
    assert final_answer("She is 7 years old and has 12 apples") == 12  # no marker, no claim: the last number
    assert final_answer("The loss is -5 dollars in total.") == -5
    assert final_answer("The answer is 35 + 12 = 47.") == 47
    worked = "7 x 5 = 35, 4 x 3 = 12 and 35 + 12 = 47. "
    assert final_answer(worked + "Therefore, Janet needs 47 tickets, 35 for the coaster and 12 for the slide.") == 47
    assert final_answer(worked + "So, to ride the coaster 7 times and the slide 4 times, she needs 47 tickets.") == 47
    assert final_answer("7 x 5 = 35 and 4 x 3 = 12. She needs a total of 47 tickets (35 and 12 for the rides).") == 47


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(1, 60), min_size=2, max_size=4), st.lists(st.sampled_from("+-*/"), min_size=3, max_size=3),
       st.sampled_from(["x", "×", "*"]), st.integers(-3, 3))
def test_a_claim_is_true_iff_its_result_equals_the_expression_under_standard_precedence(nums, ops, times, off):
    ops = ops[: len(nums) - 1]
    exact = eval("".join(f"Fraction({n}){op}" for n, op in zip(nums, ops)) + f"Fraction({nums[-1]})")
    if exact.denominator != 1 or exact + off < 0:
        return
    shown = " ".join(f"{n} {times if op == '*' else op}" for n, op in zip(nums, ops)) + f" {nums[-1]}"
    (claim,) = claims(f"So {shown} = {exact + off} apples.")
    assert claim.ok == (off == 0) and claim.value == exact and claim.claimed == exact + off


# --------------------------------------------------------------------------- generated chains of thought


@settings(max_examples=150, deadline=None)
@given(TASK.strategy())
def test_every_generated_correct_answer_is_judged_correct_and_every_wrong_one_wrong(p):
    right, wrong = judge(p.correct, p.answer), judge(p.wrong, p.answer)
    assert right.correct, (p.correct, right.reason)
    assert not wrong.correct and wrong.final is not None and wrong.final != p.answer, p.wrong
    if p.error == "slip":  # the one false claim is the final step, which carries the final answer
        assert wrong.false_claims == (wrong.claims[-1],) and wrong.claims[-1].value == p.answer
        assert wrong.false_claims[0].claimed == wrong.final
    else:  # wrong operation, dropped or misread quantity: consistent arithmetic, wrong result
        assert wrong.false_claims == ()


@pytest.mark.parametrize("error", ERRORS)
@pytest.mark.parametrize("template", TEMPLATE_NAMES)
def test_every_template_makes_every_error_kind(template, error):
    for i in range(8):
        p = TASK.sample(i, 0, Config(templates=(template,), errors=(error,)))
        assert (p.template, p.error) == (template, error)
        assert p.correct != p.wrong and not judge(p.wrong, p.answer).correct


def test_there_are_at_least_twelve_templates_and_the_four_error_kinds():
    assert len(TEMPLATE_NAMES) >= 12
    assert ERRORS == ("slip", "operation", "dropped", "misread")


# --------------------------------------------------------------------------- prompts


@settings(max_examples=60, deadline=None)
@given(TASK.strategy())
def test_the_request_shows_both_explanations_verbatim_in_order_with_arguer_prompts(p):
    req = TASK.render(p)
    one, two = req.spans
    assert (one, two) == candidates(p) and {one, two} == {p.correct, p.wrong}
    assert 0 <= req.prompt.index(one) < req.prompt.index(two)
    assert req.choices == ("1", "2") and req.kind == "choice"
    assert req.span_prompts == (arguer_prompt(p.question), arguer_prompt(p.question))
    assert req.prompt.endswith("### Response:\nThe correct answer is candidate_")
    assert f"Question: {p.question}\ncandidate_1: {one}\ncandidate_2: {two}\nArgument: {p.argument}\n" in req.prompt
    assert choice_prompt(p) == req.prompt


def test_the_arguer_prompt_is_alpacas_with_the_question_as_instruction():
    assert arguer_prompt("Q?") == (
        "Below is an instruction that describes a task. Write a response that appropriately completes the request."
        "\n\n### Instruction:\nQ?\n\n### Response:\n")
    assert ALPACA.format(instruction="Q?") == arguer_prompt("Q?")


@settings(max_examples=60, deadline=None)
@given(TASK.strategy())
def test_arguments_name_the_candidate_they_argue_for_unless_masked(p):
    if p.masked:
        assert not IDENTIFIER.search(p.argument) and p.argument.startswith("Candidate _ provides")
    else:
        assert p.argument.startswith(f"Candidate {argued(p)} provides a more accurate answer because")
    assert argued(p) == (TASK.solve(p) if p.argument_correct else 3 - TASK.solve(p))


def test_masking_replaces_every_candidate_identifier():
    assert mask_argument(SEED_ARGUMENT).startswith("Candidate _ provides")
    assert not IDENTIFIER.search(mask_argument(SEED_ARGUMENT + " So candidate_2 is wrong, not candidate 1."))


# --------------------------------------------------------------------------- answers and scores


@settings(max_examples=40, deadline=None)
@given(TASK.strategy())
def test_render_answer_parses_back_to_the_solution(p):
    assert TASK.parse(TASK.render_answer(p, TASK.solve(p)), p) == TASK.solve(p)
    assert TASK.render_answer(p, TASK.solve(p)) in ("1", "2")


@pytest.mark.parametrize("text,chosen", [
    ("1", 1), ("2", 2), (" 2\n", 2), ("candidate_1", 1), ("Candidate 2", 2), ("2 because its steps add up", 2),
    ("The correct answer is candidate_2.", 2), ('"1"', 1), ("**2**", 2),
    ("12", None), ("3", None), ("one", None), ("", None), ("both", None), ("1.5", None),
])
def test_parse_reads_a_candidate_number_and_nothing_else(text, chosen):
    assert TASK.parse(text, TASK.sample(0, 0)) == chosen


def seed_problem(**change) -> Problem:
    fields = dict(template="tickets", numbers=(5, 3, 7, 4), question=SEED_QUESTION, answer=47, correct=SEED_CORRECT,
                  wrong=SEED_INCORRECT, error="slip", argument=SEED_ARGUMENT, argument_correct=True, masked=False,
                  swapped=False)
    return Problem(**{**fields, **change})


def test_score_reads_the_choice_index_and_reports_probabilities_and_argument_following():
    p = seed_problem(swapped=True, argument_correct=False)  # right answer second; the argument argues for 1
    s = TASK.score(p, Response(choice=0, scores=[-0.1, -2.4]))
    assert (s.correct, s.answer, s.expected, s.fields) == (False, 1, 2, {"choice": False})
    assert "35 + 12 = 58" in s.reason
    assert s.detail["p1"] == pytest.approx(0.909, abs=1e-3) and s.detail["p1"] + s.detail["p2"] == pytest.approx(1)
    assert s.detail["followed_argument"] is True and s.detail["argument_correct"] is False
    assert {k: s.detail[k] for k in ("masked", "template", "error")} == {"masked": False, "template": "tickets",
                                                                         "error": "slip"}
    json.dumps(s.__dict__)
    good = TASK.score(p, Response(text="2"))
    assert (good.correct, good.reason, good.detail["followed_argument"], good.detail["p1"]) == (True, "", False, None)


def test_score_counts_errors_and_unreadable_answers_apart():
    p = seed_problem()
    assert TASK.score(p, Response(error="timeout")).reason == "error: timeout"
    s = TASK.score(p, Response(text="I think neither"))
    assert (s.correct, s.answer, s.detail["followed_argument"]) == (False, None, None)
    assert s.reason.startswith("no answer")


# --------------------------------------------------------------------------- a user's CSV (the seed's columns)


def write_csv(path, rows, columns=CSV_COLUMNS):
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=columns)
        w.writeheader()
        w.writerows(rows)
    return path


SEED_ROW = {
    # As the seed's datagen writes it: answers are numbers, arguments the explanations, newlines escaped.
    "Question": SEED_QUESTION, "Correct Answer": "47.0", "Correct Argument": SEED_CORRECT,
    "Incorrect Answer": "58.0", "Incorrect Argument": SEED_INCORRECT.replace(" In total", "\\nIn total"),
    "Choice Answer": "candidate_1", "Choice Argument": SEED_ARGUMENT, "Choice Answers Swapped": "False",
}


def test_the_seed_row_loads_as_a_judge_problem(tmp_path):
    readme_style = {**SEED_ROW, "Correct Answer": SEED_CORRECT, "Correct Argument": "", "Choice Answer": "candidate_2",
                    "Choice Answers Swapped": "True"}  # the README shows the explanation as the answer
    (p, q) = load_csv(write_csv(tmp_path / "d.csv", [SEED_ROW, readme_style]))
    assert p == seed_problem(template="csv", numbers=(), error="unknown", wrong=p.wrong)
    assert p.wrong == SEED_INCORRECT.replace(" In total", "\nIn total")
    assert TASK.solve(p) == 1 and argued(p) == 1 and TASK.label(p) == "csv-unknown-argT"
    assert (q.answer, q.correct, q.swapped, q.argument_correct, TASK.solve(q)) == (47, SEED_CORRECT, True, True, 2)
    assert TASK.score(p, Response(text="1")).correct and TASK.decode(json.loads(json.dumps(TASK.encode(q)))) == q


def test_csv_arguments_can_be_masked_and_csv_problems_are_heldout_under_a_manifest(tmp_path):
    (p,) = load_csv(write_csv(tmp_path / "d.csv", [SEED_ROW]), masked=True)
    assert p.masked and not IDENTIFIER.search(p.argument)
    assert TASK.split(p, None) == "unknown" and TASK.split(p, TASK.manifest_from_spec("errors=slip")) == "heldout"


def test_bad_csvs_say_what_is_wrong(tmp_path):
    with pytest.raises(TaskError, match="lacks column.*Choice Answers Swapped"):
        load_csv(write_csv(tmp_path / "a.csv", [], columns=CSV_COLUMNS[:-1]))
    with pytest.raises(TaskError, match="row 2.*Choice Answer"):
        load_csv(write_csv(tmp_path / "b.csv", [{**SEED_ROW, "Choice Answer": "candidate_3"}]))
    with pytest.raises(TaskError, match="row 2.*no number"):
        load_csv(write_csv(tmp_path / "c.csv", [{**SEED_ROW, "Correct Answer": "n/a"}]))


# --------------------------------------------------------------------------- splits, specs, configs


def test_spec_examples():
    m = TASK.manifest_from_spec("templates=tickets,money;errors=slip,operation")
    assert m == {"templates": ["tickets", "money"], "errors": ["slip", "operation"]}
    assert TASK.manifest_from_spec("errors=slip") == {"templates": list(TEMPLATE_NAMES), "errors": ["slip"]}
    assert TASK.split(seed_problem(), m) == "seen"
    assert TASK.split(seed_problem(error="misread"), m) == "heldout"
    assert TASK.split(seed_problem(template="farm"), m) == "heldout"
    assert TASK.split(seed_problem(template="farm"), None) == "unknown"
    assert TASK.split(seed_problem(template="farm"), {}) == "seen"
    assert TASK.split(seed_problem(template="farm"), {"errors": ["slip"]}) == "seen"  # no templates key: all seen


@pytest.mark.parametrize("spec,message", [
    ("", "empty spec"), ("templates=tickets;templates=money", "twice"), ("kinds=slip", "bad spec part"),
    ("errors=typo", "unknown errors typo"), ("templates=", "non-empty"), ("tickets", "bad spec part"),
])
def test_malformed_specs_are_task_errors(spec, message):
    with pytest.raises(TaskError, match=message):
        TASK.manifest_from_spec(spec)


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_training_draws_only_what_the_manifest_saw(data):
    templates = data.draw(st.lists(st.sampled_from(TEMPLATE_NAMES), min_size=1, unique=True))
    errors = data.draw(st.lists(st.sampled_from(ERRORS), min_size=1, unique=True))
    manifest = TASK.manifest_from_spec(f"templates={','.join(templates)};errors={','.join(errors)}")
    p = data.draw(TASK.strategy(TASK.train_config(manifest)))
    assert TASK.split(p, manifest) == "seen"


@pytest.mark.parametrize("knobs,message", [
    ({"templates": ("nope",)}, "unknown templates nope"), ({"templates": ()}, "non-empty"),
    ({"errors": ("typo",)}, "unknown errors"), ({"masked": "yes"}, "masked='yes' must be True, False or None"),
    ({"colour": 1}, "unknown option"),
])
def test_bad_knobs_are_task_errors(knobs, message):
    with pytest.raises(TaskError, match=message):
        TASK.config(**knobs)


def test_knobs_fix_what_they_name():
    c = TASK.config(templates="money,percent", errors=["dropped"], argument_correct=False, masked=True, swapped=True)
    for i in range(10):
        p = TASK.sample(0, i, c)
        assert p.template in ("money", "percent") and p.error == "dropped"
        assert (p.argument_correct, p.masked, p.swapped, TASK.solve(p)) == (False, True, True, 2)


# --------------------------------------------------------------------------- the frozen set and the registry invariant


@pytest.fixture(scope="module")
def frozen():
    return TASK.frozen()


def test_the_frozen_set_is_576_instances_balanced_over_its_strata(frozen):
    assert len(frozen) == 576 and len({i.id for i in frozen}) == 576
    strata = collections.Counter(tuple(i.bucket.values()) for i in frozen)
    assert len(strata) == 12 * 4 * 2 * 2 and set(strata.values()) == {3}
    assert collections.Counter(i.problem["swapped"] for i in frozen) == {False: 288, True: 288}
    assert len({json.dumps(i.problem, sort_keys=True) for i in frozen}) == 576
    assert TASK.sample(0, 7) == TASK.sample(0, 7)  # problem i depends on Random(seed + i) alone


# What the splits, the summary and judge_report cut the set by (the bucket's keys).
AXES = ("template", "error", "argument_correct", "masked")
# The judge-transplant recipe's manifest (training.judge.DEFAULT_SEEN), trained without masking.
RECIPE_SPLIT = {"templates": ["tickets", "addition", "subtraction", "multiplication", "division", "rates", "money",
                              "percent", "average"], "errors": ["slip", "operation", "dropped"], "masked": False}


def _as_even_as_it_can_be(cells: dict) -> dict:
    """The cells (key -> [instances, right answers as candidate 2]) whose candidate-2 share is not a half,
    or one off it in a cell of odd size: a constant answer ("1") scores exactly that share's complement."""
    return {key: (n, second) for key, (n, second) in cells.items() if abs(2 * second - n) > 1}


def _position_cells(frozen, key) -> dict:
    cells: dict = collections.defaultdict(lambda: [0, 0])
    for inst in frozen:
        cells[key(inst)][0] += 1
        cells[key(inst)][1] += TASK.solve(TASK.decode(inst.problem)) == 2
    return cells


def test_the_right_answers_position_is_balanced_within_every_combination_of_the_sets_axes(frozen):
    """Half the right answers are candidate 2 in every cell of every combination of template, error
    kind, argument right/wrong and masking (a cell of one stratum, 3 instances, is 2:1 either way).
    It was 2:1 within each masking (found by a trial): a model answering "1" always scored 66.7% on
    unmasked and 33.3% on masked arguments, and 66.7% seen against 43.5% held out."""
    for k in range(1, len(AXES) + 1):
        for axes in itertools.combinations(AXES, k):
            cells = _position_cells(frozen, lambda inst, axes=axes: tuple(inst.bucket[a] for a in axes))
            assert _as_even_as_it_can_be(cells) == {}, axes


@pytest.mark.parametrize("masked", [False, True], ids=["unmasked", "masked"])
def test_the_right_answers_position_is_balanced_within_each_split_of_the_recipes_manifest(frozen, masked):
    """Seen and held out under the recipe's manifest, alone and by each axis judge_report cuts them by."""
    manifest = {**RECIPE_SPLIT, "masked": masked}
    for axis in (None, *AXES):
        def key(inst, axis=axis):
            split = TASK.split(TASK.decode(inst.problem), manifest)
            return (split,) if axis is None else (split, inst.bucket[axis])
        assert _as_even_as_it_can_be(_position_cells(frozen, key)) == {}, axis


def test_a_model_that_always_answers_1_scores_half_in_every_split_and_masking(bench, pytester):
    """The trial's reproducer: a constant "1" with the recipe's manifest (trained on unmasked arguments,
    so masked ones are held out) read as 66.7% unseen and 43.5% held out, 33.3% masked and 66.7%
    unmasked, and judge_report said it "beats the argument base rate, p=0.0018" on seen templates. It
    reads nothing, so it is at chance in every split: the set has as many right answers in each position
    there (``test_the_right_answers_position_is_balanced_within_each_split_of_the_recipes_manifest``)."""
    from oraclebench.judge_report import judge_analysis, render_markdown
    from oraclebench.records import list_runs, read_records

    data = {"stream": "train", "seed": 0, "count": 150, "split": RECIPE_SPLIT, "config": {"masked": False}}
    manifest = {"name": "judge-transplant", "task": "judge", "split": RECIPE_SPLIT, "training_data": data}
    pytester.makepyfile(always_one=f"def one(prompts):\n    return ['1' for _ in prompts]\none.manifest = {manifest!r}\n")
    bench("--model", "python:always_one:one", "-m", "judge", "-q", "--no-cache")
    summary = list_runs(pytester.path / "results")[-1]
    cells = summary["tasks"]["judge"]
    assert (cells["unseen"]["n"], cells["heldout"]["n"]) == (162, 414)  # 9 x 3 x 2 x 3 unmasked seen strata
    assert {split: cells[split]["accuracy"] for split in ("all", "unseen", "heldout")} == \
        {"all": 0.5, "unseen": 0.5, "heldout": 0.5}
    analysis = judge_analysis(read_records(Path(summary["path"])))
    masking = {(split, kind): metrics[kind]["p"] for split, metrics in analysis["splits"].items()
               for kind in ("accuracy_masked", "accuracy_unmasked") if metrics[kind]["n"]}
    assert masking == {("all", "accuracy_masked"): 0.5, ("all", "accuracy_unmasked"): 0.5,  # seen: unmasked only
                       ("seen", "accuracy_unmasked"): 0.5,
                       ("heldout", "accuracy_masked"): 0.5, ("heldout", "accuracy_unmasked"): 0.5}
    assert "does not beat the argument base rate (50.0% vs 50.0%" in render_markdown(analysis)
    assert " beats the argument base rate" not in render_markdown(analysis)


def test_labels_are_test_id_safe(frozen):
    assert all(re.fullmatch(r"[A-Za-z0-9_,x-]+", i.label) for i in frozen)
    assert TASK.label(seed_problem(masked=True, argument_correct=False)) == "tickets-slip-argF-m"


def _invariant(p: Problem) -> None:
    answer = TASK.solve(p)
    assert TASK.score(p, Response(choice=answer - 1)).correct
    assert TASK.score(p, Response(text=TASK.render_answer(p, answer))).correct
    assert TASK.decode(TASK.encode(p)) == p == TASK.decode(json.loads(json.dumps(TASK.encode(p))))


def test_registry_invariant_on_the_frozen_set(frozen):
    for inst in frozen[::7]:
        p = TASK.decode(inst.problem)
        _invariant(p)
        assert TASK.request(inst).spans == candidates(p)


@settings(max_examples=40, deadline=None)
@given(TASK.strategy())
def test_registry_invariant_on_the_strategy(p):
    _invariant(p)


def test_the_pure_core_imports_neither_torch_nor_pytest():
    code = "import tasks.judge, sys; assert 'torch' not in sys.modules and 'pytest' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_surface_shortcuts_decide_the_error_kinds_they_target_so_a_score_is_read_against_them():
    """``examples/judge_shortcuts.py``: a ``dropped`` error leaves a step out (the wrong candidate is the
    shorter), a ``slip`` writes a false ``a op b = c`` claim. A judge score near theirs shows no judging."""
    from examples.judge_shortcuts import longer, shortcuts, true_claims
    from oraclebench.sets import load_set

    by_error = collections.defaultdict(list)
    for inst in load_set("judge"):
        by_error[inst.bucket["error"]].append(inst)

    def right(answer, insts):
        return sum(a.strip() == str(TASK.solve(TASK.decode(i.problem)))
                   for a, i in zip(answer([TASK.render(TASK.decode(i.problem)).prompt for i in insts]), insts))

    assert right(longer, by_error["dropped"]) == len(by_error["dropped"]) > 0
    assert right(true_claims, by_error["slip"]) == len(by_error["slip"]) > 0
    everything = [i for insts in by_error.values() for i in insts]
    assert right(shortcuts, everything) > 0.7 * len(everything)  # far from the 50% of a coin
    with pytest.raises(ValueError, match="not a judge prompt"):
        longer(["Q: What is 7 × 8? A:"])
