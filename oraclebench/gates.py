"""Regression gates: accuracy floors per model, task and split, baselines with a tolerance, and
paired baselines judged instance by instance.

A gate file is TOML, one table per model (``"*"`` applies to every model)::

    [gpt2-causal]
    causal = 0.99                 # accuracy on all causal instances
    "causal.heldout" = 0.90       # accuracy on the held-out split
    "multiplication.unseen" = 0.9 # on problems inside the training distribution it was not trained on

A floor's split is ``trained``, ``unseen`` or ``heldout`` (see ``oraclebench.summary``), or ``seen``:
everything inside the training distribution (``trained``, ``unseen`` and ``seen`` records together,
its meaning before the three-way split), so an old gate file keeps gating what it gated.

    [gpt2-causal.baseline]        # optional: compare with a stored run
    summary = "baselines/gpt2-causal/summary.json"
    tolerance = 0.02              # fail when more than 2 points below the baseline
                                  # (a partial baseline run still gates; each of its lines says it is partial)

    [gpt2-causal.paired]          # optional: a paired regression gate on the shared instances
    records = "baselines/gpt2-causal/records.jsonl"   # the baseline run's records (file or run folder)
    alpha = 0.05                  # fail when significantly worse: one-sided exact McNemar, Holm-corrected
    tolerance = 0.02              # optional: also fail when worse by more than 2 points on the shared instances
    splits = ["all", "heldout"]   # optional: which splits to gate (default: every split the runs share)

A paired gate compares the new run with the baseline on the instances both scored, per task and
split: the discordant pairs (only the baseline right / only the new run right) decide. A few flips
either way are noise and pass; a real drop fails, and the line says whether it failed on
significance, on the tolerance, or both, with the numbers. Paths are relative to the gate file.

With ``--gate FILE`` the exit status is 0 iff every gate holds. A malformed file, a gate for a task
that did not run, or a file with no gates for the model is a ``UsageError``, never a silent pass.
``validate_gates`` checks the whole file and every file it names (baseline summaries, paired
records) before any model work, so a mistake there costs no model call.
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass
from pathlib import Path

from oraclebench.errors import UsageError
from oraclebench.records import Record, summary_problem
from oraclebench.tasks.exchange import shown_share

SPLITS = ("all", "trained", "unseen", "seen", "heldout", "unknown")
GATED = ("all", "trained", "unseen", "heldout", "seen")  # "unknown" is what a run can say, not a split to gate on


@dataclass(frozen=True)
class GateResult:
    name: str
    measured: float | None
    floor: float | None  # None: the gate is a test, not a floor (a paired gate without a tolerance)
    ok: bool
    detail: str = ""

    def line(self) -> str:
        got, floor = _shown_apart(self.measured, self.floor)
        verdict = "PASS" if self.ok else "FAIL"
        floor = "" if floor is None else f", floor {floor}"
        return f"{verdict} {self.name}: measured {got}{floor}" + (f" ({self.detail})" if self.detail else "")


def _shown_apart(measured: float | None, floor: float | None) -> tuple[str, str | None]:
    """``measured`` and ``floor`` to 4 places, or to as many more as tell them apart where they differ: 17,999 of
    20,000 (0.89995) against a floor of 0.9 printed "measured 0.9000, floor 0.9000" beside FAIL (review)."""
    for places in range(4, 13):
        got = "n/a" if measured is None else shown_share(measured, places, percent=False)
        bound = None if floor is None else shown_share(floor, places, percent=False)
        if got != bound or measured is None or floor is None or abs(measured - floor) <= TIE:
            return got, bound
    return got, bound


# Accuracies are fractions k/n in floating point: 0.8 - 0.1 is 0.7000000000000001, above 7/10. A drop of
# exactly the tolerance must pass, as the gate files say ("fail when more than T below").
TIE = 1e-12


class GateErrors(UsageError):
    """Gates that could not be measured (``errors``, one line each); ``results`` holds the gates that
    could, so a run still shows every measured gate beside the ones in error."""

    def __init__(self, errors: list[str], results: list[GateResult]):
        super().__init__("; ".join(errors))
        self.errors, self.results = errors, results


def load_gates(path: Path | str) -> dict:
    """The parsed and validated gate file. Anything wrong with it (missing, a directory, unreadable,
    not UTF-8, not TOML, a value of the wrong type, a key for an unknown task or split, an unknown
    option) is a one-line ``UsageError`` naming the file, the place and the fix, before any model work."""
    path = Path(path)
    data = _read_toml(path)
    for model, table in data.items():
        if not isinstance(table, dict):
            # A top-level key is read as a model; a task written there (multiplication = 0.5) belongs in one.
            from oraclebench.tasks import TASKS

            fix = (f"put it in its model's table: [MODEL] then {model} = {table!r}" if model in TASKS
                   else f"write it as a table like [{model}] with task = floor lines")
            raise UsageError(f"gate file {path}: top-level {model!r} = {table!r} is no model table; {fix}")
        for key, value in table.items():
            _check_entry(path, model, key, value)
    return data


def _read_toml(path: Path) -> dict:
    where = f"gate file {path}"
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageError(f"{where} not found; pass an existing TOML file to --gate") from None
    except IsADirectoryError:
        raise UsageError(f"{where} is a directory; pass a TOML file to --gate") from None
    except UnicodeDecodeError as exc:
        raise UsageError(f"{where} is not UTF-8 text (byte {exc.start}); save it as UTF-8 TOML") from None
    except OSError as exc:
        raise UsageError(f"{where} cannot be read ({exc.strerror or exc}); check its permissions") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{where} is not valid TOML: {exc}") from None


def _check_entry(path: Path, model: str, key: str, value) -> None:
    """One ``key = value`` of a model's table: a floor for a known task and split, or a baseline/paired table."""
    if key == "baseline":
        _baseline_spec(value, path, model)
    elif key == "paired":
        _paired_spec(value, path, model)
    else:
        task, _ = _parse_key(key, path, model)
        _known_task(task, key, path, model)
        _floor(value, f"[{model}] {key}", path)


def _known_task(task: str, key: str, path: Path, model: str) -> None:
    import difflib

    from oraclebench.tasks import TASKS

    if task not in TASKS:
        near = difflib.get_close_matches(task, TASKS, n=1)
        hint = f"did you mean {near[0]!r}? " if near else ""
        raise UsageError(f"gate file {path}: [{model}] {key!r}: unknown task {task!r}; {hint}"
                         f"known: {', '.join(sorted(TASKS))} (or the tables baseline, paired)")


def validate_gates(path: Path | str, model: str | None = None) -> None:
    """Check the gate file whole before any model work: the file itself (``load_gates``), every
    baseline summary and paired records file it names (read and checked for shape), and that it has
    gates for ``model``. Raises a one-line ``UsageError`` naming the file, the table and the fix.
    """
    path = Path(path)
    data = load_gates(path)
    if model is not None:
        _tables(data, model, path)
    for name, table in data.items():
        for key, value in table.items():
            if key == "baseline":
                _read_baseline(value, path, name)
            elif key == "paired":
                _read_paired(_paired_spec(value, path, name)[0], path, name)


def _tables(data: dict, model: str, path: Path) -> list[tuple[str, dict]]:
    tables = [(name, data[name]) for name in ("*", model) if name in data]
    if not tables:
        raise UsageError(f"gate file {path} has no [{model}] table (it has: {', '.join(data) or 'none'}); add one")
    return tables


def _read_baseline(spec, path: Path, name: str) -> tuple[Path, dict, float]:
    """(path, summary, tolerance) of the baseline a ``[name.baseline]`` table names, read and checked."""
    summary_path, tolerance = _baseline_spec(spec, path, name)
    base_path = (path.parent / summary_path).resolve()
    try:
        baseline = json.loads(base_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:  # ValueError: not JSON, or not UTF-8
        raise UsageError(f"gate file {path}: cannot read baseline summary {base_path}: {exc}") from None
    if (problem := summary_problem(baseline)) is not None:
        raise UsageError(f"gate file {path}: baseline summary {base_path} is damaged ({problem}); "
                         "point summary at a run's summary.json")
    return base_path, baseline, tolerance


def _read_paired(base_path: Path, path: Path, name: str) -> list[Record]:
    """The baseline records a ``[name.paired]`` table names, each a whole record."""
    from oraclebench.records import read_records

    try:
        baseline = read_records(base_path)
    except (OSError, ValueError, TypeError, AttributeError, UsageError) as exc:
        raise UsageError(f"gate file {path}: cannot read baseline records {base_path}: {exc}") from None
    if not baseline:
        raise UsageError(f"gate file {path}: [{name}.paired] baseline records {base_path} hold no record; "
                         "point records at a finished run's records.jsonl")
    return baseline


def _parse_key(key: str, path: Path, model: str) -> tuple[str, str]:
    task, _, split = key.partition(".")
    split = split or "all"
    if split not in GATED:
        raise UsageError(f"gate file {path}: [{model}] {key!r}: split must be one of {', '.join(GATED)} "
                         "(seen: trained, unseen and seen together)")
    return task, split


def _floor(value, where: str, path: Path) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        raise UsageError(f"gate file {path}: {where} must be a number between 0 and 1, not {value!r}")
    return float(value)


def _relative_path(spec: dict, key: str, where: str) -> None:
    value = spec.get(key)
    if not isinstance(value, str) or not value.strip() or "\0" in value:
        example = {"summary": "baselines/MODEL/summary.json", "records": "baselines/MODEL/records.jsonl"}[key]
        raise UsageError(f'{where}: {key} must be a path in quotes, like {key} = "{example}", not {value!r}')


def _baseline_spec(spec, path: Path, name: str) -> tuple[str, float]:
    where = f"gate file {path}: [{name}.baseline]"
    if not isinstance(spec, dict) or "summary" not in spec:
        raise UsageError(f"{where} needs summary = \"PATH\" (and optional tolerance)")
    unknown = sorted(set(spec) - {"summary", "tolerance"})
    if unknown:
        raise UsageError(f"{where}: unknown key(s) {', '.join(unknown)}; known: summary, tolerance")
    _relative_path(spec, "summary", where)
    return spec["summary"], _floor(spec.get("tolerance", 0.0), f"[{name}.baseline] tolerance", path)


def _accuracy(summary: dict, task: str, split: str) -> float | None:
    """The accuracy of ``task``'s ``split`` cell; for ``seen``, of every record inside the training
    distribution (``trained``, ``unseen`` and ``seen`` cells added up, exactly: their counts add)."""
    splits = summary.get("tasks", {}).get(task, {})
    if split != "seen":
        return splits.get(split, {}).get("accuracy")
    cells = _cells(summary, task, split)
    n = sum(c["n"] for c in cells)
    return sum(c["correct"] for c in cells) / n if n else None


def _cells(summary: dict, task: str, split: str) -> list[dict]:
    """The summary cells ``split`` of ``task`` adds up: its own, or for ``seen`` every cell inside the distribution."""
    from oraclebench.tasks.base import INSIDE

    splits = summary.get("tasks", {}).get(task, {})
    names = INSIDE if split == "seen" else (split,)
    return [splits[s] for s in names if isinstance(splits.get(s), dict) and splits[s].get("n")]


def _counted(summary: dict, task: str, split: str) -> str:
    """"K of N right", and the failed requests among the N where there are any: they count as not right, as in
    the run's accuracy, and a line that did not say so read a FAIL of failed requests as a model's wrong answers."""
    cells = _cells(summary, task, split)
    n, k, errors = (sum(c.get(key) or 0 for c in cells) for key in ("n", "correct", "errors"))
    return f"{k} of {n} right" + (f"; request errors (counted as not right): {errors}" if errors else "")


def check_gates(path: Path | str, summary: dict, records: list[Record] | None = None) -> list[GateResult]:
    """Every gate of ``path`` that applies to ``summary``'s model, checked against it.

    ``records`` (the run's per-instance records) are needed only by paired gates; a paired gate
    without them is a ``UsageError``. A gate file that cannot be read is a ``UsageError``; gates that
    cannot be measured on this run raise one ``GateErrors`` after every gate was tried, carrying the
    results of those that could.
    """
    path = Path(path)
    data = load_gates(path)
    model = summary["model"]
    tables = _tables(data, model, path)
    results: list[GateResult] = []
    errors: list[str] = []
    for name, table in tables:
        for key, value in table.items():
            try:
                results += _gate_results(name, key, value, summary, records, path)
            except UsageError as exc:  # this gate cannot be measured; the others are still checked and shown
                errors.append(str(exc))
    if errors:
        raise GateErrors(errors, results)
    return results


def _gate_results(name: str, key: str, value, summary: dict, records: list[Record] | None,
                  path: Path) -> list[GateResult]:
    """The results of one entry of table ``[name]``; a ``UsageError`` when it cannot be measured."""
    model = summary["model"]
    if key == "baseline":
        return _baseline_gates(value, summary, path, name)
    if key == "paired":
        return _paired_gates(value, summary, records, path, name)
    task, split = _parse_key(key, path, name)
    floor = _floor(value, f"[{name}] {key}", path)
    if task not in summary.get("tasks", {}):
        raise UsageError(f"gate [{name}] {key}: task {task!r} did not run (ran: {', '.join(summary['tasks'])})")
    measured = _accuracy(summary, task, split)
    if measured is None and _accuracy(summary, task, "unknown") is not None:
        raise UsageError(f"gate [{name}] {key}: the split of {task}'s instances is unknown ({model} has no "
                         f"training manifest for {task}), so nothing is {split}; give --heldout "
                         f"{task}:SPEC, or gate {task!r} (all instances)")
    if measured is None:
        scored = _scored_splits(summary, task)
        fix = (f"this run scored {scored}; gate one of those, or drop the gate" if scored else
               "give the model a manifest or --heldout, or drop the gate")
        raise UsageError(f"gate [{name}] {key}: no {split} instances of {task} in this run; {fix}")
    return [GateResult(f"{model} {key}", measured, floor, measured >= floor, _counted(summary, task, split))]


def _scored_splits(summary: dict, task: str) -> str:
    """The splits a run scored of ``task``, with their sizes: ``"unseen (200)"``."""
    cells = summary.get("tasks", {}).get(task, {})
    return ", ".join(f"{s} ({c['n']})" for s, c in cells.items()
                     if s != "all" and isinstance(c, dict) and c.get("n"))


def _baseline_gates(spec, summary: dict, path: Path, name: str) -> list[GateResult]:
    from oraclebench.records import partial_reason, task_complete

    base_path, baseline, tolerance = _read_baseline(spec, path, name)
    results = []
    for task, splits in baseline.get("tasks", {}).items():
        if task not in summary.get("tasks", {}):
            continue  # the baseline covers more tasks than this run: gate only what ran
        # A partial baseline still gates (a --limit baseline for --limit runs is a fair use), but its line
        # says so, as compare's note does: its numbers are not the model's score.
        partial = ("" if task_complete(baseline, task) else
                   f"; the baseline is a partial run ({partial_reason(baseline, task)}): not the model's score")
        # A split the run measured and the baseline did not (an older baseline: no `unseen`) is not gated: said.
        ungated = [s for s, c in summary["tasks"][task].items()
                   if s not in splits and isinstance(c, dict) and c.get("n")]
        if ungated:
            partial += f"; not gated, the baseline has no {', '.join(ungated)} split"
        for split, c in splits.items():
            measured = _accuracy(summary, task, split)
            if measured is None or c.get("accuracy") is None:
                continue
            floor = max(0.0, c["accuracy"] - tolerance)
            results.append(GateResult(f"{summary['model']} {task}.{split} vs baseline", measured, floor,
                                      c["accuracy"] - measured <= tolerance + TIE,
                                      f"baseline {shown_share(c['accuracy'], 4, percent=False)} - tolerance {tolerance}; "
                                      f"{_counted(summary, task, split)}{partial}"))
    if not results:
        raise UsageError(f"gate file {path}: baseline {base_path} shares no task with this run")
    return results


# --------------------------------------------------------------------------------------- paired


def _paired_spec(spec, path: Path, name: str) -> tuple[Path, float, float | None, list[str] | None]:
    where = f"gate file {path}: [{name}.paired]"
    if not isinstance(spec, dict) or "records" not in spec:
        raise UsageError(f'{where} needs records = "PATH" (the baseline run\'s records.jsonl or run folder)')
    unknown = sorted(set(spec) - {"records", "alpha", "tolerance", "splits"})
    if unknown:
        raise UsageError(f"{where}: unknown key(s) {', '.join(unknown)}; known: records, alpha, tolerance, splits")
    alpha = _floor(spec.get("alpha", 0.05), f"[{name}.paired] alpha", path)
    if not 0 < alpha < 1:
        raise UsageError(f"{where}: alpha must be between 0 and 1 (exclusive), e.g. 0.05, not {alpha}")
    tolerance = spec.get("tolerance")
    tolerance = None if tolerance is None else _floor(tolerance, f"[{name}.paired] tolerance", path)
    _relative_path(spec, "records", where)
    splits = spec.get("splits")
    if splits is not None and (not isinstance(splits, list) or not splits
                               or not all(isinstance(x, str) and x in SPLITS for x in splits)):
        raise UsageError(f"{where}: splits must be a list drawn from {', '.join(SPLITS)}, not {splits!r}")
    return (path.parent / spec["records"]).resolve(), alpha, tolerance, splits


def holm(pvalues: list[float], alpha: float) -> list[bool]:
    """Holm's step-down rejections: the family-wise error stays at most ``alpha`` over all tests."""
    order = sorted(range(len(pvalues)), key=pvalues.__getitem__)
    reject = [False] * len(pvalues)
    for rank, i in enumerate(order):
        if pvalues[i] > alpha / (len(pvalues) - rank):
            break
        reject[i] = True
    return reject


def _paired_gates(spec, summary: dict, records: list[Record] | None, path: Path, name: str) -> list[GateResult]:
    from oraclebench.compare import clash_note, pair_records, pair_split
    from oraclebench.stats import mcnemar_exact

    base_path, alpha, tolerance, splits = _paired_spec(spec, path, name)
    if records is None:
        raise UsageError(f"gate file {path}: [{name}.paired] needs this run's per-instance records "
                         "(check_gates(path, summary, records=...))")
    baseline = _read_paired(base_path, path, name)
    ran = set(summary.get("tasks", {})) or {r.task for r in records}
    paired, clashes = pair_records(baseline, records)
    pairs = [(b, r) for b, r in paired if r.task in ran]
    if not pairs:
        raise UsageError(f"gate file {path}: baseline records {base_path} share no instance with this run; "
                         "score the same set as the baseline (same frozen set, or the same --fresh N --seed S)"
                         + (f"; {clash_note(clashes)}" if clashes else ""))
    from oraclebench.tasks.base import INSIDE

    groups: dict[tuple[str, str], list] = {}
    for b, r in pairs:
        inside = ("seen",) if splits and "seen" in splits and b.split in INSIDE and r.split in INSIDE else ()
        for split in dict.fromkeys(("all", pair_split(b, r), *inside)):  # seen: both inside the distribution
            if split in SPLITS and (splits is None or split in splits):
                groups.setdefault((r.task, split), []).append((b, r))
    if splits is None:  # one split only: its group repeats "all"
        groups = {k: v for k, v in groups.items() if not (k[1] != "all" and len(v) == len(groups[(k[0], "all")]))}
    elif not groups:
        raise UsageError(f"gate file {path}: [{name}.paired] splits {splits}: no shared instance has such a split "
                         "(a model without a training manifest has split 'unknown'); give --heldout or gate 'all'")
    keys = sorted(groups)
    counts = [_paired_counts(groups[k]) for k in keys]
    pvalues = [mcnemar_exact(c.only_base, c.only_new, alternative="less") for c in counts]
    significant = holm(pvalues, alpha)
    return [_paired_result(f"{summary['model']} {task}.{split} paired vs baseline", c, p, sig, alpha, len(keys), tolerance)
            for (task, split), c, p, sig in zip(keys, counts, pvalues, significant)]


@dataclass(frozen=True)
class PairedCounts:
    n: int
    base_correct: int
    new_correct: int
    only_base: int  # the baseline right, the new run wrong
    only_new: int
    errors_base: int = 0  # requests that failed: not right, as in a run's accuracy
    errors_new: int = 0


def _paired_counts(pairs: list) -> PairedCounts:
    return PairedCounts(len(pairs), sum(b.correct for b, _ in pairs), sum(r.correct for _, r in pairs),
                        sum(b.correct and not r.correct for b, r in pairs),
                        sum(r.correct and not b.correct for b, r in pairs),
                        sum(b.error is not None for b, _ in pairs), sum(r.error is not None for _, r in pairs))


def _paired_result(name: str, c: PairedCounts, p: float, significant: bool, alpha: float, m: int,
                   tolerance: float | None) -> GateResult:
    """The gate line: measured = new accuracy on the shared instances, floor = baseline's minus tolerance."""
    base, new = c.base_correct / c.n, c.new_correct / c.n
    drop = base - new
    too_far = tolerance is not None and drop > tolerance + TIE
    why = []
    if significant:
        why.append(f"significantly worse: one-sided exact McNemar p={p:.4g} at alpha {alpha} (Holm over {m} tests)")
    if too_far:
        why.append(f"worse by {100 * drop:.1f} points, more than the tolerance of {100 * tolerance:.1f}")
    if not why:
        within = "" if tolerance is None else f"; change {-100 * drop:+.1f} points, within tolerance {100 * tolerance:.1f}"
        why.append(f"no significant drop (one-sided McNemar p={p:.4g}, alpha {alpha}, Holm over {m} tests){within}")
    counts = (f"{c.n} shared instances: baseline {shown_share(base, 4, percent=False)}, new {shown_share(new, 4, percent=False)}, only baseline right {c.only_base}, "
              f"only new right {c.only_new}")
    if c.errors_new or c.errors_base:  # counted as not right, as in the run's accuracy: said, so a FAIL is not misread
        counts += (f"; request errors (counted as not right): {c.errors_new} in the new run, {c.errors_base} in the "
                   "baseline")
    floor = None if tolerance is None else max(0.0, base - tolerance)  # without one the verdict is the test alone
    return GateResult(name, new, floor, not (significant or too_far), f"{'; '.join(why)}; {counts}")
