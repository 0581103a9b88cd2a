"""``tasks.base.plain_dict`` is ``dataclasses.asdict``: a problem's identity (``repr`` of its encoding) is
the key that labels a record ``trained``, so a faster encoding must give the very same value and text."""

from __future__ import annotations

import collections
import dataclasses
import enum
import math
from dataclasses import dataclass

from hypothesis import given, settings, strategies as st

from oraclebench.tasks import TASKS, get_task
from oraclebench.tasks.base import Task, plain_dict

Pair = collections.namedtuple("Pair", "left right")


class Colour(enum.IntEnum):  # an int subclass: not atomic, asdict deep-copies it
    RED = 1


@dataclass(frozen=True)
class Leaf:
    value: object


@dataclass
class Node:
    label: str
    children: list
    extra: object = None


atoms = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), st.text(max_size=8),
                  st.binary(max_size=4), st.complex_numbers(allow_nan=False), st.just(Colour.RED))
values = st.recursive(
    atoms,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.lists(inner, max_size=4).map(tuple),
        st.dictionaries(st.text(max_size=4), inner, max_size=3),
        st.builds(Pair, inner, inner),
        st.builds(Leaf, inner),
        st.builds(Node, st.text(max_size=4), st.lists(inner, max_size=3), inner),
    ),
    max_leaves=20,
)


def same(a, b) -> bool:
    """Equal in value, type and text (NaN is unequal to itself: its ``repr`` decides)."""
    if isinstance(a, float) and math.isnan(a):
        return isinstance(b, float) and math.isnan(b)
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(map(same, a, b))
    return a == b and repr(a) == repr(b)


@settings(max_examples=300, deadline=None)
@given(st.builds(Node, st.text(max_size=6), st.lists(values, max_size=4), values))
def test_plain_dict_equals_asdict_on_any_nesting_of_values(node):
    ours, theirs = plain_dict(node), dataclasses.asdict(node)
    assert same(ours, theirs) and repr(ours) == repr(theirs)


def test_plain_dict_copies_what_it_does_not_keep():
    """As asdict: containers are new objects, so changing the encoding leaves the problem as it was."""
    node = Node("a", [[1, 2]], {"k": [3]})
    out = plain_dict(node)
    out["children"][0].append(9)
    out["extra"]["k"].append(9)
    assert node.children == [[1, 2]] and node.extra == {"k": [3]}


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_every_tasks_encoding_and_identity_are_asdicts(data):
    task = get_task(data.draw(st.sampled_from(sorted(TASKS))))
    problem = data.draw(task.strategy())
    assert same(task.encode(problem), dataclasses.asdict(problem))
    if type(task).identity is Task.identity:  # multiplication keys its problems itself
        assert task.identity(problem) == repr(dataclasses.asdict(problem))
