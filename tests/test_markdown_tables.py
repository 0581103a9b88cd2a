"""Every markdown table oraclebench writes keeps its columns, whatever a cell holds.

GFM reads a table only where the header row has as many cells as the divider below it, splits a row
at every ``|`` not escaped as ``\\|`` and ends it at a line break. The judge's "acc | argument right"
column once made the argument analysis a 12-cell header over a 10-cell divider, no table at all; a
model name or any cell can hold a ``|`` or a line break as well.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest

from oraclebench.records import write_run
from oraclebench.runner import score_one
from oraclebench.summary import markdown_table, summarize, write_leaderboard
from oraclebench.tasks import get_task
from oraclebench.tasks.base import Response

pytest.importorskip("pandas")

PIPED = "python:/models/a|b.py:answer"  # a path may hold a pipe
BROKEN = "two\nlines"


def cells(row: str) -> list[str]:
    """A table row's cells as GitHub (cmark-gfm) splits it: a backslash escapes the character after it
    (``\\|`` is text, ``\\\\|`` an escaped backslash then a split); the outer pipes open and close the row."""
    row = row.strip()
    out, cell, i = [], "", 0
    while i < len(row):
        if row[i] == "\\" and i + 1 < len(row):
            cell, i = cell + row[i:i + 2], i + 2
            continue
        if row[i] == "|":
            out.append(cell)
            cell = ""
        else:
            cell += row[i]
        i += 1
    out.append(cell)
    if row.startswith("|"):
        out = out[1:]
    if row.endswith("|") and out and out[-1] == "":
        out = out[:-1]
    return out


def tables(text: str) -> list[list[str]]:
    """The markdown tables in ``text``: each a run of lines that start with ``|``."""
    found, current = [], []
    for line in text.splitlines() + [""]:
        if line.startswith("|"):
            current.append(line)
        elif current:
            found.append(current)
            current = []
    return found


def assert_tables_keep_their_columns(text: str) -> int:
    found = tables(text)
    for table in found:
        assert len(table) >= 2 and set(table[1]) <= set("|:- "), table[:2]
        widths = [len(cells(row)) for row in table]
        assert widths == [widths[1]] * len(table), table
    return len(found)


def _records(model: str, run_id: str, n: int = 12) -> list:
    """``n`` records of each of causal, judge and multiplication: right on odd items, prose on even ones."""
    out = []
    for name in ("causal", "judge", "multiplication"):
        task = get_task(name)
        for i in range(n):
            problem = task.sample(0, i)
            inst = task.instance(problem, f"{name}-{task.version}-{i:04d}")
            text = task.render_answer(problem, task.solve(problem)) if i % 2 else "I cannot tell."
            out.append(score_one(inst, task.request(inst), Response(text=text), run_id, model, None, False))
    return out


@pytest.fixture(scope="module")
def results(tmp_path_factory) -> Path:
    results = tmp_path_factory.mktemp("results")
    for k, model in enumerate((PIPED, BROKEN, "plain")):
        run_id = f"20260101T00000{k}-000000-m{k}"
        records = _records(model, run_id)
        summary = summarize(records, run_id=run_id, model=model, options={"heldout": []})
        summary["complete"] = {task: True for task in summary["tasks"]}
        summary["coverage"] = {task: {"version": get_task(task).version} for task in summary["tasks"]}
        write_run(results, run_id, records, summary)
    return results


def test_every_table_of_the_markdown_report_has_as_many_cells_in_each_row_as_its_divider(results):
    from oraclebench.report import build_report

    build_report(results)
    text = (results / "report" / "report.md").read_text(encoding="utf-8")
    assert assert_tables_keep_their_columns(text) >= 8
    argument = next(t for t in tables(text) if "argument right" in t[0])
    # model, split, n, failed, accuracy, base rate, acc | right, acc | wrong, follows, acc masked, acc unmasked
    assert len(cells(argument[0])) == 11
    assert any(c.strip() == "acc \\| argument right" for c in cells(argument[0]))
    rows = {cells(row)[0].strip() for t in tables(text) for row in t[2:]}
    assert "python:/models/a\\|b.py:answer" in rows and "two<br>lines" in rows


def test_a_markdown_renderer_reads_every_report_table_as_a_table_with_the_names_as_written(results):
    markdown_it = pytest.importorskip("markdown_it")
    from oraclebench.report import build_report

    build_report(results)
    text = (results / "report" / "report.md").read_text(encoding="utf-8")
    page = markdown_it.MarkdownIt("commonmark").enable("table").render(text)
    assert page.count("<table>") == len(tables(text))
    shown = {html.unescape(c) for c in re.findall(r"<t[hd](?: [^>]*)?>(.*?)</t[hd]>", page)}
    assert {"acc | argument right", "acc | argument wrong", PIPED, "two<br>lines"} <= shown


def test_the_leaderboard_keeps_its_columns_with_a_pipe_or_a_line_break_in_a_model_name(results):
    text = write_leaderboard(results).read_text(encoding="utf-8")
    assert assert_tables_keep_their_columns(text) == 1
    first = [cells(row)[0].strip() for row in tables(text)[0][2:]]
    assert sorted(first) == sorted(["python:/models/a\\|b.py:answer", "plain", "two<br>lines"])


@pytest.mark.parametrize("value", ["a|b", "a\nb", "a\r\nb", "a\u2028b", "a\x85b", "a\\|b", "a\\\\|b", "a\\", "|", "\n"])
def test_the_terminal_table_keeps_three_columns_whatever_a_cell_holds(value):
    table = markdown_table(["task", "split", "n"], [[value, "all", 3], ["causal", value, 4]]).splitlines()
    assert len(table) == 4
    assert [len(cells(row)) for row in table] == [3, 3, 3, 3]
