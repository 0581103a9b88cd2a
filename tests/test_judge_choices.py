"""Judge answers a careful reader reads as a choice, which ``read_choice`` once read as no answer (found by
review), each with the other phrasings of its family; and the ones that stay no answer, and why. Every
expected value is a hand reading of the text (candidates 1 and 2). A few members of a family were read
right before too ("so candidate 1 (82) is wrong" alone, "Correct: candidate 2"); they stay as its
specification."""

from __future__ import annotations

import pytest

from oraclebench.tasks import get_task
from oraclebench.tasks.base import Response
from oraclebench.tasks.judge_reading import read_choice
from oraclebench.tasks.reading import unmarked

JUDGE = get_task("judge")

RESTATED = "Candidate 1 says the total is 82. Candidate 2 says 47. The argument's mistake is identified by candidate 2."


@pytest.mark.parametrize("text, chosen", [
    # the reasoning points to candidate 2 (or to neither), then the choice alone, as its own line or sentence
    (f"{RESTATED} **2**", 2), (f"{RESTATED} 2", 2), (f"{RESTATED}\n\n**2**", 2), (f"{RESTATED}\n[2]", 2),
    (f"{RESTATED}\n(2)", 2), (f"{RESTATED}\n`2`", 2), (f"{RESTATED}\n**Candidate 2**", 2), (f"{RESTATED}\n2.", 2),
    ("Candidate 1 gets 82 and candidate 2 gets 47.\n\n**2**", 2),  # nothing concluded before: the line concludes
    ("Which one is right? 2", 2),
    ("Candidate 1 adds instead of subtracting.\n\n*1*", 1),
])
def test_a_bare_choice_after_the_reasoning_restates_it(text, chosen):
    assert read_choice(text).choice == chosen
    assert read_choice(unmarked(text)).choice == chosen  # the lenient reading, with the markup gone


@pytest.mark.parametrize("text", [
    "Candidate 1 is correct.\n\n**2**",  # a verdict for 1, then 2: which is meant is not said
    "Candidate 2 is wrong. 2",
    "The answer is 1.\n2",
    "1\n2", "Candidate 1.\n**2**",  # a bare choice corrected without words
    "Candidate 2 says 82.\n**1**",  # the text named 2 alone, then 1
    "Candidate 1 is wrong. Candidate 2 is wrong too.\n**2**",
])
def test_a_bare_choice_against_what_the_text_said_before_names_both(text):
    reading = read_choice(text)
    assert reading.choice is None and "names both candidates" in reading.why


@pytest.mark.parametrize("text, chosen", [
    ("so candidate 1 (82) is wrong", 2),
    ("Candidate 1 gets 82 and candidate 2 gets 47, so candidate 1 (82) is wrong.", 2),
    ("Candidate 1, with 82, is wrong.", 2),
    ("Candidate 1 (82.) is wrong.", 2),  # a full stop inside the brackets ends no sentence
    ("Candidate 1 (82; off by 35) is wrong.", 2),
    ("Candidate 1 (i.e., 82) is wrong.", 2), ("Candidate 1, i.e. the one with 82, is wrong.", 2),
    ("Candidate 1 (82 vs. 47) is wrong.", 2),
    ("Candidate 1 (which claims 82) is wrong.", 2),
    # the argument inside the aside is not what the verdict after it speaks of
    ("Candidate 1 (the argument's answer, 82) is wrong.", 2),
    ("Candidate 1, like the argument, is wrong.", 2),
    ("Candidate 1 \u2014 like the argument \u2014 is wrong.", 2),
    ("Candidate 2 (47) is correct, candidate 1 (82) is not.", 2),
])
def test_an_aside_between_a_candidate_and_its_verdict_leaves_the_verdict_its(text, chosen):
    assert read_choice(text).choice == chosen


def test_an_aside_that_reports_the_argument_makes_no_verdict_of_the_answer():
    # "Candidate 2, the argument says, is wrong": the argument's verdict, not the answer's
    assert read_choice("Candidate 2, the argument says, is wrong.") == read_choice("").__class__(
        None, "names a candidate only as what the argument claims")


@pytest.mark.parametrize("text, chosen", [
    ("The argument says candidate 2, and I agree.", 2),
    ("Candidate 1 gets 82 and candidate 2 gets 47. The argument says candidate 2, and I agree.", 2),
    ("The argument says candidate 2. I agree.", 2),
    ("The argument claims candidate 2 is right, and I agree with it.", 2),
    ("The argument claims candidate 1 is wrong, and I agree.", 2),  # agreeing with a verdict against 1
    ("The argument says candidate 2, but I disagree.", 1),
    ("The argument claims candidate 2 is right. I disagree.", 1),
    ("The argument claims candidate 1 is wrong, but I disagree.", 1),
    ("Candidate 1 claims 47; I agree with candidate 1.", 1),
    ("Candidate 1 claims 47; candidate 2 claims 82. I agree with candidate 1.", 1),
    ("Candidate 1 claims 47. I agree.", 1), ("Candidate 1 claims 47. I disagree.", 2),
    ("I disagree with candidate 1.", 2),
    ("Candidate 2 is right, and I disagree with candidate 1.", 2),  # not a verdict against 2 as well
    ("Candidate 1 claims 47; candidate 2 claims 82. I do not agree with candidate 1.", 2),
    ("Candidate 1 claims 47; candidate 2 claims 82. I side with candidate 2.", 2),
    ("Candidate 1 claims 47; candidate 2 claims 82. I'm with candidate 2.", 2),
    ("Candidate 1 claims 47; candidate 2 claims 82. I agree with the second candidate.", 2),
])
def test_agreeing_with_a_claim_makes_it_the_answers_verdict(text, chosen):
    assert read_choice(text).choice == chosen


@pytest.mark.parametrize("text, why", [
    # what the argument claims, with no agreement, is still no verdict
    ("The argument claims candidate 2 is right.", "names a candidate only as what the argument claims"),
    # one candidate agreeing with the other is no verdict of the answer's
    ("Candidate 2 agrees with candidate 1.", "names both candidates without a conclusion"),
    # "I agree" after two claims does not say which
    ("Candidate 1 says 82. Candidate 2 says 47. I agree.", "names both candidates without a conclusion"),
])
def test_a_claim_not_agreed_with_stays_no_answer(text, why):
    assert read_choice(text) == read_choice(text).__class__(None, why)


@pytest.mark.parametrize("text, chosen", [
    ("Correct: 2", 2), ("Correct: candidate 2", 2), ("Right answer: 2", 2), ("**Correct:** 2", 2),
    ("Candidate 1 gets 82, candidate 2 gets 47. Correct: 2", 2),
    ("Incorrect: 1", 2), ("Incorrect: candidate 1.", 2), ("Wrong answer: 1", 2), ("Wrong: 1", 2),
    ("Verdict: 2", 2), ("Winner: candidate 2", 2), ("Final verdict: **1**", 1),
    ("Incorrect: 1, correct: 2", 2), ("Correct: candidate 2, incorrect: candidate 1", 2),
    ("Verdict: candidate 2 is wrong", 1),  # the verdict's own clause calls 2 wrong
    ("The argument is wrong: candidate 2.", 2),  # no label: the verdict before the colon is the argument's
])
def test_a_label_with_a_colon_speaks_of_the_candidate_after_it(text, chosen):
    assert read_choice(text).choice == chosen


@pytest.mark.parametrize("text, chosen", [
    ("Candidate 1 says 47. Candidate 2 says 82. The latter is correct.", 2),
    ("Candidate 1 says 47. Candidate 2 says 82. The former is wrong.", 2),
    ("Candidate 1 says 47. Candidate 2 says 82. The former is correct.", 1),
    ("Candidate 2 says 47. Candidate 1 says 82. The latter is correct.", 1),  # the order named, not the number
    ("Candidates 1 and 2 differ. The latter one is right.", 2),
    ("The first candidate says 82 and the second says 47. The latter is right.", 2),
    ("Candidate 1 gets 82, candidate 2 gets 47. I choose the latter.", 2),
    ("Candidate 1 gets 82, candidate 2 gets 47. I agree with the former.", 1),
    ("Candidate 1 gets 82, candidate 2 gets 47. The latter half of candidate 1 is wrong.", 2),  # "latter half": no one
])
def test_the_former_and_the_latter_are_the_candidates_in_the_order_named(text, chosen):
    assert read_choice(text).choice == chosen


@pytest.mark.parametrize("text", [
    "Candidate 1 gets 82. The latter is right.",  # one candidate named before: no order
    "The latter is right.",
    "Candidate 1 gets 82, candidate 2 gets 47, unlike candidate 1. The latter is right.",  # named 1, 2, then 1 again
])
def test_the_former_or_the_latter_without_an_order_is_no_answer(text):
    reading = read_choice(text)
    assert reading.choice is None and reading.why


@pytest.mark.parametrize("text, chosen", [
    ("| Candidate | Correct? |\n|---|---|\n| 1 | No |\n| 2 | Yes |", 2),
    ("| Candidate | Correct? |\n|---|---|\n| 1 | Yes |\n| 2 | No |", 1),
    ("| Candidate | Answer | Correct? |\n|---|---|---|\n| 1 | 82 | **No** |\n| 2 | 47 | **Yes** |", 2),
    ("| Candidate | Has an error? |\n|---|---|\n| 1 | Yes |\n| 2 | No |", 2),  # the header says what yes means
    ("| Candidate | Is it wrong? |\n|---|---|\n| 1 | Y |\n| 2 | N |", 2),
    ("| Candidate | Not correct? |\n|---|---|\n| 1 | Yes |\n| 2 | No |", 2),
    ("| Candidate | Valid |\n|---|---|\n| 1 | no |", 2),
    ("| Candidate | Verdict |\n|---|---|\n| 1 | \u2717 |\n| 2 | \u2713 |", 2),
])
def test_a_yes_no_table_reads_each_row_by_its_columns_header(text, chosen):
    assert read_choice(text).choice == chosen


def test_yes_and_no_under_a_header_that_is_no_verdict_say_nothing():
    reading = read_choice("| Candidate | Checked? |\n|---|---|\n| 1 | Yes |\n| 2 | No |")
    assert reading == reading.__class__(None, "names both candidates without a conclusion")


@pytest.mark.parametrize("template", [
    "Candidate {o} says the total is 82. Candidate {r} says 47. The argument's mistake is identified by candidate {r}. **{r}**",
    "Candidate {o} gets 82 and candidate {r} gets 47, so candidate {o} (82) is wrong.",
    "The argument says candidate {r}, and I agree.",
    "Candidate {o} gets 82, candidate {r} gets 47. **Correct:** {r}",
    "Candidate 1 says 82. Candidate 2 says 47. The {which} is correct.",
    "| Candidate | Correct? |\n|---|---|\n| {o} | No |\n| {r} | Yes |",
])
def test_the_judge_task_reads_them_strict_and_lenient(template):
    p = JUDGE.sample(0, 0)
    right = JUDGE.solve(p)
    text = template.format(r=right, o=3 - right, which="former" if right == 1 else "latter")
    assert JUDGE.read_lenient(text, p) == (right, True)
    assert JUDGE.score(p, Response(text=text)).answer == right


@pytest.mark.parametrize("text, chosen", [
    ("1\n" * 3000, 1), ("**2**\n" * 1000, 2),  # restated again and again: one restatement, at any length
    ("Candidate 2 is right.\n" + "2\n" * 500 + "1", None),  # the last bare line goes against the ones before
])
def test_a_run_of_bare_lines_at_the_end_reads_as_one_and_never_overflows(text, chosen):
    """Each bare last line was read by reading the text before it again, one call deeper per line: 1,000 lines
    raised RecursionError (found by review), an answer the run could not score."""
    assert read_choice(text).choice == chosen


def test_a_clause_of_thousands_of_mentions_is_read_piece_by_piece():
    # A model repeating itself writes one clause of thousands of mentions; each was read against every other one
    # (a minute for 2,000 of them). A clause is read in pieces of at most CLAUSE_CHARS characters, cut at a space.
    from oraclebench.tasks.judge_reading import CLAUSE_CHARS, _clauses

    text = "candidate 1 is right, " * 2000
    clauses = _clauses(text)
    assert all(b - a <= CLAUSE_CHARS for a, b in clauses) and clauses[0][0] == 0 and clauses[-1][1] == len(text)
    assert all(text[b - 1] == " " or text[b] == " " for _, b in clauses[:-1])  # never inside a word
    assert read_choice(text).choice == 1


@pytest.mark.parametrize("text, chosen", [
    ("I found an error in candidate 1.", 2),
    ("We spotted a slip in candidate 2's second step.", 1),
    ("I've found a mistake in candidate 2.", 1),
    ("Candidate 1: I found an error in step 2.", 2),
    ("I noticed a mistake in candidate 1, so candidate 2 is correct.", 2),  # guard: read 2 before too
    ("Candidate 2 catches the error.", 2),  # guard: the candidate acts on the error, it does not make it
    ("Candidate 1 catches the error, so it is correct.", 1),  # guard
])
def test_an_error_the_answer_finds_in_a_candidate_is_the_candidates(text, chosen):
    """"An error a candidate finds is not one it makes" (``Candidate 2 catches the error.`` is 2) also caught the
    answer's own finding: "I found an error in candidate 1." read 1 (review). The candidate acts only where it is
    named before the verb and the verb is not the answer's (I, we)."""
    assert read_choice(text).choice == chosen


@pytest.mark.parametrize("text, chosen", [
    ("Candidate 1 is correct. Actually, I was mistaken: candidate 2 is correct.", None),  # read 1: both right now
    ("I was wrong: candidate 2 is correct.", 2),  # read no answer ("wrong" was said of candidate 2)
    # guards (each read so before; a take-back rule that dropped verdicts before them read several of them as the
    # other candidate, found by review, and was taken out before it reached a run)
    ("Candidate 2 is correct. I misread candidate 1 at first.", 2),
    ("Candidate 2 is correct. My earlier error was thinking candidate 1 caught the flaw.", 2),
    ("**Answer: 1**\n\nI was wrong in my first read of candidate 2; it actually accepts the flaw.", 1),
    ("Candidate 1 is correct. I was wrong to doubt it.", 1),
    ("Candidate 2 is correct. (I made a small error in my first pass, but it doesn't change the verdict.)", 2),
    ("Candidate 2, because candidate 1 makes an error. I double-checked my error analysis.", 2),
    ("The answer is 2. On second thought, I'm sure: 2.", 2),
])
def test_the_answers_words_about_itself_are_no_verdict_on_a_candidate(text, chosen):
    assert read_choice(text).choice == chosen
