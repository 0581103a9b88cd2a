"""Task registry. ``get_task("abcd")`` returns the task object; names map lazily to modules.

>>> sorted(TASKS)
['abcd', 'causal', 'judge', 'multiplication']
"""

from __future__ import annotations

import difflib
import importlib

from oraclebench.tasks.base import Instance, Request, Response, Score, Task, TaskError

TASKS: dict[str, str] = {
    "abcd": "oraclebench.tasks.abcd:TASK",
    "causal": "oraclebench.tasks.causal:TASK",
    "multiplication": "oraclebench.tasks.multiplication:TASK",
    "judge": "oraclebench.tasks.judge:TASK",
}


def get_task(name: str) -> Task:
    """The registered task called ``name``; an unknown name is a ``TaskError`` with suggestions."""
    if name not in TASKS:
        near = difflib.get_close_matches(name, TASKS, n=1)
        hint = f" (did you mean {near[0]!r}?)" if near else ""
        raise TaskError(f"unknown task {name!r}{hint}; known tasks: {', '.join(sorted(TASKS))}")
    module, attr = TASKS[name].split(":")
    return getattr(importlib.import_module(module), attr)


__all__ = ["TASKS", "get_task", "Instance", "Request", "Response", "Score", "Task", "TaskError"]
