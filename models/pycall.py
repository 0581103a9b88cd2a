"""``python:MODULE:FUNCTION``: score any Python callable (a pipeline, an agent, post-processing).

The callable receives a list of prompt strings and returns a list of completion strings, one per
prompt, in order::

    def answer(prompts: list[str]) -> list[str]: ...
    answer.batch_size = 32        # optional: at most this many prompts per call

``MODULE`` is a dotted module name (importable from the current directory too, as with
``python -m``) or a path to a ``.py`` file: ``python:mypkg.pipeline:answer``,
``python:./pipeline.py:answer``. A completion is cut at the request's first stop string, as a
server would. Choice requests (judge) are answered by generating one option ("1" or "2"): the
``Adapter`` default. An exception raised by the callable is counted as a request error (the
adapter bisects the batch until the failing prompts are isolated), never as a wrong answer.

``identity()`` includes a hash of the module's file, so editing the function invalidates the cache.
An optional ``FUNCTION.manifest`` dict says what the callable saw in training (``--heldout`` wins).
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import os
import sys
from pathlib import Path
from types import ModuleType
from typing import Any, Callable, Sequence

from models.base import Adapter, ModelError
from tasks.base import Request, Response

OPTIONS = ("batch_size",)


def _import_file(path: Path) -> ModuleType:
    name = "oraclebench_pycall_" + hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:12]
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ModelError(f"python:{path}: cannot load this file as a module; give a .py file or a dotted module name")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses and pickling look the module up by name
    spec.loader.exec_module(module)
    return module


def _import_name(name: str) -> ModuleType:
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        # Like `python -m`: a researcher's module in the current directory is importable.
        if not _is_self_or_parent(exc.name, name) or os.getcwd() in sys.path:
            raise
        sys.path.insert(0, os.getcwd())
        return importlib.import_module(name)


def _is_self_or_parent(missing: str | None, module_name: str) -> bool:
    return missing is not None and (module_name == missing or module_name.startswith(missing + "."))


def load_callable(spec: str) -> tuple[Callable[[list[str]], list[str]], ModuleType]:
    """The function and its module for ``MODULE:FUNCTION``; anything missing is a one-line ``ModelError``."""
    module_name, sep, func_name = spec.rpartition(":")
    if not sep or not module_name or not func_name:
        raise ModelError(f"python:{spec}: write python:MODULE:FUNCTION, e.g. python:examples.flawed:oracle "
                         "or python:./pipeline.py:answer")
    is_file = module_name.endswith(".py") or "/" in module_name or os.sep in module_name
    try:
        if is_file:
            path = Path(module_name)
            if not path.is_file():
                raise ModelError(f"python:{spec}: no file {module_name}; give an existing .py file or a module name")
            module = _import_file(path)
        else:
            module = _import_name(module_name)
    except ModelError:
        raise
    except ModuleNotFoundError as exc:
        if is_file or not _is_self_or_parent(exc.name, module_name):  # the module is there; a dependency is not
            raise ModelError(f"python:{spec}: importing {module_name} failed: ModuleNotFoundError: {exc}; "
                             "install what it needs") from None
        raise ModelError(f"python:{spec}: no module {module_name!r}; run from the directory that holds it "
                         "or give a path to the .py file") from None
    except Exception as exc:  # noqa: BLE001 - a broken user module is a usage error, in one line
        raise ModelError(f"python:{spec}: importing {module_name} failed: {type(exc).__name__}: {exc}") from None
    fn = getattr(module, func_name, None)
    if fn is None or not callable(fn):
        public = sorted(n for n, v in vars(module).items() if callable(v) and not n.startswith("_")
                        and getattr(v, "__module__", None) == module.__name__)
        what = "is not callable" if fn is not None else "not found"
        raise ModelError(f"python:{spec}: function {func_name!r} {what} in {module_name}; "
                         f"callables there: {', '.join(public) or 'none'}")
    return fn, module


def _file_hash(module: ModuleType) -> str:
    path = getattr(module, "__file__", None)
    if not path or not os.path.isfile(path):
        return "nofile"
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]


def _positive(value: Any, what: str) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = 0
    if number <= 0 or isinstance(value, bool):
        raise ModelError(f"{what} must be a positive integer, not {value!r}")
    return number


def cut_at_stop(text: str, stop: Sequence[str]) -> str:
    """``text`` up to (not including) its first stop string, as an API server returns it.

    >>> cut_at_stop(" 56\\nQ: next", ("\\n",))
    ' 56'
    """
    cuts = [text.find(s) for s in stop if s and s in text]
    return text[: min(cuts)] if cuts else text


class PythonModel(Adapter):
    """The adapter for ``python:MODULE:FUNCTION`` (see the module docstring)."""

    def __init__(self, spec: str, options: dict | None = None):
        options = dict(options or {})
        unknown = sorted(set(options) - set(OPTIONS))
        if unknown:
            raise ModelError(f"python:{spec}: unknown option(s) {', '.join(unknown)}; known: {', '.join(OPTIONS)}")
        self.spec = spec
        self.name = f"python:{spec}"
        self.fn, self.module = load_callable(spec)
        size = options.get("batch_size", getattr(self.fn, "batch_size", None))
        self.batch_size = None if size is None else _positive(size, f"{self.name}: batch_size")
        manifest = getattr(self.fn, "manifest", None)
        self.manifest = manifest if isinstance(manifest, dict) else None
        self._hash = _file_hash(self.module)

    def identity(self) -> str:
        return f"{self.name}@{self._hash}"

    def complete(self, requests: Sequence[Request]) -> list[Response]:
        prompts = [r.prompt for r in requests]
        texts = self.fn(list(prompts))
        if isinstance(texts, (str, bytes)) or not hasattr(texts, "__iter__"):
            raise TypeError(f"{self.name} returned {type(texts).__name__}; it must return a list of strings")
        texts = list(texts)
        if len(texts) != len(requests):
            # A broken contract for every input, not one bad prompt: stop the run with one line.
            raise ModelError(f"{self.name} returned {len(texts)} completions for {len(requests)} prompts; "
                             "it must return one string per prompt, in order")
        out = []
        for req, text in zip(requests, texts):
            if isinstance(text, str):
                out.append(Response(text=cut_at_stop(text, req.stop)))
            else:
                out.append(Response(error=f"{self.name} returned {type(text).__name__} for a prompt, not str"))
        return out
