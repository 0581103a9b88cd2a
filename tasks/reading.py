"""How a completion is read before a task scores it: the stop-string cut and the lenient readings' helpers.

One rule for stop strings, used by every adapter that stops generation early, by the scoring cut
(``Task.assess``) and so by the cache and the records (they keep the raw completion): a stop string
counts only after the completion's leading whitespace. The lenient readings (the final answer found
in prose, beside each task's strict format) share ``unmarked`` and ``final_number``. Pure: no torch,
no pytest.
"""

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal
from typing import Iterator, Protocol, Sequence


# --------------------------------------------------------------------------- stop strings


def stop_index(text: str, stop: Sequence[str]) -> int | None:
    """Where ``text`` is cut: the first stop string that begins after the leading whitespace, or None.

    Chat and instruction models often open with a line break before they answer (``"\\n56\\n"``);
    a stop string found inside that opening whitespace is not the end of an answer that has not begun.
    Every adapter that stops generation early and the scoring cut use this one rule.

    >>> stop_index("\\n56\\nQ: next", ("\\n",))
    3
    >>> stop_index("no stop here", ("\\n",)) is None
    True
    """
    start = len(text) - len(text.lstrip())
    ends = [i for i in (text.find(s, start) for s in stop if s) if i >= 0]
    return min(ends) if ends else None


def cut_at_stop(text: str, stop: Sequence[str]) -> str:
    """``text`` up to (not including) its first stop string after the leading whitespace (``stop_index``).

    What a model wrote is stored whole (cache, records); what is scored is this cut.

    >>> cut_at_stop(" 56\\nQ: next", ("\\n",))
    ' 56'
    >>> cut_at_stop("\\n\\n= C\\n\\nmore", ("\\n\\n",))
    '\\n\\n= C'
    """
    at = stop_index(text, stop)
    return text if at is None else text[:at]


# --------------------------------------------------------------------------- lenient readings

_BOXED = re.compile(r"\\(?:boxed|fbox|text|textbf|mathrm)\s*\{([^{}]*)\}")
_MARKUP = re.compile(r"\*\*|__|`+|\$+|\\[()\[\]]")
# At most 120 digits: a longer run of digits is no answer, and stays clear of int()'s 4,300-digit limit.
# A number may be written in E notation ("1.081e3"; "1.081 × 10^3" is read as that by ``unmarked``): read as
# 1081, not as its exponent 3.
_NUMBER = re.compile(r"(?<![\d.,])-?(?:\d{1,3}(?:,\d{3}){1,39}|\d{1,120})(?:\.\d{1,20})?(?:[eE][+-]?\d{1,2}(?!\w))?"
                     r"(?![\d,]\d)")
# Spans a chat answer marks as its answer: a bold or boxed number alone ("**Step 1**" is a heading, not one).
_MARKED = re.compile(r"\*\*(.+?)\*\*|\\(?:boxed|fbox)\s*\{([^{}]*)\}")
# What introduces a final answer in prose: "answer is/:/=", and "the product/result (of ...) is" right before a number.
ANSWER_IS = re.compile(r"\banswer\s*(?:is|:|=)\s*:?\s*"
                       r"|\b(?:product|result)\b(?:\s+of\b[^.\n=:]{0,40}?)?\s+(?:is|equals)\s*:?\s*(?=-?\d)", re.I)
# What, right after a number, makes it a term of a calculation that goes on rather than its result: an
# operator (a sign or a word), then a number or a bracket ("12 × 34 = 408", "56 - 8 = 48", "940 plus 141");
# a bracket, right after it or after a space, with an operator after the bracket (an implicit product,
# "6(8) = 48", "47 (20 + 3) = 1081"); a space, then a digit, on the same line. A word after the operator
# ("56 - check: ..."), a bracket nothing is done with ("1081(47×23)", "56 (since 56 / 8 = 7)": an aside) or a
# new line ends the number instead.
GOES_ON = (r"(?:[ \t]*\([^()\n]*\)\s*[×xX*·+\-−/^=]|\s*[×xX*·+\-−/^=]\s*[-−]?[\d(]"
           r"|\s+(?:plus|minus|times|multiplied\s+by|divided\s+by)\s+[-−]?[\d(]|[ \t]+\d)")
_GOES_ON = re.compile(GOES_ON)
# A bracket right after a number that holds a calculation ("1081 (47 × 23)", "1081 (i.e. 47 times 23)", "1081
# (= 47 × 23)", "1081 (since 47 × 20 = 940)"): an aside on that number, which stays the last one written, unless
# the number is itself a term of a calculation ("47 × 23 (40 × 23 + 7 × 23 = 1081)"). A bracket of a number
# alone ("7 × 8 (56)") is no aside.
_BRACKET_AFTER = re.compile(r"(?<=\d)[ \t]*\(([^()\n]*)\)")
_OPERATION = re.compile(r"\d\s*(?:[×xX*·+\-−/^÷]|times|plus|minus|multiplied\s+by|divided\s+by)\s*[-−]?\d", re.I)
_TERM_BEFORE = re.compile(r"(?:[\d)]\s*[×xX*·+\-−/^÷]|\b(?:times|plus|minus|by))\s*[-−]?[\d,.]*\d$", re.I)
_STATED_THEN_DERIVED = re.compile(r"\s*=")  # "The answer is 56 = 7 × 8": the result first, then where it comes from
# A correction that gives its number at once ("47 × 23 = 1071, wait, it's 1081"; "Correction: 1081"); one
# that goes on in words ("Actually, let me check: ...") gives none.
# A "no" that takes back the number right before it ("1081... no, 1071", "1081 — no, it's 1071"), not "no rule applies"
# nor a reply to a question ("Any remainder? No, 0." read 0: a review). Shared by ``_CORRECTION`` and ``RECONSIDERED``.
_NO_AFTER_NUMBER = r"(?:(?<=\d)|(?<=\.\.\.)|(?<=…))[ \t]*[.…,;:!—–-]*[ \t]*no\b"
_CORRECTION = re.compile(r"(?:\b(?:no\s+wait|wait|actually|correction|sorry|i\s+mean|make\s+that|nope|or\s+rather|"
                         r"scratch\s+that)\b|" + _NO_AFTER_NUMBER + r"(?=\s*[,;:!.…—–-]))"
                         r"[\s,:;!.…—–-]*"
                         r"(?:(?:it'?s|it\s+is|that'?s|the\s+answer\s+is|rather)\s*:?\s*)?(?=-?\d)", re.I)
_ANY_DIGIT = re.compile(r"\d")  # a str pattern's \d: every Unicode decimal digit (category Nd)
# A minus sign written as the Unicode minus (U+2212) or a dash right before a number's digits ("−1081", "= –56"):
# read as ASCII "-", never dropped (dropped, "−1081" read as 1081).
_MINUS = re.compile("\u2212|(?<![\\w.,])[\u2013\u2014](?=\\d)")
# Thousands written with a no-break, narrow no-break or thin space ("1 081", SI style) or LaTeX's "{,}"
# ("1{,}081"): one number, as the judge oracle reads it (read apart, "1 081" was 81).
_SPACED_THOUSANDS = re.compile("(?<=\\d)(?:[\u00a0\u202f\u2009]|\\{,\\})(?=\\d{3}(?!\\d))")
# Thousands spaced with an ASCII space, as SI style is often typed ("1 081"): read apart, "1 081" was 81. Only in a
# number's reading (``final_number``), where a lone group of three digits after a short number is its thousands;
# values in a row (causal's "1 0 0 0", an integer world's "12 345") are read by their own rules.
_ASCII_THOUSANDS = re.compile(r"(?<![\d,.])(\d{1,3})((?: \d{3})+)(?![\w])(?![.,]\d)")


def _grouped(text: str) -> str:
    """``text`` with ASCII-spaced thousands joined by commas ("1 081" -> "1,081")."""
    return _ASCII_THOUSANDS.sub(lambda m: m.group(1) + m.group(2).replace(" ", ","), text) if " " in text else text


# A number the text rejects or only compares with: "not 1081", "rather than 1081", "less than 1081", "1081 is
# wrong". The answer is another number ("The answer is not 1081 but 1071": 1071).
_REJECTED_BEFORE = re.compile(r"(?:\b(?:not|never|isn'?t|rather\s+than|instead\s+of|than)|\bnot\s+(?:equal\s+to|be))"
                              r"\s*[:=]?\s*$", re.I)
_REJECTED_AFTER = re.compile(r"\s*(?:is|was|would\s+be)\s+(?:wrong|incorrect|not\s+(?:right|correct)|a\s+mistake|"
                             r"an\s+error)\b", re.I)
_ASKED = re.compile(r"\s*\?")  # "The answer is 1081? Let me check": a number asked about is not said
# "1.081 × 10^3", "1.081 x 10³": scientific notation, read as E notation ("1.081e3") so the number is 1081, not 3.
_SCIENTIFIC = re.compile(r"(?<![\d.,])(-?\d+\.\d+)\s*[×xX*·]\s*10\s*(?:\^\s*\{?\s*([+-]?\d{1,2})\s*\}?|([⁺⁻]?[⁰¹²³⁴⁵⁶⁷⁸⁹]{1,2}))(?![\d.])")
_SUPERSCRIPT = str.maketrans("⁺⁻⁰¹²³⁴⁵⁶⁷⁸⁹", "+-0123456789")
# An answer stated first, then explained, checked or compared ("1081. Check: 1081 / 23 = 47.", "1081, because 47 × 20
# = 940 ...", "1071, which is 10 less than 1081", "56. That is 7 times 8."): the first number, alone in its sentence
# after at most a short lead-in, is the answer when what follows explains it (``_EXPLAINS``) or names it again.
_STATED_FIRST = re.compile(
    r"\s*(?:(?:sure|okay|ok|certainly|of\s+course)\b[!.,]?\s*)?"
    r"(?:(?:so|thus|it'?s|it\s+is|that'?s|that\s+is|=)\b\s*:?\s*|=\s*)?"
    r"(?=(?P<number>-?\d[\d,.eE+-]*))", re.I)
_ENDS_STATEMENT = re.compile(r"[ \t]*(?:$|[.!;]|\n|\(|[—–]|--?\s|,\s*(?=[a-z])|\s(?=(?:is|because|since|as|which)\b))", re.I)
_EXPLAINS = re.compile(r"[\s.!;,:()—–-]*(?:because|since|as|which|that|this|these|here|check|checking|verify|verifying|"
                       r"verification|to\s+(?:check|verify|confirm|see)|proof|explanation|reason(?:ing)?|i\.e|e\.g|"
                       r"note|we\s+(?:get|have|can)|how|it\s+is|it'?s|is\b)", re.I)
_LIST_MARK = re.compile(r"(?m)^\s*(\d{1,9})[.)]\s")  # "2. ", "2) " opening a line: a numbered list's item
# Words that take back or redo what came before ("1071\nHmm, let me recompute: ... = 1081"): the number stated
# first is then no answer, and the last one is read; an abcd trace started again after them replaces the first.
# A "no" counts where it takes back the number right before it (``_NO_AFTER_NUMBER``).
RECONSIDERED = re.compile(_NO_AFTER_NUMBER + r"(?=[ \t]*[,;:!.…—–-]+[ \t]*"
                          r"(?:-?\d|it'?s\b|it\s+is\b|that'?s\b|wait\b|actually\b|the\s+(?:answer|product|result)\b|"
                          r"let\s+me\b))|"
                          r"\b(?:wait|hmm|actually|oops|sorry|mistake|error|wrong|incorrect|correction|recalculat\w*|"
                          r"recomput\w*|redo|re-?do|re-?check|start(?:ing)?\s+over|miscalculat\w*|nope|"
                          r"scratch\s+that|on\s+second\s+thoughts?|or\s+rather|"
                          r"let\s+me\s+(?:try|redo|reconsider|think|fix|correct|recalculate|recompute))\b", re.I)
# What may stand between a word that takes back the answer and the number it gives instead ("Actually, I made a
# mistake: it is 1071", "... no, it's 1071", "Wait, the answer is 1071").
_RETRACTED_LEAD = re.compile(r"[\s,:;!.…—–-]*(?:(?:no|nope)\b[\s,:;!.…—–-]*)?"
                             r"(?:(?:so\s+)?(?:it'?s|it\s+is|that'?s|that\s+is|should\s+be|rather|make\s+that|"
                             r"(?:the\s+)?(?:correct\s+|right\s+)?(?:answer|product|result)\s+(?:is|should\s+be))\b\s*:?\s*)?",
                             re.I)
# Two answers offered ("1071 or 1081", "either 1071 or maybe 1081"): neither is the answer. "1081, or 1,081" (one
# value twice) and "1081, or one thousand eighty-one" (no second number) are one answer; "1081, or rather 1071" a
# correction.
_OR_AFTER = re.compile(r"[ \t]*,?[ \t]*(?:or|and/or)\s+(?:(?:maybe|perhaps|possibly|else|even)\s+)?(?=-?\d)", re.I)
_OR_BEFORE = re.compile(r"(?<![\d.,])(-?\d+(?:,\d{3})*(?:\.\d+)?)[ \t]*,?[ \t]*(?:or|and/or)\s+"
                        r"(?:(?:maybe|perhaps|possibly|else|even)\s+)?$", re.I)
# An approximation is no exact answer ("47 × 23 ≈ 1100", "about 1100"), and one written right after a number is an
# aside on it ("1081 total, or roughly 1.1 thousand", "1081 (approximately 1.1k)").
_APPROX_BEFORE = re.compile(r"(?:[≈~∼]|\b(?:approximately|approx\.?|roughly|about|around|nearly|almost|circa|"
                            r"close\s+to|on\s+the\s+order\s+of)\b)\s*$", re.I)
_APPROX_AFTER = re.compile(r"\s*(?:-?ish\b|or\s+so\b|k\b|thousand\b|million\b|billion\b)", re.I)
_ASIDE_LEAD = re.compile(r"\d([^\d\n]{0,40})$")  # what stands between a number and an approximation after it
_ASIDE_SEP = re.compile(r",|\(|[—–]|\bor\b|\bi\.e\b", re.I)


def unmarked(text: str) -> str:
    r"""``text`` without the markup chat models put around answers: ``**56**``, ```56```, ``\boxed{56}``, ``$56$``,
    and with every decimal digit written as ASCII (``５６`` and ``٥٦`` are 56), a Unicode minus or a dash
    before digits as ``-`` and thousands spaced SI style or as ``{,}`` joined by a comma (``1 081``,
    ``1{,}081``): the strict readings take ASCII only, the task's answer format, and every lenient
    reading takes these alike.

    >>> unmarked(r"**56** or $\boxed{56}$"), unmarked("５６")
    ('56 or 56', '56')
    """
    if not text.isascii():
        text = _ANY_DIGIT.sub(lambda m: str(unicodedata.decimal(m.group())), text)
        text = _SPACED_THOUSANDS.sub(",", _MINUS.sub("-", text))
    elif "{,}" in text:
        text = _SPACED_THOUSANDS.sub(",", text)
    while True:
        plain = _BOXED.sub(r"\1", text)
        if plain == text:
            break
        text = plain
    text = re.sub(r"\\(?:times|cdot)\b", "×", text)
    text = _SCIENTIFIC.sub(lambda m: f"{m.group(1)}e{(m.group(2) or m.group(3)).translate(_SUPERSCRIPT)}", text)
    return _MARKUP.sub("", text)


class Cue(Protocol):
    """What introduces an answer: a compiled pattern, or anything with its ``finditer``."""

    def finditer(self, text: str) -> Iterator[re.Match]: ...


def final_number(text: str, cues: Sequence[Cue] = ()) -> int | float | None:
    """The final number a prose answer gives: after the last "answer is"/"answer:"/"the product is", else
    after the last of the first of ``cues`` that the text has, else the number a bold or boxed span
    marks, else the number stated first and then explained or checked (``_stated_first``: "56. That is
    7 times 8."), else the last one; a correction that gives its number after that ("..., wait, it's
    56") replaces it. Where a calculation goes on from the number after
    "answer is" (``GOES_ON``: "The answer is 7 × 8 = 56."), the answer is read from there on.

    For the lenient readings ("The answer is 56.", "7 × 8 = 56", "56.0", "1,081"); a whole number
    comes back as ``int``. ``cues``: what else introduces the answer, in order (multiplication's own
    equation, ``7 × 8 =``: "7 × 8 = 56. Check: 56 / 8 = 7." answers 56, not 7).

    >>> final_number("7 × 8 = 56."), final_number("The answer is 1,081, I think 3 times."), final_number("none")
    (56, 1081, None)
    >>> final_number("**54**, not 56"), final_number(r"It is \\boxed{56}; 7 × 8 checks it"), final_number("**Step 1**: 56")
    (54, 56, 56)
    >>> final_number("56. That is 7 times 8."), final_number("1.081e3")
    (56, 1081)
    """
    marked = [inner for m in _MARKED.finditer(text)
              if _NUMBER.fullmatch(inner := _grouped(unmarked(m.group(1) or m.group(2) or "")).strip().rstrip("."))]
    text = _grouped(unmarked(text))
    fixed = _corrected(text)
    for cue in (ANSWER_IS, *cues):
        said = list(cue.finditer(text))
        if said and (first := _first_said(text, said[-1].end())) is not None:
            if fixed is not None and fixed.start() > said[-1].start():  # corrected after it
                return _settled(text, fixed, cues)
            if cue is ANSWER_IS and _GOES_ON.match(text, first.end()) and not _STATED_THEN_DERIVED.match(text, first.end()):
                # "The answer is 12 × 34 = 408.": the answer is what the calculation comes to, read from there on.
                return final_number(text[said[-1].end():], cues)
            return _settled(text, first, cues)
    if fixed is not None:
        return _settled(text, fixed, cues)
    if marked:  # the number the answer marks ("**54**, not 56": 54) before the last one written
        spots = [m for m in _NUMBER.finditer(text) if m.group() == marked[-1]]
        # ... unless it is one of two offered ("**1071** or **1081**": neither)
        return None if spots and _offered_beside(text, spots[-1]) else _number(marked[-1])
    if (stated := _stated_first(text)) is not None:
        return stated
    plain = _without_asides(text)
    numbers = [m for m in _NUMBER.finditer(plain) if not _rejected(plain, m) and not _approximate_aside(plain, m)]
    if not numbers or _ASKED.match(plain, numbers[-1].end()):  # "Is it 1081? No.": asked about, never said
        return None
    return None if _offered_beside(plain, numbers[-1]) else _number(numbers[-1].group())


def _settled(text: str, said: re.Match, cues: Sequence[Cue]) -> int | float | None:
    """The number ``said`` as the answer, unless the text takes it back after it: each word of ``RECONSIDERED``
    after it that gives a number instead (``_given_after``) replaces it ("The answer is 1081... no, 1071": 1071;
    "47 × 23 = 1071. Hmm, actually let me double-check... no, it's 1081": 1081). None where the answer is one of
    two numbers offered or an approximation (``_offered_beside``). One pass: each stretch between two such words is
    read once."""
    marks = list(RECONSIDERED.finditer(text, said.end()))
    for i, mark in enumerate(marks):
        end = marks[i + 1].start() if i + 1 < len(marks) else len(text)
        given = _given_after(text, mark, end, cues)
        if given is not None:
            said = given
    return None if _offered_beside(text, said) else _number(said.group())


def _given_after(text: str, mark: re.Match, end: int, cues: Sequence[Cue]) -> re.Match | _Shifted | None:
    """The number a word that takes back the answer (``mark``) gives instead, from it up to ``end``: written right
    after it ("no, 1071", "I made a mistake: it is 1071"), or after a cue ("let me redo it: 47 × 23 = 1071"); else
    None ("Actually, let me check: 47 × 20 = 940" gives none: the answer stands; nor does the last number of work
    done again, "Let me redo it by columns: 7 × 3 = 21, write 1 carry 2", which read 2: a review)."""
    lead = _RETRACTED_LEAD.match(text, mark.end(), end)
    direct = _NUMBER.match(text, lead.end(), end)
    if direct is not None and _GIVEN_END.match(text, direct.end()) and not _GOES_ON.match(text, direct.end()) \
            and not _ASKED.match(text, direct.end()):
        return direct
    part = text[mark.end():end]
    for cue in (ANSWER_IS, *cues):
        said = list(cue.finditer(part))
        if said and (first := _first_said(part, said[-1].end())) is not None:
            if not (cue is ANSWER_IS and _GOES_ON.match(part, first.end())):
                return _Shifted(first, mark.end())
            break
    return None


class _Shifted:
    """A match in a part of the text, read where it stands in the whole text (``start``, ``end``, ``group``): a cue
    (``Cue``) reads a whole text, so a stretch is cut out for it (filtering the whole text's matches per stretch
    would read it once per take-back)."""

    def __init__(self, match: re.Match, offset: int):
        self._match, self._offset = match, offset

    def start(self) -> int:
        return self._match.start() + self._offset

    def end(self) -> int:
        return self._match.end() + self._offset

    def group(self) -> str:
        return self._match.group()


def _offered_beside(text: str, number) -> bool:
    """Whether ``number`` is no exact answer: one of two different numbers offered ("either 1071 or 1081"), or an
    approximation ("≈ 1100", "about 1100")."""
    value = _number(number.group())
    if _APPROX_BEFORE.search(text, max(0, number.start() - 24), number.start()) or _APPROX_AFTER.match(text, number.end()):
        return True
    after = _OR_AFTER.match(text, number.end())
    other = _NUMBER.match(text, after.end()) if after else None
    if other is not None and _number(other.group()) != value:
        return True
    before = _OR_BEFORE.search(text, max(0, number.start() - 60), number.start())
    return before is not None and _NUMBER.fullmatch(before.group(1)) is not None and _number(before.group(1)) != value


def _approximate_aside(text: str, number: re.Match) -> bool:
    """Whether ``number`` is an approximation written right after another number, as an aside on it ("1081 total,
    or roughly 1.1 thousand", "1081 (approximately 1.1k)")."""
    at = max(0, number.start() - 24)
    approx = _APPROX_BEFORE.search(text, at, number.start())
    if approx is None:
        return False
    lead = _ASIDE_LEAD.search(text, max(0, approx.start() - 41), approx.start())
    return lead is not None and _ASIDE_SEP.search(lead.group(1)) is not None


def _rejected(text: str, number: re.Match) -> bool:
    """Whether the text rejects ``number`` or only compares with it ("not 1081", "1081 is wrong", "than 1081")."""
    return (_REJECTED_BEFORE.search(text, max(0, number.start() - 40), number.start()) is not None
            or _REJECTED_AFTER.match(text, number.end()) is not None)


def _first_said(text: str, at: int) -> re.Match | None:
    """The first number from ``at`` on that the text does not reject ("The answer is not 1081 but 1071": 1071);
    None where the first is asked about ("The answer is 1081? Let me check: ...")."""
    for m in _NUMBER.finditer(text, at):
        if _ASKED.match(text, m.end()):
            return None
        if not _rejected(text, m):
            return m
    return None


def _stated_first(text: str) -> int | float | None:
    """The number the text opens with as its answer (``_STATED_FIRST``), or None: where it is alone on the
    first line, or ends its statement and what follows explains it or names it again; and nothing after it
    is reconsidered. A
    numbered list's "1." is no answer ("1. 47 × 20 = 940\n2. ...")."""
    opening = _STATED_FIRST.match(text)
    first = _NUMBER.match(text, opening.start("number")) if opening else None
    if first is None or _GOES_ON.match(text, first.end()) or not _ENDS_STATEMENT.match(text, first.end()):
        return None
    value, rest = _number(first.group()), text[first.end():]
    if RECONSIDERED.search(rest):
        return None
    if rest[:1] in (".", ")") and any(int(n) == value + 1 for n in _LIST_MARK.findall(rest)):  # a numbered list
        return None
    alone = re.match(r"[ \t]*\.?[ \t]*(?:\n|$)", rest)  # the number alone on the first line
    if alone or _EXPLAINS.match(rest) or any(_number(m.group()) == value for m in _NUMBER.finditer(rest)):
        return value
    return None


def _without_asides(text: str) -> str:
    """``text`` without the brackets that are asides on the number before them (``_BRACKET_AFTER``)."""
    def keep(m: re.Match) -> str:
        aside = _OPERATION.search(m.group(1)) and not _TERM_BEFORE.search(text, 0, m.start())
        return "" if aside else m.group()
    return _BRACKET_AFTER.sub(keep, text)


def _corrected(text: str) -> re.Match | None:
    """The number the last correction gives, where no calculation goes on from it and it ends its clause."""
    fixes = list(_CORRECTION.finditer(text))
    first = _NUMBER.match(text, fixes[-1].end()) if fixes else None
    if first is None or _GOES_ON.match(text, first.end()) or not _GIVEN_END.match(text, first.end()):
        return None
    return first


# Where a number given as the answer instead ends: its clause ("no, 1071.", "it's 1071, so"), or "is the answer";
# "1081; no, 23 is not a factor of 47" gives no answer 23 (a review).
_GIVEN_END = re.compile(r"[ \t]*(?:$|[\n.!,;:)\]*_]|(?:is|would\s+be)\s+(?:the\s+)?(?:answer|product|result|right|"
                        r"correct)\b)", re.I)


def _number(text: str) -> int | float:
    """A number as read: whole ones (``"1,081"``, ``"1081.0"``, ``"1.081e3"``) as ``int``, exactly; others as ``float``."""
    plain = text.replace(",", "")
    if not any(c in plain for c in ".eE"):
        return int(plain)
    exact = Decimal(plain)
    return int(exact) if exact == exact.to_integral_value() else float(exact)
