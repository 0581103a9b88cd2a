"""Frozen sets and the registry invariant, for every task (each task fails on its own)."""

from __future__ import annotations

import json

import pytest

from oraclebench.sets import load_answers, load_set, set_path, stratified
from tasks import TASKS, get_task
from tasks.base import Response

TASK_NAMES = sorted(TASKS)


def perfect_response(task, problem) -> Response:
    req = task.render(problem)
    text = task.render_answer(problem, task.solve(problem))
    return Response(text=text, choice=req.choices.index(text.strip()) if req.choices else None)


@pytest.mark.parametrize("name", TASK_NAMES)
def test_every_frozen_answer_agrees_with_the_oracle(name):
    task = get_task(name)
    answers = load_answers(name)
    instances = load_set(name)
    assert len(instances) == len(answers) > 0
    for inst in instances:
        problem = task.decode(inst.problem)
        assert json.loads(json.dumps(task.solve(problem))) == answers[inst.id], inst.id
        assert task.bucket(problem) == inst.bucket and task.label(problem) == inst.label


@pytest.mark.parametrize("name", TASK_NAMES)
def test_frozen_sets_are_reproducible_from_their_seed(name):
    task = get_task(name)
    regenerated = [json.dumps(i.to_json(), sort_keys=True) for i in task.frozen(0)]
    stored = [json.dumps(i.to_json(), sort_keys=True) for i in load_set(name)]
    assert regenerated == stored, f"{set_path(name)} is stale: run `oraclebench freeze {name}`"


@pytest.mark.parametrize("name", TASK_NAMES)
def test_frozen_instances_are_distinct(name):
    problems = [json.dumps(i.problem, sort_keys=True) for i in load_set(name)]
    assert len(problems) == len(set(problems))


@pytest.mark.parametrize("name", TASK_NAMES)
def test_the_oracle_answer_renders_parses_and_scores_correct(name):
    task = get_task(name)
    for inst in load_set(name)[:: max(1, len(load_set(name)) // 50)]:
        problem = task.decode(inst.problem)
        score = task.score(problem, perfect_response(task, problem))
        assert score.correct and score.reason == "", (inst.id, score)
        assert task.decode(task.encode(problem)) == problem


@pytest.mark.parametrize("name", TASK_NAMES)
def test_a_failed_request_scores_wrong_with_an_error_reason(name):
    task = get_task(name)
    problem = task.decode(load_set(name)[0].problem)
    score = task.score(problem, Response(error="TimeoutError: no answer"))
    assert not score.correct and score.reason.startswith("error")


@pytest.mark.parametrize("name", TASK_NAMES)
def test_the_pure_core_imports_neither_torch_nor_pytest(name):
    import subprocess
    import sys

    code = (f"import sys, tasks.{name}, oraclebench.sets; bad = {{'torch', 'pytest', 'transformers'}} & set(sys.modules);"
            " assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_stratified_limit_covers_every_bucket_in_set_order():
    instances = load_set("multiplication")
    picked = stratified(instances, 50)
    assert len(picked) == 50
    assert {i.label for i in picked} == {i.label for i in instances}  # 25 digit pairs, two each
    positions = [instances.index(i) for i in picked]
    assert positions == sorted(positions)


@pytest.mark.parametrize("name", TASK_NAMES)
def test_fresh_instances_are_distinct_and_instance_i_is_the_ith_draw(name):
    task = get_task(name)
    fresh = task.fresh(60, seed=5)
    problems = [json.dumps(i.problem, sort_keys=True) for i in fresh]
    assert len(problems) == len(set(problems))
    assert len(fresh) == (32 if name == "causal" else 60)  # causal has 32 inputs in all
    for inst in fresh:
        i = int(inst.id.rsplit("-", 1)[1])
        assert inst.problem == task.encode(task.sample(5, i))
