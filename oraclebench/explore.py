"""Counterexample search: find the smallest instance a model gets wrong, and keep it.

A frozen set says how often a model is wrong; this says where the rule it learned breaks. The
property is "the model's answer is correct by the oracle"; Hypothesis searches the task's problem
space and shrinks a failure with its own shrinker (no search or shrinking is written here).

Models answer batches and Hypothesis runs one example at a time, so the search goes in rounds:

1. replay: the regression cases found earlier for this model (``results/explore/<model>/<task>.json``)
   are answered first, in one call; if one still fails, that is the answer;
2. screen: Hypothesis generates a round of problems (generation phase only, seeded) and the model
   answers them in ONE ``generate`` call;
3. shrink: if any was wrong, the same seeded Hypothesis run is repeated with shrinking on. Its
   generation is the same, so it reaches the first wrong problem on answers already known, then
   shrinks it, asking the model one candidate at a time.

Rounds grow until the budget is spent: requests sent to the model (cache hits and repeats are
free) and seconds. A round takes at most half of what is left, so a late failure can still be
shrunk. Everything is seeded: the same seed, model and cache give the same search.
"""

from __future__ import annotations

import functools
import json
import random
import re
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

from models.base import Model
from oraclebench.cache import ResponseCache, request_key
from oraclebench.records import Record, atomic_write
from oraclebench.runner import answer, score_one, task_manifest
from tasks import get_task
from tasks.base import Request, Response, Score, Task

FIRST_ROUND = 16  # problems screened in the first round; later rounds double
MAX_ROUNDS = 64
STALE_ROUNDS = 3  # rounds in a row with no new problem: the task's space is exhausted


# --------------------------------------------------------------------------- drawing for the search


class DecimalDraw:
    """A ``Draw`` for the search: integers are drawn digit by digit, so they shrink across ranges.

    Multiplication draws a digit count, then an operand in ``[10**(d-1), 10**d - 1]``. Drawn as one
    integer, ``70`` in ``[10, 99]`` cannot follow a shrink of the count to ``[1, 9]`` (Hypothesis
    puts the simplest value there and the failure is lost); drawn as digits ``7, 0``, the leading
    digit carries over and the shrinker reaches ``7``. Only such bands (``lo``, ``hi`` of one width,
    two digits or more) go by digits; other ranges stay one choice, which shrinks best.
    """

    def __init__(self, draw: Any):
        self.draw = draw

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

    def choice(self, options: Sequence[Any]) -> Any:
        options = tuple(options)
        try:
            hash(options)
        except TypeError:  # unhashable options cannot be cached: build the strategy each time
            return self.draw(_sampled.__wrapped__(options))
        return self.draw(_sampled(options))

    def boolean(self) -> bool:
        return self.draw(_sampled((False, True)))


# Strategies are built once: building one per draw costs more than the draw itself (profiled on abcd).
@functools.lru_cache(maxsize=4096)
def _integers(lo: int, hi: int):
    from hypothesis import strategies as st

    return st.integers(lo, hi)


@functools.lru_cache(maxsize=1024)
def _sampled(options: tuple):
    from hypothesis import strategies as st

    return st.sampled_from(options)


def search_strategy(task: Task, config: Any = None):
    """The task's problems under ``config`` (default: all knobs open), drawn with ``DecimalDraw``."""
    from hypothesis import strategies as st

    config = config if config is not None else task.Config()

    @st.composite
    def problems(draw):
        return task.generate(DecimalDraw(draw), config)

    return problems()


def _settings(examples: int, shrink: bool):
    from hypothesis import HealthCheck, Phase, Verbosity, settings

    phases = (Phase.generate, Phase.shrink) if shrink else (Phase.generate,)
    return settings(max_examples=examples, phases=phases, database=None, deadline=None, derandomize=False,
                    verbosity=Verbosity.quiet, print_blob=False, report_multiple_bugs=False,
                    suppress_health_check=list(HealthCheck))


def _find(strategy, condition: Callable[[Any], bool], examples: int, seed: str, shrink: bool):
    """Hypothesis's ``find``, seeded; ``None`` when no example satisfies ``condition``."""
    from hypothesis import find
    from hypothesis.errors import NoSuchExample

    try:
        return find(strategy, condition, settings=_settings(examples, shrink), random=random.Random(seed))
    except NoSuchExample:
        return None


def generated(strategy, examples: int, seed: str) -> list:
    """The problems a seeded Hypothesis run generates, in order (no model involved)."""
    out: list = []

    def keep(problem) -> bool:  # never "found": the run goes through all its examples
        out.append(problem)
        return False

    _find(strategy, keep, examples, seed, shrink=False)
    return out


# --------------------------------------------------------------------------- asking the model


@dataclass
class Answer:
    """One problem, its request, the model's response and the oracle's score."""

    problem: Any
    request: Request
    response: Response
    score: Score
    cached: bool

    @property
    def wrong(self) -> bool:
        """A wrong answer: a failed request is an error, not a counterexample."""
        return self.response.error is None and not self.score.correct


class Asker:
    """Answers problems through the response cache within the budget; no prompt is asked twice."""

    def __init__(self, model: Model, task: Task, cache: ResponseCache | None, budget: int, deadline: float):
        self.model, self.task, self.cache = model, task, cache or ResponseCache(None)
        self.budget, self.deadline = budget, deadline
        self.identity = model.identity()
        self.memo: dict[str, Answer] = {}
        self.calls = 0  # requests sent to the model
        self.cached = 0  # answers read from the response cache

    def left(self) -> int:
        return 0 if time.monotonic() >= self.deadline else max(0, self.budget - self.calls)

    def request(self, problem: Any) -> Request:
        return self.task.request(self.task.instance(problem, f"{self.task.name}-explore"))

    def ask(self, problems: Sequence[Any], limit: int | None = None) -> list[Answer | None]:
        """Answers in order; ``None`` for a problem left unasked.

        Of the problems not answered before, the first ``limit`` are taken, in order, whether the
        cache knows them or not (so a warm cache never changes what a round covers); the cache
        answers what it can and the rest go to the model in one call, as far as the budget allows.
        """
        requests = [self.request(p) for p in problems]
        keys = [request_key(self.identity, r) for r in requests]
        new: dict[str, tuple[Any, Request]] = {}
        for k, p, r in zip(keys, problems, requests):
            if k not in self.memo:
                new.setdefault(k, (p, r))
        chosen = list(new)[:limit]
        if chosen:
            known = self.cache.get_many(chosen)
            for k, resp in known.items():
                self._keep(k, *new[k], resp, cached=True)
            todo = [k for k in chosen if k not in known][: self.left()]
            if todo:
                responses, was_cached = answer(self.model, [new[k][1] for k in todo], self.cache)
                for k, resp, hit in zip(todo, responses, was_cached):
                    self._keep(k, *new[k], resp, cached=hit)
        return [self.memo.get(k) for k in keys]

    def _keep(self, key: str, problem: Any, request: Request, response: Response, cached: bool) -> None:
        self.cached += cached
        self.calls += not cached
        self.memo[key] = Answer(problem, request, response, self.task.score(problem, response), cached)

    def fails(self, problem: Any) -> bool:
        """Hypothesis's condition: the model is wrong on ``problem`` (False once the budget is spent)."""
        got = self.ask([problem])[0]
        return got is not None and got.wrong


# --------------------------------------------------------------------------- the search


@dataclass
class ExploreResult:
    """What one search found. ``record`` is the minimal failing instance, or a passing placeholder."""

    task: str
    model: str
    identity: str
    found: bool
    record: Record
    calls: int  # requests sent to the model; cache hits are free
    cached: int
    screened: int  # distinct problems answered
    shrink_calls: int
    errors: int
    seconds: float
    seed: int
    budget: int
    budget_seconds: float
    stopped: str  # "found", "replayed", "budget", "time" or "exhausted"
    replayed: int = 0
    config: dict = field(default_factory=dict)
    problem: dict | None = None  # the counterexample, encoded (``task.encode``)
    why: str = ""  # the oracle's reason

    def line(self) -> str:
        """One line for a terminal: the counterexample's label, the prompt's last line, the answer and why."""
        where = f"{self.calls} calls, {self.seconds:.1f} s"
        if not self.found:
            tail = f", {self.errors} request errors" if self.errors else ""
            return f"{self.task}: no counterexample in {where} ({self.stopped}{tail})"
        r = self.record
        lines = [line for line in r.prompt.splitlines() if line.strip()] or [""]
        how = "counterexample replayed" if self.stopped == "replayed" else "minimal counterexample"
        return f"{self.task}: {how} ({r.label}) after {where}: {lines[-1]!r} -> {r.completion!r} ({self.why})"

    def to_json(self) -> dict:
        data = {k: v for k, v in self.__dict__.items() if k != "record"}
        return {**data, "record": self.record.to_json()}


def explore(model: Model, task: str | Task, *, config: Any = None, budget: int = 200, seconds: float = 300.0,
            seed: int = 0, cache: ResponseCache | None = None, results: Path | str | None = None,
            run_id: str = "explore", heldout: dict | None = None, replay: bool = True,
            first_round: int = FIRST_ROUND) -> ExploreResult:
    """Search ``task`` for the smallest problem ``model`` gets wrong (see the module docstring).

    ``budget`` counts requests sent to the model and ``seconds`` the wall time; ``results`` is where
    regression cases are read and the result is written (``None``: neither).
    """
    t = get_task(task) if isinstance(task, str) else task
    if budget <= 0 or seconds <= 0:
        raise ValueError(f"explore needs a positive budget and time, got {budget} calls and {seconds} s")
    start = time.monotonic()
    asker = Asker(model, t, cache, budget, start + seconds)
    path = cases_path(results, model.name, t.name) if results is not None else None
    cases = load_cases(path) if (path is not None and replay) else []

    wrong = [a for a in asker.ask(_decoded(t, cases)) if a is not None and a.wrong]
    best, stopped, shrink_calls = (wrong[0], "replayed", 0) if wrong else (None, "", 0)
    if best is None:
        best, stopped, shrink_calls = _search(asker, search_strategy(t, config), seed, first_round)

    found = best is not None
    manifest = task_manifest(model, t.name, heldout)
    errors = sum(a.response.error is not None for a in asker.memo.values())
    if found:
        record = score_one(t.instance(best.problem, f"{t.name}-explore-s{seed}"), best.request, best.response,
                           run_id, model.name, manifest, best.cached)
        why = record.reason
        how = "counterexample replayed from an earlier explore" if stopped == "replayed" else "minimal counterexample"
        record.reason = f"{how} after {asker.calls} calls: {why}"
    else:
        why, record = "", _none_record(asker, t.name, seed, run_id, model.name, stopped, errors)
    result = ExploreResult(
        task=t.name, model=model.name, identity=asker.identity, found=found, record=record, calls=asker.calls,
        cached=asker.cached, screened=len(asker.memo), shrink_calls=shrink_calls, errors=errors,
        seconds=round(time.monotonic() - start, 3), seed=seed, budget=budget, budget_seconds=seconds,
        stopped=stopped, replayed=len(cases), config=json.loads(json.dumps(asdict(config or t.Config()), default=str)),
        problem=t.encode(best.problem) if found else None, why=why,
    )
    record.detail = {**record.detail, "explore": {k: v for k, v in result.to_json().items() if k != "record"}}
    if path is not None:
        save(path, result, cases)
    return result


def _decoded(task: Task, cases: list[dict]) -> list:
    """The problems of the kept cases that this version of the task can still read."""
    out = []
    for case in cases:
        try:
            out.append(task.decode(case["problem"]))
        except (TypeError, ValueError):  # written by an older version of the task (TaskError is a ValueError)
            continue
    return out


def _search(asker: Asker, strategy, seed: int, first_round: int) -> tuple[Answer | None, str, int]:
    """Screening rounds, then Hypothesis's shrink of the first failure: (best, why it stopped, shrink calls)."""
    stale = 0
    for rnd in range(MAX_ROUNDS):
        if asker.left() == 0:
            return None, ("time" if asker.calls < asker.budget else "budget"), 0
        size = min(first_round << rnd, max(1, asker.left() // 2))
        # Generate more than are asked: a round's first problems (the simplest) repeat earlier rounds.
        examples, round_seed = 2 * size + first_round, f"{seed}:{rnd}"
        seen = len(asker.memo)
        answers = asker.ask(generated(strategy, examples, round_seed), limit=size)
        first = next((a for a in answers if a is not None and a.wrong), None)
        if first is not None:
            before = asker.calls
            minimal = _find(strategy, asker.fails, examples, round_seed, shrink=True)
            best = asker.ask([minimal])[0] if minimal is not None else None
            return (best if best is not None and best.wrong else first), "found", asker.calls - before
        stale = stale + 1 if len(asker.memo) == seen else 0
        if stale >= STALE_ROUNDS:
            return None, "exhausted", 0
    return None, "exhausted", 0


def _none_record(asker: Asker, task: str, seed: int, run_id: str, model: str, stopped: str, errors: int) -> Record:
    """The run's record when nothing was found: correct, unless requests failed (an error, as in a run)."""
    error = None
    if errors:
        example = next(a.response.error for a in asker.memo.values() if a.response.error is not None)
        error = f"{errors} of {len(asker.memo)} explore requests failed, e.g. {example}"
    reason = f"no counterexample in {asker.calls} calls ({stopped})"
    # parsed is not None: the summary would count a missing answer (NOANSWER) where none is missing.
    return Record(run_id=run_id, model=model, task=task, instance_id=f"{task}-explore-s{seed}", label="explore",
                  bucket={"explore": True}, split="seen", prompt="", completion="", parsed="no counterexample",
                  expected="no counterexample", correct=error is None, reason=reason, error=error)


# --------------------------------------------------------------------------- regression cases


def model_slug(name: str) -> str:
    """A folder name for a model name: ``python:examples.flawed:oracle`` -> ``python_examples.flawed_oracle``."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("_") or "model"


def cases_path(results: Path | str, model: str, task: str) -> Path:
    """Where the search of ``model`` on ``task`` keeps its result and regression cases."""
    return Path(results) / "explore" / model_slug(model) / f"{task}.json"


def load_cases(path: Path) -> list[dict]:
    """The regression cases kept at ``path`` (none if the file is missing or unreadable)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return []
    return [c for c in data.get("cases", []) if isinstance(c, dict) and "problem" in c]


def save(path: Path, result: ExploreResult, cases: list[dict]) -> None:
    """Write the result, adding a newly found counterexample to the regression cases."""
    r, cases = result.record, list(cases)
    if result.found and all(c["problem"] != result.problem for c in cases):
        cases.append({"problem": result.problem, "prompt": r.prompt, "expected": r.expected, "seed": result.seed,
                      "found": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()), "identity": result.identity})
    data = {"model": result.model, "task": result.task, "last": result.to_json(), "cases": cases}
    atomic_write(path, json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")


# --------------------------------------------------------------------------- pytest


def run_explore_item(request, bench, task: str) -> Record:
    """The plugin's ``--explore`` item for ``task``: search, attach the record to the run, return it."""
    import pytest

    from oraclebench.plugin import RECORD_KEY

    opt = bench.config.getoption
    cache = bench.cache()
    try:
        result = explore(bench.model, task, budget=opt("--budget"), seconds=opt("--budget-seconds"),
                         seed=opt("--seed"), cache=cache, results=bench.results, run_id=bench.run_id,
                         heldout=bench.heldout)
    finally:
        cache.close()
    request.node.user_properties.append((RECORD_KEY, result.record.to_json()))
    tr = request.config.pluginmanager.get_plugin("terminalreporter")
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if tr is not None and capture is not None:
        with capture.global_and_fixture_disabled():  # shown live, for passing items too
            tr.write_line(f"oraclebench explore: {result.line()}")
    if result.record.error is not None:
        pytest.fail(f"model requests failed during explore (errors, not wrong answers): {result.record.error}",
                    pytrace=False)
    return result.record
