"""An on-disk response cache: a run killed halfway resumes without recomputing finished requests.

Keyed by ``sha256(json([model identity, request key]))``. SQLite in WAL mode, one transaction per
batch of answers, so a ``kill -9`` leaves either the whole batch or none of it, never a torn record.
Errors and truncated answers (cut by the token budget) are not cached: such a request is asked again
on the next run, where a larger budget (``--model-opt max_tokens=N``) may let it finish.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path
from typing import Iterable, Sequence

from tasks.base import Request, Response


# What a cached answer is. 2: the raw completion, cut only when scored (1 held texts already cut by
# the adapter, where a stop string in the opening whitespace could leave nothing): old entries are not replayed.
FORMAT = 2


def request_key(identity: str, request: Request) -> str:
    payload = json.dumps([identity, request.key(), FORMAT], sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(payload.encode()).hexdigest()


class ResponseCache:
    """``get_many`` / ``put_many`` over a SQLite file; ``ResponseCache(None)`` caches nothing."""

    def __init__(self, path: Path | str | None):
        self.path = Path(path) if path else None
        self._db: sqlite3.Connection | None = None
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, timeout=60, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("CREATE TABLE IF NOT EXISTS responses (key TEXT PRIMARY KEY, model TEXT, value TEXT)")

    def get_many(self, keys: Sequence[str]) -> dict[str, Response]:
        if self._db is None or not keys:
            return {}
        found: dict[str, Response] = {}
        for start in range(0, len(keys), 500):  # SQLite's bound-parameter limit
            chunk = list(keys[start:start + 500])
            marks = ",".join("?" * len(chunk))
            for key, value in self._db.execute(f"SELECT key, value FROM responses WHERE key IN ({marks})", chunk):
                found[key] = Response.from_json(json.loads(value))
        return found

    def put_many(self, identity: str, items: Iterable[tuple[str, Response]]) -> None:
        if self._db is None:
            return
        rows = [(k, identity, json.dumps(r.to_json())) for k, r in items if r.error is None and not r.truncated]
        if not rows:
            return
        with self._db:  # one transaction: all of the batch or none of it
            self._db.execute("BEGIN")
            self._db.executemany("INSERT OR REPLACE INTO responses VALUES (?, ?, ?)", rows)

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None
