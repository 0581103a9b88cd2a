"""Log records in a benchmark run (``oraclebench/logcapture.py``).

A model's warnings are logged during the batched call, inside the first item's set-up: they must reach
the user once, in the oraclebench section and the run's summary, whatever pytest would have done with
them. pytest's per-item log capture (a cost of items x loggers) is dropped only where nothing this run
prints or writes would show what it captures.
"""

import json
import logging

import pytest

from oraclebench.logcapture import LINE_CHARS, MAX_NOTICES, WarningNotices, model_logging

pytest_plugins = ["pytester"]

PIPELINE = '''
import logging

def answer(prompts):
    logging.getLogger("oraclebench.mine").warning("batch of %d too large, retrying smaller", 64)
    logging.getLogger("somelib").warning("deprecated thing")
    logging.getLogger("somelib").info("an info line is not a warning")
    return ["1" for p in prompts]
'''

LOGGED = ["WARNING: oraclebench.mine: batch of 64 too large, retrying smaller", "WARNING: somelib: deprecated thing"]

# Right answers (the oracle's), and a logging call whose arguments do not fit its format.
CARELESS = '''
import logging
import re

def answer(prompts):
    logging.getLogger("careless").warning("bad args %d %d", 1)
    products = [re.search(r"What is (\\d+) × (\\d+)", p).groups() for p in prompts]
    return [f" {int(a) * int(b)}" for a, b in products]
'''

# Written by each process that runs items (xdist workers too): is pytest's logging plugin registered there?
PROBE = '''
import os

def pytest_runtest_call(item):
    path = os.path.join(os.environ["PROBE_DIR"], f"{os.getpid()}.txt")
    with open(path, "a") as out:
        out.write(f"{item.config.pluginmanager.has_plugin('logging-plugin')}\\n")
'''


@pytest.fixture
def run(bench, pytester, monkeypatch):
    """``pytest benchmark --model python:pipeline.py:answer --task multiplication --fresh 6 ARGS``:
    (outcome, summary.json, {True/False: items whose process had the logging plugin})."""
    pipeline = pytester.path / "pipeline.py"
    pipeline.write_text(PIPELINE)
    pytester.makeconftest(PROBE)  # the root conftest: xdist's workers load it too
    probes = pytester.path / "probes"
    probes.mkdir()
    monkeypatch.setenv("PROBE_DIR", str(probes))

    def go(*args: str):
        result = bench("--model", f"python:{pipeline}:answer", "--task", "multiplication",
                       "--fresh", "6", "--no-cache", *args)
        found = sorted((pytester.path / "results" / "runs").glob("*/summary.json"))
        summary = json.loads(found[-1].read_text()) if found else None
        seen = [line == "True" for p in probes.glob("*.txt") for line in p.read_text().split()]
        for p in probes.glob("*.txt"):
            p.unlink()
        return result, summary, seen

    return go


def test_a_models_warnings_are_printed_once_and_kept_in_the_summary(run):
    result, summary, _ = run()
    out = result.stdout.lines
    for line in LOGGED:
        assert out.count(line) == 1
    assert not any("an info line" in line for line in out)
    assert summary["warnings"] == LOGGED


def test_with_failure_sections_asked_for_the_warnings_are_still_in_the_summary(run):
    result, summary, seen = run("--tb=short")
    assert result.stdout.lines.count(LOGGED[1]) == 1
    assert summary["warnings"] == LOGGED
    assert seen and all(seen)  # the capture stays: the first failure's section shows the records too
    assert "batch of 64 too large" in result.stdout.str().split("Captured log setup")[1]


def test_the_report_shows_the_warnings_logged_during_the_run(run, pytester):
    pytest.importorskip("pandas")
    result, summary, _ = run("--report")
    assert summary["warnings"] == LOGGED
    report = (pytester.path / "results" / "report" / "report.md").read_text()
    for line in LOGGED:
        assert "Logged while python:" in report and line in report


@pytest.mark.parametrize("args", [(), ("--tb=no",), ("-rf",), ("--junitxml", "out.xml")],
                         ids=["default", "tb-no", "rf", "junitxml"])
def test_the_per_item_capture_is_dropped_where_nothing_would_show_it(run, args):
    result, _, seen = run(*args)
    assert result.ret == 1  # wrong answers, not a crash
    assert len(seen) == 6 and not any(seen)


@pytest.mark.parametrize("args", [("--tb=short",), ("-rA",), ("--log-level=INFO",), ("--log-cli-level=WARNING",),
                                  ("-o", "junit_logging=all", "--junitxml", "out.xml"), ("-o", "log_cli=true")],
                         ids=["tb-short", "rA", "log-level", "log-cli-level", "junit-logging", "ini-log-cli"])
def test_the_per_item_capture_stays_where_something_shows_it_or_logs_are_asked_for(run, args):
    _, _, seen = run(*args)
    assert len(seen) == 6 and all(seen)


def test_xdist_workers_drop_the_capture_and_send_their_warnings_to_the_controller(run):
    pytest.importorskip("xdist")
    result, summary, seen = run("-n", "2")
    assert len(seen) == 6 and not any(seen)
    assert result.stdout.lines.count(LOGGED[1]) == 1
    assert summary["warnings"] == LOGGED


@pytest.mark.parametrize("args", [(), ("--tb=short",), ("-rA",), ("--log-cli-level=INFO",)],
                         ids=["default", "tb-short", "rA", "log-cli-level"])
def test_a_logging_call_that_cannot_be_formatted_is_no_error_of_the_models_answers(bench, pytester, args):
    """pytest's capture handler raises on such a record: the score must not depend on the output flags."""
    pipeline = pytester.path / "careless.py"
    pipeline.write_text(CARELESS)
    bench("--model", f"python:{pipeline}:answer", "--task", "multiplication", "--fresh", "6", "--no-cache",
          *args).assert_outcomes(passed=6)
    summary = json.loads(next((pytester.path / "results" / "runs").glob("*/summary.json")).read_text())
    assert summary["tasks"]["multiplication"]["all"]["errors"] == 0
    assert summary["warnings"] == ["WARNING: careless: 'bad args %d %d' (its arguments did not fit: (1,))"]


def test_a_users_own_test_in_the_session_keeps_caplog_and_its_warnings_are_not_the_models(run, pytester):
    pytester.makepyfile(test_mine='''
import logging

def test_caplog_sees_a_warning(caplog):
    logging.getLogger("mine").warning("the user's own test")
    assert caplog.messages == ["the user's own test"]
''')
    result, summary, seen = run("test_mine.py")
    result.assert_outcomes(passed=1, failed=6)
    assert seen and all(seen)  # a non-benchmark item in the session: pytest's capture stays
    assert summary["warnings"] == LOGGED


def test_a_run_without_a_model_keeps_pytests_log_capture(pytester, monkeypatch):
    """The plugin is loaded for every pytest run of the project: ordinary tests keep ``caplog``."""
    monkeypatch.syspath_prepend(str(pytester.path))
    pytester.makepyfile(test_logs='''
import logging

def test_caplog_sees_a_warning(caplog):
    logging.getLogger("x").warning("seen")
    assert caplog.messages == ["seen"]
''')
    result = pytester.runpytest("-p", "oraclebench.plugin", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)


def _record(name: str, level: int, msg: str, *args) -> logging.LogRecord:
    return logging.LogRecord(name, level, __file__, 1, msg, args, None)


def test_warning_notices_keep_each_distinct_line_once_the_first_of_each_level():
    notices = WarningNotices()
    for i in range(MAX_NOTICES + 5):
        notices.emit(_record("lib", logging.WARNING, "warning %d", i))
        notices.emit(_record("lib", logging.WARNING, "warning %d", i))  # a repeat is not a new line
    notices.emit(_record("lib", logging.ERROR, "an error after many warnings"))
    assert notices.lines == [*(f"WARNING: lib: warning {i}" for i in range(MAX_NOTICES)),
                             "ERROR: lib: an error after many warnings"]  # never pushed out by warnings
    assert len(notices.dropped) == 5


def test_a_library_logger_that_does_not_propagate_is_heard_while_the_model_loads_and_answers():
    """transformers' loggers print through their own handler, not the root's: its report of weights
    missing from a checkpoint (newly initialised: the model's answers mean nothing) must reach the run."""
    library = logging.getLogger("transformers")
    propagate = library.propagate
    library.propagate = False
    try:
        notices = WarningNotices()
        with model_logging(notices):
            logging.getLogger("transformers.modeling_utils").warning("\x1b[1mLOAD REPORT\x1b[0m: h.1.mlp MISSING")
        assert notices.lines == ["WARNING: transformers.modeling_utils: LOAD REPORT: h.1.mlp MISSING"]
        assert notices not in library.handlers
    finally:
        library.propagate = propagate


def test_a_logged_exception_names_itself():
    notices = WarningNotices()
    try:
        {}["missing"]
    except KeyError:
        import sys
        notices.emit(logging.LogRecord("lib", logging.ERROR, __file__, 1, "lookup failed", (), sys.exc_info()))
    assert notices.lines == ["ERROR: lib: lookup failed [KeyError: 'missing']"]


def test_a_kept_warning_is_printable_and_of_bounded_length():
    notices = WarningNotices()
    notices.emit(_record("lib", logging.WARNING, "two\nlines \x1b[2J\x1b[31mred" + "x" * 5000))
    (line,) = notices.lines
    assert "\x1b" not in line  # no terminal escape reaches the user's terminal: colour dropped, the rest shown
    assert line.startswith("WARNING: lib: two\nlines \\x1b[2Jredxxx") and len(line) <= LINE_CHARS + 100


def test_model_logging_collects_only_inside_and_restores_logging():
    notices = WarningNotices()
    raising = logging.raiseExceptions
    logging.getLogger("outside").warning("before")
    with model_logging(notices):
        logging.getLogger("inside").warning("bad %d", "x")  # no exception, whatever handler is attached
        assert logging.raiseExceptions is False
    logging.getLogger("outside").warning("after")
    assert notices.lines == ["WARNING: inside: 'bad %d' (its arguments did not fit: ('x',))"]
    assert notices not in logging.getLogger().handlers and logging.raiseExceptions is raising
