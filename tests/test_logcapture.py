"""Log records in a benchmark run (``oraclebench/logcapture.py``).

A model's warnings are logged during the batched call, inside the first item's set-up: they must reach
the user once, in the oraclebench section and the run's summary, whatever pytest would have done with
them. pytest's per-item log capture (a cost of items x loggers) is dropped only where nothing this run
prints or writes would show what it captures.
"""

import json
import logging

import pytest

from oraclebench.logcapture import LINE_CHARS, MAX_NOTICES, WarningNotices

pytest_plugins = ["pytester"]

PIPELINE = '''
import logging

def answer(prompts):
    logging.getLogger("oraclebench.mine").warning("batch of %d too large, retrying smaller", 64)
    logging.getLogger("somelib").warning("deprecated thing")
    logging.getLogger("somelib").info("an info line is not a warning")
    return ["1" for p in prompts]
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
    assert out.count("WARNING: oraclebench.mine: batch of 64 too large, retrying smaller") == 1
    assert out.count("WARNING: somelib: deprecated thing") == 1
    assert not any("an info line" in line for line in out)
    assert summary["warnings"] == ["oraclebench.mine: batch of 64 too large, retrying smaller",
                                   "somelib: deprecated thing"]


def test_with_failure_sections_asked_for_the_warnings_are_still_in_the_summary(run):
    result, summary, seen = run("--tb=short")
    assert result.stdout.lines.count("WARNING: somelib: deprecated thing") == 1
    assert summary["warnings"] == ["oraclebench.mine: batch of 64 too large, retrying smaller",
                                   "somelib: deprecated thing"]
    assert seen and all(seen)  # the capture stays: the first failure's section shows the records too
    assert "batch of 64 too large" in result.stdout.str().split("Captured log setup")[1]


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
    assert result.stdout.lines.count("WARNING: somelib: deprecated thing") == 1
    assert summary["warnings"] == ["oraclebench.mine: batch of 64 too large, retrying smaller",
                                   "somelib: deprecated thing"]


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


def test_warning_notices_keep_each_distinct_line_once_up_to_a_cap():
    lines: list[str] = []
    handler = WarningNotices(lines).attach()
    try:
        log = logging.getLogger("oraclebench.test-notices")
        for i in range(MAX_NOTICES + 5):
            log.warning("warning %d", i)
            log.warning("warning %d", i)  # a repeat is not a new line
        # A malformed record (bad % arguments) is still kept, not an exception in the model's call.
        handler.emit(logging.LogRecord("lib", logging.ERROR, __file__, 1, "bad %d", ("not a number",), None))
    finally:
        handler.detach()
    handler.detach()  # twice is harmless
    assert handler not in logging.getLogger().handlers
    assert lines[:MAX_NOTICES] == [f"oraclebench.test-notices: warning {i}" for i in range(MAX_NOTICES)]
    assert lines[MAX_NOTICES:] == [f"6 more distinct warnings were logged and not kept (only the first {MAX_NOTICES} are)"]


def test_a_kept_warning_is_printable_and_of_bounded_length():
    lines: list[str] = []
    WarningNotices(lines).emit(logging.LogRecord("lib", logging.WARNING, __file__, 1, "two\nlines \x1b[31m" + "x" * 5000, (), None))
    assert len(lines) == 1 and "\x1b" not in lines[0]  # no terminal escape reaches the user's terminal
    assert lines[0].startswith("lib: two\nlines \\x1b[31m") and len(lines[0]) <= LINE_CHARS + 100
