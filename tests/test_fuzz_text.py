"""Whatever text a model returns, every task parses and scores it, and the record is written, read
back, summarised and put on the leaderboard, without an exception and without losing a record.

The texts: any code point (lone surrogates, NUL, ANSI escapes, bidi overrides included), numbers
past CPython's 4,300-digit ``int()`` limit, and the oracle's own answer with any of these spliced
into it (so the parsers get past their first check).
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from oraclebench.plugin import explain
from oraclebench.records import list_runs, read_records, write_run
from oraclebench.runner import score_one
from oraclebench.summary import render_table, summarize, write_leaderboard
from oraclebench.tasks import TASKS, get_task
from oraclebench.tasks.base import Response

ANY_CHAR = st.characters(blacklist_categories=())  # every code point, surrogates and controls too
NASTY = st.sampled_from(["\ud800", "\udfff", "\x00", "\x1b[2J", "\x1b]0;x\x07", "\u202e", "\r", "\x9b", "\ufeff"])
HUGE = st.integers(4_000, 6_000).map(lambda n: "9" * n)


def junk() -> st.SearchStrategy[str]:
    return st.one_of(st.text(ANY_CHAR, max_size=40), NASTY, HUGE, st.integers(1, 60).map(lambda n: "1," * n + "1"))


@st.composite
def task_and_text(draw):
    name = draw(st.sampled_from(sorted(TASKS)))
    task = get_task(name)
    problem = draw(task.strategy())
    answer = task.render_answer(problem, task.solve(problem))
    spliced = st.tuples(st.integers(0, len(answer)), junk()).map(lambda t: answer[:t[0]] + t[1] + answer[t[0]:])
    digits_swapped = HUGE.map(lambda big: "".join(big if c.isdigit() else c for c in answer))
    text = draw(st.one_of(st.text(ANY_CHAR, max_size=200), spliced, digits_swapped, junk()))
    return name, task, problem, text


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.lists(task_and_text(), min_size=1, max_size=4))
def test_any_text_is_parsed_scored_stored_summarised_and_shown(cases):
    records = []
    for i, (name, task, problem, text) in enumerate(cases):
        task.parse(text, problem)
        score = task.score(problem, Response(text=text))
        assert isinstance(score.correct, bool) and isinstance(score.reason, str)
        inst = task.instance(problem, f"{name}-fuzz-{i}")
        record = score_one(inst, task.request(inst), Response(text=text), "fuzz", "m\ud800", None, cached=False)
        explain(record).encode("utf-8")  # the terminal's few lines are encodable
        records.append(record)
    with tempfile.TemporaryDirectory() as tmp:
        summary = summarize(records, run_id="fuzz", model="m\ud800")
        run = write_run(Path(tmp), "fuzz", records, summary)
        back = read_records(run)
        assert len(back) == len(records)  # no record lost
        assert [r.correct for r in back] == [r.correct for r in records]
        (run / "records.jsonl").read_bytes().decode("utf-8")  # strict UTF-8
        json.loads((run / "summary.json").read_text(encoding="utf-8"))
        render_table(summary).encode("utf-8")
        write_leaderboard(Path(tmp)).read_bytes().decode("utf-8")
        assert [s["run_id"] for s in list_runs(Path(tmp))] == ["fuzz"]


def test_a_failed_requests_example_error_stays_on_the_runs_one_status_line():
    """The PARTIAL line quoted an exception message with the prompt's line breaks, over four lines (a trial)."""
    from oraclebench.records import errors_reason

    reason = errors_reason(13, example="RuntimeError: boom tep:\n\nC D\n\x1b[31m\u2028")
    assert "\n" not in reason and "\u2028" not in reason and "\x1b" not in reason
    assert reason.startswith("13 request errors (e.g. RuntimeError: boom tep:\\n\\nC D\\n\\x1b[31m\\u2028): not measured")


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(task_and_text())
def test_a_record_line_read_back_unchecked_is_the_record_a_checked_reading_gives(case):
    """``Record.from_line`` skips ``__post_init__``'s checks for lines this run wrote (an xdist
    worker's, a share's file): whatever the model sent, the record read so is the one ``from_json``
    builds with the checks, and it is storable."""
    from oraclebench.records import Record, record_line

    name, task, problem, text = case
    inst = task.instance(problem, f"{name}-fuzz")
    record = score_one(inst, task.request(inst), Response(text=text), "fuzz", "m\ud800", None, cached=False)
    line = record_line(record)
    fast = Record.from_line(line)
    assert fast == Record.from_json(json.loads(line))
    assert record_line(fast) == line
    line.encode("utf-8")


@pytest.mark.parametrize("field, value", [("parsed", ["x"] * 70_000), ("parsed", ["y" * 9_000] * 9),
                                          ("completion", "z" * 70_000), ("reason", "r" * 5_000)])
def test_a_capped_record_reads_back_from_its_line_as_written(field, value):
    """Capping a capped field changes nothing: a parsed list cut to its lines and a last "...[N more lines
    cut]" line once read back as "...[1 more lines cut]" (the marker took the total past the cap)."""
    from oraclebench.records import Record, record_line

    fields = {"run_id": "r", "model": "m", "task": "abcd", "instance_id": "i", "label": "", "bucket": {},
              "split": "all", "prompt": "p", "completion": "", "parsed": None, "expected": None, "correct": False}
    record = Record(**fields | {field: value})
    line = record_line(record)
    assert Record.from_json(json.loads(line)) == record == Record.from_line(line)
    if field == "parsed" and len(value) == 70_000:
        assert record.parsed[-1].startswith("...[") and record.parsed[-1] != "...[1 more lines cut]"
