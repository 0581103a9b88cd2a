"""Log records in a benchmark run: no per-item capture where nothing would show it; warnings kept.

pytest's logging plugin attaches its two handlers to the root logger and to every non-propagating
logger at each phase of every item (``_pytest.logging.catching_logs``, pytest 8 and 9): a cost of
items x loggers, and torch with transformers registers about 400 loggers. For 2,000 multiplication
items that is 12,000 walks over the logger table, about 1.2 s of a 12 s ``hf:`` run on 2 cores
(with and without ``-p no:logging``, 3 interleaved repeats, ``scripts/bench_speed.py``'s command).
What it captures is shown only in an item's report section (a failure with ``--tb``, a pass with
``-rP``) or a junit XML file with ``junit_logging``, which a benchmark run does not print unless the
user asks: only then, or when a ``--log-*`` option or ini setting asks for logs, is the per-item
capture worth its cost.

Warnings are not left to it either way: a model's warnings are logged while the first item of a
task is set up (the batched call) and pytest would file them under that one item, unseen. Every
WARNING or worse that reaches the root logger while the model loads or answers is printed once in
the oraclebench section and written to the run's summary (``warnings``) and report.
"""

from __future__ import annotations

import contextlib
import logging
import re
from typing import Iterator

import pytest

from oraclebench.textsafe import printable

LOG_OPTIONS = ("log_level", "log_cli_level", "log_file", "log_file_level")  # pytest's options (and ini keys)
MAX_NOTICES = 20  # distinct lines kept per level; a model that warns per batch must not bury the table
LINE_CHARS = 1000  # of each: the terminal line's cap (plugin's notices)
# Libraries whose loggers do not propagate to the root (each prints through a handler of its own, to a
# stderr that pytest captures): transformers warns there of weights missing from a checkpoint.
LIBRARIES = ("transformers",)
_SGR = re.compile(r"\x1b\[[0-9;]*m")


def logs_asked(config: pytest.Config) -> bool:
    """Whether the user asked pytest for log records: a ``--log-*`` level or file on the command line
    or in the ini file, or ``log_cli`` in the ini file."""
    if any(config.getoption(name, None) for name in LOG_OPTIONS):
        return True
    return any(_ini(config, name) for name in (*LOG_OPTIONS, "log_cli"))


def _ini(config: pytest.Config, name: str):
    try:
        return config.getini(name)
    except ValueError:  # not a known ini key in this pytest
        return None


def captured_logs_shown(config: pytest.Config, asked: set[str]) -> bool:
    """Whether anything this run prints or writes would show an item's captured log records: a failure
    section (``--tb`` given, other than ``no``), the passes section (``-rP``, ``-rA``), or a junit XML
    file with ``junit_logging`` set.

    Args:
        asked: which of ``"r"`` and ``"tb"`` the user gave (the plugin's ``_user_asked``); a benchmark
            run shows no failure section unless asked.
    """
    if "tb" in asked and config.option.tbstyle != "no":
        return True
    if "r" in asked and set(config.option.reportchars or "") & set("PA"):
        return True
    return bool(config.getoption("xmlpath", None)) and (_ini(config, "junit_logging") or "no") != "no"


def drop_item_capture(config: pytest.Config, asked: set[str]) -> bool:
    """Unregister pytest's logging plugin for this session when nothing would show what it captures
    (``captured_logs_shown``) and the user asked for no logs (``logs_asked``).

    Returns whether it was dropped (not either when ``-p no:logging`` already removed it).
    """
    plugin = config.pluginmanager.get_plugin("logging-plugin")
    if plugin is None or logs_asked(config) or captured_logs_shown(config, asked):
        return False
    config.pluginmanager.unregister(plugin)
    handler = getattr(plugin, "log_file_handler", None)
    if handler is not None:  # what the plugin's own pytest_unconfigure would have closed
        handler.close()
    return True


class WarningNotices(logging.Handler):
    """Collects each distinct ``LEVEL: logger: message`` logged at WARNING or worse, the first
    ``MAX_NOTICES`` of each level (so warnings never push out an error); later ones are only counted.

    Attached only while the model loads and answers (``model_logging``), to the root logger and to
    ``LIBRARIES``' (which do not propagate to it): another test's warnings in the same session are not
    the model's. Other loggers that do not propagate are not seen.
    """

    def __init__(self):
        super().__init__(logging.WARNING)
        self.lines: list[str] = []  # in the order first logged
        self.kept: dict[int, int] = {}  # level -> distinct lines kept
        self.dropped: set[str] = set()  # distinct lines past a level's cap: only counted
        self._seen: set[str] = set()

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record (bad % arguments) is still a warning
            message = f"{record.msg!r} (its arguments did not fit: {record.args!r})"
        if record.exc_info and record.exc_info[1] is not None:  # log.exception(...): which exception
            message += f" [{type(record.exc_info[1]).__name__}: {record.exc_info[1]}]"
        # Printable and bounded, however long or odd the message; colour and bold codes (transformers'
        # load report has them) carry nothing, other control characters are shown escaped.
        line = printable(f"{record.levelname}: {record.name}: {_SGR.sub('', message)}", LINE_CHARS)
        if line in self._seen or line in self.dropped:
            return
        if self.kept.get(record.levelno, 0) >= MAX_NOTICES:
            self.dropped.add(line)
            return
        self._seen.add(line)
        self.kept[record.levelno] = self.kept.get(record.levelno, 0) + 1
        self.lines.append(line)

    def handleError(self, record: logging.LogRecord) -> None:
        pass  # emit() does not raise; nothing of this handler's may fail the model's logging call


@contextlib.contextmanager
def model_logging(notices: WarningNotices) -> Iterator[None]:
    """While the model loads or answers: its warnings go to ``notices``, and a logging call of its that
    cannot be formatted is no error of its requests.

    pytest's capture handler raises on such a record (``LogCaptureHandler.handleError``, under
    ``logging.raiseExceptions``), which made the same model's answers errors with ``--tb=short`` and
    right without it; Python's own handlers print a traceback and go on. ``raiseExceptions`` is off
    for the call, and ``notices`` keeps the record (its message and arguments) as a line.
    """
    loggers = [logging.getLogger(), *map(logging.getLogger, LIBRARIES)]
    previous = logging.raiseExceptions
    logging.raiseExceptions = False
    for logger in loggers:
        logger.addHandler(notices)
    try:
        yield
    finally:
        for logger in loggers:
            logger.removeHandler(notices)
        logging.raiseExceptions = previous


def count_line(dropped: int) -> str:
    """The line standing for the warnings not kept (``dropped`` distinct lines, workers' added up)."""
    return (f"{dropped} more distinct warnings were logged and not kept (the first {MAX_NOTICES} of each level "
            "are, per process)")
