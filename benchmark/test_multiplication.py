"""multiplication: integer products by digit difficulty; passes iff the product is exact."""

import pytest

from oraclebench.plugin import assert_correct

TASK = "multiplication"
pytestmark = pytest.mark.multiplication


def test_multiplication(oraclebench_record):
    assert_correct(oraclebench_record)
