"""Cost per instance stays flat in the number of instances, however many answers are wrong.

Held-out sets are mostly wrong answers by design. These tests pin the work a run does as a count at
two sizes (never a time): twice the wrong answers must cost about twice the work, not four times.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from _pytest.reports import TestReport

from oraclebench.records import list_runs, read_records

ROOT = Path(__file__).resolve().parent.parent
pytest_plugins = ["pytester"]



@pytest.fixture
def id_reads(monkeypatch):
    """Counts reads of a test report's ``id``: what pytest compares to find an item's teardown reports."""
    original = TestReport.__dict__.get("id")
    if not isinstance(original, property):
        pytest.skip("this pytest finds teardown reports by nodeid (no TestReport.id)")
    count = [0]

    def counted(self):
        count[0] += 1
        return original.fget(self)

    monkeypatch.setattr(TestReport, "id", property(counted))
    return count


def failures_listed(text: str) -> int:
    return len(re.findall(r"^_+ test_multiplication\[", text, flags=re.M))


def test_listing_every_wrong_answer_with_tb_short_costs_work_linear_in_the_wrong_answers(bench, id_reads):
    """pytest's failure summary looked up each failure's teardown sections by scanning every report:
    10,000 wrong answers took 334 s against 9 s for 1,000. Twice the wrong answers, about twice the work."""
    reads = {}
    for n in (60, 120):
        id_reads[0] = 0
        result = bench("--model", "random", "--task", "multiplication", "--fresh", str(n), "--tb=short")
        failed = result.parseoutcomes()["failed"]
        assert failed >= n - 3 and failures_listed(result.stdout.str()) == failed  # each one still shown
        reads[n] = id_reads[0]
    assert reads[120] <= 2.5 * reads[60], reads  # a scan per failure makes it four times


def test_a_teardown_section_is_still_shown_under_its_failure(pytester):
    pytester.makepyfile(test_td="""
        import pytest

        @pytest.fixture
        def noisy():
            yield
            print("said at teardown")

        @pytest.mark.parametrize("i", range(3))
        def test_x(noisy, i):
            assert i == 1
    """)
    result = pytester.runpytest_inprocess("-p", "oraclebench.plugin", "-p", "no:cacheprovider", "--tb=short")
    result.assert_outcomes(passed=1, failed=2)
    text = result.stdout.str()
    assert text.count("Captured stdout teardown") == 2 and text.count("said at teardown") == 2


def test_every_wrong_answer_stays_visible_in_rf_junitxml_and_the_records(bench, pytester):
    xml = pytester.path / "junit.xml"
    result = bench("--model", "random", "--task", "multiplication", "--fresh", "50", "-rf", f"--junitxml={xml}")
    failed = result.parseoutcomes()["failed"]
    assert failed >= 45
    assert len(re.findall(r"^FAILED benchmark/test_multiplication\.py::", result.stdout.str(), flags=re.M)) == failed
    cases = ET.parse(xml).getroot().iter("testcase")
    assert sum(case.find("failure") is not None for case in cases) == failed
    run = [s for s in list_runs(pytester.path / "results") if s["model"] == "random"][-1]
    records = read_records(Path(run["path"]) if "path" in run else pytester.path / "results" / "runs" / run["run_id"])
    assert len(records) == 50 and sum(r.status in ("wrong", "no_answer") for r in records) == failed


def test_an_item_carries_its_record_as_the_very_line_written_to_records_jsonl(bench, pytester):
    """One JSON line per record, made once: junitxml's property and the run's records.jsonl hold the same
    text (a string travels whole through xdist's execnet; a dict was walked key by key)."""
    import json

    xml = pytester.path / "junit.xml"
    result = bench("--model", "random", "--task", "multiplication", "--fresh", "12", f"--junitxml={xml}")
    assert sum(result.parseoutcomes().get(k, 0) for k in ("passed", "failed")) == 12
    carried = {json.loads(p.get("value"))["instance_id"]: p.get("value")
               for p in ET.parse(xml).getroot().iter("property") if p.get("name") == "oraclebench.record"}
    run = [s for s in list_runs(pytester.path / "results") if s["model"] == "random"][-1]
    written = (Path(run["path"]) / "records.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(carried) == len(written) == 12
    assert sorted(carried.values()) == sorted(written)


def test_each_record_is_converted_to_json_once_and_never_read_back_in_the_same_process(bench, monkeypatch):
    from oraclebench.records import Record

    calls = {"to_json": 0, "from_json": 0}
    to_json, from_json = Record.to_json, Record.from_json.__func__

    def counted_to_json(self):
        calls["to_json"] += 1
        return to_json(self)

    def counted_from_json(cls, data):
        calls["from_json"] += 1
        return from_json(cls, data)

    monkeypatch.setattr(Record, "to_json", counted_to_json)
    monkeypatch.setattr(Record, "from_json", classmethod(counted_from_json))
    result = bench("--model", "random", "--task", "multiplication", "--fresh", "40")
    assert sum(result.parseoutcomes().get(k, 0) for k in ("passed", "failed")) == 40
    assert calls == {"to_json": 40, "from_json": 0}


def test_a_run_parses_only_the_selected_tasks_frozen_set_and_it_once(bench):
    """Selection, completeness and coverage all read the set; the file is parsed once, the others never."""
    from oraclebench.sets import _read_set

    _read_set.cache_clear()
    result = bench("--model", "oracle", "-m", "multiplication", "--limit", "20")
    assert result.parseoutcomes()["passed"] == 20
    assert _read_set.cache_info().misses == 1


def test_a_rewritten_frozen_set_is_read_again(tmp_path):
    from oraclebench.sets import freeze, load_set

    path = freeze("causal", directory=tmp_path)
    whole = load_set("causal", tmp_path)
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    path.write_text("".join(lines[:-1]), encoding="utf-8")
    assert load_set("causal", tmp_path) == whole[:-1]


def test_a_benchmark_run_does_not_import_hypothesis_at_its_end(tmp_path):
    """Hypothesis's pytest plugin imported Hypothesis in its terminal summary (0.2 s of every run, 1.1 s
    without cached bytecode); a run that never imported it unregisters the plugin first."""
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    out = subprocess.run([sys.executable, "-X", "importtime", "-m", "pytest", "benchmark", "--model", "oracle",
                          "--task", "causal", "--limit", "3", "-p", "no:cacheprovider", "--results", str(tmp_path)],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout[-2000:]
    assert "3 passed" in out.stdout
    imported = [line.rsplit("|", 1)[-1].strip() for line in out.stderr.splitlines() if line.startswith("import time:")]
    assert "_pytest.main" in imported  # python -X importtime's lines were read
    assert "hypothesis" not in imported
