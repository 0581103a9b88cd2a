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
WARNING or worse that reaches the root logger once the model is loading is printed once in the
oraclebench section and written to the run's summary and report.
"""

from __future__ import annotations

import logging

import pytest

from oraclebench.textsafe import printable

LOG_OPTIONS = ("log_level", "log_cli_level", "log_file", "log_file_level")  # pytest's options (and ini keys)
MAX_NOTICES = 20  # distinct warnings kept; a model that warns per batch must not bury the table
LINE_CHARS = 1000  # of each: the terminal line's cap (plugin's notices)


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
    """Collects each distinct ``logger: message`` logged at WARNING or worse into ``lines``.

    Args:
        lines: appended to; the plugin prints them as ``WARNING:`` lines and writes them to the run's
            summary (``warnings``) and report.

    Records of loggers that do not propagate to the root (transformers' own, printed to stderr by
    its handler) are not seen.
    """

    def __init__(self, lines: list[str]):
        super().__init__(logging.WARNING)
        self.lines = lines
        self.seen: set[str] = set()
        self.dropped: set[str] = set()  # distinct lines past the cap: only counted

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = f"{record.name}: {record.getMessage()}"
        except Exception:  # a malformed record (bad % arguments) is still a warning
            line = f"{record.name}: {record.msg!r}"
        line = printable(line, LINE_CHARS)  # no terminal escapes, and bounded, however long the message
        if line in self.seen:
            return
        if len(self.seen) >= MAX_NOTICES:
            self.dropped.add(line)
            return
        self.seen.add(line)
        self.lines.append(line)

    def attach(self) -> WarningNotices:
        logging.getLogger().addHandler(self)
        return self

    def detach(self) -> None:
        """Stop collecting; a count line for warnings beyond ``MAX_NOTICES``. Safe to call twice."""
        if self in logging.getLogger().handlers:
            logging.getLogger().removeHandler(self)
            if self.dropped:
                self.lines.append(f"{len(self.dropped)} more distinct warnings were logged and not kept "
                                  f"(only the first {MAX_NOTICES} are)")
