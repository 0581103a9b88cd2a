"""The contracts every task shares: problems, requests, responses, scores and the Task base class.

This module is the pure core's vocabulary. Models (``models/``) and the pytest plugin depend on it;
it imports neither torch nor pytest.

A task is written once as ``generate(draw, config)``: a function that builds a problem from a
``Draw`` (``integer``/``choice``/``boolean``). The same function then gives

- a Hypothesis strategy (``task.strategy(config)``), whose draws shrink towards small problems, and
- a reproducible sampler (``task.sample(seed, i, stream=...)``): problem ``i`` of a stream depends on
  ``stream_random(stream, task, seed, i)`` alone,

so the search in ``oraclebench explore`` and the frozen sets come from one definition. A generator
draws its difficulty knobs (digit counts, program length, template) before the values, and a
template or error kind with ``draw.knob``, so the search shrinks towards the easiest setting first.

Streams. Each purpose draws from its own stream: training data (``train``, and ``valid``/``test``
for ``oraclebench generate``), fresh re-tests (``fresh``), the judge recipe's curves and
vocabulary (``curve``, ``vocab``). Problem ``i`` of stream ``s`` at seed ``S`` comes from a
``Random`` seeded by a hash of ``(s, task, S, i)``, so two seeds, or two purposes, share a problem
only by chance (as two independent draws would). The frozen sets keep the stream they were frozen
with, ``Random(seed + i)`` (``stream="frozen"``): re-drawing them would change every model's
numbers. Exploration draws from Hypothesis, seeded apart (``oraclebench.explore``).
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import random
from dataclasses import dataclass, field
from typing import Any, Callable, ClassVar, Generic, Iterable, Iterator, Literal, Protocol, Sequence, TypeVar

from oraclebench.tasks.reading import cut_at_stop

# What a record's instance was to the model (see ``Task.training_split``):
# - "trained": the exact problem (its ``identity``) is in the training data the manifest records;
# - "unseen": inside the training distribution (the task's ``split`` hook says so), not trained on;
# - "heldout": outside the training distribution;
# - "seen": inside the distribution where the manifest records no training data (``--heldout`` alone,
#   a manifest from before ``training_data``, records written before the three-way split): trained or
#   unseen, nobody can tell which;
# - "unknown": the model has no manifest for the task (and no --heldout), so nothing is known about what it saw.
Split = Literal["trained", "unseen", "seen", "heldout", "unknown"]
UNKNOWN: Split = "unknown"
SPLIT_KINDS: tuple[str, ...] = ("trained", "unseen", "seen", "heldout", "unknown")  # the reading order
INSIDE: tuple[str, ...] = ("trained", "unseen", "seen")  # the splits inside the training distribution
# Fewer unseen instances than this in a bucket and its unseen accuracy is too loose to read (a 95%
# Wilson interval on 30 instances is still about +-17 points at 50%).
MIN_UNSEEN = 30
# A training distribution with at most this many problems is listed whole to find every unseen one.
ENUMERATE_LIMIT = 1_000_000

# Tokens a chat answer gets beyond what the completion prompt's answer needs: a chat model wraps its
# answer in a sentence or two ("The correct answer is candidate 2."), and a 4-token budget cuts it.
CHAT_PROSE_TOKENS = 256
P = TypeVar("P")  # a task's problem dataclass
T = TypeVar("T")


# --------------------------------------------------------------------------- drawing problems


class Draw(Protocol):
    """Where a task's generator gets its randomness: Hypothesis (search, shrinking) or a Random.

    ``knob`` draws a difficulty knob (a template, an error kind): like ``choice`` for a Random, so
    the frozen sets do not depend on it, but a search puts the options easiest first by ``rank``
    (lowest first), so that Hypothesis shrinks towards the easiest setting.
    """

    def integer(self, lo: int, hi: int) -> int: ...

    def choice(self, options: Sequence[T]) -> T: ...

    def boolean(self) -> bool: ...

    def knob(self, options: Sequence[T], rank: Callable[[T], Any]) -> T: ...


STREAMS = ("frozen", "train", "valid", "test", "fresh", "curve", "vocab")


def stream_random(stream: str, task: str, seed: int, i: int) -> random.Random:
    """The ``Random`` behind problem ``i`` of ``stream`` for ``task`` at ``seed``.

    Args: ``stream``, one of ``STREAMS``; ``task``, the task's name; ``seed``, ``i``: integers.
    Returns: a fresh ``random.Random``. Raises: ``ValueError`` for an unknown stream.
    ``frozen`` is ``Random(seed + i)``, how the v1 sets were drawn; every other stream is seeded by
    a SHA-256 of ``(stream, task, seed, i)``, so neighbouring seeds do not share draws.
    """
    if stream == "frozen":
        return random.Random(seed + i)
    if stream not in STREAMS:
        raise ValueError(f"unknown stream {stream!r}; known: {', '.join(STREAMS)}")
    digest = hashlib.sha256(f"oraclebench\0{stream}\0{task}\0{seed}\0{i}".encode()).digest()
    return random.Random(int.from_bytes(digest[:16], "big"))


class RandomDraw:
    """A ``Draw`` backed by ``random.Random``: problem i of a stream is ``RandomDraw(stream_random(...))``."""

    def __init__(self, rng: random.Random):
        self.rng = rng

    def integer(self, lo: int, hi: int) -> int:
        return self.rng.randint(lo, hi)

    def choice(self, options: Sequence[T]) -> T:
        return options[self.rng.randrange(len(options))]

    def boolean(self) -> bool:
        return self.rng.random() < 0.5

    def knob(self, options: Sequence[T], rank: Callable[[T], Any]) -> T:
        return self.choice(options)  # the order given, not the rank: the frozen sets stay as they were drawn


class LowestDraw:
    """A ``Draw`` that always takes the simplest value: ``lo``, the first option, False, the easiest knob.

    ``generate(LowestDraw(), config)`` is the smallest problem of a config whose knobs are all fixed
    (judge: a template's lowest numbers); the counterexample search screens those first.
    """

    def integer(self, lo: int, hi: int) -> int:
        return lo

    def choice(self, options: Sequence[T]) -> T:
        return options[0]

    def boolean(self) -> bool:
        return False

    def knob(self, options: Sequence[T], rank: Callable[[T], Any]) -> T:
        return min(options, key=rank)


class HypothesisDraw:
    """A ``Draw`` backed by Hypothesis's ``draw``, whose shrinker lowers each choice towards its simplest.

    - ``knob``: options sorted easiest first, so a knob shrinks to the easiest setting before the
      values drawn after it (tasks draw their knobs first: the choice sequence holds them first);
    - ``integer``: a band of one digit count (``[10**(d-1), 10**d - 1]``, two digits or more) is
      drawn digit by digit, most significant first. Multiplication draws a digit count, then an
      operand in its band: drawn as one integer, ``70`` in ``[10, 99]`` cannot follow a shrink of the
      count to ``[1, 9]``; drawn as digits ``7, 0``, the leading digit carries over to ``7``. Other
      ranges stay one choice, which shrinks best;
    - ``choice``: shrinks to the first option; ``boolean``: to False;
    - ``pad(n)``: Hypothesis orders examples shortlex, fewer choices before smaller ones, so a
      setting that draws fewer values (a judge template of two quantities) would beat an easier one
      of three. Padded to one length, the choices drawn first, the knobs, decide.
    """

    def __init__(self, draw: Any):
        self._draw = draw
        self.drawn = 0  # choices drawn so far

    def draw(self, strategy: Any) -> Any:
        self.drawn += 1
        return self._draw(strategy)

    def pad(self, choices: int) -> None:
        """Draw ignored False values until ``choices`` choices are drawn in all (none if already past)."""
        while self.drawn < choices:
            self.draw(_sampled((False, True)))

    def integer(self, lo: int, hi: int) -> int:
        width = len(str(hi))
        if lo < 10 or len(str(lo)) != width:  # not a band of one digit count: one choice shrinks best
            return self.draw(_integers(lo, hi))
        low, high = str(lo), str(hi)
        value, at_low, at_high = 0, True, True
        for i in range(width):  # the most significant digit first, each bounded to stay in [lo, hi]
            d_min = int(low[i]) if at_low else 0
            d_max = int(high[i]) if at_high else 9
            digit = self.draw(_integers(d_min, d_max))
            at_low, at_high = at_low and digit == d_min, at_high and digit == d_max
            value = 10 * value + digit
        return value

    def choice(self, options: Sequence[T]) -> T:
        options = tuple(options)
        if len(options) == 1:  # Hypothesis draws no choice for one option (``just``): none is counted
            return options[0]
        try:
            hash(options)
        except TypeError:  # unhashable options cannot be cached: build the strategy each time
            return self.draw(_sampled.__wrapped__(options))
        return self.draw(_sampled(options))

    def boolean(self) -> bool:
        return self.draw(_sampled((False, True)))

    def knob(self, options: Sequence[T], rank: Callable[[T], Any]) -> T:
        return self.choice(sorted(options, key=rank))


# Strategies are built once: building one per draw costs more than the draw itself (profiled on abcd).
@functools.lru_cache(maxsize=4096)
def _integers(lo: int, hi: int):
    from hypothesis import strategies as st

    return st.integers(lo, hi)


@functools.lru_cache(maxsize=1024)
def _sampled(options: tuple):
    from hypothesis import strategies as st

    return st.sampled_from(options)


# --------------------------------------------------------------------------- requests and responses


@dataclass(frozen=True)
class ChatPrompt:
    """A task's prompt in the form a chat model reads it (``Task.chat``).

    - ``instruction``: one sentence stating the answer format, sent as the system message (or put
      before the user message where a server refuses a system role);
    - ``user``: the question as a user message;
    - ``max_tokens``: the budget floor of a chat answer: room for a sentence of prose around the
      answer, which a completion budget (judge: 4 tokens) has not;
    - ``stop``: stop strings for chat answers (none by default: a chat model ends its own turn).
    """

    instruction: str
    user: str
    max_tokens: int
    stop: tuple[str, ...] = ()

    def key(self) -> list:
        return [self.instruction, self.user, self.max_tokens, list(self.stop)]


@dataclass(frozen=True)
class Request:
    """One thing asked of a model. Every adapter answers a list of these in one call.

    - Generation: ``prompt`` continued greedily until a ``stop`` string or ``max_tokens``.
    - Choice (``choices`` non-empty): which continuation of ``prompt`` the model prefers
      (judge: ``("1", "2")`` after ``... candidate_``).
    - ``spans``: texts that occur verbatim in ``prompt`` and whose hidden states an adapter may
      replace (the transplant adapter); ``span_prompts[k]`` is the prompt that ``spans[k]``
      continues in the arguer pass. Adapters that do not need them ignore them.
    - ``task``/``problem``: the structured instance, for adapters that answer from the oracle
      (``oracle``, ``random``). They are not part of the cache key: the prompt is.
    - ``chat``: the same question in chat form (``ChatPrompt``), for adapters that talk to a chat API;
      part of the cache key, so a reworded chat form is asked again.
    - ``variant``: what else the right answer depends on beyond the prompt (a causal world's SHA-256):
      part of the cache key when set, so the oracle's answer for one world is never reused for
      another world's same prompt. Empty for the default variant (keys stay as they were).
    """

    prompt: str
    stop: tuple[str, ...] = ()
    max_tokens: int = 64
    choices: tuple[str, ...] = ()
    spans: tuple[str, ...] = ()
    span_prompts: tuple[str, ...] = ()
    task: str = ""
    problem: dict = field(default_factory=dict, compare=False, hash=False)
    chat: ChatPrompt | None = None
    variant: str = ""

    @property
    def kind(self) -> Literal["generate", "choice"]:
        return "choice" if self.choices else "generate"

    def key(self) -> dict:
        """What identifies the request's answer for a given model (used for caching)."""
        key: dict = {"prompt": self.prompt, "kind": self.kind}
        if self.choices:
            key["choices"] = list(self.choices)
        else:
            key["stop"] = list(self.stop)
            key["max_tokens"] = self.max_tokens
        if self.spans:
            key["spans"] = list(self.spans)
            key["span_prompts"] = list(self.span_prompts)
        if self.chat is not None:
            key["chat"] = self.chat.key()
        if self.variant:
            key["variant"] = self.variant
        return key


@dataclass
class Response:
    """A model's answer to one ``Request``.

    ``error`` is set when the request failed (timeout, server error, exception in the model): such
    an item is counted apart from wrong answers. ``scores`` are per-choice log-probabilities when
    the adapter has them. ``truncated``: the answer was cut by the token budget before it ended (the
    server's ``length`` finish reason, or thinking that never closed): such an answer is counted
    apart and never cached as final. ``text`` is the completion as the model wrote it; it is cut at
    ``stop`` when scored, where the adapter asked with other stop strings than the request's (a chat
    form's), else at the request's (``Task.assess``). ``written``: everything the model wrote, where
    ``text`` is only its answer (``<think>`` blocks taken out: ``models.base.strip_thinking``; the
    scratchpad model's answer put first), so a record keeps it (``detail["written"]``); None where
    ``text`` is all of it. ``asked``: the prompt the adapter sent where it is not the request's
    (``detail["asked"]``).
    """

    text: str = ""
    choice: int | None = None
    scores: list[float] | None = None
    error: str | None = None
    latency: float = 0.0
    truncated: bool = False
    stop: tuple[str, ...] | None = None
    written: str | None = None  # the model's whole text where the adapter read ``text`` out of it (thinking)
    asked: str | None = None  # the prompt the adapter sent, where it is not the request's (a worked form)
    truncated_why: str | None = None  # why ``truncated``, where it is not the token budget (an adapter without one)

    def to_json(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> "Response":
        values = {f.name: data.get(f.name) for f in dataclasses.fields(cls) if f.name in data}
        if isinstance(values.get("stop"), list):  # JSON has no tuples
            values["stop"] = tuple(values["stop"])
        return cls(**values)


# --------------------------------------------------------------------------- scores and instances


@dataclass(frozen=True)
class Score:
    """The oracle's verdict on one answer (after inspect_ai's ``Score``).

    ``answer`` is the parsed answer, ``None`` when nothing could be parsed (NOANSWER, which is
    wrong but reported as such). ``reason`` is empty when correct and otherwise says why in one
    line. ``fields`` holds per-field correctness (causal: ``newA``..``sum``; multiplication: digit
    positions; abcd: ``final``/``trace``). ``correct``/``answer`` are the strict reading, in the
    task's own format; ``lenient``/``lenient_answer`` the lenient one (lm-evaluation-harness's
    strict and flexible match), which accepts whatever the strict reading accepts.
    """

    correct: bool
    answer: Any
    expected: Any
    reason: str = ""
    fields: dict[str, bool] = field(default_factory=dict)
    detail: dict = field(default_factory=dict)
    lenient: bool = False  # the lenient reading (final answer found in prose) is right; see Task.assess
    lenient_answer: Any = None


@dataclass(frozen=True)
class Instance:
    """A problem in a set: stable id, the structured problem, and its bucket metadata."""

    task: str
    id: str
    problem: dict
    bucket: dict
    label: str  # short bucket label for test ids, e.g. "len07", "2x3"

    def to_json(self) -> dict:
        return dataclasses.asdict(self)


class TaskError(ValueError):
    """Bad task input or configuration; the message names the problem and the fix."""


@dataclass(frozen=True)
class Stratum:
    """One setting of a task's difficulty knobs (``1x2`` digits, programs of 5 tokens, a template).

    The counterexample search screens the strata easier than its best failure, in order, for a
    smaller one. ``problems()`` yields problems of the stratum smallest first by the task's
    ``size``; ``complete`` says it yields every one, so a model right on all of them up to a size
    is right on everything smaller in the stratum (what makes a result proven minimal). Otherwise
    it yields a few of the smallest (judge: a template at its lowest numbers). ``config`` is the
    task config restricted to the stratum, for random samples of it.
    """

    label: str
    config: Any
    problems: Callable[[], Iterable[Any]]
    complete: bool
    count: int | None = None  # how many distinct problems it holds, where known without listing them


def percent(part: int, whole: int) -> str:
    """``part`` of ``whole`` as a whole percentage that never rounds to a bound it did not reach:
    ``"<1%"`` for some but under one percent, ``">99%"`` for all but a few, ``"100%"`` only for all."""
    share = 100 * part / whole
    if 0 < share < 1:
        return "<1%"
    if 99 < share < 100:
        return ">99%"
    return f"{share:.0f}%"


@dataclass(frozen=True)
class BucketCoverage:
    """How much of one stratum of the training distribution the training data covered.

    ``space``: distinct problems in the stratum (``None``: too many kinds to count, judge's);
    ``trained``: distinct problems of the stratum in the training data (by ``Task.identity``).
    """

    label: str
    space: int | None
    trained: int

    @property
    def unseen(self) -> int | None:
        """Problems of the stratum the training data never drew (``None`` where ``space`` is)."""
        return None if self.space is None else self.space - self.trained

    def text(self) -> str:
        """``"2x2: 8,100 problems, 7,930 trained on (98%)"``."""
        if self.space is None:
            return f"{self.label}: {self.trained:,} distinct problems trained on (the space is too large to count)"
        share = f" ({percent(self.trained, self.space)})" if self.space else ""
        return f"{self.label}: {self.space:,} problems, {self.trained:,} trained on{share}"

    def to_json(self) -> dict:
        return {"space": self.space, "trained": self.trained, "unseen": self.unseen}


def default_field_rows(expected: Any, answer: Any, fields: dict) -> list[dict]:
    """``Task.field_rows``'s default (also for records of a task no longer installed)."""
    fields = fields or {}
    if isinstance(expected, dict):
        got = answer if isinstance(answer, dict) else {}
        return [{"name": k, "expected": v, "answer": got.get(k, "-"), "ok": bool(fields.get(k, got.get(k) == v))}
                for k, v in expected.items()]
    return [{"name": k, "expected": "", "answer": "", "ok": bool(v)} for k, v in fields.items()]


# --------------------------------------------------------------------------- the Task base class


class Task(Generic[P]):
    """Base class of the four tasks. A subclass sets ``name``, ``Config``, ``Problem`` and implements
    the methods marked below; everything else here is shared.

    Subclasses implement:
      ``generate(draw, config) -> P``, ``solve(p)``, ``render(p) -> Request``, ``render_answer(p, answer) -> str``,
      ``parse(text, p)``, ``score(p, response) -> Score``, ``bucket(p) -> dict``, ``label(p) -> str``,
      ``split(p, manifest) -> Split``, ``chat(p) -> ChatPrompt``, ``frozen_configs() -> list[(config, count)]``,
      ``manifest_from_spec(spec) -> dict``, ``train_config(manifest) -> Config``,
      ``size(p) -> tuple`` (with ``size_fields``) and ``strata(config, like) -> list[Stratum]``.

    Optional hooks, with defaults (a task from another package needs none of them): ``typed_example``
    and ``read_input`` (``try``, the web page's try box), ``field_view`` (``try``'s lines),
    ``field_rows`` (the web page's fields), ``knobs``, ``knob_grid``, ``report_view`` and
    ``trained_on`` (the report's curves, heatmap, training range and per-field section). They return
    plain data; the report, web page and command line draw it.

    ``size`` is the task's documented measure of "smallest" (multiplication: digits, then the
    operands): the counterexample search returns the failure of least ``size`` and shows it.
    ``strata`` splits a config's problems by knob setting, in ``size`` order: every problem of a
    stratum is smaller than every problem of the strata after it.

    A manifest is the task-specific dict of what a model saw in training (for example
    ``{"omitted": ["1,0,1,0,1"]}`` for causal); ``split(p, None)`` is ``"unknown"``: with no manifest
    nothing is known about what the model saw. ``split(p, {})`` is ``"seen"``: a manifest that
    holds nothing out.

    Errors: bad user input (a ``--heldout`` spec, a knob, a typed problem) raises ``TaskError`` with
    one line naming the problem and the fix; a completion the task cannot read is no error but a
    wrong answer (``score`` returns ``Score(correct=False, reason=...)``).

    Example (any task; the oracle's own answer is right, and scoring never needs a model):

    >>> from oraclebench.tasks import get_task
    >>> from oraclebench.tasks.base import Response
    >>> task = get_task("multiplication")
    >>> p = task.sample(seed=0, i=3)
    >>> request = task.render(p)
    >>> task.assess(p, request, Response(text=task.render_answer(p, task.solve(p)))).correct
    True
    >>> task.assess(p, request, Response(text=" no idea")).correct
    False
    """

    name: ClassVar[str]
    version: ClassVar[str] = "v1"
    size_fields: ClassVar[tuple[str, ...]] = ()  # what each entry of ``size(p)`` is, for the output
    search_choices: ClassVar[int] = 0  # a strategy's examples are padded to this many choices (HypothesisDraw.pad)
    Config: ClassVar[type]
    Problem: ClassVar[type]

    # ---- to implement -------------------------------------------------------------------------
    def generate(self, draw: Draw, config: Any) -> P:
        """One problem drawn through ``draw`` under ``config``.

        Args:
            draw: where every choice comes from (``RandomDraw`` for sets, ``HypothesisDraw`` for the
                counterexample search, ``LowestDraw`` for the smallest problem); draw knobs first.
            config: the task's ``Config`` (its difficulty knobs; ``self.config(**knobs)`` validates).
        Returns:
            a frozen, hashable ``Problem``. Pure: the same draws give the same problem.
        """
        raise NotImplementedError

    def solve(self, problem: P) -> Any:
        """The exact answer to ``problem``, from the task's oracle (``oracles/``); never a model."""
        raise NotImplementedError

    def render(self, problem: P) -> Request:
        """What is asked of a model: a ``Request`` with the prompt, stop strings and token budget
        (or ``choices``), ``task`` and ``problem`` (``encode(problem)``) filled in."""
        raise NotImplementedError

    def render_answer(self, problem: P, answer: Any) -> str:
        """The completion text a perfect model would write for ``answer`` (oracle model, training data)."""
        raise NotImplementedError

    def parse(self, text: str, problem: P) -> Any:
        """The answer a completion states, by the task's strict reading, or ``None`` when it states none.

        Args: ``text``: the completion already cut at the stop strings; ``problem``: what was asked.
        Raises nothing for unreadable text (that is a wrong answer, not an error).
        """
        raise NotImplementedError

    def score(self, problem: P, response: Response) -> Score:
        """The strict reading of ``response`` (its text already cut at the stop strings)."""
        raise NotImplementedError

    def read_lenient(self, text: str, problem: P) -> tuple[Any, bool]:
        """The lenient reading of a completion: (the final answer found in prose, whether it is right).

        Overridden per task; the default finds nothing, so the lenient reading equals the strict one.
        """
        return None, False

    def bucket(self, problem: P) -> dict:
        """The difficulty knobs of ``problem`` as a flat dict (``{"digits": "2x3"}``): reports group by it."""
        raise NotImplementedError

    def label(self, problem: P) -> str:
        """A short human label of ``problem`` (``47x23``), used in test ids and tables."""
        raise NotImplementedError

    def split(self, problem: P, manifest: dict | None) -> Split:
        """Whether ``problem`` is inside the training distribution ``manifest`` describes: ``"seen"`` if it
        is, ``"heldout"`` if not, ``"unknown"`` when ``manifest`` is ``None`` (see the class docstring).

        The task's own hook: only the task knows what its manifest covers. Whether the exact problem was
        trained on is decided once for every task, by ``training_split``.
        """
        raise NotImplementedError

    def chat(self, problem: P) -> ChatPrompt:
        """The problem as a chat model reads it: the question, and one sentence on the answer format
        that ``parse`` accepts (served adapters send it to chat APIs instead of ``render``'s prompt)."""
        raise NotImplementedError

    def subset_axes(self, problem: P) -> dict:
        """Every axis a score depends on, for subsets that keep the set's balance (``--limit``): the
        bucket by default; a task adds what its bucket leaves out (judge: the answer's position)."""
        return self.bucket(problem)

    def identity(self, problem: P) -> str:
        """What makes two problems the same question: the exact key of a problem in training data (a record
        is ``trained`` iff its identity is among the training problems'; a fresh set drops those)."""
        return repr(self.encode(problem))

    def coverage_bucket(self, problem: P) -> str:
        """The label of the stratum (``strata``) that holds ``problem``: training coverage is counted per
        stratum of the training distribution. Default: ``label``; a task whose labels are finer than its
        strata overrides it (causal: one stratum, ``inputs``; judge: the template)."""
        return self.label(problem)

    def stratum(self, label: str, bucket: dict) -> str:
        """``coverage_bucket`` read back from what a record keeps (its ``label`` and ``bucket``), where the
        problem itself is not at hand: the report compares trained and unseen instances within it.
        Overridden with ``coverage_bucket`` (``tests/test_sets.py`` checks that they agree)."""
        return label

    def drawn_id(self, kind: str, k: int, width: int = 4) -> str:
        """The id of the ``k``-th instance drawn for a run (``kind``: ``fresh{seed}`` or ``unseen``):
        ``causal-fresh0-0007``. A variant (a world of one's own) puts its version in, as its frozen ids
        do (``causal-v05_d2_s0.49ceef1d-fresh0-0007``): two worlds' draws are never the same instance,
        so ``compare`` never pairs them."""
        prefix = self.name if self.version == type(self).version else f"{self.name}-{self.version}"
        return f"{prefix}-{kind}-{k:0{width}d}"

    def training_split(self, problem: P, manifest: dict | None, trained: frozenset[str] | None) -> Split:
        """The record's split (see ``Split``): ``"trained"`` if ``identity(problem)`` is in ``trained`` (the
        model's training problems, ``training_identities``), else the task's ``split`` hook, where an
        inside problem is ``"unseen"`` when ``trained`` is known and ``"seen"`` when it is ``None``.

        Args: ``manifest``, the task's manifest (``None``: nothing known); ``trained``, the identities of
        the training problems, ``None`` when the manifest records no training data.
        """
        if trained is not None and self.identity(problem) in trained:
            return "trained"
        inside = self.split(problem, manifest)
        return "unseen" if inside == "seen" and trained is not None else inside

    def frozen_configs(self) -> list[tuple[Any, int]]:
        """The strata of the frozen set: (config, how many distinct problems to draw with it)."""
        raise NotImplementedError

    def size(self, problem: P) -> tuple:
        """The task's measure of how small ``problem`` is: compared as a tuple, smaller first."""
        raise NotImplementedError

    def strata(self, config: Any, like: P | None = None) -> list[Stratum]:
        """``config``'s problems by knob setting, in ``size`` order (see the class docstring).

        ``like``: a failure found already; a stratum that cannot list all its problems yields those
        that keep ``like``'s other features first (judge: its error kind and argument flags).
        """
        raise NotImplementedError

    def train_config(self, manifest: dict | None) -> Any:
        """A config whose problems are all ``seen`` under ``manifest`` (what training draws from)."""
        raise NotImplementedError

    def manifest_from_spec(self, spec: str) -> dict:
        """Parse a ``--heldout`` spec for this task (``"lengths=1-12"``) into the task's manifest dict."""
        raise NotImplementedError

    # ---- optional hooks: what reports, the web page, ``try`` and ``explore`` ask of a task -------
    typed_example: ClassVar[str | None] = None  # what a user types for ``try`` (``"47x23"``); None: no typed input

    def read_input(self, text: str) -> P:
        """The problem a user typed (``oraclebench try``, the web page's try box).

        Args: ``text``, as typed. Returns: the problem. Raises: ``TaskError`` naming the expected
        form. The default reads nothing: a task without ``typed_example`` takes no typed input.
        """
        raise TaskError(f"{self.name}: takes no typed input")

    def field_view(self, score: Score) -> list[list[tuple[str, bool | None]]]:
        """How ``try`` shows a score field by field: lines of (text, right?) pieces; ``None``: plain text.

        A piece ``(text, ok, "colour")`` is marked in colour only, never with a ``[ok]`` mark. Plain data, drawn by the caller (green/red on a terminal, ``[ok]``/``[XX]`` marks otherwise).
        The default is one line per ``score.fields`` entry.
        """
        return [[(f"  {name:12s} ", None), ("right" if ok else "wrong", ok)] for name, ok in score.fields.items()]

    # The report's view of a task: plain names and predicates, drawn by ``oraclebench.report``.
    knobs: ClassVar[tuple[str, ...]] = ()  # bucket keys the difficulty curves are drawn against (default: the first)
    knob_grid: ClassVar[tuple[str, str] | None] = None  # two knobs drawn as one heatmap instead of two curves
    report_view: ClassVar[str] = "fields"  # the report's per-field section: fields, digits, trace or judge

    def trained_on(self, knob: str, manifest: dict) -> tuple[Callable[[Any], bool] | None, str]:
        """What training covered along ``knob`` (a bucket key; for ``knob_grid``, ``"grid"`` and a pair of
        values), read from the task's ``manifest``: a predicate over knob values and a short text.

        Returns ``(None, "")`` when the manifest says nothing about the knob (the default); the report
        then shades the range the records' splits show.
        """
        return None, ""

    def field_rows(self, expected: Any, answer: Any, fields: dict) -> list[dict]:
        """A record's answer field by field for the web page: ``{"name", "expected", "answer", "ok"}`` rows.

        Args: the record's ``expected`` and parsed ``answer`` (as stored in records.jsonl, JSON
        values) and its ``fields`` (name -> right). The default: one row per key of a dict answer,
        else one row per field with its verdict only.
        """
        return default_field_rows(expected, answer, fields)

    # ---- variants: one task, several definitions (causal's worlds) -------------------------------
    # The option that picks a variant (``--world`` for causal: a world file); None: the task has none.
    # ``oraclebench.tasks.use_variant`` binds it for a whole run, so every command, the plugin and the
    # sets see the same variant through ``get_task``.
    variant_option: ClassVar[str | None] = None
    variant_help: ClassVar[str] = ""

    def variant(self, value: str) -> "Task[P]":
        """This task bound to the variant ``value`` (a world file); ``TaskError`` naming the problem."""
        raise TaskError(f"{self.name}: has no variants")

    def variant_id(self) -> dict | None:
        """What identifies the bound variant (``{"name", "sha256", "path", ...}``); None: the default."""
        return None

    def check_variant(self, manifest: dict | None, model: str) -> None:
        """Raise ``TaskError`` naming both when ``manifest`` (what ``model`` trained on) is another
        variant than the bound one; nothing when the manifest says nothing (no manifest, or no variant)."""

    def default_config(self) -> Any:
        """The config of "all knobs open": ``Config()``, on the bound variant (causal: its world)."""
        return self.Config()

    def variant_manifest(self, manifest: dict | None) -> dict | None:
        """``manifest`` (what training sees) with the bound variant recorded in it, so data generated or a
        model trained under ``--world`` says which world; unchanged when no variant is bound."""
        return manifest

    def frozen_variant(self) -> list[Instance]:
        """The bound variant's frozen set, drawn in memory (only called when ``variant_id()`` is not None)."""
        return self.frozen(0)

    def _overrides(self, hook: str) -> bool:
        return getattr(type(self), hook) is not getattr(Task, hook)

    # ---- shared ---------------------------------------------------------------------------------
    def assess(self, problem: P, request: Request, response: Response) -> Score:
        """The oracle's verdict on a response as the model wrote it, strict and lenient.

        Args:
            problem: the instance's problem; ``request``: what was asked (its stop strings);
            response: the raw completion, as stored in the cache and the records.
        Returns:
            ``score`` of the text cut at the request's stop strings (or the response's own, where the
            adapter asked with others: a chat form's) by ``cut_at_stop``, with
            ``lenient``/``lenient_answer`` from ``read_lenient`` (or the strict reading where that is
            already right, or where the adapter chose by log-probabilities: there is no prose to read).
        Every scorer (runner, explore, ``try``, the results browser) goes through here, so all cut alike.
        """
        stop = request.stop if response.stop is None else response.stop
        cut = dataclasses.replace(response, text=cut_at_stop(response.text or "", stop))
        strict = self.score(problem, cut)
        if response.error is not None:
            return strict
        if strict.correct or response.choice is not None:
            return dataclasses.replace(strict, lenient=strict.correct, lenient_answer=strict.answer)
        answer, ok = self.read_lenient(cut.text, problem)
        return dataclasses.replace(strict, lenient=bool(ok), lenient_answer=answer)

    def config(self, **knobs: Any) -> Any:
        """A validated config; unknown knobs are a ``TaskError`` naming the known ones."""
        known = {f.name for f in dataclasses.fields(self.Config)}
        unknown = sorted(set(knobs) - known)
        if unknown:
            raise TaskError(f"{self.name}: unknown option(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        return self.Config(**knobs)

    def strategy(self, config: Any = None):
        """A Hypothesis strategy of problems under ``config`` (default: all knobs open)."""
        from hypothesis import strategies as st

        config = config if config is not None else self.default_config()

        @st.composite
        def problems(draw):
            hypothesis_draw = HypothesisDraw(draw)
            problem = self.generate(hypothesis_draw, config)
            hypothesis_draw.pad(self.search_choices)
            return problem

        return problems()

    def sample(self, seed: int, i: int, config: Any = None, stream: str = "frozen") -> P:
        """Problem ``i`` of ``stream`` at ``seed``: depends on ``stream_random(stream, name, seed, i)`` alone."""
        config = config if config is not None else self.default_config()
        return self.generate(RandomDraw(stream_random(stream, self.name, seed, i)), config)

    def chat_answer(self, problem: P, answer: Any) -> str:
        """What a perfect chat model answers to ``chat(problem)``: the completion without the spacing
        that continues a completion prompt (the assistant turn of chat fine-tuning data)."""
        return self.render_answer(problem, answer).strip()

    def encode(self, problem: P) -> dict:
        return plain_dict(problem)

    def decode(self, data: dict) -> P:
        return self.Problem(**{k: tuple(v) if isinstance(v, list) else v for k, v in data.items()})

    def instance(self, problem: P, id: str) -> Instance:
        return Instance(self.name, id, self.encode(problem), self.bucket(problem), self.label(problem))

    def request(self, instance: Instance) -> Request:
        """The model request for an instance, carrying the structured problem for oracle-backed models."""
        problem = self.decode(instance.problem)
        req = self.render(problem)
        return dataclasses.replace(req, task=self.name, problem=instance.problem, chat=self.chat(problem))

    def distinct(self, seed: int, config: Any, n: int, seen: set[str],
                 max_draws: int | None = None, stream: str = "frozen") -> Iterator[tuple[int, P]]:
        """Up to ``n`` problems ``sample(seed, i, config, stream)`` whose encodings are not in ``seen`` (each
        is added), with their draw index ``i``. Stops early after ``max_draws`` draws, or after 1,000 draws
        in a row that bring nothing new (the space is, almost surely, used up)."""
        got = misses = i = 0
        while got < n and misses < 1000 and (max_draws is None or i < max_draws):
            problem = self.sample(seed, i, config, stream)
            key = repr(self.encode(problem))
            if key in seen:
                misses += 1
            else:
                seen.add(key)
                got, misses = got + 1, 0
                yield i, problem
            i += 1

    def frozen(self, seed: int = 0) -> list[Instance]:
        """The versioned frozen set: distinct problems per stratum, drawn from ``Random(seed + i)``."""
        out: list[Instance] = []
        seen: set[str] = set()
        for s, (config, count) in enumerate(self.frozen_configs()):
            for _, p in self.distinct(seed + 1_000_003 * s, config, count, seen, max_draws=count * 50):
                out.append(self.instance(p, f"{self.name}-{self.version}-{len(out):04d}"))
        return out

    def fresh(self, n: int, seed: int, config: Any = None, exclude: frozenset[str] = frozenset()) -> list[Instance]:
        """``n`` distinct new problems from the strategy's full range, on the ``fresh`` stream: a re-test
        drawn apart from training data (``train``) and the frozen sets (see ``fresh_draws``)."""
        return self.fresh_draws(n, seed, config, exclude)[0]

    def fresh_draws(self, n: int, seed: int, config: Any = None,
                    exclude: frozenset[str] = frozenset()) -> tuple[list[Instance], int]:
        """``fresh``'s instances, and how many distinct draws were dropped because ``exclude`` holds them.

        The instance ``...-fresh{seed}-{i}`` is ``sample(seed, i, stream="fresh")``; a draw that repeats
        an earlier problem is skipped (a repeat would weigh that problem twice), so a space smaller
        than ``n`` (causal's 32 inputs) gives all of it, and fewer than ``n``. A draw whose
        ``identity`` is in ``exclude`` (a model's training problems, see ``training_identities``) is
        dropped and does not count towards ``n``.
        """
        out: list[Instance] = []
        dropped = 0
        for i, p in self.distinct(seed, config, n + len(exclude), set(), stream="fresh"):
            if len(out) == n:
                break
            if self.identity(p) in exclude:
                dropped += 1
            else:
                out.append(self.instance(p, self.drawn_id(f"fresh{seed}", i)))
        return out, dropped

    def training_config(self, data: dict) -> Any:
        """The config training drew from (the training distribution): ``train_config(split)`` with the
        knobs of ``data["config"]`` over it. Raises: ``TaskError`` for a description that is not one."""
        try:
            return dataclasses.replace(self.train_config(data.get("split")), **(data.get("config") or {}))
        except (AttributeError, TypeError, ValueError) as exc:
            raise TaskError(f"{self.name}: unreadable training_data {data!r} in the manifest: {exc}") from None

    def training_problems(self, data: dict) -> Iterator[P]:
        """The problems a training-data description names, in order.

        Args: ``data`` as manifests store it under ``training_data``: ``{"stream": "train", "seed": S,
        "count": N, "split": <the task's manifest>, "config": {knob: value}}`` (``config`` overrides
        the knobs of ``train_config(split)``, e.g. ``{"scratchpad": true}``).
        Raises: ``TaskError`` for a description that is not one.
        """
        config = self.training_config(data)
        try:
            stream, seed, count = data.get("stream", "train"), int(data["seed"]), int(data["count"])
        except (KeyError, TypeError, ValueError) as exc:
            raise TaskError(f"{self.name}: unreadable training_data {data!r} in the manifest: {exc}") from None
        for i in range(count):
            yield self.sample(seed, i, config, stream)

    def training_identities(self, data: dict) -> frozenset[str]:
        """``identity`` of every problem of a training-data description (see ``training_problems``);
        computed once per description and process (a run labels every record with it)."""
        return _training_identities(self, _data_key(data))

    def training_coverage(self, data: dict) -> list[BucketCoverage]:
        """Per stratum of the training distribution (``strata(training_config(data))``, in order): how many
        distinct problems it holds and how many of them the training data drew (by ``identity``).

        The space is the stratum's ``count``, or, for a complete stratum without one, its problems counted
        one by one; ``None`` for a stratum that cannot list them all (judge's templates).
        """
        by_bucket = dict(_training_buckets(self, _data_key(data)))
        out = []
        for stratum in self.strata(self.training_config(data)):
            space = stratum.count
            if space is None and stratum.complete:
                space = len({self.identity(p) for p in stratum.problems()})
            out.append(BucketCoverage(stratum.label, space, len(by_bucket.pop(stratum.label, ()))))
        # A training problem outside every stratum would be a task bug: count it, never drop it silently.
        out += [BucketCoverage(label, None, len(keys)) for label, keys in sorted(by_bucket.items())]
        return out

    def unseen_draws(self, n: int, seed: int, data: dict) -> tuple[list[Instance], int | None]:
        """Up to ``n`` distinct problems of the training distribution that the training data never drew
        (``--fresh N --split unseen``), and how many such problems the space holds (``None``: not counted).

        Where the space is counted and holds no more than ``n`` unseen problems and at most
        ``ENUMERATE_LIMIT`` in all, every one of them is taken (instances ``...-unseen-{k}``, in stratum
        order); otherwise problem ``i`` of the ``fresh`` stream under ``training_config(data)`` is kept
        when it is new, not trained on and inside the distribution (instances ``...-unseen{seed}-{i}``).
        Never returns a trained problem.
        """
        trained = self.training_identities(data)
        split = data.get("split") or {}
        cover = self.training_coverage(data)
        counted = all(b.space is not None for b in cover)
        available = sum(b.unseen for b in cover) if counted else None
        if available is not None and available <= n and sum(b.space for b in cover) <= ENUMERATE_LIMIT:
            found = [p for s in self.strata(self.training_config(data)) for p in s.problems()
                     if self.training_split(p, split, trained) == "unseen"]
            return [self.instance(p, self.drawn_id("unseen", k)) for k, p in enumerate(found)], available
        out: list[Instance] = []
        for i, p in self.distinct(seed, self.training_config(data), n + len(trained), set(), stream="fresh"):
            if self.training_split(p, split, trained) == "unseen":
                out.append(self.instance(p, self.drawn_id(f"unseen{seed}", i, width=5)))
                if len(out) == n:
                    break
        return out, available


# Values ``dataclasses.asdict`` returns as they are (Python 3.12's ``_ATOMIC_TYPES``, less the types no
# problem holds); 3.11's deep-copies each of them.
_ATOMIC = frozenset({type(None), bool, int, float, str, complex, bytes})


def plain_dict(obj: Any) -> Any:
    """``dataclasses.asdict(obj)``, computed as Python 3.12 computes it: values of an atomic type (None,
    bool, int, float, str, complex, bytes) are kept as they are, where 3.11 deep-copies each one (a copy
    of an immutable value is the value itself, so the result is equal and its ``repr`` the same). On
    3.11 asdict was 38% of drawing a model's 20,000 training problems, which every run that labels
    splits does. Source: CPython 3.12, ``Lib/dataclasses.py``, ``_asdict_inner`` (``dict_factory=dict``).
    """
    if type(obj) in _ATOMIC:
        return obj
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: plain_dict(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, tuple) and hasattr(obj, "_fields"):  # a namedtuple: its constructor takes the fields
        return type(obj)(*[plain_dict(v) for v in obj])
    if isinstance(obj, (list, tuple)):
        return type(obj)(plain_dict(v) for v in obj)
    if isinstance(obj, dict):
        return type(obj)((plain_dict(k), plain_dict(v)) for k, v in obj.items())
    import copy

    return copy.deepcopy(obj)


def _data_key(data: dict) -> str:
    """A training-data description as a hashable key (JSON, keys sorted); unreadable ones as their repr."""
    import json

    try:
        return json.dumps(data, sort_keys=True)
    except (TypeError, ValueError):
        return repr(data)


@functools.lru_cache(maxsize=16)
def _training_identities(task: "Task", key: str) -> frozenset[str]:
    return frozenset().union(*_training_buckets(task, key).values())


class DrawStore(Protocol):
    """Where ``training_identities`` and ``training_coverage`` keep what they drew, across processes
    (``oraclebench.cache.DrawStore``: a JSON file per key). ``get`` answers None for a key it lacks
    or cannot read; ``put`` may fail silently (the draws are then made again next time)."""

    def get(self, key: str) -> Any: ...

    def put(self, key: str, value: dict[str, list[str]]) -> None: ...


_draw_store: DrawStore | None = None


def keep_training_draws(store: DrawStore | None) -> None:
    """Keep each training-data description's drawn identities in ``store`` (None: in this process only).

    A run that labels splits draws the model's training data once per process: 40,000 products for
    ``gpt2-mult``, 0.36 s of a 3.9 s run measured here (``Random`` seeded per draw is most of it). An
    entry's key names everything the draws depend on: the task, its bound variant (a world's SHA-256),
    the description, Python's version, and the SHA-256 of every file of the built-in tasks and
    oracles (``tasks/``, ``oracles/``), so a changed task or oracle never reads an entry drawn
    before. Tasks from other packages are not kept (their code is not all known here).
    """
    global _draw_store
    _draw_store = store


@functools.lru_cache(maxsize=1)
def _core_digest() -> str:
    """SHA-256 over the path and bytes of every ``.py`` and ``.toml`` file of the built-in tasks and oracles."""
    from pathlib import Path

    import oraclebench.oracles

    here = Path(__file__).resolve().parent
    oracles = Path(oraclebench.oracles.__file__).resolve().parent
    sha = hashlib.sha256()
    for root in (here, oracles):
        for path in sorted(p for p in root.rglob("*") if p.suffix in (".py", ".toml") and "__pycache__" not in p.parts):
            sha.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes() + b"\0")
    return sha.hexdigest()


def _store_key(task: "Task", key: str) -> str | None:
    """The store's key of ``key``'s draws for ``task``; None for a task from another package."""
    import json
    import sys

    if not type(task).__module__.startswith(f"{__package__}."):  # oraclebench.tasks.*, the built-ins
        return None
    parts = [task.name, task.variant_id(), key, list(sys.version_info[:2]), _core_digest()]
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def _stored_buckets(found: Any) -> dict[str, frozenset[str]] | None:
    if not isinstance(found, dict) or not all(
            isinstance(label, str) and isinstance(keys, list) and all(isinstance(k, str) for k in keys)
            for label, keys in found.items()):
        return None  # not what ``put`` wrote: drawn again
    return {label: frozenset(keys) for label, keys in found.items()}


@functools.lru_cache(maxsize=16)
def _training_buckets(task: "Task", key: str) -> dict[str, frozenset[str]]:
    """``{coverage_bucket: identities}`` of a training-data description's problems: one pass over them
    (tens of thousands of draws, about a second) serves both the split labels and the coverage; kept
    in the ``keep_training_draws`` store where one is set."""
    import json

    try:
        data = json.loads(key)
    except ValueError:
        raise TaskError(f"{task.name}: unreadable training_data {key[:200]} in the manifest") from None
    store, stored = _draw_store, None
    if store is not None and (stored := _store_key(task, key)) is not None:
        if (found := _stored_buckets(store.get(stored))) is not None:
            return found
    by_bucket: dict[str, set[str]] = {}
    for p in task.training_problems(data):
        by_bucket.setdefault(task.coverage_bucket(p), set()).add(task.identity(p))
    if stored is not None:
        store.put(stored, {label: sorted(keys) for label, keys in by_bucket.items()})
    return {label: frozenset(keys) for label, keys in by_bucket.items()}
