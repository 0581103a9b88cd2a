"""causal: predict a boolean world's new state and sums; passes iff every field is right."""

import pytest

from oraclebench.plugin import assert_correct

TASK = "causal"
pytestmark = pytest.mark.causal


def test_causal(oraclebench_record):
    assert_correct(oraclebench_record)
