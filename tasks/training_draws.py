"""What identifies a training problem, and the training data's identities, drawn once and kept.

``plain_dict`` is a problem's encoding (``Task.encode``), whose ``repr`` is its identity. A run
labels each record ``trained`` or not by the identities of the model's training problems; drawing
them takes about a second, so they are drawn once per description and process (``lru_cache``) and,
where the plugin sets a ``DrawStore`` (``keep_training_draws``), once across processes.

A ``task`` here is a ``tasks.base.Task``, typed ``Any``: ``base`` imports this module, which cannot
import it back (no import cycles among a package's modules: the ``acyclic_siblings`` contract).
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
from typing import Any, Protocol

from oraclebench.tasks.exchange import TaskError


# Values ``dataclasses.asdict`` returns as they are (Python 3.12's ``_ATOMIC_TYPES``, less the types no
# problem holds); 3.11's deep-copies each of them.
_ATOMIC = frozenset({type(None), bool, int, float, str, complex, bytes})


def plain_dict(obj: Any) -> Any:
    """``dataclasses.asdict(obj)``, computed as Python 3.12 computes it: values of an atomic type (None,
    bool, int, float, str, complex, bytes) are kept as they are, where 3.11 deep-copies each one (a copy
    of an immutable value is the value itself, so the result is equal and its ``repr`` the same). On
    3.11 asdict was 38% of drawing a model's 20,000 training problems, which every run that labels
    splits does. Source: CPython 3.12, ``Lib/dataclasses.py``, ``_asdict_inner`` (``dict_factory=dict``).
    """
    if type(obj) in _ATOMIC:
        return obj
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: plain_dict(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, tuple) and hasattr(obj, "_fields"):  # a namedtuple: its constructor takes the fields
        return type(obj)(*[plain_dict(v) for v in obj])
    if isinstance(obj, (list, tuple)):
        return type(obj)(plain_dict(v) for v in obj)
    if isinstance(obj, dict):
        return type(obj)((plain_dict(k), plain_dict(v)) for k, v in obj.items())
    import copy

    return copy.deepcopy(obj)


def _data_key(data: dict) -> str:
    """A training-data description as a hashable key (JSON, keys sorted); unreadable ones as their repr."""
    import json

    try:
        return json.dumps(data, sort_keys=True)
    except (TypeError, ValueError):
        return repr(data)


@functools.lru_cache(maxsize=16)
def _training_identities(task: Any, key: str) -> frozenset[str]:
    return frozenset().union(*_training_buckets(task, key).values())


class DrawStore(Protocol):
    """Where ``training_identities`` and ``training_coverage`` keep what they drew, across processes
    (``oraclebench.cache.DrawStore``: a JSON file per key). ``get`` answers None for a key it lacks
    or cannot read; ``put`` may fail silently (the draws are then made again next time)."""

    def get(self, key: str) -> Any: ...

    def put(self, key: str, value: dict[str, list[str]]) -> None: ...


_draw_store: DrawStore | None = None


def keep_training_draws(store: DrawStore | None) -> None:
    """Keep each training-data description's drawn identities in ``store`` (None: in this process only).

    A run that labels splits draws the model's training data once per process: 40,000 products for
    ``gpt2-mult``, 0.36 s of a 3.9 s run measured here (``Random`` seeded per draw is most of it). An
    entry's key names everything the draws depend on: the task, its bound variant (a world's SHA-256),
    the description, Python's version, and the SHA-256 of every file of the built-in tasks and
    oracles (``tasks/``, ``oracles/``), so a changed task or oracle never reads an entry drawn
    before. Tasks from other packages are not kept (their code is not all known here).
    """
    global _draw_store
    _draw_store = store


@functools.lru_cache(maxsize=1)
def _core_digest() -> str:
    """SHA-256 over the path and bytes of every ``.py`` and ``.toml`` file of the built-in tasks and oracles."""
    from pathlib import Path

    import oraclebench.oracles

    # This module's folder is the tasks package's: a change to any task module keeps stale entries from being read.
    here = Path(__file__).resolve().parent
    oracles = Path(oraclebench.oracles.__file__).resolve().parent
    sha = hashlib.sha256()
    for root in (here, oracles):
        for path in sorted(p for p in root.rglob("*") if p.suffix in (".py", ".toml") and "__pycache__" not in p.parts):
            sha.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes() + b"\0")
    return sha.hexdigest()


def _store_key(task: Any, key: str) -> str | None:
    """The store's key of ``key``'s draws for ``task``; None for a task from another package."""
    import json
    import sys

    if not type(task).__module__.startswith(f"{__package__}."):  # oraclebench.tasks.*, the built-ins
        return None
    parts = [task.name, task.variant_id(), key, list(sys.version_info[:2]), _core_digest()]
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def _stored_buckets(found: Any) -> dict[str, frozenset[str]] | None:
    if not isinstance(found, dict) or not all(
            isinstance(label, str) and isinstance(keys, list) and all(isinstance(k, str) for k in keys)
            for label, keys in found.items()):
        return None  # not what ``put`` wrote: drawn again
    return {label: frozenset(keys) for label, keys in found.items()}


@functools.lru_cache(maxsize=16)
def _training_buckets(task: Any, key: str) -> dict[str, frozenset[str]]:
    """``{coverage_bucket: identities}`` of a training-data description's problems: one pass over them
    (tens of thousands of draws, about a second) serves both the split labels and the coverage; kept
    in the ``keep_training_draws`` store where one is set."""
    import json

    try:
        data = json.loads(key)
    except ValueError:
        raise TaskError(f"{task.name}: unreadable training_data {key[:200]} in the manifest") from None
    store, stored = _draw_store, None
    if store is not None and (stored := _store_key(task, key)) is not None:
        if (found := _stored_buckets(store.get(stored))) is not None:
            return found
    by_bucket: dict[str, set[str]] = {}
    for p in task.training_problems(data):
        by_bucket.setdefault(task.coverage_bucket(p), set()).add(task.identity(p))
    if stored is not None:
        store.put(stored, {label: sorted(keys) for label, keys in by_bucket.items()})
    return {label: frozenset(keys) for label, keys in by_bucket.items()}
