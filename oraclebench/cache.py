"""An on-disk response cache: a run killed halfway resumes without recomputing finished requests.

Keyed by ``sha256(json([model identity, request key]))``. SQLite in WAL mode, one transaction per
group of answers, so a ``kill -9`` leaves either the whole group or none of it, never a torn record.
``CacheWriter`` commits answers as they arrive, in small groups (every ``COMMIT_ROWS`` answers or
``COMMIT_SECONDS`` after the first uncommitted one, whichever comes first), so a killed run loses
at most the last fraction of a second. Errors and truncated answers (cut by the token budget) are
not cached: such a request is asked again on the next run, where a larger budget
(``--model-opt max_tokens=N``) may let it finish.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import threading
import time
from pathlib import Path
from typing import Iterable, Sequence

from oraclebench.tasks.base import Request, Response


# What a cached answer is: old entries are not replayed. 2: the raw completion, cut only when scored (1 held
# texts already cut by the adapter, where a stop string in the opening whitespace could leave nothing). 3: with
# ``chat``, whether it answers the chat form (2 did not say, and a chat answer is read whole: causal).
FORMAT = 3


def request_key(identity: str, request: Request) -> str:
    """The cache key of ``request`` asked of the model whose ``identity()`` is ``identity``: a sha256 hex
    digest of both and the cache ``FORMAT`` (the task's instance id is not in it: the prompt is)."""
    payload = json.dumps([identity, request.key(), FORMAT], sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(payload.encode()).hexdigest()


def _response(value) -> Response | None:
    """The cached answer in a row, or None when the row cannot be read as one (a miss, asked again)."""
    try:
        data = json.loads(value)
        # A row without its text ([] or {}: damaged) is no answer of the model's; read as Response() it was
        # served as an empty answer, a no answer that was never asked.
        if not isinstance(data, dict) or not isinstance(data.get("text"), str):
            return None
        response = Response.from_json(data)
    except (TypeError, ValueError, AttributeError):
        return None
    ok = isinstance(response.text, str) and response.error is None and (
        response.choice is None or (isinstance(response.choice, int) and not isinstance(response.choice, bool)))
    return response if ok else None


class ResponseCache:
    """``get_many`` / ``put_many`` over a SQLite file; ``ResponseCache(None)`` caches nothing.

    A damaged cache never stops a run: a file SQLite cannot read is renamed
    ``cache.sqlite.corrupt-<time>`` (with its ``-wal``/``-shm``), named once in ``notices``, and a
    fresh cache takes its place; a row whose answer cannot be read is a miss, asked again and replaced.

    Args: ``path``, the SQLite file (its folder is created), or ``None`` for no cache (``--no-cache``).
    Errors: none from damage (see above); an unwritable folder raises ``OSError`` when opened.

    Example:

    >>> import tempfile, pathlib
    >>> cache = ResponseCache(pathlib.Path(tempfile.mkdtemp()) / "cache.sqlite")
    >>> key = request_key("my-model", Request("Q: 2 × 3? A:"))
    >>> cache.put_many("my-model", [(key, Response(text=" 6"))])
    >>> cache.get_many([key])[key].text, cache.get_many(["unknown"])
    (' 6', {})
    >>> cache.put_many("my-model", [(key, Response(error="timeout"))])  # errors are never cached
    >>> cache.get_many([key])[key].text
    ' 6'
    >>> cache.close()
    """

    def __init__(self, path: Path | str | None):
        self.path = Path(path) if path else None
        self._db: sqlite3.Connection | None = None
        self._lock = threading.Lock()
        self.notices: list[str] = []  # one line per damaged file set aside (the plugin prints them)
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            try:
                self._db = self._open_waiting()
            except sqlite3.DatabaseError as exc:
                if _busy(exc):  # held past BUSY_SECONDS: this run caches nothing, the file is left as it is
                    self.notices.append(f"{self.path}: busy ({exc}) for {BUSY_SECONDS:g} s; this run caches nothing")
                    return
                self._set_aside(exc)
                self._db = self._open_waiting()

    def _open_waiting(self) -> sqlite3.Connection:
        """``_open``, tried again while another process holds the file (``_busy``), up to ``BUSY_SECONDS``.

        SQLite's own wait (``timeout``) does not cover every case: of processes opening a new file at
        once, one switching it to WAL answers the others "database is locked" at once, without waiting.
        """
        deadline, pause = time.monotonic() + BUSY_SECONDS, 0.01
        while True:
            try:
                return self._open()
            except sqlite3.DatabaseError as exc:
                if not _busy(exc) or time.monotonic() + pause > deadline:
                    raise
                time.sleep(pause)
                pause = min(0.5, pause * 2)

    def _open(self) -> sqlite3.Connection:
        # Answers arrive on an adapter's threads too (served requests, the commit timer): one
        # connection shared under a lock.
        db = sqlite3.connect(self.path, timeout=60, isolation_level=None, check_same_thread=False)
        try:
            # Text that is not UTF-8 (a damaged row) is read with replacement characters, never an error.
            db.text_factory = lambda b: b.decode("utf-8", "replace")
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute("CREATE TABLE IF NOT EXISTS responses (key TEXT PRIMARY KEY, model TEXT, value TEXT)")
            db.execute("SELECT key, value FROM responses LIMIT 1").fetchall()
        except BaseException:
            db.close()
            raise
        return db

    def _set_aside(self, exc: Exception) -> None:
        """Rename the damaged cache file (and its WAL and shared-memory files) out of the way."""
        if self._db is not None:
            self._db.close()
            self._db = None
        stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
        aside = self.path.with_name(f"{self.path.name}.corrupt-{stamp}")
        for suffix in ("", "-wal", "-shm"):
            try:
                os.replace(f"{self.path}{suffix}", f"{aside}{suffix}")
            except FileNotFoundError:  # no such file, or another process set it aside first
                pass
        self.notices.append(f"{self.path}: damaged ({exc}); set aside as {aside.name}, answers are asked again "
                            "and cached in a fresh file")

    def get_many(self, keys: Sequence[str]) -> dict[str, Response]:
        """``{key: cached Response}`` for the ``keys`` found (``request_key`` values); a miss is left out."""
        if self._db is None or not keys:
            return {}
        try:
            return self._get_many(keys)
        except sqlite3.DatabaseError as exc:  # damage deeper in the file than the first page, or held
            self._recover(exc)
            return {}  # a miss: asked again

    def _get_many(self, keys: Sequence[str]) -> dict[str, Response]:
        found: dict[str, Response] = {}
        for start in range(0, len(keys), 500):  # SQLite's bound-parameter limit
            chunk = list(keys[start:start + 500])
            marks = ",".join("?" * len(chunk))
            with self._lock:
                rows = self._db.execute(f"SELECT key, value FROM responses WHERE key IN ({marks})", chunk).fetchall()
            for key, value in rows:
                response = _response(value)
                if response is not None:
                    found[key] = response
        return found

    def put_many(self, identity: str, items: Iterable[tuple[str, Response]]) -> None:
        """Store ``(key, response)`` pairs in one transaction; errors and truncated answers are skipped."""
        if self._db is None:
            return
        rows = [(k, identity, json.dumps(r.to_json())) for k, r in items if r.error is None and not r.truncated]
        if not rows:
            return
        try:
            with self._lock:
                if self._db is None:  # closed meanwhile (a late commit timer)
                    return
                with self._db:  # one transaction: all of the group or none of it
                    self._db.execute("BEGIN")
                    self._db.executemany("INSERT OR REPLACE INTO responses VALUES (?, ?, ?)", rows)
        except sqlite3.DatabaseError as exc:  # the group is not cached (its answers are in the run's records)
            self._recover(exc)

    def _recover(self, exc: sqlite3.DatabaseError) -> None:
        """After ``exc`` from a read or write: a damaged file is set aside and a fresh one opened; a file
        another process holds is left as it is (named once in ``notices``)."""
        if _busy(exc):
            line = f"{self.path}: busy ({exc}); some answers were not read from or written to the cache"
            if line not in self.notices:
                self.notices.append(line)
            return
        self._set_aside(exc)
        self._db = self._open_waiting()

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None


BUSY_SECONDS = 60.0  # how long a cache another process holds is waited for, as SQLite's own ``timeout``


def _busy(exc: sqlite3.DatabaseError) -> bool:
    """Whether ``exc`` says another connection holds the file (SQLITE_BUSY, SQLITE_LOCKED), not that the
    file is damaged. Both are ``sqlite3.DatabaseError``; setting a held file aside as damaged broke a
    sound cache: two xdist workers opening a new cache at once, one got "database is locked", renamed
    the file under the other, which then read "database disk image is malformed" and failed its whole
    task (found by CI; 9 of 20 trials of 4 processes opening one new file here)."""
    return str(getattr(exc, "sqlite_errorname", "")).startswith(("SQLITE_BUSY", "SQLITE_LOCKED"))


COMMIT_ROWS = 32  # answers per transaction at most ...
COMMIT_SECONDS = 0.5  # ... and no answer waits longer than this to be committed


class CacheWriter:
    """Commits answers to ``cache`` as they arrive, in small groups bounded in size and in time.

    ``add`` may be called from any thread. An answer waits at most ``seconds`` (a timer commits it
    even when no other answer follows, as when a call hangs on its last requests); ``close``
    commits the rest. Use as a context manager so that an interrupted run keeps what it has.
    """

    def __init__(self, cache: ResponseCache, identity: str, rows: int = COMMIT_ROWS, seconds: float = COMMIT_SECONDS):
        self.cache, self.identity, self.rows, self.seconds = cache, identity, rows, seconds
        self._pending: list[tuple[str, Response]] = []
        self._added: set[str] = set()
        self._lock = threading.Lock()
        self._timer: threading.Timer | None = None

    def __enter__(self) -> "CacheWriter":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def add(self, key: str, response: Response) -> None:
        if response.error is not None or response.truncated or self.cache.path is None:  # not final: never kept
            return
        with self._lock:
            if key in self._added:
                return
            self._added.add(key)
            self._pending.append((key, response))
            full = len(self._pending) >= self.rows
            if not full and self._timer is None:
                self._timer = threading.Timer(self.seconds, self.flush)
                self._timer.daemon = True
                self._timer.start()
        if full:
            self.flush()

    def flush(self) -> None:
        with self._lock:
            rows, self._pending = self._pending, []
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
        if rows:
            self.cache.put_many(self.identity, rows)

    def close(self) -> None:
        self.flush()


class DrawStore:
    """The training draws behind split labels, kept across runs: one JSON file per key in ``folder``
    (``tasks.base.keep_training_draws``; the plugin uses ``$ORACLEBENCH_HOME/cache/training-draws``).

    Never stops a run: a file that cannot be read is a miss (``get`` answers None and the draws are made
    again), a folder that cannot be written keeps nothing (``put`` does nothing). Files are written
    whole and renamed (``atomic_write``), so xdist workers writing the same key at once leave one
    of their identical files.
    """

    def __init__(self, folder: Path | str):
        self.folder = Path(folder)

    def get(self, key: str):
        try:
            return json.loads((self.folder / f"{key}.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None

    def put(self, key: str, value: dict[str, list[str]]) -> None:
        from oraclebench.files import atomic_write

        try:
            atomic_write(self.folder / f"{key}.json", json.dumps(value, ensure_ascii=False))
        except OSError:
            pass  # nothing kept: drawn again next run
