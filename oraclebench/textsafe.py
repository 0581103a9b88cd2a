"""Any text a model returns, made safe to store and to show: one place for encoding, size and control characters.

A model (a ``python:`` pipeline, a server) can return anything a ``str`` holds: lone surrogates
(``"\\ud800"``, which no UTF-8 file, page or terminal can take), NULs, ANSI escape sequences,
megabytes. Three functions cover every way such text leaves oraclebench:

- ``storable(value)``: strings made UTF-8 encodable, recursively through lists and dicts. A lone
  surrogate becomes its escape text ``\\ud800`` (visible, and the exact original stays in
  ``cache.sqlite``, whose JSON keeps it as ``\\ud800``). Subclasses of ``str``, ``int``, ``float``,
  ``list`` and ``dict`` become the built-in types (pytest-xdist carries no others). Used by
  ``Record`` for every field.
- ``cap(text, limit)``: a string cut to ``limit`` characters with a marker saying how much was cut.
  Records keep completions up to ``STORED_CHARS`` and error texts up to ``ERROR_CHARS``.
- ``printable(text, limit)``: for the terminal: control characters (ANSI escapes, NUL, bidi
  overrides) written as visible escapes, so a model's answer can neither recolour, clear nor
  reorder the user's terminal, and the text capped to ``limit``.
"""

from __future__ import annotations

import re
from typing import Any

STORED_CHARS = 65_536  # a completion kept in a record: generous for any task's answer (abcd traces ~10 KB)
ERROR_CHARS = 2_000  # an error message kept in a record
SHOWN_CHARS = 400  # a model text shown in a terminal line

# C0 controls but tab and newline, DEL, C1 controls, and the bidi embeddings/overrides/isolates.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_SURROGATE = re.compile("[\ud800-\udfff]")
_SCALARS = (int, float, bool)  # exact types storable() passes through untouched (the common case first)


def storable_text(text: str) -> str:
    """``text`` with lone surrogates written as ``\\udXXX`` escapes: always encodable as UTF-8."""
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return _SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def storable(value: Any) -> Any:
    """``value`` with every string in it (dict keys too, through lists, tuples and dicts) storable, and
    every string, number and container of a subclass made the built-in type itself (``TooLong``, a
    ``str``; an ``IntEnum``; an ``OrderedDict``): JSON writes both alike, but pytest-xdist's transport
    (execnet) carries only the exact built-in types, and a record rides it in its report."""
    if isinstance(value, str):
        return storable_text(value if type(value) is str else str.__str__(value))
    if type(value) in _SCALARS or value is None:
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, dict):
        return {storable(k): storable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(storable(v) for v in value) if type(value) in (list, tuple) else [storable(v) for v in value]
    return value


def cap(text: str, limit: int) -> str:
    """``text`` if it has at most ``limit`` characters, else its head and tail around a marker of the cut."""
    if len(text) <= limit:
        return text
    marker = f" ...[{len(text) - limit:,} characters cut]... "
    keep = max(0, limit - len(marker))
    return text[: keep - keep // 4] + marker + text[len(text) - keep // 4:] if keep else text[:limit]


_LINE_BREAK_TEXT = {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\v": "\\v", "\f": "\\f",
                    "\x85": "\\x85", "\u2028": "\\u2028", "\u2029": "\\u2029"}
# A pattern, not str.translate: translate looks every character up in a dict, 56 us for an abcd prompt
# (700 characters, 25 line breaks) in every wrong answer's lines; the pattern takes 5.
_LINE_BREAK = re.compile("[" + "".join(_LINE_BREAK_TEXT) + "]")


def _escape(m: re.Match) -> str:
    code = ord(m.group())
    return f"\\x{code:02x}" if code < 256 else f"\\u{code:04x}"


def printable(text: str, limit: int = SHOWN_CHARS, line: bool = False) -> str:
    """``text`` for a terminal line: storable, control characters (ANSI ``ESC``, NUL, bidi overrides)
    as visible escapes (``\\x1b``), capped to ``limit`` characters. ``line``: for text inside one line
    (a run's status, a reason), line breaks and tabs are written visibly too (``\\n``).

    >>> printable("boom\\nC D", line=True)
    'boom\\\\nC D'
    """
    text = storable_text(cap(text, 4 * limit))
    text = _CONTROL.sub(_escape, text)
    if line:
        text = _LINE_BREAK.sub(lambda m: _LINE_BREAK_TEXT[m.group()], text)
    return cap(text, limit)
