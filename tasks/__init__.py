"""Task registry. ``get_task("abcd")`` returns the task object; names map lazily to modules.

The four tasks shipped with oraclebench are listed here; a task from another package is registered
through the entry-point group ``oraclebench.tasks`` (``toy = toy_task:TASK`` in its
``entry_points.txt``, or ``[project.entry-points."oraclebench.tasks"]`` in its ``pyproject.toml``).
Only the names are read at import; a task's module is imported when it is first asked for.

>>> sorted(BUILTIN)
['abcd', 'causal', 'judge', 'multiplication']
"""

from __future__ import annotations

import difflib
import importlib
from importlib.metadata import entry_points

from oraclebench.tasks.base import Instance, Request, Response, Score, Task, TaskError

ENTRY_POINT_GROUP = "oraclebench.tasks"

BUILTIN: dict[str, str] = {
    "abcd": "oraclebench.tasks.abcd:TASK",
    "causal": "oraclebench.tasks.causal:TASK",
    "multiplication": "oraclebench.tasks.multiplication:TASK",
    "judge": "oraclebench.tasks.judge:TASK",
}


def _registered() -> dict[str, str]:
    """``{name: "module:ATTR"}`` of every task: the built-ins, then entry points (a built-in name wins:
    another package cannot replace a task whose frozen set and numbers oraclebench ships)."""
    found = dict(BUILTIN)
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        found.setdefault(ep.name, ep.value)
    return found


TASKS: dict[str, str] = _registered()
_LOADED: dict[str, Task] = {}


def get_task(name: str) -> Task:
    """The registered task called ``name``.

    Args: ``name``, a task name (``oraclebench tasks`` lists them).
    Returns: the ``Task`` object its module exports (imported on first use).
    Raises: ``TaskError`` for an unknown name (with a suggestion), and for a task whose module cannot
    be imported or does not export a ``Task`` (one line naming the entry point and the cause).
    """
    if name in _LOADED:
        return _LOADED[name]
    if name not in TASKS:
        near = difflib.get_close_matches(name, TASKS, n=1)
        hint = f" (did you mean {near[0]!r}?)" if near else ""
        raise TaskError(f"unknown task {name!r}{hint}; known tasks: {', '.join(sorted(TASKS))}")
    target = TASKS[name]
    module, _, attr = target.partition(":")
    try:
        task = getattr(importlib.import_module(module), attr or "TASK")
    except Exception as exc:  # noqa: BLE001 - a plugin's bug: one line, not a traceback
        raise TaskError(f"task {name!r} (registered as {target!r}, entry-point group {ENTRY_POINT_GROUP}) failed to "
                        f"load: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}; fix or "
                        "uninstall the package that registers it") from None
    if not isinstance(task, Task) or getattr(task, "name", None) != name:
        raise TaskError(f"task {name!r} (registered as {target!r}) is not a Task named {name!r}: "
                        f"got {type(task).__name__}; export an instance of a Task subclass with name = {name!r}")
    _LOADED[name] = task
    return task


def typed_tasks() -> list[str]:
    """The tasks that read a typed input (``Task.typed_example`` set; ``oraclebench try``, the web page)."""
    out = []
    for name in sorted(TASKS):
        try:
            if get_task(name).typed_example is not None:
                out.append(name)
        except TaskError:  # a plugin that fails to load is named where it is used, not here
            continue
    return out


__all__ = ["BUILTIN", "ENTRY_POINT_GROUP", "TASKS", "get_task", "Instance", "Request", "Response", "Score", "Task",
           "TaskError", "typed_tasks"]
