"""Leave the long-lived objects of a benchmark run out of the cyclic garbage collector's scans.

Once an ``hf:`` model is loaded, a run holds about 400,000 GC-tracked objects that live until the
process ends: torch's and transformers' modules, the model, the collected items. Every full collection
walks them all (0.18 s each here): Python's own as the run allocates records, pytest's at the end (its unraisable-exception
plugin collects five times in ``pytest_unconfigure`` and again at clean-up, pytest 8.4 and later) and
the interpreter's at exit. ``gc.freeze()`` moves them to the permanent generation, which no
collection scans. Measured on ``scripts/bench_speed.py``'s pytest command (2,000 ``gpt2-mult``
answers, one thread, 3 interleaved repeats): 10.6-10.9 s -> 9.7-10.1 s.

Objects frozen are still freed by reference counting; only cycles among them that become garbage
later wait. ``thaw`` at the next session's start unfreezes and collects them, so a process that runs
pytest in-process again (pytester, an IDE runner) does not grow from run to run; a process that
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
    """Undo an earlier ``freeze_long_lived`` of this process and collect what of it is garbage now;
    nothing if there was none. Collected here, not left to chance: the next model load would freeze
    the earlier session's garbage again (memory grew 13 MB a run over ten in-process runs that way)."""
    global _frozen
    if _frozen:
        gc.unfreeze()
        gc.collect()
        _frozen = False
