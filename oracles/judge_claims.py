"""Arithmetic claims for the judge oracle: relations between expressions, each checked exactly.

``_scan`` finds every chain of relations (``2 x 3 x 4 = 6 x 4 = 24``, ``47 = 35 + 12``) in the tokens;
``_claim`` makes each link a ``Claim`` and checks it, exactly or correctly rounded to the decimals the
text shows (``_states``, ``_roundings``).
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field
from fractions import Fraction

from oraclebench.oracles.judge_parse import _FILLER, _Expr, _Tok, _Tokens, _operand_like, _parse, _starts, _units


@dataclass(frozen=True)
class Claim:
    """One arithmetic claim: its (normalised) text, the exact value of its arithmetic side, the value
    it states, and whether that is right (exactly, or correctly rounded; see the ``oracles.judge`` docstring)."""

    text: str
    value: Fraction
    claimed: Fraction
    ok: bool
    side: str = field(default="left", compare=False, repr=False)  # the arithmetic side: left or right
    places: int = field(default=-1, compare=False, repr=False)  # decimals it was held to; -1: exact


# --------------------------------------------------------------------------- claims


def _roundings(value: Fraction, decimals: int) -> tuple[Fraction, ...]:
    """``value`` correctly rounded to ``decimals`` places; an exact half rounds away from zero (as taught)
    or to even (as Python and banks do): ``2.25`` -> 2.3 or 2.2, ``0.75`` -> 0.8 only."""
    scale = 10 ** decimals
    scaled = value * scale
    low = scaled.numerator // scaled.denominator
    rest = scaled - low
    if rest == Fraction(1, 2):
        away = low + 1 if value > 0 else low
        even = low if low % 2 == 0 else low + 1
        return Fraction(away, scale), Fraction(even, scale)
    return (Fraction(low + (rest > Fraction(1, 2)), scale),)


class _Written:
    """A number as the text writes it: value (sign applied), decimals shown, percent, approximate;
    ``exact``: a fraction a/b, which states an exact value; ``trunc``: decimals cut off by an ellipsis."""

    __slots__ = ("value", "decimals", "pct", "approx", "exact", "trunc")

    def __init__(self, value, decimals: int, pct: bool, approx: bool = False, exact: bool = False,
                 trunc: bool = False):
        self.value = _exact(value)
        self.decimals, self.pct, self.approx, self.exact, self.trunc = decimals, pct, approx, exact, trunc

    @property
    def shown(self) -> Fraction:
        """The number as written: ``25%`` is 25."""
        return self.value * 100 if self.pct else self.value


def _states(value: Fraction, w: _Written, value_is_pct: bool = False) -> bool:
    """Whether ``w`` correctly states ``value``: exactly, or correctly rounded to its decimals."""
    readings = [(w.value, w.decimals + 2), (w.value * 100, w.decimals)] if w.pct else [(w.value, w.decimals)]
    if value_is_pct:  # "10% + 5% = 15"
        readings.append((w.value / 100, w.decimals + 2))
    for written, decimals in readings:
        if value == written:
            return True
        if not w.exact and (w.decimals or w.approx) and written in _roundings(value, decimals):
            return True
        if w.trunc and written == _truncated(value, decimals):  # "2/3 = 0.666...": the digits go on
            return True
    return False


def _truncated(value: Fraction, decimals: int) -> Fraction:
    scale = 10 ** decimals
    scaled = abs(value) * scale
    cut = Fraction(scaled.numerator // scaled.denominator, scale)
    return cut if value >= 0 else -cut


def _written(e: _Expr, approx: bool) -> _Written | None:
    if e.value[0] is None:
        return None
    if e.numeral is not None:
        return _Written(Fraction(e.value[0]), e.numeral.decimals, e.numeral.pct, approx, trunc=e.numeral.trunc)
    if e.fraction:
        return _Written(Fraction(e.value[0]), 0, False, approx, exact=True)
    return None


@dataclass
class _Chain:
    first_char: int
    last: _Written | None  # the number its last side states
    claims: list[tuple[Claim, int]]


def _claim(toks, text, left: _Expr, rel: _Tok, approx: bool, right: _Expr,
           said: _Written | None) -> tuple[Claim, int] | None:
    """The claim ``left rel right`` makes, if any (see the ``oracles.judge`` docstring)."""
    if left.incomplete or right.incomplete or left.value[0] is None or right.value[0] is None:
        return None
    before = toks[left.first - 1] if left.first else None
    if before is not None and before.kind == "op" and _operand_like(toks[left.first - 2] if left.first > 1 else None):
        return None  # "2x + 3 + 1 = 7": the left side is the tail of an expression with an unknown
    if before is not None and before.kind in ("num", "rp") and toks[left.first].kind == "lp":
        return None  # "2 (3 + 4) = 14": a product or a label, the reader cannot tell
    first = toks[left.first].start
    if _in_pieces(text, first - 1, first) or (right.numeral is not None and
                                             _in_pieces(text, right.numeral.end, right.numeral.end + 1)):
        return None  # "1 000 × 2 = 2 000", "1,00,000 + 5": one number written in pieces is not two numbers
    word = rel.text not in ("=", "≈")
    end, side, places = right.core_end, "left", -1
    if left.has_op and said is not None:
        value, claimed, ok = left.value[0], said.value, _states(left.value[0], said, left.value[1])
        places = _places(said)
    elif word:
        return None
    elif left.has_op and right.has_op:
        value, claimed, ok = left.value[0], right.value[0], left.value[0] == right.value[0]
        if not ok and right.lead_tok is not None and right.lead is not None and right.lead[0] is not None:
            # running total "7 × 5 = 35 + 12 = 47": here only the leading 35 is claimed
            lead = _Written(Fraction(right.lead[0]), right.lead_tok.decimals, right.lead_tok.pct, approx,
                            trunc=right.lead_tok.trunc)
            claimed, ok, end = lead.value, _states(left.value[0], lead, left.value[1]), right.lead_tok.end
            places = _places(lead)
    elif right.has_op and left.numeral is not None and not (before is not None and before.kind == "word"):
        w = _written(left, approx)  # "47 = 35 + 12"; a label ("Week 1 = ...") is no side
        value, claimed, ok = right.value[0], w.value, _states(right.value[0], w, right.value[1])
        side, places = "right", _places(w)
    else:
        return None
    begin = toks[left.first].start
    quoted = " ".join(text[begin:end].split())
    if "⦅" in quoted:  # a period written with a bar (0.1\overline{6}) is quoted in the plain notation 0.1(6)
        quoted = quoted.replace("⦅", "(").replace("⦆", ")")
    return Claim(quoted, _exact(value), _exact(claimed), ok, side, places), begin


def _exact(x: int | Fraction) -> Fraction:
    return x if type(x) is Fraction else Fraction(x)


_PIECE = re.compile(r"\d{3}(?!\d)|\d{2}(?=,\d)")  # a group of three, or an Indian inner group of two


def _in_pieces(text: str, before: int, after: int) -> bool:
    """Whether the digits that end at ``before`` and start at ``after`` may be one number written in
    pieces: ``1 000``, ``1,000,00``, ``1,00,000`` (one separator between them)."""
    if before < 1 or after != before + 1 or after >= len(text) or not text[before - 1].isdigit():
        return False
    sep, piece = text[before], _PIECE.match(text, after)
    return piece is not None and (sep == "," or (sep == " " and piece.end() - after == 3))


def _places(w: _Written) -> int:
    """The decimals a written result is held to (-1: exact); a percentage as written (``33.3%``: 1)."""
    return -1 if w.exact or not (w.decimals or w.approx) else w.decimals


def _after_relation(toks: list[_Tok], j: int) -> tuple[int, bool]:
    """The index of the right side after relation ``j`` (skipping ``equal to``, ``about``), and approx."""
    k, approx, n = j + 1, False, len(toks)
    for _ in range(3):
        if k < n and toks[k].kind == "approx":
            k, approx = k + 1, True
        elif k < n and toks[k].kind == "word" and toks[k].text.lower() in _FILLER:
            k += 1
        else:
            break
    return k, approx


def _lone_number(toks: list[_Tok], i: int) -> bool:
    """Whether number ``i`` begins no claim: after its unit words comes no operator, no '(', no 'of' and
    no '=' (a word relation needs arithmetic on its left: "Week 1 is ..."). Saves most parses of prose."""
    k = _units(toks, i + 1)
    if k >= len(toks):
        return True
    nxt = toks[k]
    if nxt.kind == "rel":
        return nxt.text not in ("=", "≈")
    return nxt.kind not in ("op", "of", "lp")


def _scan(tk: _Tokens, text: str) -> list[_Chain]:
    """Every chain of relations in the text, left to right, each token read a bounded number of times."""
    toks, cands = tk.toks, tk.starts
    chains, n, c, pos = [], len(toks), 0, 0
    while c < len(cands):
        i = cands[c]
        c += 1
        if i < pos or not _starts(toks, i) or (toks[i].kind == "num" and _lone_number(toks, i)):
            continue
        left, stop = _parse(toks, i)
        if left is None:
            pos = max(stop, i + 1)
            continue
        found, j, restart, last = [], left.end, None, None
        while j < n and toks[j].kind == "rel":
            k, approx = _after_relation(toks, j)
            word = toks[j].text not in ("=", "≈")
            if word and not left.has_op:  # "Week 1 is ...": a word relation needs arithmetic on its left
                restart = k
                break
            right, rstop = _parse(toks, k) if k < n and _starts(toks, k) else (None, k + 1)
            if right is None or right.first != k:
                restart = k
                break
            approx = approx or toks[j].text == "≈"
            said = _written(right, approx)
            if word and said is None:
                restart = k  # "Week 1 is 7 x 5 = 35": 'is' relates nothing; read on from "7 x 5"
                break
            claim = _claim(toks, text, left, toks[j], approx, right, said)
            if claim is not None:
                found.append(claim)
            last = said
            left, j = right, right.end
        if found:
            chains.append(_Chain(found[0][1], last, found))
        pos = restart if restart is not None else max(j, i + 1)
        c = bisect.bisect_left(cands, pos, c)
    return chains

