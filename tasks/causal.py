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
- Frozen set: every input when the world has at most ``EXHAUSTIVE_MAX`` (the default world: all
  2**5 = 32, in the order they were first drawn); otherwise a seeded sample of about ``SAMPLE_SIZE``
  inputs stratified by the inputs' sum (each sum gets its share; at least one when there are few
  sums), uniform within a stratum. ``frozen_report`` says its size and coverage.
- Variants: ``--world my.toml`` (``use_variant("causal", path)``) binds the task to a world; the
  manifest of a model trained on a world other than the default records ``world_name`` and
  ``world_sha256``, and scoring it on another world is a ``TaskError`` naming both.
- Smallest (the counterexample search's measure): input vector order, the first input most significant.
"""

from __future__ import annotations

import functools
import random
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

from oraclebench.oracles.causal import BOOL, DEFAULT_WORLD, Outcome, World, WorldError, load_world, measures
from oraclebench.oracles.numbers import digit_bound, read_int
from oraclebench.tasks.base import (
    CHAT_PROSE_TOKENS, ChatPrompt, Draw, Instance, RandomDraw, Request, Response, Score, Split, Stratum, Task,
    TaskError,
)
from oraclebench.tasks.reading import ANSWER_IS, unmarked

NAME = "causal"
_BITS = re.compile(r"\s*[01](\s*,\s*[01])*\s*")
_VALUES = re.compile(r"\s*-?[0-9]+(\s*,\s*-?[0-9]+)*\s*")  # ASCII digits: the answer format
_SPACE = r"[^\S\r\n]"  # white space within one line
# A correction, after which the answer is given again: "actually", "wait", "but it is", "no, the values are".
_CORRECTION = re.compile(r"\b(?:actually|correction|wait|i\s+mean)\b|"
                         r"\b(?:but|no)\b[\s,:]*(?:it\s+is|it's|the\s+(?:new\s+)?values?\s+are)\b", re.I)
EXHAUSTIVE_MAX = 512  # a world with at most this many inputs is scored on every one of them
SAMPLE_SIZE = 512  # else on this many, stratified by the inputs' sum


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
    """The exact completion for an outcome: the outputs, then the summary values joined by `` - ``
    (the seed's ``old - new``), each line ending in ``\\n``; no summary line when the world has none."""
    summary = " - ".join(str(v) for _, v in outcome.summary)
    return f"\n{format_inputs(outcome.new)}\n" + (f"{summary}\n" if outcome.summary else "")


def _all_bool(domains: Sequence[tuple[int, int]]) -> bool:
    return all(d == (0, 1) for d in domains)


def parse_inputs(text: str, world: str | World = "default") -> tuple[int, ...]:
    """One input sequence (``"1,0,1,0,1"``, spaces allowed) for ``world``; a ``TaskError`` if malformed.

    >>> parse_inputs(" 1, 0,1,0,1 ")
    (1, 0, 1, 0, 1)
    """
    w = _world(world)
    n = len(w.inputs)
    values = tuple(int(v) for v in text.split(",")) if _VALUES.fullmatch(text) else ()
    if len(values) != n or any(not lo <= v <= hi for v, (lo, hi) in zip(values, w.domains)):
        example = format_inputs(hi if i % 2 == 0 else lo for i, (lo, hi) in enumerate(w.domains))
        what = "0/1 values" if _all_bool(w.domains) else "values"
        raise TaskError(f"causal: bad sequence {text.strip()!r}: expected {n} comma-separated {what} "
                        f"for {w.describe_inputs()}, like {example}")
    return values


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


def _domains(n_or_domains: int | Sequence[tuple[int, int]]) -> tuple[tuple[int, int], ...]:
    return tuple((0, 1) for _ in range(n_or_domains)) if isinstance(n_or_domains, int) else tuple(n_or_domains)


def _code(values: Sequence[int], domains: Sequence[tuple[int, int]] | None = None) -> int:
    # Mixed radix, the first input most significant, so code order is the order of the sequences
    # (for booleans: the binary number the sequence spells).
    code = 0
    for v, (lo, hi) in zip(values, domains or _domains(len(values))):
        code = code * (hi - lo + 1) + (v - lo)
    return code


def _decode(code: int, domains: Sequence[tuple[int, int]]) -> tuple[int, ...]:
    out = []
    for lo, hi in reversed(domains):
        code, digit = divmod(code, hi - lo + 1)
        out.append(lo + digit)
    return tuple(reversed(out))


def _bits(code: int, n: int) -> tuple[int, ...]:
    return _decode(code, _domains(n))


def _space(domains: Sequence[tuple[int, int]]) -> int:
    n = 1
    for lo, hi in domains:
        n *= hi - lo + 1
    return n


def draw_input(draw: Draw, n: int | Sequence[tuple[int, int]], omitted: Iterable[str] = ()) -> tuple[int, ...]:
    """A uniform draw among the inputs that are not omitted; low draws give low sequences.

    ``n``: the number of boolean inputs, or each input's (lo, hi). Draws the rank k among the allowed
    inputs and skips the omitted codes at or below it, so no enumeration of the input space and no
    rejection loop (which would not shrink well).
    """
    domains = _domains(n)
    skip = sorted({_code([int(v) for v in seq.split(",")], domains) for seq in omitted})
    assert all(code < _space(domains) for code in skip), "omitted sequences must be normalised, for this world"
    k = draw.integer(0, _space(domains) - 1 - len(skip))
    for code in skip:
        if code > k:
            break
        k += 1
    return _decode(k, domains)


def _inputs(config: CausalConfig) -> Iterable[CausalProblem]:
    """Every input of the config's world that is not omitted, in input vector order."""
    domains = _world(config.world).domains
    return (CausalProblem(_decode(code, domains), config.world) for code in range(_space(domains))
            if format_inputs(_decode(code, domains)) not in config.omitted)


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
        if len(omitted) >= world.space:
            raise TaskError(f"causal: omitted lists all {world.space} inputs of world {world.name}; "
                            "leave at least one to generate")


@dataclass(frozen=True)
class CausalProblem:
    """One input of a world (``world`` is "default" or a path to its TOML file)."""

    inputs: tuple[int, ...]
    world: str = "default"

    def __post_init__(self) -> None:
        if not self.inputs or any(isinstance(v, bool) or not isinstance(v, int) for v in self.inputs):
            raise TaskError(f"causal: inputs {self.inputs!r} must be a non-empty tuple of ints (0/1 for booleans)")


# --------------------------------------------------------------------------- frozen sets per world


@dataclass(frozen=True)
class FrozenReport:
    """What a world's frozen set covers: ``size`` inputs of ``space``, ``strata`` of ``of_strata``
    input sums, and whether it is every input (``exhaustive``)."""

    size: int
    space: int
    strata: int
    of_strata: int
    exhaustive: bool

    def describe(self) -> str:
        how = "every input" if self.exhaustive else "a seeded sample stratified by the inputs' sum"
        return (f"{self.size} of {self.space} inputs ({100 * self.size / self.space:.1f}%), {self.strata} of "
                f"{self.of_strata} input sums: {how}")


def _sum_counts(domains: Sequence[tuple[int, int]]) -> list[dict[int, int]]:
    """``counts[i][s]``: how many settings of inputs ``i..`` sum to ``s`` (the last entry: ``{0: 1}``)."""
    counts: list[dict[int, int]] = [{0: 1}]
    for lo, hi in reversed(domains):
        # nxt[s] = sum of cur[s - v] for v in lo..hi: a sliding window over cur, linear in the sums.
        cur = counts[0]
        low, high = min(cur) + lo, max(cur) + hi
        nxt: dict[int, int] = {}
        window = 0
        for s in range(low, high + 1):
            window += cur.get(s - lo, 0) - cur.get(s - hi - 1, 0)
            if window:
                nxt[s] = window
        counts.insert(0, nxt)
    return counts


def _draw_with_sum(rng: random.Random, domains: Sequence[tuple[int, int]], total: int,
                   counts: list[dict[int, int]]) -> tuple[int, ...]:
    """An input drawn uniformly among those whose values sum to ``total`` (each value by its share)."""
    out = []
    for i, (lo, hi) in enumerate(domains):
        rest = total - sum(out)
        weights = [counts[i + 1].get(rest - v, 0) for v in range(lo, hi + 1)]
        out.append(lo + rng.choices(range(hi - lo + 1), weights)[0])
    return tuple(out)


def _allocate(strata: dict[int, int], size: int) -> dict[int, int]:
    """How many inputs each sum gets: its share of ``size``, at most all of its inputs; at least one
    each (the all-zero and all-one inputs are always in) when there are few sums (at most size / 4),
    else by largest remainder to exactly ``size`` (a sum with a tiny share may get none)."""
    total = sum(strata.values())
    if len(strata) * 4 <= size:
        return {s: min(c, max(1, round(size * c / total))) for s, c in sorted(strata.items())}
    exact = {s: size * c / total for s, c in strata.items()}
    alloc = {s: min(strata[s], int(x)) for s, x in exact.items()}
    for s in sorted(exact, key=lambda s: (int(exact[s]) - exact[s], s)):  # largest remainder first
        if sum(alloc.values()) >= size:
            break
        if alloc[s] < strata[s]:
            alloc[s] += 1
    return {s: k for s, k in sorted(alloc.items()) if k}


def stratified_inputs(world: World, size: int = SAMPLE_SIZE, seed: int = 0) -> list[tuple[int, ...]]:
    """About ``size`` distinct inputs of ``world``, stratified by the inputs' sum (``_allocate``: each sum
    its share), drawn uniformly within each sum from ``Random(seed)``. In sum order, then drawing order."""
    counts = _sum_counts(world.domains)
    strata = counts[0]
    alloc = _allocate(strata, size)
    rng = random.Random(f"causal-frozen-{seed}")
    out: list[tuple[int, ...]] = []
    for s, k in alloc.items():
        got: dict[tuple[int, ...], None] = {}
        while len(got) < k:  # k <= the stratum's size, and a small world is never sampled
            got.setdefault(_draw_with_sum(rng, world.domains, s, counts))
        out += list(got)
    return out


# --------------------------------------------------------------------------- the task


class CausalTask(Task[CausalProblem]):
    name = NAME
    Config = CausalConfig
    Problem = CausalProblem
    size_fields = ("inputs",)

    typed_example = "1,0,1,0,1"
    knobs = ("inputs",)
    variant_option = "world"
    variant_help = "causal: score, train or try on this world (a TOML file; default: the-experiment's)"

    def __init__(self, world: str = "default"):
        self.world_ref = world  # "default" or an absolute path to the world's TOML

    # ---- variants ---------------------------------------------------------------------------------
    def variant(self, value: str) -> "CausalTask":
        """This task on the world in the TOML file ``value`` (its frozen set, prompts and manifest checks)."""
        world = _world(value)  # a TaskError naming the file, line and column when it is bad
        task = CausalTask(str(Path(value).resolve()))
        task.version = f"{_slug(world.name)}.{world.sha256[:8]}"  # instance ids: causal-<name>.<sha8>-0000
        task.typed_example = format_inputs(hi if i % 2 == 0 else lo for i, (lo, hi) in enumerate(world.domains))
        return task

    def bound_world(self) -> World:
        return _world(self.world_ref)

    def variant_id(self) -> dict | None:
        if self.world_ref == "default":
            return None
        w = self.bound_world()
        return {"option": "world", "name": w.name, "sha256": w.sha256, "path": self.world_ref, "measures": measures(w),
                "frozen": self.frozen_report().__dict__}

    def check_variant(self, manifest: dict | None, model: str) -> None:
        """A model trained on one world and scored on another is a usage error naming both."""
        if not manifest or "world" not in manifest:
            return
        trained = _trained_world(manifest)
        here = self.bound_world()
        here_id = ("default", DEFAULT_WORLD.sha256) if self.world_ref == "default" else (here.name, here.sha256)
        if trained[1] == here_id[1] or (trained[1] is None and trained[0] == here_id[0] == "default"):
            return
        fix = (f"score it with --world {manifest['world']}" if trained[0] != "default" else
               "score it without --world (on the default world)")
        fix += ", or train a model on this world (a reference model: --model-opt world=PATH)"
        raise TaskError(f"causal: {model} was trained on world {_name_sha(trained)} but this run scores world "
                        f"{_name_sha(here_id)}; {fix}")

    def variant_manifest(self, manifest: dict | None) -> dict | None:
        """The manifest with the bound world (``world``, ``world_name``, ``world_sha256``); a manifest that
        names another world (``--heldout world=...`` and ``--world`` both) is a ``TaskError``."""
        if self.world_ref == "default":
            return manifest
        manifest = dict(manifest or {"omitted": []})
        named = manifest.get("world", "default")
        if named != "default" and _world(named).sha256 != self.bound_world().sha256:
            raise TaskError(f"causal: the held-out spec names world {named} but --world is {self.world_ref}; give one")
        return {**manifest, "world": self.world_ref, **world_fields(self.world_ref)}

    def frozen_report(self) -> FrozenReport:
        w = self.bound_world()
        picked = self._frozen_inputs()
        strata = _sum_counts(w.domains)[0]
        return FrozenReport(len(picked), w.space, len({sum(p) for p in picked}), len(strata),
                            len(picked) == w.space)

    def _frozen_inputs(self) -> list[tuple[int, ...]]:
        return _frozen_inputs(self.world_ref, *_mtime(self.world_ref))

    def frozen_variant(self) -> list[Instance]:
        return [self.instance(CausalProblem(inputs, self.world_ref), f"{self.name}-{self.version}-{n:04d}")
                for n, inputs in enumerate(self._frozen_inputs())]

    def trained_on(self, knob: str, manifest: dict):
        """Every input but the ``omitted`` ones."""
        if knob == "inputs" and "omitted" in manifest:
            omitted = {str(s).replace(" ", "") for s in manifest["omitted"]}
            return (lambda x: str(x) not in omitted), "all inputs but " + "; ".join(sorted(omitted))
        return None, ""

    def read_input(self, text: str) -> CausalProblem:
        """``oraclebench try causal 1,0,1,0,1``: one input sequence of the bound world (``--world``)."""
        return CausalProblem(parse_inputs(text, self.world_ref), self.world_ref)

    def field_view(self, score: Score) -> list[list[tuple[str, bool | None]]]:
        """One line per new value and sum: the oracle's, then the model's, marked."""
        answer = score.answer if isinstance(score.answer, dict) else {}
        return [[(f"  {name:8s} oracle {value!s:4s} model ", None), (str(answer.get(name, "-")), score.fields.get(name, False))]
                for name, value in score.expected.items()]

    def generate(self, draw: Draw, config: CausalConfig) -> CausalProblem:
        return CausalProblem(draw_input(draw, _world(config.world).domains, config.omitted), config.world)

    def world(self, problem: CausalProblem) -> World:
        return _world(problem.world)

    def identity(self, problem: CausalProblem) -> str:
        """The problem's encoding with its world by content (``_world_key``), not by the path it was read from: a
        model trained on ``w.toml`` and scored on a copy elsewhere, or on ``tasks/worlds/default.toml``, asks the
        same questions (as ``check_variant`` lets it); by path, every trained problem was called unseen."""
        return repr({**self.encode(problem), "world": _world_key(problem.world)})

    def outcome(self, problem: CausalProblem) -> Outcome:
        """The oracle's full evaluation of the problem's input."""
        try:
            return self.world(problem).evaluate(problem.inputs)
        except ValueError as e:
            raise TaskError(f"causal: {e}") from None

    def solve(self, problem: CausalProblem) -> dict[str, int]:
        """New values by name, then the summary values (``old_sum`` and ``new_sum`` by default)."""
        out = self.outcome(problem)
        return {**out.values, **out.summary_values}

    def render(self, problem: CausalProblem) -> Request:
        # No stop string: the answer starts with "\n", and a "\n\n" stop would end a model that
        # opens with a blank line before it answers. The budget covers the longest answer plus slack.
        world = self.world(problem)
        # A world of one's own keys the cache apart: the same prompt has another right answer there.
        variant = "" if problem.world == "default" else f"causal-world:{world.sha256}"
        return Request(prompt=format_inputs(problem.inputs), stop=(), max_tokens=_longest(world) + 16, variant=variant)

    def chat(self, problem: CausalProblem) -> ChatPrompt:
        """The input line, as in ``render``, and the answer lines that ``parse`` reads."""
        req = self.render(problem)
        world = self.world(problem)
        kinds = world.kinds()
        n = len(world.new_names)
        what = "0s and 1s" if all(kinds[k].type == BOOL for k in world.new_names) else "integers"
        if world.summary_names == ("old_sum", "new_sum"):
            tail = ", then the old and the new sum as 'OLD - NEW'"
        elif world.summary_names:
            tail = f", then {', '.join(world.summary_names)} as '{' - '.join(s.upper() for s in world.summary_names)}'"
        else:
            tail = ""
        lines = "two lines" if world.summary_names else "one line"
        return ChatPrompt(f"Answer with {lines} only: the {n} new values as comma-separated {what}{tail}.",
                          req.prompt, req.max_tokens + CHAT_PROSE_TOKENS)

    def render_answer(self, problem: CausalProblem, answer: dict[str, int]) -> str:
        world = self.world(problem)
        summary = " - ".join(str(answer[k]) for k in world.summary_names)
        return f"\n{format_inputs(answer[k] for k in world.new_names)}\n" + (f"{summary}\n" if summary else "")

    def parse(self, text: str, problem: CausalProblem, whole: bool = False) -> dict[str, int] | None:
        """The first non-empty lines as values and summary; None unless each has the right shape.

        ``whole``: ``text`` is all of the answer (a chat answer, whose format sentence asks for these lines
        only), so a further non-empty line makes it no answer. A completion has no stop string to end it (a
        base model runs on into the next prompt), so what follows its first lines is not read.

        >>> TASK.parse(" 1, 0,0,0 \\n\\n3 - 1\\n0,1", CausalProblem((0, 1, 1, 1, 0)))
        {'newA': 1, 'newB': 0, 'newC': 0, 'newD': 0, 'old_sum': 3, 'new_sum': 1}
        """
        world = self.world(problem)
        names, sums = world.new_names, world.summary_names
        lines = [line for line in text.splitlines() if line.strip()]
        if len(lines) < 1 + bool(sums) or (whole and len(lines) > 1 + bool(sums)) or not _VALUES.fullmatch(lines[0]):
            return None
        values = _read_values(lines[0], world)
        if values is None:
            return None
        answer = dict(zip(names, values))
        if sums:
            line = re.fullmatch(r"\s*" + r"\s*-\s*".join([r"(-?[0-9]+)"] * len(sums)) + r"\s*", lines[1])
            if line is None:
                return None
            bound = _bound(world)
            answer.update({k: read_int(v, bound) for k, v in zip(sums, line.groups())})
        return answer

    def read_lenient(self, text: str, problem: CausalProblem) -> tuple[dict[str, int] | None, bool]:
        """The new values and sums among prose and markup: a run of as many values as the world has
        equations (commas or spaces between, on one line; a longer run is no answer), then the first
        ``A - B`` summary after it. The run is the first one the sums follow after the last "answer
        is"/"answer:" or correction ("I first thought 1,1,1,1, but it is 1,0,1,0" is 1,0,1,0), else the
        first: a check or comparison written after the answer is not it. Values and sums are read with
        their sign (``-3 - 1``).

        >>> TASK.read_lenient("Answer:\\n1,0,0,0\\n3 - 1", CausalProblem((0, 1, 1, 1, 0)))[1]
        True
        """
        world = self.world(problem)
        names, sums = world.new_names, world.summary_names
        text = unmarked(text)
        value = r"[01]" if all(world.kinds()[k].type == BOOL for k in names) else r"-?\d+"
        # One line's run: a comma or spaces between values, never a line break. A run that went on into
        # the summary line (it starts with a digit) was longer than the world's outputs: no answer.
        # A value right after a digit, comma or minus is inside another number or run.
        sep = rf"(?:{_SPACE}*,{_SPACE}*|{_SPACE}+)"
        # A number right after the run makes it a longer run, unless it begins the sums ("1,0,1,0, 4 - 2").
        sums_next = rf"(?!-?\d+{_SPACE}*-{_SPACE}*-?\d)" if sums else ""
        run = rf"(?<![\d,-]){value}(?:{sep}{value}){{{len(names) - 1}}}(?!{sep}?{sums_next}-?\d)"
        pattern = r"(?<![\d.])" + r"\s*-\s*".join([r"(-?\d+)"] * len(sums)) + r"(?!\d|\.\d)"
        # From the last "answer is" or correction on ("I first thought 1,1,1,1, but it is 1,0,1,0"): a check or
        # comparison written after the answer ("... old values 1,1,1,0") is not the answer.
        cues = list(ANSWER_IS.finditer(text)) + list(_CORRECTION.finditer(text))
        # The first run the sums follow: the first run, since sums after a later run follow it too. (Each run's
        # own search of the rest of the text took 8.5 s over 4,000 runs with no sums after them.)
        bits = re.compile(run).search(text, max((c.end() for c in cues), default=0))
        line = re.compile(pattern).search(text, bits.end()) if bits is not None and sums else None
        if bits is None or (sums and line is None):
            return None, False
        # Two runs offered ("Either 1,0,0,0 or 1,1,0,1"), or two sums ("3 - 1 or 3 - 2"): neither is the answer.
        offered = rf"{_SPACE}*,?{_SPACE}*or\s+(?:(?:maybe|perhaps|possibly)\s+)?-?\d"
        if (re.match(offered, text[bits.end():]) or re.search(rf"\d{_SPACE}*,?{_SPACE}*or\s+(?:(?:maybe|perhaps|possibly)\s+)?$",
                                                               text[max(0, bits.start() - 40):bits.start()])
                or (line is not None and re.match(offered, text[line.end():]))):
            return None, False
        found = {}
        if sums:
            bound = _bound(world)
            found = {k: read_int(v, bound) for k, v in zip(sums, line.groups())}
        values = [int(v) for v in re.findall(value, bits.group())]
        answer = {**dict(zip(names, values)), **found}
        return answer, answer == self.solve(problem)

    def score(self, problem: CausalProblem, response: Response) -> Score:
        expected = self.solve(problem)
        if response.error:
            return Score(False, None, expected, reason=f"error: {response.error}")
        # A chat answer "1,0,0,0\n3 - 1\n\nWait, actually: 1,1,0,0\n3 - 2" withdrew its first lines: it is no answer.
        answer = self.parse(response.text, problem, whole=response.chat)
        if answer is None:
            world = self.world(problem)
            n = len(world.equations)
            what = "0/1 values" if all(world.kinds()[k].type == BOOL for k in world.new_names) else "values"
            then = f", then '{' - '.join(s.upper() for s in world.summary_names)}'" if world.summary_names else ""
            if world.summary_names == ("old_sum", "new_sum"):
                then = ", then 'OLD - NEW'"
            return Score(False, None, expected, fields={k: False for k in expected},
                         reason=f"no answer: expected a line of {n} comma-separated {what}{then}")
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
        # Read as ``train_config`` reads them (``parse_omit``): "01,0,1,0,1" is omitted from training as 1,0,1,0,1, and
        # compared with its spaces removed only, it was called inside (found by review).
        omitted = set(parse_omit(";".join(manifest.get("omitted", ())), problem.world))
        return "heldout" if format_inputs(problem.inputs) in omitted else "seen"

    # ---- the search's measure ------------------------------------------------------------------
    def size(self, problem: CausalProblem) -> tuple[str]:
        """Input vector order, the first input most significant: ``0,0,0,0,1`` < ``0,0,0,1,0`` < ``1,1,1,1,1``
        (integer inputs: zero-padded to their widest value, so text order is still value order)."""
        world = self.world(problem)
        if _all_bool(world.domains):
            return (format_inputs(problem.inputs),)
        return (",".join(f"{v - lo:0{len(str(hi - lo))}d}" for v, (lo, hi) in zip(problem.inputs, world.domains)),)

    def strata(self, config: CausalConfig, like: CausalProblem | None = None) -> list[Stratum]:
        """One stratum, every input not omitted in order (the default world's 32)."""
        # The world's space is the product of its inputs' ranges: an integer input N:0..3 has 4 values.
        count = _world(config.world).space - len(config.omitted)
        return [Stratum("inputs", config, lambda: _inputs(config), complete=True, count=count)]

    def coverage_bucket(self, problem: CausalProblem) -> str:
        """``inputs``: one stratum, every input of the world (a label is one input)."""
        return "inputs"

    def stratum(self, label: str, bucket: dict) -> str:
        return "inputs"

    def frozen_configs(self) -> list[tuple[CausalConfig, int]]:
        # Exhaustive: the base class draws distinct problems, and all 32 come up well within its tries.
        return [(CausalConfig(self.world_ref), min(self.bound_world().space, EXHAUSTIVE_MAX))]

    def default_config(self) -> CausalConfig:
        """Every input of the bound world (``--world``)."""
        return CausalConfig(self.world_ref)

    def train_config(self, manifest: dict | None) -> CausalConfig:
        """The training distribution a manifest names: its world (the bound world where the manifest's file has
        the same content, wherever the file now lies: a model moved with its world) and omitted inputs."""
        manifest = manifest or {}
        world = manifest.get("world", "default")
        if world != "default" and self.world_ref != "default" and \
                manifest.get("world_sha256") == self.bound_world().sha256:
            world = self.world_ref
        return CausalConfig(world=world, omitted=tuple(manifest.get("omitted", ())))

    def manifest_from_spec(self, spec: str) -> dict:
        """``"omitted=1,0,1,0,1;1,1,1,1,1"`` (or the bare sequences), optionally ``world=PATH``.

        A world other than the default is recorded with its name and SHA-256, so a model's manifest
        says which world it learned (``check_variant``).

        >>> TASK.manifest_from_spec("1,0,1,0,1;1,1,1,1,1")
        {'omitted': ['1,0,1,0,1', '1,1,1,1,1'], 'world': 'default'}
        """
        usage = "write omitted=1,0,1,0,1;1,1,1,1,1 (sequences separated by ';'; optionally world=PATH.toml)"
        clauses: dict[str, str] = {}
        # Clauses are separated by spaces, but not the spaces inside "1, 0,1" or after "omitted =".
        for clause in re.split(r"(?<![,;=\s])\s+(?=\w+\s*=|-?\d+\s*,)", spec.strip()):
            key, eq, value = clause.partition("=")
            key, value = (key.strip(), value) if eq and re.fullmatch(r"\s*\w+\s*", key) else ("omitted", clause)
            if key not in ("omitted", "world"):
                raise TaskError(f"causal: unknown key {key!r} in heldout spec {spec!r}; {usage}")
            if key in clauses:
                raise TaskError(f"causal: {key!r} given twice in heldout spec {spec!r}; {usage}")
            clauses[key] = value.strip()
        if not clauses.get("omitted") and "world" not in clauses:  # a world alone holds nothing out
            raise TaskError(f"causal: heldout spec {spec!r} names no sequences; {usage}")
        world = clauses.get("world", self.world_ref)  # the bound world (``--world``) unless the spec names one
        if world != "default":
            _world(world)  # a missing or bad file is named as given
            world = str(Path(world).resolve())  # the manifest's world is found from any folder
        out = {"omitted": list(parse_omit(clauses.get("omitted", ""), world)), "world": world}
        return out | world_fields(world)


def world_fields(world: str) -> dict:
    """``{"world_name", "world_sha256"}`` of a world file (none for the default, whose name says it)."""
    if world == "default":
        return {}
    w = _world(world)
    return {"world_name": w.name, "world_sha256": w.sha256}


def _world_key(ref: str) -> str:
    """A world as its identity holds it: "default" for the default world's content, else ``sha256:<hex>``
    (``load_world`` keeps each file read once, by its modification time and size)."""
    if ref == "default":
        return ref
    sha = _world(ref).sha256
    return "default" if sha == DEFAULT_WORLD.sha256 else f"sha256:{sha}"


def _trained_world(manifest: dict) -> tuple[str, str | None]:
    """(name, sha256 or None) of the world a manifest says a model trained on."""
    if manifest.get("world_sha256"):
        return str(manifest.get("world_name", manifest["world"])), str(manifest["world_sha256"])
    if manifest.get("world", "default") == "default":
        return "default", DEFAULT_WORLD.sha256
    try:
        w = _world(manifest["world"])
    except TaskError:
        return str(manifest["world"]), None
    return w.name, w.sha256


def _name_sha(world: tuple[str, str | None]) -> str:
    return f"'{world[0]}' (sha256 {world[1][:12]})" if world[1] else f"'{world[0]}'"


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.]+", "_", name)[:40] or "world"


def _mtime(ref: str) -> tuple[int, int]:
    if ref == "default":
        return 0, 0
    try:
        stat = Path(ref).stat()
    except OSError:
        return 0, 0
    return stat.st_mtime_ns, stat.st_size


@functools.lru_cache(maxsize=16)
def _frozen_inputs(ref: str, mtime_ns: int, size: int) -> list[tuple[int, ...]]:
    """The frozen inputs of a world (see the module docstring); cached per file version."""
    world = _world(ref)
    if world.space > EXHAUSTIVE_MAX:
        return stratified_inputs(world)
    # Every input, in the order the frozen stream first draws them (how the default set was made),
    # then any the draws missed, in input order: exhaustive whatever the luck of the draws.
    task, config = TASK, CausalConfig(ref)
    drawn = [p.inputs for _, p in task.distinct(0, config, world.space, set(), max_draws=world.space * 50)]
    have = set(drawn)
    return drawn + [_decode(c, world.domains) for c in range(world.space) if _decode(c, world.domains) not in have]


def _longest(world: World) -> int:
    """Characters of the longest completion the world can have (``format_completion``)."""
    kinds = world.kinds()

    def width(name: str) -> int:
        return max(len(str(kinds[name].lo)), len(str(kinds[name].hi)))

    values = sum(width(n) for n in world.new_names) + len(world.new_names) - 1
    summary = sum(width(n) for n in world.summary_names) + 3 * (len(world.summary_names) - 1)
    return 1 + values + 1 + (summary + 1 if world.summary_names else 0)


def _bound(world: World) -> int:
    # A summary value has no more digits than the widest the world allows.
    kinds = world.kinds()
    widest = max((max(abs(kinds[n].lo), abs(kinds[n].hi)) for n in world.summary_names), default=1)
    return digit_bound(len(str(widest)))


def _read_values(line: str, world: World) -> list[int] | None:
    """The outputs line's values: as many as the world has outputs, a boolean output 0 or 1."""
    kinds = world.kinds()
    pieces = [p.strip() for p in line.split(",")]
    if len(pieces) != len(world.new_names):
        return None
    values = []
    for piece, name in zip(pieces, world.new_names):
        if kinds[name].type == BOOL and piece not in ("0", "1"):
            return None
        if len(piece.lstrip("-")) > len(str(max(abs(kinds[name].lo), abs(kinds[name].hi)))) + 1:
            return None  # far longer than any value it can have: a wrong answer, not a huge int
        values.append(int(piece))
    return values


def training_rows(n: int, seed: int, omitted: Iterable[str] | str = (),
                  world: str | World = "default") -> list[dict[str, str]]:
    """``n`` JSONL rows ``{"prompt", "completion"}`` as the-experiment generates them: inputs drawn
    uniformly among those not omitted, from one ``Random(seed)``.

    >>> training_rows(1, 0, world="default")[0].keys()
    dict_keys(['prompt', 'completion'])
    """
    w = _world(world)
    skip = parse_omit(omitted if isinstance(omitted, str) else ";".join(omitted), w)
    if len(skip) >= w.space:
        raise TaskError(f"causal: omitted lists all {w.space} inputs of world {w.name}; nothing to train on")
    draw = RandomDraw(random.Random(seed))
    rows = []
    for _ in range(n):
        inputs = draw_input(draw, w.domains, skip)
        rows.append({"prompt": format_inputs(inputs), "completion": format_completion(w.evaluate(inputs))})
    return rows


TASK = CausalTask()
