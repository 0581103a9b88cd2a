"""``oraclebench freeze [TASK ...]``: write the versioned, seeded, stratified frozen sets."""

from __future__ import annotations

HELP = "write the versioned frozen instance sets"


def add_arguments(parser) -> None:
    parser.add_argument("tasks", nargs="*", help="tasks to freeze (default: all)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the sets (default 0: the committed sets)")
    parser.add_argument("--out", default=None, help="directory (default benchmark/sets of this checkout; required when installed)")


def run(args) -> int:
    from pathlib import Path

    from oraclebench.errors import UsageError
    from oraclebench.sets import SETS_DIR, all_tasks, freeze, load_set
    from oraclebench.tasks import get_task

    if not args.out and not in_checkout(SETS_DIR):
        raise UsageError(f"the frozen sets in {SETS_DIR} belong to the installed package; freeze writes only "
                         "into a checkout (benchmark/sets/ of a clone), or where --out DIR says")
    directory = Path(args.out) if args.out else SETS_DIR
    for task in args.tasks or all_tasks():
        get_task(task)  # unknown names fail before anything is written
        path = freeze(task, args.seed, directory)
        print(f"{task}: {len(load_set(task, directory))} instances -> {path}")
    return 0


def in_checkout(sets_dir) -> bool:
    """Whether ``sets_dir`` is a clone's ``benchmark/sets``: below a folder with ``pyproject.toml`` and
    ``.git`` (a file in a worktree), and not inside an installed environment's ``site-packages``."""
    from pathlib import Path

    path = Path(sets_dir).resolve()
    if any(part in ("site-packages", "dist-packages") for part in path.parts):
        return False
    return any((p / "pyproject.toml").is_file() and (p / ".git").exists() for p in path.parents)
