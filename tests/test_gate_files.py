"""A gate file is checked whole, with every file it names, before any model work; and the run's
records and summary are written before any gate is evaluated, so no gate mistake loses a run
(issue 16, item 4)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas  # noqa: F401 - imported once here: pytester's in-process runs cannot re-import numpy
import pytest

from oraclebench.errors import UsageError
from oraclebench.records import list_runs, read_records

ROOT = Path(__file__).resolve().parent.parent
pytest_plugins = ["pytester"]
MODEL = "python:counting_model:answer"

# Right on every multiplication prompt; logs each call; optionally damages a file when first called.
COUNTING_MODEL = '''
import os
from pathlib import Path


def answer(prompts):
    with open(os.environ["OB_CALLS"], "a") as fh:
        fh.write(f"{len(prompts)}\\n")
    damage = os.environ.get("OB_DAMAGE")
    if damage:
        Path(damage).write_text("[]")
    out = []
    for p in prompts:
        a, b = p.split("is ")[1].split("?")[0].split(" × ")
        out.append(f" {int(a) * int(b)}\\n")
    return out
'''


@pytest.fixture
def bench(pytester: pytest.Pytester, monkeypatch):
    shutil.copytree(ROOT / "benchmark", pytester.path / "benchmark", ignore=shutil.ignore_patterns("sets", "__pycache__"))
    (pytester.path / "counting_model.py").write_text(COUNTING_MODEL)
    monkeypatch.syspath_prepend(str(pytester.path))
    monkeypatch.setenv("OB_CALLS", str(pytester.path / "calls.log"))

    def run(*args: str):
        return pytester.runpytest("-p", "oraclebench.plugin", "-p", "no:cacheprovider", "benchmark",
                                  "--results", str(pytester.path / "results"), "--model", MODEL,
                                  "--task", "multiplication", "--limit", "20", *args)

    return run


def calls(pytester: pytest.Pytester) -> list[str]:
    log = pytester.path / "calls.log"
    return log.read_text().split() if log.exists() else []


def write_baseline(directory: Path, summary) -> Path:
    path = directory / "baseline.json"
    path.write_text(json.dumps(summary))
    return path


GOOD_SUMMARY = {"model": MODEL, "tasks": {"multiplication": {"all": {"n": 20, "correct": 10, "accuracy": 0.5}}}}
GOOD_RECORD = {"run_id": "r", "model": MODEL, "task": "multiplication", "instance_id": "multiplication-v1-0000",
               "label": "x", "bucket": {}, "split": "seen", "prompt": "p", "completion": "c", "parsed": 1,
               "expected": 1, "correct": True}

BAD_FILES = {
    "baseline missing": ("baseline", None, "cannot read baseline summary"),
    "baseline not JSON": ("baseline", "{not json", "cannot read baseline summary"),
    "baseline a list": ("baseline", "[]", "baseline summary"),
    "baseline tasks not a table": ("baseline", json.dumps({"tasks": []}), "baseline summary"),
    "baseline split not a table": ("baseline", json.dumps({"tasks": {"multiplication": {"all": 3}}}), "baseline summary"),
    "baseline accuracy not a number": ("baseline", json.dumps({"tasks": {"multiplication": {"all": {"accuracy": "high"}}}}),
                                       "baseline summary"),
    "paired missing": ("paired", None, "cannot read baseline records"),
    "paired not JSON lines": ("paired", "{oops\n", "cannot read baseline records"),
    "paired line a list": ("paired", "[]\n", "cannot read baseline records"),
    "paired line missing fields": ("paired", json.dumps({"task": "multiplication"}) + "\n", "cannot read baseline records"),
    "paired empty": ("paired", "", "baseline records"),
}


def gate_with(directory: Path, kind: str, content: str | None) -> Path:
    target = directory / ("baseline.json" if kind == "baseline" else "records.jsonl")
    if content is not None:
        target.write_text(content)
    table = (f'[{json.dumps(MODEL)}.baseline]\nsummary = "baseline.json"\n' if kind == "baseline"
             else f'[{json.dumps(MODEL)}.paired]\nrecords = "records.jsonl"\n')
    gates = directory / "gates.toml"
    gates.write_text(f'[{json.dumps(MODEL)}]\nmultiplication = 0.5\n\n{table}')
    return gates


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_a_bad_file_named_by_the_gate_file_is_one_line_before_any_model_work(bench, pytester, case):
    kind, content, words = BAD_FILES[case]
    gates = gate_with(pytester.path, kind, content)
    result = bench("--gate", str(gates))
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    output = "\n".join(result.stdout.lines + result.stderr.lines)
    assert "Traceback" not in output
    errors = [line for line in output.splitlines() if line.startswith("ERROR") and words in line]
    assert len(errors) == 1, output[-3000:]
    assert str(gates) in errors[0]
    assert calls(pytester) == []  # the model was never asked


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_validate_gates_reads_every_named_file(tmp_path, case):
    from oraclebench.gates import validate_gates

    kind, content, words = BAD_FILES[case]
    with pytest.raises(UsageError, match=words):
        validate_gates(gate_with(tmp_path, kind, content), MODEL)


def test_good_named_files_pass_validation(tmp_path):
    from oraclebench.gates import validate_gates

    write_baseline(tmp_path, GOOD_SUMMARY)
    (tmp_path / "records.jsonl").write_text(json.dumps(GOOD_RECORD) + "\n")
    gates = tmp_path / "gates.toml"
    gates.write_text(f'[{json.dumps(MODEL)}]\nmultiplication = 0.5\n\n[{json.dumps(MODEL)}.baseline]\n'
                     f'summary = "baseline.json"\n\n[{json.dumps(MODEL)}.paired]\nrecords = "records.jsonl"\n')
    validate_gates(gates, MODEL)  # no error


def test_a_gate_file_damaged_during_the_run_loses_no_record(bench, pytester, monkeypatch):
    # The baseline is fine at the start and damaged while the model answers (a checkout, a
    # concurrent job): the gate is an error, but the run's records and summary are written.
    baseline = write_baseline(pytester.path, GOOD_SUMMARY)
    gates = pytester.path / "gates.toml"
    gates.write_text(f'[{json.dumps(MODEL)}]\nmultiplication = 0.5\n\n[{json.dumps(MODEL)}.baseline]\n'
                     'summary = "baseline.json"\n')
    monkeypatch.setenv("OB_DAMAGE", str(baseline))
    result = bench("--gate", str(gates))
    output = "\n".join(result.stdout.lines + result.stderr.lines)
    assert "Traceback" not in output
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stdout.fnmatch_lines(["*ERROR gate*baseline summary*"])
    runs = list_runs(pytester.path / "results")
    assert len(runs) == 1 and runs[0]["tasks"]["multiplication"]["all"]["n"] == 20
    assert len(read_records(Path(runs[0]["path"]))) == 20
    assert calls(pytester) == ["20"]


@pytest.mark.parametrize("complete", [True, False], ids=["whole baseline", "partial baseline"])
def test_a_baseline_gate_on_a_partial_run_says_so_on_its_line(tmp_path, complete):
    """A trial's gate took a ``--limit 50`` run (8 trained instances) as the baseline without a word. The
    README's compare names a partial run in a note; a gate line does the same (the gate is still measured)."""
    from oraclebench.gates import check_gates

    cell = {"n": 8, "correct": 2, "accuracy": 0.25}
    baseline = {"model": MODEL, "tasks": {"multiplication": {"all": cell, "trained": cell}},
                "complete": {"multiplication": complete},
                "partial": {} if complete else {"multiplication": "50 of 1000 instances (--limit 50)"}}
    write_baseline(tmp_path, baseline)
    gates = tmp_path / "gates.toml"
    gates.write_text(f'[{json.dumps(MODEL)}.baseline]\nsummary = "baseline.json"\ntolerance = 0.02\n')
    run = {"model": MODEL, "tasks": {"multiplication": {"all": {"n": 1000, "correct": 369, "accuracy": 0.369},
                                                        "trained": {"n": 160, "correct": 59, "accuracy": 59 / 160}}}}
    lines = [g.line() for g in check_gates(gates, run)]
    assert len(lines) == 2 and all(line.startswith("PASS") and "baseline 0.2500 - tolerance 0.02" in line
                                   for line in lines)
    note = "; the baseline is a partial run (50 of 1000 instances (--limit 50)): not the model's score"
    assert all(line.endswith(note + ")") for line in lines) != complete
    assert all(line.count("\n") == 0 for line in lines)


def test_a_task_floor_outside_any_model_table_says_to_put_it_in_one(tmp_path):
    """It said "'multiplication' must be a table like [multiplication]": the table is the model's (a trial)."""
    from oraclebench.errors import UsageError
    from oraclebench.gates import load_gates

    path = tmp_path / "gates.toml"
    path.write_text("multiplication = 0.5\n")
    with pytest.raises(UsageError, match=r"top-level 'multiplication' = 0.5 is no model table; put it in its "
                                         r"model's table: \[MODEL\] then multiplication = 0.5"):
        load_gates(path)


def test_a_split_the_baseline_lacks_is_said_not_gated_on_the_baseline_lines(tmp_path):
    """A run's `unseen` split, absent from an older baseline, was skipped without a word (a trial)."""
    from oraclebench.gates import check_gates

    cell = {"n": 1000, "correct": 369, "accuracy": 0.369}
    write_baseline(tmp_path, {"model": MODEL, "tasks": {"multiplication": {"all": cell}},
                              "complete": {"multiplication": True}})
    gates = tmp_path / "gates.toml"
    gates.write_text(f'[{json.dumps(MODEL)}.baseline]\nsummary = "baseline.json"\ntolerance = 0.02\n')
    run = {"model": MODEL, "tasks": {"multiplication": {"all": cell, "unseen": {"n": 11, "correct": 0, "accuracy": 0.0},
                                                        "trained": {"n": 0, "correct": 0, "accuracy": None}}}}
    lines = [g.line() for g in check_gates(gates, run)]
    assert len(lines) == 1 and lines[0].startswith("PASS")  # only `all` is gated: the baseline has no other
    assert lines[0].endswith("; not gated, the baseline has no unseen split)")  # trained has no instance here


@pytest.mark.parametrize("base, new, n, tolerance, ok", [
    (8, 7, 10, 0.1, True),  # 0.8 - 0.1 = 0.7000000000000001 in floats: the exact tie failed (found by review)
    (4, 3, 20, 0.05, True),
    (4, 3, 10, 0.05, False),  # 10 points down, more than 5
    (8, 6, 10, 0.1, False),
])
def test_a_baseline_gate_passes_a_drop_of_exactly_its_tolerance(tmp_path, base, new, n, tolerance, ok):
    from oraclebench.gates import check_gates

    write_baseline(tmp_path, {"model": MODEL, "tasks": {"multiplication": {"all": {"n": n, "correct": base,
                                                                                    "accuracy": base / n}}}})
    gates = tmp_path / "gates.toml"
    gates.write_text(f'[{json.dumps(MODEL)}.baseline]\nsummary = "baseline.json"\ntolerance = {tolerance}\n')
    run = {"model": MODEL, "tasks": {"multiplication": {"all": {"n": n, "correct": new, "accuracy": new / n}}}}
    [gate] = check_gates(gates, run)
    assert gate.ok is ok, gate.line()


def test_a_floor_gate_line_counts_what_it_measured_and_the_failed_requests_in_it(tmp_path):
    """21 of 71 right, 16 of the 71 failed requests: the line said "measured 0.2958, floor 0.2000" alone, so a FAIL
    of failed requests read as a model's wrong answers (review); a paired gate's line already said so."""
    from oraclebench.gates import check_gates

    gates = tmp_path / "gates.toml"
    gates.write_text(f'[{json.dumps(MODEL)}]\n"multiplication.unseen" = 0.2\n"multiplication.seen" = 0.5\n')
    run = {"model": MODEL, "tasks": {"multiplication": {
        "unseen": {"n": 71, "correct": 21, "accuracy": 21 / 71, "errors": 16},
        "trained": {"n": 29, "correct": 29, "accuracy": 1.0, "errors": 0}}}}
    unseen, seen = (g.line() for g in check_gates(gates, run))
    assert unseen == (f"PASS {MODEL} multiplication.unseen: measured 0.2958, floor 0.2000 "
                      "(21 of 71 right; request errors (counted as not right): 16)")
    assert seen.startswith(f"PASS {MODEL} multiplication.seen: measured 0.5000, floor 0.5000 (50 of 100 right;")


def test_a_failed_gate_never_prints_its_measure_equal_to_its_floor():
    """17,999 of 20,000 is 0.89995, below a floor of 0.9: it printed "FAIL ... measured 0.9000, floor 0.9000"."""
    from oraclebench.gates import GateResult

    line = GateResult("m multiplication", 17999 / 20000, 0.9, False).line()
    assert line == "FAIL m multiplication: measured 0.89995, floor 0.90000"  # as many places as tell them apart
    assert GateResult("m x", 0.9, 0.9, True).line() == "PASS m x: measured 0.9000, floor 0.9000"
