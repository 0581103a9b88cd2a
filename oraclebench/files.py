"""Writing files whole: ``atomic_write``, below every layer that saves something (records, frozen sets,
reports), so that none of them has to import another to write safely; and files that follow the
process umask (``follow_umask``), as ``open`` does, although the safe ways of writing them do not."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def current_umask() -> int:
    """The process umask: read from ``/proc/self/status`` where it is (Linux), else set and put back at
    once (``os.umask`` has no read-only form)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def file_mode() -> int:
    """The mode ``open`` gives a new file: ``0o666`` less the umask (``0o644`` under the usual 022)."""
    return 0o666 & ~current_umask()


def follow_umask(path: Path | str) -> None:
    """Give ``path`` (a file, or every file under a folder) the mode a new file gets under the umask.

    ``tempfile.mkstemp`` creates files 0600 whatever the umask, and so do writers built on it
    (safetensors' weights), so results and checkpoints would be readable by their owner only.
    Folders keep their mode (``mkdir`` already follows the umask).
    """
    path = Path(path)
    mode = file_mode()
    files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file() and not p.is_symlink()]
    for f in files:
        os.chmod(f, mode)


def atomic_write(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` so that readers see the old file or the new one, never a part.

    The file gets the mode ``open`` would give it under the umask (not ``mkstemp``'s 0600).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        if hasattr(os, "fchmod"):  # POSIX (Windows has it from Python 3.13)
            os.fchmod(fd, file_mode())
        # backslashreplace: a lone surrogate that got this far is written as its escape "\udXXX",
        # never a crash; inside a JSON string that escape reads back as the very same character.
        with os.fdopen(fd, "w", encoding="utf-8", errors="backslashreplace") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


# What a results folder holds, and whether each is a folder (runs, the report, xdist's in-flight records) or a file.
RESULTS_LAYOUT = {"runs": True, ".inflight": True, "report": True, "cache.sqlite": False, "leaderboard.md": False}


def results_problem(results: str, report: bool = False) -> str | None:
    """Why a run cannot write its results under ``results`` (the ``--results`` value), or None.

    Checked before any model work: found while writing, it lost the run after the model had answered
    (a ``runs`` that is a file), or failed every item and asked the model again for each (a
    ``--results`` that is a file). ``report``: the run writes ``<results>/report`` too.
    """
    if not str(results).strip():
        return "--results is empty; give a folder for the results (default results/)"
    root = Path(results)
    if root.exists() and not root.is_dir():
        return f"--results {results}: a file, not a folder; give a folder for the results (default results/)"
    for name, folder in RESULTS_LAYOUT.items():
        path = root / name
        if name == "report" and not report or not path.exists():
            continue
        if folder and not path.is_dir():
            return f"{path}: a file where the results keep a folder; move it away or choose another --results"
        if not folder and path.is_dir():
            return f"{path}: a folder where the results keep a file; move it away or choose another --results"
    return None
