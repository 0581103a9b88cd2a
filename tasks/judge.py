"""Judge: which of two chain-of-thought answers to a word problem is correct? (seed 004, Alpaca-7b)

The model reads a question, two worked answers and an argument for one of them, and continues
``The correct answer is candidate_`` with ``1`` or ``2``. The prompt is Alpaca's, with input::

    Question: <question>
    candidate_1: <explanation>
    candidate_2: <explanation>
    Argument: <choice argument>

The Request has ``choices=("1", "2")``, ``spans`` = the two explanations (verbatim in the prompt, in
order) and ``span_prompts`` = the arguer prompt for each (Alpaca with the question as instruction and
an empty response, which the explanation continues): the transplant adapter runs the arguer over
``span_prompt + span`` and puts those hidden states over the span's tokens in the chooser prompt.

Problems come from twelve templates (``tasks.judge_templates``); the wrong answer has one error kind:
``slip`` (final-step arithmetic, the seed's 35 + 12 = 58), ``operation``, ``dropped``, ``misread``.
The argument argues for the right candidate iff ``argument_correct``; ``masked`` writes
``Candidate _`` for every candidate identifier in it (it still names the answer it argues for,
``arrives at 47 tickets``, as the seed's masked arguments do); ``swapped`` puts the right answer
second. Arguments for right and wrong answers are drawn from the same phrasings.

Manifest: ``{"templates": [seen names], "errors": [seen kinds], "masked": bool}``; an instance is
heldout iff its template or its error kind is not seen (a missing key: all seen), or, where the
manifest fixes ``masked`` (the judge recipe trains on one masking), its masking is the other one. Spec: ``templates=tickets,money;
errors=slip,operation`` (either part optional). CSV problems (``load_csv``) have template ``csv`` and
error ``unknown``, so they are heldout under any manifest.

Smallest (the counterexample search's measure): fewer steps, then the template's rank (``RANK``:
among templates of as many steps, the one with the smallest lowest numbers first), then smaller
numbers (their sum, then in order). A search draws the template and the error kind easiest first.

Completion: ``"1"`` or ``"2"``, up to the first line break. ``parse`` reads a choice as a whole
token or phrase (``1``, ``(2)``, ``candidate_1``, ``Candidate 2``, ``Answer: 2``, ``the second
candidate``, ``The correct answer is candidate_2``) and what a verdict concludes (``Candidate 1 is
wrong; candidate 2 is correct.`` is 2): ``tasks.judge_reading``. ``12``, ``1.5``, ``one``, ``both``
and a text naming both candidates without a conclusion are NOANSWER, the reason saying which. The
lenient reading also looks through markup (``**2**``, ``\\boxed{2}``).
"""

from __future__ import annotations

import csv
import dataclasses
import functools
import itertools
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from oraclebench.oracles.judge import final_answer, judge
from oraclebench.tasks.base import (
    CHAT_PROSE_TOKENS, ChatPrompt, Draw, LowestDraw, Request, Response, Score, Split, Stratum, Task, TaskError,
)
from oraclebench.tasks.reading import unmarked
from oraclebench.tasks.judge_reading import read_choice
from oraclebench.tasks.judge_templates import ERRORS, TEMPLATES, answer_text, argument, mutations, plain, question, work

NAME = "judge"
TEMPLATE_NAMES = tuple(TEMPLATES)


def _lowest_numbers(name: str) -> tuple:
    """A template's numbers at the lowest draw of each quantity: its smallest (numbers grow with every draw)."""
    return tuple(plain(v) for v in TEMPLATES[name].draw(LowestDraw()).values())


# Templates easiest first: fewest steps, then the smallest lowest numbers (sum, then in order).
EASIEST_FIRST = tuple(sorted(TEMPLATE_NAMES, key=lambda n: (len(TEMPLATES[n].steps), sum(_lowest_numbers(n)),
                                                            _lowest_numbers(n), TEMPLATE_NAMES.index(n))))
RANK = {name: rank for rank, name in enumerate(EASIEST_FIRST)}

ALPACA = ("Below is an instruction that describes a task. Write a response that appropriately completes "
          "the request.\n\n### Instruction:\n{instruction}\n\n### Response:\n")
ALPACA_INPUT = ("Below is an instruction that describes a task, paired with an input that provides further "
                "context. Write a response that appropriately completes the request.\n\n### Instruction:\n"
                "{instruction}\n\n### Input:\n{input}\n\n### Response:\n")
CHOICE_INSTRUCTION = ("A question and two answer candidates are given, with an argument about which candidate "
                      "is the best. Decide which candidate answers the question correctly.")
RESPONSE_START = "The correct answer is candidate_"
ANSWER_TOKENS = 4  # "1" or "2" after RESPONSE_START, with room for a space or a newline


@dataclass(frozen=True)
class Problem:
    """One judge instance. ``correct``/``wrong`` are the explanations; ``swapped``: the right one is candidate 2."""

    template: str
    numbers: tuple
    question: str
    answer: int | float
    correct: str
    wrong: str
    error: str
    argument: str
    argument_correct: bool
    masked: bool
    swapped: bool


def _names(knob: str, value, known: tuple[str, ...]) -> tuple[str, ...]:
    names = value.split(",") if isinstance(value, str) else value
    names = [str(n).strip() for n in names if str(n).strip()] if isinstance(names, (tuple, list)) else []
    if not names:
        raise TaskError(f"{NAME}: {knob}={value!r} must be a non-empty list of names from: {', '.join(known)}")
    names = tuple(dict.fromkeys(names))
    unknown = [n for n in names if n not in known]
    if unknown:
        raise TaskError(f"{NAME}: unknown {knob} {', '.join(unknown)}; known: {', '.join(known)}")
    return names


@dataclass(frozen=True)
class Config:
    """``templates``/``errors``: what to draw from; ``argument_correct``, ``masked``, ``swapped``:
    fixed to True/False, or None to draw each instance."""

    templates: tuple[str, ...] = TEMPLATE_NAMES
    errors: tuple[str, ...] = ERRORS
    argument_correct: bool | None = None
    masked: bool | None = None
    swapped: bool | None = None

    def __post_init__(self):
        object.__setattr__(self, "templates", _names("templates", self.templates, TEMPLATE_NAMES))
        object.__setattr__(self, "errors", _names("errors", self.errors, ERRORS))
        for knob in ("argument_correct", "masked", "swapped"):
            if getattr(self, knob) not in (None, True, False):
                raise TaskError(f"{NAME}: {knob}={getattr(self, knob)!r} must be True, False or None (drawn)")


# --------------------------------------------------------------------------- prompts


def arguer_prompt(question: str) -> str:
    """The prompt an explanation of ``question`` continues (the arguer's pass)."""
    return ALPACA.format(instruction=question)


def candidates(p: Problem) -> tuple[str, str]:
    """The two explanations in the order shown: candidate 1, candidate 2."""
    return (p.wrong, p.correct) if p.swapped else (p.correct, p.wrong)


def choice_prompt(p: Problem) -> str:
    """The chooser's prompt, ending with ``The correct answer is candidate_``."""
    one, two = candidates(p)
    given = f"Question: {p.question}\ncandidate_1: {one}\ncandidate_2: {two}\nArgument: {p.argument}"
    return ALPACA_INPUT.format(instruction=CHOICE_INSTRUCTION, input=given) + RESPONSE_START


def chat_prompt(p: Problem) -> ChatPrompt:
    """The chooser's question for a chat model: the same text without Alpaca's frame or the
    unfinished ``candidate_`` it ends with, and the answer sentence that ``parse`` reads."""
    one, two = candidates(p)
    given = f"Question: {p.question}\ncandidate_1: {one}\ncandidate_2: {two}\nArgument: {p.argument}"
    return ChatPrompt("Answer with the number of the correct candidate alone: 1 or 2.",
                      f"{CHOICE_INSTRUCTION}\n\n{given}", ANSWER_TOKENS + CHAT_PROSE_TOKENS)


def argued(p: Problem) -> int:
    """The candidate (1 or 2) that the argument argues for."""
    right = 2 if p.swapped else 1
    return right if p.argument_correct else 3 - right


_IDENTIFIER = re.compile(r"\b(candidate)[\s_]*[12]\b", re.I)


def mask_argument(text: str) -> str:
    """Every candidate identifier written as ``Candidate _``: the seed's masked arguments.

    >>> mask_argument("Candidate 1 is right and candidate_2 is not.")
    'Candidate _ is right and candidate _ is not.'
    """
    return _IDENTIFIER.sub(r"\1 _", text)


# --------------------------------------------------------------------------- a user's CSV

CSV_COLUMNS = ("Question", "Correct Answer", "Correct Argument", "Incorrect Answer", "Incorrect Argument",
               "Choice Answer", "Choice Argument", "Choice Answers Swapped")
_REQUIRED = ("Question", "Correct Answer", "Incorrect Answer", "Choice Answer", "Choice Argument",
             "Choice Answers Swapped")
_BOOLS = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}


def load_csv(path: str | Path, masked: bool = False) -> list[Problem]:
    """Judge problems from a CSV with the seed-004 columns (as its ``datagen-main.py`` writes them).

    - ``Correct Answer``/``Incorrect Answer``: the final answer (``47.0``); ``Correct Argument``/
      ``Incorrect Argument``: the worked explanation. Where an Argument column is missing or empty,
      the Answer column is taken as the explanation (the seed README shows it that way).
    - The true answer is what ``oracles.judge.final_answer`` reads from ``Correct Answer``, sign and
      fraction included (``-5``, ``3/4``, ``\\frac{3}{4}``, ``2 1/2``, ``\\boxed{-5}``): an int when
      whole, else the nearest float.
    - ``Choice Argument``: the argument; ``Choice Answer``: the candidate it picks as shown
      (``candidate_1``/``candidate_2``); ``Choice Answers Swapped``: the correct explanation is
      candidate 2 (``True``/``False``). ``\\n`` in a cell is a newline (the seed escaped them).

    ``masked=True`` masks the arguments (``mask_argument``). A missing column or an unreadable cell
    is a TaskError naming the row.
    """
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        missing = [c for c in _REQUIRED if c not in (reader.fieldnames or ())]
        if missing:
            raise TaskError(f"{NAME}: {path} lacks column(s) {', '.join(missing)}; expected {', '.join(CSV_COLUMNS)}")
        return [_row_problem(row, n, path, masked) for n, row in enumerate(reader, start=2)]


def _row_problem(row: dict, n: int, path, masked: bool) -> Problem:
    cell = {k: (v or "").replace("\\n", "\n").strip() for k, v in row.items() if k}
    where = f"{NAME}: {path} row {n}"
    answer = final_answer(cell["Correct Answer"])
    if answer is None or (answer.denominator != 1 and abs(answer) >= 10 ** 300):
        raise TaskError(f"{where}: no number in Correct Answer {cell['Correct Answer'][:40]!r} "
                        "(or one too large to read); write the final answer, e.g. 47 or -3/4")
    choice = re.fullmatch(r"(?:candidate[\s_]*)?([12])", cell["Choice Answer"], re.I)
    swapped = _BOOLS.get(cell["Choice Answers Swapped"].lower())
    if choice is None or swapped is None:
        raise TaskError(f"{where}: Choice Answer must be candidate_1 or candidate_2 and Choice Answers Swapped "
                        f"True or False; got {cell['Choice Answer']!r}, {cell['Choice Answers Swapped']!r}")
    text = mask_argument(cell["Choice Argument"]) if masked else cell["Choice Argument"]
    return Problem(
        template="csv", numbers=(), question=cell["Question"],
        answer=int(answer) if answer.denominator == 1 else float(answer),
        correct=cell.get("Correct Argument") or cell["Correct Answer"],
        wrong=cell.get("Incorrect Argument") or cell["Incorrect Answer"],
        error="unknown", argument=text, argument_correct=(int(choice.group(1)) == 2) == swapped,
        masked=masked or bool(re.search(r"\bcandidate\s*_(?![_\s]*[12])", text, re.I)), swapped=swapped,
    )


# --------------------------------------------------------------------------- the task

def position_parity(template: str, error: str, argument_correct: bool, masked: bool) -> int:
    """The parity (0 or 1) of a frozen stratum's four axis indices: 1 puts two of its three right answers
    in candidate 2, 0 in candidate 1 (``JudgeTask.frozen_configs``).

    A parity over every axis, not the stratum's counter: a counter's parity is the innermost axis itself
    (v1 split by ``k % 2``, which was the masking, so every masked stratum had two right answers as
    candidate 2 and every unmasked one two as candidate 1). Fixing any axes but not all four leaves
    the others' indices free, whose parities sum to as many odd strata as even ones (12 templates,
    4 error kinds, 2 of each flag: all even counts).
    """
    index = TEMPLATE_NAMES.index(template) + ERRORS.index(error) + int(argument_correct) + int(masked)
    return index % 2


def _pick(draw: Draw, fixed: bool | None) -> bool:
    return draw.boolean() if fixed is None else fixed


def _softmax(scores: list[float] | None) -> tuple[float | None, float | None]:
    if not scores or len(scores) != 2 or not all(isinstance(s, (int, float)) and not math.isnan(s) for s in scores):
        return None, None
    top = max(scores)
    if math.isinf(top):
        return None, None
    e1, e2 = math.exp(scores[0] - top), math.exp(scores[1] - top)
    return e1 / (e1 + e2), e2 / (e1 + e2)


class JudgeTask(Task[Problem]):
    """Choose the correct one of two chain-of-thought answers, given an argument for one of them."""

    name = NAME
    version = "v2"  # v1: the right answer's position followed the masking (see position_parity)
    Config = Config
    Problem = Problem
    size_fields = ("steps", "template_rank", "numbers_sum", "numbers")
    knobs = ("template", "error")
    report_view = "judge"

    def trained_on(self, knob: str, manifest: dict):
        """The ``templates`` and ``errors`` training drew from."""
        key = {"template": "templates", "error": "errors"}.get(knob)
        if key and manifest.get(key):
            values = {str(v) for v in manifest[key]}
            return (lambda x: str(x) in values), f"{key} {', '.join(sorted(values))}"
        return None, ""
    search_choices = 16  # at most 15 are drawn (subtraction): every template's examples are as long

    def generate(self, draw: Draw, config: Config) -> Problem:
        # Knobs first, easiest first for a search: the template by RANK, the error kind in ERRORS order.
        t = TEMPLATES[draw.knob(config.templates, RANK.__getitem__)]
        error = draw.knob(config.errors, ERRORS.index)
        q = t.draw(draw)
        correct, answer = work(t, q)
        wrong, wrong_answer = work(t, q, draw.choice(mutations(t, q, error)))
        argument_correct = _pick(draw, config.argument_correct)
        masked = _pick(draw, config.masked)
        swapped = _pick(draw, config.swapped)
        p = Problem(t.name, tuple(plain(v) for v in q.values()), question(t, q), plain(answer), correct, wrong,
                    error, "", argument_correct, masked, swapped)
        winner = argued(p)
        names = ("_", "_") if masked else (str(winner), str(3 - winner))
        says = (answer_text(t, answer), answer_text(t, wrong_answer))
        said = says if argument_correct else says[::-1]
        return dataclasses.replace(p, argument=argument(draw, *names, *said))

    def solve(self, problem: Problem) -> int:
        """The candidate (1 or 2) holding the correct explanation."""
        return 2 if problem.swapped else 1

    # ---- text ---------------------------------------------------------------------------------
    def render(self, problem: Problem) -> Request:
        spans = candidates(problem)
        arguer = arguer_prompt(problem.question)
        # The stop string holds for a choice generated as text (a model without log-probabilities).
        return Request(choice_prompt(problem), stop=("\n",), max_tokens=ANSWER_TOKENS, choices=("1", "2"),
                       spans=spans, span_prompts=(arguer, arguer))

    def chat(self, problem: Problem) -> ChatPrompt:
        return chat_prompt(problem)

    def render_answer(self, problem: Problem, answer: int) -> str:
        return str(answer)

    def parse(self, text: str, problem: Problem) -> int | None:
        """1 or 2 from the text after ``candidate_``, or None (NOANSWER): ``judge_reading.read_choice``."""
        return read_choice(text).choice

    def read_lenient(self, text: str, problem: Problem) -> tuple[int | None, bool]:
        """The choice read through markup (``**2**``, ``\\boxed{2}``), and whether it is the right one."""
        chosen = read_choice(unmarked(text)).choice
        return chosen, chosen == self.solve(problem)

    # ---- scoring ------------------------------------------------------------------------------
    def score(self, problem: Problem, response: Response) -> Score:
        expected = self.solve(problem)
        if response.error:
            return Score(False, None, expected, reason=f"error: {response.error}")
        if response.choice is not None:
            chosen = response.choice + 1 if response.choice in (0, 1) else None
            why = f"expected 1 or 2 after 'candidate_', got {response.choice!r}"
        else:
            reading = read_choice(response.text)
            chosen, why = reading.choice, reading.why
        p1, p2 = _softmax(response.scores)
        correct = chosen == expected
        detail = {
            "chosen": chosen, "p1": p1, "p2": p2, "argument_correct": problem.argument_correct,
            "followed_argument": None if chosen is None else chosen == argued(problem),
            "masked": problem.masked, "template": problem.template, "error": problem.error,
        }
        if chosen is None:
            reason = f"no answer: {why}"
        elif not correct:
            reason = f"chose candidate {chosen}, the wrong explanation: {judge(problem.wrong, problem.answer).reason}"
        else:
            reason = ""
        return Score(correct, chosen, expected, reason, {"choice": correct}, detail)

    # ---- the search's measure ----------------------------------------------------------------
    def size(self, problem: Problem) -> tuple:
        """Steps then numbers: the template's steps, its rank among templates of as many steps (``RANK``:
        smallest lowest numbers first), then the sum of the question's numbers and the numbers in order.
        Error kind, argument flags and wording do not count: instances differing only there are as small.
        A CSV problem (no template) comes after every generated one."""
        numbers = tuple(problem.numbers)
        t = TEMPLATES.get(problem.template)
        if t is None:
            return (math.inf, len(RANK), sum(numbers), numbers)
        return (len(t.steps), RANK[problem.template], sum(numbers), numbers)

    def strata(self, config: Config, like: Problem | None = None) -> list[Stratum]:
        """One per template, easiest first. A template holds far more instances than a search can ask, so
        each lists its lowest-numbers instances only (not complete): ``like``'s error kind and argument
        flags first, then the other settings, those closest to ``like`` first."""
        one = {name: dataclasses.replace(config, templates=(name,)) for name in config.templates}
        return [Stratum(name, one[name], functools.partial(self._lowest, one[name], like), complete=False)
                for name in sorted(config.templates, key=RANK.__getitem__)]

    def _lowest(self, config: Config, like: Problem | None) -> Iterator[Problem]:
        """The template's lowest-numbers instance for each error kind and argument flags of ``config``."""
        flags = ("argument_correct", "masked", "swapped")
        near = {"error": like.error if like else ERRORS[0], **{f: getattr(like, f) if like else False for f in flags}}
        values = [sorted(config.errors, key=ERRORS.index)]
        values += [(False, True) if getattr(config, f) is None else (getattr(config, f),) for f in flags]
        settings = [dict(zip(near, setting)) for setting in itertools.product(*values)]
        settings.sort(key=lambda c: sum(c[k] != near[k] for k in near))  # stable: ERRORS order, False first
        for c in settings:
            fixed = dataclasses.replace(config, errors=(c["error"],), **{f: c[f] for f in flags})
            yield self.generate(LowestDraw(), fixed)

    # ---- sets and splits ----------------------------------------------------------------------
    def bucket(self, problem: Problem) -> dict:
        return {"template": problem.template, "error": problem.error,
                "argument_correct": problem.argument_correct, "masked": problem.masked}

    def subset_axes(self, problem: Problem) -> dict:
        # The right answer's position is half the score of a model that always picks one candidate.
        return {**self.bucket(problem), "answer": self.solve(problem)}

    def coverage_bucket(self, problem: Problem) -> str:
        """The template: ``strata`` has one per template."""
        return problem.template

    def stratum(self, label: str, bucket: dict) -> str:
        return str(bucket.get("template", label))

    def label(self, problem: Problem) -> str:
        label = f"{problem.template}-{problem.error}-arg{'T' if problem.argument_correct else 'F'}"
        return label + "-m" if problem.masked else label

    def split(self, problem: Problem, manifest: dict | None) -> Split:
        if manifest is None:
            return "unknown"
        for key, value in (("templates", problem.template), ("errors", problem.error)):
            if key in manifest and value not in manifest[key]:
                return "heldout"
        if manifest.get("masked") is not None and problem.masked != manifest["masked"]:
            return "heldout"  # the recipe trains on one masking only: the other is outside what it saw
        return "seen"

    def frozen_configs(self) -> list[tuple[Config, int]]:
        """12 templates x 4 errors x argument right/wrong x masked or not = 192 strata of 3: 576 instances.

        Each stratum is split by position, 2 + 1 or 1 + 2: the right answer is twice candidate 2 where the
        parity of the stratum's four axis indices is odd (``position_parity``). So half the right answers
        are candidate 2 in the whole set and in every cell of any one, two or three of the axes (each
        such cell holds an even number of strata, half of each parity), and so in every split that
        templates, error kinds and masking define: a constant answer scores 50% in each.
        """
        out = []
        strata = [(t, e, a, m) for t in TEMPLATE_NAMES for e in ERRORS for a in (True, False) for m in (False, True)]
        for t, e, a, m in strata:
            odd = position_parity(t, e, a, m)
            for swapped, count in ((False, 2 - odd), (True, 1 + odd)):
                out.append((Config((t,), (e,), a, m, swapped), count))
        return out

    def train_config(self, manifest: dict | None) -> Config:
        """Only the seen templates and error kinds; argument, masking and position drawn."""
        manifest = manifest or {}
        return Config(tuple(manifest.get("templates", TEMPLATE_NAMES)), tuple(manifest.get("errors", ERRORS)),
                      masked=manifest.get("masked"))

    def manifest_from_spec(self, spec: str) -> dict:
        """``"templates=tickets,money;errors=slip"`` -> ``{"templates": [...], "errors": ["slip"]}``.

        Names the seen templates and error kinds; a part left out means all of them.
        """
        known = {"templates": TEMPLATE_NAMES, "errors": ERRORS}
        manifest: dict = {}
        parts = [part.strip() for part in spec.split(";") if part.strip()]
        if not parts:
            raise TaskError(f"{NAME}: empty spec; write e.g. templates=tickets,money;errors=slip,operation")
        for part in parts:
            key, sep, value = (s.strip() for s in part.partition("="))
            if not sep or key not in known:
                raise TaskError(f"{NAME}: bad spec part {part!r}; write templates=a,b and/or errors=x,y separated by ';'")
            if key in manifest:
                raise TaskError(f"{NAME}: {key}= given twice in spec {spec!r}; give it once")
            manifest[key] = list(_names(key, value, known[key]))
        return {key: manifest.get(key, list(names)) for key, names in known.items()}


TASK = JudgeTask()
