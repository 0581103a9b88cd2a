"""The judge argument analysis (seed 004's questions) as a function over one run's records.

Seed 004 asked whether a chooser that reads two chains of thought and an argument for one of them
can tell the right one *better than the argument does*. From a judge run's records this computes:

- accuracy with its 95% Wilson interval, overall and on seen versus held-out templates/error kinds;
- the argument base rate (how often the argument favours the right candidate) and whether the model
  beats it, paired on the same instances (exact McNemar: model right/argument wrong versus the reverse);
- accuracy when the argument is right and when it is wrong, and how often the model follows it;
- masked versus unmasked arguments; accuracy per error kind and per template;
- with ``control`` records (the no-transplant run on the same instances), the paired comparison:
  both right, only one right, exact McNemar p-values and a bootstrap interval of the difference, over the
  pairs both runs answered (``compare.measured``, as ``oraclebench compare``); the others are counted apart.

``judge_analysis(records, control=None) -> dict`` is plain JSON; ``render_markdown(analysis)`` writes
it as tables; ``plot_curves(history, path)`` draws the training curves of ``oraclebench train
judge-transplant`` (the seed's figures). ``python -m oraclebench.judge_report RUN [--control RUN]`` prints the markdown for
runs named as ``oraclebench compare`` names them (run id, folder, records file or ``MODEL@latest``).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Callable, Iterable, Sequence

from oraclebench.compare import measured, pair_records
from oraclebench.records import Record
from oraclebench.stats import mcnemar_exact, paired_bootstrap, wilson
from oraclebench.tasks.exchange import shown_share

SPLITS = ("all", "seen", "heldout")  # seen: the seen templates and error kinds (records trained, unseen or seen)
INSIDE = ("trained", "unseen", "seen")


def _in_split(r: Record, split: str) -> bool:
    """Whether record ``r`` counts under ``split``: seen templates are every split inside the training distribution."""
    return split == "all" or r.split == split or (split == "seen" and r.split in INSIDE)


def _cell(flags: Iterable[bool]) -> dict:
    """``{"k", "n", "p", "ci"}``: successes, trials, rate (None when n = 0) and the Wilson 95% interval."""
    flags = [bool(f) for f in flags]
    k, n = sum(flags), len(flags)
    lo, hi = wilson(k, n)
    return {"k": k, "n": n, "p": k / n if n else None, "ci": [lo, hi]}


def _accuracy(recs: Iterable[Record]) -> dict:
    """``_cell`` of the records' correctness, plus ``errors``: failed requests, which count in ``n`` as not
    correct (as in the run's summary) and are shown beside every accuracy, so that a template whose
    requests failed does not read as one the model gets wrong."""
    recs = list(recs)
    return {**_cell(r.correct for r in recs), "errors": sum(r.error is not None for r in recs)}


def _get(r: Record, key: str):
    """A judge field from the record's detail, else its bucket (errors carry no detail)."""
    value = (r.detail or {}).get(key)
    return (r.bucket or {}).get(key) if value is None else value


def _paired(a: Sequence[bool], b: Sequence[bool]) -> dict:
    """Counts of a paired comparison, exact McNemar p-values and the bootstrap interval of ``mean(a) - mean(b)``."""
    only_a = sum(x and not y for x, y in zip(a, b))
    only_b = sum(y and not x for x, y in zip(a, b))
    diff, lo, hi = paired_bootstrap(b, a)  # mean(a) - mean(b)
    return {"n": len(a), "both": sum(x and y for x, y in zip(a, b)), "only_first": only_a, "only_second": only_b,
            "neither": sum(not x and not y for x, y in zip(a, b)), "difference": [diff, lo, hi],
            "p_two_sided": mcnemar_exact(only_a, only_b), "p_first_better": mcnemar_exact(only_a, only_b, "less")}


def _metrics(recs: list[Record]) -> dict:
    answered = [r for r in recs if r.error is None and _get(r, "chosen") is not None]
    arg = [bool(_get(r, "argument_correct")) for r in recs]
    right = [r for r in recs if _get(r, "argument_correct")]
    wrong = [r for r in recs if not _get(r, "argument_correct")]
    probs = [(_get(r, "p1"), _get(r, "p2"), r.expected) for r in answered]
    p_right = [(p1 if e == 1 else p2) for p1, p2, e in probs if p1 is not None and p2 is not None]
    return {
        "n": len(recs), "errors": sum(r.error is not None for r in recs),
        "noanswer": sum(r.error is None and _get(r, "chosen") is None for r in recs),
        "accuracy": _accuracy(recs),
        "argument_base_rate": _cell(arg),
        "accuracy_argument_right": _accuracy(right),
        "accuracy_argument_wrong": _accuracy(wrong),
        "follows_argument": _cell(bool(_get(r, "followed_argument")) for r in answered),
        "accuracy_masked": _accuracy(r for r in recs if _get(r, "masked")),
        "accuracy_unmasked": _accuracy(r for r in recs if not _get(r, "masked")),
        "mean_p_right": sum(p_right) / len(p_right) if p_right else None,
        "versus_argument": _paired([r.correct for r in recs], arg),
    }


def _groups(recs: list[Record], key: str) -> dict:
    """``{value of key: {split: accuracy cell}}`` (error kind or template against seen/held out)."""
    by: dict[str, list[Record]] = defaultdict(list)
    for r in recs:
        by[str(_get(r, key))].append(r)
    return {name: {split: _accuracy(r for r in group if _in_split(r, split))
                   for split in SPLITS} for name, group in sorted(by.items())}


def judge_analysis(records: Sequence[Record], control: Sequence[Record] | None = None) -> dict:
    """The argument analysis of one model's judge records, and optionally the paired comparison with a control run."""
    recs = [r for r in records if r.task == "judge"]
    models = sorted({r.model for r in recs})
    out: dict = {"model": models[0] if len(models) == 1 else models, "n": len(recs), "splits": {}}
    for split in SPLITS:
        part = [r for r in recs if _in_split(r, split)]
        if part:
            out["splits"][split] = _metrics(part)
    out["by_error"] = _groups(recs, "error")
    out["by_template"] = _groups(recs, "template")
    if control is not None:
        ctrl = [r for r in control if r.task == "judge"]
        matched, _ = pair_records(recs, ctrl)  # the same instance asking the same question
        out["control"] = {"model": sorted({r.model for r in ctrl}) or None, "splits": {}}
        for split in SPLITS:
            pairs = [(r, c) for r, c in matched if _in_split(r, split)]
            # As ``oraclebench compare``: a pair where either request failed measures nothing about the two
            # answers and is left out of the table, the p-value and the interval (counted apart). Counted as
            # not right, 18 + 17 failed requests made 16 more discordant pairs and another p-value than compare's.
            kept = [p for p in pairs if measured(p)]
            if pairs:
                cmp = _paired([a.correct for a, _ in kept], [b.correct for _, b in kept])
                if not kept:
                    cmp["difference"] = None  # no pair measured: no difference, not +0.0 [+0.0, +0.0]
                cmp["accuracy_model"] = _accuracy(a for a, _ in kept)
                cmp["accuracy_control"] = _accuracy(b for _, b in kept)
                cmp["left_out"] = len(pairs) - len(kept)
                cmp["errors_model"] = sum(a.error is not None for a, _ in pairs)
                cmp["errors_control"] = sum(b.error is not None for _, b in pairs)
                out["control"]["splits"][split] = cmp
        if len(out["control"]["model"] or []) == 1:
            out["control"]["model"] = out["control"]["model"][0]
    return out


# --------------------------------------------------------------------------- markdown and figures


def _pct(c: dict) -> str:
    if not c["n"]:
        return "-"
    errors = f", {c['errors']} failed" if c.get("errors") else ""
    return f"{shown_share(c['p'])} [{shown_share(c['ci'][0])}, {shown_share(c['ci'][1])}] (n={c['n']}{errors})"


def _pvalue(p: float) -> str:
    return f"{p:.3g}" if p >= 1e-4 else "<1e-4"


ROWS: list[tuple[str, Callable[[dict], str]]] = [
    ("accuracy", lambda m: _pct(m["accuracy"])),
    ("argument base rate (argument favours the right candidate)", lambda m: _pct(m["argument_base_rate"])),
    ("accuracy when the argument is right", lambda m: _pct(m["accuracy_argument_right"])),
    ("accuracy when the argument is wrong", lambda m: _pct(m["accuracy_argument_wrong"])),
    ("follows the argument", lambda m: _pct(m["follows_argument"])),
    ("accuracy, masked arguments", lambda m: _pct(m["accuracy_masked"])),
    ("accuracy, unmasked arguments", lambda m: _pct(m["accuracy_unmasked"])),
    ("mean p(right candidate)", lambda m: "-" if m["mean_p_right"] is None else f"{m['mean_p_right']:.3f}"),
    ("model right / argument wrong vs the reverse (McNemar p, model better)",
     lambda m: f"{m['versus_argument']['only_first']} vs {m['versus_argument']['only_second']} "
               f"(p={_pvalue(m['versus_argument']['p_first_better'])})"),
    ("errors / no answer", lambda m: f"{m['errors']} / {m['noanswer']}"),
]


def _verdict(m: dict) -> str:
    acc, base = m["accuracy"]["p"], m["argument_base_rate"]["p"]
    if acc is None:
        return "no instances"
    p = m["versus_argument"]["p_first_better"]
    if acc > base and p < 0.05:
        return f"beats the argument base rate ({100 * acc:.1f}% vs {100 * base:.1f}%, McNemar p={_pvalue(p)})"
    return f"does not beat the argument base rate ({100 * acc:.1f}% vs {100 * base:.1f}%, McNemar p={_pvalue(p)})"


def render_markdown(analysis: dict) -> str:
    """The analysis as markdown: the metrics per split, per error kind, and the paired control comparison."""
    splits = list(analysis["splits"])
    partial = [f"PARTIAL run ({analysis['partial']}): not the model's score.", ""] if analysis.get("partial") else []
    lines = [f"### Judge argument analysis: {analysis['model']}", "", *partial,
             "Percentages with 95% Wilson intervals; `seen`/`heldout` split templates and error kinds by training; "
             "failed requests count in n as not right (`k failed`).", "",
             "| | " + " | ".join(splits) + " |", "|---|" + "---|" * len(splits)]
    for label, fmt in ROWS:
        lines.append(f"| {label} | " + " | ".join(fmt(analysis["splits"][s]) for s in splits) + " |")
    lines += ["", *(f"- {s}: {_verdict(analysis['splits'][s])}" for s in splits), ""]
    for key, title in (("by_error", "error kind"), ("by_template", "template")):
        lines += [f"| {title} | " + " | ".join(splits) + " |", "|---|" + "---|" * len(splits)]
        lines += [f"| {k} | " + " | ".join(_pct(c[s]) for s in splits) + " |" for k, c in analysis[key].items()]
        lines.append("")
    control = analysis.get("control")
    if control and control["splits"]:
        lines += [f"#### Paired with the control {control['model']} (same instances)", "",
                  "Over the pairs both runs answered; a pair where either request failed is left out (failed: "
                  "model / control), as `oraclebench compare` counts them.", "",
                  "| split | model | control | both right | only model | only control | difference [95% bootstrap] "
                  "| McNemar p (two-sided) | p (model better) | left out (failed: model / control) |",
                  "|---|---|---|---|---|---|---|---|---|---|"]
        for s, c in control["splits"].items():
            diff = "-" if c["difference"] is None else "{:+.1f} [{:+.1f}, {:+.1f}]".format(*(100 * x for x in c["difference"]))
            lines.append(f"| {s} | {_pct(c['accuracy_model'])} | {_pct(c['accuracy_control'])} | {c['both']} | "
                         f"{c['only_first']} | {c['only_second']} | {diff} | "
                         f"{_pvalue(c['p_two_sided'])} | {_pvalue(c['p_first_better'])} | "
                         f"{c['left_out']} ({c['errors_model']} / {c['errors_control']}) |")
        lines.append("")
    return "\n".join(lines)


def plot_curves(history: list[dict], path, title: str = ""):
    """Train and test accuracy over examples trained (the seed's figures), with the argument base rate."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    x = [h["examples"] for h in history]
    fig, ax = plt.subplots(figsize=(7, 4))
    for key, label, style in (("train_accuracy", "train", "-"), ("seen_accuracy", "test, seen templates", "-"),
                              ("heldout_accuracy", "test, held-out templates/errors", "-"),
                              ("seen_follows", "follows the argument (test, seen)", ":")):
        ax.plot(x, [h[key] for h in history], style, marker="o", markersize=3, label=label)
    ax.axhline(history[-1]["seen_argument"], color="grey", linestyle="--", label="argument base rate (test)")
    ax.set_xlabel("examples trained")
    ax.set_ylabel("accuracy")
    ax.set_ylim(0, 1)
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def main(argv: list[str] | None = None) -> int:
    """``python -m oraclebench.judge_report RUN [--control RUN] [--results DIR]``: print the analysis."""
    import argparse
    import sys
    from pathlib import Path

    from oraclebench.errors import UsageError
    from oraclebench.records import partial_reason, read_records, read_summary, resolve_run, task_complete

    parser = argparse.ArgumentParser(prog="python -m oraclebench.judge_report", description=__doc__.splitlines()[0])
    parser.add_argument("run", help="run id, run folder, records file or MODEL@latest")
    parser.add_argument("--control", default=None, help="the no-transplant run on the same instances")
    parser.add_argument("--results", default="results")
    args = parser.parse_args(argv)
    try:
        run_dir = resolve_run(Path(args.results), args.run)
        records = read_records(run_dir)
        summary = read_summary(run_dir)
        control = read_records(resolve_run(Path(args.results), args.control)) if args.control else None
    except UsageError as exc:
        print(f"judge_report: error: {exc}", file=sys.stderr)
        return 2
    if not any(r.task == "judge" for r in records):
        print(f"judge_report: error: run {args.run} has no judge records; run with -m judge", file=sys.stderr)
        return 2
    analysis = judge_analysis(records, control)
    if summary is not None and not task_complete(summary, "judge"):  # as the leaderboard would not show it
        analysis["partial"] = partial_reason(summary, "judge")
    print(render_markdown(analysis))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
