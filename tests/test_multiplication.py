"""The multiplication oracle and task: exact products, checked long-multiplication work, strict parsing."""

from __future__ import annotations

import dataclasses
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from oraclebench.oracles.multiply import check_scratchpad, product, render_scratchpad, scratchpad, scratchpad_lines, times_digit
from oraclebench.tasks import get_task
from oraclebench.tasks.base import Response, TaskError
from oraclebench.tasks.multiplication import TASK, Config, Problem, digit_fields

pytestmark = pytest.mark.multiplication

operands = st.integers(0, 10**12)


def column_product(a: int, b: int) -> int:
    """An independent digit-by-digit product: sum the digit products of each column, then carry."""
    xs = [int(c) for c in reversed(str(a))]
    ys = [int(c) for c in reversed(str(b))]
    columns = [0] * (len(xs) + len(ys))
    for i, x in enumerate(xs):
        for j, y in enumerate(ys):
            columns[i + j] += x * y
    digits, carry = [], 0
    for total in columns:
        carry, digit = divmod(total + carry, 10)
        digits.append(str(digit))
    return int("".join(reversed(digits)))


def worked(p: Problem) -> str:
    return TASK.render_answer(p, TASK.solve(p))


# --------------------------------------------------------------------------- the oracle


@settings(max_examples=300)
@given(operands, operands)
def test_product_agrees_with_python_and_with_column_multiplication(a, b):
    assert product(a, b) == a * b == column_product(a, b)


@pytest.mark.parametrize("bad", [(-1, 3), (3, -1), (1.5, 2), (True, 2), ("4", 2)])
def test_product_rejects_what_is_not_a_non_negative_int(bad):
    with pytest.raises(ValueError):
        product(*bad)


@settings(max_examples=200)
@given(operands, operands)
def test_scratchpad_partials_carries_and_running_sums_are_the_schoolbook_ones(a, b):
    pad = scratchpad(a, b)
    digits_b = [int(c) for c in reversed(str(b))]
    assert [p.digit for p in pad.partials] == digits_b
    running = 0
    for place, (p, total) in enumerate(zip(pad.partials, pad.sums)):
        assert p.place == place and p.value == a * p.digit * 10**place
        # Each digit step: digit_a * d + carry_in == 10 * carry_out + written digit.
        carry_in, written = 0, []
        for digit_a, carry_out in zip(reversed(str(a)), p.carries, strict=True):
            step = int(digit_a) * p.digit + carry_in
            assert step // 10 == carry_out
            written.append(step % 10)
            carry_in = carry_out
        assert int(str(carry_in) + "".join(map(str, reversed(written)))) == a * p.digit
        running += p.value
        assert total == running
    assert pad.product == a * b


def test_scratchpad_text_of_the_seed_example():
    assert render_scratchpad(scratchpad(47, 23)) == (
        "47 × 3 = 141 (carries 1,2)\n"
        "47 × 20 = 940 (carries 0,1)\n"
        "141 + 940 = 1081\n"
        "= 1081"
    )
    assert render_scratchpad(scratchpad(7, 8)) == "7 × 8 = 56 (carries 5)\n= 56"
    # A zero digit keeps its line, shifted like the others.
    lines = scratchpad_lines(scratchpad(47, 102))
    assert lines == [
        "47 × 2 = 94 (carries 0,1)",
        "47 × 00 = 00 (carries 0,0)",
        "94 + 00 = 94",
        "47 × 100 = 4700 (carries 0,0)",
        "94 + 4700 = 4794",
        "= 4794",
    ]


def test_times_digit_reports_carries_units_first():
    assert times_digit(47, 3) == (141, (2, 1))
    assert times_digit(999, 9) == (8991, (8, 8, 8))
    assert times_digit(0, 7) == (0, (0,))


@settings(max_examples=150)
@given(operands, operands)
def test_the_oracle_s_own_work_checks(a, b):
    assert check_scratchpad(a, b, render_scratchpad(scratchpad(a, b))) == (True, None, "")


@settings(max_examples=150)
@given(st.integers(0, 99_999), st.integers(0, 99_999), st.data())
def test_changing_any_one_digit_is_caught_on_its_line(a, b, data):
    lines = scratchpad_lines(scratchpad(a, b))
    k = data.draw(st.integers(0, len(lines) - 1), label="line")
    spots = [i for i, c in enumerate(lines[k]) if c.isdigit()]
    i = data.draw(st.sampled_from(spots), label="position")
    new = data.draw(st.sampled_from([d for d in "0123456789" if d != lines[k][i]]), label="digit")
    bad = lines[:k] + [lines[k][:i] + new + lines[k][i + 1 :]] + lines[k + 1 :]
    ok, line, why = check_scratchpad(a, b, "\n".join(bad))
    assert not ok and line == k + 1 and why.startswith(f"line {k + 1}:")


@pytest.mark.parametrize(
    "text, line, says",
    [
        ("47 × 3 = 141 (carries 1,2)\n47 × 20 = 930 (carries 0,1)\n141 + 930 = 1071\n= 1071", 2, "should be 940, got 930"),
        ("47 × 3 = 141 (carries 1,1)\n47 × 20 = 940 (carries 0,1)\n141 + 940 = 1081\n= 1081", 1, "carries should be 1,2"),
        ("47 × 3 = 141 (carries 1,2)\n47 × 2 = 94 (carries 0,1)\n141 + 94 = 235\n= 235", 2, "expected 47 × 20"),
        ("47 × 3 = 141 (carries 1,2)\n47 × 20 = 940 (carries 0,1)\n141 + 940 = 1071\n= 1081", 3, "should be 1081, got 1071"),
        ("47 × 3 = 141 (carries 1,2)\n47 × 20 = 940 (carries 0,1)", 3, "missing"),
        ("47 × 3 = 141 (carries 1,2)\n47 × 20 = 940 (carries 0,1)\n141 + 940 = 1081\n= 1081\nso 1081", 5, "unexpected line"),
        ("47 × 3 = 141\n47 × 20 = 940\n141 + 940 = 1081\n= 1081", 1, "expected a partial product"),
        (" 1081", 1, "expected a partial product"),
    ],
)
def test_a_wrong_worked_answer_names_its_first_bad_line(text, line, says):
    ok, bad_line, why = check_scratchpad(47, 23, text)
    assert (ok, bad_line) == (False, line) and says in why


def test_worked_answers_tolerate_spacing_times_signs_and_a_formatted_total():
    noisy = "\n\n  47 x 3 = 141 ( carries 1, 2 )\n47*20=940 (carries 0,1)  \n141+940 = 1081\n=1,081.\n\nQ: What is 1 × 1?"
    assert check_scratchpad(47, 23, noisy) == (True, None, "")


# --------------------------------------------------------------------------- prompts and completions


def test_plain_prompt_and_completion_are_the_seed_s():
    p = Problem(7, 8)
    req = TASK.render(p)
    assert req.prompt == "Q: What is 7 × 8? A:" and req.stop == ("\n",) and req.kind == "generate"
    assert worked(p) == " 56\n"


def test_worked_prompt_and_completion():
    p = Problem(47, 23, scratchpad=True)
    req = TASK.render(p)
    assert req.prompt == "Q: What is 47 × 23? Show your work. A:" and req.stop == ("\n\n",)
    assert worked(p) == "\n47 × 3 = 141 (carries 1,2)\n47 × 20 = 940 (carries 0,1)\n141 + 940 = 1081\n= 1081\n\n"


@settings(max_examples=100)
@given(TASK.strategy(Config(scratchpad=True)) | TASK.strategy(Config()))
def test_answers_round_trip_and_fit_the_budget_before_the_stop(p):
    text = worked(p)
    req = TASK.render(p)
    assert TASK.parse(text, p) == p.a * p.b
    body = text[: text.index(req.stop[0], 1)]  # what a model writes before it stops
    assert TASK.parse(body, p) == p.a * p.b
    assert len(text.encode()) <= req.max_tokens


@pytest.mark.parametrize(
    "text, parsed",
    [
        (" 56", 56),
        (" 56\n", 56),
        ("56.", 56),
        ("  56 \t", 56),
        ("\n56", 56),
        (" 56\nQ: What is 2 × 3? A: 6", None),  # the whole text: the stop string is cut before (assess)
        ("560", 560),  # a number, just the wrong one: scored wrong
        ("5 6", None),
        ("56 or 57", None),
        ("56 58", None),
        ("fifty-six", None),
        ("", None),
        ("-56", -56),  # a number, signed: a definite answer, scored wrong
        ("+56", 56),  # the same number as 56
        ("- 56", None),
        ("56-", None),
        ("--56", None),
        ("56..", None),
    ],
)
def test_plain_parse_is_strict_about_content(text, parsed):
    assert TASK.parse(text, Problem(7, 8)) == parsed


def test_after_the_stop_string_nothing_counts_and_a_chat_answer_is_read_whole():
    """The completion form is cut at its stop string "\\n" before it is read (one cut, ``Task.assess``); the chat
    form has none and asks for the product alone, so what follows the first line is part of the answer. Read as
    its first line, "56\\n\\nWait, actually, it is 57." scored the withdrawn 56 right (found by review)."""
    p = Problem(7, 8)
    run_on = TASK.assess(p, TASK.render(p), Response(text=" 56\nQ: What is 2 × 3? A: 6"))
    assert (run_on.answer, run_on.correct) == (56, True)
    withdrawn = TASK.assess(p, TASK.render(p), Response(text="56\n\nWait, actually, it is 57.", stop=()))
    assert (withdrawn.answer, withdrawn.correct, withdrawn.lenient_answer, withdrawn.lenient) == (None, False, 57, False)
    said_alone = TASK.assess(p, TASK.render(p), Response(text="56\n", stop=()))
    assert (said_alone.answer, said_alone.correct) == (56, True)


@pytest.mark.parametrize(
    "text, parsed", [(" 1,081", 1081), ("1081.", 1081), ("10,81", None), ("1,0810", None), ("1,081,", None)]
)
def test_thousands_separators_must_be_well_formed(text, parsed):
    assert TASK.parse(text, Problem(47, 23)) == parsed


def test_a_worked_answer_is_read_from_its_final_line_only():
    p = Problem(47, 23, scratchpad=True)
    assert TASK.parse("47 × 3 = 141 (carries 1,2)\n= 1,081.\n", p) == 1081
    assert TASK.parse(" 1081", p) is None  # the plain form is not a worked answer
    assert TASK.parse("= 1081\n141 + 940 = 1081", p) is None  # the total must come last
    assert TASK.parse("= 1081\n\n= 999", p) == 1081  # the blank line ends the work
    assert TASK.parse("", p) is None
    assert TASK.parse("141 + 940 = 1081\n= -1,081\n", p) == -1081 and TASK.parse("= +1081", p) == 1081


@pytest.mark.parametrize("text, answer, status", [
    (" -5556\n", -5556, "wrong"), ("\n= -5556\n\n", -5556, "wrong"), (" +5556\n", 5556, "correct"),
    (" 05556\n", 5556, "correct"), (" - 5556\n", None, "no_answer"),
])
def test_a_signed_product_is_an_answer_read_with_its_sign(text, answer, status):
    """L19 (trial 13): ' -5556' for 5556 was counted "no answer", moving a wrong answer to the other column."""
    from oraclebench.records import status_of

    p = Problem(12, 463, scratchpad=text.startswith("\n="))
    score = TASK.score(p, Response(text=text))
    assert (score.answer, status_of(score.correct, score.answer, None)) == (answer, status)
    if status == "wrong":
        assert score.reason.startswith("wrong product: expected 5556, got -5556")
        assert score.fields["length"] is False  # the sign makes it longer than the product


# --------------------------------------------------------------------------- scoring


def test_per_digit_fields_of_a_known_wrong_answer():
    s = TASK.score(Problem(47, 23), Response(text=" 1071\n"))
    assert not s.correct and s.answer == 1071 and s.expected == 1081
    assert s.fields == {"d0": True, "d1": False, "d2": True, "d3": True, "length": True}
    assert s.reason == "wrong product: expected 1081, got 1071"


def test_missing_digits_are_wrong_and_extra_digits_break_the_length():
    assert digit_fields(81, 1081) == {"d0": True, "d1": True, "d2": False, "d3": False, "length": False}
    assert digit_fields(11081, 1081) == {"d0": True, "d1": True, "d2": True, "d3": True, "length": False}
    assert digit_fields(None, 56) == {"d0": False, "d1": False, "length": False}


def test_noanswer_and_errors():
    s = TASK.score(Problem(7, 8), Response(text="56 or 57"))
    assert (s.correct, s.answer, s.expected) == (False, None, 56) and s.reason.startswith("no answer")
    e = TASK.score(Problem(7, 8), Response(text=" 56", error="timeout"))
    assert (e.correct, e.answer, e.reason) == (False, None, "error: timeout")


def test_worked_scores_check_the_steps_apart_from_the_product():
    p = Problem(47, 23, scratchpad=True)
    right = TASK.score(p, Response(text=worked(p)))
    assert right.correct and right.fields["steps"] and right.detail["first_bad_line"] is None
    slip = "47 × 3 = 141 (carries 1,2)\n47 × 20 = 940 (carries 0,0)\n141 + 940 = 1081\n= 1081"
    lucky = TASK.score(p, Response(text=slip))
    assert lucky.correct and not lucky.fields["steps"] and lucky.reason == ""
    assert lucky.detail["first_bad_line"] == 2 and "carries" in lucky.detail["steps_reason"]
    wrong = TASK.score(p, Response(text="47 × 3 = 141 (carries 1,2)\n47 × 20 = 930 (carries 0,1)\n141 + 930 = 1071\n= 1071"))
    assert not wrong.correct and wrong.fields["d1"] is False and wrong.fields["steps"] is False
    assert "expected 1081, got 1071" in wrong.reason and "line 2" in wrong.reason


def test_bucket_and_label():
    assert TASK.bucket(Problem(47, 123)) == {"a_digits": 2, "b_digits": 3, "digits": "2x3", "scratchpad": False}
    assert TASK.label(Problem(47, 123)) == "2x3"
    assert TASK.label(Problem(47, 123, scratchpad=True)) == "2x3_work"


# --------------------------------------------------------------------------- configs, splits, manifests


@settings(max_examples=100)
@given(st.data())
def test_generated_operands_have_the_configured_digit_counts(data):
    lo_a = data.draw(st.integers(1, 5))
    lo_b = data.draw(st.integers(1, 5))
    config = Config(a_digits=(lo_a, data.draw(st.integers(lo_a, 5))), b_digits=(lo_b, data.draw(st.integers(lo_b, 5))))
    p = data.draw(TASK.strategy(config))
    assert config.a_digits[0] <= len(str(p.a)) <= config.a_digits[1] and p.a >= 1
    assert config.b_digits[0] <= len(str(p.b)) <= config.b_digits[1] and p.b >= 1


@settings(max_examples=100)
@given(TASK.strategy(Config(a_digits=(1, 1), b_digits=(1, 1), omitted_pairs=tuple((7, b) for b in range(1, 10)) + ((2, 3),))))
def test_omitted_pairs_are_never_generated_in_either_order(p):
    assert 7 not in (p.a, p.b) and {p.a, p.b} != {2, 3}


def test_generation_survives_a_nearly_omitted_space():
    all_but_4x4 = [(x, y) for x in range(1, 10) for y in range(1, 10) if (x, y) != (4, 4)]
    only = Config(a_digits=(1, 1), b_digits=(1, 1), omitted_pairs=all_but_4x4)
    assert {TASK.sample(0, i, only) for i in range(20)} == {Problem(4, 4)}


@pytest.mark.parametrize(
    "knobs, says",
    [
        ({"a_digits": (0, 2)}, "a_digits"),
        ({"b_digits": (3, 2)}, "b_digits"),
        ({"a_digits": (1, 10)}, "a_digits"),
        ({"a_digits": 2}, "a_digits"),
        ({"scratchpad": "yes"}, "scratchpad"),
        ({"omitted_pairs": [(1, -2)]}, "omitted pair"),
        ({"omitted_pairs": "12x34"}, "omitted_pairs"),
        ({"a_digits": (1, 1), "b_digits": (1, 1), "omitted_pairs": [(x, y) for x in range(1, 10) for y in range(x, 10)]},
         "leave no problem"),
        ({"digits": (2, 2)}, "unknown option"),
    ],
)
def test_bad_configs_name_the_knob(knobs, says):
    with pytest.raises(TaskError, match=says):
        TASK.config(**knobs)


def test_configs_accept_json_lists():
    assert TASK.config(a_digits=[2, 3], omitted_pairs=[[12, 34]]) == Config(a_digits=(2, 3), omitted_pairs=((12, 34),))


def test_split_by_digit_counts_and_omitted_pairs():
    manifest = TASK.manifest_from_spec("digits=2x2; omit=12x34,7x8")
    assert manifest == {"max_digits": [2, 2], "omitted_pairs": [[12, 34], [7, 8]]}
    split = lambda a, b: TASK.split(Problem(a, b), manifest)  # noqa: E731
    assert [split(99, 99), split(100, 9), split(9, 100), split(12, 34), split(34, 12), split(8, 7), split(12, 35)] == [
        "seen", "heldout", "heldout", "heldout", "heldout", "heldout", "seen",
    ]
    assert TASK.split(Problem(12345, 6789), None) == "unknown" and TASK.split(Problem(12345, 6789), {}) == "seen"
    assert TASK.split(Problem(12, 34), TASK.manifest_from_spec("omit=12x34")) == "heldout"
    assert TASK.split(Problem(12345, 6789), TASK.manifest_from_spec("omit=12x34")) == "seen"


@pytest.mark.parametrize(
    "spec",
    ["", " ; ", "digits=2", "digits=0x2", "digits=2x10", "digits=2x2;digits=3x3", "omit=12*34", "omit=", "lengths=1-12", "digits"],
)
def test_malformed_specs_are_task_errors(spec):
    with pytest.raises(TaskError):
        TASK.manifest_from_spec(spec)


MANIFEST = {"max_digits": [2, 3], "omitted_pairs": [[7, 8], [12, 34]]}


@settings(max_examples=150)
@given(TASK.strategy(TASK.train_config(MANIFEST)))
def test_training_draws_only_seen_problems(p):
    assert TASK.split(p, MANIFEST) == "seen"


def test_train_config_without_a_manifest_covers_the_frozen_range():
    assert TASK.train_config(None) == Config(a_digits=(1, 5), b_digits=(1, 5))
    assert dataclasses.replace(TASK.train_config(MANIFEST), scratchpad=True).scratchpad


# --------------------------------------------------------------------------- the frozen set and the registry


@pytest.fixture(scope="module")
def frozen():
    return TASK.frozen()


def test_frozen_set_is_25_digit_strata_of_40_distinct_plain_problems(frozen):
    assert len(frozen) == 1000
    labels = [i.label for i in frozen]
    assert {label: labels.count(label) for label in set(labels)} == {f"{a}x{b}": 40 for a in range(1, 6) for b in range(1, 6)}
    assert len({(i.problem["a"], i.problem["b"]) for i in frozen}) == 1000
    assert not any(i.problem["scratchpad"] for i in frozen)
    assert [i.id for i in frozen[:2]] == ["multiplication-v1-0000", "multiplication-v1-0001"]


def test_frozen_set_is_reproducible(frozen):
    assert [i.problem for i in TASK.frozen()[:50]] == [i.problem for i in frozen[:50]]


def test_registry_invariant_on_the_frozen_set(frozen):
    assert get_task("multiplication") is TASK
    for inst in frozen[::7]:
        p = TASK.decode(inst.problem)
        assert TASK.encode(p) == inst.problem and TASK.decode(TASK.encode(p)) == p
        assert TASK.score(p, Response(text=worked(p))).correct


@settings(max_examples=100)
@given(TASK.strategy(Config(scratchpad=True)) | TASK.strategy())
def test_registry_invariant_on_generated_problems(p):
    s = TASK.score(p, Response(text=worked(p)))
    assert s.correct and s.reason == "" and all(s.fields.values())
    assert TASK.decode(TASK.encode(p)) == p


def test_the_core_imports_neither_torch_nor_pytest():
    code = "import tasks.multiplication, sys; assert 'torch' not in sys.modules and 'pytest' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
