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

Streams (which purpose draws from which ``Random``) are described in ``drawing``. The rest of the
vocabulary lives in sibling modules and is re-exported here (see ``__all__``), so
``from oraclebench.tasks.base import Request`` keeps working: ``drawing`` (the ``Draw`` sources),
``exchange`` (requests, responses, scores, instances, strata), ``training_draws`` (problem identities
and the training data's, kept across processes) and ``problem_sets`` (the frozen, fresh, training and
unseen sets, as functions of a task that ``Task``'s methods call).
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, ClassVar, Generic, Iterator, Literal, TypeVar

from oraclebench.tasks import problem_sets
from oraclebench.tasks.drawing import Draw, HypothesisDraw, LowestDraw, RandomDraw, stream_random
from oraclebench.tasks.exchange import (
    BucketCoverage, ChatPrompt, Instance, Request, Response, Score, Stratum, TaskError, default_field_rows, percent,
)
from oraclebench.tasks.reading import cut_at_stop
from oraclebench.tasks.training_draws import _data_key, _training_identities, keep_training_draws, plain_dict

# What tasks, models and the front ends import from here: the names defined below, and those of the sibling
# modules that code outside them imports from ``tasks.base`` (LowestDraw, percent and keep_training_draws are
# imported above only to be re-exported).
__all__ = [
    "Task", "Split", "UNKNOWN", "SPLIT_KINDS", "INSIDE", "MIN_UNSEEN", "CHAT_PROSE_TOKENS",
    "Draw", "RandomDraw", "LowestDraw", "HypothesisDraw", "stream_random",
    "ChatPrompt", "Request", "Response", "Score", "Instance", "TaskError", "Stratum", "BucketCoverage", "percent",
    "default_field_rows",
    "plain_dict", "keep_training_draws",
]

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

# Tokens a chat answer gets beyond what the completion prompt's answer needs: a chat model wraps its
# answer in a sentence or two ("The correct answer is candidate 2."), and a 4-token budget cuts it.
CHAT_PROSE_TOKENS = 256
P = TypeVar("P")  # a task's problem dataclass


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
        """Up to ``n`` problems of ``stream`` whose encodings are not in ``seen``, with their draw index
        (``problem_sets.distinct``)."""
        return problem_sets.distinct(self, seed, config, n, seen, max_draws, stream)

    def frozen(self, seed: int = 0) -> list[Instance]:
        """The versioned frozen set (``problem_sets.frozen``)."""
        return problem_sets.frozen(self, seed)

    def fresh(self, n: int, seed: int, config: Any = None, exclude: frozenset[str] = frozenset()) -> list[Instance]:
        """``n`` distinct new problems from the strategy's full range, on the ``fresh`` stream: a re-test
        drawn apart from training data (``train``) and the frozen sets (see ``fresh_draws``)."""
        return self.fresh_draws(n, seed, config, exclude)[0]


    def fresh_draws(self, n: int, seed: int, config: Any = None,
                    exclude: frozenset[str] = frozenset()) -> tuple[list[Instance], int]:
        """``fresh``'s instances, and how many draws were dropped because ``exclude`` holds them
        (``problem_sets.fresh_draws``)."""
        return problem_sets.fresh_draws(self, n, seed, config, exclude)

    def training_config(self, data: dict) -> Any:
        """The config training drew from (``problem_sets.training_config``)."""
        return problem_sets.training_config(self, data)

    def training_problems(self, data: dict) -> Iterator[P]:
        """The problems a training-data description names, in order (``problem_sets.training_problems``)."""
        return problem_sets.training_problems(self, data)

    def training_identities(self, data: dict) -> frozenset[str]:
        """``identity`` of every problem of a training-data description (see ``training_problems``);
        computed once per description and process (a run labels every record with it)."""
        return _training_identities(self, _data_key(data))


    def training_coverage(self, data: dict) -> list[BucketCoverage]:
        """Per stratum of the training distribution, how many problems it holds and how many of them the
        training data drew (``problem_sets.training_coverage``)."""
        return problem_sets.training_coverage(self, data)

    def unseen_draws(self, n: int, seed: int, data: dict) -> tuple[list[Instance], int | None]:
        """Up to ``n`` problems of the training distribution the training data never drew, and how many
        the space holds (``problem_sets.unseen_draws``)."""
        return problem_sets.unseen_draws(self, n, seed, data)
