"""The records a task exchanges with models and reports: what is asked (``Request``, ``ChatPrompt``),
what comes back (``Response``), the oracle's verdict (``Score``), a set's problems (``Instance``),
a task's strata and their training coverage (``Stratum``, ``BucketCoverage``), and ``TaskError``.

Plain data, and the two helpers that show it (``percent``, ``default_field_rows``): models, the runner
and the reports use them without a ``Task`` (``tasks.base`` re-exports them).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any, Callable, Iterable, Literal


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
    (``detail["asked"]``). ``chat``: the adapter sent the task's chat form (``Task.chat``), whose
    answer is read whole, as its format sentence asks; a completion runs on past its answer where
    the task has no stop string to end it (causal).
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
    chat: bool = False  # answered the chat form (``Task.chat``), not the completion prompt

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


def shown_share(share: float, decimals: int = 1, percent: bool = True) -> str:
    """``share`` (a fraction, 0 to 1) as a percentage with ``decimals`` places (or, not ``percent``, as the
    fraction itself), never rounded to a bound it did not reach, as ``percent`` does: 1,999 of 2,000 is
    ``">99.9"``, not ``"100.0"`` (a claim that every answer was right), 1 of 2,500 ``"<0.1"``, not ``"0.0"``.

    >>> shown_share(1999 / 2000), shown_share(1 / 2500), shown_share(1.0), shown_share(0.5, 0), shown_share(29999 / 30000, 4, False)
    ('>99.9', '<0.1', '100.0', '50', '>0.9999')
    >>> shown_share(23 / 80), shown_share(0.0)
    ('28.8', '0.0')
    """
    top = 100.0 if percent else 1.0
    value = share * top
    # Rounded from the value without its float noise, half to even: 23 of 80 is 28.749999999999996 as a float
    # and printed 28.7; it is 28.75, and 28.8.
    text = str(Decimal(repr(round(value, 9))).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_EVEN))
    step = 10.0 ** -decimals
    if value < top and float(text) >= top:
        return f">{top - step:.{decimals}f}"
    if value > 0 and float(text) <= 0:
        return f"<{step:.{decimals}f}"
    return text


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
