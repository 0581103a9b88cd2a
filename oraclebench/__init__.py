"""oraclebench: scores language models on procedurally generated tasks with exact oracles.

Its layers are ``oraclebench.oracles`` <- ``oraclebench.tasks`` <- ``oraclebench.models`` <- this
package's runner and plugin <- reports, web page, command line and training. In a checkout the first
three, and the benchmark's pytest modules (``oraclebench.benchmark``), stand at the repository root
(``oracles/``, ``tasks/``, ``models/``, ``benchmark/``), the layout users were promised; the wheel
maps them under ``oraclebench/`` (``package-dir`` in ``pyproject.toml``), so an installed copy adds
no generic top-level names to site-packages.
"""

from pathlib import Path as _Path

# A checkout run without an install (``PYTHONPATH=.``) finds the root folders as subpackages too; an
# editable install maps them the same way. In site-packages there is no pyproject.toml beside us.
_ROOT = _Path(__file__).resolve().parent.parent
if (_ROOT / "pyproject.toml").is_file() and (_ROOT / "tasks" / "__init__.py").is_file():
    __path__.append(str(_ROOT))
