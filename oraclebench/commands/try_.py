"""``oraclebench try TASK INPUT --model NAME``: the oracle's answer and the model's, field by field.

    oraclebench try causal 1,0,1,0,1 --model gpt2-causal
    oraclebench try abcd "C A D B C" --model gpt2-abcd
    oraclebench try multiplication 47x23 --model gpt2-mult

Says whether the input was held out from the model's training (the-experiment's ``--test``).
"""

from __future__ import annotations

import json
import re
import sys

HELP = "compare the oracle's answer and a model's on one input"


def parse_causal(text: str):
    from tasks.causal import CausalProblem, parse_inputs

    return CausalProblem(parse_inputs(text))


def parse_abcd(text: str):
    from oracles.abcd import parse_program
    from tasks.abcd import AbcdProblem

    return AbcdProblem(parse_program(text))


def parse_multiplication(text: str):
    from tasks.base import TaskError
    from tasks.multiplication import Problem

    match = re.fullmatch(r"\s*(\d+)\s*(?:x|X|\*|×)\s*(\d+)\s*", text)
    if not match:
        raise TaskError(f"multiplication: {text!r} is not a product; write it like 47x23")
    return Problem(int(match.group(1)), int(match.group(2)))


# What a user types, per task. (judge instances are whole word problems: score them from a CSV.)
PARSERS = {"causal": parse_causal, "abcd": parse_abcd, "multiplication": parse_multiplication}


def parse_input(task: str, text: str):
    """The problem a user typed; a ``UsageError`` naming the problem and the expected form otherwise."""
    from oraclebench.errors import UsageError

    if task not in PARSERS:
        raise UsageError(f"try takes {', '.join(sorted(PARSERS))}, not {task!r}")
    try:
        return PARSERS[task](text)
    except ValueError as exc:  # TaskError and the oracles' parse errors
        raise UsageError(str(exc).splitlines()[0]) from None


def add_arguments(parser) -> None:
    parser.add_argument("task", help=", ".join(sorted(PARSERS)))
    parser.add_argument("input", help="'1,0,1,0,1' (causal), 'C A D B C' (abcd), '47x23' (multiplication)")
    parser.add_argument("--model", required=True, help="a model name (oracle, gpt2-causal, hf:PATH, ...)")
    parser.add_argument("--model-opt", action="append", default=[], metavar="KEY=VALUE")


def _paint(ok: bool, text: str, colour: bool) -> str:
    if not colour:
        return f"{'ok ' if ok else 'BAD'} {text}"
    return f"\033[{'32' if ok else '31'}m{text}\033[0m"


def _show(value) -> str:
    if isinstance(value, (list, tuple)):
        return " | ".join(map(str, value))
    return value if isinstance(value, str) else json.dumps(value)


def run(args) -> int:
    from models import ModelError, load_model
    from oraclebench.errors import UsageError
    from oraclebench.runner import task_manifest
    from tasks import get_task

    task = get_task(args.task)
    problem = parse_input(args.task, args.input)
    options = dict(o.split("=", 1) for o in args.model_opt if "=" in o)
    try:
        model = load_model(args.model, options)
    except ModelError as exc:
        raise UsageError(str(exc)) from None
    instance = task.instance(problem, f"{task.name}-try")
    response = model.generate([task.request(instance)])[0]
    score = task.score(problem, response)
    split = task.split(problem, task_manifest(model, task.name))
    colour = sys.stdout.isatty()

    if task_manifest(model, task.name) is None:
        print(f"{task.name} {args.input!r}: {model.name} has no training manifest (nothing known held out)")
    else:
        where = "HELD OUT from" if split == "heldout" else "seen in"
        print(f"{task.name} {args.input!r}: {where} {model.name}'s training")
    print(f"prompt:   {task.render(problem).prompt.splitlines()[-1] if task.name == 'abcd' else task.render(problem).prompt}")
    if response.error:
        print(_paint(False, f"model request failed: {response.error}", colour))
        return 1
    expected, answer = score.expected, score.answer
    if isinstance(expected, dict):
        for name, value in expected.items():
            got = answer.get(name) if isinstance(answer, dict) else None
            print(f"  {name:10s} oracle {value!s:8s} model " + _paint(score.fields.get(name, got == value), str(got), colour))
    else:
        print(f"  oracle   {_show(expected)}")
        print("  model    " + _paint(score.correct, _show(answer) if answer is not None else "(no answer)", colour))
    print(_paint(score.correct, "correct" if score.correct else f"wrong: {score.reason}", colour))
    return 0 if score.correct else 1
