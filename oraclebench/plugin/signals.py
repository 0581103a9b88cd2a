"""How a benchmark run ends on a signal: SIGINT (Ctrl-C, ``kill -INT``, ``timeout -s INT``) and SIGTERM
(``kill``, ``timeout``, CI cancellation, Slurm, ``docker stop``) both interrupt it as a Ctrl-C does, once.

- The first signal raises ``KeyboardInterrupt`` in the main thread (pytest's own Ctrl-C path: the
  run stops, what was answered is kept, the run is written and marked interrupted).
- Every later one is noted and nothing more: a second Ctrl-C (``timeout -s INT`` sends two) landed
  inside pytest's own handling of the first (``pytest_keyboard_interrupt``), so pytest never recorded
  the run as interrupted, its tasks were marked complete, and a long traceback ended it (found by review).
- A signal that comes while the run's results are being written (``pytest_sessionfinish``) is noted,
  never raised: the run has ended and its records are written whole.
- SIGTERM's default ended the process at once: no records, no summary (the cache alone kept the answers).

``cut`` says whether a signal came before the run's end (the run is then interrupted, whatever pytest's
exit status says). Installed in the process that writes the run (one process or the xdist controller),
only where the signal's handler is still Python's default (a process started with SIGINT ignored, or
a caller's own handler, is left alone); xdist workers take SIGTERM as SIGINT too (``watch_controller``).
Imports nothing of the plugin.
"""

from __future__ import annotations

import os
import signal
import threading

import pytest

NOTE = (b"oraclebench: interrupted: ending the run and writing what was answered (kill -9 stops at once; "
        b"the answer cache keeps every answer)\n")


class EndOnSignal:
    """SIGINT and SIGTERM as one Ctrl-C for a benchmark run (see the module docstring)."""

    def __init__(self):
        self.received: list[str] = []  # each signal's name, in order
        self.cut = False  # a signal came before the run's end (its results being written)
        self.ending = False
        self.raised = False
        self.noted = False
        self.previous: dict = {}

    def install(self, config: pytest.Config) -> "EndOnSignal":
        if threading.current_thread() is not threading.main_thread():
            return self
        for name, default in (("SIGINT", signal.default_int_handler), ("SIGTERM", signal.SIG_DFL)):
            sig = getattr(signal, name, None)
            if sig is None or signal.getsignal(sig) is not default:
                continue
            self.previous[sig] = default
            signal.signal(sig, self.handle)
        if self.previous:
            config.pluginmanager.register(self, "oraclebench-signals")
            if hasattr(os, "register_at_fork"):  # once per handler object; it does nothing once uninstalled
                os.register_at_fork(after_in_child=self._in_child)
        return self

    def _in_child(self) -> None:
        """A process forked while installed (a ``python:`` model's multiprocessing workers) gets the defaults back:
        it inherited this handler, so ``Process.terminate()`` and ``Pool.terminate()`` no longer ended it (a
        review: exit code 1 where SIGTERM's default gives -15)."""
        for sig, handler in self.previous.items():
            try:
                signal.signal(sig, handler)
            except (ValueError, OSError):
                pass

    def handle(self, signum: int, frame) -> None:
        self.received.append(signal.Signals(signum).name)
        if not self.ending:
            self.cut = True
        if self.raised or self.ending:
            if not self.noted:  # os.write: no buffered stream, which the signal may have interrupted mid-write
                self.noted = True
                try:
                    os.write(2, NOTE)
                except OSError:
                    pass
            return
        self.raised = True
        raise KeyboardInterrupt

    def uninstall(self) -> None:
        for sig, handler in self.previous.items():
            try:
                if signal.getsignal(sig) == self.handle:
                    signal.signal(sig, handler)
            except ValueError:  # not the main thread
                pass
        self.previous = {}

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session):
        self.ending = True  # from here on a signal is noted, never raised: the run's results are being written
        if self.cut and session.exitstatus in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED):
            session.exitstatus = pytest.ExitCode.INTERRUPTED
        return (yield)

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        self.uninstall()
