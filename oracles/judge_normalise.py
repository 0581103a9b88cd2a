"""Text normalisation for the judge oracle: a chain of thought as plain arithmetic.

Unicode operators and digits (``×``, ``−``, ``½``, ``²``), LaTeX (``\\frac``, ``\\times``, ``\\boxed``,
inline ``$...$``), operator words (``times``, ``divided by``, ``half of``), list bullets and **bold**
markers become one plain text the tokenizer (``oracles.judge_parse``) reads, with the spans that were
bold. ``\\boxed{}`` is kept as ``BOX_OPEN`` .. ``BOX_CLOSE``; mathematics the reader cannot use
(``\\sqrt{...}``) as ``BARRIER``; the period of ``0.1\\overline{6}`` as ``PERIOD_OPEN`` .. ``PERIOD_CLOSE``.
Lines that go on (``= 18`` at the start of a line, an align row ``&= 18``) are joined, and a range
(``from 2020-2023``) gets an en dash, which no expression crosses.
"""

from __future__ import annotations

import re

# --------------------------------------------------------------------------- normalising the text
# Every pass is one regex substitution or one scan: no pass may look back over the text.

BOX_OPEN, BOX_CLOSE, BARRIER = "⟦", "⟧", "⟂"  # \boxed{ }, and unsupported mathematics (\sqrt{...})
PERIOD_OPEN, PERIOD_CLOSE = "⦅", "⦆"  # the repeating digits of 0.1\overline{6}: the tokenizer reads 0.1⦅6⦆ as 1/6

_CHARS = str.maketrans({
    "−": "-", "·": "×", "⋅": "×", "∙": "×", "✕": "×", "✖": "×", "⁄": "/", "∕": "/", "＝": "=", "≃": "≈", "≅": "≈",
    "\u00a0": " ", "\u202f": " ", "\u2009": " ", "\u2007": " ", "\u200b": "",
    "²": "^2", "³": "^3", "½": " 1/2", "¼": " 1/4", "¾": " 3/4", "⅓": " 1/3", "⅔": " 2/3", "⅕": " 1/5", "⅛": " 1/8",
    BOX_OPEN: " ", BOX_CLOSE: " ", BARRIER: " ", PERIOD_OPEN: " ", PERIOD_CLOSE: " ",
})
_SPACED_THOUSANDS = re.compile("(?<=\\d)[\u00a0\u202f\u2009](?=\\d{3}(?!\\d))")  # "1 000" (SI style)
_CALCULATOR = re.compile(r"<<[^<>]*>>")  # GSM8K calculator annotations repeat the claim beside them
_SIMPLE_FRAC = re.compile(r"\\[dtc]?frac\s*(?:\{\s*(\d[\d,.]*)\s*\}\s*\{\s*(\d[\d,.]*)\s*\}|(\d)(\d))")
_SIMPLE_POWER = re.compile(r"\^\{\s*(-?\d+)\s*\}")
_THIN_THOUSANDS = re.compile(r"(?<=\d)\\[,!;: ](?=\d{3}(?!\d))|\{,\}")
# A repeating decimal written with a bar or dots over its period: 0.\overline{3}, 0.1\bar{6}, 0.1\dot{6},
# 0.\dot{1}4285\dot{7} (first and last digit dotted), 0.3̅ (a combining overline on each digit).
_PERIOD = re.compile(r"(?<=\d\.)(\d{0,60}?)(?:\\(?:overline|bar)\s*\{(\d{1,60})\}|\\dot\s*\{?(\d)\}?(?:(\d{0,58})\\dot\s*\{?(\d)\}?)?"
                     r"|((?:\d\u0305){1,60}))")
_SUBSCRIPT = re.compile(r"(?<=[A-Za-z])_[A-Za-z0-9]")
_LATEX = re.compile(r"\\([A-Za-z]+)|\\(.)|([{}])|(\^\{)|(_\{)", re.S)
_LATEX_OPS = {"times": " × ", "cdot": " × ", "ast": " × ", "div": " ÷ ", "approx": " ≈ ", "simeq": " ≈ ",
              "therefore": " therefore ", "because": " because "}
_LATEX_SPACE = {"quad", "qquad", "displaystyle", "textstyle", "left", "right", "big", "Big", "bigl", "bigr",
                "Bigl", "Bigr", "bigg", "Bigg", "limits", "nolimits", "hline", "centering", "newline", "nonumber",
                "notag"}
_LATEX_TEXT = {"text", "textrm", "textbf", "textit", "textsf", "texttt", "textnormal", "mathrm", "mathbf", "mathit",
               "mathsf", "mathtt", "mbox", "operatorname", "boldsymbol", "bm", "emph", "underline"}
_LATEX_FRAC = {"frac", "dfrac", "tfrac", "cfrac"}
_LATEX_BOX = {"boxed", "fbox", "framebox"}
# "\\\\" breaks a line: rows of an align are lines, so one row's words never join the next row's claim.
_LATEX_ESCAPES = {"%": "%", "$": "$", "#": "#", "&": " ", "{": " ", "}": " ", "_": " ", "\\": "\n"}
# Display environments frame lines of arithmetic: their \begin and \end are line breaks, not unreadable mathematics.
_ENVIRONMENT = re.compile(
    r"\\(?:begin|end)\{(?:align|aligned|alignat|eqnarray|equation|gather|gathered|split|multline|flalign)\*?\}"
    r"(?:\{\d{1,2}\})?")
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
# A line that starts with its relation goes on from the line before: "Total = 12 + 5\n      = 18", and an
# align row "&= 18" after a LaTeX line break "\\\\" (or "\\\\[4pt]"), is the claim 12 + 5 = 18, which read line
# by line was none, so a false step passed. (?<![ \t]) and *+: a run of blanks is tried once, from its start
# and without giving blanks back (the lookahead rescanned the rest of the run for each: quadratic).
_CONTINUED = re.compile(
    r"(?<![ \t])[ \t]*+(?:\\\\(?:\[[^\]\n]{0,12}\])?(?:[ \t]*+\n)?|\n)[ \t]*+(?=&?[ \t]*+(?:[=≈]|\\approx\b|\\simeq\b))")
# An alignment mark beside a relation ("x &= 3", "a &=& b" in eqnarray) is layout, not a barrier to the claim.
_ALIGN_MARK = re.compile(r"&[ \t]*(?=[=≈])|(?<=[=≈])[ \t]*&")
_BOLD = re.compile(r"\*\*|__")
# A hyphen between two numbers after "from"/"between" ("from 2020-2023", "between 9 - 12", "from 9-5"), or
# glued between a number and a larger one ("ages 5-7", "pages 10-20"), is a range, not a subtraction: it becomes
# an en dash, which no expression crosses. A glued subtraction that goes negative ("3-5 = -2") is lost with it:
# no claim, never a false one.
_RANGE_LED = re.compile(
    r"(\b(?:from|between)[ \t]+(?:[A-Za-z]+[ \t]+){0,2}[$£€]?\d{1,12}(?:\.\d{1,12})?)[ \t]*-[ \t]*(?=[$£€]?\d)", re.I)
# The literal '-' first: the pass jumps from hyphen to hyphen instead of trying a number at every character.
_RANGE_GLUED = re.compile(r"-(?<=\d-)(?=(\d{1,12}(?:\.\d{1,12})?)(?![\w,/^]|\.\d))")
_NUMBER_BEFORE = re.compile(r"(?<![\w.,/^-])\d{1,12}(?:\.\d{1,12})?$")
_ELLIPSIS_PERCENT = re.compile(r"(?<=\d)(\.\.\.|…)([ \t]?%)")  # "33.33...%" is the percentage 33.33%...
_OPERATOR_BEFORE = re.compile(r"[-+*/×÷^(=≈][ \t]*$")


def _simple_frac(m: re.Match) -> str:
    num, den = (m.group(1), m.group(2)) if m.group(1) is not None else (m.group(3), m.group(4))
    glue = " " if m.start() and m.string[m.start() - 1].isdigit() else ""  # 2\frac{1}{2}: the mixed 2 1/2
    return f"{glue}{num}/{den}"


def _period(m: re.Match) -> str:
    digits = m.group(2) or m.group(6) or "".join(g or "" for g in m.group(3, 4, 5))
    return f"{m.group(1)}{PERIOD_OPEN}{digits.replace(chr(0x305), '')}{PERIOD_CLOSE}"


def _ranges(text: str) -> str:
    low = text.lower()
    if "from" in low or "between" in low:
        text = _RANGE_LED.sub(r"\1 – ", text)
    return _RANGE_GLUED.sub(_glued_range, text)


def _glued_range(m: re.Match) -> str:
    first = _NUMBER_BEFORE.search(m.string, max(0, m.start() - 26), m.start())
    if first is None or float(first.group()) >= float(m.group(1)) or \
            _OPERATOR_BEFORE.search(m.string, max(0, first.start() - 4), first.start()):
        return "-"  # "12-5", or "2 × 3-5" (6 - 5)
    return "–"


def _latex(text: str) -> str:
    """LaTeX as plain arithmetic, in one scan with a stack of open braces (no recursion)."""
    if "\\" not in text and "{" not in text and "^" not in text:
        return text
    text = _SIMPLE_POWER.sub(r"^\1", _SIMPLE_FRAC.sub(_simple_frac, _THIN_THOUSANDS.sub(",", text)))
    text = _SUBSCRIPT.sub("", _ENVIRONMENT.sub("\n", text))
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
    text = _CONTINUED.sub(" ", text)
    if "-" in text:  # every pass a text does not need is skipped: each costs a scan of it
        text = _ranges(text)
    if "\\" in text or "\u0305" in text:
        text = _PERIOD.sub(_period, text)
    text = _DOLLAR_DELIMITER.sub(" ", _INLINE_MATH.sub(lambda m: f" {m.group(1) or ''} ", _latex(text)))
    if "&" in text:
        text = _ALIGN_MARK.sub(" ", text)
    if "%" in text and ("..." in text or "…" in text):
        text = _ELLIPSIS_PERCENT.sub(r"\2\1", text)
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
