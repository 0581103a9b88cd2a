"""The layers hold: oracles <- tasks <- models <- runner <- reports, web, training <- plugin and CLI.

``scripts/lint_layers.py`` runs import-linter over the contracts in pyproject.toml
(``[tool.importlinter]``) on the package as it installs; lazy imports inside functions count.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytest.importorskip("importlinter", reason="import-linter is in the dev extra: pip install -e '.[dev]'")


def lint(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "scripts" / "lint_layers.py"), *args],
                          capture_output=True, text=True, timeout=120)


def test_every_import_contract_is_kept():
    done = lint()
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "Contracts: 3 kept, 0 broken." in done.stdout


@pytest.mark.parametrize("file, statement, broken", [
    # a model adapter reaching up into training (what models/reference.py once did)
    ("models/base.py", "import oraclebench.training.recipes", "oraclebench.models is not allowed to import oraclebench.training"),
    # the pure core importing torch, even lazily inside a function
    ("tasks/base.py", "def _lazy():\n    import torch", "oraclebench.tasks.base -> torch"),
    # explore importing the plugin back (the two once imported each other)
    ("explore.py", "def _lazy():\n    from oraclebench.plugin import parse_heldout",
     "oraclebench.explore is not allowed to import oraclebench.plugin"),
])
def test_an_import_against_the_layers_is_caught(file, statement, broken):
    done = lint("--add-import", f"{file}:{statement}")
    assert done.returncode != 0
    assert broken in done.stdout, done.stdout[-3000:]
