"""The ``oraclebench`` command: one subcommand per module under ``oraclebench/commands``.

Each command module defines ``HELP``, ``add_arguments(parser)`` and ``run(args) -> int``; one with
``PASSTHROUGH = True`` (``run``) gets everything after its name unparsed, as ``args.rest``. Bad input,
and a missing optional dependency (the extra to install), is one line on stderr and exit status 2,
never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import keyword
import sys

COMMANDS = {
    "run": "score a model on the frozen sets (pytest underneath; pytest arguments pass through)",
    "tasks": "list the tasks with their frozen set sizes and buckets",
    "freeze": "write the versioned frozen instance sets",
    "generate": "write train/valid/test files and a manifest for a task",
    "models": "list the model names and patterns",
    "train": "train a reference model (gpt2-causal, gpt2-abcd, gpt2-mult, judge-transplant)",
    "try": "compare the oracle's answer and a model's on one input",
    "report": "write the HTML and markdown report of the latest runs",
    "compare": "paired comparison of two runs",
    "serve": "browse results in a local web page",
    "explore": "search for the smallest instance a model gets wrong",
    "worlds": "generate random causal worlds of growing complexity, or measure a world",
}


def _module(name: str):
    module = name.replace("-", "_") + ("_" if keyword.iskeyword(name) else "")  # `try` -> try_.py
    return importlib.import_module(f"oraclebench.commands.{module}")


def build_parser(argv: list[str]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="oraclebench", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    wanted = next((a for a in argv if not a.startswith("-")), None)
    for name, help_text in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        if name == wanted:  # import only the command being run: some pull in torch
            _module(name).add_arguments(p)
    return parser


def main(argv: list[str] | None = None) -> int:
    from oraclebench.errors import UsageError
    from oraclebench.extras import missing_extra
    from oraclebench.tasks.base import TaskError

    argv = list(sys.argv[1:] if argv is None else argv)
    wanted = next((a for a in argv if not a.startswith("-")), None)
    if wanted in COMMANDS and getattr(_module(wanted), "PASSTHROUGH", False):
        args = argparse.Namespace(command=wanted, rest=argv[argv.index(wanted) + 1:])
    else:
        args = build_parser(argv).parse_args(argv)
    if not args.command:
        build_parser(argv).print_help()
        return 2
    try:
        return int(_module(args.command).run(args) or 0)
    except (UsageError, TaskError) as exc:
        print(f"oraclebench {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"oraclebench {args.command}: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # a model or library failure: one line, and how to see more
        if "ORACLEBENCH_DEBUG" in __import__("os").environ:
            raise
        missing = missing_extra(exc, "")
        if missing is not None:  # an optional dependency this command needs: the extra to install
            print(f"oraclebench {args.command}: {missing}", file=sys.stderr)
            return 2
        name = type(exc).__name__
        print(f"oraclebench {args.command}: {name}: {exc} (set ORACLEBENCH_DEBUG=1 for the traceback)", file=sys.stderr)
        return 1
    finally:  # --world binds a task variant for the command only (main is called in process by tests, the web page)
        from oraclebench.tasks import reset_variants

        reset_variants()


if __name__ == "__main__":
    sys.exit(main())
