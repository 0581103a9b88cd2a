"""Leave the long-lived objects of a benchmark run out of the cyclic garbage collector's scans.

Once an ``hf:`` model is loaded, a run holds about 400,000 GC-tracked objects that live until the
process ends: torch's and transformers' modules, the model, the collected items. Every full collection
walks them all (0.18 s each here): Python's own as the run allocates records, pytest's at the end (its unraisable-exception
plugin collects five times in ``pytest_unconfigure`` and again at clean-up, pytest 8.4 and later) and
the interpreter's at exit. ``gc.freeze()`` moves them to the permanent generation, which no
collection scans. Measured on ``scripts/bench_speed.py``'s pytest command (2,000 ``gpt2-mult``
answers, one thread, 3 interleaved repeats): 10.6-10.9 s -> 9.7-10.1 s.

Objects frozen are still freed by reference counting; only cycles among them that become garbage
later wait. ``thaw`` at the next session's start makes them collectable again, so a process that runs
pytest in-process again (pytester, an IDE runner) keeps at most one session's worth; a process that
exits after its run pays nothing. Not undone at the end of the session: after ``gc.unfreeze()`` the
collections at clean-up and exit scan everything again (measured: most of the gain is lost).
"""

from __future__ import annotations

import gc

_frozen = False


def freeze_long_lived() -> None:
    """``gc.freeze()`` what is alive now (call once the model is loaded)."""
    global _frozen
    gc.freeze()
    _frozen = True


def thaw() -> None:
    """Undo an earlier ``freeze_long_lived`` of this process; nothing if there was none."""
    global _frozen
    if _frozen:
        gc.unfreeze()
        _frozen = False
