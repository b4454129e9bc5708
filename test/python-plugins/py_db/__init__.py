"""A notes plugin written as the original N.E.K.O.'s plugins use `self.db` (sessions, kv) and `self.state`
(`__freezable__`): test/e2e/python-db.e2e.test.ts."""
import os

from plugin.sdk.plugin import Err, NekoPluginBase, Ok, SdkError, lifecycle, neko_plugin, plugin_entry


@neko_plugin
class NotesPlugin(NekoPluginBase):
    __freezable__ = ["counter", "tags"]

    def __init__(self, ctx):
        super().__init__(ctx)
        self.counter = 0
        self.tags = []
        self.restored = None

    @lifecycle(id="startup")
    async def startup(self, **_):
        result = await self.db.create_all()
        if result.is_err():
            return result
        session = (await self.db.session()).unwrap()
        async with session:
            await session.execute(
                "CREATE TABLE IF NOT EXISTS notes (id INTEGER PRIMARY KEY, title TEXT NOT NULL, body TEXT)")
            await session.commit()
        loaded = await self.state.load()
        self.restored = loaded.unwrap() if loaded.is_ok() else str(loaded.error)
        return Ok(None)

    @plugin_entry(id="add")
    async def add(self, title: str, body: str = "", **_):
        session = (await self.db.session()).unwrap()
        async with session:
            cursor = await session.execute("INSERT INTO notes (title, body) VALUES (?, ?)", (title, body))
            await session.commit()
            return Ok({"id": cursor.lastrowid, "rowcount": cursor.rowcount})

    @plugin_entry(id="add_uncommitted")
    async def add_uncommitted(self, title: str, **_):
        session = (await self.db.session()).unwrap()
        async with session:
            await session.execute("INSERT INTO notes (title) VALUES (:title)", {"title": title})
        return Ok(None)

    @plugin_entry(id="list")
    async def list_notes(self, **_):
        session = (await self.db.session()).unwrap()
        async with session:
            cursor = await session.execute("SELECT id, title, body FROM notes ORDER BY id")
            return Ok([dict(row) for row in cursor.fetchall()])

    @plugin_entry(id="sql")
    async def sql(self, sql: str, fetch: bool = False, **_):
        """Runs the caller's SQL (the hostile cases): the refusal comes back as the error's code and message."""
        session = (await self.db.session()).unwrap()
        async with session:
            try:
                cursor = await session.execute(sql)
                rows = [list(row) for row in cursor.fetchall()] if fetch else None
                await session.commit()
                return Ok({"rows": rows})
            except SdkError as error:
                return Ok({"code": error.code, "name": type(error).__name__, "message": str(error)})
            except Exception as error:  # noqa: BLE001 - sqlite3's own errors pass through as the original's do
                return Ok({"code": None, "name": type(error).__name__, "message": str(error)})

    @plugin_entry(id="kv")
    async def kv(self, op: str, key: str = "", value=None, **_):
        kv = self.db.kv
        if op == "set":
            result = await kv.set(key, value)
        elif op == "get":
            result = await kv.get(key, "absent")
        elif op == "delete":
            result = await kv.delete(key)
        elif op == "exists":
            result = await kv.exists(key)
        elif op == "keys":
            result = await kv.keys(key)
        elif op == "count":
            result = await kv.count()
        else:
            result = await kv.clear()
        if result.is_err():
            return Ok({"err": type(result.error).__name__, "code": result.error.code, "message": str(result.error)})
        return Ok({"ok": result.unwrap()})

    @plugin_entry(id="info")
    def info(self, **_):
        return Ok({"db_name": self.db.db_name, "db_path": str(self.db.db_path), "enabled": self.db.enabled,
                   "exists": self.db.db_exists, "pid": os.getpid()})

    @plugin_entry(id="bump")
    async def bump(self, tag: str = "", save: bool = True, **_):
        self.counter += 1
        if tag:
            self.tags.append(tag)
        saved = (await self.state.save()).unwrap() if save else None
        return Ok({"counter": self.counter, "tags": self.tags, "saved": saved})

    @plugin_entry(id="save_keys")
    async def save_keys(self, keys: list, **_):
        saved = (await self.state.save(self, keys, reason="manual")).unwrap()
        return Ok({"saved": saved, "snapshot": (await self.state.snapshot()).unwrap()})

    @plugin_entry(id="state")
    async def state_entry(self, **_):
        return Ok({"counter": self.counter, "tags": self.tags, "restored": self.restored,
                   "snapshot": (await self.state.snapshot()).unwrap(),
                   "info": (await self.state.get_state_info()).unwrap()})

    @plugin_entry(id="state_clear")
    async def state_clear(self, **_):
        cleared = (await self.state.clear()).unwrap()
        return Ok({"cleared": cleared, "has": (await self.state.has_saved_state()).unwrap()})

    @plugin_entry(id="drop")
    async def drop(self, **_):
        result = await self.db.drop_all()
        return Ok(None) if result.is_ok() else Err(result.error)
