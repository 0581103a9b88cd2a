"""The Worlds section: runs on causal worlds of one's own (``--world``), accuracy against each
world's complexity.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from oraclebench import report_plots as plots
from oraclebench.records import request_errors, scan_runs
from oraclebench.report_runs import INSIDE_SPLITS
from oraclebench.stats import wilson
from oraclebench.tasks.exchange import shown_share


WORLD_SPLITS = ("trained", "unseen", "seen", "heldout", "unknown")  # the summary's splits, "all" aside
# What the Worlds section shows, as the README's study table does: seen (every input inside the training
# distribution: trained + unseen, pooled) against held out.
WORLD_SHOWN = ("seen", "heldout", "unknown")


def world_runs(results: Path) -> list[dict]:
    """Per model, task and world (by its hash), the latest run that scored the world's whole frozen
    set (``--world``; not ``--fresh``, ``--limit``, interrupted or stopped early, no failed request), as
    rows: model, task, world name, its complexity measures and per split n, accuracy and 95% interval."""
    latest: dict[tuple, dict] = {}
    for summary in scan_runs(results)[0]:
        for task, variant in (summary.get("variants") or {}).items():
            cover = (summary.get("coverage") or {}).get(task) or {}
            whole = cover.get("of") is not None and cover.get("instances") == cover.get("of")
            sel = summary.get("selection") or {}
            measured = not request_errors(summary, task)  # a failed request did not measure the model
            if whole and measured and not summary.get("interrupted") and not summary.get("stopped_early") \
                    and not sel.get("fresh"):
                latest[(summary["model"], task, variant.get("sha256"))] = {"summary": summary, "variant": variant}
    rows = []
    for (model, task, _), found in sorted(latest.items(), key=lambda kv: (kv[0][0], kv[0][1])):
        cells = (found["summary"].get("tasks") or {}).get(task) or {}
        row = {"model": model, "task": task, "world": found["variant"].get("name"), **(found["variant"].get("measures") or {})}
        for split in WORLD_SPLITS:
            if split in cells:
                c = cells[split]
                row[split] = {"n": c["n"], "acc": c["accuracy"], "lo": c["ci"][0], "hi": c["ci"][1]}
        inside = [cells[s] for s in INSIDE_SPLITS if s in cells]
        if inside:  # seen = trained + unseen (+ seen, where only the distribution is known): counts pooled
            n, k = sum(c["n"] for c in inside), sum(c.get("correct", round(c["accuracy"] * c["n"])) for c in inside)
            lo, hi = wilson(k, n)
            row["seen"] = {"n": n, "acc": k / n, "lo": lo, "hi": hi}
        rows.append(row)
    return rows


def worlds_table(rows: list[dict]) -> pd.DataFrame:
    def cell(c: dict | None) -> str:
        return "-" if not c else f"{shown_share(c['acc'])} [{shown_share(c['lo'])}, {shown_share(c['hi'])}] n={c['n']}"

    names = {"seen": "seen %", "heldout": "held out %", "unknown": "unknown %"}
    return pd.DataFrame([{"model": r["model"], "world": r["world"], "variables": r.get("variables"),
                          "equations": r.get("equations"), "depth": r.get("depth"),
                          "outputs using outputs": r.get("dependent_outputs"), "inputs": r.get("input_space"),
                          **{names[s]: cell(r.get(s)) for s in WORLD_SHOWN}}
                         for r in rows]).replace("-", pd.NA).dropna(axis=1, how="all").fillna("-")


def worlds_section(doc: plots.Doc, results: Path, rows: list[dict] | None = None) -> None:
    """Accuracy against world complexity, when models were scored on several worlds (``--world``);
    ``rows``: ``world_runs(results)`` when already read."""
    rows = world_runs(results) if rows is None else rows
    if not rows:
        return
    doc.h2("Worlds", "worlds")
    doc.p("Runs on causal worlds of your own (--world): each model's latest run over a world's whole frozen set, "
          "with the world's complexity (variables, equations, dependency depth, outputs that use other outputs, "
          "input space) and its seen and held-out accuracy with 95% Wilson intervals (seen: every input inside the "
          "training distribution, trained and unseen together). These runs are not the "
          "leaderboard's causal score, which is the default world's.")
    doc.table(worlds_table(rows))
    if len(rows) < 2:
        return
    for measure in ("depth", "equations"):
        points = [{"label": f"{r['model']} / {r['world']}", "x": r.get(measure), "split": split, **r[split]}
                  for r in rows for split in WORLD_SHOWN if split in r and r.get(measure) is not None]
        if points:
            doc.figure(plots.complexity_figure(pd.DataFrame(points), measure, f"causal: accuracy by world {measure}"),
                       f"worlds-{measure}", f"Seen and held-out accuracy against the world's {measure.replace('_', ' ')}")
