"""Interval and test statistics for accuracies (pure Python, no scipy needed).

>>> lo, hi = wilson(8, 10)
>>> round(lo, 3), round(hi, 3)
(0.49, 0.943)
"""

from __future__ import annotations

import math
import random
from typing import Sequence

Z95 = 1.959963984540054
# Below this many instances a 95% interval spans most of 0-100% (one instance: 20.7-100), so figures and
# tables show the count right of all (1/1, 0/1, 3/4) instead of an interval that reads as noise.
TINY_N = 5


def tiny(n: int) -> bool:
    """Whether ``n`` instances are too few for an interval to say anything: show ``k/n`` instead."""
    return 0 < n < TINY_N


def wilson(k: int, n: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval for ``k`` successes in ``n`` trials (``(0, 1)`` when ``n == 0``).

    Its lower bound at ``k == 0`` is 0 and its upper bound at ``k == n`` is 1 exactly (centre and half-width
    are equal there); in floating point they came out as 5.5e-17 or 0.9999999999999999 for many ``n``, and an
    all-right run printed ``100.0 [99.3, >99.9]``, an interval that excludes its own estimate.
    """
    if n == 0:
        return 0.0, 1.0
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (0.0 if k == 0 else max(0.0, centre - half)), (1.0 if k == n else min(1.0, centre + half))


def mcnemar_exact(only_a: int, only_b: int, alternative: str = "two-sided") -> float:
    """Exact McNemar p-value from the discordant counts (a binomial test with p = 1/2).

    ``alternative="less"`` tests whether B is worse than A (B right less often: ``only_a`` large).

    >>> round(mcnemar_exact(10, 2), 4)
    0.0386
    """
    n = only_a + only_b
    if n == 0:
        return 1.0

    def cdf(k: int) -> float:
        return sum(math.comb(n, i) for i in range(0, k + 1)) / 2**n

    if alternative == "two-sided":
        return min(1.0, 2 * cdf(min(only_a, only_b)))
    if alternative == "less":  # B worse than A: few "only B" wins
        return cdf(only_b)
    if alternative == "greater":
        return cdf(only_a)
    raise ValueError(f"alternative must be two-sided, less or greater, not {alternative!r}")


def paired_bootstrap(a: Sequence[bool], b: Sequence[bool], n_boot: int = 2000, seed: int = 0,
                     level: float = 0.95) -> tuple[float, float, float]:
    """Accuracy difference ``mean(b) - mean(a)`` on paired items, with a percentile bootstrap interval."""
    if len(a) != len(b):
        raise ValueError("paired samples must have the same length")
    n = len(a)
    if n == 0:
        return 0.0, 0.0, 0.0
    diffs = [int(y) - int(x) for x, y in zip(a, b)]
    rng = random.Random(seed)
    boots = sorted(sum(diffs[rng.randrange(n)] for _ in range(n)) / n for _ in range(n_boot))
    lo = boots[int((1 - level) / 2 * n_boot)]
    hi = boots[min(n_boot - 1, int((1 + level) / 2 * n_boot))]
    return sum(diffs) / n, lo, hi


def stratified_difference(cells: Sequence[tuple[int, int, int, int]], z: float = Z95) -> tuple[float, float, float]:
    """``p1 - p2`` compared within strata: each stratum's difference weighted by Mantel-Haenszel's
    ``n1 n2 / (n1 + n2)``, with the MOVER interval of a weighted sum of independent differences built
    on each stratum's Wilson intervals (Zou & Donner 2008, "Construction of confidence limits about
    effect measures: a general approach", Statistics in Medicine 27:1693-1702). With one stratum it is
    ``difference_interval`` (Newcombe's method 10), which is that same construction.

    Why: two splits of different difficulty mixes (abcd's trained instances short, its unseen ones long)
    differ by the mix, not by recall; within a stratum both splits are alike in difficulty.

    Args:
        cells: per stratum ``(k1, n1, k2, n2)``, successes and trials of each side; a stratum with an
            empty side is left out (it compares nothing).
    Returns:
        ``(difference, lo, hi)``; ``(nan, -1, 1)`` when no stratum has both sides.

    >>> stratified_difference([(9, 10, 3, 10)]) == difference_interval(9, 10, 3, 10)
    True
    """
    cells = [c for c in cells if c[1] and c[3]]
    if not cells:
        return float("nan"), -1.0, 1.0
    weights = [n1 * n2 / (n1 + n2) for _, n1, _, n2 in cells]
    total = sum(weights)
    d = lo2 = hi2 = 0.0
    for (k1, n1, k2, n2), w in zip(cells, weights):
        c = w / total
        p1, p2 = k1 / n1, k2 / n2
        l1, u1 = wilson(k1, n1, z)
        l2, u2 = wilson(k2, n2, z)
        d += c * (p1 - p2)
        lo2 += c * c * ((p1 - l1) ** 2 + (u2 - p2) ** 2)
        hi2 += c * c * ((u1 - p1) ** 2 + (p2 - l2) ** 2)
    return d, max(-1.0, d - math.sqrt(lo2)), min(1.0, d + math.sqrt(hi2))  # rounding, as difference_interval


def difference_interval(k1: int, n1: int, k2: int, n2: int, z: float = Z95) -> tuple[float, float, float]:
    """``p1 - p2`` for independent samples with Newcombe's hybrid Wilson interval (method 10)."""
    if n1 == 0 or n2 == 0:
        return float("nan"), -1.0, 1.0
    p1, p2 = k1 / n1, k2 / n2
    l1, u1 = wilson(k1, n1, z)
    l2, u2 = wilson(k2, n2, z)
    d = p1 - p2
    lo = d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    hi = d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    return d, max(-1.0, lo), min(1.0, hi)  # within [-1, 1] but for rounding (-1.0000000000000002 at 0/1 vs 27/27)
