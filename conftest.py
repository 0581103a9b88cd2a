"""Loads the oraclebench pytest plugin for this checkout (`pytest benchmark --model NAME`).

The plugin lives in ``oraclebench/plugin/``; other projects can load it with ``-p oraclebench.plugin``.
"""

import importlib.util
import sys

import pytest

pytest_plugins = ["oraclebench.plugin"]


def pytest_addoption(parser: pytest.Parser) -> None:
    # Called as this file is registered, before pytest_plugins is imported: a Python without oraclebench
    # gets the fix in one line (pytest's own line says only "No module named 'oraclebench'").
    if importlib.util.find_spec("oraclebench") is None:
        raise pytest.UsageError(
            f"oraclebench is not installed in this Python ({sys.executable}): run the set-up first, "
            "from the checkout: pip install torch==2.13.0 && pip install -e \".[dev]\"")
