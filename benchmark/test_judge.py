"""judge: pick the correct one of two chain-of-thought answers; passes iff the right candidate is chosen."""

import pytest

from oraclebench.plugin import assert_correct

TASK = "judge"
pytestmark = pytest.mark.judge


def test_judge(oraclebench_record):
    assert_correct(oraclebench_record)
