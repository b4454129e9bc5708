"""`self.db`: the plugin's own SQLite database, the original N.E.K.O.'s `PluginDatabase` (`[plugin.database]`) on the
standard library's `sqlite3`, with the file, pragmas and refusals of the TypeScript SDK's `this.db`
(packages/sdk/src/plugin-database.ts, docs/store-and-memory.md): one file in the plugin's `data/` folder (`<plugin
id>.db` unless `name` says otherwise), never opened through a symbolic link, WAL with `synchronous = FULL` (a committed
write survives kill -9), `trusted_schema = OFF`, `foreign_keys = ON`. What the plugin's SQL may not do (ATTACH /
DETACH, VACUUM INTO, setting a durability or trust pragma) is refused by SQLite's authorizer, with a message naming it.

The original's API: `await self.db.session()` answers `Ok(session)` (its own connection: `await session.execute(sql,
params)` answers a cursor, `await session.commit()` / `rollback()` / `close()`, `async with`); `create_all`,
`drop_all`, `close` answer `Ok(None)`; `self.db.kv` is a key-value table in the same file whose methods answer
`Ok` / `Err`. Docs: docs/python-plugins.md#selfdb-and-selfstate.
"""

from __future__ import annotations

import asyncio
import os
import re
import sqlite3
import threading
import unicodedata
from pathlib import Path
from typing import Any

from ._store import SQLITE_SIDE_FILES, STORE_FILE_NAME, SyncPluginStore, open_sqlite_file
from .errors import SdkError, ValidationError
from .result import Err, Ok

DATABASE_KV_TABLE = "_kv_store"
DATABASE_NAME_SUFFIX = ".db"
MAX_DATABASE_NAME_LENGTH = 200
MAX_SQL_LENGTH = 1024 * 1024
DEFAULT_QUERY_ROW_LIMIT = 10_000
READ_ONLY_PRAGMAS = ("synchronous", "journal_mode", "locking_mode", "trusted_schema", "writable_schema",
                     "temp_store_directory", "data_store_directory")
FROZEN_STATE_FILE = ".neko-state.json"
# The files and folders of data/ that belong to the framework (the TypeScript SDK's database-name.ts).
RESERVED_DATA_NAMES = (
    (STORE_FILE_NAME, f"{STORE_FILE_NAME}-", "the store's file (self.store)"),
    (FROZEN_STATE_FILE, f"{FROZEN_STATE_FILE}.", "the frozen-state file (freeze / persist_mode)"),
    ("logs", None, "the folder of the plugin's log files"),
)
_LEADING = re.compile(r"^(?:\s+|--[^\n]*(?:\n|$)|/\*.*?(?:\*/|$))*", re.S)


def database_name_problem(name: Any) -> str | None:
    """Why `name` cannot be the database's file name in `data/`, or None (the host applies the same rule)."""
    if not isinstance(name, str) or name.strip() == "":
        return "must be a file name, not empty"
    if "/" in name or "\\" in name:
        return f"'{name}' must be a plain file name inside data/, without '/' or '\\'"
    if ".." in name:
        return f"'{name}' must not contain '..'"
    if name == ".":
        return "'.' is not a file name"
    if any(ord(c) < 0x20 for c in name):
        return "must not contain control characters"
    if len(name) > MAX_DATABASE_NAME_LENGTH:
        return f"is {len(name)} characters long; the limit is {MAX_DATABASE_NAME_LENGTH}"
    compared = re.sub(r"[. ]+$", "", unicodedata.normalize("NFC", name)).lower()
    if compared == "":
        return f"'{name}' is not a file name"
    for reserved, prefix, what in RESERVED_DATA_NAMES:
        if compared == reserved or (prefix is not None and compared.startswith(prefix)):
            return f"'{name}' is {what}"
    return None


def database_options(manifest: dict, plugin_id: str) -> tuple[bool, str]:
    """`[plugin.database]`: on unless `enabled = false`; the file `<plugin id>.db` unless `name` is given."""
    section = ((manifest.get("plugin") or {}).get("database") or {}) if isinstance(manifest, dict) else {}
    name = section.get("name") if isinstance(section, dict) else None
    enabled = not (isinstance(section, dict) and section.get("enabled") is False)
    return enabled, name if isinstance(name, str) else f"{plugin_id}{DATABASE_NAME_SUFFIX}"


def _first_word(sql: str) -> str:
    rest = _LEADING.sub("", sql, count=1)
    match = re.match(r"[A-Za-z_]+", rest)
    return match.group(0).upper() if match else ""


class _Refusal:
    """SQLite's authorizer for the plugin's own connections: what it denies, with the reason kept for the error."""

    def __init__(self) -> None:
        self.statement = ""
        self.reason: str | None = None

    def __call__(self, action: int, arg1: str | None, arg2: str | None, _db: str | None, _trigger: str | None) -> int:
        reason = None
        if action == sqlite3.SQLITE_ATTACH:
            words = _first_word(self.statement)
            if words == "EXPLAIN":
                words = _first_word(re.sub(r"^\s*EXPLAIN(\s+QUERY\s+PLAN)?", "", _LEADING.sub("", self.statement),
                                           flags=re.I))
            if words == "VACUUM":
                if arg1:  # a plain VACUUM attaches '' (SQLite's own temporary copy); INTO names a file
                    reason = "VACUUM INTO is refused: it writes a copy of the database to another file"
            else:
                reason = ("ATTACH is refused: self.db is the plugin's one file in data/ (another database file is "
                          "not opened through it)")
        elif action == sqlite3.SQLITE_DETACH:
            reason = "DETACH is refused: self.db is the plugin's one file in data/"
        elif action == sqlite3.SQLITE_PRAGMA and arg2 is not None and (arg1 or "").lower() in READ_ONLY_PRAGMAS:
            reason = (f"PRAGMA {(arg1 or '').lower()} cannot be set through self.db (it is read-only there: "
                      f"{', '.join(READ_ONLY_PRAGMAS)})")
        if reason is None:
            return sqlite3.SQLITE_OK
        self.reason = reason
        return sqlite3.SQLITE_DENY


class DatabaseCursor:
    """What `session.execute` answers: the `sqlite3` cursor's reading methods, with `fetchall` refusing more than
    `DEFAULT_QUERY_ROW_LIMIT` rows (page with LIMIT / OFFSET, or read with `fetchmany`), as the TypeScript `db.query`."""

    def __init__(self, cursor: sqlite3.Cursor, limit: int) -> None:
        self._cursor = cursor
        self._limit = limit

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    @property
    def description(self) -> Any:
        return self._cursor.description

    def fetchone(self) -> Any:
        return self._cursor.fetchone()

    def fetchmany(self, size: int | None = None) -> list:
        return self._cursor.fetchmany(size if size is not None else self._cursor.arraysize)

    def fetchall(self) -> list:
        rows = self._cursor.fetchmany(self._limit + 1)
        if len(rows) > self._limit:
            self._cursor.close()
            raise ValidationError(f"db: the query answers more than {self._limit} rows; page it with LIMIT / OFFSET "
                                  "or read it with fetchmany", details={"limit": self._limit})
        return rows

    def __iter__(self):
        return iter(self._cursor)

    def close(self) -> None:
        self._cursor.close()


class DatabaseSession:
    """One connection of the plugin's database (the original's `_SqliteAsyncSession`): `execute`, `commit`,
    `rollback`, `close`; `async with` closes it. What is not committed when it closes is rolled back."""

    def __init__(self, database: "PluginDatabase", conn: sqlite3.Connection, refusal: _Refusal) -> None:
        self._database = database
        self._conn = conn
        self._refusal = refusal
        self._lock = threading.Lock()
        self._closed = False

    def _execute(self, sql: str, params: Any) -> DatabaseCursor:
        with self._lock:
            if self._closed:
                raise SdkError("db: the session is closed", code="STORE_ERROR")
            self._refusal.statement = sql
            self._refusal.reason = None
            try:
                cursor = self._conn.execute(sql, params)
            except sqlite3.DatabaseError as error:
                if self._refusal.reason is not None:
                    raise ValidationError(f"db: {self._refusal.reason}",
                                          details={"file": str(self._database.db_path)}) from None
                raise
            return DatabaseCursor(cursor, DEFAULT_QUERY_ROW_LIMIT)

    async def execute(self, statement: object, parameters: object | None = None) -> DatabaseCursor:
        sql = str(statement)
        if sql.strip() == "":
            raise ValidationError("db: the SQL must be a non-empty string")
        if len(sql) > MAX_SQL_LENGTH:
            raise ValidationError(f"db: the SQL is {len(sql)} characters long; the limit is {MAX_SQL_LENGTH}")
        params = parameters if isinstance(parameters, (tuple, list, dict)) or parameters is None else (parameters,)
        return await asyncio.to_thread(self._execute, sql, params or ())

    def _locked(self, op) -> None:
        with self._lock:
            if not self._closed:
                op()

    async def commit(self) -> None:
        await asyncio.to_thread(self._locked, self._conn.commit)

    async def rollback(self) -> None:
        await asyncio.to_thread(self._locked, self._conn.rollback)

    def close_sync(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._conn.close()
        self._database._forget(self)

    async def close(self) -> None:
        await asyncio.to_thread(self.close_sync)

    async def __aenter__(self) -> "DatabaseSession":
        return self

    async def __aexit__(self, _exc_type: object, _exc: object, _tb: object) -> None:
        await self.close()


class PluginKVStore:
    """`self.db.kv`: the key-value table `_kv_store` in the plugin's database (values as JSON), each method answering
    `Ok` / `Err` as the original's: `get(key, default)`, `set`, `delete`, `exists`, `keys(prefix)`, `clear`, `count`."""

    def __init__(self, store: SyncPluginStore) -> None:
        self._store = store

    @staticmethod
    async def _result(op, *args: Any) -> Ok | Err:
        try:
            return Ok(await asyncio.to_thread(op, *args))
        except SdkError as error:
            return Err(error)

    async def get(self, key: str, default: Any = None) -> Ok | Err:
        return await self._result(self._store.get, key, default)

    async def set(self, key: str, value: Any) -> Ok | Err:
        return await self._result(self._store.set, key, value)

    async def delete(self, key: str) -> Ok | Err:
        return await self._result(self._store.delete, key)

    async def exists(self, key: str) -> Ok | Err:
        return await self._result(self._store.exists, key)

    async def keys(self, prefix: str = "") -> Ok | Err:
        return await self._result(self._store.keys, prefix)

    async def clear(self) -> Ok | Err:
        return await self._result(self._store.clear)

    async def count(self) -> Ok | Err:
        return await self._result(self._store.count)


class PluginDatabase:
    """`self.db` (see the module's docstring)."""

    def __init__(self, *, plugin_id: str, data_dir: str, enabled: bool, name: str,
                 disabled_message: str | None = None) -> None:
        self.plugin_id = plugin_id
        self._disabled_message = disabled_message
        self.db_name = name
        self._data_dir = data_dir
        self._enabled = enabled
        self._problem = database_name_problem(name)
        self._sessions: set[DatabaseSession] = set()
        self._lock = threading.Lock()
        self._kv_sync = SyncPluginStore(data_dir, enabled=enabled and self._problem is None, file_name=name,
                                        table=DATABASE_KV_TABLE, label="db.kv",
                                        disabled_message=self._unusable() or "")
        self.kv = PluginKVStore(self._kv_sync)

    @property
    def enabled(self) -> bool:
        return self._enabled

    @property
    def db_path(self) -> Path:
        return Path(self._data_dir) / self.db_name

    @property
    def db_exists(self) -> bool:
        return self.db_path.exists()

    def _unusable(self) -> str | None:
        if not self._enabled:
            return self._disabled_message or (f"the database of plugin '{self.plugin_id}' is disabled ([plugin.database] enabled = false in "
                    "plugin.toml)")
        return None if self._problem is None else f"db: [plugin.database].name {self._problem}"

    def _check(self) -> None:
        unusable = self._unusable()
        if unusable is not None:
            raise SdkError(unusable, code="STORE_ERROR" if self._enabled else "STORE_DISABLED")

    def _connect(self) -> DatabaseSession:
        self._check()
        conn = open_sqlite_file(str(self.db_path), "db")
        try:
            conn.execute("PRAGMA foreign_keys = ON")
            conn.isolation_level = ""  # the original's sqlite3 default: DML opens a transaction, commit() ends it
            conn.row_factory = sqlite3.Row
            refusal = _Refusal()
            conn.set_authorizer(refusal)
        except sqlite3.Error as error:
            conn.close()
            raise SdkError(f"db: {error}", code="STORE_ERROR") from error
        session = DatabaseSession(self, conn, refusal)
        with self._lock:
            self._sessions.add(session)
        return session

    def _forget(self, session: DatabaseSession) -> None:
        with self._lock:
            self._sessions.discard(session)

    @staticmethod
    async def _result(op, *args: Any) -> Ok | Err:
        try:
            return Ok(await asyncio.to_thread(op, *args))
        except SdkError as error:
            return Err(error)
        except (sqlite3.Error, OSError) as error:
            return Err(SdkError(f"db: {error}", code="STORE_ERROR"))

    async def session(self) -> Ok | Err:
        """`Ok(session)`: a connection of its own (`execute`, `commit`, `rollback`, `close`, `async with`)."""
        return await self._result(self._connect)

    def _create_all(self) -> None:
        self._connect().close_sync()

    async def create_all(self) -> Ok | Err:
        """Creates the database file (the original creates its ORM models' tables here; plain SQL has none)."""
        return await self._result(self._create_all)

    def close_sync(self) -> None:
        with self._lock:
            sessions = list(self._sessions)
        for session in sessions:
            session.close_sync()
        self._kv_sync.close()

    async def close(self) -> Ok | Err:
        """Closes every open session and the kv table's connection; the next call opens the file again."""
        return await self._result(self.close_sync)

    def _drop_all(self) -> None:
        self._check()
        self.close_sync()
        for path in (str(self.db_path), *(str(self.db_path) + suffix for suffix in SQLITE_SIDE_FILES)):
            try:
                os.remove(path)
            except FileNotFoundError:
                pass

    async def drop_all(self) -> Ok | Err:
        """Closes everything and deletes the database file (all its tables and the kv table)."""
        return await self._result(self._drop_all)
