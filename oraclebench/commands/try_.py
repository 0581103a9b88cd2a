"""``oraclebench try TASK INPUT --model NAME``: the oracle's answer and the model's, field by field.

    oraclebench try causal 1,0,1,0,1 --model gpt2-causal
    oraclebench try abcd "C A D B C" --model gpt2-abcd
    oraclebench try multiplication 47x23 --model gpt2-mult

Says whether the input was held out from the model's training (the-experiment's ``--test``), then
shows each field (causal variables and sums, multiplication digits, abcd trace lines) in green where
the model agrees with the oracle and red where it does not; without a terminal the marks are
``ok``/``XX``. Exit status 0 when the answer is right, 1 when it is wrong, 2 on bad input.
"""

from __future__ import annotations

import re
import sys

HELP = "compare the oracle's answer and a model's on one input"


def parse_causal(text: str):
    from oraclebench.tasks.causal import CausalProblem, parse_inputs

    return CausalProblem(parse_inputs(text))


def parse_abcd(text: str):
    from oraclebench.oracles.abcd import parse_program
    from oraclebench.tasks.abcd import AbcdProblem

    return AbcdProblem(parse_program(text))


def parse_multiplication(text: str):
    from oraclebench.oracles.numbers import read_int
    from oraclebench.tasks.base import TaskError
    from oraclebench.tasks.multiplication import MAX_DIGITS, Problem

    match = re.fullmatch(r"\s*(\d+)\s*[xX*×]\s*(\d+)\s*", text)
    if not match:
        raise TaskError(f"multiplication: {text[:40]!r} is not a product; write it like 47x23 (or 47*23, '47 × 23')")
    a, b = read_int(match.group(1), MAX_DIGITS), read_int(match.group(2), MAX_DIGITS)
    if not (isinstance(a, int) and isinstance(b, int)):
        raise TaskError(f"multiplication: operands have 1 to {MAX_DIGITS} digits; write it like 47x23")
    return Problem(a, b)


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
    parser.add_argument("--model", default="oracle", help="a model name: oracle (default), gpt2-causal, hf:PATH, ...")
    parser.add_argument("--model-opt", action="append", default=[], metavar="KEY=VALUE", help="adapter option, repeatable")
    parser.add_argument("--heldout", default=None, metavar="SPEC",
                        help="what the model saw in training, as the task's spec (overrides its manifest)")


class Painter:
    """Green/red on a terminal, ``ok``/``XX`` marks otherwise."""

    def __init__(self, colour: bool):
        self.colour = colour

    def __call__(self, ok: bool, text: str) -> str:
        if self.colour:
            return f"\033[{'32' if ok else '31'}m{text}\033[0m"
        return f"{text} [{'ok' if ok else 'XX'}]"


def _fields_causal(score, paint) -> list[str]:
    answer = score.answer if isinstance(score.answer, dict) else {}
    return [f"  {name:8s} oracle {value!s:4s} model {paint(score.fields.get(name, False), str(answer.get(name, '-')))}"
            for name, value in score.expected.items()]


def _fields_multiplication(score, paint) -> list[str]:
    want = str(score.expected)
    got = "" if score.answer is None else str(score.answer)
    # One mark per digit, aligned from the units as the task's d0, d1, ... fields are.
    digits = "".join(paint(score.fields.get(f"d{len(got) - 1 - i}", False), c) if paint.colour else c
                     for i, c in enumerate(got))
    lines = [f"  oracle {want:>12s}", f"  model  {digits or '(no answer)':>12s}"]
    wrong = [k for k, ok in score.fields.items() if not ok]
    lines.append("  fields " + (paint(True, "all digits right") if not wrong else paint(False, "wrong: " + ", ".join(wrong))))
    return lines


def _fields_abcd(score, paint) -> list[str]:
    answer = list(score.answer or ())
    bad = score.detail.get("first_bad_line")
    lines = ["  oracle (leftmost first)      | model"]
    for i in range(max(len(score.expected), len(answer))):
        want = score.expected[i] if i < len(score.expected) else ""
        got = answer[i] if i < len(answer) else ""
        ok = bad is None or i < bad
        lines.append(f"  {want:28s} | {paint(ok, got) if got else ''}")
    lines.append("  " + "  ".join(f"{k}: {paint(ok, 'right' if ok else 'wrong')}" for k, ok in score.fields.items()))
    return lines


FIELDS = {"causal": _fields_causal, "multiplication": _fields_multiplication, "abcd": _fields_abcd}


def run(args) -> int:
    from oraclebench.models import ModelError, load_model
    from oraclebench.errors import UsageError
    from oraclebench.runner import task_manifest
    from oraclebench.tasks import get_task

    task = get_task(args.task)
    problem = parse_input(args.task, args.input)
    options = {}
    for item in args.model_opt:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"--model-opt {item!r}: write KEY=VALUE, e.g. device=cpu")
        options[key.strip()] = value.strip()
    override = {task.name: task.manifest_from_spec(args.heldout)} if args.heldout else None
    try:
        model = load_model(args.model, options)
    except ModelError as exc:
        raise UsageError(str(exc)) from None
    instance = task.instance(problem, f"{task.name}-try")
    request = task.request(instance)
    response = model.generate([request])[0]
    score = task.assess(problem, request, response)
    manifest = task_manifest(model, task.name, override)
    paint = Painter(sys.stdout.isatty())

    if manifest is None:
        print(f"{task.name} {args.input!r}: {model.name} has no training manifest for {task.name} "
              "(nothing known to be held out; --heldout SPEC says what it saw)")
    elif task.split(problem, manifest) == "heldout":
        print(f"{task.name} {args.input!r}: HELD OUT from {model.name}'s training (it never saw this input)")
    else:
        print(f"{task.name} {args.input!r}: seen in {model.name}'s training")
    print(f"prompt:  {request.prompt.rstrip().splitlines()[-1]!r}")
    if response.error:
        print(paint(False, f"model request failed: {response.error}"))
        return 1
    print(f"oracle:  {task.render_answer(problem, task.solve(problem))!r}")
    print(f"model:   {response.text!r}")
    for line in FIELDS[task.name](score, paint):
        print(line)
    print(paint(score.correct, "correct" if score.correct else f"wrong: {score.reason}"))
    return 0 if score.correct else 1
