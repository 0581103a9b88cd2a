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


# --------------------------------------------------------------------------- review: align rows, corrections,
# circumstances, ranges, decimal commas, repeating decimals (each reading decided by hand)


@pytest.mark.parametrize("text, expected", [
    ("\\begin{align} \\text{Total} &= 12 + 5 \\\\ &= 18 \\end{align}", [("12 + 5 = 18", False)]),
    ("\\begin{align*} \\text{Total} &= 12 + 5 \\\\ &= 17 \\end{align*}", [("12 + 5 = 17", True)]),
    ("$$\\begin{aligned} T &= 12 + 5 \\\\[2pt] &\\approx 18 \\end{aligned}$$", [("12 + 5 ≈ 18", False)]),
    ("\\begin{eqnarray} T &=& 12 + 5 \\nonumber \\\\ &=& 18 \\end{eqnarray}", [("12 + 5 = 18", False)]),
    ("Total &= 12 + 5 \\\\\n  &= 18", [("12 + 5 = 18", False)]),  # the row ends its line with the break
    ("3 \\times 4 &= 13", [("3 × 4 = 13", False)]),  # an alignment mark before the relation
    ("x &= 3 \\times 4 = 12", [("3 × 4 = 12", True)]),
    ("\\begin{align} 12 + 5 &= 17 \\\\ 2 \\times 8 &= 16 \\end{align}", [("12 + 5 = 17", True), ("2 × 8 = 16", True)]),
])
def test_a_claim_continued_over_the_rows_of_a_latex_align_is_read(text, expected):
    """An align row "&= 18" after "\\\\" goes on from the row before, as a line starting "= 18" does; an '&'
    beside a relation is layout. Read row by row, "12 + 5 = 18" was no claim and passed (found by review)."""
    assert [(c.text, c.ok) for c in claims(text)] == expected


@pytest.mark.parametrize("text, final", [
    ("The answer is 47. Wait, no: 35 + 12 = 47 is right but I forgot the 11 extra, so it is 58.", 58),
    ("The answer is 47. Actually, it's 58.", 58),
    ("The answer is 47, wait, no, 58.", 58),  # a correction in the same sentence
    ("The answer is 47. No, it should be 58, not 47.", 58),  # the number corrected away is not the answer
    ("The answer is 47. I mean 58.", 58),
    ("The answer is 47. Correction: 58 = 47 + 11.", 58),  # 47 and 11 are operands
    ("The answer is 47. Hmm, wait. I forgot the extra 11 tickets. So she needs 47 + 11 = 58 tickets for 11 rides.",
     58),
    ("So she needs 47 tickets. Actually, it's 58.", 58),  # after a conclusion marker too
    ("The answer is **47**. Oops, I mean **58**.", 58),
    ("The answer is 47. Actually, that is right.", 47),  # a correction with no number keeps the answer
    ("The answer is 47. Wait, let me double-check: 7 x 5 = 35 and 4 x 3 = 12, so 35 + 12 = 47. Yes.", 47),
    ("The answer is 47, which is actually 35 + 12.", 47),  # 'actually' inside a clause corrects nothing
])
def test_a_correction_after_the_answer_replaces_it(text, final):
    """A correction (wait, actually, I mean, no, ...) after the answer that gives a number is the answer;
    the first answer was kept before (found by review)."""
    assert final_answer(text) == final


def test_a_corrected_answer_is_judged_by_the_correction():
    assert judge("The answer is 47. Actually, it's 58.", 58).correct
    assert not judge("The answer is 47. Actually, it's 58.", 47).correct


@pytest.mark.parametrize("text, final", [
    ("So for 11 rides she needs 47 tickets.", 47),
    ("So she needs 47 tickets for 11 rides.", 47),
    ("So in total 47.", 47),
    ("Therefore, in 3 weeks she saves $47.", 47),
    ("So after 2 days she has 47 apples.", 47),
    ("Thus at 5 cents per 2 minutes she pays 47 cents.", 47),
    ("So each of the 4 boxes holds 12 apples.", 12),
    ("So over the next 3 days she reads 60 pages.", 60),
    ("She needs 47 tickets for 11 rides.", 47),  # no marker: the last number not led by a preposition
    ("So she needs them for 11 rides.", 11),  # every number led by one: the first after the marker
])
def test_a_number_led_by_a_preposition_is_a_circumstance_not_the_answer(text, final):
    """"So for 11 rides she needs 47 tickets" ends on 47: "for 11 rides" states a circumstance (found by
    review: the first number after the conclusion marker, 11, was taken)."""
    assert final_answer(text) == final


@pytest.mark.parametrize("text, expected", [
    ("From 2020-2023 = 3 years", []),  # a range, not 2020 - 2023
    ("between 9-12 = 3 hours", []),
    ("Between 9 - 12 = 3 hours", []),
    ("She works from 9-5 = 8 hours", []),  # after 'from' even a falling range
    ("between the years 2020-2023 = 3", []),
    ("Kids aged 5-7 = 3 age groups", []),  # glued, smaller first
    ("pages 10-20 = 11 pages", []),
    ("12-5=7", [("12-5=7", True)]),  # a glued subtraction
    ("2023-2020 = 4", [("2023-2020 = 4", False)]),
    ("2 × 3-5 = 1", [("2 × 3-5 = 1", True)]),  # in arithmetic: 6 - 5
    ("The difference is 5 - 8 = -3", [("5 - 8 = -3", True)]),  # spaced, no 'from': a subtraction
])
def test_a_hyphen_that_states_a_range_is_no_subtraction(text, expected):
    assert [(c.text, c.ok) for c in claims(text)] == expected


@pytest.mark.parametrize("text, expected", [
    ("2,5 × 2 = 5", []),  # 2.5 with a decimal comma, or the list 2, 5: ambiguous, no claim
    ("2,5 × 2 = 6", []),
    ("5 / 2 = 2,5", []),
    ("€2,50 + €1,25 = €3,75", []),
    ("1,2345 + 1 = 2", []),
    ("2,5 + 1,250 = 3,75", []),  # with decimal commas, right; read as thousands, false: no claim
    ("1,250 × 2 = 2,500", [("1,250 × 2 = 2,500", True)]),  # a group of three: thousands
    ("3,4,5 × 2 = 10", [("5 × 2 = 10", True)]),  # a list
])
def test_a_comma_that_is_no_thousands_separator_makes_the_number_ambiguous(text, expected):
    assert [(c.text, c.ok) for c in claims(text)] == expected


def test_an_ambiguous_decimal_comma_is_no_final_answer():
    v = judge("The answer is 2,5.", 2.5)
    assert v.final is None and "unreadable" in v.reason


@pytest.mark.parametrize("text, expected", [
    ("10/3 = 3.(3)", [("10/3 = 3.(3)", True)]),
    ("1/7 = 0.(142857)", [("1/7 = 0.(142857)", True)]),
    ("10/3 = 3.(4)", [("10/3 = 3.(4)", False)]),
    ("$\\frac{1}{3} = 0.\\overline{3}$", [("1/3 = 0.(3)", True)]),
    ("1/6 = 0.1\\overline{6}", [("1/6 = 0.1(6)", True)]),
    ("1/6 = 0.1\\dot{6}", [("1/6 = 0.1(6)", True)]),
    ("1/7 = 0.\\dot{1}4285\\dot{7}", [("1/7 = 0.(142857)", True)]),
    ("1/3 = 0.3\u0305", [("1/3 = 0.(3)", True)]),
    ("1/3 = 0.\\overline{4}", [("1/3 = 0.(4)", False)]),
    ("1/6 = 0.1(6)", []),  # 0.1666... or the product 0.1 × 6: ambiguous
    ("0.5(12) = 6", []),
    ("2/3 = 0.666...", [("2/3 = 0.666", True)]),  # an ellipsis: the digits go on, cut off here
    ("1/6 = 0.1666…", [("1/6 = 0.1666", True)]),
    ("10/3 = 3.333...", [("10/3 = 3.333", True)]),
    ("2/3 = 0.667...", [("2/3 = 0.667", True)]),  # or rounded
    ("10/3 = 3.334...", [("10/3 = 3.334", False)]),
    ("22/7 = 3.14159...", [("22/7 = 3.14159", False)]),  # that is pi, not 22/7 = 3.142857...
    ("1/3 = 33.33...%", [("1/3 = 33.33%", True)]),
    ("1 + 2 + 3... + 10 = 55", []),  # an ellipsis after a whole number is a series: no claim
])
def test_repeating_and_cut_off_decimals_are_read_exactly(text, expected):
    assert [(c.text, c.ok) for c in claims(text)] == expected


@pytest.mark.parametrize("text, truth, correct", [
    ("10/3 = 3.(3), so the answer is 3.(3).", Fraction(10, 3), True),
    ("The answer is 0.666...", Fraction(2, 3), True),
    ("The answer is 0.(6).", Fraction(2, 3), True),
    ("The answer is 0.(6).", 0.67, False),
])
def test_a_repeating_or_cut_off_final_answer_matches_its_exact_value(text, truth, correct):
    assert judge(text, truth).correct is correct


@pytest.mark.parametrize("text", [
    " " * 200_000 + "x",  # a run of blanks was tried from each blank by the continuation pass: quadratic
    "\\\\" + " " * 200_000 + "x",
    "2,5 " * 50_000, "from 1-2 " * 30_000, "0.(3) " * 30_000, "1.5... " * 30_000, "The answer is 4. Wait, " * 20_000,
    "So for 1 " * 30_000, "0.\\overline{3}" * 20_000, "&=& " * 50_000, "1\n" + " " * 200_000 + "= 1",
], ids=lambda text: f"{text[:12]!r}x{len(text)}")
def test_the_new_readings_stay_linear(text):
    import time
    began = time.process_time()
    assert isinstance(judge(text, 47).correct, bool)
    assert time.process_time() - began < 20
