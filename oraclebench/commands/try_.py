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

import sys

HELP = "compare the oracle's answer and a model's on one input"


def parse_input(task: str, text: str):
    """The problem a user typed (``Task.read_input``); a ``UsageError`` naming the problem and the expected form."""
    from oraclebench.errors import UsageError
    from oraclebench.tasks import TaskError, get_task, typed_tasks

    try:
        reader = get_task(task)
    except TaskError as exc:
        raise UsageError(str(exc)) from None
    if reader.typed_example is None:
        raise UsageError(f"try takes {', '.join(typed_tasks())}, not {task!r}")
    try:
        return reader.read_input(text)
    except ValueError as exc:  # TaskError and the oracles' parse errors
        raise UsageError(str(exc).splitlines()[0]) from None


def add_arguments(parser) -> None:
    parser.add_argument("task", help="a task that reads typed input: abcd, causal, multiplication, or another package's")
    parser.add_argument("input", help="the task's typed form: '1,0,1,0,1' (causal), 'C A D B C' (abcd), '47x23' (multiplication)")
    parser.add_argument("--model", default="oracle", help="a model name: oracle (default), gpt2-causal, hf:PATH, ...")
    parser.add_argument("--model-opt", action="append", default=[], metavar="KEY=VALUE", help="adapter option, repeatable")
    parser.add_argument("--heldout", default=None, metavar="SPEC",
                        help="what the model saw in training, as the task's spec (overrides its manifest)")
    from oraclebench.commands.generate import add_variant_arguments

    add_variant_arguments(parser)


class Painter:
    """Green/red on a terminal, ``ok``/``XX`` marks otherwise."""

    def __init__(self, colour: bool):
        self.colour = colour

    def __call__(self, ok: bool, text: str) -> str:
        if self.colour:
            return f"\033[{'32' if ok else '31'}m{text}\033[0m"
        return f"{text} [{'ok' if ok else 'XX'}]"


def paint_view(view, paint: Painter) -> list[str]:
    """A task's ``field_view`` as terminal lines: marked pieces painted, the others as they are."""
    lines = []
    for pieces in view:
        text = ""
        for text_, ok, *how in pieces:
            if ok is None or (how and not paint.colour):
                text += text_
            else:
                text += paint(ok, text_)
        lines.append(text)
    return lines


def run(args) -> int:
    from oraclebench.models import ModelError, declared_splits, load_model, local_manifest
    from oraclebench.errors import UsageError
    from oraclebench.runner import TRUNCATED, check_model_manifest, task_manifest, task_trained, training_note
    from oraclebench.commands.generate import bind_variants
    from oraclebench.tasks import get_task

    bind_variants(args)
    task = get_task(args.task)
    options = {}
    for item in args.model_opt:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"--model-opt {item!r}: write KEY=VALUE, e.g. device=cpu")
        options[key.strip()] = value.strip()
    override = {task.name: task.manifest_from_spec(args.heldout)} if args.heldout else None
    try:
        declared = (override or declared_splits(args.model, options) or {}).get(task.name)
        # A model of another world: a usage error naming both, before its input is read in this world ("1,0,3"
        # of the model's own world read "bad sequence" in the default one) and before the model is loaded.
        task.check_variant(declared, args.model)
        check_model_manifest(args.model, local_manifest(args.model))  # as a run checks it, before loading: one line
    except ModelError as exc:
        raise UsageError(str(exc)) from None
    problem = parse_input(args.task, args.input)
    try:
        model = load_model(args.model, options)
    except ModelError as exc:
        raise UsageError(str(exc)) from None
    manifest = task_manifest(model, task.name, override)
    instance = task.instance(problem, f"{task.name}-try")
    request = task.request(instance)
    response = model.generate([request])[0]
    score = task.assess(problem, request, response)
    paint = Painter(sys.stdout.isatty())

    note = training_note(task, problem, model.name, manifest, task_trained(model, task.name))[1]
    print(f"{task.name} {args.input!r}: {note}")
    print(f"prompt:  {request.prompt.rstrip().splitlines()[-1]!r}")
    if response.error:
        print(paint(False, f"model request failed: {response.error}"))
        return 1
    print(f"oracle:  {task.render_answer(problem, task.solve(problem))!r}")
    print(f"model:   {response.text!r}")
    for line in paint_view(task.field_view(score), paint):
        print(line)
    if response.truncated and not score.correct:  # as a run's record says it: cut short, not wrong
        print(paint(False, f"truncated: {response.truncated_why or TRUNCATED}; {score.reason}"))
        return 1
    print(paint(score.correct, "correct" if score.correct else f"wrong: {score.reason}"))
    return 0 if score.correct else 1
