"""The generalization gap section: trained minus unseen (within strata) and unseen (or seen) minus
held out, each with Newcombe's interval, and why a gap cannot be measured where it is not.
"""

from __future__ import annotations

import pandas as pd

from oraclebench import report_plots as plots
from oraclebench.report_leaderboard import _pivot, _split_pairs, accuracy
from oraclebench.report_runs import _task
from oraclebench.stats import difference_interval, stratified_difference


# The gaps the report measures, (first split, second split, name): recall beyond learning, then learning
# beyond the training distribution (``seen`` where the training data is not recorded).
GAPS = (("trained", "unseen", "trained - unseen"), ("unseen", "heldout", "unseen - held-out"),
        ("seen", "heldout", "seen - held-out"))


# Gaps measured within strata: trained and unseen come from the same training distribution, so a
# difference in their difficulty mix (abcd: every short program trained, the unseen ones long) is the
# mix, not recall. Held-out instances differ in difficulty by design: that difference is what is measured.
WITHIN_STRATA = {"trained - unseen"}


def gap_table(frame: pd.DataFrame) -> pd.DataFrame:
    """Per model, task and gap (``GAPS``) whose two splits both have records: the first split's accuracy
    minus the second's, with Newcombe's hybrid score interval; for ``WITHIN_STRATA`` gaps, compared
    within the task's strata (``Task.stratum``) that hold both splits (``stats.stratified_difference``),
    with ``strata`` saying how many did and how many instances they hold (none: the gap is NaN)."""
    counts = accuracy(frame, ["model", "task", "split"]).set_index(["model", "task", "split"])
    rows = []
    for (model, task) in sorted(_split_pairs(frame)):
        for first, second, name in GAPS:
            if (model, task, first) not in counts.index or (model, task, second) not in counts.index:
                continue
            s, h = counts.loc[(model, task, first)], counts.loc[(model, task, second)]
            row = {"model": model, "task": task, "gap of": name, "first n": int(s.n), "first %": 100 * s.accuracy,
                   "second n": int(h.n), "second %": 100 * h.accuracy, "strata": "all instances"}
            if name in WITHIN_STRATA:  # the accuracies beside it are those of the strata compared
                gap, lo, hi, row["strata"], cells = _within_strata(frame, model, task, first, second)
                for side, (k, n) in (("first", (sum(c[0] for c in cells), sum(c[1] for c in cells))),
                                     ("second", (sum(c[2] for c in cells), sum(c[3] for c in cells)))):
                    row[f"{side} n"], row[f"{side} %"] = n, (100 * k / n if n else float("nan"))
            else:
                gap, lo, hi = difference_interval(int(s.correct), int(s.n), int(h.correct), int(h.n))
            rows.append(row | {"gap": gap, "lo": lo, "hi": hi})
    return pd.DataFrame(rows)


def _within_strata(frame: pd.DataFrame, model: str, task: str, first: str,
                   second: str) -> tuple[float, float, float, str, list[tuple[int, int, int, int]]]:
    """The gap between splits ``first`` and ``second`` within the strata that hold both, which those are, and
    their ``(k1, n1, k2, n2)`` cells."""
    part = frame[(frame["model"].astype(str) == str(model)) & (frame["task"] == task)
                 & frame["split"].isin([first, second])]
    known = _task(task)
    stratum = known.stratum if known is not None else (lambda label, bucket: label)
    keys = [stratum(label, bucket) for label, bucket in zip(part["label"], part["bucket"])]
    counts = part.assign(stratum=keys).groupby(["stratum", "split"], observed=True)["correct"].agg(["sum", "size"])
    cells, held, shared = [], 0, []
    for key in sorted(set(keys), key=str):
        if (key, first) in counts.index and (key, second) in counts.index:
            a, b = counts.loc[(key, first)], counts.loc[(key, second)]
            cells.append((int(a["sum"]), int(a["size"]), int(b["sum"]), int(b["size"])))
            held += int(a["size"]) + int(b["size"])
            shared.append(str(key))
    gap, lo, hi = stratified_difference(cells)
    total = len(set(keys))
    if not cells:
        return gap, lo, hi, f"none of {total} strata holds both: no like-for-like comparison", cells
    named = ", ".join(shared) if len(shared) <= 6 else f"{', '.join(shared[:6])}, ..."
    return gap, lo, hi, f"{len(cells)} of {total} strata ({named}): {held} of {len(part)} instances", cells


# What each split a (model, task) lacks would take, keyed by the splits it has; the README's gaps only.
_SPLIT_NAMES = {"trained": "trained", "unseen": "unseen", "heldout": "held-out", "seen": "seen", "unknown": "unknown"}
_UNSEEN_FIX = "score it on unseen instances with --fresh N --split unseen, where its training distribution has them"


def missing_gap_words(splits: set[str]) -> str:
    """Why no gap of ``GAPS`` can be measured from records of ``splits`` only, and how to get one.

    Args:
        splits: the splits a model's records of one task have (trained, unseen, heldout, seen, unknown).
    Returns:
        One sentence, true of those splits: a run of trained and held-out instances is told that no unseen
        instance exists (the README defines no trained - held-out gap), not that it lacks a manifest.
    """
    have = ", ".join(_SPLIT_NAMES.get(s, s) for s in sorted(splits, key=list(_SPLIT_NAMES).index)) or "no"
    if not splits & {"trained", "unseen", "seen", "heldout"}:
        return (f"only {have} instances: nothing is known of its training data, so no gap can be measured; give the "
                "model a training manifest, or score it with --heldout TASK:SPEC")
    if "unseen" not in splits and "trained" in splits:
        return (f"only {have} instances, no unseen ones, so neither trained - unseen nor unseen - held-out can be "
                f"measured; {_UNSEEN_FIX}")
    if "heldout" not in splits and "unseen" in splits:
        return (f"only {have} instances, no held-out ones, so unseen - held-out cannot be measured; score it also on "
                "the frozen set (no --split), whose held-out instances are those its training distribution leaves out")
    if "heldout" not in splits:
        return (f"only {have} instances, no held-out ones, so no gap to held-out inputs can be measured; score it on "
                "inputs its training distribution leaves out (the frozen set, or --heldout TASK:SPEC naming them)")
    return (f"only {have} instances, no trained or unseen ones, so no gap can be measured; score it on the frozen "
            f"set, or {_UNSEEN_FIX}")


def gap_notes(frame: pd.DataFrame, gaps: pd.DataFrame) -> list[str]:
    """Per model and task with records but no row in ``gaps``: which splits it has and why no gap is measured."""
    measured = set() if gaps.empty else set(zip(gaps["model"].astype(str), gaps["task"]))
    splits = frame.groupby([frame["model"].astype(str), "task"], observed=True)["split"].agg(lambda v: set(v))
    return [f"{model}, {task}: {missing_gap_words(s)}." for (model, task), s in splits.items()
            if (model, task) not in measured]


def gap_section(doc: plots.Doc, frame: pd.DataFrame, colors: dict) -> None:
    gaps = gap_table(frame)
    notes = gap_notes(frame, gaps)
    if gaps.empty:
        doc.p("No gap can be measured in these runs (a gap needs instances of both of its splits: trained and "
              "unseen, unseen and held out, or seen and held out where only the training distribution is known):")
        for note in notes:
            doc.p(note)
        return
    doc.p("'trained - unseen': a model that memorised its training data scores far better on the exact problems it "
          "trained on than on new problems of the same distribution; one that learned scores about the same (gap "
          "near 0). It is compared within strata (abcd's program lengths, multiplication's digit pairs, judge's "
          "templates) that hold both, each weighted by Mantel-Haenszel's n1 n2 / (n1 + n2): where every short "
          "problem is trained on and the unseen ones are long, the plain difference would be difficulty, not "
          "recall ('strata' in the table below says which strata were compared, and its accuracies are theirs). 'unseen - held-out': how much "
          "carries outside the training distribution ('seen - held-out' where the training data is not "
          "recorded: seen mixes trained and unseen). Intervals: Newcombe's hybrid score method (1998, method "
          "10), 95%; within strata its weighted form (Zou & Donner 2008, MOVER).")
    shown = gaps.assign(**{"first %": gaps["first %"].round(1), "second %": gaps["second %"].round(1),
                           "gap pts [95% CI]": [f"{100 * g:+.1f} [{100 * lo:+.1f}, {100 * hi:+.1f}]" if g == g
                                                else "no stratum holds both"
                                                for g, lo, hi in zip(gaps["gap"], gaps["lo"], gaps["hi"])]})
    wide = shown.assign(model=[f"{m} ({g})" for m, g in zip(shown["model"], shown["gap of"])])
    doc.table(_pivot(wide, "model", "task", "gap pts [95% CI]").fillna("-"))
    doc.table(shown.drop(columns=["gap", "lo", "hi"]), collapsed="the accuracies behind each gap")
    for k, (_, _, name) in enumerate(GAPS):
        part = gaps[(gaps["gap of"] == name) & gaps["gap"].notna()]
        if not part.empty:
            doc.figure(plots.gap_figure(part, colors, name.replace("held-out", "held out")), f"gap{k}" if k else "gap",
                       f"Gap {name} per model and task (points, 95% CI)")
    for note in notes:
        doc.p(f"Not shown: {note}")
