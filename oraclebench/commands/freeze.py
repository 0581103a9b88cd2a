"""``oraclebench freeze [TASK ...]``: write the versioned, seeded, stratified frozen sets."""

from __future__ import annotations

HELP = "write the versioned frozen instance sets"


def add_arguments(parser) -> None:
    parser.add_argument("tasks", nargs="*", help="tasks to freeze (default: all)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the sets (default 0: the committed sets)")
    parser.add_argument("--out", default=None, help="directory (default benchmark/sets)")


def run(args) -> int:
    from pathlib import Path

    from oraclebench.sets import SETS_DIR, all_tasks, freeze, load_set
    from oraclebench.tasks import get_task

    directory = Path(args.out) if args.out else SETS_DIR
    for task in args.tasks or all_tasks():
        get_task(task)  # unknown names fail before anything is written
        path = freeze(task, args.seed, directory)
        print(f"{task}: {len(load_set(task, directory))} instances -> {path}")
    return 0
