"""``python:MODULE:FUNCTION``: score any Python callable (a pipeline, an agent, post-processing).

The callable receives a list of prompt strings and returns a list of completion strings, one per
prompt, in order::

    def answer(prompts: list[str]) -> list[str]: ...
    answer.batch_size = 32        # optional: at most this many prompts per call

``MODULE`` is a dotted module name (importable from the current directory too, as with
``python -m``) or a path to a ``.py`` file: ``python:mypkg.pipeline:answer``,
``python:./pipeline.py:answer``. A completion is kept whole (cache, records) and scored cut at the
request's first stop string after any leading whitespace (``tasks.reading.cut_at_stop``). Choice
requests (judge) are answered by generating text that the task reads: the ``Adapter`` default. An
exception raised by the callable is counted as a request error (the adapter bisects the batch until
the failing prompts are isolated), never as a wrong answer.

A callable that breaks its contract for a whole call (returns the wrong number of completions or
something that is not a list of them, calls ``sys.exit``, raises ``KeyboardInterrupt``) is answered
once: every prompt of that call is an error carrying one line that says what it did, and the run
goes on. Each call runs in a worker thread with a deadline of ``timeout`` seconds per prompt
(``--model-opt timeout=SECONDS``, default 60): a call that hangs is abandoned (its thread is left to
finish on its own) and, like a call that raised, asked again in parts (``Hung``), so that only the
prompts that hang alone are errors.

``identity()`` includes a hash of every local source the callable uses: its module's file and every
module it imports, transitively (top-level, relative and function-level imports, and literal names
given to ``importlib.import_module`` or ``__import__``), that is not in the standard library or an
installed package; a local module imported while answering by a computed name is warned about. Fixing a helper module invalidates the cached answers
as editing the function does. What no source shows (a data file it reads, a remote model behind
it) is named by an optional ``FUNCTION.version = "..."``, which is part of the identity too. An
optional ``FUNCTION.manifest`` dict says what the callable saw in training (``--heldout`` wins); it is
read before the run draws its instances (``declared_manifest``), as a checkpoint's ``manifest.json``,
and one the tasks cannot read (a split that is a string) is a ``ModelError`` naming the key
(``base.check_manifest``).

A completion with ``<think>...</think>`` blocks is read without them; one whose thinking never
closes is truncated (see ``models.base.strip_thinking``).
"""

from __future__ import annotations

import ast
import hashlib
import importlib
import importlib.util
import itertools
import logging
import os
import site
import sys
import sysconfig
import threading
from pathlib import Path
from types import ModuleType
from typing import Any, Callable, Sequence

from oraclebench.models.base import (Adapter, Broken, Failure, ManifestProblem, ModelError, check_manifest, check_options,
                                     describe_exception, exception_message, manifest_error, strip_thinking)
from oraclebench.tasks.base import Request, Response

log = logging.getLogger("oraclebench.pycall")

OPTIONS = ("batch_size", "timeout")
DEFAULT_TIMEOUT = 60.0  # seconds per prompt: a call of n prompts is abandoned after n x timeout
# Kept on a module this adapter imported: what importing it loaded; a file module's contents (a digest);
# whether a file module imported to read its manifest still waits for the model that uses it.
IMPORTED, CONTENTS, UNCLAIMED = "__oraclebench_imported__", "__oraclebench_file__", "__oraclebench_unclaimed__"


def _import_file(path: Path, for_manifest: bool = False) -> ModuleType:
    """The module of a ``.py`` file, executed anew for each model loaded from it, except once: the
    import that read its manifest before the model loaded (``declared_manifest``) is the one the model
    then uses; manifest reads reuse any import of the same contents."""
    name = "oraclebench_pycall_" + hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:12]
    source = path.read_bytes()
    digest = hashlib.sha256(source).hexdigest()
    seen = sys.modules.get(name)
    if seen is not None and getattr(seen, CONTENTS, None) == digest:
        if for_manifest:
            return seen
        if getattr(seen, UNCLAIMED, False):
            setattr(seen, UNCLAIMED, False)
            return seen
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ModelError(f"python:{path}: cannot load this file as a module; give a .py file or a dotted module name")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses and pickling look the module up by name
    # The bytes hashed are the bytes run. The loader's bytecode cache (__pycache__) trusts a file's
    # modification time and size: an edit of the same size within the same second ran the old code
    # under the new code's identity (wherever Python writes bytecode, as it does by default).
    exec(compile(source, str(path), "exec", dont_inherit=True), module.__dict__)  # noqa: S102
    setattr(module, CONTENTS, digest)  # its contents: an edit within a timestamp's tick is still seen
    setattr(module, UNCLAIMED, for_manifest)
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


def load_callable(spec: str, for_manifest: bool = False) -> tuple[Callable[[list[str]], list[str]], ModuleType]:
    """The function and its module for ``MODULE:FUNCTION``; anything missing is a one-line ``ModelError``.
    ``for_manifest``: only its manifest is read (see ``_import_file``)."""
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
            module = _import_file(path, for_manifest)
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


def load_tracked(spec: str, for_manifest: bool = False) -> tuple[Callable[[list[str]], list[str]], ModuleType, list[str]]:
    """``load_callable``, and the modules importing the callable's module loaded (also those it imports
    by computed names, which ``local_sources`` cannot see). Kept on the module object, so they are the
    same whether its manifest was read first (``declared_manifest``) or the adapter imports it."""
    before = set(sys.modules)
    fn, module = load_callable(spec, for_manifest)
    loaded = getattr(module, IMPORTED, None)
    if loaded is None:
        loaded = sorted(set(sys.modules) - before)
        setattr(module, IMPORTED, loaded)
    return fn, module, list(loaded)


def declared_manifest(spec: str) -> dict | None:
    """The callable's ``manifest`` (what it saw in training), read before the model is loaded: the
    fresh draws drop its training problems, ``--split unseen`` and ``--heldout`` checks read it, as
    they read a checkpoint's ``manifest.json``. Imports the callable's module. None where it has none,
    or where it cannot be loaded (loading the model says why, in one line)."""
    try:
        fn, _, _ = load_tracked(spec, for_manifest=True)
    except ModelError:
        return None
    manifest = getattr(fn, "manifest", None)
    return manifest if isinstance(manifest, dict) else None


def _installed_roots() -> tuple[str, ...]:
    """Folders of code that is not the user's: the standard library and installed packages."""
    paths = sysconfig.get_paths()
    roots = {paths[k] for k in ("stdlib", "platstdlib", "purelib", "platlib") if k in paths}
    roots.update(site.getsitepackages() if hasattr(site, "getsitepackages") else [])
    roots.add(site.getusersitepackages() if hasattr(site, "getusersitepackages") else "")
    return tuple(os.path.join(os.path.realpath(r), "") for r in roots if r)


def _is_local(path: str, installed: tuple[str, ...]) -> bool:
    parts = Path(path).parts
    return not path.startswith(installed) and "site-packages" not in parts and "dist-packages" not in parts


# Functions that import the module their first argument names: a function may call them while it runs,
# after the identity was taken, so their literal names are read from the source like import statements.
IMPORT_CALLS = ("import_module", "__import__")


def _relative(name: str, level: int, package: str) -> str:
    """``name`` ``level`` packages up from ``package`` (``from ..a import b``: level 2)."""
    if not level:
        return name
    parent = package.rsplit(".", level - 1)[0] if level > 1 else package
    return f"{parent}.{name}".strip(".") if parent else name


def _called_import(node: ast.Call, package: str) -> str | None:
    """The module ``importlib.import_module("a.b")`` or ``__import__("a")`` names by a literal, or None
    (a computed name cannot be read: ``FUNCTION.version`` is the way to key on it)."""
    func = node.func
    called = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
    if called not in IMPORT_CALLS or not node.args:
        return None
    first = node.args[0]
    if not (isinstance(first, ast.Constant) and isinstance(first.value, str)):
        return None
    name = first.value
    level = len(name) - len(name.lstrip("."))  # import_module(".x", package): relative to the caller's package
    return _relative(name[level:], level, package) or None


def _imported_names(tree: ast.AST, package: str) -> set[str]:
    """Every module an import statement anywhere in ``tree`` may load (``import a.b`` loads ``a`` and
    ``a.b``; ``from a import b`` may load ``a.b``), relative imports resolved against ``package``, and
    the literal names given to ``importlib.import_module`` and ``__import__``."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = _relative(node.module or "", node.level, package)
            targets = [base] + [f"{base}.{alias.name}".strip(".") for alias in node.names if alias.name != "*"]
        elif isinstance(node, ast.Call) and (called := _called_import(node, package)):
            targets = [called]
        else:
            continue
        for target in targets:
            parts = target.split(".")
            names.update(".".join(parts[:i]) for i in range(1, len(parts) + 1) if parts[0])
    return names


def _module_file(name: str) -> str | None:
    """The source file of module ``name``, without running any code: loaded modules first, else a
    search for a top-level module or one whose package is already loaded."""
    module = sys.modules.get(name)
    if module is not None:
        path = getattr(module, "__file__", None)
    elif "." not in name or name.rsplit(".", 1)[0] in sys.modules:
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError, AttributeError):
            return None
        path = spec.origin if spec is not None and spec.has_location else None
    else:
        return None
    return os.path.realpath(path) if path and os.path.isfile(path) else None


def local_sources(module: ModuleType, also: Sequence[str] = ()) -> list[str]:
    """The module's file and every local module file it imports, transitively, sorted: what its
    answers depend on. ``also``: more module names to start from (those its import loaded). The
    module's own file counts even where it is installed, as a file of its own always did."""
    installed = _installed_roots()
    names_by_file = {os.path.realpath(f): n for n, m in list(sys.modules.items())
                     if (f := getattr(m, "__file__", None)) and isinstance(f, str)}
    start = [getattr(module, "__file__", None)] + [_module_file(n) for n in also]
    todo = [os.path.realpath(f) for f in start if f and os.path.isfile(f)]
    seen: set[str] = set()
    first = todo[:1]
    while todo:
        path = todo.pop()
        if path in seen or (path not in first and not _is_local(path, installed)):
            continue
        seen.add(path)
        if not path.endswith(".py"):
            continue
        try:
            tree = ast.parse(Path(path).read_bytes())
        except (SyntaxError, ValueError, OSError):
            continue
        name = names_by_file.get(path, "")
        package = name if path.endswith("__init__.py") else name.rpartition(".")[0]
        todo.extend(f for n in _imported_names(tree, package) if (f := _module_file(n)) and f not in seen)
    return sorted(seen)


def sources_hash(paths: Sequence[str]) -> str:
    """A digest of the files' contents (and names: a file moved is another source)."""
    digest = hashlib.sha256()
    for path in paths:
        digest.update(path.encode() + b"\0" + Path(path).read_bytes() + b"\0")
    return digest.hexdigest()[:16] if paths else "nofile"


def _positive(value: Any, what: str) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = 0
    if number <= 0 or isinstance(value, bool):
        raise ModelError(f"{what} must be a positive integer, not {value!r}")
    return number


class PythonModel(Adapter):
    """The adapter for ``python:MODULE:FUNCTION`` (see the module docstring)."""

    def __init__(self, spec: str, options: dict | None = None):
        options = dict(options or {})
        check_options(f"python:{spec}", options, OPTIONS)
        self.spec = spec
        self.name = f"python:{spec}"
        self.fn, self.module, loaded = load_tracked(spec)
        size = options.get("batch_size", getattr(self.fn, "batch_size", None))
        self.batch_size = None if size is None else _positive(size, f"{self.name}: batch_size")
        self.timeout = _seconds(options.get("timeout", DEFAULT_TIMEOUT), f"{self.name}: timeout")
        manifest = getattr(self.fn, "manifest", None)
        if manifest is not None and not isinstance(manifest, dict):
            raise ModelError(f"{self.name}: {self.fn.__name__}.manifest must be a dict (what a checkpoint's "
                             f"manifest.json holds), not {type(manifest).__name__}")
        try:  # a manifest the tasks cannot read, one line now: it failed every item of the task (found by review)
            check_manifest(manifest)
        except ManifestProblem as exc:
            raise ModelError(manifest_error(self.name, f"{self.fn.__name__}.manifest", exc)) from None
        self.manifest = manifest
        self.sources = local_sources(self.module, loaded)
        self.unkeyed: set[str] = set()  # local modules imported while answering that the identity misses
        self._hash = sources_hash(self.sources)
        version = getattr(self.fn, "version", None)
        self.version = None if version is None else str(version)

    def identity(self) -> str:
        return f"{self.name}@{self._hash}" + (f"|version={self.version}" if self.version is not None else "")

    def complete(self, requests: Sequence[Request]) -> list[Response]:
        before = set(sys.modules)
        texts = self._call([r.prompt for r in requests])
        self._say_unkeyed(set(sys.modules) - before)
        out = []
        for req, text in zip(requests, texts):
            if isinstance(text, str):
                answer, unfinished = strip_thinking(text)  # thinking is not the answer; the rest is kept whole
                why = "the answer ends inside a <think> block that never closed (no answer after the thinking)"
                out.append(Response(text=answer, truncated=unfinished, written=text if answer != text else None,
                                    truncated_why=why if unfinished else None))
            else:
                out.append(Response(error=f"{self.name} returned {type(text).__name__} for a prompt, not str"))
        return out

    def _say_unkeyed(self, imported: set[str]) -> None:
        """A warning, once per module, for a local module the callable imported while answering by a name
        its source does not spell out (``import_module(name)``): the identity was taken before, without
        it, so a later edit of that module would not ask again."""
        installed = _installed_roots()
        for name in sorted(imported):
            path = getattr(sys.modules.get(name), "__file__", None)
            path = os.path.realpath(path) if isinstance(path, str) else None
            if path and path not in self.sources and path not in self.unkeyed and _is_local(path, installed):
                self.unkeyed.add(path)
                log.warning("%s imported %s while answering, by a name its source does not spell out: its edits do "
                            "not change the answer cache's key; import it by name, or set %s.version",
                            self.name, name, self.fn.__name__)

    def _call(self, prompts: list[str]) -> list:
        """The callable's completions for ``prompts``, called in a worker thread with a deadline.

        Raises ``Broken`` (every prompt of the call is then an error, never asked again piece by
        piece) for a broken contract; ``Hung`` for a missed deadline and any other exception of the
        callable's own, for the adapter to isolate: a prompt that hangs costs its own answer, not those
        of the prompts that shared its call (they are asked again without it). ``Hung``'s line names no
        prompt count, so that a callable that hangs on every prompt is found dead (``Adapter._dead``).
        """
        box: dict[str, Any] = {}

        def work() -> None:
            try:
                with _exit_refused():
                    box["value"] = self._completions(self.fn(list(prompts)), len(prompts))
            except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread below
                box["error"] = exc

        worker = threading.Thread(target=work, name=f"{self.name} call", daemon=True)
        worker.start()
        seconds = self.timeout * max(1, len(prompts))
        worker.join(seconds)
        if worker.is_alive():  # hung: left to finish on its own (a daemon thread never blocks the exit)
            raise Hung(f"{self.name} did not answer within its deadline (--model-opt timeout={self.timeout:g} "
                       "s per prompt); abandoned")
        error = box.get("error")
        if isinstance(error, SystemExit):
            raise Broken(f"{self.name} called sys.exit({error.code!r})")
        if isinstance(error, _Exited):
            raise Broken(f"{self.name} called os._exit({error.args[0]!r})")
        if isinstance(error, Broken):
            raise Broken(f"{self.name} {error}")
        if error is not None and (not isinstance(error, Exception) or exception_message(error) is None):
            # KeyboardInterrupt raised by the callable itself (a real Ctrl-C reaches the main
            # thread, waiting above), or an exception that cannot even say what it is.
            raise Broken(f"{self.name} raised {describe_exception(error)}")
        if error is not None:
            raise error
        return box["value"]

    def _completions(self, texts: Any, n: int) -> list:
        """``texts`` as a list of exactly ``n`` items, reading at most ``n + 1`` (an endless generator ends)."""
        if isinstance(texts, (str, bytes)) or not hasattr(texts, "__iter__"):
            raise Broken(f"returned {type(texts).__name__}; it must return a list of strings")
        try:
            got = list(itertools.islice(iter(texts), n + 1))
        except Exception as exc:  # noqa: BLE001 - a generator that raises while being read
            raise Broken(f"raised {describe_exception(exc)} while its completions were read") from None
        if len(got) > n:
            raise Broken(f"returned more than {n} completions for {n} prompts; it must return one string per "
                         "prompt, in order")
        if len(got) < n:
            raise Broken(f"returned {len(got)} completion(s) for {n} prompts; it must return one string per "
                         "prompt, in order")
        return got


class _Exited(BaseException):
    """``os._exit`` called by a ``python:`` callable, raised in its thread instead (``_exit_refused``)."""


_EXIT_LOCK = threading.Lock()
_EXIT_THREADS: set[int] = set()  # the threads answering now, in which os._exit is refused
_REAL_EXIT = os._exit


def _refuse_exit(code: int) -> None:
    if threading.get_ident() in _EXIT_THREADS and os.getpid() == _EXIT_PID:
        raise _Exited(code)
    _REAL_EXIT(code)  # any other thread (pytest's, xdist's), or a forked child (multiprocessing): as it would


_EXIT_PID = os.getpid()


class _exit_refused:
    """While a callable answers, ``os._exit`` called in its thread raises ``_Exited`` there: the process ended at
    once, with exit status 0 and no results (a ``--gate`` run "passed", found by review). Any other thread, and a
    forked child (multiprocessing), still ends as it would."""

    def __enter__(self) -> None:
        global _EXIT_PID
        with _EXIT_LOCK:
            if not _EXIT_THREADS:
                _EXIT_PID = os.getpid()
                os._exit = _refuse_exit
            _EXIT_THREADS.add(threading.get_ident())

    def __exit__(self, *exc) -> None:
        with _EXIT_LOCK:
            _EXIT_THREADS.discard(threading.get_ident())
            if not _EXIT_THREADS:
                os._exit = _REAL_EXIT


class Hung(Failure):
    """A call of the callable missed its deadline and was abandoned (its thread left to finish alone)."""


def _seconds(value: Any, what: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = 0.0
    if not number > 0 or number == float("inf"):
        raise ModelError(f"{what} must be a positive number of seconds, not {value!r}")
    return number
