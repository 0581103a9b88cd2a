"""Is a free-text chain of thought to a word problem correct? Check its arithmetic and its final answer.

``judge(text, truth)`` reads every arithmetic claim the text makes (``7 x 5 = 35``), evaluates it
exactly (``fractions.Fraction``, never a float; × ÷ before + -), finds the final answer, and calls
the text correct iff the final answer matches ``truth`` and no claim is false.

>>> v = judge("To ride 7 times she needs 7 x 5 = 35 tickets. In total, she needs 35 + 12 = 58 tickets.", 47)
>>> v.correct, v.final, [c.text for c in v.false_claims]
(False, Fraction(58, 1), ['35 + 12 = 58'])

**Claims.** A claim is a relation between two sides, at least one of them arithmetic: ``7 x 5 = 35``,
``47 = 35 + 12``, chains ``2 x 3 x 4 = 6 x 4 = 24``, the running-total shorthand ``7 × 5 = 35 + 12 = 47``
(read as ``7 × 5 = 35`` and ``35 + 12 = 47``). Each side is the arithmetic expression *adjacent* to the
relation: ``Week 1 is 7 x 5 = 35``, ``In 2 hours she makes 2 * 18 = 36``, ``The 3 bags hold 3 x 4 = 12``
claim ``7 x 5 = 35``, ``2 * 18 = 36``, ``3 x 4 = 12``: a number that introduces the sentence is no
side. Relations: ``=``, ``≈``, and the words ``equals``, ``is``, ``are``, ``was``, ``makes``, ``gives``,
``yields``, ``totals``, ``results in``, ``comes to`` (a word relation only when its right side is a
bare number, so ``Week 1 is 7 x 5`` is no claim); ``about``, ``approximately``, ``roughly``, ``~``,
``≈`` mark an approximation. Operators: ``+ - * / x × ÷ · ^``, ``2(3 + 4)``, LaTeX ``\\times \\cdot
\\div \\frac \\dfrac``, the words ``plus``, ``minus``, ``times``, ``multiplied by``, ``divided by``,
``twice``/``double``/``triple N``, ``half of``/``a third of``/``a quarter of N``, ``N squared``, and
``of`` after a percentage or a fraction (``20% of $80``). Numbers: ``1,200``, ``$12.50``, ``€4``,
``25%``, ``25 percent``, ``-5``, ``3/4``, mixed ``2 1/2`` and ``2½``, ``1.5e3``, ``5²``, each
optionally followed by up to four unit words (``5 tickets × 7 rides``, ``$12/hour``); a number
written in pieces (``1 000``, ``1,00,000``) is never split into two. Claim texts are quoted from
the normalised text (``times`` shows as ``×``, ``\\frac{3}{4}`` as ``3/4``).

**Precision.** A claim is true when its arithmetic side equals the stated number exactly, or when the
stated number has decimals and is the exact value correctly rounded to that many decimals
(``10 / 3 = 3.33``; ``1/3 = 0.4`` and ``7.56 x 2 = 15.2`` are false). An integer states an exact
value (``100 / 3 = 33`` is false) unless marked approximate, and then it is held to the same rule
with no decimals (``10/3 is about 3`` is true, ``about 4`` false). An exact half may round away from
zero or to even (``1.5 x 1.5 = 2.3`` and ``= 2.2``; ``45 / 60 = 0.8``, not ``0.7``). A percentage matches either reading
(``15/60 = 25%`` and ``15/60 × 100 = 25%``). The final answer is held to the same rule against the
truth; a float truth also matches any number that rounds to the same float.

**The final answer** (``Verdict.final``, the number as written: ``25%`` is 25), first rule that applies:
  1. the value inside the last ``\\boxed{...}`` (after its last relation); else the number after the
     last ``####``;
  2. else a sentence is chosen: the last with an answer marker (``the answer is``, ``answer:``), else
     the last with a conclusion marker (``therefore``, ``thus``, ``hence``, ``in total``, ``total``,
     ``altogether``, ``overall``, ``finally``, a leading ``So``) after which no claim follows, else
     the last sentence with a number;
  3. within it (numbers in parentheses only if it has no others): the number after the answer
     marker, or the result of a claim starting there; else its last **bold** number; else the
     result of its last claim; else the number it restates that the latest claim computed; else
     the first number after its conclusion marker; else its last number.
A number keeps its sign (``-5``, ``\\boxed{-5}``), a fraction is one number (``3/4``, ``\\frac{3}{4}``),
so is a mixed number (``1 3/4``).

**Totality.** Every text gets a verdict quickly: numbers of more than ``MAX_DIGITS`` digits and
values beyond ``MAX_BITS`` bits are *unreadable* (a claim with one is not checked; an unreadable
final answer is no answer); expressions are parsed without recursion (parentheses to any depth);
every pass over the text is linear or near-linear in its length.

Not read (no claim, so never a false one): numbers in words (``forty-seven``), ``the sum of 35 and
12``, ``5 more than``, ``, which is 35``, functions (``\\sqrt{16}``), ``1 + 2 + ... + 10``,
equations with unknowns (``2x + 3 = 7``), division by zero, a percentage added to a plain number
(``$80 + 10%``).
"""

from __future__ import annotations

import bisect
import contextlib
import gc
import re
from dataclasses import dataclass, field
from fractions import Fraction

__all__ = ["Claim", "Verdict", "judge", "claims", "final_answer", "MAX_DIGITS", "MAX_BITS"]

MAX_DIGITS = 1000  # a written number with more digits is unreadable (int() itself stops at 4300)
MAX_BITS = 4000  # a computed numerator or denominator beyond this (about 1200 digits) is unreadable
MAX_EXPONENT = 4000  # with MAX_BITS: 2^100 is read, 2^(10^9) is not
MAX_UNITS = 4


@dataclass(frozen=True)
class Claim:
    """One arithmetic claim: its (normalised) text, the exact value of its arithmetic side, the value
    it states, and whether that is right (exactly, or correctly rounded; see the module docstring)."""

    text: str
    value: Fraction
    claimed: Fraction
    ok: bool
    side: str = field(default="left", compare=False, repr=False)  # the arithmetic side: left or right
    places: int = field(default=-1, compare=False, repr=False)  # decimals it was held to; -1: exact


@dataclass(frozen=True)
class Verdict:
    """The judgement of one answer: correct iff ``final`` matches the truth and ``false_claims`` is empty."""

    correct: bool
    final: Fraction | None
    claims: tuple[Claim, ...]
    false_claims: tuple[Claim, ...]
    reason: str


# --------------------------------------------------------------------------- normalising the text
# Every pass is one regex substitution or one scan: no pass may look back over the text.

BOX_OPEN, BOX_CLOSE, BARRIER = "⟦", "⟧", "⟂"  # \boxed{ }, and unsupported mathematics (\sqrt{...})

_CHARS = str.maketrans({
    "−": "-", "·": "×", "⋅": "×", "∙": "×", "✕": "×", "✖": "×", "⁄": "/", "∕": "/", "＝": "=", "≃": "≈", "≅": "≈",
    "\u00a0": " ", "\u202f": " ", "\u2009": " ", "\u2007": " ", "\u200b": "",
    "²": "^2", "³": "^3", "½": " 1/2", "¼": " 1/4", "¾": " 3/4", "⅓": " 1/3", "⅔": " 2/3", "⅕": " 1/5", "⅛": " 1/8",
    BOX_OPEN: " ", BOX_CLOSE: " ", BARRIER: " ",
})
_SPACED_THOUSANDS = re.compile("(?<=\\d)[\u00a0\u202f\u2009](?=\\d{3}(?!\\d))")  # "1 000" (SI style)
_CALCULATOR = re.compile(r"<<[^<>]*>>")  # GSM8K calculator annotations repeat the claim beside them
_SIMPLE_FRAC = re.compile(r"\\[dtc]?frac\s*(?:\{\s*(\d[\d,.]*)\s*\}\s*\{\s*(\d[\d,.]*)\s*\}|(\d)(\d))")
_SIMPLE_POWER = re.compile(r"\^\{\s*(-?\d+)\s*\}")
_THIN_THOUSANDS = re.compile(r"(?<=\d)\\[,!;: ](?=\d{3}(?!\d))|\{,\}")
_SUBSCRIPT = re.compile(r"(?<=[A-Za-z])_[A-Za-z0-9]")
_LATEX = re.compile(r"\\([A-Za-z]+)|\\(.)|([{}])|(\^\{)|(_\{)", re.S)
_LATEX_OPS = {"times": " × ", "cdot": " × ", "ast": " × ", "div": " ÷ ", "approx": " ≈ ", "simeq": " ≈ ",
              "therefore": " therefore ", "because": " because "}
_LATEX_SPACE = {"quad", "qquad", "displaystyle", "textstyle", "left", "right", "big", "Big", "bigl", "bigr",
                "Bigl", "Bigr", "bigg", "Bigg", "limits", "nolimits", "hline", "centering", "newline"}
_LATEX_TEXT = {"text", "textrm", "textbf", "textit", "textsf", "texttt", "textnormal", "mathrm", "mathbf", "mathit",
               "mathsf", "mathtt", "mbox", "operatorname", "boldsymbol", "bm", "emph", "underline"}
_LATEX_FRAC = {"frac", "dfrac", "tfrac", "cfrac"}
_LATEX_BOX = {"boxed", "fbox", "framebox"}
_LATEX_ESCAPES = {"%": "%", "$": "$", "#": "#", "&": " ", "{": " ", "}": " ", "_": " ", "\\": " "}
_DOLLAR_DELIMITER = re.compile(r"\$(?!-?\.?\d)")  # a '$' not before a number is a math delimiter
# Inline math "$7 \times 5 = 35$": a '$' before a non-space closed on the same line by a '$' after a
# non-space and before no digit; "$5 and $6" are prices. [^$\n] stops each try at the next '$': linear.
_INLINE_MATH = re.compile(r"\$\$|\$(?=[^\s$])([^$\n]*[^\s$])\$(?!\d)")
_WORD_OPS = [  # (pattern, replacement, a word the text must contain for the pattern to apply)
    (re.compile(r"\bmultiplied\s+by\b", re.I), " × ", "multiplied"), (re.compile(r"\btimes\b", re.I), " × ", "times"),
    (re.compile(r"\bdivided\s+by\b", re.I), " ÷ ", "divided"), (re.compile(r"\bplus\b", re.I), " + ", "plus"),
    (re.compile(r"\bminus\b", re.I), " - ", "minus"),
    (re.compile(r"\btwice\s+(?=[$£€]?\d)", re.I), "2 × ", "twice"),
    (re.compile(r"\bdouble\s+(?=[$£€]?\d)", re.I), "2 × ", "double"),
    (re.compile(r"\btriple\s+(?=[$£€]?\d)", re.I), "3 × ", "triple"),
    (re.compile(r"\bthrice\s+(?=[$£€]?\d)", re.I), "3 × ", "thrice"),
    (re.compile(r"\b(?:one[\s-]+)?half\s+of\s+(?=[$£€]?\d)", re.I), "1/2 × ", "half"),
    (re.compile(r"\b(?:a|one)[\s-]+third\s+of\s+(?=[$£€]?\d)", re.I), "1/3 × ", "third"),
    (re.compile(r"\b(?:a|one)[\s-]+quarter\s+of\s+(?=[$£€]?\d)", re.I), "1/4 × ", "quarter"),
    (re.compile(r"\bnegative\s+(?=[$£€]?\d)", re.I), "-", "negative"),
    (re.compile(r"(?<=\d)\s+squared\b", re.I), "^2", "squared"),
    (re.compile(r"(?<=\d)\s+cubed\b", re.I), "^3", "cubed"),
]
_BULLET = re.compile(r"(?m)^[ \t]*(?:[-*+•]|\d+[.)])[ \t]+")  # list bullets are not minus signs
_BOLD = re.compile(r"\*\*|__")


def _simple_frac(m: re.Match) -> str:
    num, den = (m.group(1), m.group(2)) if m.group(1) is not None else (m.group(3), m.group(4))
    glue = " " if m.start() and m.string[m.start() - 1].isdigit() else ""  # 2\frac{1}{2}: the mixed 2 1/2
    return f"{glue}{num}/{den}"


def _latex(text: str) -> str:
    """LaTeX as plain arithmetic, in one scan with a stack of open braces (no recursion)."""
    if "\\" not in text and "{" not in text and "^" not in text:
        return text
    text = _SIMPLE_POWER.sub(r"^\1", _SIMPLE_FRAC.sub(_simple_frac, _THIN_THOUSANDS.sub(",", text)))
    text = _SUBSCRIPT.sub("", text)
    out: list[str] = []
    stack: list[str] = []  # what each open brace closes into
    dropped = 0  # open braces inside an unsupported command's argument: their text is not read
    pending = ""  # what the next '{' opens, from the command just before it
    at = 0
    for m in _LATEX.finditer(text):
        if not dropped:
            between = text[at:m.start()]
            if between.strip():
                pending = ""
            out.append(between)
        at = m.end()
        command, escaped, brace, power, subscript = m.groups()
        if brace == "{" or power or subscript:
            kind = "power" if power else "drop" if subscript else (pending or "group")
            pending = ""
            if dropped or kind == "drop":
                dropped += 1
                stack.append("drop")
                if dropped == 1:
                    out.append(f" {BARRIER} ")
                continue
            stack.append(kind)
            out.append({"power": "^(", "frac": "((", "den": "/(", "box": BOX_OPEN, "text": " "}.get(kind, ""))
            continue
        if brace == "}":
            kind = stack.pop() if stack else "group"
            if kind == "drop":
                dropped -= 1
                continue
            if dropped:
                continue
            out.append({"power": ")", "frac": ")", "den": "))", "box": BOX_CLOSE}.get(kind, ""))
            if kind == "frac":
                pending = "den"
            continue
        if dropped:
            continue
        pending = ""
        if escaped is not None:
            out.append(_LATEX_ESCAPES.get(escaped, " "))
        elif command in _LATEX_OPS:
            out.append(_LATEX_OPS[command])
        elif command in _LATEX_SPACE:
            out.append(" ")
        elif command in _LATEX_TEXT:
            pending = "text"
        elif command in _LATEX_FRAC:
            pending = "frac"
        elif command in _LATEX_BOX:
            pending = "box"
        else:  # \sqrt, \log, \ldots, \neq ...: nothing around them is read as arithmetic
            out.append(f" {BARRIER} ")
            pending = "drop"
    if not dropped:
        out.append(text[at:])
    return "".join(out)


def _normalise(text: str) -> tuple[str, list[tuple[int, int]]]:
    """Plain text with ASCII-ish operators, and the character spans that were **bold**."""
    text = text.replace("~=", "≈").replace("=~", "≈").replace("==", "=")
    text = _CALCULATOR.sub("", _SPACED_THOUSANDS.sub(",", text)).translate(_CHARS)
    text = _DOLLAR_DELIMITER.sub(" ", _INLINE_MATH.sub(lambda m: f" {m.group(1) or ''} ", _latex(text)))
    low = text.lower()
    for pattern, repl, word in _WORD_OPS:
        if word in low:  # most texts use few of these words: skip the passes they do not need
            text = pattern.sub(repl, text)
    text = _BULLET.sub("", text).replace("`", "")
    out, spans, opened, at, length = [], [], {}, 0, 0
    for m in _BOLD.finditer(text):  # markers pair in order: one pass, no backtracking
        out.append(text[at:m.start()])
        length += m.start() - at
        at = m.end()
        start = opened.pop(m.group(), None)
        if start is None:
            opened[m.group()] = length
        else:
            spans.append((start, length))
    out.append(text[at:])
    spans.sort()
    return "".join(out), spans


# --------------------------------------------------------------------------- tokens

# One regex, most frequent tokens first; words are classified by a dict, not by more alternatives.
# No alternative may fail after a long match: "1,234,567,..." backs off at most one group.
# Every match is contiguous with the last (the last alternative takes any character), so positions
# are running sums and ``findall`` (tuples, no match objects) is enough: the tokenizer is the hot loop.
_TOKEN = re.compile(
    r"([ \t]*)(?:([A-Za-z]+(?:'[A-Za-z]+)?)"
    r"|((?<![\d.,/])\d{1,9}[ \t]+\d{1,9}/\d{1,9}(?![\d/]|\.\d))"
    r"|((?:[$£€¥₹][ \t]?)?(\d{1,3}(?:,\d{3})+(?!\d)(?:\.\d+)?|\d+(?:\.\d+)?(?:[eE][+-]?\d{1,4}(?![\d.]))?|\.\d+)"
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


class _Tok:
    """One token. ``value`` is None for an unreadable number (too many digits); ``depth``: parentheses
    around a number."""

    __slots__ = ("kind", "text", "start", "end", "value", "decimals", "pct", "depth")

    def __init__(self, kind, text, start, end, value=None, decimals=0, pct=False, depth=0):
        self.kind, self.text, self.start, self.end = kind, text, start, end
        self.value, self.decimals, self.pct, self.depth = value, decimals, pct, depth


def _number(digits: str) -> tuple[int | Fraction | None, int]:
    """The exact value of ``1,250.5`` (or ``1.5e3``) and its number of decimals; None past
    ``MAX_DIGITS`` digits."""
    if digits.isdigit():
        return (int(digits) if len(digits) <= MAX_DIGITS else None), 0
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


@dataclass
class _Tokens:
    toks: list[_Tok]
    starts: list[int]  # indices of the tokens an expression may start at (numbers, '(', '-')
    nums: list[int]  # indices of the numbers


def _tokens(text: str) -> _Tokens:
    out: list[_Tok] = []
    starts, nums = [], []
    depth, skip, pos = 0, False, 0
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
            value, decimals = _number(digits)
            pct = bool(post) and post.strip()[:1] in ("%", "p", "P")
            if value is not None and pct:
                value = Fraction(value) / 100
            starts.append(len(out))
            nums.append(len(out))
            append(_Tok("num", num, start, pos, value, decimals, pct, depth))
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
            append(_Tok("bar", bar, start, pos))
    return _Tokens(out, starts, nums)


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
    ``exact``: a fraction a/b, which states an exact value."""

    __slots__ = ("value", "decimals", "pct", "approx", "exact")

    def __init__(self, value, decimals: int, pct: bool, approx: bool = False, exact: bool = False):
        self.value = _exact(value)
        self.decimals, self.pct, self.approx, self.exact = decimals, pct, approx, exact

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
    return False


def _written(e: _Expr, approx: bool) -> _Written | None:
    if e.value[0] is None:
        return None
    if e.numeral is not None:
        return _Written(Fraction(e.value[0]), e.numeral.decimals, e.numeral.pct, approx)
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
    """The claim ``left rel right`` makes, if any (see the module docstring)."""
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
            lead = _Written(Fraction(right.lead[0]), right.lead_tok.decimals, right.lead_tok.pct, approx)
            claimed, ok, end = lead.value, _states(left.value[0], lead, left.value[1]), right.lead_tok.end
            places = _places(lead)
    elif right.has_op and left.numeral is not None and not (before is not None and before.kind == "word"):
        w = _written(left, approx)  # "47 = 35 + 12"; a label ("Week 1 = ...") is no side
        value, claimed, ok = right.value[0], w.value, _states(right.value[0], w, right.value[1])
        side, places = "right", _places(w)
    else:
        return None
    begin = toks[left.first].start
    return Claim(" ".join(text[begin:end].split()), _exact(value), _exact(claimed), ok, side, places), begin


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


# --------------------------------------------------------------------------- the final answer

_ANSWER = re.compile(r"\b(?:final\s+answer|answer)\b\s*(?:is|would\s+be|will\s+be|should\s+be|=|:)", re.I)
_CONCLUSION = re.compile(
    r"\b(?:therefore|thus|hence|in\s+total|in\s+all|altogether|all\s+together|total|overall|finally)\b|^\W*so\b", re.I
)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")


class _Num:
    """A number as a final answer may be read: its character span, its value (sign applied; None:
    unreadable) and the parentheses around it. ``written`` is made only for the one number chosen."""

    __slots__ = ("start", "end", "value", "tok", "approx", "exact", "depth")

    def __init__(self, start, end, value, tok, approx, exact, depth):
        self.start, self.end, self.value, self.tok = start, end, value, tok
        self.approx, self.exact, self.depth = approx, exact, depth

    @property
    def written(self) -> _Written | None:
        if self.value is None:
            return None
        return _Written(self.value, self.tok.decimals, self.tok.pct, self.approx, self.exact)


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
        out.append(_Num(start, end, value, t, approx, exact, t.depth))
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


@contextlib.contextmanager
def _gc_paused():
    """The cyclic garbage collector paused: the reader makes many small acyclic objects, and the
    collector's repeated passes over them made its time grow faster than the text."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _read(answer_text: str) -> _Read:
    with _gc_paused():
        return _read_all(answer_text)


def _read_all(answer_text: str) -> _Read:
    text, bold = _normalise(answer_text)
    tk = _tokens(text)
    chains = _scan(tk, text)
    found = [c for chain in chains for c in chain.claims]
    return _Read(text, tk.toks, bold, chains, found, _numerals(tk, text))


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
    """Whether a final answer was found, and its number (None: unreadable); see the module docstring."""
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
    for a, b in _sentences(r.text):
        lo, hi = bisect.bisect_left(starts, a), bisect.bisect_left(starts, b)
        if lo == hi:
            continue
        plain = (a, b, None, lo, hi)
        sentence = r.text[a:b]
        if m := _last(_ANSWER, sentence):
            marked = (a, b, a + m.end(), lo, hi)
        elif last_claim < b and (m := _last(_CONCLUSION, sentence)):
            concluded = (a, b, a + m.end(), lo, hi)
    if plain is None:
        return False, None
    a, b, marker, lo, hi = marked or concluded or plain
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
    if marker is not None:
        return True, next((x for x in outside if x.start >= marker), outside[-1]).written
    return True, outside[-1].written


def _in_spans(spans: list[tuple[int, int]], at: int) -> bool:
    k = bisect.bisect_right(spans, (at, float("inf"))) - 1
    return k >= 0 and spans[k][0] <= at < spans[k][1]


# --------------------------------------------------------------------------- the public functions


def claims(answer_text: str) -> tuple[Claim, ...]:
    """Every arithmetic claim in ``answer_text``, in order, each checked.

    >>> [(c.text, c.ok) for c in claims("7 times 5 is 35, and 35 plus 12 equals 57.")]
    [('7 × 5 is 35', True), ('35 + 12 equals 57', False)]
    """
    return tuple(c for c, _ in _read(answer_text).claims)


def final_answer(answer_text: str) -> Fraction | None:
    """The final answer of ``answer_text`` as written (``25%`` reads 25, ``3/4`` reads 3/4), or None if
    it has none or it is unreadable.

    >>> final_answer("7 x 5 = 35 and 4 x 3 = 12. Therefore, Janet needs 35 + 12 = 47 tickets for 11 rides.")
    Fraction(47, 1)
    """
    with _gc_paused():
        _, written = _final(_read_all(answer_text))
    return None if written is None else written.shown


def _show(x: Fraction) -> str:
    """A value for a reason: exact when short, else 6 decimals with an ellipsis; never a float."""
    if x.denominator == 1:
        s = str(x.numerator)
        return s if len(s) <= 40 else f"{s[:12]}…({len(s)} digits)"
    if x.denominator.bit_length() > 64 or abs(x) > 10 ** 30:
        return f"{float(x):.6g}" if abs(x) < 10 ** 300 else "a huge non-integer"
    for places in range(1, 7):
        if (x * 10 ** places).denominator == 1:
            return _decimal(x, places)
    return _decimal(x, 6) + "…"


def _decimal(x: Fraction, places: int) -> str:
    scaled = round(x * 10 ** places)
    sign, scaled = ("-" if scaled < 0 else ""), abs(scaled)
    whole, frac = divmod(scaled, 10 ** places)
    return f"{sign}{whole}.{frac:0{places}d}"


def _quote(text: str) -> str:
    return repr(text if len(text) <= 80 else text[:60] + "…" + text[-15:])


def _why(c: Claim) -> str:
    said = f"the {c.side} side is {_show(c.value)}"
    if c.places < 0 or "%" in c.text:
        return said
    rounded = _roundings(c.value, c.places)[0]
    if rounded == c.value:
        return said
    return f"{said}, {_show(rounded) if c.places else rounded} to {c.places} decimal{'s' * (c.places != 1)}"


def _truth(truth: int | float | Fraction) -> Fraction | None:
    """The truth as an exact number; None for a float that is no number (nan, inf)."""
    if isinstance(truth, float):
        if truth != truth or truth in (float("inf"), float("-inf")):
            return None
        return Fraction(repr(truth))  # the decimal the float prints as: 0.1 is 1/10, not 0.1000000000000000055...
    return Fraction(truth)


def _matches_truth(truth: int | float | Fraction, w: _Written) -> bool:
    exact = _truth(truth)
    if exact is None:
        return False
    if _states(exact, w):
        return True
    if isinstance(truth, float) and abs(w.value) < 10 ** 300:  # 1/3 written as a fraction, truth 0.333...
        return float(w.value) == truth
    return False


def judge(answer_text: str, truth: int | float | Fraction) -> Verdict:
    """Whether ``answer_text`` reaches ``truth`` with no false arithmetic claim on the way.

    Args:
        answer_text: any text (a chain of thought); nothing in it raises.
        truth: the true answer; a float is read as the decimal it prints as.
    Returns:
        a Verdict whose ``reason`` names each false claim and a wrong or missing final answer.
    The final answer matches ``truth`` exactly, or correctly rounded to the decimals it shows
    (``33.33`` for 100/3); ``25%`` matches 25 and 0.25.
    """
    with _gc_paused():
        r = _read_all(answer_text)
        has_final, written = _final(r)
    found = tuple(c for c, _ in r.claims)
    false = tuple(c for c in found if not c.ok)
    final_ok = written is not None and _matches_truth(truth, written)
    why = [f"false claim {_quote(c.text)} ({_why(c)})" for c in false]
    if not has_final:
        why.append("no final answer found")
    elif written is None:
        why.append(f"final answer unreadable (over {MAX_DIGITS} digits or {MAX_BITS} bits)")
    elif not final_ok:
        expected = _truth(truth)
        shown = repr(truth) if expected is None else _show(expected)
        why.append(f"final answer {_show(written.shown)}, expected {shown}")
    return Verdict(final_ok and not false, None if written is None else written.shown, found, false, "; ".join(why))
