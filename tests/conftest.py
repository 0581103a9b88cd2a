"""Shared by the suite's own tests.

pytester's in-process runs restore ``sys.modules`` afterwards, dropping every module first imported
inside them. numpy, pandas and matplotlib cannot be imported twice in one process (a second
``matplotlib.artist`` makes a ``Figure`` fail ``isinstance(fig, Artist)``), so a report built after an
in-process ``--report`` run failed, whichever test file ran first. Importing them once here, before any
test, keeps them in every snapshot.

The suite runs on the CPU wherever it runs, as CI does: ``device=auto`` picks a GPU where there is
one, where a test comparing against the CPU's floats, or expecting the native GPT-2 (``impl=auto``
takes it only on the CPU), would not hold. ``ORACLEBENCH_TEST_GPU=1`` leaves the GPU visible for
``tests/test_hf.py`` and ``tests/test_gpt2.py``: on an H200 (torch 2.11, transformers 5.17) all 115 of
their tests passed, the GPU-only one among them.
"""

import importlib.util
import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

if os.environ.get("ORACLEBENCH_TEST_GPU") != "1":
    # Read when CUDA first starts (torch's first CUDA call), not at import: in time here, and inherited
    # by the subprocesses tests start.
    os.environ["CUDA_VISIBLE_DEVICES"] = ""

for _name in ("numpy", "pandas", "matplotlib.figure", "matplotlib.backends.backend_agg"):
    if importlib.util.find_spec(_name.split(".")[0]) is not None:
        __import__(_name)


@pytest.fixture
def bench(pytester: "pytest.Pytester", monkeypatch):
    """A pytester dir with the benchmark modules (their frozen sets left out: the package's are read);
    returns a runner of ``pytest benchmark ...`` in process. Modules that need another runner (their own
    return value or model) define their own ``bench``, which takes precedence."""
    shutil.copytree(ROOT / "benchmark", pytester.path / "benchmark", ignore=shutil.ignore_patterns("sets", "__pycache__"))
    monkeypatch.syspath_prepend(str(ROOT))

    def run(*args: str):
        return pytester.runpytest("-p", "oraclebench.plugin", "-p", "no:cacheprovider", "benchmark",
                                  "--results", str(pytester.path / "results"), *args)

    return run
