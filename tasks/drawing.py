"""Where a task's generator gets its randomness: the ``Draw`` protocol, its three sources and the streams.

A generator builds a problem from a ``Draw``; ``RandomDraw`` gives the reproducible sets,
``HypothesisDraw`` the counterexample search (its draws shrink towards small problems) and
``LowestDraw`` the smallest problem of a config.

Streams. Each purpose draws from its own stream: training data (``train``, and ``valid``/``test``
for ``oraclebench generate``), fresh re-tests (``fresh``), the judge recipe's curves and
vocabulary (``curve``, ``vocab``). Problem ``i`` of stream ``s`` at seed ``S`` comes from a
``Random`` seeded by a hash of ``(s, task, S, i)``, so two seeds, or two purposes, share a problem
only by chance (as two independent draws would). The frozen sets keep the stream they were frozen
with, ``Random(seed + i)`` (``stream="frozen"``): re-drawing them would change every model's
numbers. Exploration draws from Hypothesis, seeded apart (``oraclebench.explore``).
"""

from __future__ import annotations

import functools
import hashlib
import random
from typing import Any, Callable, Protocol, Sequence, TypeVar

T = TypeVar("T")


class Draw(Protocol):
    """Where a task's generator gets its randomness: Hypothesis (search, shrinking) or a Random.

    ``knob`` draws a difficulty knob (a template, an error kind): like ``choice`` for a Random, so
    the frozen sets do not depend on it, but a search puts the options easiest first by ``rank``
    (lowest first), so that Hypothesis shrinks towards the easiest setting.
    """

    def integer(self, lo: int, hi: int) -> int: ...

    def choice(self, options: Sequence[T]) -> T: ...

    def boolean(self) -> bool: ...

    def knob(self, options: Sequence[T], rank: Callable[[T], Any]) -> T: ...


STREAMS = ("frozen", "train", "valid", "test", "fresh", "curve", "vocab")


def stream_random(stream: str, task: str, seed: int, i: int) -> random.Random:
    """The ``Random`` behind problem ``i`` of ``stream`` for ``task`` at ``seed``.

    Args: ``stream``, one of ``STREAMS``; ``task``, the task's name; ``seed``, ``i``: integers.
    Returns: a fresh ``random.Random``. Raises: ``ValueError`` for an unknown stream.
    ``frozen`` is ``Random(seed + i)``, how the v1 sets were drawn; every other stream is seeded by
    a SHA-256 of ``(stream, task, seed, i)``, so neighbouring seeds do not share draws.
    """
    if stream == "frozen":
        return random.Random(seed + i)
    if stream not in STREAMS:
        raise ValueError(f"unknown stream {stream!r}; known: {', '.join(STREAMS)}")
    digest = hashlib.sha256(f"oraclebench\0{stream}\0{task}\0{seed}\0{i}".encode()).digest()
    return random.Random(int.from_bytes(digest[:16], "big"))


class RandomDraw:
    """A ``Draw`` backed by ``random.Random``: problem i of a stream is ``RandomDraw(stream_random(...))``."""

    def __init__(self, rng: random.Random):
        self.rng = rng

    def integer(self, lo: int, hi: int) -> int:
        return self.rng.randint(lo, hi)

    def choice(self, options: Sequence[T]) -> T:
        return options[self.rng.randrange(len(options))]

    def boolean(self) -> bool:
        return self.rng.random() < 0.5

    def knob(self, options: Sequence[T], rank: Callable[[T], Any]) -> T:
        return self.choice(options)  # the order given, not the rank: the frozen sets stay as they were drawn


class LowestDraw:
    """A ``Draw`` that always takes the simplest value: ``lo``, the first option, False, the easiest knob.

    ``generate(LowestDraw(), config)`` is the smallest problem of a config whose knobs are all fixed
    (judge: a template's lowest numbers); the counterexample search screens those first.
    """

    def integer(self, lo: int, hi: int) -> int:
        return lo

    def choice(self, options: Sequence[T]) -> T:
        return options[0]

    def boolean(self) -> bool:
        return False

    def knob(self, options: Sequence[T], rank: Callable[[T], Any]) -> T:
        return min(options, key=rank)


class HypothesisDraw:
    """A ``Draw`` backed by Hypothesis's ``draw``, whose shrinker lowers each choice towards its simplest.

    - ``knob``: options sorted easiest first, so a knob shrinks to the easiest setting before the
      values drawn after it (tasks draw their knobs first: the choice sequence holds them first);
    - ``integer``: a band of one digit count (``[10**(d-1), 10**d - 1]``, two digits or more) is
      drawn digit by digit, most significant first. Multiplication draws a digit count, then an
      operand in its band: drawn as one integer, ``70`` in ``[10, 99]`` cannot follow a shrink of the
      count to ``[1, 9]``; drawn as digits ``7, 0``, the leading digit carries over to ``7``. Other
      ranges stay one choice, which shrinks best;
    - ``choice``: shrinks to the first option; ``boolean``: to False;
    - ``pad(n)``: Hypothesis orders examples shortlex, fewer choices before smaller ones, so a
      setting that draws fewer values (a judge template of two quantities) would beat an easier one
      of three. Padded to one length, the choices drawn first, the knobs, decide.
    """

    def __init__(self, draw: Any):
        self._draw = draw
        self.drawn = 0  # choices drawn so far

    def draw(self, strategy: Any) -> Any:
        self.drawn += 1
        return self._draw(strategy)

    def pad(self, choices: int) -> None:
        """Draw ignored False values until ``choices`` choices are drawn in all (none if already past)."""
        while self.drawn < choices:
            self.draw(_sampled((False, True)))

    def integer(self, lo: int, hi: int) -> int:
        width = len(str(hi))
        if lo < 10 or len(str(lo)) != width:  # not a band of one digit count: one choice shrinks best
            return self.draw(_integers(lo, hi))
        low, high = str(lo), str(hi)
        value, at_low, at_high = 0, True, True
        for i in range(width):  # the most significant digit first, each bounded to stay in [lo, hi]
            d_min = int(low[i]) if at_low else 0
            d_max = int(high[i]) if at_high else 9
            digit = self.draw(_integers(d_min, d_max))
            at_low, at_high = at_low and digit == d_min, at_high and digit == d_max
            value = 10 * value + digit
        return value

    def choice(self, options: Sequence[T]) -> T:
        options = tuple(options)
        if len(options) == 1:  # Hypothesis draws no choice for one option (``just``): none is counted
            return options[0]
        try:
            hash(options)
        except TypeError:  # unhashable options cannot be cached: build the strategy each time
            return self.draw(_sampled.__wrapped__(options))
        return self.draw(_sampled(options))

    def boolean(self) -> bool:
        return self.draw(_sampled((False, True)))

    def knob(self, options: Sequence[T], rank: Callable[[T], Any]) -> T:
        return self.choice(sorted(options, key=rank))


# Strategies are built once: building one per draw costs more than the draw itself (profiled on abcd).
@functools.lru_cache(maxsize=4096)
def _integers(lo: int, hi: int):
    from hypothesis import strategies as st

    return st.integers(lo, hi)


@functools.lru_cache(maxsize=1024)
def _sampled(options: tuple):
    from hypothesis import strategies as st

    return st.sampled_from(options)
