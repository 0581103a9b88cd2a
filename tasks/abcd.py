"""abcd: reduce an ABCD program step by step, one rewrite per line (after CleverGPT).

The prompt describes the system, shows a worked example, and ends with the program on its own
line. The completion is the trace, one line per rewrite, each ``= `` and the whole new program,
ending with an empty line (the stop string)::

    C A D B C          <- last line of the prompt
    = C D A B C
    = A B C
    = C
                       <- empty line: the trace is over

A program in normal form is answered by one line repeating it; a program with no tokens left is
written ``(empty)``. Any valid order of rewrites is accepted: the oracle checks each line against
the previous one (``oracles.abcd.check_trace``), so ``expected`` is only the leftmost-first trace.

Smallest (the counterexample search's measure): fewer tokens first, then alphabetical.

Held out: program lengths outside the manifest's ``lengths`` range (``--heldout lengths=1-12``).
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from typing import Iterator

from oraclebench.oracles.abcd import (
    EMPTY,
    TOKENS,
    Program,
    check_trace,
    format_program,
    normal_form,
    parse_program,
    step_count,
    successors,
    trace,
)
from oraclebench.oracles.numbers import read_int
from oraclebench.tasks.base import CHAT_PROSE_TOKENS, ChatPrompt, Draw, Request, Response, Score, Split, Stratum, Task, TaskError
from oraclebench.tasks.reading import RECONSIDERED, unmarked

NAME = "abcd"
MAX_LENGTH = 64  # traces grow as length squared; past this the budget is no longer a test of reasoning
STOP = "\n\n"

PROMPT = """\
ABCD is a rewriting system with four tokens: A, B, C and D.

A program is a sequence of tokens separated by spaces, for example:

    C A D B C

A program is computed by rewriting two neighbouring tokens at a time, with these rules:

    A B  becomes  nothing
    A D  becomes  D A
    C B  becomes  B C
    C D  becomes  nothing

Write one rewrite per line: "= " followed by the whole new program. Keep going until no rule
applies; that last line is the result. Write (empty) when no tokens are left. If no rule applies
to the program at all, write it once more. End with an empty line. The example computes as:

C A D B C
= C D A B C
= A B C
= C

Now compute this program step by step:

{program}
"""


# What may stand before a program on a line of prose: bullets, numbering, "Step 3:", "=", arrows; and after it,
# a sentence's end ("= C.").
_LINE_MARKS = re.compile(r"^\s*(?:(?:[-*•>]|\d+[.):]|step\s*\d+\s*[:.)]?|=>|->|→|⇒|=)\s*)*", re.I)
_LINE_END = re.compile(r"[\s.,;:!]+$")
# Steps written on one line, joined by arrows or "=" ("C A D B C → C D A B C → A B C → C").
_CHAINED = re.compile(r"\s*(?:→|->|=>|⇒|⟶|=)\s*")
# The result said in prose after the trace ("The result is C.", "Final: C", "Normal form: (empty)").
_RESULT = re.compile(r"\b(?i:result|answer|normal\s+form|final(?:\s+(?:program|form|answer))?)\b(?:\s+is)?\s*[:=]?\s*"
                     r"(?P<program>(?:(?:A#|#A|B#|#B|[ABCD])\s+)*(?:A#|#A|B#|#B|[ABCD])|\(empty\)|(?i:empty))\W*$")
# A line that takes back what came before ("Wait, actually:", "Let me redo this.", ``reading.RECONSIDERED``): the
# trace is the one written after it, on that line after the words ("Wait, actually: C A D B C → C D A B C → C") or on
# the lines that follow, and starts from the program again.
_RECONSIDERED_LEAD = re.compile(r"[^:\n]*:")  # "Wait, actually:", "Sorry, let me redo it:" before the trace


def _programs_in(raw: str, state: Program, program: Program) -> list[Program]:
    """The programs a line of a lenient answer writes (``read_lenient``), given where the trace stands and the
    program: steps chained from the program once more start the trace again (the program first, so the caller
    sees it)."""
    line = _LINE_END.sub("", _LINE_MARKS.sub("", raw))
    if (whole := _program_or_none(line)) is not None:
        return [whole] if line else []
    pieces = [_program_or_none(piece) for piece in _CHAINED.split(line)]
    if len(pieces) > 1 and None not in pieces and (pieces[0] == state or pieces[0] in successors(state)):
        return [p for p in pieces if p != state]
    if len(pieces) > 1 and None not in pieces and pieces[0] == program:
        return pieces
    said = _RESULT.search(line)
    if said is None:
        return []
    result = () if said.group("program").lower() in (EMPTY, "empty") else parse_program(said.group("program"))
    return [] if result == state else [result]  # the last step said again adds no step


def _program_or_none(text: str) -> Program | None:
    try:
        return parse_program(text)
    except ValueError:
        return None


def _without_echo(lines: list[str], problem: AbcdProblem) -> tuple[str, ...]:
    """The trace lines without a first line that repeats the program, as the prompt's example does."""
    if len(lines) > 1 and lines[0] == format_program(problem.tokens):
        return tuple(lines[1:])
    return tuple(lines)


@dataclass(frozen=True)
class AbcdConfig:
    """Program lengths drawn, in tokens (CleverGPT used 1 to 21)."""

    min_length: int = 1
    max_length: int = 21

    def __post_init__(self) -> None:
        for knob in ("min_length", "max_length"):
            value = getattr(self, knob)
            if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= MAX_LENGTH:
                raise TaskError(f"{NAME}: {knob}={value!r} must be an integer from 1 to {MAX_LENGTH}")
        if self.min_length > self.max_length:
            raise TaskError(
                f"{NAME}: min_length={self.min_length} exceeds max_length={self.max_length}; swap or widen them"
            )


@dataclass(frozen=True)
class AbcdProblem:
    """A program: a tuple of tokens from ``A B C D``."""

    tokens: tuple[str, ...]


def max_completion_chars(length: int) -> int:
    """An upper bound on a correct completion's characters for a program of ``length`` tokens.

    Every rewrite either cancels a right-mover (A, C) with a later left-mover (B, D) or moves one
    past another, and each such pair meets at most once: at most ``length**2 // 4`` lines (the bound
    is reached by ten A's then eleven D's: 110 lines). A line is ``= `` plus at most ``2*length - 1``
    characters (or ``(empty)``) plus a newline; one more newline ends the trace.
    """
    lines = max(1, length * length // 4)
    return lines * max(2 * length + 2, len("= (empty)\n")) + 1  # + the empty line that ends it


def _programs(length: int) -> Iterator[AbcdProblem]:
    """Every program of ``length`` tokens, alphabetically."""
    return (AbcdProblem(tokens) for tokens in itertools.product(sorted(TOKENS), repeat=length))


class AbcdTask(Task[AbcdProblem]):
    """Reduce a program of A B C D tokens to normal form, writing every rewrite."""

    name = NAME
    version = "v1"
    Config = AbcdConfig
    Problem = AbcdProblem
    size_fields = ("length", "program")

    typed_example = "C A D B C"
    knobs = ("length",)
    report_view = "trace"

    def trained_on(self, knob: str, manifest: dict):
        """Program lengths ``lengths: [lo, hi]``."""
        if knob == "length" and manifest.get("lengths"):
            lo, hi = manifest["lengths"]
            return (lambda x: lo <= int(x) <= hi), f"lengths {lo}-{hi}"
        return None, ""

    def read_input(self, text: str) -> AbcdProblem:
        """``oraclebench try abcd "C A D B C"``: a program, tokens separated by spaces."""
        try:
            return AbcdProblem(parse_program(text))
        except TaskError:
            raise
        except ValueError as exc:
            raise TaskError(f"abcd: {str(exc).splitlines()[0]}") from None

    def field_view(self, score: Score) -> list[list[tuple[str, bool | None]]]:
        """The oracle's trace beside the model's, line by line (right up to the first bad line), then the fields."""
        answer = list(score.answer or ())
        bad = score.detail.get("first_bad_line")
        lines: list[list[tuple[str, bool | None]]] = [[("  oracle (leftmost first)      | model", None)]]
        for i in range(max(len(score.expected), len(answer))):
            want = score.expected[i] if i < len(score.expected) else ""
            got = answer[i] if i < len(answer) else ""
            lines.append([(f"  {want:28s} | ", None)] + ([(got, bad is None or i < bad)] if got else []))
        last: list[tuple[str, bool | None]] = [("  ", None)]
        for n, (k, ok) in enumerate(score.fields.items()):
            last += [("  " if n else "", None), (f"{k}: ", None), ("right" if ok else "wrong", ok)]
        lines.append(last)
        return lines

    # ---- problems ---------------------------------------------------------------------------------
    def generate(self, draw: Draw, config: AbcdConfig) -> AbcdProblem:
        length = draw.integer(config.min_length, config.max_length)
        return AbcdProblem(tuple(draw.choice(TOKENS) for _ in range(length)))

    def solve(self, problem: AbcdProblem) -> tuple[str, ...]:
        """The leftmost-first trace as written lines, without the program (one line if already normal)."""
        lines = trace(problem.tokens)
        return tuple(format_program(line) for line in (lines[1:] or lines))

    # ---- text -------------------------------------------------------------------------------------
    def render(self, problem: AbcdProblem) -> Request:
        # Every reduction order takes the same number of rewrites (step_count), so this bounds any
        # correct trace of THIS program; a worst case for the length would let a babbling model
        # decode thousands of tokens per instance.
        n = len(problem.tokens)
        budget = max(1, step_count(problem.tokens)) * max(2 * n + 2, len("= (empty)\n")) + 1 + 32
        return Request(PROMPT.format(program=format_program(problem.tokens)), stop=(STOP,), max_tokens=budget)

    def chat(self, problem: AbcdProblem) -> ChatPrompt:
        """The same prompt (it explains the rules and shows an example) and the trace format in one sentence."""
        req = self.render(problem)
        return ChatPrompt("Answer with the trace only: one line per rewrite, each '= ' followed by the whole new "
                          "program, and no other text.", req.prompt, req.max_tokens + CHAT_PROSE_TOKENS)

    def render_answer(self, problem: AbcdProblem, answer: tuple[str, ...]) -> str:
        return "".join(f"= {line}\n" for line in answer) + "\n"

    def parse(self, text: str, problem: AbcdProblem) -> tuple[str, ...] | None:
        """The trace lines, each normalised to single spaces and A B C D spelling.

        Tolerates blank lines before the trace, missing or doubled ``=`` marks, a trailing ``=``
        (CleverGPT's style), extra spaces and ``\\r``, and the program repeated first, as the
        prompt's own example writes it (no rewrite gives the program back, so that line is never a
        step). The trace ends at the first blank line after it; text after that (a chat answer's: "the
        trace only ... and no other text") is kept as one more line. A line that is not a program is
        kept as written, for ``check_trace`` to call garbage.
        """
        lines: list[str] = []
        raws = text.splitlines()
        for k, raw in enumerate(raws):
            line = re.sub(r"^[=\s]*|[=\s]*$", "", raw)
            if not line:
                if lines:  # the trace is over; what a chat answer writes after it is no step of it, but kept
                    after = next((r.strip() for r in raws[k:] if r.strip()), None)  # (the completion form's
                    lines += [after] if after is not None else []  # stop string cut it off already)
                    break
                continue
            try:
                lines.append(format_program(parse_program(line)))
            except ValueError:
                lines.append(line)
        return _without_echo(lines, problem) or None

    def read_lenient(self, text: str, problem: AbcdProblem) -> tuple[tuple[str, ...] | None, bool]:
        """The trace among prose; right iff ``check_trace`` accepts it.

        Read: every line that holds a program (after markup, bullets, ``Step 3:`` or arrows, before a
        full stop), steps chained on one line from the program or the last step (``C A D B C → C D A
        B C → A B C``), and the result said in prose (``The result is C.``, a restatement of the last
        step adds nothing); other lines are skipped. A trace started again (after ``Wait, actually:``
        or from the program once more) replaces the one before.

        >>> TASK.read_lenient("= C D A B C\\n= A B C\\nThe result is C.", AbcdProblem(tuple("CADBC")))
        (('C D A B C', 'A B C', 'C'), True)
        """
        lines: list[Program] = []
        redo = False
        for raw in unmarked(text).splitlines():
            state = problem.tokens if redo or not lines else lines[-1]  # a trace started again: from the program
            found = _programs_in(raw, state, problem.tokens)
            if not found and (taken_back := RECONSIDERED.search(raw)):
                redo = True
                rest = raw[taken_back.end():]  # the trace written on the same line, after the words
                lead = _RECONSIDERED_LEAD.match(rest)
                found = _programs_in(rest[lead.end():] if lead else rest, problem.tokens, problem.tokens)
            if not found:
                continue
            if lines and found == [lines[-1]] and _program_or_none(_LINE_END.sub("", _LINE_MARKS.sub("", raw))) is None:
                # the result said again in words ("Hmm, so the normal form is C."), no step (a line repeated is one,
                # and a wrong one): it restarted the trace from that line, and a right trace read wrong (a review)
                redo = False
                continue
            if redo or (lines and found[0] == problem.tokens):  # no rewrite leads back to the program
                lines, redo = [], False
            lines += found
        answer = _without_echo([format_program(line) for line in lines], problem)
        return answer or None, bool(answer) and check_trace(problem.tokens, answer).ok

    def score(self, problem: AbcdProblem, response: Response) -> Score:
        expected = self.solve(problem)
        if response.error is not None:
            return Score(False, None, expected, reason=f"error: {response.error}")
        answer = self.parse(response.text, problem)
        if answer is None:
            return Score(False, None, expected, reason="no trace lines found",
                         fields={"final": False, "trace": False}, detail={"first_bad_line": None})
        verdict = check_trace(problem.tokens, answer)
        steps_valid = verdict.ok or verdict.reason == "stopped early"
        reason = ""
        if not verdict.ok:  # bad_line is always set here; an empty answer was caught above
            reason = f"trace line {verdict.bad_line} {answer[verdict.bad_line]!r}: {verdict.reason}"
        return Score(
            verdict.ok,
            answer,
            expected,
            reason=reason,
            fields={"final": verdict.final_ok, "trace": steps_valid},
            detail={
                "first_bad_line": verdict.bad_line,
                "why": verdict.reason,
                "lines": len(answer),
                "normal_form": format_program(normal_form(problem.tokens)),
            },
        )

    # ---- the search's measure ------------------------------------------------------------------
    def size(self, problem: AbcdProblem) -> tuple[int, str]:
        """Program length then letters: fewer tokens first, then alphabetical (``B A`` < ``C A`` < ``A A A``)."""
        return (len(problem.tokens), format_program(problem.tokens))

    def strata(self, config: AbcdConfig, like: AbcdProblem | None = None) -> list[Stratum]:
        """One per length, shortest first, each listing all 4**n programs alphabetically (length 6: 4,096)."""
        return [Stratum(f"len{n:02d}", AbcdConfig(n, n), lambda n=n: _programs(n), complete=True, count=len(TOKENS) ** n)
                for n in range(config.min_length, config.max_length + 1)]

    # ---- reporting --------------------------------------------------------------------------------
    def bucket(self, problem: AbcdProblem) -> dict:
        return {"length": len(problem.tokens), "steps": step_count(problem.tokens)}

    def label(self, problem: AbcdProblem) -> str:
        return f"len{len(problem.tokens):02d}"

    # ---- held-out splits ---------------------------------------------------------------------------
    def split(self, problem: AbcdProblem, manifest: dict | None) -> Split:
        if manifest is None:
            return "unknown"
        # The range training draws from (``train_config``): without ``lengths``, the default config's, so a
        # longer program is outside it (it was called inside).
        lo, hi = manifest.get("lengths") or (AbcdConfig.min_length, AbcdConfig.max_length)
        return "seen" if lo <= len(problem.tokens) <= hi else "heldout"

    def manifest_from_spec(self, spec: str) -> dict:
        """``"lengths=1-12"`` or ``"1-12"`` (or one length, ``"7"``) -> ``{"lengths": [1, 12]}``."""
        match = re.fullmatch(r"\s*(?:lengths\s*=\s*)?(\d+)\s*(?:-\s*(\d+)\s*)?", spec)
        if not match:
            raise TaskError(f"{NAME}: bad held-out spec {spec!r}; write lengths=LO-HI, for example lengths=1-12")
        lo = read_int(match.group(1), 4)  # a length of 5+ digits is out of range whatever its value
        hi = read_int(match.group(2), 4) if match.group(2) else lo
        if not (isinstance(lo, int) and isinstance(hi, int) and 1 <= lo <= hi <= MAX_LENGTH):
            raise TaskError(f"{NAME}: bad length range {spec.strip()[:40]!r}; need 1 <= LO <= HI <= {MAX_LENGTH}, "
                            "e.g. lengths=1-12")
        return {"lengths": [lo, hi]}

    def train_config(self, manifest: dict | None) -> AbcdConfig:
        if not manifest or manifest.get("lengths") is None:
            return AbcdConfig()
        lo, hi = manifest["lengths"]
        return AbcdConfig(min_length=lo, max_length=hi)

    def frozen_configs(self) -> list[tuple[AbcdConfig, int]]:
        """Lengths 1 to 21, 48 distinct programs each (all 4 of length 1, all 16 of length 2): 932."""
        return [(AbcdConfig(n, n), min(48, 4**n)) for n in range(1, 22)]


TASK = AbcdTask()
