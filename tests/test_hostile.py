"""Nothing lost, whatever the model sends back (issue 16): unencodable text, huge numbers, damaged
results folders, size and control characters, hostile gate, world and --heldout inputs.

Each test names one kind of fault; the runs go through the real plugin (pytester) and the real
``oraclebench`` command, the pages through the real Flask app.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas  # noqa: F401 - imported once here: pytester's in-process runs cannot re-import numpy
import pytest
from hypothesis import given
from hypothesis import strategies as st

from oraclebench.cache import ResponseCache
from oraclebench.records import Record, list_runs, read_records, write_run
from oraclebench.runner import score_one
from oraclebench.summary import summarize, write_leaderboard
from oraclebench.textsafe import STORED_CHARS, printable
from oraclebench.oracles.multiply import check_scratchpad
from oraclebench.oracles.numbers import HARD_MAX_DIGITS, TooLong, read_int
from oraclebench.tasks import get_task
from oraclebench.tasks.base import Response

ROOT = Path(__file__).resolve().parent.parent
pytest_plugins = ["pytester"]
HUGE = "9" * 5000  # past CPython's 4,300-digit int() limit


def run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "oraclebench.cli", *args], cwd=cwd or ROOT, capture_output=True,
                          text=True, timeout=300, env=_env())


def run_bench(tmp: Path, *args: str) -> subprocess.CompletedProcess:
    """``pytest benchmark ...`` in a subprocess: a real terminal encoding (UTF-8, strict), real exit status."""
    return subprocess.run([sys.executable, "-m", "pytest", "benchmark", "-p", "no:cacheprovider", "-q",
                           "--results", str(tmp / "results"), *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=300, env=_env(), errors="backslashreplace")


@pytest.fixture
def bench(pytester: pytest.Pytester):
    """``pytest benchmark ...`` in process (fast; for usage errors): returns (exit status, stdout, stderr)."""
    shutil.copytree(ROOT / "benchmark", pytester.path / "benchmark", ignore=shutil.ignore_patterns("sets", "__pycache__"))

    def run(*args: str) -> tuple[int, str, str]:
        result = pytester.runpytest("-p", "oraclebench.plugin", "-p", "no:cacheprovider", "benchmark",
                                    "--results", str(pytester.path / "results"), *args)
        return int(result.ret), result.stdout.str(), result.stderr.str()

    return run


def _env() -> dict:
    import os

    return {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONIOENCODING": "utf-8"}


def model_module(tmp: Path, body: str, name: str = "hostile_model") -> str:
    path = tmp / f"{name}.py"
    path.write_text(textwrap.dedent(body), encoding="utf-8")
    return f"python:{path}:answer"


def scored(task_name: str, text: str, i: int = 0, model: str = "m") -> Record:
    task = get_task(task_name)
    inst = task.fresh(i + 1, seed=3)[i]
    return score_one(inst, task.request(inst), Response(text=text), "r", model, None, cached=False)


# --------------------------------------------------------------------------------------- 1. unencodable text

HOSTILE_TEXT = " 5\ud800\x00\x1b[2J\x1b[31mRED\u202e\udfff"


def test_a_lone_surrogate_in_answers_is_stored_shown_and_reported_and_the_rerun_from_the_cache_too(tmp_path):
    model = model_module(tmp_path, f"""
        def answer(prompts):
            return [{HOSTILE_TEXT!r} for p in prompts]
    """)
    for attempt in ("first run", "re-run answered from the cache"):
        done = run_bench(tmp_path, "--model", model, "--task", "multiplication", "--limit", "5", "--tb=short")
        assert done.returncode == 1, (attempt, done.stdout[-3000:], done.stderr[-3000:])  # 5 wrong answers
        assert "Traceback" not in done.stdout + done.stderr and "5 failed" in done.stdout, attempt
        assert "\x1b" not in done.stdout and "\u202e" not in done.stdout  # no escape reaches the terminal
        assert "\\x1b[31mRED" in done.stdout  # but it is shown, visibly
    runs = list_runs(tmp_path / "results")
    assert len(runs) == 2 and runs[1]["timing"]["multiplication"]["cached"] == 5
    for run in runs:
        raw = (Path(run["path"]) / "records.jsonl").read_bytes()
        raw.decode("utf-8")  # strict: the file is valid UTF-8
        records = read_records(Path(run["path"]))
        assert len(records) == 5 and not any(r.correct for r in records)
        assert all(r.completion == " 5\\ud800\x00\x1b[2J\x1b[31mRED\u202e\\udfff" for r in records)
    board = (tmp_path / "results" / "leaderboard.md").read_text(encoding="utf-8")
    assert "no complete run" in board and "5 of 1000 instances (--limit 5)" in board  # a partial run, marked


def test_the_report_and_every_page_show_a_run_with_surrogates_and_control_characters(tmp_path):
    pytest.importorskip("flask")
    from oraclebench.report import build_report
    from oraclebench.web import create_app

    records = [scored("causal", "\n1,0\ud800\n3 - 1\x1b[0m", i, model="m\ud800") for i in range(3)]
    records += [scored("abcd", "A \ud800 B\n\x00", 0, model="m\ud800")]
    write_run(tmp_path, "20260101T000000-000001-m", records,
              summarize(records, run_id="20260101T000000-000001-m", model="m\ud800")
              | {"complete": {"causal": True, "abcd": True}})  # shown as the model's score
    write_leaderboard(tmp_path)
    html = build_report(tmp_path).read_text(encoding="utf-8")
    assert "\\ud800" in html
    client = create_app(tmp_path).test_client()
    run_id = list_runs(tmp_path)[0]["run_id"]
    pages = ["/", f"/run/{run_id}", f"/run/{run_id}?wrong=1"]
    pages += [f"/run/{run_id}/instance/{r.task}/{r.instance_id}" for r in records]
    for page in pages:
        got = client.get(page)
        assert got.status_code == 200, (page, got.data[:300])
        got.data.decode("utf-8")


def test_a_poisoned_cache_row_is_asked_again_not_a_failure_of_every_later_run(tmp_path):
    cache = ResponseCache(tmp_path / "cache.sqlite")
    cache.put_many("m", [("good", Response(text="ok")), ("bad", Response(text="x")), ("text", Response(text="y"))])
    cache.close()
    db = sqlite3.connect(tmp_path / "cache.sqlite")
    db.execute("UPDATE responses SET value = '{not json' WHERE key = 'bad'")
    db.execute("UPDATE responses SET value = CAST(X'7B2274657874223A2022FF227D' AS TEXT) WHERE key = 'text'")
    db.commit()
    db.close()
    cache = ResponseCache(tmp_path / "cache.sqlite")
    found = cache.get_many(["good", "bad", "text"])
    assert found["good"].text == "ok" and "bad" not in found  # a miss: asked again and replaced
    assert found["text"].text == "\ufffd"  # invalid UTF-8 in a row is read with a replacement character
    cache.close()


@pytest.mark.parametrize("value", ["[]", "{}", '{"text": null}', '{"text": 5}', '"hi"', "null"])
def test_a_cache_row_without_its_text_is_a_miss_not_an_empty_answer(tmp_path, value):
    """A damaged row holding no text was served as ``Response()``: an empty answer, scored no answer, that
    the model never gave (review: ``[]`` and ``{}``)."""
    cache = ResponseCache(tmp_path / "cache.sqlite")
    cache.put_many("m", [("good", Response(text="ok")), ("bad", Response(text="x"))])
    cache.close()
    db = sqlite3.connect(tmp_path / "cache.sqlite")
    db.execute("UPDATE responses SET value = ? WHERE key = 'bad'", (value,))
    db.commit()
    db.close()
    cache = ResponseCache(tmp_path / "cache.sqlite")
    assert set(cache.get_many(["good", "bad"])) == {"good"}
    cache.close()


# --------------------------------------------------------------------------------------- 2. huge numbers


def test_the_number_reader_bounds_digits_and_never_raises():
    assert read_int("1,081", 8) == 1081
    assert read_int("12a", 8) is None and read_int("", 8) is None
    too_long = read_int(HUGE, 8)
    assert isinstance(too_long, TooLong) and too_long.digits == 5000 and too_long != 10**8
    assert "5000 digits" in too_long and len(too_long) < 200
    assert isinstance(read_int("1" * (HARD_MAX_DIGITS + 1), 10**9), TooLong)  # the hard ceiling holds


@pytest.mark.parametrize("text", [" " + HUGE, f" {HUGE[:3]},{','.join(['999'] * 1700)}", " " + "0" * 5000 + "56"])
def test_a_huge_product_is_a_wrong_answer_that_says_so(text):
    record = scored("multiplication", text)
    assert not record.correct and record.error is None and record.parsed is not None  # wrong, not NOANSWER
    assert "far longer than" in record.reason
    assert not any(record.fields.values())
    json.dumps(record.to_json())


def test_a_huge_number_in_worked_multiplication_is_a_wrong_step_not_a_crash():
    ok, line, why = check_scratchpad(47, 23, f"{HUGE} × 3 = 141 (carries 1,2)\n= {HUGE}")
    assert (ok, line) == (False, 1) and "far longer than" in why
    ok, line, why = check_scratchpad(47, 23, f"47 × 3 = {HUGE} (carries 1,{HUGE})")
    assert (ok, line) == (False, 1) and len(why) < 400
    task = get_task("multiplication")
    problem = task.Problem(47, 23, scratchpad=True)
    score = task.score(problem, Response(text=f"\n47 × 3 = 141 (carries 1,2)\n= {HUGE}\n\n"))
    assert not score.correct and "far longer than" in score.reason


def test_a_record_holds_only_built_in_types_whatever_the_task_put_there():
    import enum
    from collections import OrderedDict

    class Digits(enum.IntEnum):
        FIVE = 5

    too_long = read_int(HUGE, 10)
    assert isinstance(too_long, TooLong)
    record = scored("multiplication", " " + HUGE, 0)
    record.detail = OrderedDict(parsed=[too_long, (too_long, Digits.FIVE)], digits=Digits.FIVE)
    record.__post_init__()  # what Record does to every field at creation

    def builtin_only(value):
        if isinstance(value, dict):
            return type(value) is dict and all(builtin_only(k) and builtin_only(v) for k, v in value.items())
        if isinstance(value, (list, tuple)):
            return type(value) in (list, tuple) and all(builtin_only(v) for v in value)
        return value is None or type(value) in (str, int, float, bool)

    data = record.to_json()
    assert builtin_only(data), data
    assert data["detail"] == {"parsed": [str(too_long), (str(too_long), 5)], "digits": 5}  # the same values
    assert "far longer than" in data["parsed"]


def test_a_huge_causal_sum_is_a_wrong_field_that_says_so():
    record = scored("causal", f"\n1,0,0,0\n{HUGE} - 1\n")
    assert not record.correct and record.parsed is not None and not record.fields["old_sum"]
    assert "old_sum" in record.reason and "far longer than" in record.reason


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["one process", "xdist"])
def test_a_run_of_huge_answers_keeps_every_record(tmp_path, workers):
    if workers:
        pytest.importorskip("xdist")
    model = model_module(tmp_path, f"""
        def answer(prompts):
            if prompts[0][:1] in "01":  # causal
                return ["\\n1,0,0,0\\n{HUGE} - {HUGE}\\n" for p in prompts]
            return [" {HUGE}" for p in prompts]
    """)
    done = run_bench(tmp_path, "--model", model, "--task", "multiplication,causal", "--limit", "4", *workers)
    # Under xdist each record rides its report through execnet, which carries no str subclass (TooLong).
    assert done.returncode == 1 and "8 failed" in done.stdout and "INTERNALERROR" not in done.stdout, done.stdout[-3000:]
    records = read_records(Path(list_runs(tmp_path / "results")[0]["path"]))
    assert len(records) == 8 and all(r.error is None and "far longer than" in r.reason for r in records)


# --------------------------------------------------------------------------------------- 6. damaged results


@pytest.fixture
def two_runs(tmp_path) -> Path:
    """A results folder with two models' runs: ``good`` and ``damaged`` (the one the test breaks)."""
    for model in ("good", "damaged"):
        records = [scored("causal", "\n1,0,0,0\n3 - 1\n", i) for i in range(4)]
        for r in records:
            r.model = model
        run_id = f"20260101T00000{len(model) % 10}-000000-{model}"
        summary = summarize(records, run_id=run_id, model=model) | {"complete": {"causal": True}}  # a score
        write_run(tmp_path, run_id, records, summary)
    return tmp_path


DAMAGE = {
    "truncated JSON": b'{"model": "damaged", "tasks": {"causal": ',
    "a JSON list": b"[1, 2]",
    "model not a string": b'{"model": 5, "tasks": {}}',
    "tasks of the wrong shape": b'{"model": "damaged", "tasks": {"causal": {"all": {"n": "x"}}}}',
    "not UTF-8": b'{"model": "damaged\xff"}',
    "finished not a string": b'{"model": "damaged", "finished": 5, "tasks": {}}',
}


@pytest.mark.parametrize("kind", sorted(DAMAGE))
def test_a_damaged_summary_is_skipped_by_name_by_leaderboard_report_compare_and_every_page(two_runs, kind):
    from oraclebench.report import build_report

    summary = next((two_runs / "runs").glob("*-damaged/summary.json"))
    summary.write_bytes(DAMAGE[kind])
    warnings: list[str] = []
    board = write_leaderboard(two_runs, warnings).read_text(encoding="utf-8")
    assert "| good" in board and "| damaged" not in board
    assert len(warnings) == 1 and str(summary) in warnings[0] and "damaged" in warnings[0]
    assert str(summary) in board  # named under the table
    report = run_cli("report", "--results", str(two_runs))
    assert report.returncode == 0, report.stderr
    assert report.stderr.count(str(summary)) == 1 and "warning" in report.stderr
    assert str(summary) in build_report(two_runs).read_text(encoding="utf-8")
    compare = run_cli("compare", "good@latest", str(summary.parent / "records.jsonl"), "--results", str(two_runs))
    assert compare.returncode == 0 and "shared instances: 4" in compare.stdout, compare.stderr
    assert compare.stderr.count(str(summary)) == 1
    # Its own model @latest: the error says no run, and names the damaged summary that was its run (a trial).
    damaged_latest = run_cli("compare", "damaged@latest", "good@latest", "--results", str(two_runs))
    assert damaged_latest.returncode == 2 and damaged_latest.stderr.count(str(summary)) == 1
    pytest.importorskip("flask")
    from oraclebench.web import create_app

    client = create_app(two_runs).test_client()
    good = next(s["run_id"] for s in list_runs(two_runs) if s["model"] == "good")
    for page in ("/", f"/run/{good}", f"/run/{good}/try"):
        got = client.get(page)
        assert got.status_code == 200 and str(summary).encode() in got.data, page


@pytest.mark.parametrize("identity, recipe, said", [
    ("hf:gpt2-mult@3f3d0e9c85fb4080:bfloat16", {"scale": 1.0}, " [bfloat16]"),
    ("hf:gpt2-mult@3f3d0e9c85fb4080:float32", {"scale": 0.05}, " [training scale 0.05]"),
    ("hf:gpt2-mult@3f3d0e9c85fb4080:float32", {"scale": 1.0}, ""),
], ids=["bfloat16", "reduced training", "plain"])
def test_the_leaderboard_names_a_score_measured_another_way_than_the_plain_one(tmp_path, identity, recipe, said):
    """A bfloat16 run, or a reference model trained at ORACLEBENCH_TRAIN_SCALE=0.05, became the model's score
    under its plain name, nothing in the cell saying so (found by a trial)."""
    records = [scored("causal", "\n1,0,0,0\n3 - 1\n", i, model="gpt2-mult") for i in range(4)]
    summary = summarize(records, run_id="20260101T000000-000000-gpt2-mult", model="gpt2-mult", identity=identity,
                        manifest={"task": "causal", "recipe": recipe}) | {"complete": {"causal": True}}
    write_run(tmp_path, summary["run_id"], records, summary)
    row = next(line for line in write_leaderboard(tmp_path).read_text().splitlines() if line.startswith("| gpt2-mult "))
    cell = row.split("|")[2].strip()
    assert cell.endswith("n=4, split unknown" + said) and cell.startswith(f"{100 * summary['tasks']['causal']['all']['accuracy']:.1f}")


def test_a_damaged_records_file_is_named_by_report_compare_and_the_run_page(two_runs):
    records = next((two_runs / "runs").glob("*-damaged/records.jsonl"))
    lines = records.read_text(encoding="utf-8").splitlines()
    records.write_text("\n".join(lines[:2] + ['{"task": "causal", "correct": "yes"'] + lines[3:]) + "\n")
    report = run_cli("report", "--results", str(two_runs))
    assert report.returncode == 0 and f"{records} line 3: damaged" in report.stderr, report.stderr
    compare = run_cli("compare", "good@latest", "damaged@latest", "--results", str(two_runs))
    assert compare.returncode == 2 and compare.stderr.count("\n") == 1, compare.stderr
    assert f"{records} line 3: damaged" in compare.stderr and "Traceback" not in compare.stderr
    pytest.importorskip("flask")
    from oraclebench.web import create_app

    damaged = next(s["run_id"] for s in list_runs(two_runs) if s["model"] == "damaged")
    got = create_app(two_runs).test_client().get(f"/run/{damaged}")
    assert got.status_code == 200 and b"line 3: damaged" in got.data


def test_a_corrupted_cache_is_set_aside_once_by_name_and_the_run_goes_on(tmp_path):
    results = tmp_path / "results"
    results.mkdir()
    (results / "cache.sqlite").write_bytes(b"SQLite format 3\x00" + bytes(range(256)) * 40)
    done = run_bench(tmp_path, "--model", "oracle", "--task", "causal,multiplication", "--limit", "3")
    assert done.returncode == 0, done.stdout[-3000:]
    assert "6 passed" in done.stdout and "Traceback" not in done.stdout
    warnings = [line for line in done.stdout.splitlines() if line.startswith("WARNING:")]
    assert len(warnings) == 1 and "cache.sqlite: damaged" in warnings[0] and "set aside as" in warnings[0]
    aside = list(results.glob("cache.sqlite.corrupt-*"))
    assert len(aside) == 1 and aside[0].read_bytes().startswith(b"SQLite format 3")
    again = run_bench(tmp_path, "--model", "oracle", "--task", "causal,multiplication", "--limit", "3")
    assert again.returncode == 0 and "WARNING" not in again.stdout
    assert list_runs(results)[-1]["timing"]["causal"]["cached"] == 3  # the fresh cache works


# --------------------------------------------------------------------------------------- 8. size and control characters


def test_a_ten_megabyte_answer_is_stored_bounded_and_shown_in_a_few_lines(tmp_path):
    model = model_module(tmp_path, """
        def answer(prompts):
            return [TEXT for p in prompts]
        TEXT = "\\x1b]0;owned\\x07 " + "7" * 10_000_000
    """)
    done = run_bench(tmp_path, "--model", model, "--task", "multiplication", "--limit", "2")
    assert done.returncode == 1 and len(done.stdout) < 20_000, len(done.stdout)
    assert "\x1b" not in done.stdout and "\x07" not in done.stdout
    run = Path(list_runs(tmp_path / "results")[0]["path"])
    assert (run / "records.jsonl").stat().st_size < 4 * STORED_CHARS
    for r in read_records(run):
        assert len(r.completion) <= STORED_CHARS and r.detail["completion_chars"] == 10_000_011
        assert "characters cut" in r.completion and len(r.reason) <= 2_000


def test_error_messages_are_capped_and_abcd_traces_bounded():
    task = get_task("multiplication")
    inst = task.fresh(1, seed=0)[0]
    record = score_one(inst, task.request(inst), Response(error="boom " * 100_000), "r", "m", None, cached=False)
    assert len(record.error) <= 2_000 and len(record.reason) <= 2_000
    trace = scored("abcd", "A B\n" * 200_000)
    assert sum(len(line) for line in trace.parsed) <= STORED_CHARS + 100 and "more lines cut" in trace.parsed[-1]


@pytest.mark.parametrize("text", ["\x1b[2J", "\x00", "\u202e", "\x9b31m", "a\rb", "\x7f"])
def test_printable_neutralises_control_characters(text):
    shown = printable(f"x{text}y")
    assert shown.isprintable() and shown.startswith("x") and shown.endswith("y")


# How one terminal line shows each character: line breaks and tabs as their escapes, other controls
# by code point (carriage return, vertical tab and form feed among them), the rest as is.
SHOWN_IN_A_LINE = {"\n": "\\n", "\t": "\\t", "\u2028": "\\u2028", "\u2029": "\\u2029", "\r": "\\x0d",
                   "\v": "\\x0b", "\f": "\\x0c", "\x85": "\\x85", "\x1b": "\\x1b", "\u202e": "\\u202e"}


@given(st.text(alphabet=st.sampled_from([*SHOWN_IN_A_LINE, "a", " ", "\u00e9"]), max_size=60))
def test_a_line_shows_each_line_break_and_control_character_as_its_escape(text):
    assert printable(text, 10_000, line=True) == "".join(SHOWN_IN_A_LINE.get(c, c) for c in text)


# --------------------------------------------------------------------------------------- 10. hostile inputs

GATES = {
    "baseline summary not a string": "[oracle.baseline]\nsummary = 5\n",
    "paired records not a string": "[oracle.paired]\nrecords = 7\n",
    "paired splits nested": '[oracle.paired]\nrecords = "x"\nsplits = [[1]]\n',
    "unknown task": "[oracle]\ncausl = 0.5\n",
    "unknown split": '[oracle]\n"causal.bogus" = 0.5\n',
    "NaN floor": "[oracle]\ncausal = nan\n",
    "negative floor": "[oracle]\ncausal = -0.5\n",
    "nested table": "[oracle.causal]\nall = 0.5\n",
    "string floor": '[oracle]\ncausal = "0.5"\n',
    "unknown baseline key": '[oracle.baseline]\nsummary = "s.json"\ntolerence = 0.1\n',
    "not a table": "oracle = 1\n",
    "not TOML": "[oracle\n",
}


@pytest.mark.parametrize("kind", sorted(GATES) + ["a directory", "not UTF-8", "missing"])
def test_a_hostile_gate_file_is_one_error_line_before_any_model_work(bench, tmp_path, kind):
    gate = tmp_path / "gates.toml"
    if kind == "a directory":
        gate.mkdir()
    elif kind == "not UTF-8":
        gate.write_bytes(b"\xff\xfe[oracle]\n")
    elif kind != "missing":
        gate.write_text(GATES[kind], encoding="utf-8")
    ret, out, err = bench("--model", "oracle", "--task", "causal", "--limit", "2", "--gate", str(gate))
    errors = [line for line in err.splitlines() if line.startswith("ERROR:")]
    assert ret == 4 and len(errors) == 1, (ret, out[-2000:], err[-2000:])
    assert str(gate) in errors[0] and "Traceback" not in out + err and "oraclebench: loading model" not in out


@pytest.mark.parametrize("manifest", ['{"task": "nope"}', '{"tasks": {"causal": {}, "nope": {}}}'], ids=["task", "tasks"])
def test_a_models_manifest_naming_no_task_here_is_one_error_line(bench, tmp_path, manifest):
    """It said "trained on nope; scoring only that", scored nothing and exited 5 (found by a trial)."""
    module = tmp_path / "declares.py"
    module.write_text(f'def answer(prompts):\n    return [" 1" for _ in prompts]\nanswer.manifest = {manifest}\n')
    ret, out, err = bench("--model", f"python:{module}:answer")
    errors = [line for line in err.splitlines() if line.startswith("ERROR:")]
    assert ret == 4 and len(errors) == 1, (ret, out[-2000:], err[-2000:])
    assert "'nope'" in errors[0] and "no task here" in errors[0] and "Traceback" not in out + err


def test_heldout_over_a_models_manifest_says_so_and_the_summary_keeps_it(bench, tmp_path, pytester):
    """It replaced what the manifest says the model trained on without a word (found by a trial): 3-digit
    operands of a model trained up to 2x2 were counted as unseen, inside its training distribution."""
    module = tmp_path / "declares.py"
    module.write_text('def answer(prompts):\n    return [" 1" for _ in prompts]\n'
                      'answer.manifest = {"task": "multiplication", "split": {"max_digits": [2, 2]}}\n')
    ret, out, _ = bench("--model", f"python:{module}:answer", "--heldout", "multiplication:digits=3x3", "--limit", "8",
                        "--tb=no")
    said = (f"WARNING: oraclebench: --heldout multiplication:digits=3x3 replaces what python:{module}:answer's manifest "
            "says it trained on for multiplication: what is inside or held out follows the flag, not the model's "
            "training distribution (trained still means in its training data)")
    assert ret == 1 and said in out.splitlines()
    summary = json.loads(next((pytester.path / "results" / "runs").glob("*/summary.json")).read_text())
    assert summary["warnings"] == [said]
    ret, out, _ = bench("--model", f"python:{module}:answer", "--heldout", "multiplication:digits=2x2", "--limit", "8",
                        "--tb=no")
    assert "replaces what" not in out  # the flag says what the manifest says: nothing replaced


@pytest.mark.parametrize("model", ["oracle", "random"])
def test_an_option_a_baseline_does_not_take_is_one_error_line(bench, model):
    """Accepted and ignored before (found by a trial), where every other adapter names it."""
    ret, out, err = bench("--model", model, "--task", "causal", "--model-opt", "bogus=1")
    errors = [line for line in err.splitlines() if line.startswith("ERROR:")]
    assert ret == 4 and len(errors) == 1 and "bogus" in errors[0] and "Traceback" not in out + err


RESULTS = {  # what is in the way -> (--results, the extra option, the path the line must name)
    "--results is a file": ("file", [], "file"),
    "--results is empty": ("", [], "--results is empty"),
    "runs is a file": ("res", [], "res/runs"),
    "report is a file": ("res", ["--report"], "res/report"),
    "leaderboard.md is a folder": ("res", [], "res/leaderboard.md"),
    "cache.sqlite is a folder": ("res", [], "res/cache.sqlite"),
}


@pytest.mark.parametrize("kind", sorted(RESULTS))
def test_a_results_folder_that_cannot_take_the_run_is_one_error_line_before_any_model_work(bench, tmp_path, kind):
    """Found while writing, these lost the run after the model had answered (a traceback at the end), or
    failed every item and asked the model once per item (found by a trial); ``--results ""`` wrote into
    the current folder."""
    results, extra, named = RESULTS[kind]
    (tmp_path / "file").write_text("not a folder")
    (tmp_path / "res").mkdir()
    if kind.endswith("is a file") and results == "res":
        (tmp_path / named).write_text("in the way")
    elif kind.endswith("is a folder"):
        (tmp_path / named).mkdir()
    where = str(tmp_path / results) if results else ""
    ret, out, err = bench("--model", "oracle", "--task", "causal", "--limit", "2", "--results", where, *extra)
    errors = [line for line in err.splitlines() if line.startswith("ERROR:")]
    assert ret == 4 and len(errors) == 1, (ret, out[-2000:], err[-2000:])
    assert named in errors[0] and "Traceback" not in out + err and "oraclebench: loading model" not in out


HELDOUT = {
    "abcd length of 5,000 digits": "abcd:lengths=1-" + HUGE,
    "abcd length out of range": "abcd:lengths=1-99",
    "abcd zero length": "abcd:lengths=0-3",
    "abcd hex": "abcd:0x2",
    "multiplication operand of 5,000 digits": f"multiplication:omit={HUGE}x2",
    "multiplication digits zero": "multiplication:digits=0x2",
    "multiplication hex digits": "multiplication:digits=0x2x2",
    "unknown task": "abdc:lengths=1-2",
    "empty": "",
    "empty spec": "judge:",
    "causal unknown key": "causal:omited=1,0,1,0,1",
}


def _manifest(tmp_path: Path, body: bytes) -> str:
    path = tmp_path / "manifest.json"
    path.write_bytes(body)
    return str(path)


MANIFESTS = {
    "tasks not an object": b'{"tasks": 5}',
    "not JSON": b"{bad",
    "not UTF-8": b"\xff",
    "wrong value type": b'{"task": "abcd", "split": {"lengths": "x"}}',
    "unknown task": b'{"task": "nosuch", "split": {}}',
    "split not an object": b'{"task": "causal", "split": [1]}',
}


@pytest.mark.parametrize("kind", sorted(HELDOUT) + [f"manifest {k}" for k in sorted(MANIFESTS)])
def test_a_hostile_heldout_value_is_one_error_line(bench, tmp_path, kind):
    spec = _manifest(tmp_path, MANIFESTS[kind[9:]]) if kind.startswith("manifest ") else HELDOUT[kind]
    ret, out, err = bench("--model", "oracle", "--task", "abcd", "--limit", "2", "--heldout", spec)
    errors = [line for line in err.splitlines() if line.startswith("ERROR:")]
    assert ret == 4 and len(errors) == 1, (ret, out[-2000:], err[-2000:])
    assert "--heldout" in errors[0] and len(errors[0]) < 600 and "Traceback" not in out + err


WORLDS = {
    "NOTs nested 5,000 deep": 'inputs = ["A"]\n[equations]\nnewA = "' + "NOT " * 5000 + 'A"\n',
    "parentheses nested 5,000 deep": 'inputs = ["A"]\n[equations]\nnewA = "' + "(" * 5000 + "A" + ")" * 5000 + '"\n',
    "a chain of 100,000 ORs": 'inputs = ["A"]\n[equations]\nnewA = "' + " OR ".join(["A"] * 100_000) + '"\n',
    "a cycle": 'inputs = ["A"]\n[equations]\nnewA = "newB"\nnewB = "newA"\n',
    "an unknown variable": 'inputs = ["A"]\n[equations]\nnewA = "C"\n',
    "a bad operator": 'inputs = ["A", "B"]\n[equations]\nnewA = "A NAND B"\n',
    "inputs of the wrong type": 'inputs = "A"\n[equations]\nnewA = "A"\n',
    "an expression of the wrong type": 'inputs = ["A"]\n[equations]\nnewA = 1\n',
    "a nested table": 'inputs = ["A"]\n[equations.x]\ny = "A"\n',
    "a NUL": 'inputs = ["A"]\n[equations]\nnewA = "A\\u0000"\n',
}


@pytest.mark.parametrize("kind", sorted(WORLDS) + ["not UTF-8"])
def test_a_hostile_world_file_is_one_error_line_naming_it(bench, tmp_path, capsys, kind):
    world = tmp_path / "world.toml"
    world.write_bytes(b"\xff\xfe" if kind == "not UTF-8" else WORLDS[kind].encode())
    ret, out, err = bench("--model", "oracle", "--task", "causal", "--limit", "2",
                          "--heldout", f"causal:world={world} 1,0,1,0,1")
    errors = [line for line in err.splitlines() if line.startswith("ERROR:")]
    assert ret == 4 and len(errors) == 1, (ret, out[-2000:], err[-2000:])
    assert str(world) in errors[0] and "\x00" not in errors[0] and "Traceback" not in out + err
    from oraclebench.cli import main

    capsys.readouterr()
    ret = main(["generate", "causal", "--n", "4", "--heldout", f"world={world} 1,0,1,0,1", "--out", str(tmp_path / "d")])
    cli = capsys.readouterr().err
    assert ret == 2 and cli.count("\n") == 1 and str(world) in cli, cli


def test_the_bounded_world_parser_still_reads_the_deepest_allowed_expression():
    from oraclebench.oracles.causal import parse_world
    from oraclebench.oracles.expressions import MAX_DEPTH

    text = 'inputs = ["A"]\n[equations]\nnewA = "' + "NOT " * MAX_DEPTH + 'A"\n'
    assert parse_world(text).evaluate([1]).new == (MAX_DEPTH % 2 ^ 1,)


# --------------------------------------------------------------------------------------- 1. from a server


class _OddServer:
    """A minimal OpenAI-compatible server on 127.0.0.1 whose completions carry raw bytes ``body_text``
    as the JSON value of ``text`` (JSON escapes of lone surrogates, or bytes that are not UTF-8)."""

    def __init__(self, body_text: bytes):
        import threading
        from http.server import BaseHTTPRequestHandler

        from oraclebench.testing.loopback import LoopbackServer

        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def _send(self, body: bytes) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                self._send(b'{"object": "list", "data": [{"id": "odd", "object": "model"}]}')

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                self._send(b'{"id": "c", "object": "text_completion", "created": 0, "model": "odd", "choices": '
                           b'[{"index": 0, "text": "' + outer.body_text + b'", "finish_reason": "stop", '
                           b'"logprobs": null}]}')

        self.body_text = body_text
        self.server = LoopbackServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        return f"http://127.0.0.1:{self.server.server_port}/v1"

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)


@pytest.mark.parametrize("body", [b" 5\\ud800\\u0000\\u001b[31m", b" 5\xff\xfe\x80"], ids=["surrogate", "not-utf8"])
def test_text_from_a_server_is_stored_whatever_its_bytes(tmp_path, body):
    from oraclebench.models import load_model
    from oraclebench.runner import evaluate

    task = get_task("multiplication")
    with _OddServer(body) as url:
        model = load_model(f"vllm:odd@{url}", {"retries": "0", "timeout": "10"})
        records = evaluate(model, task.fresh(3, seed=1), "served", ResponseCache(tmp_path / "cache.sqlite"))
    run = write_run(tmp_path, "served", records, summarize(records, run_id="served", model="vllm:odd"))
    back = read_records(run)
    assert len(back) == 3 and not any(r.correct for r in back)
    (run / "records.jsonl").read_bytes().decode("utf-8")
    assert all(r.error is not None or r.completion.startswith(" 5") for r in back)
