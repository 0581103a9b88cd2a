"""``oraclebench run --model NAME [pytest arguments ...]``: score the tasks on the frozen sets.

The same run as ``pytest benchmark --model NAME`` in a checkout, from any folder and from an installed
wheel: pytest runs the benchmark modules shipped in the package (``oraclebench.benchmark``) with the
plugin, and every argument after ``run`` goes to pytest as given (``-m judge -x``, ``--task``,
``--limit``, ``--results``, ``-n 4``...). Results go to ``./results`` of the current folder unless
``--results`` says otherwise; pytest's cache (``--lf``) to ``./.pytest_cache``. The exit status is
pytest's (4 for a usage error such as a missing ``--model``).
"""

from __future__ import annotations

HELP = "score a model on the frozen sets (pytest underneath; pytest arguments pass through)"
PASSTHROUGH = True  # the command line does not parse what follows `run`: pytest does


def add_arguments(parser) -> None:
    pass  # never called for a PASSTHROUGH command; here for the command-module protocol


def pytest_args(rest: list[str], cwd) -> list[str]:
    """The pytest command line of ``oraclebench run REST`` run from ``cwd``.

    ``-c`` names the package's own ini file and ``--confcutdir`` stops at the benchmark folder, so
    no pytest configuration or ``conftest.py`` of the folders around (a user's project, a checkout's
    root) takes part; ``--rootdir`` is the folder above ``benchmark/``, so test ids read
    ``benchmark/test_abcd.py::...`` installed or not; the cache stays in the current folder.
    """
    import importlib.util
    from pathlib import Path

    bench = Path(next(iter(importlib.util.find_spec("oraclebench.benchmark").submodule_search_locations)))
    ini = Path(importlib.util.find_spec("oraclebench").origin).parent / "run.ini"
    return ["-p", "oraclebench.plugin", "--import-mode=importlib", "-c", str(ini),
            "--rootdir", str(bench.parent), "--confcutdir", str(bench),
            "-o", f"cache_dir={Path(cwd).resolve() / '.pytest_cache'}", *rest, str(bench)]


def run(args) -> int:
    import os

    import pytest

    return int(pytest.main(pytest_args(args.rest, os.getcwd())))
