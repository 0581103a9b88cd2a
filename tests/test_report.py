"""The HTML report: built from realistic synthetic runs of all four tasks, parsed back with html.parser."""

from __future__ import annotations

import dataclasses
import functools
import random
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from oraclebench.records import Record, write_run
from oraclebench.report import (Run, build_report, gap_table, load_runs, records_frame, task_manifest,
                                training_range)
from oraclebench.summary import summarize
from oraclebench.tasks import get_task

MANIFEST = {"tasks": {
    "abcd": {"lengths": [1, 12]},
    "causal": {"omitted": ["1,0,1,0,1", "1,1,1,1,1"]},
    "multiplication": {"max_digits": [2, 2]},
    "judge": {"templates": ["t0", "t1", "t2"], "errors": ["arithmetic", "final"]},
}}
HOSTILE = "<script>alert('x')</script>"


def _one_record(model: str, run_id: str, task: str, i: int, bucket: dict, label: str, heldout: bool, ok: bool,
            fields: dict, detail: dict, prompt: str, errors: bool = False) -> Record:
    failed = errors and i % 50 == 7  # a failed request: counted apart from wrong answers; the run is partial
    if failed:
        return Record(run_id=run_id, model=model, task=task, instance_id=f"{task}-{get_task(task).version}-{i:04d}", label=label,
                      bucket=bucket, split="heldout" if heldout else "seen", prompt=prompt, completion="", parsed=None,
                      expected="answer", correct=False, reason="error: timeout after 30 s", error="timeout after 30 s")
    return Record(run_id=run_id, model=model, task=task, instance_id=f"{task}-{get_task(task).version}-{i:04d}", label=label, bucket=bucket,
                  split="heldout" if heldout else "seen", prompt=prompt, completion="answer" if ok else f"wrong {HOSTILE}",
                  parsed="answer" if ok else "wrong", expected="answer", correct=ok,
                  reason="" if ok else f"expected answer, got wrong <b>{i}</b>", fields=fields, detail=detail)


def synthetic_records(model: str, run_id: str, skill: float, memorised: float, n: int, seed: int,
                      errors: bool = False) -> list[Record]:
    """``n`` records per task: right with probability ``skill`` on seen instances and ``memorised`` on held-out
    ones; with ``errors``, every 50th (from the 8th) a failed request."""
    rng = random.Random(seed)
    out = []
    _record = functools.partial(_one_record, errors=errors)
    for i in range(n):
        length = 1 + i % 20
        held = length > 12
        ok = rng.random() < (memorised if held else skill)
        bad = None if ok else rng.randrange(0, max(1, length // 2))
        out.append(_record(model, run_id, "abcd", i, {"length": length, "steps": length // 2}, f"len{length:02d}", held, ok,
                           {"final": ok or rng.random() < 0.3, "trace": ok}, {"first_bad_line": bad},
                           f"ABCD instructions\nA B {HOSTILE}\n" + "C " * length))
        bits = format(i % 32, "05b")
        seq = ",".join(bits)
        held = seq in MANIFEST["tasks"]["causal"]["omitted"]
        ok = rng.random() < (memorised if held else skill)
        fields = {k: ok or rng.random() < 0.6 for k in ("newA", "newB", "newC", "newD", "old_sum", "new_sum")}
        out.append(_record(model, run_id, "causal", i, {"inputs": seq, "ones": bits.count("1")}, seq, held, ok, fields, {}, seq))
        da, db = 1 + i % 5, 1 + (i // 5) % 5
        held = da > 2 or db > 2
        ok = rng.random() < (memorised if held else skill)
        digits = {f"d{k}": ok or rng.random() < 0.7 - 0.1 * k for k in range(da + db)}
        out.append(_record(model, run_id, "multiplication", i, {"a_digits": da, "b_digits": db, "digits": f"{da}x{db}",
                                                                "scratchpad": False},
                           f"{da}x{db}", held, ok, {**digits, "length": True}, {}, f"Q: What is {da} × {db}? A:"))
        template, error = f"t{i % 5}", ("arithmetic", "final", "unit")[i % 3]
        held = template not in MANIFEST["tasks"]["judge"]["templates"] or error not in MANIFEST["tasks"]["judge"]["errors"]
        arg = rng.random() < 0.64
        ok = rng.random() < (memorised if held else skill)
        out.append(_record(model, run_id, "judge", i, {"template": template, "error": error}, f"{template}-{error}", held, ok,
                           {}, {"argument_correct": arg, "followed_argument": ok == arg, "masked": i % 2 == 0},
                           f"Question {i}? candidate_"))
    return out


def write_fixture(results: Path, models: dict[str, tuple[float, float]], n: int = 60, complete: bool = True) -> None:
    """One run per model: ``models`` maps a name to (seen accuracy, held-out accuracy). The synthetic
    runs stand for whole frozen sets (``complete``: no failed request) unless told otherwise (partial, with
    failed requests)."""
    for k, (model, (skill, memorised)) in enumerate(models.items()):
        run_id = f"20260101T00000{k}-000000-{model}"
        records = synthetic_records(model, run_id, skill, memorised, n, seed=k, errors=not complete)
        summary = summarize(records, run_id=run_id, model=model, manifest=MANIFEST, options={"heldout": []})
        summary["complete"] = {task: complete for task in summary["tasks"]}
        summary["partial"] = {} if complete else {task: "--limit 60" for task in summary["tasks"]}
        summary["coverage"] = {task: {"version": get_task(task).version} for task in summary["tasks"]}  # as a run's
        write_run(results, run_id, records, summary)


class Outline(HTMLParser):
    """Headings, tables, images and raw script tags of a page."""

    def __init__(self):
        super().__init__()
        self.headings: list[str] = []
        self.tables = 0
        self.images: list[str] = []
        self.scripts = 0
        self._in_heading = False

    def handle_starttag(self, tag, attrs):
        if tag in ("h2", "h3"):
            self._in_heading = True
            self.headings.append("")
        elif tag == "table":
            self.tables += 1
        elif tag == "img":
            self.images.append(dict(attrs)["src"])
        elif tag == "script":
            self.scripts += 1

    def handle_endtag(self, tag):
        if tag in ("h2", "h3"):
            self._in_heading = False

    def handle_data(self, data):
        if self._in_heading:
            self.headings[-1] += data


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> tuple[Path, Path]:
    results = tmp_path_factory.mktemp("results")
    write_fixture(results, {"learner": (0.95, 0.9), "memoriser": (0.97, 0.2)})
    return results, build_report(results)


def test_report_has_every_section_table_and_figure(report):
    results, path = report
    assert path == results / "report" / "report.html"
    page = Outline()
    page.feed(path.read_text(encoding="utf-8"))
    for heading in ("Runs", "Leaderboard", "Generalization gap", "abcd", "causal", "judge", "multiplication",
                    "Where traces go wrong", "Argument analysis", "Per-field accuracy", "Failed instances"):
        assert heading in page.headings, heading
    # Figures: gap, abcd length + first bad line, causal inputs, judge template + error, multiplication heat map
    # + digit positions; all embedded, so the file opens from disk with no server.
    assert len(page.images) == 8
    assert all(src.startswith("data:image/png;base64,") for src in page.images)
    assert page.tables >= 12
    # complete runs have no failed request; a cell with some says how many (see the dead server's report)
    assert not re.search(r"n=\d+, \d+ err", path.read_text(encoding="utf-8"))


def test_report_escapes_what_models_and_prompts_contain(report):
    _, path = report
    text = path.read_text(encoding="utf-8")
    assert HOSTILE not in text and "<b>" not in text
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in text
    page = Outline()
    page.feed(text)
    assert page.scripts == 0


def test_markdown_twin_links_the_same_figures(report):
    results, _ = report
    md = (results / "report" / "report.md").read_text(encoding="utf-8")
    links = [line.split("](")[1].rstrip(")") for line in md.splitlines() if line.startswith("![")]
    assert len(links) == 8
    assert all((results / "report" / link).stat().st_size > 1000 for link in links)
    assert "| model " in md and "## Generalization gap" in md


def test_gap_separates_the_memoriser_from_the_learner(report):
    results, _ = report
    gaps = gap_table(records_frame(load_runs(results))).set_index(["model", "task"])
    for task in ("abcd", "causal", "multiplication", "judge"):
        memoriser = gaps.loc[("memoriser", task)]
        assert memoriser["lo"] > 0.1, (task, memoriser.to_dict())  # a real gap: the interval excludes 0
        learner = gaps.loc[("learner", task)]
        assert learner["lo"] < 0.05 < memoriser["lo"], (task, learner.to_dict())


def test_report_names_unknown_models_and_empty_results(tmp_path):
    from oraclebench.errors import UsageError

    with pytest.raises(UsageError, match="no runs under"):
        build_report(tmp_path)
    write_fixture(tmp_path, {"only": (0.9, 0.9)}, n=10)
    with pytest.raises(UsageError, match="no run of model.*nope.*only"):
        build_report(tmp_path, models=["nope"])


@pytest.mark.slow  # about 10 s on two idle cores: writing 20,000 records, then the report
def test_report_of_ten_models_and_twenty_thousand_records(tmp_path):
    # No timing assertion (speed is measured by a benchmark script, not a unit test): this checks that a
    # large report completes, stays bounded in figures and names all ten models.
    models = {f"model-{k}": (0.9 - 0.05 * k, 0.8 - 0.07 * k) for k in range(10)}
    write_fixture(tmp_path, models, n=500)  # 10 models x 4 tasks x 500 = 20,000 records
    path = build_report(tmp_path, out=tmp_path / "big")
    page = Outline()
    page.feed(path.read_text(encoding="utf-8"))
    assert len(page.images) == 8
    assert "20000 records" in path.read_text(encoding="utf-8")
    md = (tmp_path / "big" / "report.md").read_text(encoding="utf-8")
    assert all(f"model-{k}" in md for k in range(10))


def test_training_range_from_manifest_heldout_option_or_records(tmp_path):
    import pandas as pd

    frame = pd.DataFrame({"split": ["seen", "heldout", "seen"], "x": [3, 15, 5]})
    trained = Run("m", "r", {"manifest": {"task": "abcd", "split": {"lengths": [1, 12]}}}, [])
    pred, text = training_range(trained, "abcd", "length", frame)
    assert text == "lengths 1-12" and pred(12) and not pred(13)
    # --heldout wins over the model's manifest, as in the runner
    option = Run("m", "r", {"manifest": trained.summary["manifest"], "options": {"heldout": ["abcd:lengths=1-4"]}}, [])
    assert task_manifest(option.summary, "abcd") == {"lengths": [1, 4]}
    manifest_file = tmp_path / "manifest.json"
    manifest_file.write_text('{"task": "causal", "split": {"omitted": ["1,1,1,1,1"]}}', encoding="utf-8")
    from_file = Run("m", "r", {"options": {"heldout": [str(manifest_file)]}}, [])
    pred, text = training_range(from_file, "causal", "inputs", frame)
    assert not pred("1,1,1,1,1") and pred("1,0,1,0,1") and "all inputs but 1,1,1,1,1" == text
    # no manifest: the records' own splits say which values were seen
    pred, text = training_range(Run("m", "r", {}, []), "abcd", "length", frame)
    assert pred(3) and pred(5) and not pred(15) and "records' splits" in text
    assert training_range(Run("m", "r", {}, []), "abcd", "length", frame.assign(split="seen")) == (None, "")


def test_the_leaderboard_counts_truncated_answers_apart_from_wrong_and_no_answer():
    from oraclebench.report import leaderboard

    def rec(i: int, status: str) -> Record:
        return Record(run_id="r", model="m", task="multiplication", instance_id=f"multiplication-v1-{i:04d}",
                      label="1x1", bucket={}, split="seen", prompt="p", completion="The answer is", parsed=None,
                      expected=56, correct=status == "correct", status=status)

    statuses = ["correct", "truncated", "truncated", "no_answer", "wrong"]
    records = [rec(i, s) for i, s in enumerate(statuses)]
    row = leaderboard(records_frame([Run("m", "r", {}, records)])).iloc[0]
    assert (row["truncated"], row["no answer"], row["errors"]) == (2, 1, 0)
    assert row["all"].startswith("20.0 ")  # 1 of 5 right: truncated answers are not right


# --------------------------------------------------------------------------- what a person sees (issue 21)


def test_failed_sample_heading_says_how_many_of_how_many(report):
    """A capped sample of failures is headed "24 of 290 failed ...", never "24 failed ..."."""
    import re

    results, path = report
    text = path.read_text(encoding="utf-8")
    md = (results / "report" / "report.md").read_text(encoding="utf-8")
    records = [r for run in load_runs(results) for r in run.records]
    for task in ("abcd", "causal", "multiplication", "judge"):
        failed = sum(not r.correct for r in records if r.task == task)  # wrong answers and failed requests
        found = re.search(rf"<summary>(\d+)(?: of (\d+))? failed {task} instances of 2 models", text)
        assert found, task
        shown, total = int(found.group(1)), int(found.group(2) or found.group(1))
        assert total == failed and shown <= min(24, failed), (task, shown, total, failed)
        assert f"{found.group(0)[len('<summary>'):]}" in md  # the markdown twin says the same
        if shown < total:
            assert found.group(0) + " (a sample: at most 2 per bucket)</summary>" in text
    # judge: 15 buckets, at most 2 failures shown per bucket, of 43 failed answers: a sample, and said so
    judge_failed = sum(not r.correct for r in records if r.task == "judge")
    assert judge_failed > 30
    assert re.search(rf"<summary>\d+ of {judge_failed} failed judge instances of 2 models \(a sample", text)


def test_runs_table_says_what_was_held_out_in_words():
    from oraclebench.report import runs_table

    def run(model: str, summary: dict) -> Run:
        summary = {"run_id": f"r-{model}", "finished": "2026-01-01T00:00:00", "tasks": {}, **summary}
        tasks = ("abcd", "causal", "multiplication", "judge")
        return Run(model, summary["run_id"], summary, [], {t: summary for t in tasks})

    table = runs_table([run("trained", {"manifest": MANIFEST}),
                        run("option", {"manifest": MANIFEST, "options": {"heldout": ["abcd:lengths=1-4"]}}),
                        run("bare", {})])
    words = dict(zip(table["model"], table["training (the rest held out)"]))
    assert words["trained"] == ("abcd: trained on lengths 1-12 (manifest); causal: trained on all inputs but "
                                "1,0,1,0,1; 1,1,1,1,1 (manifest); judge: trained on templates t0, t1, t2; errors "
                                "arithmetic, final (manifest); multiplication: trained on up to 2x2 digits (manifest)")
    assert words["option"].startswith("abcd: trained on lengths 1-4 (--heldout); causal: trained on all inputs but")
    assert words["bare"].count("nothing known (no manifest, no --heldout)") == 4
    assert not any("{" in w or "..." in w for w in words.values())  # no raw, truncated JSON
    assert "manifest" not in table.columns and "--heldout" not in table.columns


def test_tiny_n_shows_counts_instead_of_interval_bars(tmp_path):
    """One instance per causal input: the curve shows 1/1 and 0/1 beside the points, draws no 20-100 bar
    for them, and says so; its table shows the counts too."""
    import re

    records = []
    for i in range(32):
        seq = ",".join(format(i, "05b"))
        ok = i % 3 != 0
        records.append(Record(run_id="r1", model="tiny", task="causal", instance_id=f"causal-v1-{i:04d}", label=seq,
                              bucket={"inputs": seq}, split="seen", prompt=seq, completion="x", parsed=None,
                              expected="y", correct=ok, reason="" if ok else "wrong"))
    write_run(tmp_path, "r1", records, summarize(records, run_id="r1", model="tiny"))
    text = build_report(tmp_path, runs=["r1"]).read_text(encoding="utf-8")
    table = text.split("causal accuracy % (n) by inputs")[1].split("</table>")[0]
    cells = re.findall(r"<td>(\d+/\d+)</td>", table)
    assert sorted(set(cells)) == ["0/1", "1/1"] and cells.count("0/1") == 11 and cells.count("1/1") == 21
    assert "right/n where n &lt; 5" in text and "show their count (right/n) instead of an interval" in text

    from oraclebench import report_plots as plots

    frame = pd_frame([("tiny", seq, i % 3 != 0, 1) for i, seq in enumerate(["a", "b", "c"])]
                     + [("big", seq, True, 40) for seq in ["a", "b", "c"]])
    fig = plots.curve_figure(frame, "inputs", "t", {"tiny": "C0", "big": "C1"}, categorical=True)
    labels = [t.get_text() for t in fig.axes[0].texts]
    assert sorted(labels) == ["0/1", "1/1", "1/1"]  # one count per tiny point, none for n = 40
    bars = [c for c in fig.axes[0].containers if c.has_yerr]
    assert len(bars) == 1 and len(bars[0].lines[2][0].get_segments()) == 3  # the big model's three bars only
    legend = " ".join(t.get_text() for t in fig.axes[0].get_legend().get_texts())
    assert "too few for an interval" in legend and "n >= 5" in fig.axes[0].get_ylabel()


def pd_frame(rows):
    """A curve frame (model, x, correct, n, accuracy, lo, hi) of ``(model, x, right?, n)`` rows, all right or all wrong."""
    import pandas as pd

    from oraclebench.stats import wilson

    out = []
    for model, x, ok, n in rows:
        k = n if ok else 0
        lo, hi = wilson(k, n)
        out.append({"model": model, "x": x, "correct": k, "n": n, "accuracy": k / n, "lo": lo, "hi": hi})
    return pd.DataFrame(out)


def _outside(fig) -> list[str]:
    """What of ``fig`` (titles, labels, drawn ticks, legend) reaches past the edges of its PNG: the sides
    of the box around everything drawn (matplotlib's tight box) that lie outside the figure, in inches."""
    from oraclebench.report_plots import png

    png(fig)  # draws it: positions are final
    drawn = fig.get_tightbbox(fig.canvas.get_renderer())
    width, height = fig.get_size_inches()
    sides = {"left": -drawn.x0, "bottom": -drawn.y0, "right": drawn.x1 - width, "top": drawn.y1 - height}
    return [f"{side} by {over:.2f} in" for side, over in sides.items() if over > 0.01]


@pytest.mark.parametrize("tasks", [["causal"], ["abcd", "causal"], ["abcd", "causal", "judge", "multiplication"]])
def test_the_gap_plot_keeps_every_label_inside_its_png(tasks):
    import pandas as pd

    from oraclebench.report_plots import gap_figure, palette

    models = ["gpt2-causal", "a-much-longer-model-name-from-a-checkpoint-path"]
    frame = pd.DataFrame([{"model": m, "task": t, "gap": 0.5, "lo": 0.2, "hi": 0.8} for m in models for t in tasks])
    assert _outside(gap_figure(frame, palette(models))) == []


def test_curves_and_lines_keep_every_label_inside_their_png():
    from oraclebench.report_plots import TrainingRange, curve_figure, lines_figure, palette

    models = ["m1", "a-much-longer-model-name-from-a-checkpoint-path"]
    rows = [(m, ",".join(format(i, "05b")), i % 2 == 0, 1) for m in models for i in range(32)]
    shade = TrainingRange(tuple(models), lambda x: x != "1,0,1,0,1", "all inputs but 0,0,0,0,0; 1,0,1,0,1; 1,1,1,1,1")
    assert _outside(curve_figure(pd_frame(rows), "inputs", "causal: accuracy by inputs", palette(models), [shade],
                                 categorical=True)) == []
    numeric = pd_frame([(m, x, x < 10, 40) for m in models for x in range(1, 22)])
    assert _outside(curve_figure(numeric, "length", "abcd: accuracy by length", palette(models))) == []
    lines = numeric.assign(y=numeric["accuracy"])
    assert _outside(lines_figure(lines, palette(models), "x", "y %", "title")) == []


def test_the_heatmap_shows_counts_where_a_cell_has_few_instances():
    from oraclebench.report_plots import heatmap_figure

    cells = pd_frame([("m", (a, b), a <= b, 2 if a == 3 else 40) for a in (1, 2, 3) for b in (1, 2, 3)])
    cells["a"], cells["b"] = [x[0] for x in cells["x"]], [x[1] for x in cells["x"]]
    fig = heatmap_figure(cells, ["m"], {"m": lambda a, b: a <= 2 and b <= 2}, "multiplication")
    texts = sorted(t.get_text() for t in fig.axes[0].texts)
    # right where a <= b; a = 3 has two instances a cell: 0/2, 0/2, 2/2
    assert texts == sorted(["100", "100", "100", "0", "100", "100", "0/2", "0/2", "2/2"])
    assert _outside(fig) == []


def _split_records(model: str, splits: dict[str, int]) -> list[Record]:
    """Causal records of ``model``, ``splits`` mapping a split to how many instances it has (all right)."""
    out, i = [], 0
    for split, n in splits.items():
        for _ in range(n):
            out.append(Record(run_id="r1", model=model, task="causal", instance_id=f"causal-v1-{i:04d}", label="x",
                              bucket={"inputs": "0,0,0,0,0", "ones": 0}, split=split, prompt="p", completion="a",
                              parsed="a", expected="a", correct=True, reason=""))
            i += 1
    return out


def test_a_run_of_trained_and_heldout_instances_is_told_it_lacks_unseen_ones_not_a_manifest(tmp_path):
    # The README defines two gaps, trained - unseen and unseen - held-out: a complete gpt2-causal run
    # (29 trained, 3 held out, a manifest) has two splits and a manifest but neither gap.
    run_id = "20260101T000000-000000-gpt2-causal"
    records = [dataclasses.replace(r, run_id=run_id)
               for r in _split_records("gpt2-causal", {"trained": 29, "heldout": 3})]
    summary = summarize(records, run_id=run_id, model="gpt2-causal", manifest=MANIFEST, options={"heldout": []})
    summary["complete"], summary["partial"] = {"causal": True}, {}
    write_run(tmp_path, run_id, records, summary)
    build_report(tmp_path)
    md = (tmp_path / "report" / "report.md").read_text(encoding="utf-8")
    section = md.split("Generalization gap", 1)[1].split("\n#", 1)[0]
    assert "two splits" not in section and "give the model a training manifest" not in section
    assert "gpt2-causal, causal: only trained, held-out instances, no unseen ones" in section
    assert "--fresh N --split unseen" in section


def test_the_gap_section_notes_each_model_whose_gap_cannot_be_measured(tmp_path):
    from oraclebench.report import gap_notes

    runs = [Run("learner", "r1", {}, _split_records("learner", {"trained": 4, "unseen": 4, "heldout": 4})),
            Run("frozen", "r2", {}, _split_records("frozen", {"trained": 4, "heldout": 4})),
            Run("plain", "r3", {}, _split_records("plain", {"unknown": 4})),
            Run("fresh", "r4", {}, _split_records("fresh", {"unseen": 4}))]
    frame = records_frame(runs)
    notes = gap_notes(frame, gap_table(frame))
    assert [n.split(",")[0] for n in notes] == ["fresh", "frozen", "plain"]  # learner has both gaps
    fresh, frozen, plain = notes
    assert "no unseen" in frozen
    assert "no held-out" in fresh and "no --split" in fresh
    assert "manifest" in plain and "--heldout" in plain


def _world_run(results: Path, model: str, name: str, splits: dict[str, tuple[int, int]], errors: int = 0,
               day: int = 2) -> None:
    """A whole run of ``model`` on world ``name``: ``splits`` maps a split to (instances, right); the first
    ``errors`` wrong instances are failed requests."""
    run_id = f"202601{day:02d}T000000-000000-{model}"
    records, i = [], 0
    for split, (n, right) in splits.items():
        for k in range(n):
            failed = k >= right and errors > sum(r.error is not None for r in records)
            records.append(Record(run_id=run_id, model=model, task="causal", instance_id=f"causal-{name}.ab12-{i:04d}",
                                  label="x", bucket={"inputs": "0,0,0,0,0", "ones": 0}, split=split, prompt="p",
                                  completion="a", parsed="a", expected="a", correct=k < right, reason="",
                                  error="gone" if failed else None))
            i += 1
    summary = summarize(records, run_id=run_id, model=model, manifest=None, options={"heldout": []})
    summary["finished"] = f"2026-01-{day:02d}T00:00:00"
    summary["variants"] = {"causal": {"name": name, "sha256": name * 4,
                                      "measures": {"variables": 5, "equations": 4, "depth": 2, "dependent_outputs": 1,
                                                   "input_space": 32}}}
    summary["coverage"] = {"causal": {"instances": i, "of": i}}
    summary["complete"], summary["partial"] = {"causal": False}, {"causal": "a world of your own, not the default"}
    write_run(results, run_id, records, summary)


def test_the_header_counts_world_runs_and_the_worlds_table_says_seen_as_the_readme(tmp_path):
    # README: seen = trained + unseen (every input not held out), the study table's "seen %" column.
    from oraclebench.stats import wilson

    write_fixture(tmp_path, {"learner": (0.9, 0.5)})
    _world_run(tmp_path, "learner", "v05-d2-s0", {"trained": (20, 15), "unseen": (10, 5), "heldout": (2, 0)})
    _world_run(tmp_path, "hf:other", "v05-d2-s0", {"trained": (30, 30), "heldout": (2, 1)})
    build_report(tmp_path)
    md = (tmp_path / "report" / "report.md").read_text(encoding="utf-8")
    header = md.splitlines()[2]
    assert header.startswith("1 model and ") and "in the leaderboard; 2 runs of 2 models on worlds of your own" in header
    worlds = md.split("## Worlds", 1)[1].split("\n## ", 1)[0]
    assert "trained on %" not in worlds and "| seen %" in worlds and "| held out %" in worlds
    lo, hi = wilson(20, 30)  # learner: 15 + 5 right of 20 + 10 seen
    assert f"66.7 [{100 * lo:.1f}, {100 * hi:.1f}] n=30" in worlds
    assert "100.0" in worlds.split("hf:other", 1)[1].splitlines()[0]


def test_a_model_with_only_partial_runs_is_named_not_silently_left_out(tmp_path):
    write_fixture(tmp_path, {"whole": (0.9, 0.5)})
    write_fixture(tmp_path, {"halfway": (0.9, 0.5)}, complete=False)
    build_report(tmp_path)
    md = (tmp_path / "report" / "report.md").read_text(encoding="utf-8")
    runs = md.split("## Runs", 1)[1].split("\n## ", 1)[0]
    for task in ("abcd", "causal", "judge", "multiplication"):
        assert f"Not in this report: halfway {task}: only partial runs (latest 20260101T000000-000000-halfway: " \
               "--limit 60); score the whole frozen set, or name it with --run 20260101T000000-000000-halfway" in runs
    assert "Not in this report: whole" not in runs


def _dead_server_run(results: Path, run_id: str = "20260103T000000-000000-served") -> str:
    """A served model that answers every product right, but whose server died mid-run: 1x1 answered, every
    2x2 request and half the causal inputs failed (as a trial saw: the heat map read like a capability curve).
    Its summary is the plugin's: partial, the errors its reason."""
    from oraclebench.records import errors_reason

    records = []
    for i in range(40):
        dead = i >= 20
        da = 2 if dead else 1
        records.append(Record(run_id=run_id, model="served", task="multiplication", instance_id=f"multiplication-v1-{i:04d}",
                              label=f"{da}x{da}", bucket={"a_digits": da, "b_digits": da, "digits": f"{da}x{da}",
                                                          "scratchpad": False}, split="unknown", prompt="Q: ?",
                              completion="" if dead else "6", parsed=None if dead else 6, expected=6, correct=not dead,
                              reason="error: connection refused" if dead else "",
                              error="connection refused" if dead else None))
    for i in range(32):
        dead = i % 2 == 1
        seq = ",".join(format(i, "05b"))
        records.append(Record(run_id=run_id, model="served", task="causal", instance_id=f"causal-v1-{i:04d}", label=seq,
                              bucket={"inputs": seq}, split="unknown", prompt=seq, completion="" if dead else "x",
                              parsed=None, expected="x", correct=not dead, reason="error: gone" if dead else "",
                              error="gone" if dead else None))
    summary = summarize(records, run_id=run_id, model="served")
    summary["complete"] = {"multiplication": False, "causal": False}
    summary["partial"] = {"multiplication": errors_reason(20), "causal": errors_reason(16)}
    write_run(results, run_id, records, summary)
    return run_id


def test_a_cell_with_failed_requests_says_how_many_wherever_the_report_shows_its_accuracy(tmp_path):
    """A cell of failed requests read as a plain 0.0 "n=40": the heat map, its table and the curve tables
    (found by a trial). Every accuracy cell with errors shows them beside it; by hand: 2x2 is 0 of 20,
    all 20 failed; each of causal's 16 odd inputs is its one instance, failed."""
    run_id = _dead_server_run(tmp_path)
    build_report(tmp_path, runs=[run_id])
    md = (tmp_path / "report" / "report.md").read_text(encoding="utf-8")
    heat = md.split("multiplication accuracy % [95% CI] by a digits and b digits", 1)[1].split("\n\n")[1]
    assert "| 2x2 " in heat and "0.0 [0.0, 16.1] n=20, 20 err" in heat and "100.0 [83.9, 100.0] n=20 " in heat
    curve = md.split("causal accuracy % (n) by inputs", 1)[1].split("\n\n")[1]
    assert curve.count("0/1, 1 err") == 16 and curve.count("1/1") == 16
    board = md.split("## Leaderboard", 1)[1].split("\n## ", 1)[0]
    assert "50.0 [35.2, 64.8] n=40, 20 err" in board and "50.0 [33.6, 66.4] n=32, 16 err" in board


def test_the_heatmap_figure_says_how_many_requests_failed_in_a_cell():
    from oraclebench.report_plots import heatmap_figure

    cells = pd_frame([("m", (a, 1), a == 1, 40) for a in (1, 2)])
    cells["a"], cells["b"] = [x[0] for x in cells["x"]], [x[1] for x in cells["x"]]
    cells["errors"] = [0, 40]
    fig = heatmap_figure(cells, ["m"], {"m": None}, "multiplication")
    assert sorted(t.get_text() for t in fig.axes[0].texts) == ["0\n40 err", "100"]
    assert _outside(fig) == []
    cells["x"] = ["1x1", "2x1"]
    fig = plots_curve(cells)
    assert [t.get_text() for t in fig.axes[0].texts] == ["40 err"]  # the 0% point only


def plots_curve(frame):
    from oraclebench.report_plots import curve_figure

    return curve_figure(frame, "digits", "t", {"m": "C0"}, categorical=True)


def test_a_world_run_whose_requests_failed_is_not_the_worlds_score(tmp_path):
    """The Worlds section takes each model's latest run over a world's whole frozen set; one with failed
    requests did not measure the model on them, so the earlier whole run stays the world's row."""
    from oraclebench.report import world_runs

    _world_run(tmp_path, "learner", "v05-d2-s0", {"trained": (20, 15), "heldout": (2, 0)})
    _world_run(tmp_path, "learner", "v05-d2-s0", {"trained": (20, 3), "heldout": (2, 0)}, errors=17, day=3)
    [row] = world_runs(tmp_path)
    assert (row["trained"]["n"], row["trained"]["acc"]) == (20, 15 / 20)


def _abcd_records(model: str, cells: dict[tuple[str, str], tuple[int, int]]) -> list[Record]:
    """abcd records of ``model``: ``cells`` maps (length label, split) to (right, instances)."""
    out = []
    for (label, split), (right, n) in cells.items():
        for k in range(n):
            out.append(Record(run_id="r1", model=model, task="abcd", instance_id=f"abcd-v1-{len(out):04d}", label=label,
                              bucket={"length": int(label[3:]), "steps": 1}, split=split, prompt="p", completion="a",
                              parsed="a", expected="a", correct=k < right, reason=""))
    return out


def test_trained_minus_unseen_is_compared_within_strata_not_across_difficulty_mixes():
    """abcd trains on every short program, so its trained instances are short and its unseen ones long (a
    trial: +73 points where same-length programs differed by 4). Here each length scores alike in both
    splits, 90% short and 10% long; pooled, trained reads 74% and unseen 26%: the gap is the mix."""
    cells = {("len03", "trained"): (36, 40), ("len03", "unseen"): (9, 10),
             ("len09", "trained"): (1, 10), ("len09", "unseen"): (4, 40)}
    frame = records_frame([Run("learner", "r1", {}, _abcd_records("learner", cells))])
    row = gap_table(frame).set_index("gap of").loc["trained - unseen"]
    assert (row["first %"], row["second %"]) == (74.0, 26.0)  # 37/50 against 13/50: pooled, as all the strata are compared
    assert row["gap"] == pytest.approx(0.0, abs=1e-12) and row["lo"] < 0 < row["hi"]
    assert row["strata"] == "2 of 2 strata (len03, len09): 100 of 100 instances"


def test_a_gap_without_a_stratum_holding_both_splits_is_not_measured():
    cells = {("len03", "trained"): (40, 40), ("len09", "unseen"): (4, 40)}
    frame = records_frame([Run("memoriser", "r1", {}, _abcd_records("memoriser", cells))])
    row = gap_table(frame).set_index("gap of").loc["trained - unseen"]
    assert row["gap"] != row["gap"]  # NaN: no like-for-like comparison, where the plain one reads +90
    assert row["strata"] == "none of 2 strata holds both: no like-for-like comparison"


def test_the_accuracies_beside_a_within_strata_gap_are_those_of_the_strata_compared():
    """They were the pooled accuracies over every instance (83 against 9.7 beside +3.7: a second trial)."""
    cells = {("len03", "trained"): (40, 40), ("len05", "trained"): (6, 10), ("len05", "unseen"): (3, 10),
             ("len09", "unseen"): (0, 40)}
    row = gap_table(records_frame([Run("m", "r1", {}, _abcd_records("m", cells))])).set_index("gap of").loc["trained - unseen"]
    assert (row["first n"], row["first %"], row["second n"], row["second %"]) == (10, 60.0, 10, 30.0)
    assert row["gap"] == pytest.approx(0.3)


def test_no_complete_run_names_four_partial_runs_and_counts_the_rest(tmp_path):
    """It named at most 4 partial runs and said nothing of the others (a second trial)."""
    from oraclebench.errors import UsageError

    for k, model in enumerate(["a", "b", "c", "d", "e", "f"]):
        run_id = f"2026010{k + 1}T000000-000000-{model}"
        records = [dataclasses.replace(r, run_id=run_id) for r in _split_records(model, {"unknown": 2})]
        summary = summarize(records, run_id=run_id, model=model, manifest=None, options={"heldout": []})
        summary["complete"], summary["partial"] = {"causal": False}, {"causal": "2 of 32 instances (--limit 2)"}
        write_run(tmp_path, run_id, records, summary)
    with pytest.raises(UsageError, match=r"partial runs: .*; and 2 more\)"):
        build_report(tmp_path)


def test_an_empty_cell_reads_a_dash_in_the_markdown_as_in_the_html(tmp_path):
    """A per-digit accuracy with no instance (no product of 2x2 digits has a fifth digit) is no number."""
    import pandas as pd

    from oraclebench.report_plots import Doc

    doc = Doc(tmp_path)
    doc.table(pd.DataFrame({"split": ["seen", "heldout"], "d0 %": [100 / 3, 50.0], "d4 %": [float("nan"), 12.5]}))
    md = doc.render_md("t", "m")
    assert "nan" not in md.lower() and "NaN" not in "".join(doc.html)
    assert len(re.findall(r"\| +- +\|", md)) == 1 and "33.3333" in md and "12.5" in md


def test_the_per_digit_table_says_how_many_answers_have_each_digit_where_it_is_not_all(tmp_path):
    """7 x 8 = 56 has digits d0-d1, 1234 x 5678 = 7006652 has d0-d6: with three of the first and two of the
    second answered (one wrong in its leading digit), d6's 50% is of 2 answers, not of the table's n = 5."""
    from oraclebench.report import detail_section, field_table
    from oraclebench.report_plots import Doc
    from oraclebench.runner import score_one
    from oraclebench.tasks.base import Response

    mult = get_task("multiplication")
    records = []
    for i, (a, b, text) in enumerate([(7, 8, " 56")] * 3 + [(1234, 5678, " 7006652"), (1234, 5678, " 8006652")]):
        inst = mult.instance(mult.Problem(a, b), f"m{i}")
        records.append(score_one(inst, mult.request(inst), Response(text=text), "r", "m", None, False))
    frame = records_frame([Run("m", "r", {}, records)])
    shown, counts = field_table(frame), field_table(frame, counts=True)
    assert shown[["n", "d0", "d6"]].values.tolist() == [[5, 100.0, 50.0]]
    assert counts[["n", "d0", "d1", "d2", "d6", "length"]].values.tolist() == [[5, 5, 5, 2, 2, 5]]
    doc = Doc(tmp_path)
    detail_section(doc, "multiplication", frame, {"m": "C0"})
    md = doc.render_md("t", "m")
    assert "% of the requests that did not fail (no answer included, as not right) whose product has that digit" in md
    assert "multiplication: requests that did not fail, per field (the base of each %):" in md


# --------------------------------------------------------------------------- numbers that must not look right (review)


def _mult_records(model: str, right: int, n: int) -> list[Record]:
    return [Record(run_id="r", model=model, task="multiplication", instance_id=f"multiplication-fresh0-{i:04d}",
                   label="1x1", bucket={}, split="seen", prompt=f"p{i}", completion="x", parsed=None, expected=56,
                   correct=i < right, status="correct" if i < right else "wrong") for i in range(n)]


def test_a_run_whose_records_name_the_model_otherwise_keeps_its_row():
    """``random`` with a seed wrote ``random@3`` into its records and ``random`` into its summary; the report's model
    axis took the summaries' names, so every record fell out of the leaderboard (found by review). A record is its
    run's, and the adapter names itself as it was asked for."""
    from oraclebench.models.baselines import RandomModel
    from oraclebench.report import leaderboard

    seeded = RandomModel("random", {"seed": "3"})
    assert (seeded.name, seeded.identity()) == ("random", "random@3")
    row = leaderboard(records_frame([Run("random", "r", {}, _mult_records("random@3", 1, 32))])).iloc[0]
    assert (row["model"], row["all"]) == ("random", "3.1 [0.6, 15.7] n=32")  # 1 of 32: Wilson by hand


def test_a_share_is_never_rounded_to_a_bound_it_did_not_reach():
    """1,999 right of 2,000 printed as 100.0 in the terminal table, leaderboard.md and the report (no wrong count
    beside it there), and a gate printed "measured 1.0000, floor 1.0000" for the 29,999 of 30,000 it failed on."""
    from oraclebench.gates import GateResult
    from oraclebench.report import leaderboard
    from oraclebench.summary import render_table

    records = _mult_records("m", 1999, 2000)
    assert summarize(records, model="m")["tasks"]["multiplication"]["all"]["accuracy"] == 0.9995
    assert " >99.9 [99.7, >99.9] " in render_table(summarize(records, model="m"))
    assert leaderboard(records_frame([Run("m", "r", {}, records)])).iloc[0]["all"].startswith(">99.9 [99.7, >99.9] ")
    assert GateResult("m judge", 29999 / 30000, 1.0, False).line() == "FAIL m judge: measured >0.9999, floor 1.0000"
    assert " <0.1 " in render_table(summarize(_mult_records("m", 1, 2500), model="m"))


def test_two_runs_of_one_model_named_to_the_report_are_shown_side_by_side(tmp_path):
    """``report --run r1 --run r2`` of one model kept r2 alone and said nothing (found by review): each is its own
    row, ``MODEL@RUN``. By hand: r1 1 of 4 right, r2 3 of 4."""
    from oraclebench.report import leaderboard

    for run_id, right in (("r1", 1), ("r2", 3)):
        records = [dataclasses.replace(r, run_id=run_id) for r in _mult_records("m", right, 4)]
        write_run(tmp_path, run_id, records, summarize(records, run_id=run_id, model="m"))
    runs = load_runs(tmp_path, runs=["r1", "r2"])
    assert [run.model for run in runs] == ["m@r1", "m@r2"]
    cells = leaderboard(records_frame(runs)).set_index("model")["all"]
    assert cells["m@r1"].startswith("25.0 ") and cells["m@r2"].startswith("75.0 ")
    assert [run.model for run in load_runs(tmp_path, runs=["r2", "r2"])] == ["m"]  # one run named twice is one


def test_the_argument_analysis_counts_failed_requests_as_the_leaderboard_does():
    """Ten judge instances, the argument right on the first six; the model right on instances 0, 1, 6; requests
    7, 8, 9 failed (their bucket still says whether the argument was right). By hand: accuracy 3/10 = 30.0 (the
    leaderboard's), base rate 6/10 = 60.0, accuracy when the argument is right 2/6 = 33.3, when wrong 1/4 =
    25.0; follows the argument over the 7 answered: right on 0, 1 (argument right), wrong on 2-5 (argument
    right) and right on 6 (argument wrong): 2 of 7 = 28.6. Before, failed requests were left out: 3/7 = 42.9,
    base rate 6/7 = 85.7 (review: the report printed 32.5 on its leaderboard and 38.2 here for one run)."""
    from oraclebench.report_detail import judge_table

    records = []
    for i in range(10):
        arg, ok, failed = i < 6, i in (0, 1, 6), i >= 7
        bucket = {"template": "t0", "error": "arithmetic", "argument_correct": arg, "masked": False}
        detail = {} if failed else {"argument_correct": arg, "followed_argument": ok == arg, "masked": False}
        records.append(Record(run_id="r", model="m", task="judge", instance_id=f"judge-v2-{i:04d}", label="t0",
                              bucket=bucket, split="seen", prompt="?", completion="" if failed else "1", parsed=None,
                              expected=1, correct=ok, reason="", error="timeout" if failed else None, detail=detail))
    table = judge_table(records_frame([Run("m", "r", {}, records)]))
    row = table[table["split"] == "all"].iloc[0]
    assert (row["n"], row["failed"]) == (10, 3)
    assert [row[c] for c in ("accuracy", "argument right (base rate)", "acc | argument right", "acc | argument wrong",
                             "follows argument")] == [30.0, 60.0, 33.3, 25.0, 28.6]
