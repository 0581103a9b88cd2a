"""Check the import layers (``[tool.importlinter]`` in pyproject.toml) of this checkout with import-linter.

    python scripts/lint_layers.py [--add-import MODULE:STATEMENT]

import-linter walks a package's own folder, and in a checkout ``oraclebench.tasks``, ``.models``,
``.oracles`` and ``.benchmark`` stand at the root (``tasks/``, ...), mapped in by ``package-dir``. So the
check runs on a staged copy laid out as the wheel lays it out (``oraclebench/tasks/`` ...), which is
exactly the graph an installed oraclebench has. Exits with ``lint-imports``' status (0: every contract kept).

``--add-import`` appends a statement to one staged module first (e.g. ``models/base.py:import
oraclebench.training``): the test uses it to show that a broken layer is caught.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MAPPED = ("tasks", "models", "oracles", "benchmark")  # root folders installed as oraclebench.<name>


def stage(into: Path) -> Path:
    """A copy of the package in its installed layout under ``into``; returns the package folder."""
    skip = shutil.ignore_patterns("__pycache__", "*.pyc", "*.jsonl", "templates", "static")
    package = into / "oraclebench"
    shutil.copytree(ROOT / "oraclebench", package, ignore=skip)
    for name in MAPPED:
        shutil.copytree(ROOT / name, package / name, ignore=skip)
    return package


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--add-import", default=None, metavar="FILE:STATEMENT",
                        help="append STATEMENT to the staged FILE (relative to the package) before checking")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="oraclebench-layers-") as tmp:
        package = stage(Path(tmp))
        if args.add_import:
            file, _, statement = args.add_import.partition(":")
            with open(package / file, "a", encoding="utf-8") as fh:
                fh.write(f"\n{statement}\n")
        code = ("import sys; from importlinter.cli import lint_imports_command; "
                f"sys.argv = ['lint-imports', {str(ROOT / 'pyproject.toml')!r}, '--no-cache']; lint_imports_command()")
        # cwd and PYTHONPATH at the staged copy: grimp must find this oraclebench, not the checkout's.
        return subprocess.run([sys.executable, "-c", code], cwd=tmp, env={**os.environ, "PYTHONPATH": tmp}).returncode


if __name__ == "__main__":
    raise SystemExit(main())
