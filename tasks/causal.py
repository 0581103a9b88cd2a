"""causal: predict a boolean world's new state and sums from its inputs (the-experiment).

The world (``oracles.causal``; the default is the-experiment's A..E with newA..newD) fixes
everything: the prompt is the inputs, comma-separated, and the completion, byte for byte as in the
seed's JSONL, is the new values then ``old sum - new sum``::

    prompt:      0,1,1,1,0
    completion:  \\n1,0,0,0\\n3 - 1\\n

Held-out inputs are *omitted* sequences: training never draws them (the-experiment's ``-o``).

- Manifest: ``{"omitted": ["1,0,1,0,1", ...], "world": "default"}``; a problem is ``heldout`` iff
  its input is omitted.
- Spec (``--heldout``): ``omitted=1,0,1,0,1;1,1,1,1,1`` or just ``1,0,1,0,1;1,1,1,1,1``, optionally
  with a ``world=path/to/world.toml`` clause before or after, separated by a space.
- Answer: ``{"newA": 1, ..., "old_sum": 3, "new_sum": 1}``; Score.fields has the same keys.
- Label: the input with commas (``0,1,1,1,0``); bucket: ``{"inputs": "0,1,1,1,0", "ones": 3}``.
- Frozen set: all 2**5 = 32 inputs of the default world, one stratum.
- Smallest (the counterexample search's measure): input vector order, the first input most significant.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

from oraclebench.oracles.causal import DEFAULT_WORLD, Outcome, World, WorldError, load_world
from oraclebench.oracles.numbers import digit_bound, read_int
from oraclebench.tasks.base import (
    CHAT_PROSE_TOKENS, ChatPrompt, Draw, RandomDraw, Request, Response, Score, Split, Stratum, Task, TaskError,
)
from oraclebench.tasks.reading import unmarked

NAME = "causal"
_BITS = re.compile(r"\s*[01](\s*,\s*[01])*\s*")
_SUM_LINE = re.compile(r"\s*(\d+)\s*-\s*(\d+)\s*")


def _world(world: str | Path | World) -> World:
    """A world from a name/path, as a ``TaskError`` when it cannot be loaded."""
    if isinstance(world, World):
        return world
    try:
        return load_world(world)
    except WorldError as e:
        raise TaskError(f"causal: {e}") from None


# --------------------------------------------------------------------------- text formats


def format_inputs(values: Iterable[int]) -> str:
    """The prompt for one input: ``format_inputs((0, 1, 1)) == "0,1,1"``."""
    return ",".join(str(int(v)) for v in values)


def format_completion(outcome: Outcome) -> str:
    """The exact completion for an outcome: new values, then ``old - new``, each line ending in ``\\n``."""
    return f"\n{format_inputs(outcome.new)}\n{outcome.old_sum} - {outcome.new_sum}\n"


def parse_inputs(text: str, world: str | World = "default") -> tuple[int, ...]:
    """One input sequence (``"1,0,1,0,1"``, spaces allowed) for ``world``; a ``TaskError`` if malformed.

    >>> parse_inputs(" 1, 0,1,0,1 ")
    (1, 0, 1, 0, 1)
    """
    w = _world(world)
    n = len(w.inputs)
    if not _BITS.fullmatch(text) or text.count(",") != n - 1:
        example = format_inputs(i % 2 for i in range(1, n + 1))
        raise TaskError(f"causal: bad sequence {text.strip()!r}: expected {n} comma-separated 0/1 values "
                        f"for {','.join(w.inputs)}, like {example}")
    return tuple(int(v) for v in text.split(","))


def parse_omit(text: str, world: str | World = "default") -> tuple[str, ...]:
    """The ``;``-separated sequences of an ``--omit`` option, normalised and without repeats.

    >>> parse_omit("1,0,1,0,1; 1,1,1,1,1;")
    ('1,0,1,0,1', '1,1,1,1,1')
    """
    out: list[str] = []
    for piece in text.split(";"):
        if piece.strip():
            seq = format_inputs(parse_inputs(piece, world))
            if seq not in out:
                out.append(seq)
    return tuple(out)


def _code(values: Sequence[int]) -> int:
    # The first input is the most significant bit, so code order is the order of the sequences.
    return int("".join(map(str, values)), 2)


def _bits(code: int, n: int) -> tuple[int, ...]:
    return tuple(int(c) for c in format(code, f"0{n}b"))


def draw_input(draw: Draw, n: int, omitted: Iterable[str] = ()) -> tuple[int, ...]:
    """A uniform draw among the 2**n inputs that are not omitted; low draws give low sequences.

    Draws the rank k among the allowed inputs and skips the omitted codes at or below it, so no
    enumeration of 2**n values and no rejection loop (which would not shrink well).
    """
    skip = sorted({_code([int(v) for v in seq.split(",")]) for seq in omitted})
    assert all(code < 2**n for code in skip), "omitted sequences must be normalised, of n values"
    k = draw.integer(0, 2**n - 1 - len(skip))
    for code in skip:
        if code > k:
            break
        k += 1
    return _bits(k, n)


def _inputs(config: CausalConfig) -> Iterable[CausalProblem]:
    """Every input of the config's world that is not omitted, in input vector order."""
    n = len(_world(config.world).inputs)
    return (CausalProblem(_bits(code, n), config.world) for code in range(2**n)
            if format_inputs(_bits(code, n)) not in config.omitted)


# --------------------------------------------------------------------------- records


@dataclass(frozen=True)
class CausalConfig:
    """``world``: "default" or a path to a TOML world; ``omitted``: input sequences never generated
    (a tuple of ``"1,0,1,0,1"`` strings, or one ``;``-separated string)."""

    world: str = "default"
    omitted: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        world = _world(self.world)
        raw = self.omitted
        omitted = parse_omit(raw if isinstance(raw, str) else ";".join(raw), world)
        object.__setattr__(self, "world", str(self.world))
        object.__setattr__(self, "omitted", omitted)
        if len(omitted) >= 2 ** len(world.inputs):
            raise TaskError(f"causal: omitted lists all {2 ** len(world.inputs)} inputs of world {world.name}; "
                            "leave at least one to generate")


@dataclass(frozen=True)
class CausalProblem:
    """One input of a world (``world`` is "default" or a path to its TOML file)."""

    inputs: tuple[int, ...]
    world: str = "default"

    def __post_init__(self) -> None:
        if not self.inputs or any(v not in (0, 1) or isinstance(v, bool) for v in self.inputs):
            raise TaskError(f"causal: inputs {self.inputs!r} must be a non-empty tuple of 0/1 ints")


# --------------------------------------------------------------------------- the task


class CausalTask(Task[CausalProblem]):
    name = NAME
    Config = CausalConfig
    Problem = CausalProblem
    size_fields = ("inputs",)

    typed_example = "1,0,1,0,1"
    knobs = ("inputs",)

    def trained_on(self, knob: str, manifest: dict):
        """Every input but the ``omitted`` ones."""
        if knob == "inputs" and "omitted" in manifest:
            omitted = {str(s).replace(" ", "") for s in manifest["omitted"]}
            return (lambda x: str(x) not in omitted), "all inputs but " + "; ".join(sorted(omitted))
        return None, ""

    def read_input(self, text: str) -> CausalProblem:
        """``oraclebench try causal 1,0,1,0,1``: one input sequence of the default world."""
        return CausalProblem(parse_inputs(text))

    def field_view(self, score: Score) -> list[list[tuple[str, bool | None]]]:
        """One line per new value and sum: the oracle's, then the model's, marked."""
        answer = score.answer if isinstance(score.answer, dict) else {}
        return [[(f"  {name:8s} oracle {value!s:4s} model ", None), (str(answer.get(name, "-")), score.fields.get(name, False))]
                for name, value in score.expected.items()]

    def generate(self, draw: Draw, config: CausalConfig) -> CausalProblem:
        n = len(_world(config.world).inputs)
        return CausalProblem(draw_input(draw, n, config.omitted), config.world)

    def world(self, problem: CausalProblem) -> World:
        return _world(problem.world)

    def outcome(self, problem: CausalProblem) -> Outcome:
        """The oracle's full evaluation of the problem's input."""
        try:
            return self.world(problem).evaluate(problem.inputs)
        except ValueError as e:
            raise TaskError(f"causal: {e}") from None

    def solve(self, problem: CausalProblem) -> dict[str, int]:
        """New values by name, then ``old_sum`` and ``new_sum``."""
        out = self.outcome(problem)
        return {**out.values, "old_sum": out.old_sum, "new_sum": out.new_sum}

    def render(self, problem: CausalProblem) -> Request:
        # No stop string: the answer starts with "\n", and a "\n\n" stop would end a model that
        # opens with a blank line before it answers. The budget covers the longest answer plus slack.
        world = self.world(problem)
        n, m = len(world.inputs), len(world.equations)
        longest = 1 + (2 * m - 1) + 1 + len(f"{n} - {m}") + 1
        return Request(prompt=format_inputs(problem.inputs), stop=(), max_tokens=longest + 16)

    def chat(self, problem: CausalProblem) -> ChatPrompt:
        """The input line, as in ``render``, and the two answer lines that ``parse`` reads."""
        req = self.render(problem)
        n = len(self.world(problem).new_names)
        return ChatPrompt(f"Answer with two lines only: the {n} new values as comma-separated 0s and 1s, then the "
                          "old and the new sum as 'OLD - NEW'.", req.prompt, req.max_tokens + CHAT_PROSE_TOKENS)

    def render_answer(self, problem: CausalProblem, answer: dict[str, int]) -> str:
        names = self.world(problem).new_names
        return f"\n{format_inputs(answer[k] for k in names)}\n{answer['old_sum']} - {answer['new_sum']}\n"

    def parse(self, text: str, problem: CausalProblem) -> dict[str, int] | None:
        """The first two non-empty lines as values and sums; None unless both have the right shape.

        >>> TASK.parse(" 1, 0,0,0 \\n\\n3 - 1\\n0,1", CausalProblem((0, 1, 1, 1, 0)))
        {'newA': 1, 'newB': 0, 'newC': 0, 'newD': 0, 'old_sum': 3, 'new_sum': 1}
        """
        names = self.world(problem).new_names
        lines = [line for line in text.splitlines() if line.strip()][:2]
        if len(lines) < 2 or not _BITS.fullmatch(lines[0]) or lines[0].count(",") != len(names) - 1:
            return None
        sums = _SUM_LINE.fullmatch(lines[1])
        if sums is None:
            return None
        values = [int(v) for v in lines[0].split(",")]
        bound = digit_bound(len(str(max(len(self.world(problem).inputs), len(names)))))  # a sum has no more digits
        return {**dict(zip(names, values)), "old_sum": read_int(sums.group(1), bound),
                "new_sum": read_int(sums.group(2), bound)}

    def read_lenient(self, text: str, problem: CausalProblem) -> tuple[dict[str, int] | None, bool]:
        """The new values and sums among prose and markup: the first run of as many 0/1 values as the
        world has equations (commas or spaces between), then the first ``OLD - NEW`` after it."""
        names = self.world(problem).new_names
        text = unmarked(text)
        bits = re.search(r"(?<![\d,])[01](?:\s*[,\s]\s*[01]){%d}(?!\s*,?\s*\d)" % (len(names) - 1), text)
        sums = bits and re.search(r"(?<![\d.])(\d+)\s*-\s*(\d+)(?!\d|\.\d)", text[bits.end():])
        if not sums:
            return None, False
        values = [int(v) for v in re.findall(r"[01]", bits.group())]
        bound = digit_bound(len(str(max(len(self.world(problem).inputs), len(names)))))
        answer = {**dict(zip(names, values)), "old_sum": read_int(sums.group(1), bound),
                  "new_sum": read_int(sums.group(2), bound)}
        return answer, answer == self.solve(problem)

    def score(self, problem: CausalProblem, response: Response) -> Score:
        expected = self.solve(problem)
        if response.error:
            return Score(False, None, expected, reason=f"error: {response.error}")
        answer = self.parse(response.text, problem)
        if answer is None:
            n = len(self.world(problem).equations)
            return Score(False, None, expected, fields={k: False for k in expected},
                         reason=f"no answer: expected a line of {n} comma-separated 0/1 values, then 'OLD - NEW'")
        fields = {k: answer[k] == v for k, v in expected.items()}
        wrong = [f"{k}: expected {v}, got {answer[k]}" for k, v in expected.items() if not fields[k]]
        return Score(not wrong, answer, expected, reason="; ".join(wrong), fields=fields)

    def bucket(self, problem: CausalProblem) -> dict:
        return {"inputs": format_inputs(problem.inputs), "ones": sum(problem.inputs)}

    def label(self, problem: CausalProblem) -> str:
        return format_inputs(problem.inputs)

    def split(self, problem: CausalProblem, manifest: dict | None) -> Split:
        if manifest is None:
            return "unknown"
        omitted = {s.replace(" ", "") for s in manifest.get("omitted", ())}
        return "heldout" if format_inputs(problem.inputs) in omitted else "seen"

    # ---- the search's measure ------------------------------------------------------------------
    def size(self, problem: CausalProblem) -> tuple[str]:
        """Input vector order, the first input most significant: ``0,0,0,0,1`` < ``0,0,0,1,0`` < ``1,1,1,1,1``."""
        return (format_inputs(problem.inputs),)

    def strata(self, config: CausalConfig, like: CausalProblem | None = None) -> list[Stratum]:
        """One stratum, every input not omitted in order (the default world's 32)."""
        count = 2 ** len(_world(config.world).inputs) - len(config.omitted)
        return [Stratum("inputs", config, lambda: _inputs(config), complete=True, count=count)]

    def coverage_bucket(self, problem: CausalProblem) -> str:
        """``inputs``: one stratum, every input of the world (a label is one input)."""
        return "inputs"

    def frozen_configs(self) -> list[tuple[CausalConfig, int]]:
        # Exhaustive: the base class draws distinct problems, and all 32 come up well within its tries.
        return [(CausalConfig(), 2 ** len(DEFAULT_WORLD.inputs))]

    def train_config(self, manifest: dict | None) -> CausalConfig:
        manifest = manifest or {}
        return CausalConfig(world=manifest.get("world", "default"), omitted=tuple(manifest.get("omitted", ())))

    def manifest_from_spec(self, spec: str) -> dict:
        """``"omitted=1,0,1,0,1;1,1,1,1,1"`` (or the bare sequences), optionally ``world=PATH``.

        >>> TASK.manifest_from_spec("1,0,1,0,1;1,1,1,1,1")
        {'omitted': ['1,0,1,0,1', '1,1,1,1,1'], 'world': 'default'}
        """
        usage = "write omitted=1,0,1,0,1;1,1,1,1,1 (sequences separated by ';'; optionally world=PATH.toml)"
        clauses: dict[str, str] = {}
        # Clauses are separated by spaces, but not the spaces inside "1, 0,1" or after "omitted =".
        for clause in re.split(r"(?<![,;=\s])\s+(?=\w+\s*=|[01]\s*,)", spec.strip()):
            key, eq, value = clause.partition("=")
            key, value = (key.strip(), value) if eq and re.fullmatch(r"\s*\w+\s*", key) else ("omitted", clause)
            if key not in ("omitted", "world"):
                raise TaskError(f"causal: unknown key {key!r} in heldout spec {spec!r}; {usage}")
            if key in clauses:
                raise TaskError(f"causal: {key!r} given twice in heldout spec {spec!r}; {usage}")
            clauses[key] = value.strip()
        if not clauses.get("omitted"):
            raise TaskError(f"causal: heldout spec {spec!r} names no sequences; {usage}")
        world = clauses.get("world", "default")
        return {"omitted": list(parse_omit(clauses["omitted"], world)), "world": world}


def training_rows(n: int, seed: int, omitted: Iterable[str] | str = (),
                  world: str | World = "default") -> list[dict[str, str]]:
    """``n`` JSONL rows ``{"prompt", "completion"}`` as the-experiment generates them: inputs drawn
    uniformly among those not omitted, from one ``Random(seed)``.

    >>> training_rows(1, 0, world="default")[0].keys()
    dict_keys(['prompt', 'completion'])
    """
    w = _world(world)
    skip = parse_omit(omitted if isinstance(omitted, str) else ";".join(omitted), w)
    if len(skip) >= 2 ** len(w.inputs):
        raise TaskError(f"causal: omitted lists all {2 ** len(w.inputs)} inputs of world {w.name}; nothing to train on")
    draw = RandomDraw(random.Random(seed))
    rows = []
    for _ in range(n):
        inputs = draw_input(draw, len(w.inputs), skip)
        rows.append({"prompt": format_inputs(inputs), "completion": format_completion(w.evaluate(inputs))})
    return rows


TASK = CausalTask()
