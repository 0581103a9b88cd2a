"""One item's record and report: what a wrong answer shows, the report made for it without a traceback,
the records gathered from the reports, and the terminal reporter's teardown index."""

from __future__ import annotations

import json
from collections import defaultdict

import pytest

from oraclebench.plugin.state import Bench
from oraclebench.records import RECORD_KEY, Record
from oraclebench.textsafe import printable


OUTCOME_KEY = "oraclebench.outcome"  # on reports the plugin made for a wrong answer or a failed request


def _short(value, limit: int = 400) -> str:
    """One terminal line of a model's text: newlines and control characters visible, capped to ``limit``."""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    return printable(text, limit, line=True)


# A failed item is headed by what the summary's columns count it as (wrong, no answer, truncated, errors):
# a prose reply read as a "wrong answer" would send its reader to the wrong fix (the format, not the maths).
FAILED_AS = {"wrong": "wrong answer", "no_answer": "no answer", "truncated": "truncated answer", "error": "error"}


def explain(record: Record) -> str:
    """The few lines shown for an answer that is not right, headed by what it is (``no answer on ...``)."""
    return "\n".join([
        f"{FAILED_AS.get(record.status, record.status)} on {record.instance_id} ({record.split}, {record.label})",
        f"  prompt:    {_short(record.prompt)}",
        f"  expected:  {_short(record.expected)}",
        f"  answer:    {_short(record.completion)}",
        f"  parsed:    {_short(record.parsed)}",
        f"  reason:    {_short(record.reason, 1000)}",
        *([f"  lenient:   {_short(record.parsed_lenient)}, right by the lenient reading (not the score)"]
          if record.correct_lenient else []),
    ])


def assert_correct(record: Record) -> None:
    """What every benchmark item does: pass iff the model's answer is correct by the oracle."""
    if not record.correct:
        pytest.fail(explain(record), pytrace=False)


class RecordCollector:
    """Gathers the records that items attach to their reports (also those sent back by xdist workers)."""

    def __init__(self, bench: Bench):
        self.bench = bench

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        keys = set()
        for key, value in report.user_properties:
            keys.add(key)
            if key == RECORD_KEY:
                self.bench.collected.setdefault(report.nodeid, value)
        if report.failed and OUTCOME_KEY not in keys:
            self.bench.other_failures.append(report)


class TeardownIndex:
    """The terminal reporter's teardown reports of one item, found in an index instead of a scan.

    For each failure it lists (``--tb=short``, ``--tb=long``; each pass under ``-rP``), pytest's
    terminal summary looks for the item's teardown sections by scanning every passed setup and
    teardown report of the session (``TerminalReporter._get_teardown_reports``): quadratic in the
    items, 9 s for 1,000 wrong answers and 334 s for 10,000 here. This answers the same lists, in the
    same order, reading each new report once. Reports are only ever appended to ``stats``.
    """

    def __init__(self, reporter):
        self.reporter = reporter
        self.read = 0  # how many of stats[""] are in the index
        self.by_id: dict = defaultdict(list)

    def __call__(self, node_id) -> list:
        reports = self.reporter.stats.get("", [])
        for report in reports[self.read:]:
            if getattr(report, "when", None) == "teardown":
                self.by_id[_report_id(report)].append(report)
        self.read = len(reports)
        return [r for r in self.by_id.get(node_id, ()) if not hasattr(r, "_pdbshown")]  # as getreports filters


def _report_id(report):
    # pytest 9 matches on the structured ``id`` (and passes one); pytest 8 on ``nodeid``.
    return report.id if hasattr(report, "id") else report.nodeid


def index_teardown_reports(reporter) -> None:
    """Give ``reporter`` a ``TeardownIndex`` where its pytest has the scan it replaces; else nothing."""
    if reporter is not None and callable(getattr(reporter, "_get_teardown_reports", None)):
        reporter._get_teardown_reports = TeardownIndex(reporter)
