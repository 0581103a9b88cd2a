"""``cap`` and ``printable``: a cut text says truly how much of it is missing, and never grows.

The property: ``cap(text, limit)`` is ``text`` itself when it fits; otherwise at most ``limit``
characters (records and terminal lines rely on the bound), so never longer than ``text``; and it is
either the plain head ``text[:limit]`` (no room for a marker) or a head of ``text``, the marker
``" ...[N characters cut]... "`` and a tail of ``text``, where N is exactly the number of characters
of ``text`` between them, and so always more than the marker's own length. The marker once counted
the characters over the limit, not those it stood for: a text 1 over read "[1 characters cut]" with
27 characters gone.
"""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from oraclebench.textsafe import cap, printable

MARKER = re.compile(r" \.\.\.\[([\d,]+) characters cut\]\.\.\. ")


def _cut_apart(text: str, out: str) -> tuple[int, int] | None:
    """(N, marker length) where ``out`` is a head of ``text``, a marker of N and a tail, N being the
    characters between them; None where ``out`` is no such thing."""
    for m in MARKER.finditer(out):
        head, tail = out[:m.start()], out[m.end():]
        missing = len(text) - len(head) - len(tail)
        if text.startswith(head) and text.endswith(tail) and int(m.group(1).replace(",", "")) == missing:
            return missing, len(m.group())
    return None


def assert_cut_as_promised(text: str, out: str, limit: int) -> None:
    if len(text) <= limit:
        assert out == text
        return
    assert len(out) <= limit < len(text)
    parts = _cut_apart(text, out)
    if parts is None:
        assert out == text[:limit]
        # A marker is left out only where no marker of the largest count and a character would fit.
        assert limit < 1 + len(f" ...[{len(text):,} characters cut]... ")
    else:
        missing, marker = parts
        assert missing > marker  # a marker stands for more characters than it takes


@st.composite
def text_and_limit(draw, alphabet=st.characters()):
    text = draw(st.text(alphabet, max_size=400) | st.integers(0, 20_000).map(lambda n: "0123456789" * n))
    return text, draw(st.integers(0, len(text) + 5))


@given(text_and_limit())
def test_a_capped_text_is_whole_or_at_most_the_limit_and_its_marker_counts_what_is_missing(case):
    text, limit = case
    assert_cut_as_promised(text, cap(text, limit), limit)


@given(st.text(min_size=1), st.integers(1, 3))
def test_a_text_a_few_characters_over_the_limit_loses_what_its_marker_says(head, over):
    text = (head * 200)[:100 + over]
    out = cap(text, 100)
    assert len(out) <= 100
    missing, marker = _cut_apart(text, out)
    assert missing == len(text) - (len(out) - marker) > marker


def test_the_reported_cuts_say_28_and_34_not_1_and_7():
    letters = "".join(chr(97 + i % 26) for i in range(107))
    assert cap(letters[:101], 100) == letters[:55] + " ...[28 characters cut]... " + letters[83:101]
    assert cap(letters, 100) == letters[:55] + " ...[34 characters cut]... " + letters[89:]


@given(text_and_limit(st.characters(min_codepoint=32, max_codepoint=126)))
def test_a_text_shown_in_a_terminal_line_counts_every_character_it_leaves_out(case):
    """``printable`` escapes only a head and a tail of a long text; the one marker counts the middle too.
    (Printable ASCII: no escape changes a length.)"""
    text, limit = case
    assert_cut_as_promised(text, printable(text, limit), limit)


def _escaped(text: str) -> str:
    """Each control character as ``\\xNN`` or ``\\uNNNN``, as the definition in ``printable`` says."""
    return "".join(f"\\x{ord(c):02x}" if ord(c) < 256 else f"\\u{ord(c):04x}" for c in text)


@given(st.text(st.sampled_from("ab\x1b\x00\u202e"), max_size=600), st.integers(40, 200))
def test_a_terminal_line_with_escapes_counts_the_characters_it_leaves_out_not_their_escapes(text, limit):
    """The marker counted the escaped text's characters (a cut ESC counted 4) beside the original ones cut
    before escaping (review): it counts characters of the text, whatever their escapes' length."""
    shown = "".join(c if c in "ab" else _escaped(c) for c in text)
    out = printable(text, limit)
    if len(shown) <= limit:
        assert out == shown
        return
    assert len(out) <= limit
    m = MARKER.search(out)
    assert m is not None
    head, tail = out[:m.start()], out[m.end():]
    shown_of = lambda part: "".join(c if c in "ab" else _escaped(c) for c in part)  # noqa: E731
    k = next(k for k in range(len(text) + 1) if shown_of(text[:k]) == head)
    j = next(j for j in range(len(text) + 1) if shown_of(text[len(text) - j:]) == tail)
    assert int(m.group(1).replace(",", "")) == len(text) - k - j


def test_thirty_escape_characters_cut_to_forty_say_how_many_of_them_are_missing():
    # By hand: 30 ESC show as 120 characters; 40 leave room for 2 escapes (8) before the 27-character marker
    # " ...[27 characters cut]... " and 1 after it: 30 - 3 = 27 characters cut, not the 108 escaped ones.
    assert printable("\x1b" * 30, 40) == "\\x1b\\x1b ...[27 characters cut]... \\x1b"
