"""``oraclebench tasks``: the tasks with their frozen set sizes and buckets."""

from __future__ import annotations

HELP = "list the tasks with their frozen set sizes and buckets"


def add_arguments(parser) -> None:
    pass


def run(args) -> int:
    from collections import Counter

    from tabulate import tabulate

    from oraclebench.errors import UsageError
    from oraclebench.sets import all_tasks, load_set, set_path
    from oraclebench.tasks import get_task

    rows = []
    for name in all_tasks():
        task = get_task(name)
        try:
            insts = load_set(name)
        except UsageError:
            rows.append([name, task.version, "-", "-", "-", f"missing: run `oraclebench freeze {name}`"])
            continue
        labels = Counter(i.label for i in insts)
        keys = sorted({k for i in insts for k in i.bucket})
        where = set_path(name).name if set_path(name).exists() else "drawn in memory from its frozen_configs"
        rows.append([name, task.version, len(insts), len(labels), ", ".join(keys), where])
    print(tabulate(rows, headers=["task", "version", "instances", "buckets", "bucket fields", "set"], tablefmt="github"))
    return 0
