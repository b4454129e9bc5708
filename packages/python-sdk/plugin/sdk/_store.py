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


def open_sqlite_file(file: str, label: str) -> sqlite3.Connection:
    """Opens (creating if needed) one SQLite file in a plugin's `data/` folder the way `self.store` and `self.db` both
    need it, as the TypeScript SDK's sqlite-file.ts: never through a symbolic link (one planted in data/ would send the
    writes, and the -wal / -shm files, elsewhere), WAL with `synchronous = FULL` (a commit is on disk when it answers),
    a 5 s busy timeout and `trusted_schema = OFF` (a schema written by someone else runs no functions). Raises
    SdkError STORE_ERROR naming the file."""
    try:
        os.makedirs(os.path.dirname(file), exist_ok=True)
        for candidate in (file, *(file + suffix for suffix in SQLITE_SIDE_FILES)):
            problem = _not_plain_file(candidate)
            if problem is not None:
                raise SdkError(f"{label}: {os.path.basename(candidate)} in data/ {problem}; it is not opened",
                               code="STORE_ERROR", details={"file": file})
        db = sqlite3.connect(file, check_same_thread=False, isolation_level=None, timeout=5)
        try:
            db.execute("PRAGMA journal_mode = WAL")
            db.execute("PRAGMA synchronous = FULL")
            db.execute("PRAGMA trusted_schema = OFF")
        except sqlite3.Error:
            db.close()
            raise
        return db
    except (sqlite3.Error, OSError) as error:
        raise SdkError(f"{label}: {error}", code="STORE_ERROR", details={"file": file}) from error


class SyncPluginStore:
    """`self.store`: `get` / `set` / … called without `await`, as the original's plugins call them. Also the table
    behind `self.db.kv` (`file_name` the database's, `table` `_kv_store`, as the TypeScript SDK's)."""

    def __init__(self, data_dir: str, *, enabled: bool = True, file_name: str = STORE_FILE_NAME, table: str = "kv",
                 label: str = "store", disabled_message: str | None = None) -> None:
        self._data_dir = data_dir
        self._enabled = enabled
        self._file_name = file_name
        self._table = table
        self._label = label
        self._disabled_message = disabled_message or "the store is disabled ([plugin.store] enabled = false)"
        self._db: sqlite3.Connection | None = None
        self._lock = threading.Lock()
        self._disposed: str | None = None

    @property
    def enabled(self) -> bool:
        return self._enabled

    @property
    def file(self) -> str:
        return os.path.join(self._data_dir, self._file_name)

    def _open(self) -> sqlite3.Connection:
        if self._disposed is not None:
            raise SdkError(f"{self._label}: {self._disposed}", code="STORE_ERROR")
        if not self._enabled:
            raise SdkError(self._disabled_message, code="STORE_DISABLED")
        if self._db is None:
            db = open_sqlite_file(self.file, self._label)
            try:
                db.execute(
                    f"CREATE TABLE IF NOT EXISTS {self._table} (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL, "
                    "updated_at INTEGER NOT NULL) WITHOUT ROWID"
                )
            except sqlite3.Error as error:
                db.close()
                raise SdkError(f"{self._label}: {error}", code="STORE_ERROR") from error
            self._db = db
        return self._db

    def _check_key(self, key: Any) -> str:
        if not isinstance(key, str) or not 0 < len(key) <= MAX_KEY_LENGTH:
            raise ValidationError(f"{self._label}: a key must be a string of 1 to {MAX_KEY_LENGTH} characters")
        return key

    def _run(self, sql: str, params: tuple = ()) -> list:
        with self._lock:
            db = self._open()
            try:
                return db.execute(sql, params).fetchall()
            except sqlite3.Error as error:
                raise SdkError(f"{self._label}: {error}", code="STORE_ERROR") from error

    def get(self, key: str, default: Any = None) -> Any:
        rows = self._run(f"SELECT value FROM {self._table} WHERE key = ?", (self._check_key(key),))
        return json.loads(rows[0][0]) if rows else default

    def set(self, key: str, value: Any) -> None:
        key = self._check_key(key)
        try:
            text = json.dumps(value, allow_nan=False, ensure_ascii=False)
        except (TypeError, ValueError) as error:
            raise ValidationError(f"{self._label}: the value for key '{key}' is not JSON-compatible: {error}") from error
        size = len(text.encode())
        if size > MAX_VALUE_BYTES:
            raise ValidationError(f"{self._label}: the value for key '{key}' is {size} bytes of JSON; the limit is {MAX_VALUE_BYTES}",
                                  details={"key": key, "bytes": size, "limit": MAX_VALUE_BYTES})
        self._run(
            f"INSERT INTO {self._table} (key, value, updated_at) VALUES (?, ?, ?) ON CONFLICT (key) DO UPDATE SET "
            "value = excluded.value, updated_at = excluded.updated_at",
            (key, text, int(time.time() * 1000)),
        )

    def delete(self, key: str) -> bool:
        key = self._check_key(key)
        existed = bool(self._run(f"SELECT 1 FROM {self._table} WHERE key = ?", (key,)))
        self._run(f"DELETE FROM {self._table} WHERE key = ?", (key,))
        return existed

    def exists(self, key: str) -> bool:
        return bool(self._run(f"SELECT 1 FROM {self._table} WHERE key = ?", (self._check_key(key),)))

    def keys(self, prefix: str = "") -> list[str]:
        rows = self._run(
            f"SELECT key FROM {self._table} WHERE key >= ? AND substr(key, 1, length(?)) = ? ORDER BY key", (prefix, prefix, prefix)
        )
        return [row[0] for row in rows]

    def count(self) -> int:
        return int(self._run(f"SELECT count(*) FROM {self._table}")[0][0])

    def clear(self) -> int:
        n = self.count()
        self._run(f"DELETE FROM {self._table}")
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
