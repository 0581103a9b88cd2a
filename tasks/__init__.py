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
_BOUND: set[str] = set()  # tasks bound to a variant by ``use_variant``


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


def use_variant(name: str, value: str | None) -> Task:
    """Bind task ``name`` to the variant ``value`` (``--world my.toml``) for this process: from now on
    ``get_task(name)`` returns the bound task, so the frozen set, scoring, ``try`` and reports all use
    it. ``None`` or ``"default"`` restores the default. Raises ``TaskError`` for a task without variants
    or a bad value (one line naming the file, the place and the fix).
    """
    _LOADED.pop(name, None)
    _BOUND.discard(name)
    task = get_task(name)
    if value is None or value == "default":
        return task
    _LOADED[name] = task.variant(value)
    _BOUND.add(name)
    return _LOADED[name]


def reset_variants() -> None:
    """Unbind every variant (``use_variant(name, None)`` for each bound task): a command that ends, or a
    test, leaves the process on the default tasks."""
    for name in sorted(_BOUND):
        _LOADED.pop(name, None)
    _BOUND.clear()


# The variant options of the built-in tasks (``Task.variant_option``), named here so that the pytest
# plugin and the command line can declare ``--world`` without importing any task module at start-up;
# tests/test_worlds.py checks this table against the tasks themselves.
VARIANT_OPTIONS: dict[str, tuple[str, tuple[str, ...]]] = {
    "world": ("causal: a world TOML file to score, train, generate or try on (default: the-experiment's world)",
              ("causal",)),
}


def use_variants(values: dict[str, str | None]) -> list[str]:
    """``use_variant`` for every task each given option (``{"world": "my.toml"}``) applies to; returns
    the tasks bound. Options left at None change nothing."""
    bound = []
    for option, value in values.items():
        if value is None:
            continue
        for name in VARIANT_OPTIONS.get(option, ("", ()))[1]:
            use_variant(name, value)
            bound.append(name)
    return bound


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
           "TaskError", "typed_tasks", "use_variant", "use_variants", "reset_variants", "VARIANT_OPTIONS"]
