"""Properties of the judge oracle: it never raises, texts of true claims are correct, one changed result
is named; inputs that used to crash or stall it; seed-004 CSV answers with signs and fractions."""

from __future__ import annotations

import csv
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from oraclebench.oracles.judge import MAX_DIGITS, claims, final_answer, judge
from oraclebench.tasks.judge import CSV_COLUMNS, TASK, candidates, load_csv

pytestmark = pytest.mark.judge

# --------------------------------------------------------------------------- totality

FRAGMENTS = [
    "9" * 5000, "1" * 400, "0." + "0" * 2000 + "1", "(" * 400, ")" * 400, "\\frac{", "\\dfrac{", "}", "{", "\\boxed{",
    "**", "__", "$", "$$", "=", "≈", " is ", " about ", " x ", "×", "/", " / ", "-", "−", "%", "^", "^{", "\\sqrt{",
    "0", "7", ".", ",", "\n", "####", "The answer is ", "½", "2 1/2", "1,000", "⟦", "⟧", "⟂", "\\", "\\times",
    " times ", " half of ", " twice ", "<<", ">>", "\ud800", "\udfff", "\x00", "~", "÷", " of ", "12.5", "-3",
]
ALPHABET = st.one_of(st.characters(), st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF, exclude_categories=()))
TEXTS = st.one_of(
    st.text(ALPHABET, max_size=300),
    st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(ALPHABET, max_size=8)), max_size=40).map("".join),
)


@settings(max_examples=400, deadline=None)
@given(TEXTS, st.sampled_from([47, -5, 0.75, Fraction(1, 3), 10 ** 400, float("nan")]))
def test_the_oracle_never_raises_and_always_gives_a_verdict(text, truth):
    v = judge(text, truth)
    assert isinstance(v.correct, bool) and isinstance(v.reason, str) and "\n" not in v.reason
    assert v.correct == (v.reason == "")
    assert all(c.ok for c in v.claims if c not in v.false_claims)
    assert claims(text) == v.claims and final_answer(text) == v.final


@pytest.mark.parametrize("text", [
    "9" * 400 + " x 2 = 1",  # 309+ digits overflowed floats
    "The answer is " + "9" * 5000,  # 4300+ digits hit int()'s limit
    "(" * 2000 + "1 + 2" + ")" * 2000 + " = 3",  # ~300 nested parentheses hit the recursion limit
    "(" * 100_000 + "2 + 3 = 5",
    "2^64^64^64 = 5 and 10^4000 = 1",
    "\\frac{" * 3000 + "1" + "}{2}" * 3000 + " = 0",
    "**" * 10_000 + "7 × 5 = 35",
    "1/" * 5000 + "1 = 1",
    " + ".join(["1" * 900] * 50) + " = 5",
    "\ud800 7 × 5 = 35 \udfff",
    "1" + ",234" * 25_000 + ",5678 = 1",  # a thousands pattern that fails late backtracked over the text
    "0E0,000",  # a number in scientific notation is a fraction: no thousands groups join onto it (Hypothesis)
    "x = 1E3 000 = 1000",
])
def test_inputs_that_crashed_or_stalled_it_get_a_verdict(text):
    v = judge(text, 47)
    assert isinstance(v.correct, bool)


def test_deep_parentheses_are_read_without_recursion():
    assert [(c.text, c.ok) for c in claims("(" * 5000 + "1 + 2" + ")" * 5000 + " = 3")] == [
        ("(" * 5000 + "1 + 2" + ")" * 5000 + " = 3", True)]
    assert [(c.text, c.ok) for c in claims("(" * 5000 + "2 + 3 = 6")] == [("2 + 3 = 6", False)]


def test_huge_numbers_are_exact_up_to_the_bound_and_unreadable_past_it():
    big = 10 ** (MAX_DIGITS - 1)
    (claim,) = claims(f"{big} x 3 = {3 * big}")
    assert claim.ok and claim.value == 3 * big
    assert claims(f"{big * 10} x 3 = 1") == ()  # MAX_DIGITS + 1 digits: not read, so not called false
    v = judge(f"The answer is {big * 10}.", big * 10)
    assert (v.correct, v.final) == (False, None) and "unreadable" in v.reason


# --------------------------------------------------------------------------- texts built from claims

OPERATORS = {"+": ["+", "plus"], "-": ["-", "minus"], "*": ["x", "×", "*", "times"], "/": ["/", "÷", "divided by"]}
LABELS = ["", "So ", "Then ", "Week {k} is ", "In {k} hours she makes ", "Step {k}: ", "The {k} bags hold ",
          "Over {k} days that is ", "A {k}% tip is ", "Day {k}: she has "]
UNITS = ["", " dollars", " tickets", " apples in all"]


@st.composite
def arithmetic(draw):
    """One expression: its numbers and operators, and its exact value under standard precedence."""
    nums = draw(st.lists(st.integers(1, 999), min_size=2, max_size=4))
    ops = draw(st.lists(st.sampled_from("+-*/"), min_size=len(nums) - 1, max_size=len(nums) - 1))
    value = eval("".join(f"Fraction({n}){op}" for n, op in zip(nums, ops)) + f"Fraction({nums[-1]})")
    return nums, ops, value


def written(value: Fraction) -> str:
    """The result as a person writes it: whole, an exact short decimal, or rounded to 2 decimals."""
    if value.denominator == 1:
        return str(value.numerator)
    if (value * 100).denominator == 1:
        return f"{float(value):.2f}".rstrip("0")
    cents = (abs(value) * 100 + Fraction(1, 2)).__floor__()  # half away from zero
    return ("-" if value < 0 else "") + f"{cents // 100}.{cents % 100:02d}"


@st.composite
def claim_text(draw):
    """A chain of thought of 1-6 true claims in mixed styles, ending with the last result as the answer."""
    parts = []
    for _ in range(draw(st.integers(1, 6))):
        nums, ops, value = draw(arithmetic())
        words = [draw(st.sampled_from(OPERATORS[op])) for op in ops]
        relation = draw(st.sampled_from(["=", "equals", "is"]))
        latex = relation == "=" and all(op in "+-*" for op in ops) and draw(st.booleans())
        money = value >= 0 and not latex and all(op in "+*/" for op in ops) and draw(st.booleans())
        cur = "$" if money else ""
        shown = " ".join(f"{cur}{n} {w}" for n, w in zip(nums, words)) + f" {cur}{nums[-1]}"
        if latex:
            shown = shown.replace("×", "\\times").replace(" x ", " \\times ")
        label = draw(st.sampled_from(LABELS)).format(k=draw(st.integers(1, 12)))
        parts.append((label, shown, relation, cur, value, draw(st.sampled_from(UNITS)), latex))
    return parts


def render(parts, results) -> str:
    sentences = []
    for (label, shown, relation, cur, _, unit, latex), result in zip(parts, results):
        claim = f"{shown} {relation} {cur}{result}"
        sentences.append(f"{label}${claim}${unit}." if latex else f"{label}{claim}{unit}.")
    return " ".join(sentences) + f" The answer is {results[-1]}."


@settings(max_examples=300, deadline=None)
@given(claim_text())
def test_a_text_built_from_true_claims_is_correct_and_every_claim_is_read(parts):
    text = render(parts, [written(p[4]) for p in parts])
    v = judge(text, parts[-1][4])
    assert v.correct, (text, v.reason)
    assert [c.value for c in v.claims] == [p[4] for p in parts], text


@settings(max_examples=300, deadline=None)
@given(claim_text(), st.data())
def test_changing_one_claims_result_makes_it_wrong_and_the_verdict_names_that_claim(parts, data):
    results = [written(p[4]) for p in parts]
    k = data.draw(st.integers(0, len(parts) - 1))
    delta = data.draw(st.sampled_from([1, -1, 2, 10, -10, 7]))
    if parts[k][3] and Fraction(results[k]) + delta < 0:
        delta = -delta  # keep prices non-negative
    results[k] = written(Fraction(results[k]) + delta)
    text = render(parts, [*results[:-1], results[-1]])
    v = judge(text, parts[-1][4] if k != len(parts) - 1 else Fraction(results[-1]))
    assert not v.correct, text
    (bad,) = v.false_claims
    assert (bad.value, bad.claimed) == (parts[k][4], Fraction(results[k])), text
    assert bad.text.endswith(results[k]), (text, bad.text)
    assert bad.text in v.reason or len(bad.text) > 80


# --------------------------------------------------------------------------- the frozen set


def test_the_oracle_picks_the_frozen_sets_expected_candidate_every_time():
    for inst in TASK.frozen():
        p = TASK.decode(inst.problem)
        verdicts = [judge(text, p.answer).correct for text in candidates(p)]
        assert verdicts.count(True) == 1 and verdicts.index(True) + 1 == TASK.solve(p), inst.id


# --------------------------------------------------------------------------- seed-004 CSVs: signs and fractions


@pytest.mark.parametrize("cell,answer", [
    ("-5", -5), ("\\boxed{-5}", -5), ("3/4", 0.75), ("$\\frac{3}{4}$", 0.75), ("\\dfrac{3}{4}", 0.75),
    ("2 1/2", 2.5), ("0.75", 0.75), ("47.0", 47), ("The answer is -12.", -12), ("$1,250", 1250),
    ("1" + "0" * 400, 10 ** 400),
])
def test_load_csv_keeps_the_sign_and_fraction_of_the_true_answer(tmp_path, cell, answer):
    row = {"Question": "Q?", "Correct Answer": cell, "Correct Argument": f"So the answer is {cell}.",
           "Incorrect Answer": "1", "Incorrect Argument": "So the answer is 1.", "Choice Answer": "candidate_1",
           "Choice Argument": "Candidate 1 is right.", "Choice Answers Swapped": "False"}
    path = tmp_path / "d.csv"
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=CSV_COLUMNS)
        w.writeheader()
        w.writerow(row)
    (p,) = load_csv(path)
    assert p.answer == answer and type(p.answer) is type(answer)
    assert judge(p.correct, p.answer).correct
    assert TASK.decode(TASK.encode(p)) == p


@pytest.mark.parametrize("text, false", [
    ("Total = 12 + 5\n      = 18\nThe answer is 17.", ["12 + 5 = 18"]),  # a false step split over two lines
    ("$$\n12 + 5\n= 18\n$$\nSo she has 17.", ["12 + 5 = 18"]),
    ("Total = 12 + 5\n      = 17\nThe answer is 17.", []),
])
def test_a_claim_that_goes_on_at_the_start_of_the_next_line_is_read(text, false):
    """A line that starts with its relation continues the line before; read line by line it was no claim, so
    "12 + 5 = 18" passed (found by review)."""
    v = judge(text, 17)
    assert [c.text for c in v.false_claims] == false
    assert v.correct == (not false)
