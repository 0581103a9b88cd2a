"""``oraclebench/gcfreeze.py``: what is alive once the model is loaded is left out of the cyclic GC's
scans for the rest of the run, and made collectable again when the process starts another session."""

import gc
import weakref

import pytest

from oraclebench.gcfreeze import freeze_long_lived, thaw

pytest_plugins = ["pytester"]


@pytest.fixture(autouse=True)
def _thawed():
    thaw()
    yield
    thaw()


def test_a_benchmark_run_freezes_what_lives_once_the_model_is_loaded_and_the_next_session_thaws_it(bench, pytester):
    before = gc.get_freeze_count()
    bench("--model", "oracle", "--task", "multiplication", "--fresh", "5", "--no-cache").assert_outcomes(passed=5)
    frozen = gc.get_freeze_count()
    assert frozen > before
    pytester.makepyfile(test_plain="def test_nothing():\n    pass\n")
    pytester.runpytest("-p", "oraclebench.plugin", "-p", "no:cacheprovider", "test_plain.py").assert_outcomes(passed=1)
    assert gc.get_freeze_count() == before  # no model in that session: nothing frozen again


def test_a_cycle_frozen_and_later_dropped_is_collected_after_thaw():
    class Node:
        pass

    a, b = Node(), Node()
    a.other, b.other = b, a
    alive = weakref.ref(a)
    freeze_long_lived()
    del a, b
    gc.collect()
    assert alive() is not None  # a frozen cycle outlives a full collection
    thaw()
    assert alive() is None  # unfrozen and collected at once, before anything is frozen again


def test_thaw_leaves_alone_what_someone_else_froze():
    gc.freeze()
    try:
        count = gc.get_freeze_count()
        thaw()
        assert gc.get_freeze_count() == count
    finally:
        gc.unfreeze()
