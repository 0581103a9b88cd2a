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
side; a line that starts with its relation goes on from the line before (``Total = 12 + 5`` then
``      = 17``; in LaTeX an ``align``, ``aligned`` or ``eqnarray`` row ``&= 17`` or ``&\\approx 17`` after the
line break ``\\\\``), and an alignment mark ``&`` beside a relation is layout (``x &= 3 \\times 4 = 12``,
``a &=& b``). Relations: ``=``, ``≈``, and the words ``equals``, ``is``, ``are``, ``was``, ``makes``, ``gives``,
``yields``, ``totals``, ``results in``, ``comes to`` (a word relation only when its right side is a
bare number, so ``Week 1 is 7 x 5`` is no claim); ``about``, ``approximately``, ``roughly``, ``~``,
``≈`` mark an approximation. Operators: ``+ - * / x × ÷ · ^``, ``2(3 + 4)``, LaTeX ``\\times \\cdot
\\div \\frac \\dfrac``, the words ``plus``, ``minus``, ``times``, ``multiplied by``, ``divided by``,
``twice``/``double``/``triple N``, ``half of``/``a third of``/``a quarter of N``, ``N squared``, and
``of`` after a percentage or a fraction (``20% of $80``). Numbers: ``1,200``, ``$12.50``, ``€4``,
``25%``, ``25 percent``, ``-5``, ``3/4``, mixed ``2 1/2`` and ``2½``, ``1.5e3``, ``5²``, repeating
decimals ``3.(3)`` (10/3, exact), ``0.\\overline{3}``, ``0.1\\dot{6}``, ``0.3̅``, each
optionally followed by up to four unit words (``5 tickets × 7 rides``, ``$12/hour``); a number
written in pieces (``1 000``, ``1,00,000``) is never split into two. Claim texts are quoted from
the normalised text (``times`` shows as ``×``, ``\\frac{3}{4}`` as ``3/4``).

**Precision.** A claim is true when its arithmetic side equals the stated number exactly, or when the
stated number has decimals and is the exact value correctly rounded to that many decimals
(``10 / 3 = 3.33``; ``1/3 = 0.4`` and ``7.56 x 2 = 15.2`` are false). An integer states an exact
value (``100 / 3 = 33`` is false) unless marked approximate, and then it is held to the same rule
with no decimals (``10/3 is about 3`` is true, ``about 4`` false). An exact half may round away from
zero or to even (``1.5 x 1.5 = 2.3`` and ``= 2.2``; ``45 / 60 = 0.8``, not ``0.7``). A percentage matches either reading
(``15/60 = 25%`` and ``15/60 × 100 = 25%``). Decimals followed by an ellipsis say the digits go on:
the stated number may also be the exact value cut off there (``2/3 = 0.666...`` and ``0.667...`` are
true, ``3.334...`` for 10/3 is false). The final answer is held to the same rule against the
truth; a float truth also matches any number that rounds to the same float.

**The final answer** (``Verdict.final``, the number as written: ``25%`` is 25), first rule that applies:
  1. the value inside the last ``\\boxed{...}`` (after its last relation); else the number after the
     last ``####``;
  2. else a sentence is chosen: the last with an answer marker (``the answer is``, ``answer:``), else
     the last with a conclusion marker (``therefore``, ``thus``, ``hence``, ``in total``, ``total``,
     ``altogether``, ``overall``, ``finally``, a leading ``So``) after which no claim follows, else
     the last sentence with a number. A correction after its marker that gives a number replaces
     it: a sentence or clause opening with ``wait``, ``actually``, ``correction``, ``I mean``, ``no,``,
     ``oops``, ``sorry``, ``hold on``, ``on second thought``, ``scratch that``, ``let me correct`` ...
     (``The answer is 47. Actually, it's 58.``, ``The answer is 47, wait, no, 58.``: 58). The answer
     is then read from the last sentence with a number after the correction: its last **bold**
     number, else its last number that is no operand (``47 + 11``) and not led by a preposition, else
     its last number (``Wait, no: 35 + 12 = 47 is right but I forgot the 11 extra, so it is 58``: 58);
     a correction with no number (``Actually, that is right.``) keeps the answer;
  3. within it (numbers in parentheses only if it has no others): the number after the answer
     marker, or the result of a claim starting there; else its last **bold** number; else the
     result of its last claim; else the number it restates that the latest claim computed; else
     the first number after its conclusion marker that is not led by a preposition; else its last
     number not led by a preposition; else its last number. A number led by a preposition states a
     circumstance, not the answer: ``for 11 rides``, ``in 3 weeks``, ``after 2 days``, ``per 5
     minutes``, ``each of the 4 boxes`` (also ``on``, ``at``, ``over``, ``during``, ``within``,
     ``from``, ``between``, ``since``, ``until``, ``every``, ``out of``), and so is one corrected away
     (``not 47``, ``instead of 47``, ``rather than 47``); so ``So for 11 rides she needs 47 tickets``
     and ``So she needs 47 tickets for 11 rides`` both end on 47.
A number keeps its sign (``-5``, ``\\boxed{-5}``), a fraction is one number (``3/4``, ``\\frac{3}{4}``),
so is a mixed number (``1 3/4``).

**Totality.** Every text gets a verdict quickly: numbers of more than ``MAX_DIGITS`` digits and
values beyond ``MAX_BITS`` bits are *unreadable* (a claim with one is not checked; an unreadable
final answer is no answer); expressions are parsed without recursion (parentheses to any depth);
every pass over the text is linear or near-linear in its length.

Not read (no claim, so never a false one): numbers in words (``forty-seven``), ``the sum of 35 and
12``, ``5 more than``, ``, which is 35``, functions (``\\sqrt{16}``), ``1 + 2 + ... + 10``,
equations with unknowns (``2x + 3 = 7``), division by zero, a percentage added to a plain number
(``$80 + 10%``). A range is no subtraction: a hyphen between two numbers after ``from`` or ``between``
(``From 2020-2023 = 3 years``, ``between 9 - 12``, ``from 9-5``), or glued between a number and a
larger one outside arithmetic (``ages 5-7``, ``pages 10-20 = 11 pages``; so also ``3-5 = -2``, never
false); ``2023-2020`` and ``2 × 3-5`` stay subtractions. Ambiguous numbers, which have no value (no
claim with them; as a final answer, unreadable): a comma between digits that is no thousands
separator, i.e. not followed by exactly three digits (``2,5``, ``3,75``, ``1,2345``), may be a decimal
comma (2.5) or a list (2, 5), and a text that writes decimal commas writes 1.25 as ``1,250`` too, so
reading ``2,5`` as 2.5 would call ``2,5 + 1,250 = 3,75`` false; ``0.1(6)`` may be 0.1666... or the
product 0.1 × 6 (``0.(6)``, with the point before the parenthesis, is the repeating decimal 2/3).
"""

from __future__ import annotations

import contextlib
import gc
from dataclasses import dataclass
from fractions import Fraction

from oraclebench.oracles.judge_answer import _Read, _final, _numerals
from oraclebench.oracles.judge_claims import Claim, _Written, _roundings, _scan, _states
from oraclebench.oracles.judge_normalise import _normalise
from oraclebench.oracles.judge_parse import MAX_BITS, MAX_DIGITS, _tokens

# Re-exported: Claim, MAX_DIGITS and MAX_BITS are defined where the reading makes and enforces them
# (judge_claims, judge_parse), which cannot import this module; callers keep importing them from here.
__all__ = ["Claim", "Verdict", "judge", "claims", "final_answer", "MAX_DIGITS", "MAX_BITS"]


@dataclass(frozen=True)
class Verdict:
    """The judgement of one answer: correct iff ``final`` matches the truth and ``false_claims`` is empty."""

    correct: bool
    final: Fraction | None
    claims: tuple[Claim, ...]
    false_claims: tuple[Claim, ...]
    reason: str


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
        why.append(f"final answer unreadable (over {MAX_DIGITS} digits or {MAX_BITS} bits, or ambiguous: 2,5)")
    elif not final_ok:
        expected = _truth(truth)
        shown = repr(truth) if expected is None else _show(expected)
        why.append(f"final answer {_show(written.shown)}, expected {shown}")
    return Verdict(final_ok and not false, None if written is None else written.shown, found, false, "; ".join(why))
