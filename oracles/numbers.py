"""Reading whole numbers out of text with a length bound: the one number parser of the pure core.

A model can write any number of digits. ``int()`` on more than 4,300 digits raises (CPython's guard
against quadratic conversion), and a number thousands of digits long is a wrong answer anyway, never
a reason to lose the task. So every place that reads a number from model text (the multiplication
and causal parsers, the multiplication scratchpad checker) reads it with ``read_int`` and a bound
taken from the expected answer:

>>> read_int("1,081", max_digits=8)
1081
>>> read_int("-5", max_digits=8), read_int("+243", max_digits=8)
(-5, 243)
>>> read_int("9" * 5000, max_digits=8)
TooLong('a number of 5000 digits (99999999...99999999), far longer than the at most 8 expected')
>>> read_int("12a", max_digits=8) is None
True

A ``TooLong`` is a ``str`` (so it is stored and shown as is, and equals no int): a wrong answer,
with its reason in the text. Nothing here imports beyond the standard library.
"""

from __future__ import annotations

import re

# A hard ceiling whatever the caller asks: safely below CPython's default int/str conversion limit
# (4,300 digits, sys.int_info.default_max_str_digits), so reading can never raise.
HARD_MAX_DIGITS = 4000
# ASCII digits after an optional sign. A sign is part of the number: "-5" is minus five (a causal world's
# sum can be negative; a signed product is a definite, wrong answer), never "no number". ASCII only: the
# answer format of every task; a str pattern's \d (and int()) would take any script's digits ("５６"),
# which only the lenient readings take (``tasks.reading.unmarked``), in every task alike.
_NUMBER = re.compile(r"[-+]?([0-9]+)")


class TooLong(str):
    """A number with more digits than the bound: kept as a short description, never converted."""

    digits: int

    def __new__(cls, digits: str, max_digits: int) -> "TooLong":
        shown = digits if len(digits) <= 20 else f"{digits[:8]}...{digits[-8:]}"
        text = f"a number of {len(digits)} digits ({shown}), far longer than the at most {max_digits} expected"
        self = super().__new__(cls, text)
        self.digits = len(digits)
        return self

    def __repr__(self) -> str:
        return f"TooLong({str(self)!r})"


def digit_bound(expected_digits: int) -> int:
    """How many digits a read number may have when the answer has ``expected_digits``: twice as many,
    plus slack. More is "far longer": wrong whatever the digits, and not worth converting."""
    return min(HARD_MAX_DIGITS, 2 * max(1, expected_digits) + 8)


def read_int(text: str, max_digits: int) -> int | TooLong | None:
    """The whole number written in ``text`` (an optional ``-`` or ``+`` sign, then decimal digits,
    ``,`` thousands separators allowed and dropped); ``TooLong`` if it has more than ``max_digits``
    digits (the sign not counted); None if ``text`` is not one.

    Callers match their own format first (where commas may stand, a trailing period); this only
    converts, within the bound.
    """
    number = _NUMBER.fullmatch(text.replace(",", ""))
    if not number:
        return None
    bound = min(max_digits, HARD_MAX_DIGITS)
    if len(number.group(1)) > bound:
        return TooLong(number.group(1), bound)
    return int(number.group())


def is_number(value: object) -> bool:
    """Whether ``value`` is a read number (an int, not a bool, not a ``TooLong``)."""
    return isinstance(value, int) and not isinstance(value, bool)
