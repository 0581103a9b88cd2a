"""Surface shortcuts on the judge task, for the ``python:`` adapter: baselines that read no reasoning.

Seed 004 warns that a chooser can score well "by simply checking the last step". These callables pick a
candidate from the prompt's surface alone, so that a judge score is read against what they reach on
the same instances, not against the 50% of a coin::

    pytest benchmark --model python:examples.judge_shortcuts:longer -m judge
    python -m oraclebench.judge_report python:examples.judge_shortcuts:shortcuts@latest

- ``longer``: the longer candidate (a ``dropped`` error leaves a step out, so the wrong one is shorter);
- ``true_claims``: the candidate with fewer false ``a op b = c`` claims (a ``slip`` writes one);
- ``question_numbers``: the candidate that repeats more of the question's numbers (a ``misread`` changes one);
- ``shortcuts``: false claims first, then the question's numbers, then length, each deciding only where
  the one before ties.

Ties go to candidate 1. Each returns ``" 1"`` or ``" 2"``, the completion the prompt asks for.
"""

from __future__ import annotations

import re
from fractions import Fraction
from typing import Callable

_PARTS = re.compile(r"Question: (?P<q>.*?)\ncandidate_1: (?P<c1>.*?)\ncandidate_2: (?P<c2>.*?)\nArgument:", re.S)
_NUMBER = r"-?\d[\d,]*(?:\.\d+)?"
_CLAIM = re.compile(rf"({_NUMBER})\s*([-+×x*/÷])\s*({_NUMBER})\s*=\s*({_NUMBER})")
_OPS: dict[str, Callable[[Fraction, Fraction], Fraction]] = {
    "+": lambda a, b: a + b, "-": lambda a, b: a - b, "×": lambda a, b: a * b, "x": lambda a, b: a * b,
    "*": lambda a, b: a * b, "/": lambda a, b: a / b if b else Fraction(-10**9), "÷": lambda a, b: a / b if b else Fraction(-10**9),
}


def _parts(prompt: str) -> tuple[str, str, str]:
    m = _PARTS.search(prompt)
    if m is None:
        raise ValueError("not a judge prompt (no 'Question:', 'candidate_1:', 'candidate_2:', 'Argument:')")
    return m.group("q"), m.group("c1"), m.group("c2")


def _value(text: str) -> Fraction:
    return Fraction(text.replace(",", ""))


def _false_claims(text: str) -> int:
    return sum(_OPS[op](_value(a), _value(b)) != _value(c) for a, op, b, c in _CLAIM.findall(text.replace("$", "")))


def _shared_numbers(question: str, text: str) -> int:
    asked = set(re.findall(r"\d[\d,]*(?:\.\d+)?", question))
    return sum(n in asked for n in re.findall(r"\d[\d,]*(?:\.\d+)?", text))


def _pick(scores: tuple[float, float]) -> int:
    return 2 if scores[1] > scores[0] else 1


def _by(key: Callable[[str, str], float]) -> Callable[[list[str]], list[str]]:
    def answer(prompts: list[str]) -> list[str]:
        out = []
        for prompt in prompts:
            q, c1, c2 = _parts(prompt)
            out.append(f" {_pick((key(q, c1), key(q, c2)))}")
        return out
    return answer


longer = _by(lambda q, c: len(c))
true_claims = _by(lambda q, c: -_false_claims(c))
question_numbers = _by(lambda q, c: _shared_numbers(q, c))


def shortcuts(prompts: list[str]) -> list[str]:
    out = []
    for prompt in prompts:
        q, c1, c2 = _parts(prompt)
        choice = 1
        for key in (lambda c: -_false_claims(c), lambda c: _shared_numbers(q, c), len):
            a, b = key(c1), key(c2)
            if a != b:
                choice = 2 if b > a else 1
                break
        out.append(f" {choice}")
    return out
