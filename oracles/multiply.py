"""Exact multiplication with a long-multiplication scratchpad that a model's worked answer is checked against.

The scratchpad is the schoolbook method: ``a`` times each digit of ``b`` (units first), each partial
product shifted by the digit's place, the carries of every digit step, and the running sum.

>>> print(render_scratchpad(scratchpad(47, 23)))
47 × 3 = 141 (carries 1,2)
47 × 20 = 940 (carries 0,1)
141 + 940 = 1081
= 1081

Line formats (one line each, in this order):

- partial: ``A × D00 = P00 (carries c,c)``: the multiplier is the digit of ``b`` followed by one ``0``
  per place, the partial product is ``A × digit`` followed by the same zeros (``47 × 00 = 00`` for a
  zero digit), and the carries, one per digit of ``A``, are written under those digits: the carry out
  of each digit step, most significant first (the last one becomes the product's leading digit).
- running sum: ``S + P00 = T`` after every partial product but the first.
- final: ``= N``, the product.

The values are computed digit by digit here (not with ``a * digit``), so ``product`` can be tested
against Python's ``*``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from oraclebench.oracles.numbers import HARD_MAX_DIGITS, digit_bound, read_int

TIMES = "×"  # U+00D7, the sign used in the prompts


@dataclass(frozen=True)
class Partial:
    """``a`` times one digit of ``b``: ``value == a * digit * 10**place``.

    ``carries[i]`` is the carry out of the step on the i-th digit of ``a`` counted from the units.
    """

    digit: int
    place: int
    carries: tuple[int, ...]
    value: int

    @property
    def multiplier_text(self) -> str:
        return str(self.digit) + "0" * self.place

    @property
    def value_text(self) -> str:
        # Written as (a × digit) then the shift zeros, so a zero digit in the tens reads "00", not "0".
        return str(self.value // 10**self.place) + "0" * self.place


@dataclass(frozen=True)
class Scratchpad:
    """The worked long multiplication of ``a × b``: partials by ``b``'s digits (units first) and running sums.

    ``sums[k]`` is the total of ``partials[0..k]``; the last sum is the product.
    """

    a: int
    b: int
    partials: tuple[Partial, ...]
    sums: tuple[int, ...]

    @property
    def product(self) -> int:
        return self.sums[-1]


def _check_operands(a: int, b: int) -> None:
    for name, v in (("a", a), ("b", b)):
        if isinstance(v, bool) or not isinstance(v, int) or v < 0:
            raise ValueError(f"multiply: operand {name}={v!r} must be a non-negative int")


def _digits(n: int) -> list[int]:
    """Decimal digits of ``n``, units first: ``_digits(47) == [7, 4]``."""
    return [int(c) for c in reversed(str(n))]


def times_digit(a: int, digit: int) -> tuple[int, tuple[int, ...]]:
    """``a × digit`` computed one digit at a time: (the product, the carry out of each step, units first).

    >>> times_digit(47, 3)
    (141, (2, 1))
    """
    out, carry, carries = [], 0, []
    for d in _digits(a):
        step = d * digit + carry
        out.append(step % 10)
        carry = step // 10
        carries.append(carry)
    value = carry  # the last carry is the leading digit (0 if none)
    for d in reversed(out):
        value = value * 10 + d
    return value, tuple(carries)


def scratchpad(a: int, b: int) -> Scratchpad:
    """The long multiplication of ``a × b`` (non-negative ints), partial products by ``b``'s digits.

    >>> [p.value for p in scratchpad(47, 23).partials], scratchpad(47, 23).sums
    ([141, 940], (141, 1081))
    """
    _check_operands(a, b)
    partials, sums, total = [], [], 0
    for place, digit in enumerate(_digits(b)):
        value, carries = times_digit(a, digit)
        partial = Partial(digit, place, carries, int(str(value) + "0" * place))
        total += partial.value
        partials.append(partial)
        sums.append(total)
    return Scratchpad(a, b, tuple(partials), tuple(sums))


def product(a: int, b: int) -> int:
    """``a × b`` by long multiplication (non-negative ints).

    >>> product(47, 23)
    1081
    """
    return scratchpad(a, b).product


# --------------------------------------------------------------------------- lines of the worked answer


def _partial_line(a: int, p: Partial) -> str:
    carries = ",".join(str(c) for c in reversed(p.carries))
    return f"{a} {TIMES} {p.multiplier_text} = {p.value_text} (carries {carries})"


def _sum_line(running: int, p: Partial, total: int) -> str:
    return f"{running} + {p.value_text} = {total}"


def final_line(answer: int) -> str:
    """The last line of a worked answer: ``= 1081``."""
    return f"= {answer}"


def scratchpad_lines(pad: Scratchpad) -> list[str]:
    """The lines of the worked answer, final line included."""
    lines = [_partial_line(pad.a, pad.partials[0])]
    for k in range(1, len(pad.partials)):
        lines.append(_partial_line(pad.a, pad.partials[k]))
        lines.append(_sum_line(pad.sums[k - 1], pad.partials[k], pad.sums[k]))
    return lines + [final_line(pad.product)]


def render_scratchpad(pad: Scratchpad) -> str:
    """The worked answer as text: one line per step, newline-separated, no trailing newline."""
    return "\n".join(scratchpad_lines(pad))


# --------------------------------------------------------------------------- checking a model's work

# Formatting noise tolerated: spaces anywhere between tokens, "x" or "*" for the times sign, a
# trailing period and thousands separators on the final answer. Numbers themselves are never bent: a
# final "= -1081" is the number -1081 (a definite, wrong answer), as the plain answer " -1081" is.
_PARTIAL = re.compile(r"^(\d+)\s*[×x*]\s*(\d+)\s*=\s*(\d+)\s*\(\s*carries\s*(\d+(?:\s*,\s*\d+)*)\s*\)$")
_SUM = re.compile(r"^(\d+)\s*\+\s*(\d+)\s*=\s*(\d+)$")
_FINAL = re.compile(r"^=\s*([-+]?(?:\d{1,3}(?:,\d{3})+|\d+))\s*\.?$")


def work_lines(text: str) -> list[str]:
    """The stripped lines of a worked answer: leading blank lines skipped, cut at the first blank line after.

    A blank line ends the work (it is the stop string), so anything after it is ignored.
    """
    lines = [line.strip() for line in text.split("\n")]
    while lines and not lines[0]:
        lines.pop(0)
    return lines[: lines.index("")] if "" in lines else lines


def read_final(line: str, max_digits: int = HARD_MAX_DIGITS) -> int | str | None:
    """The number on a final ``= N`` line (``= 1,081.`` reads 1081), or None if it is not one; a
    number of more than ``max_digits`` digits is a ``TooLong`` (``oracles.numbers``), never converted."""
    m = _FINAL.match(line.strip())
    return read_int(m.group(1), max_digits) if m else None


def _bound(pad: Scratchpad) -> int:
    # Every number of a worked answer (operands, partials, sums, carries) is at most the product's length.
    return digit_bound(len(str(pad.a)) + len(str(pad.b)))


def _check_partial(line: str, a: int, p: Partial) -> str:
    m = _PARTIAL.match(line)
    want = _partial_line(a, p)
    if not m:
        return f"expected a partial product like {want!r}, got {_clip(line)!r}"
    got_a, mult, value, carries = m.groups()
    bound = digit_bound(len(str(a)) + len(p.value_text))
    if read_int(got_a, bound) != a or mult != p.multiplier_text:
        return f"expected {a} {TIMES} {p.multiplier_text}, got {_shown(got_a, bound)} {TIMES} {_shown(mult, bound)}"
    if read_int(value, bound) != p.value:
        return f"{a} {TIMES} {p.multiplier_text} should be {p.value_text}, got {_shown(value, bound)}"
    got_carries = [read_int(c.strip(), bound) for c in carries.split(",")]
    if got_carries != list(reversed(p.carries)):
        shown = ",".join(map(str, got_carries)) if len(carries) <= 4 * bound else _clip(carries)
        return f"carries should be {','.join(map(str, reversed(p.carries)))}, got {shown}"
    return ""


def _shown(digits: str, bound: int) -> str:
    """A number from the model's text as it appears in a reason: whole if short, else described."""
    return digits if len(digits) <= bound else str(read_int(digits, bound) or f"{digits[:20]}...")


def _check_sum(line: str, running: int, p: Partial, total: int) -> str:
    m = _SUM.match(line)
    want = _sum_line(running, p, total)
    if not m:
        return f"expected a running sum like {want!r}, got {_clip(line)!r}"
    bound = digit_bound(max(len(str(running)), len(p.value_text), len(str(total))))  # "00" partials are text
    got = tuple(read_int(g, bound) for g in m.groups())
    if got[:2] != (running, p.value):
        return f"expected the sum {running} + {p.value_text}, got {got[0]} + {got[1]}"
    if got[2] != total:
        return f"{running} + {p.value_text} should be {total}, got {got[2]}"
    return ""


def _checks(pad: Scratchpad):
    """One checker per expected line, in order: each takes a model line and returns '' or why it is wrong."""
    yield lambda line: _check_partial(line, pad.a, pad.partials[0])
    for k in range(1, len(pad.partials)):
        yield lambda line, k=k: _check_partial(line, pad.a, pad.partials[k])
        yield lambda line, k=k: _check_sum(line, pad.sums[k - 1], pad.partials[k], pad.sums[k])
    yield lambda line: (
        "" if read_final(line, _bound(pad)) == pad.product
        else f"expected the final line {final_line(pad.product)!r}, got {_clip(line)!r}"
    )


def _clip(line: str, limit: int = 200) -> str:
    """A model's line quoted in a reason, cut to ``limit`` characters (a line can be megabytes long)."""
    return line if len(line) <= limit else f"{line[:limit // 2]}...({len(line)} chars)...{line[-limit // 2:]}"


def check_scratchpad(a: int, b: int, text: str) -> tuple[bool, int | None, str]:
    """Check a worked answer line by line: (ok, first bad line counted from 1 or None, why).

    Lines are those of ``work_lines(text)``; every line must match the oracle's in content.

    >>> check_scratchpad(47, 23, "47 × 3 = 141 (carries 1,2)\\n47 × 20 = 930 (carries 0,1)")
    (False, 2, 'line 2: 47 × 20 should be 940, got 930')
    """
    pad = scratchpad(a, b)
    lines = work_lines(text)
    checks = list(_checks(pad))
    for i, check in enumerate(checks):
        if i >= len(lines):
            return False, i + 1, f"line {i + 1}: missing, expected {scratchpad_lines(pad)[i]!r}"
        why = check(lines[i])
        if why:
            return False, i + 1, f"line {i + 1}: {why}"
    if len(lines) > len(checks):
        extra = _clip(lines[len(checks)])
        return False, len(checks) + 1, f"line {len(checks) + 1}: unexpected line after the final answer: {extra!r}"
    return True, None, ""
