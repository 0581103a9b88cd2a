"""Which optional extra of the ``oraclebench`` distribution provides which import, and the one line
that says what to install when it is missing.

The core install (pytest, hypothesis, tabulate) scores ``oracle``, ``random`` and ``python:`` models
and runs ``tasks``, ``freeze``, ``generate`` and ``models``; everything heavier sits in an extra named
for what it enables (``pyproject.toml``'s ``[project.optional-dependencies]``). This module imports
nothing but the standard library and ``oraclebench.errors``, so every layer can use it.
"""

from __future__ import annotations

import importlib.util

from oraclebench.errors import UsageError

# extra -> the imports without which nothing it enables works (checked up front by ``require``).
EXTRAS: dict[str, tuple[str, ...]] = {
    "local": ("torch", "transformers"),  # hf:, gpt2-*, transplant:, oraclebench train
    "served": ("openai",),  # vllm:, openai:
    "report": ("pandas", "matplotlib"),  # oraclebench report, --report
    "web": ("flask", "pandas", "matplotlib"),  # oraclebench serve (its pages show the report)
    "vllm": ("vllm",),  # vllm-local:
}

# Every top-level import an extra brings, including those only some of its paths import lazily.
PROVIDER: dict[str, str] = {
    "torch": "local", "transformers": "local", "peft": "local", "tqdm": "local", "safetensors": "local",
    "tokenizers": "local", "openai": "served", "pandas": "report", "matplotlib": "report",
    "numpy": "report", "flask": "web", "vllm": "vllm",
}


class MissingExtra(UsageError):
    """An optional dependency is not installed; the message names the extra that provides it."""


def hint(what: str, module: str, extra: str) -> str:
    """``hf: needs torch: pip install "oraclebench[local]"`` (without ``what``: from ``needs`` on)."""
    return f'{what + " " if what else ""}needs {module}: pip install "oraclebench[{extra}]"'


def installed(module: str) -> bool:
    """Whether ``module`` can be imported, found without importing it (a module set to None in
    ``sys.modules``, as tests block one, counts as missing)."""
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # ValueError: in sys.modules with no spec (None)
        return False


def require(extra: str, what: str) -> None:
    """Raise ``MissingExtra`` unless the imports ``extra`` provides can be found (without importing them).

    Args:
        extra: a key of ``EXTRAS``.
        what: what needs it, as the user wrote it (``hf:``, ``--report``); empty for "needs ...".
    Raises:
        MissingExtra: with the line ``WHAT needs MODULE: pip install "oraclebench[EXTRA]"``.
    """
    for module in EXTRAS[extra]:
        if not installed(module):
            raise MissingExtra(hint(what, module, extra))


def missing_extra(exc: BaseException, what: str) -> MissingExtra | None:
    """The ``MissingExtra`` an ``ImportError`` means, or ``None`` when no extra provides the missing module.

    Example: ``missing_extra(ModuleNotFoundError(name="pandas"), "oraclebench report")`` says
    ``oraclebench report needs pandas: pip install "oraclebench[report]"``.
    """
    if not isinstance(exc, ImportError) or not exc.name:
        return None
    module = exc.name.partition(".")[0]
    extra = PROVIDER.get(module)
    return MissingExtra(hint(what, module, extra)) if extra else None
