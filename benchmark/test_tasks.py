"""Every registered task with no ``test_<task>.py`` of its own (a task from another package, through the
entry-point group ``oraclebench.tasks``): passes iff the model's answer is correct by the task's oracle."""

from oraclebench.plugin import EVERY_OTHER_TASK, assert_correct

TASK = EVERY_OTHER_TASK


def test_task(oraclebench_record):
    assert_correct(oraclebench_record)
