"""``oraclebench tasks``: the tasks with their frozen set sizes and buckets."""

from __future__ import annotations

HELP = "list the tasks with their frozen set sizes and buckets"


def add_arguments(parser) -> None:
    from oraclebench.commands.generate import add_variant_arguments

    add_variant_arguments(parser)  # --world FILE: that world's set, its size and coverage


def run(args) -> int:
    from collections import Counter

    from tabulate import tabulate

    from oraclebench.errors import UsageError
    from oraclebench.sets import all_tasks, load_set, set_path
    from oraclebench.commands.generate import bind_variants
    from oraclebench.tasks import get_task

    bind_variants(args)
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
        variant = task.variant_id()
        where = set_path(name).name if set_path(name).exists() else "drawn in memory from its frozen_configs"
        if variant is not None:
            cover = variant.get("frozen") or {}
            how = "every input" if cover.get("exhaustive") else "a stratified sample"
            where = (f"{variant['option']} {variant['name']} (sha256 {variant['sha256'][:12]}): {cover.get('size')} of "
                     f"{cover.get('space')} inputs, {how}, drawn in memory")
        rows.append([name, task.version, len(insts), len(labels), ", ".join(keys), where])
    print(tabulate(rows, headers=["task", "version", "instances", "buckets", "bucket fields", "set"], tablefmt="github"))
    return 0
