"""``oraclebench explore TASK [TASK ...] --model NAME [--budget N] [--budget-seconds S] [--seed S]``.

Searches each task for the smallest instance the model gets wrong, by the task's measure
(``oraclebench.explore``), and prints one line per task: the instance, its measure, and whether it
is proven minimal (every smaller instance answered right) or the smallest found. Regression
cases and the result are kept under ``results/explore/<model>/<task>.json``; a case found once is
replayed first next time. Exit status 0 when no counterexample was found, 1 when one was (as a failing test), 2 on bad input.
"""

from __future__ import annotations

import json

HELP = "search for the smallest instance a model gets wrong"


def add_arguments(parser) -> None:
    parser.add_argument("tasks", nargs="+", metavar="TASK", help="a task name (`oraclebench tasks` lists them), or all")
    parser.add_argument("--model", required=True, help="model to search: oracle, hf:PATH, python:MODULE:FUNCTION, ...")
    parser.add_argument("--model-opt", action="append", default=[], metavar="KEY=VALUE",
                        help="adapter option, repeatable")
    parser.add_argument("--budget", type=int, default=200, help="requests sent to the model per task (default 200)")
    parser.add_argument("--budget-seconds", type=float, default=300.0, help="seconds per task (default 300)")
    parser.add_argument("--seed", type=int, default=0, help="search seed (default 0)")
    parser.add_argument("--config", action="append", default=[], metavar="KNOB=VALUE",
                        help="restrict the search with a task knob, e.g. max_length=8 or a_digits=[1,2] (repeatable)")
    parser.add_argument("--heldout", action="append", default=[], metavar="SPEC",
                        help="what the model saw in training, for the split: TASK:SPEC or a manifest.json")
    parser.add_argument("--results", default="results", help="results directory (default results/)")
    parser.add_argument("--no-cache", action="store_true", help="do not read or write the response cache")
    parser.add_argument("--no-replay", action="store_true", help="do not replay the regression cases found before")
    parser.add_argument("--json", action="store_true", help="print each result as JSON")
    from oraclebench.commands.generate import add_variant_arguments

    add_variant_arguments(parser)  # --world FILE, as try, generate and pytest take it


def _pairs(items: list[str], flag: str) -> dict:
    from oraclebench.errors import UsageError

    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"{flag} {item!r}: write KEY=VALUE")
        out[key.strip()] = value.strip()
    return out


def _knob(value: str):
    """A knob value: JSON where it parses (``5``, ``[1, 2]``, ``true``), a Python tuple as the knobs' own
    errors write one (``(3, 3)``), else the text itself."""
    import ast

    try:
        return json.loads(value)
    except json.JSONDecodeError:
        pass
    try:
        parsed = ast.literal_eval(value)  # literals only: nothing is run
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return value
    return parsed if isinstance(parsed, tuple) else value


def run(args) -> int:
    from pathlib import Path

    from oraclebench.models import ModelError, declared_splits, load_model
    from oraclebench.cache import ResponseCache
    from oraclebench.errors import UsageError
    from oraclebench.explore import explore
    from oraclebench.plugin import parse_heldout
    from oraclebench.progress import stderr_line
    from oraclebench.tasks import TASKS, get_task

    from oraclebench.commands.generate import bind_variants

    if args.budget <= 0 or args.budget_seconds <= 0:
        raise UsageError("--budget and --budget-seconds must be positive")
    bind_variants(args)
    names = sorted(TASKS) if args.tasks == ["all"] else args.tasks
    knobs = {k: _knob(v) for k, v in _pairs(args.config, "--config").items()}
    if knobs and len(names) > 1:
        raise UsageError("--config knobs belong to one task; name a single TASK with --config")
    configs = {name: get_task(name).config(**knobs) if knobs else None for name in names}  # bad names fail here
    heldout = parse_heldout(args.heldout)
    options = _pairs(args.model_opt, "--model-opt")
    try:
        declared = {**(declared_splits(args.model, options) or {}), **heldout}
        for name in names:  # a model of another world: a usage error naming both, as try and pytest say
            get_task(name).check_variant(declared.get(name), args.model)
        model = load_model(args.model, options)
    except ModelError as exc:
        raise UsageError(str(exc)) from None
    cache = ResponseCache(None if args.no_cache else Path(args.results) / "cache.sqlite")
    found = False
    try:
        for name in names:
            result = explore(model, name, config=configs[name], budget=args.budget, seconds=args.budget_seconds,
                             seed=args.seed, cache=cache, results=args.results, heldout=heldout,
                             replay=not args.no_replay, progress=stderr_line)
            found |= result.found
            print(json.dumps(result.to_json(), ensure_ascii=False, default=str) if args.json else result.line(),
                  flush=True)
    finally:
        cache.close()
    return 1 if found else 0
