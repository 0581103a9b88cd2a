"""Callables for the ``python:`` adapter: one correct model and four wrong on purpose in a known region.

Each function takes a list of prompts and returns a list of completions, as a researcher's own
pipeline would. They see prompts only, so they read the problem back from the prompt text::

    pytest benchmark --model python:examples.flawed:oracle --explore   # no counterexample anywhere
    pytest benchmark --model python:examples.flawed:flawed --explore   # a minimal one per task

- ``oracle``: right on every task (the exact oracles, behind a prompt parser);
- ``seven_blind``: multiplication off by one whenever an operand contains the digit 7;
- ``no_cd``: abcd reduced without ever applying the rule ``C D -> nothing``;
- ``e_blind``: causal with ``newC`` flipped whenever the input ``E`` is 1;
- ``first_always``: judge always picks candidate 1;
- ``flawed``: all four flaws at once.

Outside its flaw, each function answers like ``oracle``.
"""

from __future__ import annotations

import re
from fractions import Fraction
from typing import Any, Callable

from oraclebench.oracles.abcd import format_program, parse_program, redexes, step
from oraclebench.oracles.judge import judge
from oraclebench.tasks import TaskError, get_task
from oraclebench.tasks.causal import parse_inputs
from oraclebench.tasks.judge_templates import TEMPLATES, plain, work

_MULT = re.compile(r"Q: What is (\d+) × (\d+)\?( Show your work\.)? A:")


def read_prompt(prompt: str) -> tuple[str, Any]:
    """The task and problem behind an oraclebench prompt; a ``ValueError`` for anything else."""
    if m := _MULT.fullmatch(prompt.strip()):
        task = get_task("multiplication")
        return task.name, task.Problem(int(m.group(1)), int(m.group(2)), bool(m.group(3)))
    if prompt.startswith("ABCD is a rewriting system"):
        last = prompt.rstrip("\n").rsplit("\n", 1)[-1]
        return "abcd", get_task("abcd").Problem(parse_program(last))
    judge = _read_judge(prompt)
    if judge is not None:
        return "judge", judge
    try:
        return "causal", get_task("causal").Problem(parse_inputs(prompt))
    except TaskError:
        raise ValueError(f"not an oraclebench prompt: {prompt[:60]!r}") from None


_JUDGE = re.compile(r"Question: (?P<question>.*)\ncandidate_1: (?P<one>.*)\ncandidate_2: (?P<two>.*)\nArgument: ")


def _read_judge(prompt: str) -> Any:
    """The judge problem behind a judge prompt, or None: the question's numbers give the true answer
    (``tasks.judge_templates``), and the oracle (``oracles.judge``) says which candidate reaches it.
    What ``solve`` reads (``swapped``) is exact; the argument's flags are not read back."""
    m = _JUDGE.search(prompt)
    if m is None:
        return None
    for template in TEMPLATES.values():
        numbers = _numbers(template.question, m["question"])
        if numbers is not None:
            truth = plain(work(template, numbers)[1])
            right_first = judge(m["one"], truth).correct
            return get_task("judge").Problem(
                template.name, tuple(plain(v) for v in numbers.values()), m["question"], truth,
                m["one"] if right_first else m["two"], m["two"] if right_first else m["one"], "unknown",
                prompt[m.end():], argument_correct=False, masked=False, swapped=not right_first)
    raise ValueError(f"judge: no template asks {m['question'][:60]!r}")


def _numbers(pattern: str, text: str) -> dict | None:
    """The values of ``pattern``'s ``{name}`` fields in ``text`` (``$12.50`` -> 25/2), or None."""
    names = re.findall(r"{(\w+)}", pattern)
    regex = re.escape(pattern)
    for name in dict.fromkeys(names):
        field = re.escape("{" + name + "}")
        regex = regex.replace(field, rf"\$?(?P<{name}>\d+(?:\.\d+)?)", 1).replace(field, rf"\$?(?P={name})")
    found = re.fullmatch(regex, text)
    return None if found is None else {name: Fraction(found[name]) for name in dict.fromkeys(names)}


def solve(prompt: str) -> str:
    """The exact completion a perfect model writes for ``prompt`` (a choice is "1" or "2")."""
    return _solution(*read_prompt(prompt))


def _solution(name: str, problem: Any) -> str:
    task = get_task(name)
    return task.render_answer(problem, task.solve(problem))


def _with(flaw: Callable[[str, Any], str | None]) -> Callable[[list[str]], list[str]]:
    """A model that answers like ``oracle`` except where ``flaw(task, problem)`` returns a completion."""

    def model(prompts: list[str]) -> list[str]:
        out = []
        for prompt in prompts:
            name, problem = read_prompt(prompt)
            wrong = flaw(name, problem)
            out.append(_solution(name, problem) if wrong is None else wrong)
        return out

    return model


def _seven(name: str, problem: Any) -> str | None:
    if name == "multiplication" and "7" in f"{problem.a}{problem.b}" and not problem.scratchpad:
        return f" {problem.a * problem.b + 1}\n"
    return None


def _no_cd(name: str, problem: Any) -> str | None:
    if name != "abcd":
        return None
    lines = [problem.tokens]
    while at := [i for i in redexes(lines[-1]) if tuple(lines[-1][i:i + 2]) != ("C", "D")]:
        lines.append(step(lines[-1], at[0]))
    return "".join(f"= {format_program(t)}\n" for t in (lines[1:] or lines)) + "\n"


def _e_blind(name: str, problem: Any) -> str | None:
    if name != "causal" or problem.inputs[4] != 1:
        return None
    task = get_task("causal")
    answer = dict(task.solve(problem))
    answer["newC"] = 1 - answer["newC"]
    answer["new_sum"] += 1 if answer["newC"] else -1
    return task.render_answer(problem, answer)


def _first(name: str, problem: Any) -> str | None:
    return "1" if name == "judge" else None


def oracle(prompts: list[str]) -> list[str]:
    """Right on every task."""
    return [solve(p) for p in prompts]


seven_blind = _with(_seven)
no_cd = _with(_no_cd)
e_blind = _with(_e_blind)
first_always = _with(_first)
flawed = _with(lambda name, problem: _seven(name, problem) or _no_cd(name, problem) or _e_blind(name, problem)
               or _first(name, problem))
