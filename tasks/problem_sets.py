"""The problem sets a task draws, as functions of a task: the frozen set, fresh re-tests, the problems
a training-data description names, its coverage per stratum, and the unseen problems of its distribution.

``Task``'s methods of the same names call these. They reach the task only through its methods
(``task.sample``, ``task.distinct``, ``task.training_config``, ...), never each other directly, so a
subclass's override of any of them (or a test's patch of ``Task.training_problems``) reaches every set
built on it. A ``task`` here is a ``tasks.base.Task``, typed ``Any``: ``base`` imports this module,
which cannot import it back.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Iterator

from oraclebench.tasks.exchange import BucketCoverage, Instance, TaskError
from oraclebench.tasks.training_draws import _data_key, _training_buckets

# A training distribution with at most this many problems is listed whole to find every unseen one.
ENUMERATE_LIMIT = 1_000_000


def distinct(task: Any, seed: int, config: Any, n: int, seen: set[str],
             max_draws: int | None = None, stream: str = "frozen") -> Iterator[tuple[int, Any]]:
    """Up to ``n`` problems ``sample(seed, i, config, stream)`` whose encodings are not in ``seen`` (each
    is added), with their draw index ``i``. Stops early after ``max_draws`` draws, or after 1,000 draws
    in a row that bring nothing new (the space is, almost surely, used up)."""
    got = misses = i = 0
    while got < n and misses < 1000 and (max_draws is None or i < max_draws):
        problem = task.sample(seed, i, config, stream)
        key = repr(task.encode(problem))
        if key in seen:
            misses += 1
        else:
            seen.add(key)
            got, misses = got + 1, 0
            yield i, problem
        i += 1


def frozen(task: Any, seed: int = 0) -> list[Instance]:
    """The versioned frozen set: distinct problems per stratum, drawn from ``Random(seed + i)``."""
    out: list[Instance] = []
    seen: set[str] = set()
    for s, (config, count) in enumerate(task.frozen_configs()):
        for _, p in task.distinct(seed + 1_000_003 * s, config, count, seen, max_draws=count * 50):
            out.append(task.instance(p, f"{task.name}-{task.version}-{len(out):04d}"))
    return out


def fresh_draws(task: Any, n: int, seed: int, config: Any = None,
                exclude: frozenset[str] = frozenset()) -> tuple[list[Instance], int]:
    """``fresh``'s instances, and how many distinct draws were dropped because ``exclude`` holds them.

    The instance ``...-fresh{seed}-{i}`` is ``sample(seed, i, stream="fresh")``; a draw that repeats
    an earlier problem is skipped (a repeat would weigh that problem twice), so a space smaller
    than ``n`` (causal's 32 inputs) gives all of it, and fewer than ``n``. A draw whose
    ``identity`` is in ``exclude`` (a model's training problems, see ``training_identities``) is
    dropped and does not count towards ``n``.
    """
    out: list[Instance] = []
    dropped = 0
    for i, p in task.distinct(seed, config, n + len(exclude), set(), stream="fresh"):
        if len(out) == n:
            break
        if task.identity(p) in exclude:
            dropped += 1
        else:
            out.append(task.instance(p, task.drawn_id(f"fresh{seed}", i)))
    return out, dropped


def training_config(task: Any, data: dict) -> Any:
    """The config training drew from (the training distribution): ``train_config(split)`` with the
    knobs of ``data["config"]`` over it. Raises: ``TaskError`` for a description that is not one."""
    try:
        return dataclasses.replace(task.train_config(data.get("split")), **(data.get("config") or {}))
    except (AttributeError, TypeError, ValueError) as exc:
        raise TaskError(f"{task.name}: unreadable training_data {data!r} in the manifest: {exc}") from None


def training_problems(task: Any, data: dict) -> Iterator[Any]:
    """The problems a training-data description names, in order.

    Args: ``data`` as manifests store it under ``training_data``: ``{"stream": "train", "seed": S,
    "count": N, "split": <the task's manifest>, "config": {knob: value}}`` (``config`` overrides
    the knobs of ``train_config(split)``, e.g. ``{"scratchpad": true}``).
    Raises: ``TaskError`` for a description that is not one.
    """
    config = task.training_config(data)
    try:
        stream, seed, count = data.get("stream", "train"), int(data["seed"]), int(data["count"])
    except (KeyError, TypeError, ValueError) as exc:
        raise TaskError(f"{task.name}: unreadable training_data {data!r} in the manifest: {exc}") from None
    for i in range(count):
        yield task.sample(seed, i, config, stream)


def training_coverage(task: Any, data: dict) -> list[BucketCoverage]:
    """Per stratum of the training distribution (``strata(training_config(data))``, in order): how many
    distinct problems it holds and how many of them the training data drew (by ``identity``).

    The space is the stratum's ``count``, or, for a complete stratum without one, its problems counted
    one by one; ``None`` for a stratum that cannot list them all (judge's templates).
    """
    by_bucket = dict(_training_buckets(task, _data_key(data)))
    out = []
    for stratum in task.strata(task.training_config(data)):
        space = stratum.count
        if space is None and stratum.complete:
            space = len({task.identity(p) for p in stratum.problems()})
        out.append(BucketCoverage(stratum.label, space, len(by_bucket.pop(stratum.label, ()))))
    # A training problem outside every stratum would be a task bug: count it, never drop it silently.
    out += [BucketCoverage(label, None, len(keys)) for label, keys in sorted(by_bucket.items())]
    return out


def unseen_draws(task: Any, n: int, seed: int, data: dict) -> tuple[list[Instance], int | None]:
    """Up to ``n`` distinct problems of the training distribution that the training data never drew
    (``--fresh N --split unseen``), and how many such problems the space holds (``None``: not counted).

    Where the space is counted and holds no more than ``n`` unseen problems and at most
    ``ENUMERATE_LIMIT`` in all, every one of them is taken (instances ``...-unseen-{k}``, in stratum
    order); otherwise problem ``i`` of the ``fresh`` stream under ``training_config(data)`` is kept
    when it is new, not trained on and inside the distribution (instances ``...-unseen{seed}-{i}``).
    Never returns a trained problem.
    """
    trained = task.training_identities(data)
    split = data.get("split") or {}
    cover = task.training_coverage(data)
    counted = all(b.space is not None for b in cover)
    available = sum(b.unseen for b in cover) if counted else None
    if available is not None and available <= n and sum(b.space for b in cover) <= ENUMERATE_LIMIT:
        found = [p for s in task.strata(task.training_config(data)) for p in s.problems()
                 if task.training_split(p, split, trained) == "unseen"]
        return [task.instance(p, task.drawn_id("unseen", k)) for k, p in enumerate(found)], available
    out: list[Instance] = []
    for i, p in task.distinct(seed, task.training_config(data), n + len(trained), set(), stream="fresh"):
        if task.training_split(p, split, trained) == "unseen":
            out.append(task.instance(p, task.drawn_id(f"unseen{seed}", i, width=5)))
            if len(out) == n:
                break
    return out, available
