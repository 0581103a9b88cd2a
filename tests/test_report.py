"""The HTML report: built from realistic synthetic runs of all four tasks, parsed back with html.parser."""

from __future__ import annotations

import random
from html.parser import HTMLParser
from pathlib import Path

import pytest

from oraclebench.records import Record, write_run
from oraclebench.report import (Run, build_report, gap_table, load_runs, records_frame, task_manifest,
                                training_range)
from oraclebench.summary import summarize

MANIFEST = {"tasks": {
    "abcd": {"lengths": [1, 12]},
    "causal": {"omitted": ["1,0,1,0,1", "1,1,1,1,1"]},
    "multiplication": {"max_digits": [2, 2]},
    "judge": {"templates": ["t0", "t1", "t2"], "errors": ["arithmetic", "final"]},
}}
HOSTILE = "<script>alert('x')</script>"


def _record(model: str, run_id: str, task: str, i: int, bucket: dict, label: str, heldout: bool, ok: bool,
            fields: dict, detail: dict, prompt: str) -> Record:
    failed = i % 50 == 7  # a failed request: counted apart from wrong answers
    if failed:
        return Record(run_id=run_id, model=model, task=task, instance_id=f"{task}-v1-{i:04d}", label=label,
                      bucket=bucket, split="heldout" if heldout else "seen", prompt=prompt, completion="", parsed=None,
                      expected="answer", correct=False, reason="error: timeout after 30 s", error="timeout after 30 s")
    return Record(run_id=run_id, model=model, task=task, instance_id=f"{task}-v1-{i:04d}", label=label, bucket=bucket,
                  split="heldout" if heldout else "seen", prompt=prompt, completion="answer" if ok else f"wrong {HOSTILE}",
                  parsed="answer" if ok else "wrong", expected="answer", correct=ok,
                  reason="" if ok else f"expected answer, got wrong <b>{i}</b>", fields=fields, detail=detail)


def synthetic_records(model: str, run_id: str, skill: float, memorised: float, n: int, seed: int) -> list[Record]:
    """``n`` records per task: right with probability ``skill`` on seen instances and ``memorised`` on held-out ones."""
    rng = random.Random(seed)
    out = []
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
    runs stand for whole frozen sets (``complete``) unless told otherwise."""
    for k, (model, (skill, memorised)) in enumerate(models.items()):
        run_id = f"20260101T00000{k}-000000-{model}"
        records = synthetic_records(model, run_id, skill, memorised, n, seed=k)
        summary = summarize(records, run_id=run_id, model=model, manifest=MANIFEST, options={"heldout": []})
        summary["complete"] = {task: complete for task in summary["tasks"]}
        summary["partial"] = {} if complete else {task: "--limit 60" for task in summary["tasks"]}
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
    assert "n=60, 2 err" in path.read_text(encoding="utf-8")  # failed requests are shown apart


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
