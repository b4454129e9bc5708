"""`self.store`: the plugin's key-value store, the same SQLite file and table as the TypeScript SDK's
(`<plugin dir>/data/store.sqlite`, table `kv`, values as JSON text), in WAL mode with `synchronous = FULL`: a `set`
that returned has reached the disk and survives kill -9 (SPEC §4.5)."""

from __future__ import annotations

import json
import os
import sqlite3
import stat
import threading
import time
from typing import Any

from .errors import SdkError, ValidationError

MAX_KEY_LENGTH = 512
MAX_VALUE_BYTES = 16 * 1024 * 1024
STORE_FILE_NAME = "store.sqlite"
SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal")


def _not_plain_file(file: str) -> str | None:
    try:
        mode = os.lstat(file).st_mode
    except FileNotFoundError:
        return None
    if stat.S_ISLNK(mode):
        return "is a symbolic link"
    if not stat.S_ISREG(mode):
        return "is not a regular file"
    return None


class SyncPluginStore:
    """`self.store`: `get` / `set` / … called without `await`, as the original's plugins call them."""

    def __init__(self, data_dir: str, *, enabled: bool = True) -> None:
        self._data_dir = data_dir
        self._enabled = enabled
        self._db: sqlite3.Connection | None = None
        self._lock = threading.Lock()
        self._disposed: str | None = None

    @property
    def enabled(self) -> bool:
        return self._enabled

    @property
    def file(self) -> str:
        return os.path.join(self._data_dir, STORE_FILE_NAME)

    def _open(self) -> sqlite3.Connection:
        if self._disposed is not None:
            raise SdkError(f"store: {self._disposed}", code="STORE_ERROR")
        if not self._enabled:
            raise SdkError("the store is disabled ([plugin.store] enabled = false)", code="STORE_DISABLED")
        if self._db is None:
            try:
                os.makedirs(self._data_dir, exist_ok=True)
                # Never through a symbolic link (one planted in data/ would send the writes, and the -wal / -shm
                # files, elsewhere), as the TypeScript SDK's sqlite-file.ts.
                for candidate in (self.file, *(self.file + suffix for suffix in SQLITE_SIDE_FILES)):
                    problem = _not_plain_file(candidate)
                    if problem is not None:
                        raise SdkError(f"store: {os.path.basename(candidate)} in data/ {problem}; it is not opened",
                                       code="STORE_ERROR")
                db = sqlite3.connect(self.file, check_same_thread=False, isolation_level=None, timeout=5)
                db.execute("PRAGMA journal_mode = WAL")
                db.execute("PRAGMA synchronous = FULL")
                db.execute("PRAGMA trusted_schema = OFF")  # a schema written by someone else runs no functions
                db.execute(
                    "CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL, "
                    "updated_at INTEGER NOT NULL) WITHOUT ROWID"
                )
            except sqlite3.Error as error:
                raise SdkError(f"store: {error}", code="STORE_ERROR") from error
            self._db = db
        return self._db

    @staticmethod
    def _check_key(key: Any) -> str:
        if not isinstance(key, str) or not 0 < len(key) <= MAX_KEY_LENGTH:
            raise ValidationError(f"store: a key must be a string of 1 to {MAX_KEY_LENGTH} characters")
        return key

    def _run(self, sql: str, params: tuple = ()) -> list:
        with self._lock:
            db = self._open()
            try:
                return db.execute(sql, params).fetchall()
            except sqlite3.Error as error:
                raise SdkError(f"store: {error}", code="STORE_ERROR") from error

    def get(self, key: str, default: Any = None) -> Any:
        rows = self._run("SELECT value FROM kv WHERE key = ?", (self._check_key(key),))
        return json.loads(rows[0][0]) if rows else default

    def set(self, key: str, value: Any) -> None:
        key = self._check_key(key)
        try:
            text = json.dumps(value, allow_nan=False, ensure_ascii=False)
        except (TypeError, ValueError) as error:
            raise ValidationError(f"store: the value for key '{key}' is not JSON-compatible: {error}") from error
        size = len(text.encode())
        if size > MAX_VALUE_BYTES:
            raise ValidationError(f"store: the value for key '{key}' is {size} bytes of JSON; the limit is {MAX_VALUE_BYTES}",
                                  details={"key": key, "bytes": size, "limit": MAX_VALUE_BYTES})
        self._run(
            "INSERT INTO kv (key, value, updated_at) VALUES (?, ?, ?) ON CONFLICT (key) DO UPDATE SET "
            "value = excluded.value, updated_at = excluded.updated_at",
            (key, text, int(time.time() * 1000)),
        )

    def delete(self, key: str) -> bool:
        key = self._check_key(key)
        existed = bool(self._run("SELECT 1 FROM kv WHERE key = ?", (key,)))
        self._run("DELETE FROM kv WHERE key = ?", (key,))
        return existed

    def exists(self, key: str) -> bool:
        return bool(self._run("SELECT 1 FROM kv WHERE key = ?", (self._check_key(key),)))

    def keys(self, prefix: str = "") -> list[str]:
        rows = self._run(
            "SELECT key FROM kv WHERE key >= ? AND substr(key, 1, length(?)) = ? ORDER BY key", (prefix, prefix, prefix)
        )
        return [row[0] for row in rows]

    def count(self) -> int:
        return int(self._run("SELECT count(*) FROM kv")[0][0])

    def clear(self) -> int:
        n = self.count()
        self._run("DELETE FROM kv")
        return n

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None

    def dispose(self, reason: str) -> None:
        """Closed for good (an extension taken out): later calls raise STORE_ERROR, never reopen the database."""
        with self._lock:
            self._disposed = reason
        self.close()


class PluginStore:
    """`PluginStore(ctx)`: the same store with `await`-able methods, as the original's docs construct it."""

    def __init__(self, ctx: Any) -> None:
        self._store: SyncPluginStore = ctx._store

    async def get(self, key: str, default: Any = None) -> Any:
        return self._store.get(key, default)

    async def set(self, key: str, value: Any) -> None:
        self._store.set(key, value)

    async def delete(self, key: str) -> bool:
        return self._store.delete(key)

    async def exists(self, key: str) -> bool:
        return self._store.exists(key)

    async def keys(self, prefix: str = "") -> list[str]:
        return self._store.keys(prefix)

    async def count(self) -> int:
        return self._store.count()

    async def clear(self) -> int:
        return self._store.clear()
