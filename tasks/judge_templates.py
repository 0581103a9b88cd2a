"""The judge task's word problems: twelve templates, each a question with a worked chain of thought.

A template is a question, a restatement (``intro``) and a list of ``Step`` s; each step computes one
named value from question quantities, earlier results or constants, and says so in one sentence
(``{expr}`` is ``7 x 5 = 35``). The last step's sentence is the conclusion. ``work(template, q)``
writes the correct chain of thought; ``work(template, q, mutation)`` a wrong one:

- ``slip``: the last step's result is off (``35 + 12 = 58``): the one false claim is the final step;
- ``operation``: one step uses the wrong operation, with its arithmetic right (``35 x 12 = 420``);
- ``dropped``: a quantity is left out: a non-final step is skipped and its first input (or the one
  named by ``keep``) stands in for its result, or one term of a sum is omitted;
- ``misread``: one question number is read wrong (digits swapped, 1/7, 3/8 or 6/9 confused, or off
  by the quantity's grain), restated in the intro and used consistently.

Every mutation that ``mutations`` offers keeps each value positive and whole (or whole cents for
prices in a ``cents`` template) and changes the final answer, so the wrong chain is genuinely wrong.
Values are ``Fraction`` s so money stays exact.

>>> q = {"a": 5, "b": 3, "m": 7, "n": 4}
>>> work(TEMPLATES["tickets"], q)[0].split(". ")[-1]
'Therefore, Janet needs 35 + 12 = 47 tickets.'
>>> work(TEMPLATES["tickets"], q, Mutation("slip", delta=11))[0].split(". ")[-1]
'Therefore, Janet needs 35 + 12 = 58 tickets.'
"""

from __future__ import annotations

import functools
import operator
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Callable

from oraclebench.tasks.base import Draw

ERRORS = ("slip", "operation", "dropped", "misread")
OPS = ("+", "-", "*", "/")
SYMBOL = {"+": "+", "-": "-", "*": "x", "/": "/"}  # as the seed writes them: "7 x 5 = 35"
ARITHMETIC = {"+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv}
CONFUSABLE = {"1": "7", "7": "1", "3": "8", "8": "3", "6": "9", "9": "6"}
Quantities = dict[str, Fraction]


@dataclass(frozen=True)
class Step:
    """``out = args[0] op args[1] (op args[2] ...)``, said by ``say`` (with ``{expr}`` and any value)."""

    out: str
    op: str  # + - * /, or % for "r% of p"
    args: tuple[str | int, ...]
    say: str
    keep: int = 0  # the argument that stands in for ``out`` when this step is dropped


@dataclass(frozen=True)
class Template:
    """One word problem: its question and restatement (format strings over the quantities) and its steps."""

    name: str
    question: str
    intro: str
    steps: tuple[Step, ...]
    draw: Callable[[Draw], Quantities]  # the question's quantities, in the order of ``numbers``
    unit: str = ""  # what the answer counts, for arguments: "47 tickets"
    money: frozenset[str] = frozenset()  # values written as dollars
    cents: bool = False  # prices may have cents ("$2.50"); otherwise whole dollars
    grain: dict[str, int | str] = field(default_factory=dict)  # misread step: a number or a quantity's name


@dataclass(frozen=True)
class Mutation:
    """How a wrong chain of thought departs from the correct one (see the module docstring)."""

    kind: str
    step: int = -1
    op: str = ""
    drop: int = -1  # the term left out of a sum; -1: the whole step is skipped
    name: str = ""
    value: Fraction = Fraction(0)
    delta: Fraction = Fraction(0)


# --------------------------------------------------------------------------- writing numbers


def plain(x: Fraction) -> int | float:
    """A JSON number: an int when whole. ``plain(Fraction(5, 2)) == 2.5``."""
    return int(x) if x.denominator == 1 else float(x)


def show(t: Template, name: str | int, x: Fraction) -> str:
    """How the chain of thought writes value ``name``: ``$2.50``, ``$80``, ``47``."""
    if isinstance(name, str) and name in t.money:
        return f"${float(x):.2f}" if t.cents else f"${x}"
    return str(x) if x.denominator == 1 else f"{float(x):g}"


def answer_text(t: Template, x: Fraction) -> str:
    """The final answer as an argument names it: ``47 tickets``, ``$10.50``."""
    written = show(t, t.steps[-1].out, x)
    return f"{written} {t.unit}" if t.unit else written


def _clean(t: Template, name: str, x: Fraction) -> bool:
    """Positive, and whole (whole cents for prices of a cents template)."""
    grain = 100 if t.cents and name in t.money else 1
    return x > 0 and (x * grain).denominator == 1


# --------------------------------------------------------------------------- working a problem


def _apply(op: str, xs: list[Fraction]) -> Fraction | None:
    if op == "%":
        return xs[0] * xs[1] / 100
    if op == "/" and 0 in xs[1:]:
        return None
    return functools.reduce(ARITHMETIC[op], xs)


def _expr(t: Template, op: str, args: list[str | int], xs: list[Fraction], out: str, result: Fraction) -> str:
    shown = [show(t, a, x) for a, x in zip(args, xs)]
    left = f"{shown[0]}% of {shown[1]}" if op == "%" else f" {SYMBOL[op]} ".join(shown)
    return f"{left} = {show(t, out, result)}"


def question(t: Template, q: Quantities) -> str:
    """The question text for quantities ``q``."""
    return t.question.format(**{k: show(t, k, Fraction(v)) for k, v in q.items()})


def work(t: Template, q: Quantities, m: Mutation | None = None) -> tuple[str, Fraction] | None:
    """The chain of thought for quantities ``q`` (wrong as ``m`` says) and its final value.

    None when the mutation leaves a value that is not positive and whole (see ``_clean``).
    """
    values = {k: Fraction(v) for k, v in q.items()}
    if m and m.kind == "misread":
        values[m.name] = m.value

    def fmt() -> dict[str, str]:
        return {k: show(t, k, v) for k, v in values.items()}

    sentences = [t.intro.format(**fmt())]
    last = len(t.steps) - 1
    for k, step in enumerate(t.steps):
        op, args = step.op, list(step.args)
        if m and m.step == k and m.kind == "operation":
            op = m.op
        if m and m.step == k and m.kind == "dropped":
            if m.drop < 0:
                kept = args[step.keep]
                values[step.out] = values[kept] if isinstance(kept, str) else Fraction(kept)
                continue
            del args[m.drop]
        xs = [values[a] if isinstance(a, str) else Fraction(a) for a in args]
        result = _apply(op, xs)
        if result is None or not _clean(t, step.out, result):
            return None
        if m and m.kind == "slip" and k == last:
            result += m.delta
            if not _clean(t, step.out, result):
                return None
        values[step.out] = result
        sentences.append(step.say.format(expr=_expr(t, op, args, xs, step.out, result), **fmt()))
    return " ".join(sentences), values[t.steps[-1].out]


def _misreads(t: Template, q: Quantities, name: str) -> list[Fraction]:
    """Plausible misreadings of one number, in a fixed order (Hypothesis shrinks to the first)."""
    x = Fraction(q[name])
    text = show(t, "", x) if not (t.cents and name in t.money) else f"{float(x):.2f}"
    digits = [i for i, c in enumerate(text) if c.isdigit()]
    out = []
    if len(digits) >= 2 and text[digits[0]] != text[digits[1]] and text[digits[1]] != "0":
        i, j = digits[:2]
        out.append(text[:i] + text[j] + text[i + 1:j] + text[i] + text[j + 1:])
    for i in digits:
        if text[i] in CONFUSABLE:
            out.append(text[:i] + CONFUSABLE[text[i]] + text[i + 1:])
            break
    grain = t.grain.get(name, 1)
    grain = Fraction(q[grain]) if isinstance(grain, str) else Fraction(grain)
    found = [Fraction(s) for s in out] + [x + grain, x - grain]
    return [v for i, v in enumerate(found) if v > 0 and v != x and v not in found[:i]]


def mutations(t: Template, q: Quantities, kind: str) -> list[Mutation]:
    """Every mutation of ``kind`` that yields a clean chain with a different final answer."""
    truth = work(t, q)[1]
    last = len(t.steps) - 1
    if kind == "slip":
        money = t.cents and t.steps[-1].out in t.money
        deltas = (1, -1, 10, -10, 11, -11, 2, -2) + ((Fraction(1, 10), Fraction(-1, 10)) if money else ())
        options = [Mutation("slip", delta=Fraction(d)) for d in deltas]
    elif kind == "operation":
        options = [Mutation("operation", step=k, op=op) for k, s in enumerate(t.steps) if s.op != "%"
                   for op in OPS if op != s.op]
    elif kind == "dropped":  # a term of a sum, or a whole step that is not the last
        options = []
        for k, s in enumerate(t.steps):
            if len(s.args) > 2:
                options += [Mutation("dropped", step=k, drop=j) for j in range(len(s.args))]
            elif k < last:
                options.append(Mutation("dropped", step=k))
    elif kind == "misread":
        options = [Mutation("misread", name=n, value=v) for n in q for v in _misreads(t, q, n)]
    else:
        raise ValueError(f"unknown error kind {kind!r}; known: {', '.join(ERRORS)}")
    return [m for m in options if (w := work(t, q, m)) is not None and w[1] != truth]


# --------------------------------------------------------------------------- choice arguments

REASONS = (
    "it takes into account every quantity given in the question and arrives at {answer}",
    "each step of its calculation follows from the question, giving {answer}",
    "it works through the problem step by step and reaches {answer}",
    "its final answer of {answer} is what the question asks for",
)
FLAWS = (
    "does not take this into account and therefore provides an incorrect answer",
    "makes a mistake along the way, so its answer of {answer} is wrong",
    "misreads the question and therefore provides an incorrect answer",
)


def argument(draw: Draw, winner: str, loser: str, winner_answer: str, loser_answer: str) -> str:
    """A choice argument in the seed's style for candidate ``winner`` (``"1"``, ``"2"``, or ``"_"``).

    The same phrasings argue for right and wrong answers alike, so the wording never gives away
    whether the argument is right.
    """
    reason = draw.choice(REASONS).format(answer=winner_answer)
    flaw = draw.choice(FLAWS).format(answer=loser_answer)
    return f"Candidate {winner} provides a more accurate answer because {reason}. Candidate {loser} {flaw}."


# --------------------------------------------------------------------------- the templates


def _int(draw: Draw, lo: int, hi: int) -> Fraction:
    return Fraction(draw.integer(lo, hi))


def _tickets(d: Draw) -> Quantities:
    return {"a": _int(d, 2, 9), "b": _int(d, 2, 9), "m": _int(d, 2, 12), "n": _int(d, 2, 12)}


def _division(d: Draw) -> Quantities:
    b, g = _int(d, 3, 12), _int(d, 2, 10)
    return {"t": b * (g + _int(d, 2, 20)), "b": b, "g": g}


def _rates(d: Draw) -> Quantities:
    r, have, need = _int(d, 2, 12), _int(d, 1, 10), _int(d, 2, 20)
    return {"t": r * (have + need), "s": r * have, "r": r}


def _speed(d: Draw) -> Quantities:
    h, v, k = _int(d, 2, 8), _int(d, 5, 25), _int(d, 2, 12)
    return {"d": v * h, "h": h, "k": k + 1 if k == h else k}


def _money(d: Draw) -> Quantities:
    return {"p": Fraction(d.integer(4, 40) * 25, 100), "q": Fraction(d.integer(1, 16) * 25, 100),
            "m": _int(d, 2, 9), "n": _int(d, 2, 9)}


def _change(d: Draw) -> Quantities:
    n, p = _int(d, 2, 6), Fraction(d.integer(8, 40) * 25, 100)
    return {"n": n, "p": p, "b": Fraction(next(b for b in (10, 20, 50, 100) if b > n * p + 1))}


def _percent(d: Draw) -> Quantities:
    # Prices above $100 keep "dropped" (price minus the rate as dollars) positive and wrong.
    return {"p": _int(d, 6, 15) * 20, "r": _int(d, 1, 12) * 5}


def _farm(d: Draw) -> Quantities:
    a, b, c = _int(d, 2, 9), _int(d, 3, 15), _int(d, 5, 30)
    return {"a": a, "b": b, "c": c, "d": _int(d, 1, int(b * c) - 1)}


TEMPLATES: dict[str, Template] = {t.name: t for t in (
    Template(
        "tickets",
        "Janet needs {a} tickets to ride the roller coaster and {b} tickets to ride the giant slide. "
        "How many tickets does she need to ride the roller coaster {m} times and the giant slide {n} times?",
        "Janet needs {a} tickets to ride the roller coaster and {b} tickets to ride the giant slide.",
        (Step("s1", "*", ("m", "a"), "To ride the roller coaster {m} times, she needs {expr} tickets.", keep=1),
         Step("s2", "*", ("n", "b"), "To ride the giant slide {n} times, she needs {expr} tickets.", keep=1),
         Step("s3", "+", ("s1", "s2"), "Therefore, Janet needs {expr} tickets.")),
        _tickets, unit="tickets"),
    Template(
        "addition",
        "Tom had {a} marbles. He won {b} more marbles on Monday and {c} more on Tuesday. "
        "How many marbles does Tom have now?",
        "Tom started with {a} marbles.",
        (Step("s1", "+", ("a", "b"), "After winning {b} marbles on Monday, he had {expr} marbles."),
         Step("s2", "+", ("s1", "c"), "Therefore, after Tuesday Tom has {expr} marbles.")),
        lambda d: {"a": _int(d, 10, 99), "b": _int(d, 5, 60), "c": _int(d, 5, 60)}, unit="marbles"),
    Template(
        "subtraction",
        "A library had {a} books. It lent out {b} books on Monday and {c} books on Tuesday. "
        "How many books are still in the library?",
        "The library started with {a} books.",
        (Step("s1", "-", ("a", "b"), "After lending {b} books on Monday, it had {expr} books."),
         Step("s2", "-", ("s1", "c"), "Therefore, the library still has {expr} books.")),
        lambda d: {"a": _int(d, 200, 400), "b": _int(d, 10, 90), "c": _int(d, 10, 90)}, unit="books"),
    Template(
        "multiplication",
        "A crate holds {a} boxes, and each box holds {b} pencils. How many pencils are in {c} crates?",
        "Each crate holds {a} boxes of {b} pencils.",
        (Step("s1", "*", ("a", "b"), "So one crate holds {expr} pencils.", keep=1),
         Step("s2", "*", ("c", "s1"), "Therefore, {c} crates hold {expr} pencils.")),
        lambda d: {"a": _int(d, 2, 12), "b": _int(d, 6, 24), "c": _int(d, 2, 9)}, unit="pencils"),
    Template(
        "division",
        "A baker made {t} cookies and packed them into bags of {b}. She gave away {g} bags. "
        "How many bags does she have left?",
        "The baker made {t} cookies and put {b} cookies in each bag.",
        (Step("s1", "/", ("t", "b"), "That makes {expr} bags."),
         Step("s2", "-", ("s1", "g"), "Therefore, after giving away {g} bags she has {expr} bags left.")),
        _division, unit="bags", grain={"t": "b"}),
    Template(
        "rates",
        "A tank holds {t} liters of water and already contains {s} liters. A pump adds {r} liters per minute. "
        "How many minutes will it take to fill the tank?",
        "The tank holds {t} liters and already contains {s} liters.",
        (Step("s1", "-", ("t", "s"), "So {expr} liters are still needed."),
         Step("s2", "/", ("s1", "r"), "Therefore, it takes {expr} minutes at {r} liters per minute.")),
        _rates, unit="minutes", grain={"t": "r", "s": "r"}),
    Template(
        "speed",
        "A cyclist rides {d} miles in {h} hours. At the same speed, how many miles will she ride in {k} hours?",
        "The cyclist rides {d} miles in {h} hours.",
        (Step("s1", "/", ("d", "h"), "Her speed is {expr} miles per hour."),
         Step("s2", "*", ("s1", "k"), "Therefore, in {k} hours she rides {expr} miles.")),
        _speed, unit="miles", grain={"d": "h"}),
    Template(
        "money",
        "A notebook costs {p} and a pen costs {q}. How much do {m} notebooks and {n} pens cost?",
        "One notebook costs {p} and one pen costs {q}.",
        (Step("s1", "*", ("m", "p"), "The {m} notebooks cost {expr}.", keep=1),
         Step("s2", "*", ("n", "q"), "The {n} pens cost {expr}.", keep=1),
         Step("s3", "+", ("s1", "s2"), "Therefore, they cost {expr} in total.")),
        _money, money=frozenset({"p", "q", "s1", "s2", "s3"}), cents=True),
    Template(
        "change",
        "Sam buys {n} sandwiches at {p} each and pays with a {b} bill. How much change does he get?",
        "Each sandwich costs {p}, and Sam pays with a {b} bill.",
        (Step("s1", "*", ("n", "p"), "The {n} sandwiches cost {expr}.", keep=1),
         Step("s2", "-", ("b", "s1"), "Therefore, his change is {expr}.")),
        _change, money=frozenset({"p", "b", "s1", "s2"}), cents=True),
    Template(
        "percent",
        "A jacket costs {p}. It is on sale for {r}% off. What is the sale price?",
        "The jacket costs {p} and the discount is {r}%.",
        (Step("s1", "%", ("r", "p"), "The discount is {expr}."),
         Step("s2", "-", ("p", "s1"), "Therefore, the sale price is {expr}.")),
        _percent,
        money=frozenset({"p", "s1", "s2"}), grain={"p": 20, "r": 5}),
    Template(
        "average",
        "Maya scored {a}, {b} and {c} on three tests. What is her average score?",
        "Maya's three scores are {a}, {b} and {c}.",
        (Step("s1", "+", ("a", "b", "c"), "Together they add up to {expr}."),
         Step("s2", "/", ("s1", 3), "Therefore, her average score is {expr}.")),
        lambda d: {"a": _int(d, 20, 33) * 3, "b": _int(d, 20, 33) * 3, "c": _int(d, 20, 33) * 3},
        grain={"a": 3, "b": 3, "c": 3}),
    Template(
        "farm",
        "A farmer has {a} rows of apple trees with {b} trees in each row. Each tree gives {c} apples. "
        "He sells {d} apples. How many apples does he have left?",
        "The farmer has {a} rows of {b} trees.",
        (Step("s1", "*", ("a", "b"), "That is {expr} trees.", keep=1),
         Step("s2", "*", ("s1", "c"), "They give {expr} apples."),
         Step("s3", "-", ("s2", "d"), "Therefore, after selling {d} apples he has {expr} apples left.")),
        _farm, unit="apples"),
)}
