"""Tokens and expressions for the judge oracle: the normalised text as numbers, operators and relations.

``_tokens`` splits the text in one regex pass (numbers read exactly: ``1,250.5``, ``25%``, ``2 1/2``,
``1.5e3``); ``_parse`` reads the arithmetic expression starting at a token with an iterative
shunting-yard (no recursion, × ÷ before + -) and evaluates it with ``Fraction``. The ``MAX_*`` limits
that keep every text's reading fast are enforced here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction

from oraclebench.oracles.judge_normalise import BARRIER

MAX_DIGITS = 1000  # a written number with more digits is unreadable (int() itself stops at 4300)
MAX_BITS = 4000  # a computed numerator or denominator beyond this (about 1200 digits) is unreadable
MAX_EXPONENT = 4000  # with MAX_BITS: 2^100 is read, 2^(10^9) is not
MAX_UNITS = 4

# --------------------------------------------------------------------------- tokens

# One regex, most frequent tokens first; words are classified by a dict, not by more alternatives.
# No alternative may fail after a long match: "1,234,567,..." backs off at most one group.
# Every match is contiguous with the last (the last alternative takes any character), so positions
# are running sums and ``findall`` (tuples, no match objects) is enough: the tokenizer is the hot loop.
_TOKEN = re.compile(
    r"([ \t]*)(?:([A-Za-z]+(?:'[A-Za-z]+)?)"
    r"|((?<![\d.,/])\d{1,9}[ \t]+\d{1,9}/\d{1,9}(?![\d/]|\.\d))"
    r"|((?:[$£€¥₹][ \t]?)?(\d{1,3}(?:,\d{3})+(?!\d)(?:\.\d+)?"
    r"|\d+(?:\.(?:\(\d{1,60}\)|\d*⦅\d{1,60}⦆|\d+(?:\(\d{1,60}\))?))?(?:[eE][+-]?\d{1,4}(?![\d.]))?|\.\d+)"
    r"([ \t]?%|[ \t]+percent\b|[ \t]+per[ \t]+cent\b|[€£¢])?)"
    r"|([-=≈~()+*/×÷^])"
    r"|([\s\S]))"
)
_TWO_WORD_RELATION = re.compile(r"[ \t]+(?:in|to)\b", re.I)  # "results in", "comes to", "amounts to"
_WORDS = {
    **dict.fromkeys(("equals", "equal", "is", "are", "was", "were", "make", "makes", "give", "gives", "yield",
                     "yields", "totals"), "rel"),
    **dict.fromkeys(("about", "approximately", "approx", "roughly", "around", "nearly", "almost"), "approx"),
    "of": "of", "x": "op",
}
_SYMBOLS = {"=": "rel", "≈": "rel", "~": "approx", "(": "lp", ")": "rp"}
_OPS = {"x": "*", "X": "*", "×": "*", "*": "*", "÷": "/", "/": "/", "+": "+", "-": "-", "^": "^"}
_FILLER = {"equal", "to", "exactly", "us", "just"}  # "is equal to", "gives us": still the relation
_UNIT_STOP = {"and", "or", "but", "so", "then", "than", "that", "which", "who", "if", "when", "while", "because",
              "since", "to", "from", "for", "in", "on", "at", "by", "with", "after", "before", "into"}
_NOT_VARIABLES = {"a", "i"}  # one-letter words that are English, not unknowns
_ELLIPSES = ("...", "…")
# The digits after a comma that is no thousands separator ("2,5", "3,75", "1,2345"): not three, and no list goes on.
_DECIMAL_COMMA = re.compile(r"(?!\d{3}(?!\d))\d{1,60}(?![\d,]|\.\d)")


class _Tok:
    """One token. ``value`` is None for an unreadable number (too many digits); ``depth``: parentheses
    around a number."""

    __slots__ = ("kind", "text", "start", "end", "value", "decimals", "pct", "depth")
    trunc = False  # a class default, so the hot loop sets nothing more per token

    def __init__(self, kind, text, start, end, value=None, decimals=0, pct=False, depth=0):
        self.kind, self.text, self.start, self.end = kind, text, start, end
        self.value, self.decimals, self.pct, self.depth = value, decimals, pct, depth


class _CutTok(_Tok):
    """A number whose decimals an ellipsis follows ("3.333..."): cut off there, not necessarily rounded."""

    __slots__ = ()
    trunc = True


def _number(digits: str) -> tuple[int | Fraction | None, int]:
    """The exact value of ``1,250.5`` (or ``1.5e3``, ``3.(3)``) and its number of decimals; None past
    ``MAX_DIGITS`` digits."""
    if digits.isdigit():
        return (int(digits) if len(digits) <= MAX_DIGITS else None), 0
    if digits[-1] in ")⦆":
        return _repeating(digits), 0
    if "e" in digits or "E" in digits:
        mantissa, _, exponent = digits.lower().partition("e")
        value, decimals = _number(mantissa)
        power = int(exponent)
        if value is None or abs(power) + len(mantissa) > MAX_DIGITS:
            return None, 0
        return value * Fraction(10) ** power, max(0, decimals - power)
    digits = digits.replace(",", "")
    whole, _, frac = digits.partition(".")
    if len(whole) + len(frac) > MAX_DIGITS:
        return None, len(frac)
    n = int(whole or "0") * 10 ** len(frac) + int(frac or "0")
    return (Fraction(n, 10 ** len(frac)) if frac else n), len(frac)


def _repeating(digits: str) -> Fraction | None:
    """The exact value of a repeating decimal: ``3.(3)`` is 10/3, ``0.1⦅6⦆`` (from ``0.1\\overline{6}``) is 1/6.
    ``0.1(6)`` is None: it may as well be the product 0.1 × 6, and an ambiguous number makes no claim."""
    head, _, period = digits[:-1].replace("⦅", "(").partition("(")
    whole, _, frac = head.partition(".")
    if (frac and digits[-1] == ")") or len(digits) > MAX_DIGITS:
        return None
    shown = int(whole + frac)
    return Fraction(int(whole + frac + period) - shown, 10 ** len(frac) * (10 ** len(period) - 1))


@dataclass
class _Tokens:
    toks: list[_Tok]
    starts: list[int]  # indices of the tokens an expression may start at (numbers, '(', '-')
    nums: list[int]  # indices of the numbers


def _tokens(text: str) -> _Tokens:
    out: list[_Tok] = []
    starts, nums = [], []
    depth, skip, pos, absorbed = 0, False, 0, -1
    append, words, symbols = out.append, _WORDS, _SYMBOLS
    for space, word, mixed, num, digits, post, sym, bar in _TOKEN.findall(text):
        start = pos + len(space)
        if word:
            pos = start + len(word)
            if skip:
                skip = False
                continue
            low = word.lower()
            kind = words.get(low, "word")
            if kind == "word" and low in ("results", "comes", "amounts") and _TWO_WORD_RELATION.match(text, pos):
                kind, skip = "rel", True
            append(_Tok(kind, "*" if kind == "op" else word, start, pos))
            continue
        skip = False
        if num:
            pos = start + len(num)
            if start < absorbed:
                continue  # the decimals of "2,5", already part of the number before
            value, decimals = _number(digits)
            pct = bool(post) and post.strip()[:1] in ("%", "p", "P")
            if value is not None and pct:
                value = Fraction(value) / 100
            starts.append(len(out))
            nums.append(len(out))
            cut = decimals > 0 and text.startswith(_ELLIPSES, pos)
            append((_CutTok if cut else _Tok)("num", num, start, pos, value, decimals, pct, depth))
        elif sym:
            pos = start + 1
            kind = symbols.get(sym, "op")
            if kind == "lp":
                depth += 1
                starts.append(len(out))
            elif kind == "rp":
                depth = max(0, depth - 1)
            elif sym == "-":
                starts.append(len(out))
            append(_Tok(kind, _OPS[sym] if kind == "op" else sym, start, pos))
        elif mixed:
            pos = start + len(mixed)
            whole, rest = mixed.split(None, 1)
            numerator, denominator = rest.split("/")
            if int(numerator) < int(denominator):
                starts.append(len(out))
                nums.append(len(out))
                append(_Tok("num", mixed, start, pos, int(whole) + Fraction(int(numerator), int(denominator)), 0,
                            False, depth))
                continue
            for t in _tokens_at(text, start, pos, depth):  # "2 10/3": no mixed number
                if t.kind == "num":
                    starts.append(len(out))
                    nums.append(len(out))
                append(t)
        else:
            pos = start + len(bar)
            if bar == "," and out and out[-1].end == start and out[-1].kind == "num" and "," not in out[-1].text:
                absorbed = _decimal_comma(text, out, pos)
                if absorbed > pos:
                    continue
            append(_Tok("bar", bar, start, pos))
    return _Tokens(out, starts, nums)


def _decimal_comma(text: str, out: list[_Tok], at: int) -> int:
    """Where the number ``out[-1]`` ends if the comma before ``at`` is no thousands separator ("2,5"): then
    it is one number that is 2.5 with a decimal comma or the list 2, 5; that is ambiguous, so it has no
    value and makes no claim. -1 when the comma separates (a list "3,4,5", thousands, a space after it)."""
    t = out[-1]
    if t.decimals or t.pct or "," in t.text or not t.text[-1:].isdigit():
        return -1
    if len(out) > 1 and out[-2].kind == "bar" and out[-2].text == "," and out[-2].end == t.start:
        return -1  # "3,4,5": a list
    m = _DECIMAL_COMMA.match(text, at)
    if m is None:
        return -1
    t.text, t.end, t.value = text[t.start:m.end()], m.end(), None
    return m.end()


def _tokens_at(text: str, start: int, end: int, depth: int) -> list[_Tok]:
    """The tokens of ``text[start:end]`` with the mixed-number reading turned off (a short span)."""
    out = []
    for m in re.finditer(r"\d+|/", text[start:end]):
        a, b = start + m.start(), start + m.end()
        out.append(_Tok("op", "/", a, b) if m.group() == "/" else
                   _Tok("num", m.group(), a, b, *_number(m.group()), False, depth))
    return out


# --------------------------------------------------------------------------- expressions (no recursion)

_PREC = {"+": 1, "-": 1, "*": 2, "/": 2, "neg": 3, "^": 4}
_Val = tuple  # (Fraction | None, is a percentage)


def _bounded(q: Fraction | int) -> Fraction | int | None:
    return q if q.numerator.bit_length() <= MAX_BITS and q.denominator.bit_length() <= MAX_BITS else None


def _apply(op: str, a: _Val, b: _Val) -> _Val:
    (x, px), (y, py) = a, b
    if x is None or y is None:
        return None, False
    if op in "+-":
        if px != py:  # "$80 + 10%": no single reading
            return None, False
        return _bounded(x + y if op == "+" else x - y), px
    if op == "*":
        return _bounded(x * y), False
    if op == "/":
        return (None, False) if y == 0 else (_bounded(Fraction(x) / y), False)
    if y.denominator != 1 or abs(y) > MAX_EXPONENT or (x == 0 and y < 0):  # "^"
        return None, False
    if max(x.numerator.bit_length(), x.denominator.bit_length()) * abs(int(y)) > MAX_BITS:
        return None, False
    return Fraction(x) ** int(y), False


class _Frame:
    """One parenthesised level of an expression being read: operands and pending operators."""

    __slots__ = ("start", "vals", "ops", "nops", "shape", "first_num", "lead")

    def __init__(self, start: int):
        self.start, self.vals, self.ops, self.nops, self.shape = start, [], [], 0, ""
        self.first_num: _Tok | None = None
        self.lead: _Val | None = None

    def reduce(self, prec: int, right: bool = False) -> None:
        while self.ops and (_PREC[self.ops[-1]] > prec or (_PREC[self.ops[-1]] == prec and not right)):
            op = self.ops.pop()
            if op == "neg":
                q, p = self.vals.pop()
                self.vals.append((None if q is None else -q, p))
            else:
                b, a = self.vals.pop(), self.vals.pop()
                self.vals.append(_apply(op, a, b))

    def push(self, val: _Val, shape: str) -> None:
        if self.lead is None:
            self.lead = (None if val[0] is None else -val[0], val[1]) if self.ops == ["neg"] else val
        self.vals.append(val)
        if len(self.shape) < 6:
            self.shape += shape

    def value(self) -> _Val | None:
        self.reduce(0)
        return self.vals[0] if len(self.vals) == 1 else None


@dataclass
class _Expr:
    """An expression read from the tokens ``first`` .. ``end`` (units included)."""

    value: _Val
    first: int
    end: int
    core_end: int  # character offset after its last number or ')', units excluded
    has_op: bool
    lead: _Val | None  # its first operand (the running total "35 + 12" leads with 35)
    lead_tok: _Tok | None  # the number token of that operand, when it is one
    numeral: _Tok | None  # the number, when the expression is one (possibly signed) number
    fraction: bool  # a bare a/b of two whole numbers
    incomplete: bool  # it stopped at an operator whose operand is no number ("5 + x", "\sqrt")


def _operand_like(t: _Tok | None) -> bool:
    """Whether ``t`` is mathematics the reader cannot use: an unknown, an operator, a barrier."""
    if t is None:
        return False
    if t.kind == "word":
        return len(t.text) == 1 and t.text.lower() not in _NOT_VARIABLES
    return t.kind in ("op", "num", "rp") or (t.kind == "bar" and t.text == BARRIER)


def _starts(toks: list[_Tok], i: int) -> bool:
    t = toks[i]
    if t.kind in ("num", "lp"):
        return True
    return (t.kind == "op" and t.text == "-" and i + 1 < len(toks) and toks[i + 1].start == t.end
            and toks[i + 1].kind in ("num", "lp"))


def _units(toks: list[_Tok], j: int) -> int:
    """The index after up to ``MAX_UNITS`` unit words from ``j``: ``tickets``, ``miles per hour``, ``/hour``."""
    n, count = len(toks), 0
    while count < MAX_UNITS and j < n:
        t = toks[j]
        if t.kind == "word" and t.text.lower() not in _UNIT_STOP:
            j += 1
        elif t.kind == "op" and t.text == "/" and j + 1 < n and toks[j + 1].kind == "word":
            j += 2  # nothing divides by a word: "$12/hour"
        else:
            break
        count += 1
    return j


def _parse(toks: list[_Tok], i: int) -> tuple[_Expr | None, int]:
    """The expression starting at token ``i`` and where reading stopped; iterative shunting-yard.

    Reading stops at the first token that cannot continue the expression. Parentheses left open
    make the expression the innermost open one's content (``(3 + 4 = 7`` reads ``3 + 4``).
    """
    n = len(toks)
    frames = [_Frame(i)]
    j, want_operand, end, core = i, True, i, 0
    dangling_op = False
    while j < n:
        t, f = toks[j], frames[-1]
        if want_operand:
            if t.kind == "num":
                if f.first_num is None and not f.vals:
                    f.first_num = t
                f.push((t.value, t.pct), "n" if t.value is None or t.decimals or t.pct else "i")
                j, want_operand, core, dangling_op = j + 1, False, t.end, False
                end = j
                continue
            if t.kind == "lp":
                frames.append(_Frame(j + 1))
                j += 1
                continue
            if t.kind == "op" and t.text == "-" and j + 1 < n and toks[j + 1].start == t.end \
                    and toks[j + 1].kind in ("num", "lp"):
                f.ops.append("neg")
                if len(f.shape) < 6:
                    f.shape += "-"
                j += 1
                continue
            break
        if t.kind == "op" and not (t.text == "/" and j + 1 < n and toks[j + 1].kind == "word"):
            op = t.text
        elif t.kind == "of" and f.vals and (f.vals[-1][1] or f.shape.endswith(("i/i", "n/i", "i/n"))):
            op = "*"  # "20% of 80", "3/4 of 80"
        elif t.kind == "lp" and toks[j - 1].kind in ("num", "rp") and toks[j - 1].end == t.start:
            op = "*"  # "2(3 + 4)"; "Step 2 (3 + 4)" is no product
            f.reduce(_PREC[op])
            f.ops.append(op)
            f.nops += 1
            want_operand, dangling_op = True, True
            continue
        elif t.kind == "rp" and len(frames) > 1:
            inner = frames.pop()
            val = inner.value()
            if val is None:
                return None, j
            f = frames[-1]
            f.nops += inner.nops
            f.push(val, "(")
            j, core = j + 1, t.end
            end = j
            continue
        elif t.kind == "word" or t.kind == "op":  # unit words: used only if an operator or relation follows
            k = _units(toks, j)
            if k < n and toks[k].kind == "op" and k + 1 < n and _starts(toks, k + 1) or \
                    k < n and toks[k].kind == "op" and toks[k].text == "-" and k + 1 < n and toks[k + 1].kind == "num":
                j = k
                continue
            if k < n and toks[k].kind == "rel":
                end = k
            break
        else:
            break
        f.reduce(_PREC[op], right=op == "^")
        f.ops.append(op)
        f.nops += 1
        if len(f.shape) < 6:
            f.shape += "/" if op == "/" else "o"
        j, want_operand, dangling_op = j + 1, True, True
    return _finish(toks, frames, i, j, end, core, want_operand, want_operand and dangling_op)


def _finish(toks: list[_Tok], frames: list[_Frame], i: int, stop: int, end: int, core: int,
            wanted: bool, dangling: bool) -> tuple[_Expr | None, int]:
    """The expression read from ``i`` up to ``stop``: the innermost open frame's content, without the
    operators left waiting for an operand (``wanted``); ``dangling``: a binary one was, so ``5 + x``
    is incomplete."""
    incomplete = dangling and _operand_like(toks[stop] if stop < len(toks) else None)
    top = frames[-1]
    while wanted and top.ops and (len(top.ops) > len(top.vals) - 1 or top.ops[-1] == "neg"):
        if top.ops.pop() != "neg":
            top.nops -= 1
    if not top.vals:
        return None, max(stop, i + 1)
    val = top.value()
    if val is None:
        return None, max(stop, i + 1)
    first = i if len(frames) == 1 else top.start
    if len(frames) > 1:
        end = max(end, first + 1)
    shape = top.shape
    numeral = top.first_num if shape in ("i", "n", "-i", "-n") else None
    fraction = shape in ("i/i", "-i/i")
    return _Expr(val, first, max(end, first + 1), core, top.nops > 0, top.lead,
                 top.first_num if shape[:1] in ("i", "n") else None, numeral, fraction, incomplete), stop
