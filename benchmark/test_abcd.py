"""abcd: reduce ABCD interaction nets step by step; passes iff the trace is valid and ends in the normal form."""

import pytest

from oraclebench.plugin import assert_correct

TASK = "abcd"
pytestmark = pytest.mark.abcd


def test_abcd(oraclebench_record):
    assert_correct(oraclebench_record)
