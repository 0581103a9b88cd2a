"""The plugin's command-line values: option types, ``--heldout`` specs and manifests, test-id labels and
the words of a ``-m`` expression."""

from __future__ import annotations

import argparse
import json
import os
import re
from pathlib import Path

from oraclebench.errors import UsageError
from oraclebench.textsafe import printable


def positive_int(text: str) -> int:
    """argparse/pytest option type: a whole number above 0; ``ArgumentTypeError`` otherwise."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _key_value(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    return key.strip(), value.strip()


FRESH_SPLITS = ("unseen",)  # what --fresh N --split can draw


def parse_heldout(specs: list[str]) -> dict:
    """``--heldout`` values to ``{task: manifest}``: ``TASK:SPEC`` or a manifest JSON file.

    Every way a value can be wrong (bad syntax, unknown task, out-of-range numbers, a manifest file
    that is unreadable, not JSON, or of the wrong shape) is a one-line ``UsageError`` naming it.
    """
    from oraclebench.tasks import TaskError, get_task

    out: dict = {}
    for spec in specs:
        if os.path.isfile(spec):
            for task, manifest in _manifest_file(spec).items():
                out[task] = _checked_manifest(task, manifest, f"--heldout {spec}")
            continue
        task, sep, rest = spec.partition(":")
        if not sep:
            raise UsageError(f"--heldout {_quoted(spec)}: write TASK:SPEC, e.g. abcd:lengths=1-12 or "
                             "causal:omitted=1,0,1,0,1")
        try:
            manifest = get_task(task).manifest_from_spec(rest)
        except TaskError as exc:
            raise UsageError(f"--heldout {_quoted(spec)}: {printable(str(exc), 300, line=True)}") from None
        out[task] = _checked_manifest(task, manifest, f"--heldout {_quoted(spec)}")
    return out


def _quoted(spec: str) -> str:
    """A user's value in an error line: quoted, control characters visible, at most about 80 characters."""
    return printable(repr(spec), 80)


def _manifest_file(spec: str) -> dict:
    """``{task: manifest}`` of a manifest JSON file (``{"task": T, "split": {...}}`` or ``{"tasks": {T: {...}}}``)."""
    try:
        data = json.loads(Path(spec).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:  # ValueError: not JSON, not UTF-8
        raise UsageError(f"--heldout {spec}: cannot read it as a JSON manifest ({exc}); give a manifest.json "
                         "or TASK:SPEC") from None
    if isinstance(data, dict) and isinstance(data.get("tasks"), dict):
        return data["tasks"]
    if isinstance(data, dict) and isinstance(data.get("task"), str):
        return {data["task"]: data.get("split", {})}
    raise UsageError(f"--heldout {spec}: a manifest needs 'task' and 'split', or 'tasks' (an object by task name)")


def _checked_manifest(task_name: str, manifest, where: str) -> dict:
    """``manifest`` if ``task_name`` is a task that can split its problems by it."""
    from oraclebench.tasks import TaskError, get_task

    try:
        task = get_task(task_name)
        if not isinstance(manifest, dict):
            raise TaskError(f"the {task_name} manifest must be an object, not {type(manifest).__name__}")
        task.split(task.sample(0, 0), manifest)
    except TaskError as exc:
        raise UsageError(f"{where}: {exc}") from None
    except (ValueError, TypeError, KeyError, AttributeError, RecursionError) as exc:
        shown = printable(json.dumps(manifest, default=str), 120)
        raise UsageError(f"{where}: the {task_name} manifest {shown} is malformed ({type(exc).__name__}: "
                         f"{printable(str(exc), 200, line=True)}); write it as `oraclebench generate` does") from None
    return manifest


def model_label(name: str) -> str:
    """A short, id-safe label of the model for test ids (paths shortened to their last part)."""
    prefix, sep, spec = name.partition(":")
    spec = spec.split("@", 1)[0]  # vllm:MODEL@URL -> the model, not the URL
    if sep and ("/" in spec or os.sep in spec):
        name = f"{prefix}:{Path(spec.rstrip('/')).name}"
    elif sep:
        name = f"{prefix}:{spec}"
    return re.sub(r"[\[\]|\s]+", "_", name)


def marker_words(expr: str | None) -> list[str]:
    """The words of a ``-m`` expression: marker names and ``and``/``or``/``not``."""
    return re.findall(r"[A-Za-z_][\w-]*", expr or "")


def _names_a_task(expr: str) -> bool:
    """Whether ``-m EXPR`` names a task (``-m multiplication``, ``-m "abcd or causal"``, ``-m "not judge"``)."""
    from oraclebench.tasks import TASKS

    return any(word in TASKS for word in marker_words(expr))


def _selects_within_tasks(expr: str | None) -> bool:
    """Whether ``-m EXPR`` can leave out instances of a task it keeps (``-m judge`` cannot)."""
    from oraclebench.tasks import TASKS

    words = marker_words(expr)
    return bool(words) and not all(w in TASKS or w == "or" for w in words)
