"""The final answer for the judge oracle: which number a chain of thought ends on.

``_numerals`` reads every number of the text as a final answer may be written (sign, ``3/4``,
``1 000``); ``_final`` picks one by the rules of the ``oracles.judge`` docstring: the last
``\\boxed{}``, ``####``, then the sentence with an answer or conclusion marker and the number in it.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass
from fractions import Fraction

from oraclebench.oracles.judge_claims import Claim, _Chain, _Written, _in_pieces, _written
from oraclebench.oracles.judge_normalise import BOX_CLOSE, BOX_OPEN
from oraclebench.oracles.judge_parse import MAX_BITS, _Tok, _Tokens, _parse, _starts, _units

# --------------------------------------------------------------------------- the final answer

_ANSWER = re.compile(r"\b(?:final\s+answer|answer)\b\s*(?:is|would\s+be|will\s+be|should\s+be|=|:)", re.I)
_CONCLUSION = re.compile(
    r"\b(?:therefore|thus|hence|in\s+total|in\s+all|altogether|all\s+together|total|overall|finally)\b|^\W*so\b", re.I
)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")
# A number led by a preposition states a circumstance ("for 11 rides", "in 3 weeks", "each of the 4 boxes"),
# or one corrected away ("58, not 47"): not the answer. Searched in the few characters before a number.
_LED = re.compile(
    r"\b(?:for|in|after|before|per|within|over|during|on|at|from|between|until|till|since|across|among|under|"
    r"every|each\s+of|out\s+of|not|instead\s+of|rather\s+than)\s+(?:(?:the|a|an|her|his|their|its|our|my|your|all|"
    r"these|those|next|first|last|another|other|each|every|about|only|just)\s+){0,2}$", re.I)
_LED_WINDOW = 48
# A correction after the answer: it opens a sentence or a clause ("The answer is 47. Actually, it's 58.",
# "The answer is 47, wait, no, 58.").
_CORRECTION = re.compile(
    r"(?:(?<=[.!?,;:(\n—–-])|(?<=\.\.\.))[ \t]*(?:(?:but|hmm+|oh|ah|oops|um+|uh|so)\W{1,3})?"
    r"(?:wait|actually|correction|i\s+mean|no(?=\s*[,:;!—–-])|oops|sorry|hold\s+on|on\s+second\s+thought|"
    r"scratch\s+that|i\s+made\s+a\s+mistake|that'?s\s+(?:wrong|incorrect|not\s+right)|"
    r"let\s+me\s+(?:correct|fix|redo|recompute|recalculate|re-?check))\b", re.I)


class _Num:
    """A number as a final answer may be read: its character span, its value (sign applied; None:
    unreadable) and the parentheses around it. ``written`` is made only for the one number chosen."""

    __slots__ = ("start", "end", "value", "tok", "approx", "exact", "depth", "first", "last")

    def __init__(self, start, end, value, tok, approx, exact, depth, first, last):
        self.start, self.end, self.value, self.tok = start, end, value, tok
        self.approx, self.exact, self.depth = approx, exact, depth
        self.first, self.last = first, last  # its first and last token (a sign, a denominator, pieces)

    @property
    def written(self) -> _Written | None:
        if self.value is None:
            return None
        return _Written(self.value, self.tok.decimals, self.tok.pct, self.approx, self.exact, self.tok.trunc)


def _alone(toks: list[_Tok], first: int, last: int) -> bool:
    """Whether tokens ``first..last`` are a whole expression: no operator, relation or number around."""
    before = toks[first - 1] if first else None
    if before is not None and before.kind == "op" and before.text == "-" and before.end == toks[first].start:
        before = toks[first - 2] if first > 1 else None  # a sign: "-7 / 8"
    after = toks[last + 1] if last + 1 < len(toks) else None
    return not (before is not None and before.kind in ("op", "num", "rp")) and \
        not (after is not None and after.kind in ("op", "rel", "num", "lp", "of"))


def _joined(toks: list[_Tok], k: int, text: str, value, end: int, after: int):
    """Number ``k`` with the pieces that continue it (``1 000``, ``1,00,005``): value, end, last index."""
    j, n = k, len(toks)
    while True:
        nxt = j + 2 if j + 2 < n and toks[j + 1].kind == "bar" and toks[j + 1].text == "," else j + 1
        if nxt >= n or toks[nxt].kind != "num" or not _in_pieces(text, toks[j].end, toks[nxt].start):
            return value, end, after
        digits = toks[nxt].text.replace(",", "")
        if not digits.isdigit() or value.bit_length() > MAX_BITS:
            return value, end, after
        value, end, after, j = value * 10 ** len(digits) + int(digits), toks[nxt].end, nxt, nxt


def _numerals(tk: _Tokens, text: str) -> list[_Num]:
    """Every number in the text with its sign, fractions ``3/4`` as one number, in one pass."""
    toks, out, n, after = tk.toks, [], len(tk.toks), -1
    for k in tk.nums:
        if k <= after:
            continue  # the denominator of a fraction already read
        t = toks[k]
        value, end, exact = t.value, t.end, False
        if (k + 2 < n and toks[k + 1].kind == "op" and toks[k + 1].text == "/" and toks[k + 2].kind == "num"
                and value is not None and toks[k + 2].value
                and not (t.decimals or t.pct or toks[k + 2].decimals or toks[k + 2].pct)
                and (toks[k + 1].start == t.end and toks[k + 2].start == toks[k + 1].end or _alone(toks, k, k + 2))):
            value, end, exact, after = Fraction(value) / toks[k + 2].value, toks[k + 2].end, True, k + 2
        if not exact and isinstance(value, int) and not (t.decimals or t.pct):  # a whole number; not 1E3
            value, end, after = _joined(toks, k, text, value, end, after)
        sign = toks[k - 1] if k and toks[k - 1].kind == "op" and toks[k - 1].text == "-" else None
        start = t.start
        if sign is not None:
            prev = toks[k - 2] if k > 1 else None
            glued = sign.end == t.start
            before = text[sign.start - 1] if sign.start else " "
            if (glued and not (before.isalnum() or before == ")")) or \
                    (not glued and (prev is None or prev.kind in ("rel", "lp", "approx") or
                                    (prev.kind == "bar" and prev.text in ":;\n"))):
                value, start = (None if value is None else -value), sign.start
        approx = k > 0 and (toks[k - 1].kind == "approx" or
                            (sign is not None and k > 1 and toks[k - 2].kind == "approx"))
        out.append(_Num(start, end, value, t, approx, exact, t.depth, k - (start < t.start), max(k, after)))
    return out


@dataclass(frozen=True)
class _Read:
    """Everything read from one text: normalised text, tokens, bold spans, chains, claims, numbers."""

    text: str
    toks: list[_Tok]
    bold: list[tuple[int, int]]
    chains: list[_Chain]
    claims: list[tuple[Claim, int]]
    nums: list[_Num]



def _boxed(r: _Read) -> tuple[bool, _Written | None]:
    """Whether the text has a ``\\boxed{}``, and the value in the last one."""
    start = r.text.rfind(BOX_OPEN)
    if start < 0:
        return False, None
    depth, stop = 0, len(r.text)
    for j in range(start, len(r.text)):
        c = r.text[j]
        if c == BOX_OPEN:
            depth += 1
        elif c == BOX_CLOSE:
            depth -= 1
            if depth == 0:
                stop = j
                break
    starts = [t.start for t in r.toks]
    a, b = bisect.bisect_left(starts, start), bisect.bisect_left(starts, stop)
    inside = r.toks[a:b]
    rels = [k for k, t in enumerate(inside) if t.kind == "rel"]
    if rels:
        inside = inside[rels[-1] + 1:]
    for k, t in enumerate(inside):
        if _starts(inside, k):
            e, _ = _parse(inside, k)
            if e is None or e.value[0] is None:
                return True, None
            approx = k > 0 and inside[k - 1].kind == "approx"
            return True, _written(e, approx) or _Written(Fraction(e.value[0]), 0, False, approx, exact=True)
    return True, None


def _sentences(text: str) -> list[tuple[int, int]]:
    cuts = [0, *(x for m in _SENTENCE_END.finditer(text) for x in (m.start(), m.end())), len(text)]
    return list(zip(cuts[::2], cuts[1::2]))


def _last(pattern: re.Pattern, text: str) -> re.Match | None:
    found = None
    for found in pattern.finditer(text):
        pass
    return found


def _final(r: _Read) -> tuple[bool, _Written | None]:
    """Whether a final answer was found, and its number (None: unreadable); see the ``oracles.judge`` docstring."""
    has_box, boxed = _boxed(r)
    if has_box:
        return boxed is not None, boxed
    starts = [num.start for num in r.nums]
    hashes = r.text.rfind("####")
    if hashes >= 0:
        k = bisect.bisect_left(starts, hashes)
        if k < len(r.nums):
            return True, r.nums[k].written
    last_claim = max((at for _, at in r.claims), default=-1)
    marked = concluded = plain = None
    spans = []  # the sentences with a number
    for a, b in _sentences(r.text):
        lo, hi = bisect.bisect_left(starts, a), bisect.bisect_left(starts, b)
        if lo == hi:
            continue
        spans.append((a, b))
        plain = (a, b, None, lo, hi)
        sentence = r.text[a:b]
        if m := _last(_ANSWER, sentence):
            marked = (a, b, a + m.end(), lo, hi)
        elif last_claim < b and (m := _last(_CONCLUSION, sentence)):
            concluded = (a, b, a + m.end(), lo, hi)
    if plain is None:
        return False, None
    a, b, marker, lo, hi = marked or concluded or plain
    if marker is not None and (corrected := _corrected(r, marker, starts, spans)) is not None:
        return True, corrected.written
    nums = r.nums[lo:hi]
    outside = [x for x in nums if x.depth == 0] or nums
    chains = [c for c in r.chains if a <= c.first_char < b]
    if marked:  # "The answer is 47", "The answer is 35 + 12 = 47"
        first = next((x for x in outside if x.start >= marker), outside[-1])
        result = next((c.last for c in chains if marker <= c.first_char <= first.start and c.last), None)
        return True, result or first.written
    bold = next((x for x in reversed(outside) if _in_spans(r.bold, x.start)), None) if r.bold else None
    if bold is not None:
        return True, bold.written
    if chains and chains[-1].last is not None:
        return True, chains[-1].last
    latest = {c.claimed: k for k, (c, _) in enumerate(r.claims)}
    computed = [x for x in outside if x.value is not None and x.value in latest]
    if computed:  # "47 tickets, 35 for the coaster and 12 for the slide": 47 comes from the latest claim
        return True, max(computed, key=lambda x: (latest[x.value], x.start)).written
    if marker is not None:  # "So for 11 rides she needs 47 tickets": 47
        after = [x for x in outside if x.start >= marker] or outside[-1:]
        return True, next((x for x in after if not _led(r.text, x)), after[0]).written
    return True, next((x for x in reversed(outside) if not _led(r.text, x)), outside[-1]).written


def _led(text: str, x: _Num) -> bool:
    """Whether a preposition leads number ``x`` ("for 11 rides"): a circumstance, not the answer."""
    return _LED.search(text, max(0, x.start - _LED_WINDOW), x.start) is not None


def _operand(toks: list[_Tok], x: _Num) -> bool:
    """Whether number ``x`` is an operand of arithmetic ("47 + 11"), not a value stated."""
    before = toks[x.first - 1] if x.first else None
    k = _units(toks, x.last + 1)
    return (before is not None and before.kind == "op") or (k < len(toks) and toks[k].kind in ("op", "of"))


def _corrected(r: _Read, marker: int, starts: list[int], spans: list[tuple[int, int]]) -> _Num | None:
    """The number a correction after the answer gives ("The answer is 47. Actually, it's 58."), or None
    when there is no correction or it gives no number: in the last sentence with a number after the
    correction, its last bold number, else its last number that is no operand and not led by a
    preposition, else its last number."""
    m = _CORRECTION.search(r.text, marker)
    if m is None:
        return None
    tail = r.nums[bisect.bisect_left(starts, m.end()):]
    if not tail:
        return None
    a = spans[bisect.bisect_right(spans, (tail[-1].start, float("inf"))) - 1][0]
    said = [x for x in tail if x.start >= a]
    said = [x for x in said if x.depth == 0] or said
    bold = next((x for x in reversed(said) if _in_spans(r.bold, x.start)), None) if r.bold else None
    stated = (x for x in reversed(said) if not _operand(r.toks, x) and not _led(r.text, x))
    return bold or next(stated, said[-1])


def _in_spans(spans: list[tuple[int, int]], at: int) -> bool:
    k = bisect.bisect_right(spans, (at, float("inf"))) - 1
    return k >= 0 and spans[k][0] <= at < spans[k][1]

