"""Multiplication of two integers of given digit counts, plain or with a worked long multiplication.

Prompt and completion (the sign is ×, U+00D7)::

    Q: What is 7 × 8? A:                     ->  " 56\\n"                    (stop "\\n")
    Q: What is 47 × 23? Show your work. A:   ->  "\\n47 × 3 = 141 (carries 1,2)\\n47 × 20 = 940 (carries 0,1)
                                                  \\n141 + 940 = 1081\\n= 1081\\n\\n"   (stop "\\n\\n")

The worked format is ``oracles.multiply``'s scratchpad; a blank line ends it. An operand with d
digits lies in [10^(d-1), 10^d - 1], so 1-digit operands are 1..9 (no zero: the seed's "1-digit"
questions are 7 × 8 and alike, and 0 × n is a different, trivial skill).

Parsing is strict about content: " 56", "56.", "1,081", "+56" read as numbers; "560" reads 560 and
"-56" reads -56, both scored wrong (a definite answer, not NOANSWER); "5 6", "56 or 57", "- 56",
"fifty-six" and "10,81" are NOANSWER (None). A worked answer is
read from its final ``= N`` line only, which must be the last line of the work.

Smallest (the counterexample search's measure): fewest digits in all, then the smaller a, then
the smaller b, so 1 × 7 < 7 × 1 < 1 × 10 < 10 × 1.

Manifest: ``{"max_digits": [2, 2], "omitted_pairs": [[12, 34], [7, 8]]}`` (both keys optional).
An instance is heldout iff its a has more digits than ``max_digits[0]``, its b more than
``max_digits[1]``, or (a, b) or (b, a) is an omitted pair. Spec text: ``digits=2x2;omit=12x34,7x8``.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from dataclasses import dataclass
from typing import Iterator

from oraclebench.oracles.multiply import TIMES, check_scratchpad, product, read_final, render_scratchpad, scratchpad, work_lines
from oraclebench.oracles.numbers import digit_bound, is_number, read_int
from oraclebench.tasks.base import CHAT_PROSE_TOKENS, ChatPrompt, Draw, Request, Response, Score, Split, Stratum, Task, TaskError
from oraclebench.tasks.reading import GOES_ON, final_number

NAME = "multiplication"
MAX_DIGITS = 9
Pair = tuple[int, int]


@dataclass(frozen=True)
class Problem:
    a: int
    b: int
    scratchpad: bool = False


def _digit_range(name: str, value) -> tuple[int, int]:
    ok = (
        isinstance(value, (tuple, list))
        and len(value) == 2
        and all(isinstance(v, int) and not isinstance(v, bool) for v in value)
        and 1 <= value[0] <= value[1] <= MAX_DIGITS
    )
    if not ok:
        raise TaskError(f"{NAME}: {name}={value!r} must be a (lo, hi) pair of digit counts with 1 <= lo <= hi <= {MAX_DIGITS}")
    return (value[0], value[1])


def _pair(value) -> Pair:
    ok = (
        isinstance(value, (tuple, list))
        and len(value) == 2
        and all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in value)
    )
    if not ok:
        raise TaskError(f"{NAME}: omitted pair {value!r} must be two non-negative ints, like (12, 34)")
    return (value[0], value[1])


def _band(digits: int) -> range:
    """The operands with exactly ``digits`` digits."""
    return range(10 ** (digits - 1), 10**digits)


@dataclass(frozen=True)
class Config:
    """``a_digits``/``b_digits``: (lo, hi) digit counts of each operand; ``scratchpad``: ask for the
    worked answer; ``omitted_pairs``: operand pairs never generated, in either order."""

    a_digits: tuple[int, int] = (1, 5)
    b_digits: tuple[int, int] = (1, 5)
    scratchpad: bool = False
    omitted_pairs: tuple[Pair, ...] = ()

    def __post_init__(self):
        # Lists are accepted (JSON, CLI) and frozen to tuples so the config stays hashable.
        object.__setattr__(self, "a_digits", _digit_range("a_digits", self.a_digits))
        object.__setattr__(self, "b_digits", _digit_range("b_digits", self.b_digits))
        if not isinstance(self.scratchpad, bool):
            raise TaskError(f"{NAME}: scratchpad={self.scratchpad!r} must be True or False")
        if isinstance(self.omitted_pairs, (str, bytes)) or not hasattr(self.omitted_pairs, "__iter__"):
            raise TaskError(f"{NAME}: omitted_pairs={self.omitted_pairs!r} must be a list of (a, b) pairs")
        object.__setattr__(self, "omitted_pairs", tuple(_pair(v) for v in self.omitted_pairs))
        # Both orders, as a set: generation tests membership for every candidate pair.
        object.__setattr__(self, "_omitted", frozenset(self.omitted_pairs) | {(y, x) for x, y in self.omitted_pairs})
        if self._all_omitted():
            raise TaskError(
                f"{NAME}: omitted_pairs leave no problem with these digit counts; omit fewer pairs or widen a_digits/b_digits"
            )

    def omits(self, a: int, b: int) -> bool:
        """Whether (a, b) or (b, a) is an omitted pair."""
        return (a, b) in self._omitted

    def _in_space(self, a: int, b: int) -> bool:
        return self.a_digits[0] <= len(str(a)) <= self.a_digits[1] and self.b_digits[0] <= len(str(b)) <= self.b_digits[1]

    def _all_omitted(self) -> bool:
        (alo, ahi), (blo, bhi) = self.a_digits, self.b_digits
        size = sum(len(_band(d)) for d in range(alo, ahi + 1)) * sum(len(_band(d)) for d in range(blo, bhi + 1))
        hit = {(a, b) for a, b in self._omitted if a > 0 and b > 0 and self._in_space(a, b)}
        return len(hit) >= size


def _cycle(band: range, start: int, limit: int):
    """Up to ``limit`` values of ``band`` from ``start`` on, wrapping around."""
    for k in range(min(limit, len(band))):
        yield band[(start - band.start + k) % len(band)]


def _avoid_omitted(a: int, b: int, a_band: range, b_band: range, config: Config) -> Pair | None:
    """The first pair not omitted, walking b then a upwards within their digit bands.

    Deterministic instead of redrawing, so Hypothesis's shrinking stays simple. Each walk needs at
    most 2 * len(omitted_pairs) + 1 steps: an omitted pair blocks at most two pairs in all.
    """
    limit = 2 * len(config.omitted_pairs) + 1
    for x in _cycle(a_band, a, limit):
        for y in _cycle(b_band, b, limit):
            if not config.omits(x, y):
                return x, y
    return None


def _axb(text: str, what: str, example: str) -> Pair:
    """``"12x34"`` -> ``(12, 34)``; anything else is a TaskError showing ``example``."""
    m = re.fullmatch(r"\s*(\d+)\s*x\s*(\d+)\s*", text)
    pair = (read_int(m.group(1), MAX_DIGITS), read_int(m.group(2), MAX_DIGITS)) if m else ()
    if not all(isinstance(v, int) for v in pair) or not pair:
        raise TaskError(f"{NAME}: bad {what} {text[:40]!r} in --heldout spec (numbers of 1 to {MAX_DIGITS} digits); "
                        f"write it like {example}")
    return pair


def _manifest_pairs(manifest: dict) -> set[Pair]:
    return {(int(x), int(y)) for x, y in manifest.get("omitted_pairs", ())}


# Plain answers: an optional sign, ASCII digits with or without well-formed thousands separators, an optional
# trailing period. A signed number is an answer: "-56" is scored wrong, "+56" is 56. Other scripts' digits
# ("５６") are the lenient reading's (``reading.unmarked``), as in every task.
_NUMBER = re.compile(r"^([-+]?(?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+))\.?$")


# ``7 × 8 =`` (or ``8 x 7 =``, ``7*8=``, ``7 times 8 =``) before a number that ends the equation. Operands are whole
# numbers with optional thousands separators; after ``unmarked``, \times and \cdot are × already.
_OPERAND = r"(?<![\d.,])([0-9]{1,3}(?:,?[0-9]{3})*)(?![0-9])"
# The number after ``=`` taken whole (atomic: "2.5 × 40" must not end at "2"; a trailing comma is no part of
# it: "= 56, 56 / 8 = 7"), and no calculation going on after it.
ENDS = rf"(?=(?>-?(?:\d{{1,3}}(?:,\d{{3}})+|\d+)(?:\.\d+)?)(?!{GOES_ON}))"
# "7 × 8 = 56", "(7 × 8) = 56", "7 × 8 equals 56", "7 × 8 is 56", "7 × 8 → 56", "7 × 8 gives 56". A bracket after an
# operator is a term of a larger product ("2 × (47 × 23) = 2162"), and a closing bracket counts only after an opening
# one. A correction after it ("47 × 23 is 1071... no wait, 1081") is read by ``final_number`` as after any cue.
OPEN = r"(?:(?<![×*·+\-−/^\d])(?<![×*·+\-−/^\d]\s)(?P<open>\(\s*))?"
EQUALS = r"(?(open)\s*\))\s*(?:=|equals\b|is(?:\s+equal\s+to)?\b|gives\b|→|->)\s*"
_EQUATION = re.compile(rf"{OPEN}{_OPERAND}\s*(?:[×xX*·]|times)\s*{_OPERAND}{EQUALS}{ENDS}", re.I)


@dataclass(frozen=True)
class _Equation:
    """The problem's own product written out, as a cue of ``final_number``: ``7 × 8 =`` (either order) followed
    by a number that ends the equation, whatever checks come after it ("7 × 8 = 56. Check: 56 / 8 = 7."). A
    chain that goes on ("7 × 8 = 5 × 8 + 2 × 8 = 40 + 16 = 56") is no such cue: its last number is read.

    One pattern for every problem, its operands compared after the match: a pattern per problem was
    compiled for every answer read (2,000 answers: 1 s of a 7 s benchmark run)."""

    operands: tuple[str, str]  # the problem's two operands, in digits, sorted

    @classmethod
    def of(cls, problem: Problem) -> _Equation:
        return cls(tuple(sorted((str(problem.a), str(problem.b)))))

    def finditer(self, text: str) -> Iterator[re.Match]:
        return (m for m in _EQUATION.finditer(text)
                if tuple(sorted(m.group(i).replace(",", "") for i in (2, 3))) == self.operands)


# The product restated as where it comes from or checked back ("1081 = 47 × 23", "1081 / 23 = 47", "1081 ÷ 47 = 23"):
# a zero-width match right before the product, so ``final_number`` reads the number that follows.
_PRODUCT = r"-?(?:\d{1,3}(?:,\d{3})+|\d+)"
_RESTATED = re.compile(rf"(?<![\d.,×xX*·/÷=+\-−^])(?=(?:{_PRODUCT})\s*(?:=\s*{_OPERAND}\s*(?:[×xX*·]|times)\s*{_OPERAND}"
                       rf"|[/÷]\s*{_OPERAND}\s*=\s*{_OPERAND})(?!\.?\d|\s*[×xX*·+\-−/^]))", re.I)


@dataclass(frozen=True)
class _Restated(_Equation):
    """The problem's product stated, then written as the problem's own equation or checked by dividing it by
    one operand to give the other: ``1081 = 47 × 23``, ``1081 / 23 = 47``. A cue of ``final_number`` after
    ``_Equation``: "1081. Check: 1081 / 23 = 47." answers 1081, not 47."""

    def finditer(self, text: str) -> Iterator[re.Match]:
        return (m for m in _RESTATED.finditer(text)
                if tuple(sorted(g.replace(",", "") for g in m.groups() if g is not None)) == self.operands)


class MultiplicationTask(Task[Problem]):
    """a × b with exact answers, per-digit fields, and optional long-multiplication working."""

    name = NAME
    version = "v1"
    Config = Config
    Problem = Problem
    size_fields = ("digits", "a", "b")

    typed_example = "47x23"
    knobs = ("a_digits", "b_digits")
    knob_grid = ("a_digits", "b_digits")
    report_view = "digits"

    def trained_on(self, knob: str, manifest: dict):
        """Digit counts up to ``max_digits: [a, b]``; the predicate takes an ``(a_digits, b_digits)`` pair."""
        if manifest.get("max_digits"):
            a, b = manifest["max_digits"]
            extra = f", {len(manifest.get('omitted_pairs') or [])} pairs omitted" if manifest.get("omitted_pairs") else ""
            return (lambda x: int(x[0]) <= a and int(x[1]) <= b), f"up to {a}x{b} digits{extra}"
        return None, ""

    def read_input(self, text: str) -> Problem:
        """``oraclebench try multiplication 47x23`` (or ``47*23``, ``47 × 23``): two operands of 1 to 9 digits."""
        match = re.fullmatch(r"\s*(\d+)\s*[xX*×]\s*(\d+)\s*", text)
        if not match:
            raise TaskError(f"multiplication: {text[:40]!r} is not a product; write it like 47x23 (or 47*23, '47 × 23')")
        a, b = read_int(match.group(1), MAX_DIGITS), read_int(match.group(2), MAX_DIGITS)
        if not (isinstance(a, int) and isinstance(b, int)):
            raise TaskError(f"multiplication: operands have 1 to {MAX_DIGITS} digits; write it like 47x23")
        return Problem(a, b)

    def field_rows(self, expected, answer, fields) -> list[dict]:
        """Digit by digit from the units up (``d0`` is the units digit), then the other fields."""
        digits = sorted((k for k in fields or {} if re.fullmatch(r"d\d+", k)), key=lambda k: int(k[1:]))
        if not digits or not isinstance(expected, int):
            return super().field_rows(expected, answer, fields)
        want, have = str(expected), "" if answer is None else str(answer)
        return [{"name": k, "expected": want[-1 - i], "answer": have[-1 - i] if i < len(have) else "-",
                 "ok": bool(fields[k])} for i, k in enumerate(digits)]

    def field_view(self, score: Score) -> list[list[tuple[str, bool | None]]]:
        """The oracle's product over the model's, digits aligned from the units, then which digits are wrong."""
        want = str(score.expected)
        got = "" if score.answer is None else str(score.answer)
        wrong = [k for k, ok in score.fields.items() if not ok]
        # one mark per digit, in colour only (``[ok]`` after each digit would break the number up)
        digits: list[tuple] = [(c, score.fields.get(f"d{len(got) - 1 - i}", False), "colour")
                               for i, c in enumerate(got)]
        pad = " " * max(0, 12 - len(got or "(no answer)"))
        return [[(f"  oracle {want:>12s}", None)],
                [("  model  " + pad, None), *(digits or [("(no answer)", None)])],
                [("  fields ", None), ("all digits right", True) if not wrong else ("wrong: " + ", ".join(wrong), False)]]

    def generate(self, draw: Draw, config: Config) -> Problem:
        da = draw.integer(*config.a_digits)
        db = draw.integer(*config.b_digits)
        a_band, b_band = _band(da), _band(db)
        a = draw.integer(a_band.start, a_band.stop - 1)
        b = draw.integer(b_band.start, b_band.stop - 1)
        if config.omitted_pairs:
            found = _avoid_omitted(a, b, a_band, b_band, config)
            if found is None:  # only when every pair of these two bands is omitted: try the others
                found = next(
                    (p for x in range(config.a_digits[0], config.a_digits[1] + 1)
                     for y in range(config.b_digits[0], config.b_digits[1] + 1)
                     if (p := _avoid_omitted(_band(x).start, _band(y).start, _band(x), _band(y), config))),
                    None,
                )
            if found is None:
                raise TaskError(f"{NAME}: omitted_pairs leave no problem to generate; omit fewer pairs")
            a, b = found
        return Problem(a, b, config.scratchpad)

    def solve(self, problem: Problem) -> int:
        return product(problem.a, problem.b)

    # ---- text ---------------------------------------------------------------------------------
    def render(self, problem: Problem) -> Request:
        question = f"Q: What is {problem.a} {TIMES} {problem.b}?"
        # Budget in UTF-8 bytes of the longest answer for these digit counts: a byte-level BPE never
        # needs more tokens than bytes, and a character-level model needs fewer.
        widest = Problem(10 ** len(str(problem.a)) - 1, 10 ** len(str(problem.b)) - 1, problem.scratchpad)
        budget = len(self.render_answer(widest, self.solve(widest)).encode()) + 16
        if problem.scratchpad:
            return Request(f"{question} Show your work. A:", stop=("\n\n",), max_tokens=budget)
        return Request(f"{question} A:", stop=("\n",), max_tokens=budget)

    def chat(self, problem: Problem) -> ChatPrompt:
        """``What is 7 × 8?``, asking for the bare product (worked: the steps, then ``= N`` last)."""
        budget = self.render(problem).max_tokens + CHAT_PROSE_TOKENS
        if problem.scratchpad:
            return ChatPrompt("Work the product out by long multiplication, one step per line, and write the "
                              "product alone on the last line as '= N'.",
                              f"What is {problem.a} {TIMES} {problem.b}? Show your work.", budget)
        return ChatPrompt("Answer with the product alone, in digits, and nothing else (for example: 56).",
                          f"What is {problem.a} {TIMES} {problem.b}?", budget)

    def render_answer(self, problem: Problem, answer: int) -> str:
        """``" 56\\n"``; worked: a newline, the scratchpad lines with ``= answer`` last, and a blank line."""
        if not problem.scratchpad:
            return f" {answer}\n"
        lines = render_scratchpad(scratchpad(problem.a, problem.b)).split("\n")
        lines[-1] = f"= {answer}"
        return "\n" + "\n".join(lines) + "\n\n"

    def parse(self, text: str, problem: Problem) -> int | None:
        """The answer as an int, or None (NOANSWER). Plain: the whole text, a number alone; worked: the final
        ``= N`` line."""
        bound = digit_bound(len(str(problem.a)) + len(str(problem.b)))  # a far longer number is TooLong
        if problem.scratchpad:
            lines = work_lines(text)
            return read_final(lines[-1], bound) if lines else None
        # The answer is the whole text: the completion form was cut at its stop string "\n" already, and the chat
        # form asks for "the product alone ... and nothing else" ("1081\n\nWait, actually, it is 1071." is no
        # product alone: read first line only, the answer it withdrew was scored right).
        m = _NUMBER.match(text.strip())
        return read_int(m.group(1), bound) if m else None

    def read_lenient(self, text: str, problem: Problem) -> tuple[int | float | None, bool]:
        """The final number of a prose answer ("The answer is 56.", "**56**", "\\boxed{56}", "56.0",
        "7 × 8 = 56"): ``tasks.reading.final_number``; right iff it equals the product."""
        answer = final_number(text, cues=(_Equation.of(problem), _Restated.of(problem)))
        return answer, answer is not None and answer == self.solve(problem)

    # ---- scoring ------------------------------------------------------------------------------
    def score(self, problem: Problem, response: Response) -> Score:
        expected = self.solve(problem)
        if response.error:
            return Score(False, None, expected, reason=f"error: {response.error}")
        answer = self.parse(response.text, problem)
        fields = digit_fields(answer, expected)
        detail: dict = {}
        steps_why = ""
        if problem.scratchpad:
            ok, bad_line, why = check_scratchpad(problem.a, problem.b, response.text)
            fields["steps"] = ok
            detail = {"first_bad_line": bad_line, "steps_reason": why}
            steps_why = "" if ok else f"; first bad step: {why}"
        if answer is None:
            form = "a final line '= N'" if problem.scratchpad else "a number like ' 56'"
            reason = f"no answer: expected {form}, got {response.text[:60]!r}{steps_why}"
            return Score(False, None, expected, reason, fields, detail)
        if answer != expected:
            return Score(False, answer, expected, f"wrong product: expected {expected}, got {answer}{steps_why}", fields, detail)
        return Score(True, answer, expected, "", fields, detail)

    # ---- sets and splits ----------------------------------------------------------------------
    def bucket(self, problem: Problem) -> dict:
        da, db = len(str(problem.a)), len(str(problem.b))
        return {"a_digits": da, "b_digits": db, "digits": f"{da}x{db}", "scratchpad": problem.scratchpad}

    def label(self, problem: Problem) -> str:
        digits = f"{len(str(problem.a))}x{len(str(problem.b))}"
        return f"{digits}_work" if problem.scratchpad else digits

    def identity(self, problem: Problem) -> str:
        # A worked and a plain question about the same product are one question for contamination.
        return f"{problem.a}x{problem.b}"

    def split(self, problem: Problem, manifest: dict | None) -> Split:
        if manifest is None:
            return "unknown"
        # The range training draws from (``train_config``): without ``max_digits``, 1 to 5 digits, so a 6-digit
        # operand is outside it (it was called inside: "seen", "unseen" against the training data).
        max_a, max_b = manifest.get("max_digits", (Config.a_digits[1], Config.b_digits[1]))
        if len(str(problem.a)) > max_a or len(str(problem.b)) > max_b:
            return "heldout"
        pairs = _manifest_pairs(manifest)
        if (problem.a, problem.b) in pairs or (problem.b, problem.a) in pairs:
            return "heldout"
        return "seen"

    # ---- the search's measure ----------------------------------------------------------------
    def size(self, problem: Problem) -> tuple[int, int, int]:
        """Digits then value: the fewest digits in all (1 × 7 before 1 × 10), then the smaller a, then b."""
        return (len(str(problem.a)) + len(str(problem.b)), problem.a, problem.b)

    def strata(self, config: Config, like: Problem | None = None) -> list[Stratum]:
        """One per digit pair, by total digits then a's digits (1x1, 1x2, 2x1, 1x3, 2x2, ...), each
        listing every pair not omitted, a then b ascending (1x1 is 81 problems, 1x2 810)."""
        pairs = sorted(((da, db) for da in range(config.a_digits[0], config.a_digits[1] + 1)
                        for db in range(config.b_digits[0], config.b_digits[1] + 1)), key=lambda d: (sum(d), d[0]))
        out = []
        for da, db in pairs:
            try:
                band = dataclasses.replace(config, a_digits=(da, da), b_digits=(db, db))
            except TaskError:  # every pair of these digit counts is omitted: nothing to screen
                continue
            out.append(Stratum(f"{da}x{db}", band, functools.partial(_band_problems, band), complete=True,
                               count=_band_count(band)))
        return out

    def coverage_bucket(self, problem: Problem) -> str:
        """The digit pair (``2x2``), worked or not: ``identity`` counts a worked and a plain product as one."""
        return f"{len(str(problem.a))}x{len(str(problem.b))}"

    def stratum(self, label: str, bucket: dict) -> str:
        return label.removesuffix("_work")  # "2x2_work" is the stratum 2x2, as coverage_bucket says

    def frozen_configs(self) -> list[tuple[Config, int]]:
        """All 25 digit pairs 1..5 × 1..5, 40 distinct plain problems each: 1,000 instances."""
        return [(Config(a_digits=(da, da), b_digits=(db, db)), 40) for da in range(1, 6) for db in range(1, 6)]

    def train_config(self, manifest: dict | None) -> Config:
        """Digits up to ``max_digits`` (default: the full 1..5 range), omitted pairs excluded; plain format
        (``dataclasses.replace(config, scratchpad=True)`` for worked answers)."""
        manifest = manifest or {}
        max_a, max_b = manifest.get("max_digits", (Config.a_digits[1], Config.b_digits[1]))
        return Config(a_digits=(1, max_a), b_digits=(1, max_b), omitted_pairs=tuple(sorted(_manifest_pairs(manifest))))

    def manifest_from_spec(self, spec: str) -> dict:
        """``"digits=2x2;omit=12x34,7x8"`` -> ``{"max_digits": [2, 2], "omitted_pairs": [[12, 34], [7, 8]]}``."""
        manifest: dict = {}
        parts = [part.strip() for part in spec.split(";") if part.strip()]
        if not parts:
            raise TaskError(f"{NAME}: empty --heldout spec; write e.g. digits=2x2 or omit=12x34,7x8")
        for part in parts:
            key, sep, value = (s.strip() for s in part.partition("="))
            if not sep or key not in ("digits", "omit"):
                raise TaskError(f"{NAME}: bad --heldout part {part!r}; known: digits=AxB, omit=AxB,CxD (separated by ';')")
            field = "max_digits" if key == "digits" else "omitted_pairs"
            if field in manifest:
                raise TaskError(f"{NAME}: {key}= given twice in --heldout spec {spec!r}; give it once")
            if key == "digits":
                da, db = _axb(value, "digit counts", "digits=2x2")
                if not (1 <= da <= MAX_DIGITS and 1 <= db <= MAX_DIGITS):
                    raise TaskError(f"{NAME}: digits={value} out of range; each count must be 1..{MAX_DIGITS}")
                manifest[field] = [da, db]
            else:
                manifest[field] = [list(_axb(pair, "operand pair", "omit=12x34,7x8")) for pair in value.split(",")]
        return manifest


def _band_count(config: Config) -> int:
    """How many problems ``_band_problems`` lists: the band's pairs less the omitted ones inside it."""
    a_band, b_band = _band(config.a_digits[0]), _band(config.b_digits[0])
    omitted = {(x, y) for x, y in config._omitted if x in a_band and y in b_band}
    return len(a_band) * len(b_band) - len(omitted)


def _band_problems(config: Config) -> Iterator[Problem]:
    """Every problem of a config with one digit count per operand, a then b ascending."""
    for a in _band(config.a_digits[0]):
        for b in _band(config.b_digits[0]):
            if not config.omits(a, b):
                yield Problem(a, b, config.scratchpad)


def digit_fields(answer: int | None, expected: int) -> dict[str, bool]:
    """Per-digit correctness from the units up (``d0``, ``d1``, ...) over the expected digits, and ``length``.

    A missing digit is wrong; NOANSWER makes every field wrong.

    >>> digit_fields(1071, 1081)
    {'d0': True, 'd1': False, 'd2': True, 'd3': True, 'length': True}
    """
    want = str(expected)
    got = str(answer) if is_number(answer) else ""  # NOANSWER, or a TooLong number: no digit is right
    fields = {f"d{i}": i < len(got) and got[-1 - i] == want[-1 - i] for i in range(len(want))}
    fields["length"] = bool(got) and len(got) == len(want)
    return fields


TASK = MultiplicationTask()
