"""What a run covers (the summary's ``selection``, ``coverage``, ``complete`` and ``partial``): whether
each task's number can stand as the model's score, and if not, why."""

from __future__ import annotations

import pytest

from oraclebench.plugin.options import _selects_within_tasks
from oraclebench.plugin.state import BENCH, Bench
from oraclebench.records import Record
from oraclebench.workers import stopped_at_maxfail


def selection(config: pytest.Config) -> dict:
    """The options that chose this run's instances, as the summary records them."""
    opt = config.getoption
    return {"limit": opt("--limit"), "fresh": opt("--fresh"), "seed": opt("--seed") if opt("--fresh") else None,
            "split": opt("--split"),
            "tasks": sorted(config.stash[BENCH].tasks_filter) or "all", "keyword": opt("keyword") or None,
            "markexpr": opt("markexpr") or None, "last_failed": bool(opt("lf", False)),
            "deselect": list(opt("deselect", None) or []) or None, "maxfail": opt("maxfail") or None,
            "explore": bool(opt("--explore"))}


def completeness(bench: Bench, session: pytest.Session, exitstatus: int, records: list[Record]) -> dict:
    """``selection``, ``interrupted``, and per task ``coverage``, ``complete`` and (where not) ``partial``.

    A task is complete when the run scored every instance of its current frozen set, was not
    interrupted or stopped early, drew no fresh set, and no request failed (the model was not measured
    on a failed one): then its number can stand as the model's score.
    """
    from oraclebench.records import errors_reason
    from oraclebench.sets import coverage, load_set

    sel = selection(session.config)
    maxfail = stopped_at_maxfail(session)
    # A SIGINT or SIGTERM before the run's end interrupted it, whatever the exit status says: a second
    # Ctrl-C that landed in pytest's handling of the first left the status unset (found by review).
    signalled = bool(getattr(bench.signals, "cut", False))
    interrupted = exitstatus == pytest.ExitCode.INTERRUPTED and not maxfail or signalled
    stopped = bool(session.shouldfail or session.shouldstop) and not interrupted or maxfail
    by_task: dict[str, list[Record]] = {}
    for r in records:
        by_task.setdefault(r.task, []).append(r)
    cover, complete, partial = {}, {}, {}
    for task, recs in sorted(by_task.items()):
        fresh = bool(sel["fresh"]) or sel["explore"]
        cover[task] = coverage(task, [r.label for r in recs], fresh=fresh)
        if sel["fresh"] and task not in bench.fresh_dropped and task not in bench.unseen_space:
            bench.task_instances(task)  # an xdist controller collected nothing: draw as its workers did
        if fresh:
            cover[task]["dropped_as_training"] = bench.fresh_dropped.get(task, 0)
        if task in bench.unseen_space:
            cover[task]["unseen_in_space"] = bench.unseen_space[task]
        whole = not fresh and {r.instance_id for r in recs} == {i.id for i in load_set(task)}
        reasons = _reasons(sel, cover[task], interrupted, stopped, whole, bench.workers_crashed) + _variant_reason(task)
        if errors := sum(r.status == "error" for r in recs):
            example = next(r.error for r in recs if r.status == "error")
            reasons.append(errors_reason(errors, cached=not session.config.getoption("--no-cache"), example=example))
        complete[task] = whole and not reasons
        if not complete[task]:
            partial[task] = "; ".join(reasons) or "not the whole frozen set"
    return {"selection": sel, "interrupted": interrupted, "stopped_early": stopped, "coverage": cover,
            "complete": complete, "partial": partial}


def _reasons(sel: dict, cover: dict, interrupted: bool, stopped: bool, whole: bool, crashed: int = 0) -> list[str]:
    reasons = []
    if sel["explore"]:
        reasons.append("an --explore search")
    elif sel["fresh"]:
        split = f" --split {sel['split']}" if sel.get("split") else ""
        reasons.append(f"--fresh {sel['fresh']}{split} --seed {sel['seed']} (not the frozen set)")
    if interrupted:
        reasons.append("interrupted")
    if stopped:
        reasons.append(f"stopped early (-x/--maxfail {sel['maxfail']})")
    if not whole and cover.get("of") is not None:
        picked = [f"--limit {sel['limit']}"] if sel["limit"] else []
        picked += [f"-k {sel['keyword']!r}"] if sel["keyword"] else []
        picked += ["--lf"] if sel["last_failed"] else []
        picked += ["--deselect"] if sel["deselect"] else []
        picked += [f"-m {sel['markexpr']!r}"] if _selects_within_tasks(sel["markexpr"]) else []
        picked += [f"{crashed} xdist worker{'s' if crashed > 1 else ''} crashed"] if crashed else []
        reasons.append(f"{cover['instances']} of {cover['of']} instances" + (f" ({', '.join(picked)})" if picked else ""))
    return reasons


def _variant_reason(task: str) -> list[str]:
    """A run on a task variant (``--world``) is not the task's score: the leaderboard keeps the default
    world's; the report's Worlds section shows it."""
    from oraclebench.tasks import get_task

    variant = get_task(task).variant_id()
    return [f"on {variant['option']} {variant['name']}, not the default (see the report's Worlds section)"] \
        if variant else []
