"""The extension points' docstrings are true: their examples run (Task, the model protocol, the cache,
the training loop's schedule), and every method a new task implements says what it does."""

from __future__ import annotations

import doctest
import inspect
import importlib

import pytest

from oraclebench.tasks.base import Task

DOCUMENTED = ["oraclebench.tasks.base", "oraclebench.models.base", "oraclebench.cache", "oraclebench.training.loop"]


@pytest.mark.parametrize("module", DOCUMENTED)
def test_the_examples_in_the_docstrings_run(module):
    result = doctest.testmod(importlib.import_module(module), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0, f"{module} has no example"
    assert result.failed == 0


def test_every_method_a_task_implements_is_documented():
    to_implement = [name for name, fn in vars(Task).items()
                    if callable(fn) and not name.startswith("_") and "raise NotImplementedError" in inspect.getsource(fn)]
    assert {"generate", "solve", "render", "parse", "score", "split"} <= set(to_implement)
    undocumented = [name for name in to_implement if not (getattr(Task, name).__doc__ or "").strip()]
    assert undocumented == []
