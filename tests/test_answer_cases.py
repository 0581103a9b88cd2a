"""Answers phrased the way real models phrase them, read through the real entry point.

``tests/cases/`` holds verbatim copies of ``../shared/cases/answers/`` (a ``python:`` model per kind
of answer, its docstring saying what it writes and how it must be read), so that CI needs nothing
outside this checkout. Each case runs as a user runs it, ``python -m pytest benchmark --model
python:tests/cases/NAME.py:answer`` from the project's root, and its records are checked against the
docstring's reading: the strict score, the lenient one and each record's status.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from oraclebench.records import list_runs, read_records

ROOT = Path(__file__).resolve().parent.parent
CASES = Path(__file__).resolve().parent / "cases"


def run_case(name: str, mark: str, results: Path,
             limit: int | None = 24) -> tuple[subprocess.CompletedProcess, list, dict]:
    """``pytest benchmark -m MARK --model python:tests/cases/NAME.py:answer``: (process, records, summary).

    ``limit=None`` scores the whole frozen set."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    limit_args = ["--limit", str(limit)] if limit else []
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "benchmark", "-q", "-p", "no:cacheprovider", "-p", "no:randomly",
         "--tb=no", "--no-cache", *limit_args, "-m", mark,
         "--model", f"python:{CASES / name}.py:answer", "--results", str(results)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )
    runs = list_runs(results)
    assert runs, proc.stdout[-2000:] + proc.stderr[-2000:]
    return proc, read_records(Path(runs[-1]["path"])), runs[-1]


def test_a_right_answer_after_a_line_break_is_right_on_multiplication_and_abcd(tmp_path):
    proc, records, summary = run_case("leading_newline", "multiplication or abcd", tmp_path)
    assert {r.task for r in records} == {"multiplication", "abcd"} and len(records) == 48
    assert [r.reason for r in records if not r.correct] == []
    assert {r.status for r in records} == {"correct"}
    assert all(r.completion.startswith("\n") for r in records)  # stored as written: the cut is only for scoring
    assert proc.returncode == 0


def test_judge_answers_that_only_begin_with_1_choose_nothing(tmp_path):
    _, records, summary = run_case("judge_prefix", "judge", tmp_path)
    assert len(records) == 24 and {r.completion for r in records} == {"12", "10", "1.5"}
    assert all(r.parsed is None and r.status == "no_answer" and not r.correct for r in records)
    assert all(r.detail["chosen"] is None for r in records)  # never candidate 1
    assert all("names no candidate" in r.reason for r in records)
    assert summary["tasks"]["judge"]["all"]["noanswer"] == 24


def test_a_choice_by_elimination_reads_as_the_candidate_concluded(tmp_path):
    _, records, _ = run_case("judge_elimination", "judge", tmp_path, limit=None)  # all 576: both orders
    assert len(records) == 576 and all(r.completion.startswith("Candidate ") for r in records)
    assert [r.reason for r in records if not r.correct] == []
    # Both orders occur: the rejected candidate is named first whichever it is.
    assert {r.expected for r in records} == {1, 2}


def test_an_abcd_trace_that_repeats_the_program_first_like_the_prompts_example_is_right(tmp_path):
    _, records, _ = run_case("abcd_echo", "abcd", tmp_path)
    assert len(records) == 24
    assert [r.reason for r in records if not r.correct] == []
    assert all(r.completion.splitlines()[0] == r.prompt.rstrip("\n").splitlines()[-1] for r in records)


def test_chat_phrasings_are_right_by_the_lenient_reading_and_both_readings_are_shown(tmp_path):
    proc, records, summary = run_case("chat_phrasings", "multiplication", tmp_path)
    assert len(records) == 24 and all(r.correct_lenient for r in records)
    plain = [r for r in records if r.completion.strip().isdigit()]  # " 56": the one form the strict reading takes
    assert len(plain) == 4 and all(r.correct for r in plain)
    assert all(r.status == "no_answer" and r.parsed_lenient == r.expected for r in records if r not in plain)
    cell = summary["tasks"]["multiplication"]["all"]
    assert (cell["correct"], cell["lenient"]["correct"], cell["lenient"]["only"]) == (4, 24, 20)
    assert "16.7 [" in proc.stdout and "100.0 (+20)" in proc.stdout  # the terminal table: strict, lenient (+only)
    assert "only the lenient reading" in proc.stdout
    board = (tmp_path / "leaderboard.md").read_text(encoding="utf-8")
    assert "no complete run" in board and "16.7" not in board  # 24 of 1000: a partial run, never the score
    _, whole, summary = run_case("chat_phrasings", "multiplication", tmp_path / "whole", limit=None)
    cell = summary["tasks"]["multiplication"]["all"]
    assert all(r.correct_lenient for r in whole) and cell["lenient"]["only"] == sum(not r.correct for r in whole)
    board = (tmp_path / "whole" / "leaderboard.md").read_text(encoding="utf-8")
    assert f"{100 * cell['accuracy']:.1f}, lenient 100.0 (+{cell['lenient']['only']}), n=1000" in board


def test_a_chat_sentence_choice_is_right_through_python(tmp_path):
    _, records, _ = run_case("chat_sentence", "judge", tmp_path)
    assert len(records) == 24 and all(r.correct for r in records)


def test_records_carry_both_readings_and_a_status_in_json(tmp_path):
    _, records, summary = run_case("chat_phrasings", "multiplication", tmp_path, limit=6)
    line = json.loads((Path(summary["path"]) / "records.jsonl").read_text(encoding="utf-8").splitlines()[0])
    assert {"correct", "correct_lenient", "parsed", "parsed_lenient", "status", "completion"} <= set(line)
