"""Paired comparison of two runs on the instances both scored.

Two runs of the same frozen set answer the same instances, so their difference is best judged pair
by pair: per task and split, the 2x2 table (both right, only A, only B, both wrong), the exact
McNemar p-value on the discordant pairs, and a paired bootstrap interval for ``acc(B) - acc(A)``.
The instances that flipped are listed. A pair where either run's request failed (an error, not an
answer) measures nothing about the two models' answers: it is left out of the table, the p-value, the
interval and the flips, and counted apart (``errors A/B``, ``left out``).

Records pair by task and instance id where both ask the same question (the same prompt and expected
answer), else by that question under another id: fresh draws of models trained on different data
number their unseen problems each in its own order, so one id can name two different problems there
(``clashes``, not paired) and one problem can have two ids (paired).

A pair's split is the runs' common split (``trained``/``unseen``/``heldout``, ``seen`` where only the
training distribution is known, or ``unknown`` for a model without a training manifest); where the two
models were trained on different data it reads ``trained/unseen`` (A's split, then B's). A partial run (``--limit``, ``-k``, interrupted...) can be compared when named,
and the comparison says it is partial.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Sequence

from oraclebench.errors import UsageError
from oraclebench.records import Record, read_records, resolve_run
from oraclebench.textsafe import printable
from oraclebench.stats import mcnemar_exact
from oraclebench.tasks.exchange import shown_share

SPLIT_ORDER = {s: i for i, s in enumerate(("all", "trained", "unseen", "seen", "heldout", "unknown"))}


@dataclass(frozen=True)
class PairedCell:
    """The paired comparison of one task and split."""

    task: str
    split: str
    n: int  # pairs measured: both runs answered
    both: int
    only_a: int
    only_b: int
    neither: int
    errors_a: int  # pairs where A's request failed (over all the pairs, measured or not)
    errors_b: int
    p_value: float  # exact McNemar, two-sided
    diff: float  # acc(B) - acc(A)
    lo: float  # paired bootstrap interval of diff
    hi: float
    left_out: int = 0  # pairs not measured: a request error in A or B

    @property
    def acc_a(self) -> float:
        return (self.both + self.only_a) / self.n if self.n else float("nan")

    @property
    def acc_b(self) -> float:
        return (self.both + self.only_b) / self.n if self.n else float("nan")


@dataclass(frozen=True)
class Flip:
    """An instance that one run got right and the other wrong."""

    task: str
    instance_id: str
    split: str
    label: str
    right: str  # "A" or "B": which run got it right
    expected: object
    answer_a: str
    answer_b: str
    reason: str  # the oracle's reason for the wrong run's answer


@dataclass
class Comparison:
    """Everything ``oraclebench compare`` prints."""

    run_a: str
    run_b: str
    model_a: str
    model_b: str
    cells: list[PairedCell]
    flips: list[Flip]
    unshared_a: int = 0  # instances scored by A only (a clash counts here too)
    unshared_b: int = 0
    notes: list[str] = field(default_factory=list)
    clashes: int = 0  # ids both runs scored that ask different questions: not paired

    def to_json(self) -> dict:
        return {**asdict(self), "cells": [{**asdict(c), "acc_a": c.acc_a, "acc_b": c.acc_b} for c in self.cells]}


def bootstrap_counts(only_a: int, only_b: int, n: int, n_boot: int = 2000, seed: int = 0,
                     level: float = 0.95) -> tuple[float, float, float]:
    """``acc(B) - acc(A)`` with a percentile bootstrap interval, from the 2x2 counts alone.

    Resampling ``n`` pairs with replacement and summing their differences (+1 only B right, -1
    only A right, 0 otherwise) is a multinomial draw of those three counts; drawing the counts
    directly gives the same distribution as ``stats.paired_bootstrap`` in O(n_boot) instead of
    O(n_boot * n), which matters for runs of many thousand instances.
    """
    import numpy as np

    if n == 0:
        return 0.0, 0.0, 0.0
    rng = np.random.default_rng(seed)
    draws = rng.multinomial(n, [only_b / n, only_a / n, max(0.0, 1 - (only_a + only_b) / n)], size=n_boot)
    boots = np.sort((draws[:, 0] - draws[:, 1]) / n)
    lo = boots[int((1 - level) / 2 * n_boot)]
    hi = boots[min(n_boot - 1, int((1 + level) / 2 * n_boot))]
    return (only_b - only_a) / n, float(lo), float(hi)


def pair_records(a: Sequence[Record], b: Sequence[Record]) -> tuple[list[tuple[Record, Record]], int]:
    """(pairs of records of the same task that ask the same question, in A's order; how many ids both
    hold ask different questions and stay unpaired).

    A record pairs with B's record of the same id where both ask the same question (the prompt and the
    expected answer agree), else with a record of B that asks that question under another id, one to
    one. An id alone is not the question: ``--fresh N --split unseen`` numbers the unseen problems of
    each model's own training data (``multiplication-unseen-0000`` was 1x1 for one model, 1x6 for
    another), and a pair of two problems would compare nothing; the same problem drawn by both is
    numbered apart there, and is still one pair.
    """
    by_id = {(r.task, r.instance_id): r for r in b}
    pairs: list[tuple[Record, Record] | None] = []
    taken: set[int] = set()
    unmatched: list[tuple[int, Record]] = []  # A's records whose id B lacks or uses for another question
    for r in a:
        other = by_id.get((r.task, r.instance_id))
        # (``taken``: a records file merged by hand may hold one id twice; B's record pairs once, never twice.)
        if other is not None and id(other) not in taken and _question(r) == _question(other):
            pairs.append((r, other))
            taken.add(id(other))
        else:
            unmatched.append((len(pairs), r))
            pairs.append(None)
    by_question: dict[tuple, list[Record]] = defaultdict(list)
    for r in b:
        if id(r) not in taken:
            by_question[_question(r)].append(r)
    clashes = 0
    for at, r in unmatched:
        left = by_question.get(_question(r))
        if left:
            pairs[at] = (r, left.pop(0))
        elif (r.task, r.instance_id) in by_id:
            clashes += 1
    return [p for p in pairs if p is not None], clashes


def _question(r: Record) -> tuple[str, str, str, str]:
    """What a record asks: its task, world (``_world``), prompt and expected answer."""
    return r.task, _world(r.instance_id), r.prompt, _canonical(r.expected)


def _world(instance_id: str) -> str:
    """The world of one's own an instance id names (``causal-v05_d2_s0.49ceef1d-0007``: ``v05_d2_s0.49ceef1d``), or
    "" for the task's own: two worlds may share a prompt and an answer, but never a question."""
    return next((part for part in instance_id.split("-")[1:-1] if "." in part), "")


def _canonical(value) -> str:
    """``value`` as its JSON text: a record read back from its file holds lists where this run's holds
    tuples (an abcd trace), and must still be the same question."""
    import dataclasses
    import json

    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = dataclasses.asdict(value)
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=repr)


def clash_note(clashes: int) -> str:
    """Why ``clashes`` shared ids were not paired, and what to compare instead."""
    return (f"{clashes} instance id(s) name different questions in the two runs (another prompt or expected "
            "answer: fresh draws of models trained on different data are numbered apart, or the oracle changed); "
            "those are not paired. "
            "Compare such models on a frozen set, or with --fresh N --seed S (without --split unseen) where both "
            "draw the same problems")


def measured(pair: tuple[Record, Record]) -> bool:
    """Whether both runs answered (neither request failed): only then does the pair compare answers."""
    return pair[0].error is None and pair[1].error is None


def pair_split(ra: Record, rb: Record) -> str:
    return ra.split if ra.split == rb.split else f"{ra.split}/{rb.split}"


def paired_cell(task: str, split: str, pairs: Sequence[tuple[Record, Record]], n_boot: int = 2000,
                seed: int = 0) -> PairedCell:
    """The 2x2 table, McNemar p-value and bootstrap interval of a group of pairs, over the pairs both runs
    answered (``measured``); the others are counted in ``left_out`` and the error columns."""
    kept = [p for p in pairs if measured(p)]
    both = sum(a.correct and b.correct for a, b in kept)
    only_a = sum(a.correct and not b.correct for a, b in kept)
    only_b = sum(b.correct and not a.correct for a, b in kept)
    n = len(kept)
    diff, lo, hi = bootstrap_counts(only_a, only_b, n, n_boot, seed)
    return PairedCell(task, split, n, both, only_a, only_b, n - both - only_a - only_b,
                      sum(a.error is not None for a, _ in pairs), sum(b.error is not None for _, b in pairs),
                      mcnemar_exact(only_a, only_b), diff, lo, hi, left_out=len(pairs) - n)


def _flip(a: Record, b: Record) -> Flip:
    wrong = b if a.correct else a
    return Flip(a.task, a.instance_id, pair_split(a, b), a.label, "A" if a.correct else "B", a.expected,
                a.completion, b.completion, wrong.reason)


def _describe(records: Sequence[Record]) -> str:
    tasks = sorted({r.task for r in records})
    first = records[0].instance_id if records else "-"
    return f"{len(records)} records of {', '.join(tasks) or 'no task'} (ids like {first})"


def _world_sets(records: Sequence[Record]) -> set[str]:
    """The frozen sets of worlds of one's own that ``records`` come from, by instance id
    (``causal-v05_d2_s0.49ceef1d-0000``: world v05_d2_s0, hash 49ceef1d; the default world's read ``causal-v1``)."""
    return {r.instance_id.rsplit("-", 1)[0] for r in records if _world(r.instance_id)}


def compare_records(a: Sequence[Record], b: Sequence[Record], n_boot: int = 2000, seed: int = 0) -> Comparison:
    """The paired comparison of two runs' records; a ``UsageError`` when they share no instance."""
    pairs, clashes = pair_records(a, b)
    run_a = a[0].run_id if a else "A"
    run_b = b[0].run_id if b else "B"
    if not pairs:
        worlds = _world_sets(a) ^ _world_sets(b)
        why = (f"they scored different sets ({', '.join(sorted(worlds))}): runs on different worlds (--world) share no "
               "instance; " if worlds else "")
        why += f"{clash_note(clashes)}; " if clashes else ""
        raise UsageError(f"runs {run_a} and {run_b} share no scored instance (A: {_describe(a)}; B: {_describe(b)}); "
                         f"{why}compare runs of the same set: both on the frozen sets of the same world (the same "
                         "--world FILE, or none), or both with the same --fresh N --seed S")
    groups: dict[tuple[str, str], list] = defaultdict(list)
    for ra, rb in pairs:
        groups[(ra.task, "all")].append((ra, rb))
        groups[(ra.task, pair_split(ra, rb))].append((ra, rb))
    keys = sorted(groups, key=lambda k: (k[0], SPLIT_ORDER.get(k[1], len(SPLIT_ORDER)), k[1]))
    cells = [paired_cell(task, split, groups[(task, split)], n_boot, seed) for task, split in keys]
    # As in the summary: a task whose pairs all have one split shows "all" only, named after it.
    cells = [c for c in cells if not (c.split != "all" and c.n + c.left_out == len(groups[(c.task, "all")]))]
    flips = [_flip(ra, rb) for ra, rb in pairs if measured((ra, rb)) and ra.correct != rb.correct]
    notes = [clash_note(clashes)] if clashes else []
    left_out = sum(not measured(p) for p in pairs)
    if left_out:
        notes.append(f"{left_out} shared instance(s) left out: a request failed in A or B (errors A/B), so the pair "
                     "compares no answers; rerun the failed requests (they are not cached) to measure them")
    if any("unknown" in pair_split(ra, rb) for ra, rb in pairs):
        notes.append("split 'unknown': a model without a training manifest (or --heldout); nothing is known "
                     "about what it saw")
    if any("/" in c.split for c in cells):
        notes.append("split 'A/B' (like 'trained/unseen' or 'seen/heldout'): the runs label the instance "
                     "differently: the two models were trained on different data, or one run says 'seen' (only the "
                     "training distribution known, or a run from before the three-way split); the first word is "
                     "A's split, the second B's")
    return Comparison(run_a, run_b, a[0].model if a else "", b[0].model if b else "", cells, flips,
                      unshared_a=len(a) - len(pairs), unshared_b=len(b) - len(pairs), notes=notes, clashes=clashes)


def compare_runs(results: Path | str, name_a: str, name_b: str, n_boot: int = 2000, seed: int = 0,
                 warnings: list[str] | None = None) -> Comparison:
    """Compare two runs named by run id, records/summary file or folder, or ``MODEL@latest`` (the model's
    latest complete run); a partial run named explicitly is compared, with a note saying so.

    Damaged summaries met on the way to ``MODEL@latest`` are skipped (one line each in ``warnings``);
    a damaged records file of a named run is a ``DamagedFile`` error naming it.
    """
    skipped: list[str] = []
    dir_a, dir_b = resolve_run(Path(results), name_a, skipped), resolve_run(Path(results), name_b, skipped)
    if warnings is not None:
        warnings.extend(dict.fromkeys(skipped))
    cmp = compare_records(read_records(dir_a), read_records(dir_b), n_boot, seed)
    for which, run_dir in (("A", dir_a), ("B", dir_b)):
        note = _partial_note(run_dir)
        if note:
            cmp.notes.append(f"{which} is a partial run ({note}): its numbers are not the model's score")
    return cmp


def _partial_note(run_dir: Path) -> str:
    import json

    from oraclebench.records import partial_reason, task_complete

    try:
        summary = json.loads((Path(run_dir) / "summary.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return ""
    tasks = summary.get("tasks") if isinstance(summary, dict) else None
    if not isinstance(tasks, dict):
        return ""
    return "; ".join(f"{t}: {partial_reason(summary, t)}" for t in tasks if not task_complete(summary, t))


def _pct(x: float) -> str:
    return f"{100 * x:+.1f}"


def cell_rows(cmp: Comparison) -> list[list]:
    """Rows of the paired table (accuracies and differences in percentage points)."""
    rows = []
    for c in cmp.cells:
        accs = [shown_share(c.acc_a), shown_share(c.acc_b)] if c.n else ["-", "-"]
        rows.append([c.task, c.split, c.n, c.both, c.only_a, c.only_b, c.neither, *accs,
                     f"{_pct(c.diff)} [{_pct(c.lo)}, {_pct(c.hi)}]" if c.n else "-", f"{c.p_value:.4g}",
                     f"{c.errors_a}/{c.errors_b}"])
    return rows


HEADERS = ["task", "split", "n measured", "both right", "only A", "only B", "both wrong", "acc A %", "acc B %",
           "B - A pts [95% bootstrap]", "McNemar p", "errors A/B"]


def _clip(value, limit: int = 60) -> str:
    text = value if isinstance(value, str) else repr(value)
    text = printable(text[: 4 * limit], 4 * limit, line=True)  # no control character reaches the terminal
    return text if len(text) <= limit else text[: limit - 3] + "..."


def render_text(cmp: Comparison, max_flips: int = 40) -> str:
    """The comparison as text: header, paired table, notes, and the flipped instances."""
    from tabulate import tabulate

    lines = [f"A: {cmp.run_a} ({cmp.model_a})", f"B: {cmp.run_b} ({cmp.model_b})"]
    shared = sum(c.n + c.left_out for c in cmp.cells if c.split == "all")
    left_out = sum(c.left_out for c in cmp.cells if c.split == "all")
    lines.append(f"shared instances: {shared} (only in A: {cmp.unshared_a}, only in B: {cmp.unshared_b})"
                 + (f"; measured in both: {shared - left_out}, left out: {left_out} (a request error)" if left_out else ""))
    lines += ["", tabulate(cell_rows(cmp), headers=HEADERS, tablefmt="github")]
    lines += [f"note: {n}" for n in cmp.notes]
    lines.append("")
    right_a = sum(f.right == "A" for f in cmp.flips)
    lines.append(f"flipped: {len(cmp.flips)} ({right_a} only A right, {len(cmp.flips) - right_a} only B right)")
    rows = [[f.task, f.instance_id, f.split, f.label, f.right, _clip(f.expected, 30), _clip(f.answer_a, 30),
             _clip(f.answer_b, 30), _clip(f.reason)] for f in cmp.flips[:max_flips]]
    if rows:
        lines.append(tabulate(rows, headers=["task", "instance", "split", "label", "right", "expected", "answer A",
                                             "answer B", "reason (wrong run)"], tablefmt="github"))
    if len(cmp.flips) > max_flips:
        lines.append(f"... and {len(cmp.flips) - max_flips} more (--flips N to list more, --json for all)")
    return "\n".join(lines)
