"""Is a free-text chain of thought to a word problem correct? Check its arithmetic and its final answer.

``judge(text, truth)`` reads every arithmetic claim the text makes (``7 x 5 = 35``), evaluates its
left side exactly (``fractions.Fraction``, × ÷ before + -), finds the final answer, and calls the
text correct iff the final answer equals ``truth`` and no claim is false.

>>> v = judge("To ride 7 times she needs 7 x 5 = 35 tickets. In total, she needs 35 + 12 = 58 tickets.", 47)
>>> v.correct, v.final, [c.text for c in v.false_claims]
(False, 58.0, ['35 + 12 = 58'])

What is read as a claim: ``expression = result`` where the expression has an operator, chains
``2 + 3 + 4 = 9`` and ``2 x 3 x 4 = 6 x 4 = 24``, parentheses (``2(3 + 4)`` multiplies). Operators:
``+ - * / x X × ÷ · ^``, LaTeX ``\\times \\cdot \\div \\frac{a}{b}``, the words ``plus``, ``minus``,
``times``, ``multiplied by``, ``divided by``, and ``of`` after a percentage or a fraction
(``20% of $80``). Equality: ``=``, ``≈``, and the words ``equals``, ``is equal to``, ``is``, ``are``,
``makes``, ``gives``, ``yields``, ``results in``. Numbers: ``1,200``, ``12.50``, ``$12.50``, ``25%``,
each optionally followed by up to four unit words (``5 tickets × 7 rides = 35 tickets``,
``$12/hour``). The running-total shorthand ``7 × 5 = 35 + 12 = 47`` is read as ``7 × 5 = 35`` and
``35 + 12 = 47``. A decimal result is right when it is within one unit of its last written digit
(``10 / 3 = 3.33``); an integer result must be exact unless marked approximate (``≈``, ``about``,
``approximately``, ``roughly``, ``around``). A result written as a percentage matches either reading
(``0.25`` or ``25``). Claim texts are quoted from the normalised text (``times`` shows as ``×``).

The final answer (``Verdict.final``), first rule that applies:
  1. the last ``\\boxed{N}``; else the number after the last ``####``;
  2. else a sentence is chosen: the last with an answer marker (``the answer is``, ``answer:``), else
     the last with a conclusion marker (``therefore``, ``thus``, ``hence``, ``in total``, ``total``,
     ``altogether``, ``overall``, ``finally``, a leading ``So``) after which no claim follows, else
     the last sentence with a number;
  3. within it (numbers in parentheses only if it has no others): the number after the answer
     marker, or the result of a claim starting there; else its last **bold** number; else the
     result of its last claim (the last ``= N``); else the number it restates that the latest claim
     computed; else the first number after its conclusion marker; else its last number.

Not supported (read as no claim, never as a false one): numbers in words (``forty-seven``),
``twice``/``half of``/``double``, ``the sum of 35 and 12``, ``5 more than``, ``, which is 35``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction

__all__ = ["Claim", "Verdict", "judge", "claims", "final_answer"]


@dataclass(frozen=True)
class Claim:
    """One arithmetic claim: its (normalised) text, the true value of its left side, the value it claims."""

    text: str
    value: float
    claimed: float
    ok: bool


@dataclass(frozen=True)
class Verdict:
    """The judgement of one answer: correct iff ``final`` equals the truth and ``false_claims`` is empty."""

    correct: bool
    final: float | None
    claims: tuple[Claim, ...]
    false_claims: tuple[Claim, ...]
    reason: str


# --------------------------------------------------------------------------- normalising the text

_LATEX = [
    (r"\\[dt]?frac\s*\{([^{}]*)\}\s*\{([^{}]*)\}", r"(\1)/(\2)"),
    (r"\\(?:text|mathrm|textbf|mathbf|textrm|operatorname)\s*\{([^{}]*)\}", r" \1 "),
    (r"\\(?:times|cdot|ast)\b", " × "), (r"\\div\b", " ÷ "), (r"\\approx\b", " ≈ "),
    (r"\\%", "%"), (r"\\\$", "$"), (r"\{,\}", ","), (r"\\left\b|\\right\b", ""),
    (r"\\[,;:! ]", " "), (r"\\[()\[\]]", " "), (r"\\[A-Za-z]+", " "), (r"[{}]", ""),
]
_WORD_OPS = [
    (r"\bmultiplied\s+by\b", " × "), (r"\btimes\b", " × "), (r"\bdivided\s+by\b", " ÷ "),
    (r"\bplus\b", " + "), (r"\bminus\b", " - "),
]
_CHARS = str.maketrans({"−": "-", "–": "-", "·": "×", "⋅": "×", "∙": "×", "✕": "×", "✖": "×", "⁄": "/",
                        "＝": "=", "≃": "≈", "≅": "≈", "\u00a0": " ", "\u202f": " ", "\u2009": " "})
_BOLD = re.compile(r"\*\*(.+?)\*\*|__(.+?)__", re.S)


def _normalise(text: str) -> tuple[str, list[tuple[int, int]]]:
    """Plain text with ASCII-ish operators, and the character spans that were **bold**."""
    text = re.sub(r"<<[^<>]*>>", "", text)  # GSM8K calculator annotations repeat the claim beside it
    text = text.replace("~=", "≈").translate(_CHARS)
    for pattern, repl in _LATEX:
        text = re.sub(pattern, repl, text)
    text = re.sub(r"\$(?!\.?\d)", " ", text)  # a '$' not before a number is a math delimiter
    for pattern, repl in _WORD_OPS:
        text = re.sub(pattern, repl, text, flags=re.I)
    text = re.sub(r"(?m)^[ \t]*(?:[-*+•]|\d+[.)])[ \t]+", "", text)  # list bullets are not minus signs
    text = text.replace("`", "")
    out, spans, at = [], [], 0
    for m in _BOLD.finditer(text):
        out.append(text[at:m.start()])
        start = sum(map(len, out))
        inner = m.group(1) if m.group(1) is not None else m.group(2)
        out.append(inner)
        spans.append((start, start + len(inner)))
        at = m.end()
    out.append(text[at:])
    return "".join(out), spans


# --------------------------------------------------------------------------- tokens

_TOKEN = re.compile(
    r"(?P<num>(?P<cur>[$£€]\s?)?(?P<digits>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?|\.\d+)(?P<pct>\s?%|\s+percent\b)?)"
    r"|(?P<eq>=|≈|\b(?:is\s+equal\s+to|equals?|is|are|makes|gives(?:\s+us)?|yields|results?\s+in)\b)"
    r"|(?P<op>[+\-*/×÷^]|(?<![A-Za-z])[xX](?![A-Za-z]))"
    r"|(?P<lp>\()|(?P<rp>\))"
    r"|(?P<word>[A-Za-z]+(?:'[A-Za-z]+)?)"
    r"|(?P<space>[ \t]+)"
    r"|(?P<other>.|\n)",
    re.I,
)
_OPS = {"x": "*", "X": "*", "×": "*", "*": "*", "÷": "/", "/": "/", "+": "+", "-": "-", "^": "^"}
_APPROX = {"about", "approximately", "roughly", "around", "nearly"}
_UNIT_STOP = _APPROX | {"of"}
MAX_UNITS = 4


@dataclass(frozen=True)
class _Tok:
    kind: str  # num, eq, op, lp, rp, word, other
    text: str
    start: int
    end: int
    value: Fraction = Fraction(0)
    decimals: int = 0
    pct: bool = False


def _tokens(text: str) -> list[_Tok]:
    out = []
    for m in _TOKEN.finditer(text):
        kind = m.lastgroup if m.lastgroup in ("eq", "op", "lp", "rp", "word", "other", "space") else "num"
        if kind == "num":
            digits = m.group("digits").replace(",", "")
            decimals = len(digits.split(".")[1]) if "." in digits else 0
            out.append(_Tok("num", m.group(), m.start(), m.end(), Fraction(digits), decimals, bool(m.group("pct"))))
        elif kind == "op":
            out.append(_Tok("op", _OPS[m.group()], m.start(), m.end()))
        elif kind != "space":
            out.append(_Tok(kind, m.group(), m.start(), m.end()))
    return out


# --------------------------------------------------------------------------- expressions and chains


@dataclass(frozen=True)
class _Node:
    """A parsed expression: value, token span, whether it has an operator, and its leading operand."""

    value: Fraction
    first: int  # index of the first token
    end: int  # index after the last token, trailing units included
    core_end: int  # character offset just after the last number or ')', units excluded
    has_op: bool
    leading: Fraction
    num: _Tok | None = None  # the token, when the expression is one bare number
    fraction: bool = False  # a bare a/b, which 'of' may multiply


class _Parser:
    """Recursive descent over tokens; a parse that cannot continue stops before the offending token."""

    def __init__(self, toks: list[_Tok]):
        self.t = toks

    def at(self, i: int, kind: str, text: str | None = None) -> bool:
        return i < len(self.t) and self.t[i].kind == kind and (text is None or self.t[i].text.lower() == text)

    def expr(self, i: int) -> _Node | None:
        node = self.term(i)
        while node and self.at(node.end, "op") and self.t[node.end].text in "+-":
            rhs = self.term(node.end + 1)
            if rhs is None:
                break
            value = node.value + rhs.value if self.t[node.end].text == "+" else node.value - rhs.value
            node = _Node(value, node.first, rhs.end, rhs.core_end, True, node.leading)
        return node

    def term(self, i: int) -> _Node | None:
        node = self.power(i)
        while node:
            j, op = node.end, None
            if self.at(j, "op") and self.t[j].text in "*/":
                op, k = self.t[j].text, j + 1
            elif self.at(j, "word", "of") and (node.fraction or (node.num is not None and node.num.pct)):
                op, k = "*", j + 1
            elif self.at(j, "lp") and self.t[j - 1].kind in ("num", "rp") and self.t[j - 1].end == self.t[j].start:
                op, k = "*", j  # "2(3 + 4)", glued: "Step 2 (3 + 4) = 7" is no product
            if op is None:
                break
            rhs = self.power(k)
            if rhs is None or (op == "/" and rhs.value == 0):
                break
            value = node.value * rhs.value if op == "*" else node.value / rhs.value
            fraction = op == "/" and node.num is not None and rhs.num is not None
            node = _Node(value, node.first, rhs.end, rhs.core_end, True, node.leading, fraction=fraction)
        return node

    def power(self, i: int) -> _Node | None:
        base = self.unary(i)
        if base and self.at(base.end, "op", "^"):
            exp = self.unary(base.end + 1)
            if exp and exp.value.denominator == 1 and abs(exp.value) <= 12 and (base.value or exp.value >= 0):
                return _Node(base.value ** int(exp.value), base.first, exp.end, exp.core_end, True, base.leading)
        return base

    def unary(self, i: int) -> _Node | None:
        if self.at(i, "op", "-") and i + 1 < len(self.t) and self.t[i + 1].start == self.t[i].end:
            inner = self.unary(i + 1)  # only a sign glued to its number: "-5", not "2 - 5"
            if inner:
                return _Node(-inner.value, i, inner.end, inner.core_end, inner.has_op, -inner.leading)
            return None
        if self.at(i, "num"):
            tok = self.t[i]
            value = tok.value / 100 if tok.pct else tok.value
            return _Node(value, i, self.units(i + 1), tok.end, False, value, num=tok)
        if self.at(i, "lp"):
            inner = self.expr(i + 1)
            if inner and self.at(inner.end, "rp"):
                close = self.t[inner.end]
                return _Node(inner.value, i, self.units(inner.end + 1), close.end, inner.has_op, inner.value)
        return None

    def units(self, i: int) -> int:
        """Skip unit words after a number: ``tickets``, ``miles per hour``, ``/hour``."""
        n = 0
        while n < MAX_UNITS:
            if self.at(i, "word") and self.t[i].text.lower() not in _UNIT_STOP:
                i, n = i + 1, n + 1
            elif self.at(i, "op", "/") and self.at(i + 1, "word"):  # nothing divides by a word
                i, n = i + 2, n + 1
            else:
                break
        return i


@dataclass(frozen=True)
class _Chain:
    segments: tuple[_Node, ...]
    approx: tuple[bool, ...]  # per segment: whether its '=' was approximate


def _chain(p: _Parser, i: int) -> _Chain | None:
    first = p.expr(i)
    if first is None:
        return None
    segs, approx, j = [first], [False], first.end
    while p.at(j, "eq"):
        k, near = j + 1, p.t[j].text == "≈"
        if p.at(k, "word") and p.t[k].text.lower() in _APPROX:
            k, near = k + 1, True
        nxt = p.expr(k)
        if nxt is None:
            break
        segs.append(nxt)
        approx.append(near)
        j = nxt.end
    return _Chain(tuple(segs), tuple(approx)) if len(segs) > 1 else None


def _chains(toks: list[_Tok]) -> list[_Chain]:
    p, out, i = _Parser(toks), [], 0
    while i < len(toks):
        chain = _chain(p, i) if toks[i].kind in ("num", "lp", "op") else None
        if chain and any(s.has_op for s in chain.segments):
            out.append(chain)
            i = chain.segments[-1].end
        else:
            i += 1
    return out


def _matches(value: Fraction, written: _Tok, approx: bool = False) -> bool:
    """Whether ``written`` states ``value``: exactly, or within one unit of its last decimal digit."""
    tol = Fraction(1, 10**written.decimals) if written.decimals or approx else Fraction(0)
    readings = [(written.value / 100, tol / 100), (written.value, tol)] if written.pct else [(written.value, tol)]
    return any(value == v or abs(value - v) < t for v, t in readings)


def _claims_of(chain: _Chain, toks: list[_Tok], text: str) -> list[tuple[Claim, int]]:
    """The claims of one chain, each with the character offset where it starts."""
    out = []
    for (left, right), approx in zip(zip(chain.segments, chain.segments[1:]), chain.approx[1:]):
        if not left.has_op and not right.has_op:
            continue  # "x = 5": nothing computed
        end = right.core_end
        if not left.has_op:  # "47 = 35 + 12"
            value, claimed, ok = right.value, left.value, _matches(right.value, left.num, approx)
        elif right.num is not None:
            value, claimed, ok = left.value, right.value, _matches(left.value, right.num, approx)
        elif right.value == left.value:  # "2 x 3 x 4 = 6 x 4"
            value, claimed, ok = left.value, right.value, True
        else:  # running total "7 × 5 = 35 + 12 = 47": here only the leading 35 is claimed
            value, claimed, ok = left.value, right.leading, left.value == right.leading
            end = next(t.end for t in toks[right.first:] if t.kind == "num")
        begin = toks[left.first].start
        out.append((Claim(" ".join(text[begin:end].split()), float(value), float(claimed), ok), begin))
    return out


# --------------------------------------------------------------------------- the final answer

_ANSWER = re.compile(r"\b(?:final\s+answer|answer)\b\s*(?:is|would\s+be|will\s+be|should\s+be|=|:)", re.I)
_CONCLUSION = re.compile(
    r"\b(?:therefore|thus|hence|in\s+total|in\s+all|altogether|all\s+together|total|overall|finally)\b|^\W*so\b", re.I
)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")


@dataclass(frozen=True)
class _Read:
    """Everything read from one text: normalised text, tokens, bold spans, chains and claims."""

    text: str
    toks: list[_Tok]
    bold: list[tuple[int, int]]
    chains: list[_Chain]
    claims: list[tuple[Claim, int]]


def _read(answer_text: str) -> _Read:
    text, bold = _normalise(answer_text)
    toks = _tokens(text)
    chains = _chains(toks)
    found = [c for chain in chains for c in _claims_of(chain, toks, text)]
    return _Read(text, toks, bold, chains, found)


def _sentences(text: str) -> list[tuple[int, int]]:
    cuts = [0, *(x for m in _SENTENCE_END.finditer(text) for x in (m.start(), m.end())), len(text)]
    return list(zip(cuts[::2], cuts[1::2]))


def _last(pattern: re.Pattern, text: str) -> re.Match | None:
    return max(pattern.finditer(text), key=lambda m: m.start(), default=None)


def _boxed(answer_text: str) -> _Tok | None:
    """The first number inside the last ``\\boxed{...}`` (braces matched)."""
    start = answer_text.rfind("\\boxed{")
    if start < 0:
        return None
    depth, i = 0, start + len("\\boxed")
    for j in range(i, len(answer_text)):
        depth += {"{": 1, "}": -1}.get(answer_text[j], 0)
        if depth == 0:
            nums = [t for t in _tokens(_normalise(answer_text[i + 1:j])[0]) if t.kind == "num"]
            return nums[0] if nums else None
    return None


def _signed(tok: _Tok, text: str) -> _Tok:
    """A number with its minus sign when one is glued to it at the start of a word."""
    before = text[max(0, tok.start - 2):tok.start]
    if before.endswith("-") and (len(before) < 2 or not before[0].isalnum()):
        return _Tok("num", "-" + tok.text, tok.start - 1, tok.end, -tok.value, tok.decimals, tok.pct)
    return tok


def _final(r: _Read, answer_text: str) -> _Tok | None:
    """The final answer's number token (see the module docstring for the rule)."""
    boxed = _boxed(answer_text)
    if boxed is not None:
        return boxed
    nums = [t for t in r.toks if t.kind == "num"]
    hashes = [m.end() for m in re.finditer(r"####", r.text)]
    after = [t for t in nums if hashes and t.start >= hashes[-1]]
    if after:
        return _signed(after[0], r.text)
    sentences = [(a, b) for a, b in _sentences(r.text) if any(a <= t.start < b for t in nums)]
    if not sentences:
        return None
    last_claim = max((at for _, at in r.claims), default=-1)
    marked = [(a, b, m.end() + a) for a, b in sentences if (m := _last(_ANSWER, r.text[a:b]))]
    concluded = [(a, b, m.end() + a) for a, b in sentences if (m := _last(_CONCLUSION, r.text[a:b])) and last_claim < b]
    a, b, marker = (marked or concluded or [(*sentences[-1], None)])[-1]
    inside = _main_clause([t for t in r.toks if a <= t.start < b])
    chains = [(r.toks[c.segments[0].first].start, c.segments[-1].num) for c in r.chains
              if a <= r.toks[c.segments[0].first].start < b]
    if marked:  # "The answer is 47", "The answer is 35 + 12 = 47"
        first = next((t for t in inside if t.start >= marker), inside[-1])
        result = next((num for at, num in chains if marker <= at <= first.start), None)
        return _signed(result or first, r.text)
    bold = [t for t in inside if any(s <= t.start < e for s, e in r.bold)]
    if bold:
        return _signed(bold[-1], r.text)
    if chains and chains[-1][1] is not None:
        return _signed(chains[-1][1], r.text)
    latest = {c.claimed: k for k, (c, _) in enumerate(r.claims)}
    computed = [t for t in inside if float(t.value) in latest]
    if computed:  # "47 tickets, 35 for the coaster and 12 for the slide": 47 comes from the latest claim
        return _signed(max(computed, key=lambda t: (latest[float(t.value)], t.start)), r.text)
    if marker is not None:
        return _signed(next((t for t in inside if t.start >= marker), inside[-1]), r.text)
    return _signed(inside[-1], r.text)


def _main_clause(toks: list[_Tok]) -> list[_Tok]:
    """The numbers of a sentence outside parentheses (asides), or all of them if none is."""
    depth, outside = 0, []
    for t in toks:
        depth = depth + 1 if t.kind == "lp" else max(0, depth - 1) if t.kind == "rp" else depth
        if t.kind == "num" and depth == 0:
            outside.append(t)
    return outside or [t for t in toks if t.kind == "num"]


# --------------------------------------------------------------------------- the public functions


def claims(answer_text: str) -> tuple[Claim, ...]:
    """Every arithmetic claim in ``answer_text``, in order, each checked.

    >>> [(c.text, c.ok) for c in claims("7 times 5 is 35, and 35 plus 12 equals 57.")]
    [('7 × 5 is 35', True), ('35 + 12 equals 57', False)]
    """
    return tuple(c for c, _ in _read(answer_text).claims)


def final_answer(answer_text: str) -> float | None:
    """The final answer of ``answer_text`` as written (``25%`` reads 25.0), or None if it has no number.

    >>> final_answer("7 x 5 = 35 and 4 x 3 = 12. Therefore, Janet needs 35 + 12 = 47 tickets for 11 rides.")
    47.0
    """
    tok = _final(_read(answer_text), answer_text)
    return None if tok is None else float(tok.value)


def _number(x: Fraction | float) -> str:
    x = Fraction(x).limit_denominator(10**6)
    return str(x.numerator) if x.denominator == 1 else f"{float(x):g}"


def judge(answer_text: str, truth: float | int) -> Verdict:
    """Whether ``answer_text`` reaches ``truth`` with no false arithmetic claim on the way.

    The final answer matches ``truth`` exactly when written without decimals, and within one unit of
    its last written digit otherwise (``33.33`` for 100/3); ``25%`` matches 25 and 0.25.
    """
    r = _read(answer_text)
    found = tuple(c for c, _ in r.claims)
    false = tuple(c for c in found if not c.ok)
    tok = _final(r, answer_text)
    truth_q = Fraction(str(truth)) if isinstance(truth, float) else Fraction(truth)
    final_ok = tok is not None and _matches(truth_q, tok)
    why = [f"false claim {c.text!r} (the left side is {_number(c.value)})" for c in false]
    if tok is None:
        why.append("no final answer found")
    elif not final_ok:
        why.append(f"final answer {_number(tok.value)}, expected {_number(truth_q)}")
    return Verdict(final_ok and not false, None if tok is None else float(tok.value), found, false, "; ".join(why))
