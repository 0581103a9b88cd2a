"""Progress lines for long work, on a terminal and off it: one mechanism for the batched model call,
training and ``explore``.

A progress bar (tqdm) redraws one line with carriage returns: piped into a file or a CI log it is a
wall of half-lines, and pytest captures it during a run. ``Progress`` writes whole lines instead: one
when the work starts, then one every ``interval`` seconds with done/total, the rate and the time
left, and one when it ends (if it took long enough to have printed anything). Standard library only,
below every layer that does long work (it imports only the usage error).
"""

from __future__ import annotations

import os
import sys
import threading
import time
from typing import Callable, TextIO

from oraclebench.errors import UsageError
from oraclebench.tasks.exchange import shown_share

INTERVAL_TTY = 10.0  # seconds between lines on a terminal
INTERVAL_PIPED = 30.0  # piped or in CI: fewer lines, each whole
ENV_INTERVAL = "ORACLEBENCH_PROGRESS_SECONDS"  # overrides both (a test, or a user who wants more or fewer lines)


def interval_for(stream: TextIO | None = None) -> float:
    """Seconds between progress lines on ``stream`` (stderr by default): ``$ORACLEBENCH_PROGRESS_SECONDS``,
    else 10 on a terminal and 30 otherwise.

    Raises: ``UsageError`` when the variable is set to something that is not a positive number.
    """
    text = os.environ.get(ENV_INTERVAL, "").strip()
    if text:
        try:
            value = float(text)
        except ValueError:
            value = -1.0
        if not value > 0:
            raise UsageError(f"{ENV_INTERVAL}={text!r}: give a positive number of seconds, e.g. 30")
        return value
    stream = stream if stream is not None else sys.stderr
    return INTERVAL_TTY if _isatty(stream) else INTERVAL_PIPED


def _isatty(stream) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # a replaced or closed stream
        return False


def duration(seconds: float) -> str:
    """A short human duration: ``8 s``, ``3 min 20 s``, ``1 h 05 min``.

    >>> duration(0.4), duration(7.6), duration(200), duration(3900)
    ('under 1 s', '8 s', '3 min 20 s', '1 h 05 min')
    """
    if seconds < 0.5:
        return "under 1 s"
    s = int(round(seconds))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60:02d} s"
    return f"{s // 3600} h {s % 3600 // 60:02d} min"


def stderr_line(text: str) -> None:
    """Write one progress line to stderr, flushed (the default ``write`` of ``Progress``)."""
    print(text, file=sys.stderr, flush=True)


def reporter_line(reporter, line: str) -> None:
    """Write ``line`` on a line of its own through pytest's terminal ``reporter``, then reopen the line of
    result letters it broke (``benchmark/test_causal.py ``): without that the next item's dot is left
    alone on the line under ``line`` and the file's name is written again for the rest.

    ``reporter`` is pytest's ``TerminalReporter`` (duck-typed: ``write_line``, ``write``, ``currentfspath``,
    ``startpath``); this module imports no pytest.
    """
    current = getattr(reporter, "currentfspath", None)
    reporter.write_line(line)
    if current is not None:
        reporter.write(f"{os.path.relpath(current, reporter.startpath)} ")
        reporter.currentfspath = current


class Progress:
    """Lines saying how far ``total`` units of work have got, at most one per ``interval`` seconds.

    ``what`` names the work (``"gpt2-abcd: abcd"``), ``unit`` what is counted (``"answers"``,
    ``"steps"``, ``"calls"``). ``advance(n, note)`` counts ``n`` more units; ``note`` (``"loss
    0.1651"``) is shown in the next line. Thread-safe: a served adapter reports answers from its
    worker threads.
    """

    def __init__(self, what: str, total: int, unit: str = "answers", write: Callable[[str], None] | None = None,
                 interval: float | None = None, clock: Callable[[], float] = time.monotonic):
        self.what, self.total, self.unit = what, max(0, int(total)), unit
        self.write = write or stderr_line
        self.interval = interval if interval is not None else interval_for()
        self.clock = clock
        self.done = 0
        self.note = ""
        self.started = clock()
        self.last = self.started
        self.lines = 0  # periodic lines written (the end line is written only after one of them)
        self.said: tuple[int, int] | None = None  # (done, total) of the last periodic line
        self._lock = threading.Lock()

    def start(self, line: str) -> "Progress":
        """Write the line that says the work has begun (``"oraclebench: gpt2-abcd answering 2000 abcd
        instances ..."``); returns ``self``."""
        self.write(line)
        return self

    def advance(self, n: int = 1, note: str | None = None) -> None:
        """Count ``n`` more units done; write a line if ``interval`` seconds passed since the last one."""
        with self._lock:
            self.done = min(self.total, self.done + n) if self.total else self.done + n
            if note is not None:
                self.note = note
            now = self.clock()
            if now - self.last < self.interval:
                return
            self.last = now
            self.lines += 1
            self.said = (self.done, self.total)  # what this line says (at the total: "done in")
            line = self.line(now)
        self.write(line)

    def line(self, now: float | None = None, finished: bool = False) -> str:
        """``what: 512/2000 answers (26%), 8.5 answers/s, about 2 min 55 s left[, note]``; ``finished``
        (work that may end short of its total, as a search within a budget): ``done in ...`` instead."""
        now = self.clock() if now is None else now
        elapsed = max(now - self.started, 1e-9)
        rate = self.done / elapsed
        pct = f" ({shown_share(self.done / self.total, 0)}%)" if self.total else ""
        parts = [f"{self.what}: {self.done}/{self.total} {self.unit}{pct}", f"{_rate(rate)} {self.unit}/s"]
        if self.done < self.total and not finished:
            parts.append(f"about {duration((self.total - self.done) / rate)} left" if rate > 0 else "time left unknown")
        else:
            parts.append(f"done in {duration(elapsed)}")
        if self.note:
            parts.append(self.note)
        return ", ".join(parts)

    def finish(self) -> None:
        """Write the closing line when periodic lines were written (short work stays one line), unless
        the last of them was written at the total, and the total is still that (it said "done in"
        already: the same line twice; an xdist worker's total grows when it takes over a share)."""
        if self.lines and self.said != (self.total, self.total):
            self.write(self.line(finished=True))


def _rate(rate: float) -> str:
    return f"{rate:.1f}" if rate < 100 else f"{rate:.0f}"
