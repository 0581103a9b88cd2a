"""Callables for the ``python:`` adapter, each wrong in one known region of one task (tests/test_explore.py).

They are not the flaws of ``examples/flawed.py``: each region holds small instances and larger ones
of other knob settings, so a search that only shrinks values within the setting it first drew stops
above the smallest failure. Like a user's pipeline they see prompts only and read the problem back
from the text; outside its region each answers like ``examples.flawed.oracle``.

- ``product_has_7``: multiplication off by one when a × b has a digit 7 (7 = 1 × 7 included);
- ``b_multiple_of_11``: multiplication off by one when b has two digits or more and 11 divides a × b;
- ``a_two_digits_b_one``: multiplication off by one when a has two digits or more and b is 1;
- ``b_then_a``: abcd ends on a wrong result on any program with a ``B`` right before an ``A``;
- ``d_d_long``: abcd ends on a wrong result on programs of 4 tokens or more with ``D D`` in them;
- ``three_ones``: causal flips ``newA`` when exactly three inputs are 1;
- ``a_and_b``: causal flips ``newD`` when A and B are both 1;
- ``judge_dropped`` / ``judge_misread``: judge picks the wrong candidate when the wrong explanation's
  error kind is ``dropped`` / ``misread`` (found by rebuilding each kind's mutations from the question);
- ``judge_speed``: judge picks the wrong candidate on the ``speed`` template.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from examples.flawed import _numbers, read_prompt, solve  # noqa: E402
from oraclebench.tasks import get_task  # noqa: E402
from oraclebench.tasks.judge_templates import ERRORS, TEMPLATES, mutations, work  # noqa: E402


def _with(task: str, region: Callable[[Any], bool], wrong: Callable[[Any], str]) -> Callable[[list[str]], list[str]]:
    def model(prompts: list[str]) -> list[str]:
        out = []
        for prompt in prompts:
            name, problem = read_prompt(prompt)
            out.append(wrong(problem) if name == task and region(problem) else solve(prompt))
        return out

    return model


def _off_by_one(p) -> str:
    return f" {p.a * p.b + 1}\n"


def _wrong_result(p) -> str:
    abcd = get_task("abcd")
    lines = list(abcd.solve(p))
    lines[-1] = "A" if lines[-1] == "(empty)" else "(empty)"  # the trace ends on a result that is not the normal form
    return abcd.render_answer(p, tuple(lines))


def _flip(field: str) -> Callable[[Any], str]:
    def wrong(p) -> str:
        causal = get_task("causal")
        answer = dict(causal.solve(p))
        answer[field] = 1 - answer[field]
        answer["new_sum"] += 1 if answer[field] else -1
        return causal.render_answer(p, answer)

    return wrong


def error_kind(p) -> str:
    """The error kind of a judge problem read back from its prompt: the kind whose mutation writes its wrong text."""
    t = TEMPLATES[p.template]
    q = _numbers(t.question, p.question)
    for kind in ERRORS:
        if any(work(t, q, m)[0] == p.wrong for m in mutations(t, q, kind)):
            return kind
    raise ValueError(f"no error kind writes {p.wrong[:60]!r}")


def _other_candidate(p) -> str:
    return "1" if p.swapped else "2"


def _has_pair(tokens, pair) -> bool:
    return pair in zip(tokens, tokens[1:])


# Each region: (task, where the callable is wrong, what it answers there).
REGIONS: dict[str, tuple[str, Callable[[Any], bool], Callable[[Any], str]]] = {
    "product_has_7": ("multiplication", lambda p: "7" in str(p.a * p.b), _off_by_one),
    "b_multiple_of_11": ("multiplication", lambda p: p.b >= 10 and p.a * p.b % 11 == 0, _off_by_one),
    "a_two_digits_b_one": ("multiplication", lambda p: p.a >= 10 and p.b == 1, _off_by_one),
    "b_then_a": ("abcd", lambda p: _has_pair(p.tokens, ("B", "A")), _wrong_result),
    "d_d_long": ("abcd", lambda p: len(p.tokens) >= 4 and _has_pair(p.tokens, ("D", "D")), _wrong_result),
    "three_ones": ("causal", lambda p: sum(p.inputs) == 3, _flip("newA")),
    "a_and_b": ("causal", lambda p: p.inputs[0] == 1 and p.inputs[1] == 1, _flip("newD")),
    "judge_dropped": ("judge", lambda p: error_kind(p) == "dropped", _other_candidate),
    "judge_misread": ("judge", lambda p: error_kind(p) == "misread", _other_candidate),
    "judge_speed": ("judge", lambda p: p.template == "speed", _other_candidate),
}
globals().update({name: _with(*region) for name, region in REGIONS.items()})
