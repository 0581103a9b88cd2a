"""Counterexample search: find the smallest instance a model gets wrong, and keep it.

A frozen set says how often a model is wrong; this says where the rule it learned breaks. The
property is "the model's answer is correct by the oracle". "Smallest" is each task's documented
measure, ``task.size`` (multiplication: digits then value; abcd: program length then letters;
causal: input vector order; judge: steps then numbers), shown in the output.

Models answer batches and Hypothesis runs one example at a time, so the search goes in rounds:

1. replay: the regression cases found earlier for this model (``results/explore/<model>/<task>.json``)
   under the same config are answered first, in one call; if one still fails, that is the answer;
2. screen: Hypothesis generates a round of problems (generation phase only, seeded) from the task's
   strategy, whose knobs (digit counts, length, template) come first in the choice sequence, easiest
   first; the model answers them in ONE ``generate`` call;
3. shrink: if any was wrong, the same seeded Hypothesis run is repeated with shrinking on, within
   half of the calls left. Its generation is the same, so it reaches the first wrong problem on
   answers already known, then shrinks it, asking the model one candidate at a time;
4. below: Hypothesis's shrinker is a local search (lowering 18 in 1 × 18 never reaches 1 × 7, a
   smaller digit class), so a systematic pass then screens every knob setting easier than the best
   failure (``task.strata``), in ``size`` order: a stratum that lists all its problems and fits the
   calls left is asked in full up to the best failure (1x1 products, short abcd programs, all causal
   inputs), smallest first, and its first failure is the smallest there; any other stratum gets a
   sample (its smallest problems, then random ones). The pass repeats below each smaller failure.

The result is **proven minimal** when every problem smaller than it under the config was asked and
answered right (no request errors), and otherwise the smallest failure found, said as such.
Rounds grow until the budget is spent: requests sent to the model (cache hits and repeats are
free) and seconds. A round takes at most half of what is left, so a late failure can still be
shrunk. Everything is seeded: the same seed, model and cache give the same search.
"""

from __future__ import annotations

import json
import random
import re
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Sequence

from oraclebench.models.base import Model
from oraclebench.cache import ResponseCache, request_key
from oraclebench.progress import Progress
from oraclebench.records import Record, atomic_write
from oraclebench.runner import answer, score_one, task_manifest, task_trained
from oraclebench.textsafe import printable
from oraclebench.tasks import get_task
from oraclebench.tasks.base import RandomDraw, Request, Response, Score, Stratum, Task
from oraclebench.tasks.reading import cut_at_stop

FIRST_ROUND = 16  # problems screened in the first round; later rounds double
MAX_ROUNDS = 64
STALE_ROUNDS = 3  # rounds in a row with no new problem: the task's space is exhausted
FIRST_CHUNK = 8  # problems asked at once when a stratum is screened in full; later chunks double
MAX_PASSES = 16  # systematic passes: each one starts below a smaller failure than the last
SAMPLE_TRIES = 20  # random draws per sampled problem before a stratum counts as drawn out


# --------------------------------------------------------------------------- Hypothesis, seeded


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
        self.cap = budget  # a phase's own limit on ``calls`` (the shrink leaves the rest to the pass)
        self.identity = model.identity()
        self.memo: dict[str, Answer] = {}
        self.calls = 0  # requests sent to the model
        self.cached = 0  # answers read from the response cache
        self.meter = None  # a ``Progress`` over the budget's calls, when the search shows how it goes

    def left(self) -> int:
        return 0 if time.monotonic() >= self.deadline else max(0, min(self.budget, self.cap) - self.calls)

    def known(self, problem: Any) -> bool:
        """Whether ``problem`` was answered already (asking it again is free)."""
        return request_key(self.identity, self.request(problem)) in self.memo

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
        if self.meter is not None and not cached:
            self.meter.advance(1, f"problems screened: {len(self.memo) + 1}")
        self.memo[key] = Answer(problem, request, response, self.task.assess(problem, request, response), cached)

    def fails(self, problem: Any) -> bool:
        """Hypothesis's condition: the model is wrong on ``problem`` (False once the budget is spent)."""
        got = self.ask([problem])[0]
        return got is not None and got.wrong


# --------------------------------------------------------------------------- the search


@dataclass
class ExploreResult:
    """What one search found. ``record`` is the minimal failing instance, or a passing placeholder.

    ``proven``: every problem smaller than the counterexample (by the task's ``size``) was asked and
    answered right, so it is the smallest failure, not just the smallest found. ``size`` is its
    measure, named by ``size_fields``; ``below`` says what the systematic pass screened, per stratum.
    """

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
    proven: bool = False
    size: list | None = None
    size_fields: list = field(default_factory=list)
    pass_calls: int = 0  # requests of the systematic pass below the shrunk failure
    below: list = field(default_factory=list)  # "1x1: all 7 up to it", "1x2: 20 sampled", ...

    def how(self) -> str:
        """What kind of result this is, in words."""
        return _how(self.stopped, self.proven)

    def size_text(self) -> str:
        """The measure, named: ``digits=2 a=1 b=7``."""
        return _size_text(self.size_fields, self.size)

    def line(self) -> str:
        """One line for a terminal: the kind of result, label and size, the prompt's last line, the answer and why."""
        # Problems answered from the cache are checked too: "0 calls" alone read as if nothing was (a trial).
        cached = f" ({self.screened} problems checked, {self.cached} from the cache)" if self.cached else ""
        where = f"{self.calls} calls{cached}, {self.seconds:.1f} s"
        if not self.found:
            tail = f", {self.errors} request errors" if self.errors else ""
            return f"{self.task}: no counterexample in {where} ({self.stopped}{tail})"
        r = self.record
        lines = [line for line in r.prompt.splitlines() if line.strip()] or [""]
        return (f"{self.task}: {self.how()} ({r.label}; {self.size_text()}) after {where}: "
                f"{lines[-1]!r} -> {printable(repr(self._answer()), 400)} ({printable(self.why, 400, line=True)})")

    def _answer(self) -> str:
        """The counterexample's answer as the oracle read it: cut at the task's stop strings."""
        if self.problem is None:
            return self.record.completion
        task = get_task(self.task)
        return cut_at_stop(self.record.completion, task.render(task.decode(self.problem)).stop)

    def to_json(self) -> dict:
        data = {k: v for k, v in self.__dict__.items() if k != "record"}
        return {**data, "record": self.record.to_json()}


def explore(model: Model, task: str | Task, *, config: Any = None, budget: int = 200, seconds: float = 300.0,
            seed: int = 0, cache: ResponseCache | None = None, results: Path | str | None = None,
            run_id: str = "explore", heldout: dict | None = None, replay: bool = True,
            first_round: int = FIRST_ROUND, progress: Callable[[str], None] | None = None) -> ExploreResult:
    """Search ``task`` for the smallest problem ``model`` gets wrong (see the module docstring).

    ``budget`` counts requests sent to the model and ``seconds`` the wall time; ``results`` is where
    regression cases are read and the result is written (``None``: neither). ``progress`` writes the
    search's progress lines (calls of the budget, rate, time left; ``oraclebench.progress``).
    """
    t = get_task(task) if isinstance(task, str) else task
    if budget <= 0 or seconds <= 0:
        raise ValueError(f"explore needs a positive budget and time, got {budget} calls and {seconds} s")
    config = config if config is not None else t.default_config()
    start = time.monotonic()
    asker = Asker(model, t, cache, budget, start + seconds)
    if progress is not None:
        asker.meter = Progress(f"{t.name}: explore", budget, "calls", progress).start(
            f"{t.name}: exploring with {model.name}: at most {budget} calls and {seconds:g} s ...")
    # A task variant (a --world) keeps its own cases: a counterexample of another world is another question.
    path = cases_path(results, model.name, t.name if t.variant_id() is None else f"{t.name}-{t.version}") \
        if results is not None else None
    kept = load_cases(path) if (path is not None and replay) else []
    config_json = _plain_config(config)
    cases = [c for c in kept if c.get("config", _plain_config(t.default_config())) == config_json]

    wrong = [a for a in asker.ask(_decoded(t, cases)) if a is not None and a.wrong]
    below = Below(proven=False)
    best, stopped, shrink_calls = (wrong[0], "replayed", 0) if wrong else (None, "", 0)
    if best is None:
        best, stopped, shrink_calls = _search(asker, t.strategy(config), seed, first_round)
        if best is not None:
            best, below = _below(asker, t, config, _smallest_wrong(asker, t), seed)

    found = best is not None
    manifest = task_manifest(model, t.name, heldout)
    errors = sum(a.response.error is not None for a in asker.memo.values())
    proven, size = found and below.proven, list(t.size(best.problem)) if found else None
    if found:
        record = score_one(t.instance(best.problem, f"{t.name}-explore-s{seed}"), best.request, best.response,
                           run_id, model.name, manifest, best.cached, task_trained(model, t.name))
        why = record.reason
        # replace, not assignment: the longer reason is capped as every record's is, so the record read back
        # from the file is the one written
        record = replace(record, reason=f"{_how(stopped, proven)} ({_size_text(t.size_fields, size)}) "
                                        f"after {asker.calls} calls: {why}")
    else:
        why, record = "", _none_record(asker, t.name, seed, run_id, model.name, stopped, errors)
    result = ExploreResult(
        task=t.name, model=model.name, identity=asker.identity, found=found, record=record, calls=asker.calls,
        cached=asker.cached, screened=len(asker.memo), shrink_calls=shrink_calls, errors=errors,
        seconds=round(time.monotonic() - start, 3), seed=seed, budget=budget, budget_seconds=seconds,
        stopped=stopped, replayed=len(cases), config=config_json,
        problem=t.encode(best.problem) if found else None, why=why, proven=proven, size=size,
        size_fields=list(t.size_fields), pass_calls=below.calls, below=below.notes,
    )
    record.detail = {**record.detail, "explore": {k: v for k, v in result.to_json().items() if k != "record"}}
    if path is not None:
        save(path, result, load_cases(path))  # every kept case, whichever were replayed (--no-replay: none)
    if asker.meter is not None:
        asker.meter.finish()
    return result


def _how(stopped: str, proven: bool) -> str:
    if stopped == "replayed":
        return "counterexample replayed from an earlier explore, not re-checked for minimality"
    return "minimal counterexample, proven" if proven else "smallest counterexample found, not proven minimal"


def _plain_config(config: Any) -> dict:
    """A task config as JSON values: how a case records the config it was found under. A case is replayed
    only under the same config: one found in a narrower one (3x3 digits) was given as the answer to a
    wider search, where 1 x 7 fails, and one from a wider config lies outside a narrower search."""
    return json.loads(json.dumps(asdict(config), default=str))


def _size_text(fields: Sequence[str], size: Sequence | None) -> str:
    return " ".join(f"{k}={v!r}" if isinstance(v, str) else f"{k}={v}" for k, v in zip(fields, size or ()))


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
            asker.cap = asker.calls + max(1, asker.left() // 2)  # the other half is the systematic pass's
            try:
                minimal = _find(strategy, asker.fails, examples, round_seed, shrink=True)
            finally:
                asker.cap = asker.budget
            best = asker.ask([minimal])[0] if minimal is not None else None
            return (best if best is not None and best.wrong else first), "found", asker.calls - before
        stale = stale + 1 if len(asker.memo) == seen else 0
        if stale >= STALE_ROUNDS:
            return None, "exhausted", 0
    return None, "exhausted", 0


def _smallest_wrong(asker: Asker, task: Task) -> Answer:
    """The smallest wrong answer seen so far, by the task's measure (there is one)."""
    return min((a for a in asker.memo.values() if a.wrong), key=lambda a: task.size(a.problem))


# --------------------------------------------------------------------------- the systematic pass


@dataclass
class Below:
    """What the systematic pass did: whether it proved the result minimal, its calls, a note per stratum."""

    proven: bool
    calls: int = 0
    notes: list = field(default_factory=list)


def _below(asker: Asker, task: Task, config: Any, best: Answer, seed: int) -> tuple[Answer, Below]:
    """Passes over the strata below ``best`` until one finds nothing smaller: (the smallest failure, how)."""
    rng = random.Random(f"{seed}:below")
    before = asker.calls
    for _ in range(MAX_PASSES):
        smaller, proven, notes = _one_pass(asker, task, config, best, rng)
        if smaller is None:
            return best, Below(proven, asker.calls - before, notes)
        best = smaller
    return best, Below(False, asker.calls - before, notes + ["stopped: too many passes"])


def _one_pass(asker: Asker, task: Task, config: Any, best: Answer,
              rng: random.Random) -> tuple[Answer | None, bool, list[str]]:
    """One walk over the strata with problems smaller than ``best``, easiest first.

    Returns (a smaller failure or None, whether every smaller problem was answered right, notes).
    A complete stratum whose smaller problems fit the calls left is asked in full, smallest first;
    otherwise it gets a sample. A failure ends the walk: every later stratum is larger still.
    """
    bound = task.size(best.problem)
    strata = [s for s in task.strata(config, like=best.problem) if _starts_below(task, s, bound)]
    proven, notes = True, []
    for k, stratum in enumerate(strata):
        listed, fits = _listed_below(asker, task, stratum, bound)
        if stratum.complete and fits:
            wrong, clean, asked = _scan(asker, listed)
            proven = proven and clean
            notes.append(f"{stratum.label}: all {asked} below answered right" if wrong is None and clean
                         else f"{stratum.label}: {asked} asked, smallest first")
        else:
            # Half of what is left, the last stratum all of it: the smaller strata matter most.
            share = max(1, asker.left() if k == len(strata) - 1 else asker.left() // 2)
            wrong, asked = _sample(asker, task, stratum, listed, bound, share, rng)
            proven = False
            notes.append(f"{stratum.label}: {asked} sampled")
        if wrong is not None:
            return wrong, False, notes
    return None, proven, notes


def _starts_below(task: Task, stratum: Stratum, bound: tuple) -> bool:
    first = next(iter(stratum.problems()), None)
    return first is not None and task.size(first) < bound


def _listed_below(asker: Asker, task: Task, stratum: Stratum, bound: tuple) -> tuple[list, bool]:
    """The stratum's listed problems smaller than ``bound``, in order, and whether the new ones fit the calls left.

    Stops listing once more are new than the calls left: a stratum of millions is never listed whole.
    """
    out, new, left = [], 0, asker.left()
    for problem in stratum.problems():
        if task.size(problem) >= bound:
            return out, True
        out.append(problem)
        new += not asker.known(problem)
        if new > left:
            return out, False
    return out, True


def _scan(asker: Asker, problems: list) -> tuple[Answer | None, bool, int]:
    """Ask ``problems`` in order, in growing chunks, until one is wrong.

    Returns (the first wrong answer or None, whether every one before it was answered right, how
    many were looked at). An unasked problem (time is up) or a failed request leaves it unproven.
    """
    clean, seen, chunk = True, 0, FIRST_CHUNK
    while seen < len(problems):
        for asked in asker.ask(problems[seen:seen + chunk]):
            seen += 1
            if asked is None or asked.response.error is not None:
                clean = False
                if asked is None:
                    return None, False, seen - 1
            elif asked.wrong:
                return asked, clean, seen
        chunk *= 2
    return None, clean, seen


def _sample(asker: Asker, task: Task, stratum: Stratum, listed: list, bound: tuple, share: int,
            rng: random.Random) -> tuple[Answer | None, int]:
    """Screen ``share`` problems of a stratum smaller than ``bound``: half its smallest listed, half
    random draws from its config. Returns (the smallest wrong answer or None, how many were answered)."""
    picked = {repr(task.encode(p)): p for p in listed[: (share + 1) // 2]}
    for _ in range(SAMPLE_TRIES * share):
        if len(picked) >= share:
            break
        problem = task.generate(RandomDraw(rng), stratum.config)
        if task.size(problem) < bound:
            picked.setdefault(repr(task.encode(problem)), problem)
    answers = [a for a in asker.ask(list(picked.values())) if a is not None]
    wrong = [a for a in answers if a.wrong]
    return (min(wrong, key=lambda a: task.size(a.problem)) if wrong else None), len(answers)


def _none_record(asker: Asker, task: str, seed: int, run_id: str, model: str, stopped: str, errors: int) -> Record:
    """The run's record when nothing was found: correct, unless requests failed (an error, as in a run)."""
    error = None
    if errors:
        example = next(a.response.error for a in asker.memo.values() if a.response.error is not None)
        error = f"{errors} of {len(asker.memo)} explore requests failed, e.g. {example}"
    reason = f"no counterexample in {asker.calls} calls ({stopped})"
    # parsed is not None: the summary would count a missing answer (NOANSWER) where none is missing.
    return Record(run_id=run_id, model=model, task=task, instance_id=f"{task}-explore-s{seed}", label="explore",
                  bucket={"explore": True}, split="unknown", prompt="", completion="", parsed="no counterexample",
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
                      "config": result.config,
                      "found": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()), "identity": result.identity})
    data = {"model": result.model, "task": result.task, "last": result.to_json(), "cases": cases}
    atomic_write(path, json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")


# --------------------------------------------------------------------------- pytest


def run_explore_item(request, bench, task: str) -> Record:
    """The plugin's ``--explore`` item for ``task``: search, attach the record to the run, return it."""
    import pytest

    opt = bench.config.getoption
    cache = bench.cache()
    try:
        result = explore(bench.model, task, budget=opt("--budget"), seconds=opt("--budget-seconds"),
                         seed=opt("--seed"), cache=cache, results=bench.results, run_id=bench.run_id,
                         heldout=bench.heldout, progress=bench.live_write())
    finally:
        cache.close()
    bench.attach(request.node, result.record)
    tr = request.config.pluginmanager.get_plugin("terminalreporter")
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if tr is not None and capture is not None:
        with capture.global_and_fixture_disabled():  # shown live, for passing items too
            tr.write_line(f"oraclebench explore: {result.line()}")
    if result.record.error is not None:
        pytest.fail(f"model requests failed during explore (errors, not wrong answers): {result.record.error}",
                    pytrace=False)
    return result.record
