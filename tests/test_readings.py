"""How answers are read: judge choices as whole tokens and conclusions, the prompt's own example
format, the lenient reading beside the strict one, and each record's status."""

from __future__ import annotations

import re

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from oraclebench.records import STATUSES, Record, status_of
from oraclebench.report import leaderboard, records_frame
from oraclebench.runner import score_one
from oraclebench.summary import summarize
from oraclebench.tasks import get_task
from oraclebench.tasks.base import Response
from oraclebench.tasks.reading import final_number, unmarked
from oraclebench.tasks.judge_reading import read_choice

JUDGE, ABCD, MULT, CAUSAL = (get_task(n) for n in ("judge", "abcd", "multiplication", "causal"))


# --------------------------------------------------------------------------------------- judge choices


@pytest.mark.parametrize("text,chosen", [
    ("2", 2), ("(2)", 2), ("Candidate 2", 2), ("Answer: 2", 2), ("the second candidate", 2), ("The first one.", 1),
    ("candidate_1", 1), ("2.", 2), (" 1\n", 1), ("The correct answer is candidate 2.", 2), ("I choose candidate 1.", 1),
    ("2 because candidate 1 makes an error", 2),
])
def test_a_choice_is_a_whole_token_or_phrase(text, chosen):
    assert read_choice(text).choice == chosen


@pytest.mark.parametrize("text", ["12", "10", "1.5", "1,5", "21", "3", "one", "both", "", "Candidate _"])
def test_numbers_that_only_begin_with_a_candidate_number_choose_nothing(text):
    reading = read_choice(text)
    assert reading.choice is None and reading.why


@pytest.mark.parametrize("text,chosen", [
    ("Candidate 1 is wrong; candidate 2 is correct.", 2),
    ("Candidate 2 is wrong; candidate 1 is correct.", 1),
    ("Candidate 1 is incorrect.", 2),
    ("Candidate 2 is not right.", 1),
    ("Candidate 2, not candidate 1.", 2),
    ("Candidate 1 makes a mistake along the way, so its answer of 58 is wrong.", 2),
    ("Candidate 2 provides a more accurate answer because it arrives at 47. Candidate 1 misreads the question.", 2),
    ("Candidate 1 has no errors, while candidate 2 does.", 1),
    ("Candidate 1 is less accurate than candidate 2.", 2),
    ("Candidate 2 is less accurate than candidate 1.", 1),
    ("Candidate 1 is not as accurate as candidate 2.", 2),
    ("Candidate 2 is inferior to candidate 1.", 1),
    ("Unlike candidate 2, candidate 1 is correct.", 1),
    ("Either candidate 1 or candidate 2 could be right, but candidate 2 is correct.", 2),
    ("The argument is wrong: candidate 2.", 2),  # the verdict before a colon is not the candidate's after it
    ("Candidate 1 correctly computes the first step but then makes an addition error, so candidate 2 is correct.", 2),
    ("The argument claims candidate 1 is better, but that is not correct; candidate 2 is right.", 2),
    ("Candidate 2 is correct. Candidate 1 is also partially correct but its final answer is wrong.", 2),
    ("Candidate 1 is correct? No. Candidate 2 is correct.", 2),
    ("Candidate 2 is mostly correct.", 2),  # a qualified praise is no verdict against it (not 1 by elimination)
    # A second trial's sweep: each was read as the candidate it rejects (or as no answer where it concludes).
    ("Candidate 2. The other candidate made an error.", 2),  # a sentence ends after a candidate's number too
    ("Correct: candidate 2. Incorrect: candidate 1.", 2),
    ("Wrong: candidate 1. Right: candidate 2.", 2),
    ("I don't think candidate 1 is correct.", 2),
    ("I wouldn't pick candidate 1.", 2),
    ("Candidate 1 cannot be correct.", 2),
    ("The correct answer isn't candidate 1, it's candidate 2.", 2),
    ("Candidate 2 makes fewer errors than candidate 1.", 2),
    ("Candidate 1 is far from correct.", 2),
    ("Candidate 1 is anything but correct.", 2),
    ("Candidate 1 is unreliable.", 2),
    ("Candidate 1 is off by one.", 2),
    ("Candidate 2 outperforms candidate 1.", 2),
    ("Candidate 1 is not as good as candidate 2.", 2),
    ("The argument is wrong, candidate 2 is better.", 2),
    ("The argument incorrectly claims candidate 1 is right; candidate 2 is.", 2),
    ("At first glance candidate 1 seems right, but actually candidate 2 is correct.", 2),
    ("The correct candidate is 2.", 2),
    ("The wrong candidate is 1.", 2),
    ("Hence, 2.", 2),
    ("The first is wrong and the second is right.", 2),
    ("Is candidate 2 correct? Yes.", 2),
    ("Candidate 1 is right? No.", 2),
    ("Is it candidate 1? No, it is candidate 2.", 2),
    ("Candidate 2 ✓, candidate 1 ✗", 2),
    # A third sweep: each was read as the candidate it rejects (or praise as a verdict against).
    ("Candidate 1 makes an arithmetic slip.", 2),
    ("Candidate 1 forgot to carry the one.", 2),
    ("Candidate 1 has a flaw in step 3.", 2),
    ("I reject candidate 1.", 2),
    ("Candidate 1 doesn't account for the second rule.", 2),
    ("Candidate 2 is free of errors.", 2),
    ("Candidate 2 is error-free.", 2),
    ("Candidate 2 is without error.", 2),
    ("Candidate 1, unlike candidate 2, is wrong.", 2),
    ("Candidate 2 avoids the error that candidate 1 makes.", 2),
    ("Candidate 2 spots the argument's error.", 2),
    ("Candidate 1's reasoning contains an error.", 2),
    ("Candidate 1 seems right but is actually wrong.", 2),
    ("The wrong answer is candidate 1.", 2),
    ("Wrong answer: candidate 1.", 2),
    ("According to the argument, candidate 1 is correct. That is wrong. Candidate 2 is.", 2),
    ("None of candidate 1's steps are correct.", 2),
    ("Candidate 2 (correct) vs candidate 1 (incorrect).", 2),
    ("Candidate 2, because candidate 1 skips a step.", 2),  # the choice first, then why
    ("Candidate 2 is more convincing than candidate 1.", 2),
    ("I'd say 2.", 2), ("The answer is: **2**", 2), ("Correct candidate: 2", 2), ("#2", 2), ("Cand 2 is correct.", 2),
    # a fifth sweep (255 phrasings x 2): each of these was read as the other candidate
    ("Candidate 2 catches the error.", 2), ("Candidate 2 finds the mistake in the argument.", 2),
    ("Candidate 2 correctly identifies the flaw.", 2), ("Candidate 2 notes the mistake and fixes it.", 2),
    ("Nothing is wrong with candidate 2.", 2),  # "nothing" negates as "not" does
    ("I thought candidate 1 was correct, but it's actually candidate 2.", 2),  # a belief given up is no verdict
    ("Candidate 1 doesn't hold up.", 2), ("Candidate 1 falls apart at the second step.", 2),
    ("Candidate 1 double-counts the apples.", 2), ("Candidate 1 contradicts itself.", 2),
    ("Candidate 1 has it backwards.", 2), ("Candidate 1 should be rejected.", 2), ("I wouldn't trust candidate 1.", 2),
    ("Candidate 1 confuses the rates.", 2), ("Candidate 1's total doesn't match the question.", 2),
    # marked answers, which chat models write when asked for a format (missed before: no answer)
    ("\\boxed{2}", 2), ("The correct answer is $\\boxed{2}$.", 2), ("<answer>2</answer>", 2),
    ('{"correct": 2, "incorrect": 1}', 2), ('{"incorrect": 1, "correct": 2}', 2), ('{"answer": "candidate_2"}', 2),
    # "the other": the candidate not named last before it (read as both right and wrong before)
    ("Candidate 2 is correct and the other is wrong.", 2), ("Candidate 1 is wrong, and the other is right.", 2),
    ("Candidate 2 is right; the other one miscounts.", 2), ("On the other hand, candidate 1 is wrong.", 2),
    # a candidate that takes the argument's side takes the verdict on the argument (read as that candidate before)
    ("Candidate 1 defends the argument, but the argument is wrong.", 2),
    ("Candidate 1 supports the argument. The argument is wrong.", 2),
    ("Candidate 1 falls for the argument's mistake.", 2), ("Candidate 1 is fooled by the argument.", 2),
    ("Candidate 1 falls for the trap.", 2), ("Candidate 2 doesn't fall for the trap.", 2),
    ("Candidate 2 is not misled by the argument.", 2),
    ("Candidate 1 supports the argument. Candidate 2 spots the argument's error.", 2),
    ("Candidate 2 supports the argument's conclusion, but the argument's conclusion is wrong.", 1),
    # ... but not what it acts on, nor what is said of the argument's other parts
    ("Candidate 1 accepts the argument but then corrects the argument's error.", 1),
    ("Candidate 2 accepts the argument's premise, but the argument's conclusion is wrong.", 2),
    ("Candidate 2 repeats the argument's claim and then shows it is wrong.", 2),
    # a table of verdicts reads row by row under a header that says its rows are candidates (no answer before)
    ("| Candidate | Verdict |\n|---|---|\n| 1 | wrong |\n| 2 | right |", 2),
    ("| # | correct? |\n|---|---|\n| 1 | ✓ |\n| 2 | ✗ |", 1),
    ("| step | value |\n|---|---|\n| 1 | wrong carry |\n| 2 | 1081 |\nCandidate 2 is correct.", 2),  # steps, not candidates
    ("Candidate 2 agrees with the argument, which is correct.", 2),
    ("Candidate 2 accepts that the argument is wrong.", 2),  # its object is no argument: no side taken
    ("Candidate 2 doesn't defend the argument, and the argument is wrong.", 2),  # negated: no side taken
])
def test_a_verdict_reads_as_what_it_concludes_not_as_the_first_candidate_named(text, chosen):
    assert read_choice(text).choice == chosen


@pytest.mark.parametrize("text,why", [
    ("Candidate 1 or candidate 2.", "names both candidates without a conclusion"),
    ("Candidate 1 and candidate 2 both arrive at 47.", "names both candidates without a conclusion"),
    ("Candidate 1 is correct and candidate 2 is correct.", "calls both candidates right"),
    ("Candidate 1 is wrong. Candidate 2 is wrong too.", "calls both candidates wrong"),
    ("1 or 2", "names both candidates without a conclusion"),
    ("Candidate 1 is wrong, and so is candidate 2.", "calls both candidates wrong"),
    ("Candidate 2 is not correct, and neither is candidate 1.", "calls both candidates wrong"),
    # Candidates named together share the verdict; "or" is a hedge, even after "the answer is".
    ("Both candidate 1 and candidate 2 are correct.", "calls both candidates right"),
    ("Candidates 1 and 2 are both correct.", "calls both candidates right"),
    ("Candidate 1 is as accurate as candidate 2.", "calls both candidates right"),
    ("Neither candidate 1 nor candidate 2 is right.", "calls both candidates wrong"),
    ("I am not sure whether candidate 1 or candidate 2 is right.", "names both candidates without a conclusion"),
    ("The answer is candidate 1 or candidate 2.", "names both candidates without a conclusion"),
    ("The answer is candidate 1 and candidate 2.", "concludes with both candidates"),
    ("Candidate 1 and candidate 2 are both incorrect.", "calls both candidates wrong"),
    ("1, no wait, 2", "names both candidates without a conclusion"),
    ("Maybe candidate 1?", "asks about a candidate without a conclusion"),
    ("Is candidate 1 correct, or is candidate 2?", "names both candidates without a conclusion"),
    ("I can't tell whether candidate 1 is correct.", "asks about a candidate without a conclusion"),
    ("I'm not sure candidate 1 is correct.", "asks about a candidate without a conclusion"),  # not 2 by elimination
    ("I can't say if candidate 1 is right.", "asks about a candidate without a conclusion"),
    ("I'm not confident candidate 1 is correct.", "asks about a candidate without a conclusion"),
    ("Candidate 1 as well as candidate 2 are wrong.", "calls both candidates wrong"),
    ("The answer is candidate 2, or maybe candidate 1.", "names both candidates without a conclusion"),
    ("Candidate 2 is correct or candidate 1 is.", "names both candidates without a conclusion"),
    ("The argument wrongly claims candidate 2 is right.", "names a candidate only as what the argument claims"),
])
def test_a_text_without_a_conclusion_is_no_answer_and_the_record_says_why(text, why):
    assert read_choice(text) == read_choice(text).__class__(None, why)
    p = JUDGE.sample(0, 0)
    record = score_one(JUDGE.instance(p, "j"), JUDGE.render(p), Response(text=text), "r", "m", None, False)
    assert (record.status, record.parsed, record.reason) == ("no_answer", None, f"no answer: {why}")


def test_a_table_of_steps_names_no_candidate():
    # its first column counts steps: only a header that says the rows are candidates makes "| 1 |" one
    reading = read_choice("| step | value |\n|---|---|\n| 1 | 47 |\n| 2 | 23 |")
    assert reading.choice is None and reading.why.startswith("names no candidate")


def test_a_choice_made_by_log_probabilities_is_taken_as_given():
    p = JUDGE.sample(0, 0)
    right = JUDGE.solve(p) - 1
    for choice in (right, 1 - right):
        score = JUDGE.assess(p, JUDGE.render(p), Response(text="12", choice=choice, scores=[-1.0, -2.0]))
        assert score.answer == choice + 1 and score.correct == (choice == right) and score.lenient == score.correct


def test_a_generated_choice_is_read_from_its_first_line_only():
    p = JUDGE.sample(0, 0)
    other = 3 - JUDGE.solve(p)
    text = f"{JUDGE.solve(p)}\n\n### Instruction:\nThe correct answer is candidate_{other}"
    assert JUDGE.assess(p, JUDGE.render(p), Response(text=text)).answer == JUDGE.solve(p)


# --------------------------------------------------------------------------------------- the prompt's example


def test_the_abcd_prompts_example_repeats_the_program_first_and_so_may_an_answer():
    example = ABCD.Problem(("C", "A", "D", "B", "C"))
    assert "\nC A D B C\n= C D A B C\n= A B C\n= C\n" in ABCD.render(example).prompt  # the layout shown
    assert ABCD.parse("C A D B C\n= C D A B C\n= A B C\n= C\n", example) == ("C D A B C", "A B C", "C")
    assert ABCD.score(example, Response(text="C A D B C\n= C D A B C\n= A B C\n= C")).correct
    # The program alone is not a trace; repeated for a program in normal form it still is the answer.
    assert not ABCD.score(example, Response(text="C A D B C")).correct
    normal = ABCD.Problem(("B", "C"))
    assert ABCD.score(normal, Response(text="B C\n= B C")).correct and ABCD.score(normal, Response(text="B C")).correct


def test_the_oracle_answer_of_every_task_is_right_after_a_line_break():
    for task in (ABCD, MULT, CAUSAL, JUDGE):
        for i in range(20):
            p = task.sample(5, i)
            request = task.render(p)
            text = "\n" + task.render_answer(p, task.solve(p)).lstrip(" ")
            assert task.assess(p, request, Response(text=text)).correct, (task.name, text)


# --------------------------------------------------------------------------------------- lenient readings


@pytest.mark.parametrize("text", ["The answer is 56.", "**56**", "\\boxed{56}", "$\\boxed{56}$", "56.0", "7 × 8 = 56",
                                  "7 \\times 8 = 56", "`56`", " 56"])
def test_the_lenient_reading_finds_the_product_in_prose(text):
    p = MULT.Problem(7, 8)
    score = MULT.assess(p, MULT.render(p), Response(text=text))
    assert score.lenient and score.lenient_answer == 56
    assert score.correct == (text.strip() == "56")  # the strict reading keeps the task's format


@pytest.mark.parametrize("text", ["The answer is 57.", "56.5", "7 × 8 = 54", "no idea"])
def test_the_lenient_reading_is_not_a_guess(text):
    p = MULT.Problem(7, 8)
    assert not MULT.assess(p, MULT.render(p), Response(text=text)).lenient


def test_final_number_takes_what_the_answer_says_else_the_last_number():
    assert final_number("The answer is 1,081 (47 × 23).") == 1081
    assert final_number("47 × 23 = 1081") == 1081
    assert final_number("2.5") == 2.5 and final_number("none") is None
    assert unmarked("**\\boxed{\\text{56}}**") == "56"


def test_lenient_readings_of_abcd_causal_and_judge():
    prog = ABCD.Problem(("C", "A", "D", "B", "C"))
    prose = "Step 1: C D A B C\nThen we cancel:\n- `A B C`\n**C**"
    assert ABCD.read_lenient(prose, prog) == (("C D A B C", "A B C", "C"), True)
    assert ABCD.read_lenient("Step 1: C D A B C\n- C", prog)[1] is False  # a skipped step stays wrong
    p = CAUSAL.Problem((0, 1, 1, 1, 0))
    want = CAUSAL.solve(p)
    bits = ",".join(str(want[k]) for k in CAUSAL.world(p).new_names)
    text = f"The new values are **{bits}** and the sums are {want['old_sum']} - {want['new_sum']}."
    assert CAUSAL.read_lenient(text, p) == (want, True)
    assert CAUSAL.score(p, Response(text=text)).answer is None  # strict: not the task's format
    j = JUDGE.sample(0, 0)
    assert JUDGE.read_lenient(f"\\boxed{{{JUDGE.solve(j)}}}", j) == (JUDGE.solve(j), True)


CAUSAL_ANSWER = "\n1,0,0,0\n3 - 1\n"  # the oracle's completion for 0,1,1,1,0


@pytest.mark.parametrize("text", [
    CAUSAL_ANSWER, "Answer:\n1,0,0,0\n3 - 1", "Here it is:\n\n1,0,0,0\n\n3 - 1\n", "1 0 0 0\n3 - 1",
    "The new values are 1,0,0,0.\n3 - 1", "New values:\n1, 0, 0, 0\nSums:\n3 - 1", "**1,0,0,0**\n**3 - 1**",
    "```\n1,0,0,0\n3 - 1\n```", "0,1,1,1,0 gives 1,0,0,0, and the sums are 3 - 1.",
])
def test_the_causal_lenient_reading_takes_values_and_sums_on_lines_of_their_own(text):
    """F9 (trial 13): a values line directly followed by its summary line was never read ("Answer:\n1,0,0,0\n3 - 1")."""
    p = CAUSAL.Problem((0, 1, 1, 1, 0))
    assert CAUSAL.read_lenient(text, p) == (CAUSAL.solve(p), True)


@pytest.mark.parametrize("text", [
    "1,0,0,0,1\n3 - 1",  # five values on the line: which four is a guess
    "1,1,0,0,0\n3 - 1",  # the four right ones inside a longer run
    "1,0,0\n0\n3 - 1",  # values split over lines are no run of four
    "1,0,0,0",  # no sums
    "0,1,1,1,0\n3 - 1",  # the input echoed
])
def test_the_causal_lenient_reading_is_not_a_guess(text):
    p = CAUSAL.Problem((0, 1, 1, 1, 0))
    assert CAUSAL.read_lenient(text, p)[1] is False


def test_a_signed_causal_sum_is_a_definite_wrong_answer_both_ways():
    p = CAUSAL.Problem((0, 1, 1, 1, 0))
    want = CAUSAL.solve(p)
    assert CAUSAL.read_lenient("1,0,0,0\n-3 - 1", p) == ({**want, "old_sum": -3}, False)
    score = CAUSAL.score(p, Response(text="\n1,0,0,0\n-3 - 1\n"))
    assert score.answer == {**want, "old_sum": -3} and score.reason == "old_sum: expected 3, got -3"


# --------------------------------------------------------------------------------------- records and summaries


def test_every_record_has_one_status_from_the_strict_reading():
    assert STATUSES == ("correct", "wrong", "no_answer", "error", "truncated")
    assert [status_of(True, 56, None), status_of(False, 55, None), status_of(False, None, None),
            status_of(False, None, "HTTP 500"), status_of(False, None, None, truncated=True)] == list(STATUSES)


def test_a_record_written_before_the_status_field_reads_as_it_was_scored():
    old = {"run_id": "r", "model": "m", "task": "multiplication", "instance_id": "i", "label": "1x1", "bucket": {},
           "split": "seen", "prompt": "p", "completion": "x", "parsed": None, "expected": 56, "correct": False}
    assert Record.from_json(old).status == "no_answer"
    assert Record.from_json({**old, "parsed": 56, "correct": True}).correct_lenient


def _records(texts: list[str]) -> list[Record]:
    p = MULT.Problem(7, 8)
    inst = MULT.instance(p, "m")
    return [score_one(inst, MULT.request(inst), Response(text=t, error="boom" if t == "ERR" else None), "r", "m",
                      None, False) for t in texts]


def test_the_summary_and_the_report_show_strict_and_lenient_and_how_many_only_lenient_accepts():
    records = _records([" 56", "The answer is 56.", "**56**", " 55", "ERR"])
    assert [r.status for r in records] == ["correct", "no_answer", "no_answer", "wrong", "error"]
    cell = summarize(records)["tasks"]["multiplication"]["all"]
    assert (cell["correct"], cell["lenient"]["correct"], cell["lenient"]["only"]) == (1, 3, 2)
    assert (cell["errors"], cell["noanswer"], cell["truncated"]) == (1, 2, 0)

    class Run:
        model, run_id = "m", "r"

    Run.records = records
    table = leaderboard(records_frame([Run]))
    assert table["lenient (+only lenient)"].tolist() == ["60.0 (+2)"]


WORDS = ["Candidate", "candidate_", "is", "wrong", "correct", "not", "and", "or", "the", "answer", "Answer:", "1", "2",
         "12", "1.5", "(2)", "so", "but", ".", ";", ",", "\n", "better", "than", "I", "choose", "neither", "errors",
         "both", "nor", "less", "as", "whether", "candidates", "&", "accurate", ":", "?", "partially", "argument",
         "claims", "wait", "therefore", "don't", "think", "cannot", "fewer", "seems", "maybe", "whether", "yes",
         "no", "wrongly", "is", "✓", "✗", "catches", "nothing", "thought", "rejected", "trust", "error",
         "the other", "other", "hand"]


@given(st.lists(st.sampled_from(WORDS), max_size=14))
def test_the_reading_treats_the_two_candidates_alike(words):
    text = " ".join(words)
    swapped = text.translate(str.maketrans("12", "21"))
    chosen, mirrored = read_choice(text).choice, read_choice(swapped).choice
    assert mirrored == (None if chosen is None else 3 - chosen)


@given(st.integers().filter(lambda n: n not in (1, 2)) | st.floats(allow_nan=False).filter(lambda x: x not in (1, 2)))
def test_no_other_number_is_a_choice(number):
    assert read_choice(str(number)).choice is None


@pytest.mark.parametrize("text", ["1e-12", "2E+5", "candidate 1e3", "The answer is 2e-7."])
def test_a_number_in_scientific_notation_is_no_choice(text):
    """Hypothesis found "1e-12" read as candidate 1: the exponent belongs to the number."""
    assert read_choice(text).choice is None


def test_an_answer_asked_with_other_stop_strings_is_cut_at_those():
    """A chat form asks without the completion prompt's "\\n" stop: its answer is not cut there."""
    p = MULT.Problem(7, 8)
    text = "Let me see.\n7 × 8 = 56"
    assert MULT.assess(p, MULT.render(p), Response(text=text)).lenient_answer is None  # cut at "\n": "Let me see."
    chat = MULT.assess(p, MULT.render(p), Response(text=text, stop=()))
    assert (chat.lenient, chat.lenient_answer) == (True, 56)
    assert Response.from_json(Response(text=text, stop=("\n\n",)).to_json()).stop == ("\n\n",)  # through the cache


SCRIPTS = {"fullwidth": "０１２３４５６７８９", "arabic-indic": "٠١٢３٤٥٦٧٨٩".replace("３", "٣"),
           "devanagari": "०१२३४५६७८९"}


@pytest.mark.parametrize("script", SCRIPTS)
@pytest.mark.parametrize("task, problem", [
    (MULT, MULT.Problem(47, 23)), (MULT, MULT.Problem(47, 23, scratchpad=True)), (CAUSAL, CAUSAL.sample(0, 3)),
    (JUDGE, JUDGE.sample(0, 1)), (JUDGE, JUDGE.sample(0, 2)),
])
def test_digits_of_another_script_are_no_strict_answer_and_a_lenient_one_in_every_task(task, problem, script):
    """The strict reading is the task's answer format, ASCII digits; the lenient one takes any script's digits,
    in every task alike (multiplication once took "５６" strict while causal and the judge did not)."""
    right = task.render_answer(problem, task.solve(problem))
    written = right.translate(str.maketrans("0123456789", SCRIPTS[script]))
    assert written != right and task.score(problem, Response(text=right)).correct
    score = task.score(problem, Response(text=written))
    assert (score.correct, score.answer) == (False, None)
    assert task.read_lenient(written, problem)[1]


def test_per_field_accuracy_says_it_leaves_failed_requests_out_where_the_accuracy_counts_them():
    """4 right products and 2 failed requests: the accuracy is 4/6 and every digit right in the answered 4."""
    from oraclebench.summary import field_lines

    records = _records([" 56"] * 4 + ["ERR"] * 2)
    summary = summarize(records)
    cell = summary["tasks"]["multiplication"]["all"]
    assert (cell["correct"], cell["n"], cell["errors"], cell["fields"]["d0"]) == (4, 6, 2, 1.0)
    assert field_lines(summary)[0].startswith(
        "multiplication per-field accuracy % (n: answers with the field; 2 failed left out): d0=100.0 (n=4)")
    assert field_lines(summarize(records[:4]))[0].startswith(
        "multiplication per-field accuracy % (n: answers with the field): d0=100.0 (n=4)")


def test_each_per_field_accuracy_is_shown_over_its_own_base_not_one_count_for_all():
    """7 x 8 = 56 has digits d0-d1, 1234 x 5678 = 7006652 has d0-d6: three right 56s, the 7-digit product
    right once and once wrong in its leading digit (8006652), one failed request. d0 and d1 are in all 5
    answers and right in all; d2-d6 in the 2 long ones, d6 right in 1; no one count is every field's base."""
    from oraclebench.summary import field_lines

    mult = get_task("multiplication")
    records = []
    for i, (a, b, text) in enumerate([(7, 8, " 56")] * 3 + [(1234, 5678, " 7006652"), (1234, 5678, " 8006652"),
                                                            (1234, 5678, "ERR")]):
        inst = mult.instance(mult.Problem(a, b), f"m{i}")
        response = Response(text=text, error="boom" if text == "ERR" else None)
        records.append(score_one(inst, mult.request(inst), response, "r", "m", None, False))
    line = " ".join(field_lines(summarize(records), width=1000))
    assert line.startswith("multiplication per-field accuracy % (n: answers with the field; 1 failed left out): ")
    for shown in ("d0=100.0 (n=5)", "d1=100.0 (n=5)", "d2=100.0 (n=2)", "d5=100.0 (n=2)", "d6=50.0 (n=2)",
                  "length=100.0 (n=5)"):
        assert f" {shown}" in line, shown
    assert "of the 5 answered" not in line
    # Wrapped narrow, a field's accuracy and its n stay on one line.
    assert not any(re.search(r"=[\d.]+$", line) for line in field_lines(summarize(records), width=30))


@pytest.mark.parametrize("text", [
    "6 × 8 = 48. Check: 48 / 8 = 6.", "6 × 8 = 46. No wait, 6 × 8 = 48.", "8 x 6 = 48, and 48 / 6 = 8",
    "The answer is 48. Check: 48/8 = 6",
    "6 × 8 = 5 × 8 + 8 = 40 + 8 = 48",  # a chain goes on to the product: its first term is no answer
    "6 × 8 = (6 × 4) × 2 = 24 × 2 = 48",
])
def test_the_lenient_product_is_the_one_the_problems_own_equation_gives_whatever_checks_follow(text):
    assert MULT.read_lenient(text, MULT.Problem(6, 8)) == (48, True)


@pytest.mark.parametrize("text, a, b, product", [
    # a chain that goes on from a decimal term: the number after "=" is taken whole ("2.5", not "2")
    ("25 × 4 = 2.5 × 40 = 100", 25, 4, 100), ("25 × 4 = 2.5 × 40\n= 100", 25, 4, 100),
    ("48 × 25 = 4.8 × 250 = 1,200", 48, 25, 1200),
    # a check in brackets or after a dash or an arrow: the product ends the equation
    ("7 × 8 = 56 (check: 56 ÷ 8 = 7)", 7, 8, 56), ("7 × 8 = 56 (since 56 / 8 = 7).", 7, 8, 56),
    ("5678 x 1234 = 7006652 (since 7006652 ÷ 1234 = 5678)", 1234, 5678, 7006652),
    ("7 × 8 = 56 - check: 56 / 8 = 7", 7, 8, 56), ("7 × 8 = 56 -- check: 56 / 8 = 7", 7, 8, 56),
    ("12 × 34 = 408 -> 408 / 34 = 12", 12, 34, 408),
    # the product in brackets, or said in words
    ("(12 × 34) = 408. Verify: 408/34 = 12", 12, 34, 408), ("7 × 8 equals 56. Check: 56 / 8 = 7.", 7, 8, 56),
    # "the answer is" before the calculation: what the calculation comes to, not its first term
    ("Answer: 12 × 34 = 408", 12, 34, 408), ("The answer is 12 × 34 = 408.", 12, 34, 408),
    ("**Answer:** 12 × 34 = 408", 12, 34, 408), ("12 × 34 = 400. No wait, the answer is 12 × 34 = 408.", 12, 34, 408),
])
def test_the_lenient_product_is_read_where_the_equation_or_the_answer_ends(text, a, b, product):
    """A trial's misreadings (each read the operand, a term or a check's number): the problem's own equation
    ends at a number that no calculation follows, and "the answer is" before a calculation is read from there."""
    assert MULT.read_lenient(text, MULT.Problem(a, b)) == (product, True)


@pytest.mark.parametrize("text", [
    "47 × 23 = 1081, 1081 / 23 = 47", "47 × 23 = 1,081, 1,081 / 23 = 47",  # a comma ends the product
    "The answer is 1081 = 47 × 23.",  # the result stated, then where it comes from
    "47 × 23 = 47 (20 + 3) = 940 + 141 = 1081",  # a bracket of a calculation goes on
    "47 times 23 is 940 plus 141, so 1081",  # operators in words go on
    "Answer: 1081\n\n1081 ÷ 23 = 47", "47 × 23 = 1081\n1081 / 47 = 23",  # a check on the next line
    "47 × 23 = 1081, so 2 × (47 × 23) = 2162",  # a bracket after an operator is a term of a larger product
])
def test_the_lenient_product_reads_as_before_where_its_fix_first_misread_it(text):
    """A second look at the fix above (209 phrasings, old reading against new): each read right before it
    and wrong after its first version, each a whole family (about 490 of 500 random problems)."""
    assert MULT.read_lenient(text, MULT.Problem(47, 23)) == (1081, True)


@pytest.mark.parametrize("text, read", [
    ("47 × 23 = 1071, wait, it's 1081", 1081), ("47 × 23 = 1071 — correction: 1081", 1081),
    ("The answer is 1071. Actually, 1081.", 1081), ("**1071**... no wait, 1081", 1081),
    # a correction that goes on in words, or into a calculation, gives no number of its own
    ("The answer is 1081. Actually, let me check: 47 × 20 = 940, 47 × 3 = 141.", 1081),
    ("47 × 23 = 1081. Wait, 1081 / 23 = 47 checks out.", 1081),
    ("Wait, it's 1071. The answer is 1081.", 1081),  # the answer given after the correction
])
def test_a_correction_that_gives_its_number_replaces_what_came_before(text, read):
    assert MULT.read_lenient(text, MULT.Problem(47, 23))[0] == read


@pytest.mark.parametrize("text, a, b, read", [
    ("6 × 8 = 6(8) = 48", 6, 8, 48),  # a bracket right after the number: an implicit product goes on
    ("6 × 8 = 50 - 2 = 48", 6, 8, 48), ("The answer is 50 - 2 = 48.", 6, 8, 48),
    ("The answer is 47. 6 × 8 = 48 was my first thought", 6, 8, 47),  # the answer cue comes first
])
def test_a_number_a_calculation_goes_on_from_is_no_answer_but_its_result_is(text, a, b, read):
    assert MULT.read_lenient(text, MULT.Problem(a, b))[0] == read


@pytest.mark.parametrize("text, read", [
    # a bracket after the answer that restates the product, or works on it, is an aside on the answer
    ("The answer is 1081(47×23)", 1081), ("1081 (47 × 23)", 1081), ("1081(47×23)", 1081),
    ("1081 (that is 47 times 23)", 1081), ("So 47 times 23 is 1081 (i.e. 47 × 23).", 1081),
    ("1081 (= 47 × 23)", 1081), ("1081 (since 47 × 20 = 940)", 1081), ("1,081 (47 × 23)", 1081),
    ("1071 (47 × 23 - 10)", 1071),  # the number before the bracket is what is read, right or wrong
    # a bracket after a term of a calculation is where the calculation goes on; a number alone in it is a result
    ("47 × 23 (40 × 23 + 7 × 23 = 1081)", 1081), ("47 × 23 (= 1081)", 1081), ("47 × 23 (1081)", 1081),
    ("47 × 23 = 47(23) = 1081", 1081), ("The answer is 47 (20 + 3) = 1081", 1081),
])
def test_a_bracket_that_restates_the_calculation_after_the_answer_is_an_aside(text, read):
    """Before, a bracket right after the answer continued it as an implicit product and the last number
    inside it was read: "1081(47×23)" read 23 (seen as a 2x2 answer scored wrong)."""
    assert MULT.read_lenient(text, MULT.Problem(47, 23))[0] == read


@pytest.mark.parametrize("text", [
    "I first thought 1,1,1,1 and 0 - 0, but it is 0,1,0,1, 3 - 2.",
    "The answer is 0,1,0,1 and 3 - 2. Earlier I had 1,1,1,1 and 0 - 0.",
    "0,1,0,1\n3 - 2\nNote: the old values were 1,0,1,0",
    "0,1,0,1\n3 - 2\n\nFor comparison, with no intervention: 1,1,1,1\n3 - 4",  # a check after the answer
    "New: 0 1 0 1\nSums: 3 - 2\n(old state 1 0 1 0 → 3 - 2)",
])
def test_the_lenient_causal_answer_is_the_final_one_as_for_a_number(text):
    """After the last "answer is" or correction, else the first run of values the sums follow: a check or
    comparison written after the answer is not it (a second trial: the last run read those)."""
    problem = CAUSAL.Problem((1, 0, 1, 0, 1))
    assert CAUSAL.render_answer(problem, CAUSAL.solve(problem)) == "\n0,1,0,1\n3 - 2\n"  # the hand reading
    assert CAUSAL.read_lenient(text, problem)[1]


def _own_equation(a: int, b: int) -> re.Pattern:
    """The equation cue written for one problem, as its definition reads: ``a × b =`` or ``b × a =`` (each
    operand its own digits, thousands separators optional), then a number that ends the equation."""
    from oraclebench.tasks.multiplication import ENDS, EQUALS, OPEN

    times = r"\s*(?:[×xX*·]|times)\s*"
    x, y = (r"(?<![\d.,])" + f"{n:,}".replace(",", ",?") + r"(?!\d)" for n in (a, b))
    return re.compile(rf"{OPEN}(?:{x}{times}{y}|{y}{times}{x}){EQUALS}{ENDS}", re.I)


_PIECES = st.sampled_from(["6", "8", "48", "1,234", "1234", "12,34", "0", "06", " ", "×", "x", "*", " times ", "=", " is ", "(", ")",
                           "+", ".", ",", "(", "Check: ", "\n", "5", "40", "-"])


@settings(max_examples=400, deadline=None)
@example("1,2345 × 5 = 11725", (2345, 5))  # "2345" follows a separator: part of another number
@example("6 × 8 = 5 × 8 + 8 = 48 and 8 x 6 = 48", (6, 8))
@given(st.lists(_PIECES, max_size=14).map("".join), st.sampled_from([(6, 8), (8, 6), (1234, 5), (2345, 5), (48, 48), (0, 6)]))
def test_the_equation_cue_finds_what_a_pattern_written_for_the_problem_finds(text, pair):
    """One pattern serves every problem (a pattern per problem cost a compile per answer read): where
    it says the problem's own equation ends is where a pattern written for that problem says."""
    from oraclebench.tasks.multiplication import _Equation

    cue = _Equation.of(MULT.Problem(*pair))
    assert [m.end() for m in cue.finditer(text)] == [m.end() for m in _own_equation(*pair).finditer(text)]


@pytest.mark.parametrize("text, right", [
    ("1,234 × 5 = 6,170. Check: 6170 / 5 = 1234.", True), ("5 × 1234 = 6170, so 6,170 / 5 = 1,234", True),
    ("12,34 × 5 = 6170. So 99.", False), ("01234 × 5 = 6170. So 99.", False),
])
def test_the_equation_cue_takes_thousands_separators_and_no_other_operands(text, right):
    assert MULT.read_lenient(text, MULT.Problem(1234, 5))[1] is right


# ------------------------------------------------------------ a number or candidate the answer rejects (review)


@pytest.mark.parametrize("text", [
    " The answer is not 1081 but 1071.", " I think it is 1071, not 1081.", " It is 1071 rather than 1081.",
    " 1071 (not 1081)", " It is 1071; 1081 is incorrect.", " The answer is 1081? Let me check: 47 × 23 = 1071.",
])
def test_the_lenient_product_is_never_the_number_the_answer_rejects(text):
    """Each of these gives 1071 (wrong: 47 × 23 = 1081) and rejects or only asks about 1081; the lenient reading took
    1081 and accepted every one of them (found by review)."""
    assert MULT.read_lenient(text, MULT.Problem(47, 23)) == (1071, False)


@pytest.mark.parametrize("text", [" −1081", " The answer is −1081.", " 47 × 23 = −1081", " –1081"])
def test_a_unicode_minus_or_dash_before_the_digits_is_a_minus_sign(text):
    """U+2212 and a dash before digits were dropped, so -1081 read as the right 1081 (found by review)."""
    assert MULT.read_lenient(text, MULT.Problem(47, 23)) == (-1081, False)


@pytest.mark.parametrize("text", [" 1\u202f081", " 1\u00a0081", " 47 × 23 = 1\u2009081", " \\boxed{1{,}081}",
                                  " $$47 \\cdot 23 = 1{,}081$$"])
def test_thousands_spaced_si_style_or_written_with_latex_braces_are_one_number(text):
    assert MULT.read_lenient(text, MULT.Problem(47, 23)) == (1081, True)  # read apart, it was 81 or 1


@pytest.mark.parametrize("text", [" 1 081", "The answer is 1 081.", "47 × 23 = 1 081", "**1 081**",
                                  "47 × 23 = 940 + 141 = 1 081"])
def test_thousands_spaced_with_an_ascii_space_are_one_number(text):
    """SI-style thousands are often typed with a plain space: "1 081" read 81 (a wrong product the model never
    wrote) where the thin space's "1 081" read 1081."""
    assert MULT.read_lenient(text, MULT.Problem(47, 23)) == (1081, True)


@pytest.mark.parametrize("text, read", [("**1071** or **1081**", None), ("It is **1071** or maybe **1081**.", None),
                                        ("**1081** (or 1,081)", 1081), ("**54**, not 56", 54)])
def test_a_marked_number_offered_beside_another_is_no_answer(text, read):
    """Two answers offered read no answer, marked or not; "**1071** or **1081**" read the last bold one."""
    assert MULT.read_lenient(text, MULT.Problem(47, 23))[0] == read


@pytest.mark.parametrize("text, read", [("47 23", 23), ("There are 2 100s", 100), ("1 0810", 810)])
def test_numbers_a_space_apart_that_are_no_thousands_stay_apart(text, read):  # guards: as before
    assert MULT.read_lenient(text, MULT.Problem(47, 23))[0] == read


@pytest.mark.parametrize("text", [
    # the product restated as the problem's own equation, or checked by dividing it back
    "1081 = 47 × 23", "1081 = 23 × 47.", "1081. Check: 1081 / 23 = 47.", "1081\n\nTo check: 1081 ÷ 47 = 23",
    "1081 is the product; 1081 / 23 = 47", "1081 (47 × 23). 1081 / 47 = 23", "Sure! 1081. Check: 1081 / 23 = 47.",
    "It's 1081. Check: 1081 / 23 = 47.", "47 × 23 is 1081. Check: 1081 / 23 = 47.",
    # stated first, then explained
    "1081, because 47 × 20 = 940 and 47 × 3 = 141.", "1081. That is 47 times 23.",
    "1081\n\n1. 47 × 20 = 940\n2. 47 × 3 = 141",
    # the problem's own product said with "is", "gives" or an arrow; "the product (of ...) is"
    "47 × 23 is 1081, because 47 × 20 = 940 and 47 × 3 = 141.", "47 × 23 → 1081, since 47 × 20 = 940 and 47 × 3 = 141",
    "47 × 23 gives 1081; 47 × 3 = 141", "The product is 1081. Check: 1081 / 23 = 47.",
    "The product of 47 and 23 is 1081, since 940 + 141 = 1081.",
    # scientific notation
    "1.081e3", "1.081E+3", "1.081 × 10^3", "1.081×10³", "$1.081 \\times 10^{3}$",
])
def test_a_right_product_followed_by_its_check_or_explanation_reads_right(text):
    """Each gives 1081 for 47 × 23 and then explains or checks it; the lenient reading took the last number
    written (23, 47, 141 or the exponent 3) and scored every one wrong (found by review)."""
    assert MULT.read_lenient(text, MULT.Problem(47, 23)) == (1081, True)


@pytest.mark.parametrize("text, read", [
    ("1071, which is 10 less than 1081", 1071), ("The result is 1071, which is 10 less than 1081", 1071),
    ("1071. Check: 1071 / 23 = 46.56", 1071),
    # what comes first is no statement of the answer: a numbered list, a count, a term, a partial product
    ("1. 47 × 20 = 940\n2. 47 × 3 = 141\n3. 940 + 141 = 1081", 1081),
    ("1) 47 × 20 = 940\n2) 47 × 3 = 141\n3) total 1081", 1081),
    ("2 steps: 47 × 20 = 940, 47 × 3 = 141, total 1081", 1081), ("940. Then 47 × 3 = 141. Sum: 1081.", 1081),
    # stated first, then taken back or redone: the last number
    ("1071\nHmm, let me recompute: 940 + 141 = 1081.", 1081), ("1071. Wait, actually 1081.", 1081),
    ("1.0815e3", 1081.5),
])
def test_a_number_stated_first_is_the_answer_only_when_what_follows_explains_it(text, read):
    assert MULT.read_lenient(text, MULT.Problem(47, 23))[0] == read


_EXAMPLE = ABCD.Problem(tuple("C A D B C".split()))  # the prompt's example: = C D A B C / = A B C / = C


@pytest.mark.parametrize("text", [
    # the last step said in prose, or with a full stop
    "= C D A B C\n= A B C\nThe result is C.", "= C D A B C\n= A B C\n= C.", "= C D A B C.\n= A B C.\n= C.",
    "= C D A B C\n= A B C\nFinal: C", "= C D A B C\n= A B C\n\nNormal form: C",
    "= C D A B C\n= A B C\n= C\n\nThe result is C.",  # said again after the trace: no extra step
    # a trace started again replaces the one before
    "= C D A C\nWait, actually:\n= C D A B C\n= A B C\n= C", "= C D A C\nHmm, let me redo this.\n= C D A B C\n= A B C\n= C",
    "= C D A C\n= C\nSorry, let me start over.\nC A D B C\n= C D A B C\n= A B C\n= C",
    "= C D A C\n= C\n\nC A D B C\n= C D A B C\n= A B C\n= C",  # from the program once more: no rewrite leads back to it
    # steps chained on one line, from the program or from the first step
    "C A D B C → C D A B C → A B C → C", "C D A B C → A B C → C", "= C D A B C\n= A B C = C",
])
def test_a_right_abcd_trace_among_prose_reads_right(text):
    """Each holds the example's right trace; the lenient reading dropped a last step written as prose or with a
    full stop, and joined a trace started again to the one before, and scored them wrong (found by review)."""
    assert ABCD.read_lenient(text, _EXAMPLE) == (("C D A B C", "A B C", "C"), True)


@pytest.mark.parametrize("text", [
    "= C D A B C\n= A B C\nThe result is A B C.", "= C D A B C\nThe result is C.",  # stopped early; a skipped step
    "= C D A B C\n= A B C\n= C\nWait, actually:\n= C D A B C\n= A B",  # the trace started again is wrong
    "Rules: C D becomes nothing.\nC B → B C\n= C D A B C",  # a rule written out is no step
])
def test_a_wrong_or_unfinished_abcd_trace_among_prose_stays_wrong(text):
    assert ABCD.read_lenient(text, _EXAMPLE)[1] is False


def test_an_abcd_result_said_in_prose_may_be_the_empty_program():
    problem = ABCD.Problem(("A", "B"))
    assert ABCD.solve(problem) == ("(empty)",)  # A B becomes nothing
    assert ABCD.read_lenient("A B\nThe result is (empty).", problem) == (("(empty)",), True)
    assert ABCD.read_lenient("The final program is empty.", problem) == (("(empty)",), True)


def test_a_causal_value_with_a_unicode_minus_keeps_its_sign():
    p = CAUSAL.Problem((0, 1, 1, 1, 0))
    want = CAUSAL.solve(p)
    assert CAUSAL.read_lenient("1,0,0,0\n\u22123 - 1", p) == ({**want, "old_sum": -3}, False)


@pytest.mark.parametrize("text, chosen", [
    ("Answer: candidate 2 is wrong", 1), ("Answer: candidate 2 is incorrect.", 1), ("Answer: candidate 2 is not correct", 1),
    ("The answer: candidate 2 made an error.", 1), ("The answer is candidate 2 is wrong.", 1),
    ("Final answer: candidate 2 is the incorrect one.", 1),
    ("2? No. 1.", 1), ("Candidate 2? No.", 1),  # a question about 2 answered no
    ("2 — no, 1.", None), ("2 - no, 1", None),  # a correction names both
    ('{"correct": 2, "incorrect": 1}', 2), ("The answer is candidate 2 because candidate 1 is wrong.", 2),
])
def test_an_answer_that_names_a_candidate_to_reject_it_does_not_choose_it(text, chosen):
    """"Answer: candidate 2 is wrong" read as choosing 2, in the strict reading too (found by review: a model
    naming the wrong candidate scored 100% on judge)."""
    assert read_choice(text).choice == chosen


# ------------------------------------------- an answer taken back, two answers offered, an approximation (review)


@pytest.mark.parametrize("text, read", [
    # the answer after a cue, then taken back: what the text gives instead
    ("The answer is 1081. Actually, I made a mistake: it is 1071.", 1071),
    ("The answer is 1081... no, 1071.", 1071), ("Answer: 1081 — no, 1071.", 1071),
    ("I believe the answer is 1081. Actually no, let me redo it: 47 × 23 = 1071.", 1071),
    ("47 × 23 = 1081. Hmm, actually let me double-check... no, it's 1071.", 1071),
    ("The answer is 1081. Scratch that, 1071.", 1071), ("The answer is 1081. On second thought, it's 1071.", 1071),
    ("The answer is 1081. Oops, I miscalculated: 47 × 23 = 1071.", 1071),
    ("The answer is 1081. Sorry, I was wrong; the correct answer is 1071.", 1071),
    ("The answer is 1081, or rather 1071.", 1071), ("**1081** — no, 1071", 1071),
    # the mirror images: a wrong answer taken back for the right one
    ("47 × 23 = 1071. Hmm, actually let me double-check... no, it's 1081.", 1081), ("The result is 1071... no, 1081.", 1081),
])
def test_an_answer_the_text_takes_back_is_replaced_by_the_one_it_gives_instead(text, read):
    """Each read the first answer, after "the answer is" or the problem's own equation, whatever the text said after
    it (found by review: the README says a correction replaces what came before)."""
    assert MULT.read_lenient(text, MULT.Problem(47, 23))[0] == read


@pytest.mark.parametrize("text", [
    # guards: readings that must not change (what follows checks the answer, or names a mistake it does not make)
    "The answer is 1081. A common mistake is to get 1071.",
    "47 × 23 = 1081. Let me double-check: 47 × 20 = 940, 47 × 3 = 141, 940 + 141 = 1081. Yes.",
    "The answer is 1081. Actually, let me check: 47 × 20 = 940, 47 × 3 = 141.",
    "1081, or one thousand eighty-one", "The answer is 1081, or 1,081.",  # one answer, said twice
    "What is 47 × 23? 1081", "So 1081, i.e. about 1.1 thousand",
])
def test_an_answer_checked_or_said_again_after_it_stands(text):
    assert MULT.read_lenient(text, MULT.Problem(47, 23)) == (1081, True)


@pytest.mark.parametrize("text", [
    # work done again after the answer: its numbers are steps, counts and estimates, not an answer given instead
    # (the last number of such work was read as the answer for a while: 2, 161, 69, 1000; found by review)
    "The answer is 1081.\n\nLet me recompute to double-check:\n- 47 × 20 = 940\n- 47 × 3 = 141\n- Sum: 940 + 141 = "
    "1081\n\nBoth methods agree (2 of 2).",
    "The answer is 1081.\n\nLet me redo it by columns: 7 × 3 = 21, write 1 carry 2.",
    "The answer is 1081.\n\nStarting over to check: 40 × 23 = 920; 7 × 23 = 161.",
    "The answer is 1081. Let me recompute another way: 50 × 23 = 1150, minus 3 × 23 = 69.",
    "The answer is 1081.\n\nLet me try estimating: 50 × 20 = 1000, close to 1081.",
    # a "no" that answers a question, or opens a clause of its own, takes nothing back (read 0, 2, 23)
    "The answer is 1081.\n\nAny remainder when dividing by 23? No, 0.",
    "The answer is 1081.\n\nAny carries lost? No, 2 carries, both counted.",
    "The answer is 1081; no, 23 is not a factor of 47.",
])
def test_numbers_of_work_done_again_or_after_a_reply_are_no_answer_given_instead(text):
    assert MULT.read_lenient(text, MULT.Problem(47, 23)) == (1081, True)


@pytest.mark.parametrize("text", [
    "It's either 1071 or 1081.", "It's 1071 or 1081; I can't tell which.", " 1071 or 1081\n", "1081, or maybe 1071",
    "The answer is 1071 or 1081.", "47 × 23 = 1081 or 1071", "Either 1071 or perhaps 1081.",
    "Is it 1081? No.",  # a number asked about is never the answer
    "47 × 23 ≈ 1081", "47 × 23 ≈ 1100", "The answer is about 1081.", "The answer is approximately 1081.",  # approximations
])
def test_two_answers_offered_a_question_or_an_approximation_is_no_answer(text):
    """Each read 1081 (or 1100) as the answer: two answers offered, a number asked about, an approximation are no
    exact answer (found by review)."""
    assert MULT.read_lenient(text, MULT.Problem(47, 23)) == (None, False)


@pytest.mark.parametrize("text", ["That's 1081 total, or roughly 1.1 thousand.", "Result: 1081 (approximately 1.1k)"])
def test_an_approximation_after_the_answer_is_an_aside_on_it(text):
    """Each read 1.1, the approximation, as the answer (found by review)."""
    assert MULT.read_lenient(text, MULT.Problem(47, 23)) == (1081, True)


@pytest.mark.parametrize("text", [
    # a trace started again on the line of "Wait, actually:" or after it, from the program or its first step: the
    # restart skips a step and is wrong, whatever the trace it took back
    "C A D B C → C D A B C → A B C → C\nWait, actually: C A D B C → C D A B C → C",
    "C A D B C → C D A B C → A B C → C\nWait, actually:\nC A D B C → C D A B C → C",
    "= C D A B C\n= A B C\n= C\nWait, actually: C D A B C → C",
    "C A D B C → C D A B C → A B C → C\nC A D B C → C D A B C → C",  # from the program once more
])
def test_an_abcd_trace_started_again_replaces_the_one_before_even_chained_on_one_line(text):
    assert ABCD.read_lenient(text, _EXAMPLE)[1] is False


@pytest.mark.parametrize("text", [
    "= C D A B C\n= C\nWait, actually: C D A B C → A B C → C",
    "= C D A B C\n= C\nWait, actually: C A D B C → C D A B C → A B C → C",
    "C A D B C → C D A B C → C\nC A D B C → C D A B C → A B C → C",
])
def test_a_right_abcd_trace_started_again_on_one_line_reads_right(text):
    assert ABCD.read_lenient(text, _EXAMPLE) == (("C D A B C", "A B C", "C"), True)


@pytest.mark.parametrize("text", [
    # the result said again in words after a word that reconsiders: no restart (each read the trace as "C" alone,
    # wrong, for a while: a review); each read right before this session's restarts
    "C D A B C\nA B C\nC\nHmm, that looks right. Final: C",
    "C A D B C → C D A B C → A B C → C\nLet me think: no rule applies to C, so the result is C.",
    "= C D A B C\n= A B C\n= C\nActually, the final answer is C.",
    "**Trace**\n1. C D A B C\n2. A B C\n3. C\n\nHmm, so the normal form is C.",
    "C D A B C\nA B C\nC\nHmm, that looks right.\nFinal: C",
])
def test_an_abcd_result_said_again_after_a_second_look_keeps_the_trace(text):
    assert ABCD.read_lenient(text, _EXAMPLE) == (("C D A B C", "A B C", "C"), True)


@pytest.mark.parametrize("text", ["C D A B C\nC D A B C\nA B C\nC", "C D A B C\nA B C\nC\nC"])
def test_an_abcd_step_written_twice_is_still_a_wrong_step(text):  # guard: a repeated line is no rewrite
    assert ABCD.read_lenient(text, _EXAMPLE)[1] is False


@pytest.mark.parametrize("text", [
    "Either 1,0,0,0 or 1,1,0,1.\n3 - 1", "1,0,0,0 or maybe 1,1,0,1\n3 - 1", "1,1,0,1 or 1,0,0,0\n3 - 1",
    "1,0,0,0\n3 - 1 or 3 - 2",
])
def test_two_causal_answers_offered_are_no_answer(text):
    """The first read right: two runs or two sums offered are no answer (found by review)."""
    assert CAUSAL.read_lenient(text, CAUSAL.Problem((0, 1, 1, 1, 0))) == (None, False)


@pytest.mark.parametrize("text", ["1,0,0,0, or in words one zero zero zero\n3 - 1", "Answer:\n1,0,0,0\n3 - 1\nor, written out, ..."])
def test_a_causal_answer_said_again_in_words_stands(text):  # guard: readings that must not change
    p = CAUSAL.Problem((0, 1, 1, 1, 0))
    assert CAUSAL.read_lenient(text, p) == (CAUSAL.solve(p), True)
