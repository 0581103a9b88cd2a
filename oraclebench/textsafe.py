"""Any text a model returns, made safe to store and to show: one place for encoding, size and control characters.

A model (a ``python:`` pipeline, a server) can return anything a ``str`` holds: lone surrogates
(``"\\ud800"``, which no UTF-8 file, page or terminal can take), NULs, ANSI escape sequences,
megabytes. Four functions cover every way such text leaves oraclebench:

- ``storable(value)``: strings made UTF-8 encodable, recursively through lists and dicts. A lone
  surrogate becomes its escape text ``\\ud800`` (visible, and the exact original stays in
  ``cache.sqlite``, whose JSON keeps it as ``\\ud800``). Subclasses of ``str``, ``int``, ``float``,
  ``list`` and ``dict`` become the built-in types (pytest-xdist carries no others). Used by
  ``Record`` for every field.
- ``cap(text, limit)``: a string cut to at most ``limit`` characters with a marker saying how many
  of its characters were left out. Records keep completions up to ``STORED_CHARS`` and error texts up
  to ``ERROR_CHARS``.
- ``printable(text, limit)``: for the terminal: control characters (ANSI escapes, NUL, bidi
  overrides) written as visible escapes, so a model's answer can neither recolour, clear nor
  reorder the user's terminal, and the text capped to ``limit``.
- ``md_cell(value)``: a cell of a markdown table (the report, the leaderboard, the terminal table):
  a model name, label or answer can hold ``|`` or a line break, either of which shifts a row's columns.
  ``md_inline(text)`` and ``md_fence(text)`` do the same for the report's running text (headings,
  paragraphs) and its code blocks.
"""

from __future__ import annotations

import bisect
import itertools
import re
from typing import Any, Callable

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


def _marker(cut: int) -> str:
    return f" ...[{cut:,} characters cut]... "


def cap(text: str, limit: int) -> str:
    """``text`` if it has at most ``limit`` characters, else its head and tail around a marker saying how
    many of its characters are left out: ``" ...[1,234 characters cut]... "``.

    Never longer than ``limit``: records (``STORED_CHARS``, ``ERROR_CHARS``) and terminal lines rely on the
    bound. The marker's own length comes out of the characters kept, so the count covers everything it
    stands for, always more characters than the marker itself (101 characters capped to 100 lose 28 to a
    27-character marker that says 28, not "1 characters cut"). A ``limit`` with no room for a marker and a
    character of the text gets the plain head, ``text[:limit]``.
    """
    return _cap(text, limit)


def _cap(text: str, limit: int, dropped: int = 0) -> str:
    """``cap``, for a ``text`` already missing ``dropped`` characters at a point that this cut removes too."""
    if len(text) <= limit and not dropped:
        return text
    return _cut(*_plain_ends(text), len(text) + dropped, limit) or text[:max(limit, 0)]


def _cut(head: Callable[[int], tuple[str, int]], tail: Callable[[int], tuple[str, int]], total: int,
         limit: int) -> str | None:
    """A head of the text, the marker and a tail, at most ``limit`` characters shown, the marker counting the
    characters of the text (``total`` of them) left out; None where no marker and a character fit.
    ``head(room)``/``tail(room)``: (the longest head/tail shown in at most ``room`` characters, how many
    characters of the text it shows); a character may be shown longer than itself (an escape).

    The marker's own length comes out of the room: the largest room whose marker still fits is taken (the
    count rises as the room falls, and a count a digit or comma longer takes a character more). What is
    taken of the head and the tail never overlaps in the text, as together it shows less than the whole."""
    room = limit - len(_marker(max(total - limit, 1)))
    while room > 0:
        front, k = head(room - room // 4)
        back, j = tail(room - len(front))
        marker = _marker(total - k - j)
        if len(front) + len(marker) + len(back) <= limit:
            return front + marker + back
        room -= 1
    return None


def _plain_ends(text: str) -> tuple[Callable[[int], tuple[str, int]], Callable[[int], tuple[str, int]]]:
    """``_cut``'s head and tail of a text shown as it is."""
    return (lambda room: (text[:room], min(room, len(text))),
            lambda room: (text[len(text) - min(room, len(text)):], min(room, len(text))))


_LINE_BREAK_TEXT = {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\v": "\\v", "\f": "\\f",
                    "\x85": "\\x85", "\u2028": "\\u2028", "\u2029": "\\u2029"}
# A pattern, not str.translate: translate looks every character up in a dict, 56 us for an abcd prompt
# (700 characters, 25 line breaks) in every wrong answer's lines; the pattern takes 5.
_LINE_BREAK = re.compile("[" + "".join(_LINE_BREAK_TEXT) + "]")


# What ``_shown`` writes otherwise: one character at a time.
_ESCAPED = re.compile(f"{_CONTROL.pattern}|{_SURROGATE.pattern}")
_ESCAPED_LINE = re.compile(f"{_ESCAPED.pattern}|{_LINE_BREAK.pattern}")


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
    if limit <= 0:
        return ""
    # Escaping megabytes to show 400 characters wastes time: escape only a head and a tail larger than any
    # shown, and count what lies between them in the one marker (a second marker inside the first cut
    # would leave the shown count short of what is missing).
    dropped = max(0, len(text) - 4 * limit)
    if dropped:
        text = text[:3 * limit] + text[len(text) - limit:]
    if len(text) <= limit:  # shown whole if its escapes fit
        shown = _shown(text, line)
        if len(shown) <= limit:
            return shown
    elif not (_ESCAPED_LINE if line else _ESCAPED).search(text):  # nothing escaped: one piece per character
        return _cap(text, limit, dropped)
    # Cut by the characters of ``text``, each shown as itself or its escape: the marker counts characters left
    # out of ``text``, never the escapes' extra backslashes and digits.
    pattern = _ESCAPED_LINE if line else _ESCAPED
    return (_cut(lambda room: _shown_end(text, room, pattern, line), lambda room: _shown_end(text, room, pattern, line, True),
                 len(text) + dropped, limit)
            or _shown(text[:limit], line)[:limit])


def _shown_end(text: str, room: int, pattern: re.Pattern, line: bool, tail: bool = False) -> tuple[str, int]:
    """(the longest head, or ``tail``, of ``text`` shown in at most ``room`` characters, how many characters of
    ``text`` it shows): a step per escaped character, not per character (the terminal lines of every wrong
    answer are on this path)."""
    walked = text[::-1] if tail else text  # each escape stands for one character: a tail is the reversed head
    extra, n = 0, None  # ``extra``: what the escapes so far add to the shown length
    known = _PIECES[line]
    for m in pattern.finditer(walked):
        i, c = m.start(), m.group()
        if i + extra >= room:
            break
        if (piece := known.get(c)) is None:  # at most the few thousand characters the pattern matches
            piece = known[c] = _shown(c, line)
        if i + extra + len(piece) > room:
            n = i
            break
        extra += len(piece) - 1
    n = min(len(text), room - extra) if n is None else n
    return _shown(text[len(text) - n:] if tail else text[:n], line), n


_PIECES: dict[bool, dict[str, str]] = {False: {}, True: {}}


def _shown(text: str, line: bool) -> str:
    """``text`` storable, its control characters (and, for a ``line``, its line breaks) as visible escapes."""
    text = _CONTROL.sub(_escape, storable_text(text))
    return _LINE_BREAK.sub(lambda m: _LINE_BREAK_TEXT[m.group()], text) if line else text


_MD_BREAKS = "\n\r\v\f\x1c-\x1e\x85\u2028\u2029"  # what str.splitlines splits at
_MD_BREAK = re.compile(f"\r\n|[{_MD_BREAKS}]")
# GitHub reads a backslash as escaping the character after it: the text a\|b with its pipe escaped,
# a\\|b, is an escaped backslash and then a split; with the backslash doubled too, a\\\|b, it is text.
_MD_BACKSLASHES = re.compile(f"(\\\\+)(?=[|{_MD_BREAKS}]|\\Z)")


def md_cell(value: Any) -> Any:
    """``value`` for a cell of a markdown (GFM pipe) table: ``|`` escaped as ``\\|``, each line break
    written ``<br>`` and a backslash before either or at the end doubled; anything but a string as it is
    (tabulate aligns and formats numbers itself).

    A GFM row splits at every unescaped ``|`` and ends at a line break; tabulate also splits a cell at
    every break ``str.splitlines`` knows (``\\v``, ``\\x85``, ``\\u2028``...). Either way a row gets more
    cells than its header, and a header row more cells than its divider is no table at all.

    >>> md_cell("acc | argument right"), md_cell("two\\nlines"), md_cell(61.9)
    ('acc \\\\| argument right', 'two<br>lines', 61.9)
    """
    if not isinstance(value, str):
        return value
    value = _MD_BACKSLASHES.sub(lambda m: 2 * m.group(1), value)
    return _MD_BREAK.sub("<br>", value.replace("|", "\\|"))



# CommonMark lets a backslash escape any ASCII punctuation; these are the ones that start or end markup
# inside a line (emphasis, code, autolinks and HTML, entities, strikethrough, a table's pipe, a heading's
# hashes) and the link brackets' joins: a link or reference needs "](" or "][" (or a definition, which
# only a line's start can hold), so "[1]" or "[95% CI]" stays as it is written. An underscore between two
# letters or digits can neither open nor close emphasis, so a path or a snake_case name stays as written.
_MD_INLINE = re.compile(r"([\\`*<>&|~#!]|(?<![^\W_])_|_(?![^\W_])|(?<=\])[(\[])")
# Where the text starts, a list item ("- ", "+ ", "1. "), a setext underline ("=") or a link reference
# definition ("[x]: url") would be read as markup.
_MD_LINE_START = re.compile(r"^([-+=]|\[(?=.*\]:)|\d+)(?=([.)]?))")


def _line_start(m: re.Match) -> str:
    mark, period = m.groups()
    if mark[0].isdigit():  # a digit is no punctuation and takes no backslash: "1. a" is escaped at its period
        return mark + ("\\" if period else "")
    return "\\" + mark


def md_inline(text: str) -> str:
    r"""``text`` (a model name, a label, a task name: anything a run holds) as literal markdown within one
    block: each line break becomes a space, so that a name cannot end a heading or bold text and start a
    block of its own; markup characters are backslash-escaped, so that it renders as written. Space at
    either end is dropped: a paragraph drops it anyway, four spaces first would start a code block
    instead, and ``**`` next to a space neither opens nor closes bold text.

    >>> md_inline("gpt2**x**\n# y")
    'gpt2\\*\\*x\\*\\* \\# y'
    """
    text = _MD_INLINE.sub(r"\\\1", _MD_BREAK.sub(" ", text).strip())
    return _MD_LINE_START.sub(_line_start, text, count=1)


def md_fence(text: str) -> str:
    r"""``text`` as a fenced markdown code block shown exactly as it is (its CR and CRLF line breaks as LF):
    the fence is one backtick longer than the longest run of backticks in it (CommonMark: a fence closes
    only on a run at least as long).

    >>> md_fence("a ``` b")
    '````\na ``` b\n````'
    """
    # Line breaks as LF: a CR at the end of ``text`` would join the fence's own LF into one CRLF break.
    text = re.sub("\r\n?", "\n", text)
    longest = max((len(run) for run in re.findall("`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}\n{text}\n{fence}"


def shown_value(value: Any) -> str:
    """An answer, expected answer or bucket as a reader sees it (the report and the web page alike): a string as
    it is, a list or tuple one item a line (an abcd trace), anything else as JSON; None as ``(none)``.

    >>> shown_value(("A B", "C")), shown_value({"newA": 1}), shown_value(None)
    ('A B\\nC', '{"newA": 1}', '(none)')
    """
    import json

    if value is None:
        return "(none)"
    if isinstance(value, (list, tuple)):
        return "\n".join(map(str, value))
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
