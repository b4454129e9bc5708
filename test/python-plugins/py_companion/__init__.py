import asyncio
import os
import time
from typing import Any

from plugin.sdk.plugin import (
    NekoPluginBase, neko_plugin, plugin_entry, lifecycle, timer_interval, message, on_event,
    before_entry, after_entry, around_entry, replace_entry,
    Ok, Err, SdkError, unwrap_or,
)

from .helpers import shout
from .routers import NotesRouter


@neko_plugin
class CompanionPlugin(NekoPluginBase):
    freezable = ["counter", "notes"]

    def __init__(self, ctx: Any):
        super().__init__(ctx)
        self.logger = ctx.logger
        self.counter = 0
        self.ticks = 0
        self.config_changes = []
        self.notes = []
        self.orders_seen = []
        self.chats = []
        self.thawed = None

    @lifecycle(id="startup")
    async def on_startup(self, **_):
        prefix = await self.config.get("greeting.prefix", default="Hi")
        self.logger.info("CompanionPlugin started with prefix {}", prefix)
        self.report_status({"status": "ready", "prefix": prefix})
        self.heard = []
        self.router = NotesRouter()
        self.include_router(self.router, prefix="notes_")
        self.bus.on("ts_news", lambda payload, event: self.heard.append({"payload": payload,
                                                                         "publisher": event["publisher"]}))
        await self.bus.flush()
        return Ok({"status": "ready"})

    @lifecycle(id="shutdown")
    def on_shutdown(self, **_):
        self.store.set("said_goodbye", True)
        return Ok({"status": "stopped"})

    @lifecycle(id="config_change")
    def on_config_change(self, old_config=None, new_config=None, mode=None, **_):
        if (new_config or {}).get("greeting", {}).get("prefix") == "refuse":
            return Err(SdkError("that prefix is not allowed"))
        self.config_changes.append(mode)
        return Ok({"applied": True})

    @plugin_entry(
        id="greet",
        name="Greet",
        description="Return a greeting message",
        input_schema={
            "type": "object",
            "properties": {"name": {"type": "string", "default": "World"}},
        },
        llm_result_fields=["message"],
    )
    def greet(self, name: str = "World", **_):
        self.counter += 1
        return Ok({"message": f"Hello, {name}!", "count": self.counter})

    @plugin_entry(
        id="add",
        input_schema={
            "type": "object",
            "properties": {"a": {"type": "number"}, "b": {"type": "number", "minimum": 0}},
            "required": ["a", "b"],
        },
        timeout=5,
    )
    async def add(self, a: float, b: float, **_):
        await asyncio.sleep(0)
        return Ok({"sum": a + b, "helper": shout("ok")})

    @plugin_entry(id="slow", timeout=0.5)
    async def slow(self, seconds: float = 5, **_):
        await asyncio.sleep(seconds)
        return Ok({"slept": seconds})

    @plugin_entry(id="slow_sync", timeout=0.5)
    def slow_sync(self, seconds: float = 2, **_):
        time.sleep(seconds)
        return Ok({"slept": seconds})

    @plugin_entry(id="fail")
    def fail(self, how: str = "err", **_):
        if how == "raise":
            raise RuntimeError("kaboom")
        if how == "sdk":
            raise SdkError("not today", code="NOT_TODAY")
        return Err(SdkError("refused on purpose"))

    @plugin_entry(id="crash")
    def crash(self, **_):
        os._exit(3)

    @plugin_entry(id="pid")
    def pid(self, **_):
        return {"pid": os.getpid()}

    @plugin_entry(id="store_set")
    def store_set(self, key: str, value: Any = None, **_):
        self.store.set(key, value)
        return Ok({"saved": key})

    @plugin_entry(id="store_get")
    def store_get(self, key: str, **_):
        return Ok({"key": key, "value": self.store.get(key), "exists": self.store.exists(key)})

    @plugin_entry(id="push")
    def push(self, text: str = "hi", **_):
        return self.push_message(source="py_companion", message_type="text", description="from Python",
                                 priority=5, content=text)

    @plugin_entry(id="status")
    def status(self, progress: int = 50, **_):
        self.report_status({"status": "processing", "progress": progress})
        return Ok(None)

    @plugin_entry(id="config")
    async def config_read(self, **_):
        prefix = await self.config.get("greeting.prefix")
        whole = await self.config.dump()
        try:
            await self.config.require("greeting.missing")
            missing = None
        except SdkError as error:
            missing = {"code": error.code, "message": str(error)}
        return Ok({"prefix": prefix, "punctuation": whole["greeting"]["punctuation"], "missing": missing,
                   "changes": self.config_changes})

    @plugin_entry(id="call_ts")
    async def call_ts(self, target: str, args: dict = None, **_):
        result = await self.plugins.call_entry(target, args or {})
        if isinstance(result, Ok):
            return Ok({"via": "python", "answer": result.value})
        return Err(result.error)

    @plugin_entry(id="info")
    async def info(self, **_):
        info = unwrap_or(await self.system_info.get(), {})
        ids = unwrap_or(await self.plugins.list_ids(), [])
        await self.memory.store("py-key", {"from": "python"}, bucket="py")
        found = unwrap_or(await self.memory.get("py"), [])
        self.bus.emit("py_event", {"n": 1})
        return Ok({"protocol": info.get("versions", {}).get("protocol"), "plugins": sorted(ids),
                   "memory": [r["value"] for r in found], "data": str(self.data_path("x.txt"))})

    @timer_interval(id="tick", seconds=0.2, auto_start=True)
    def tick(self, **_):
        self.ticks += 1
        return Ok({"ticks": self.ticks})

    @plugin_entry(id="ticks")
    def get_ticks(self, **_):
        return Ok({"ticks": self.ticks})

    @message(id="on_chat", source="chat")
    def on_chat(self, text: str, sender: str = "?", **_):
        self.chats.append({"text": text, "sender": sender})
        return Ok({"echo": text.upper(), "sender": sender})

    @plugin_entry(id="chats")
    def get_chats(self, **_):
        return Ok({"chats": self.chats})

    @on_event(event_type="order_placed", id="count_order", input_schema={
        "type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]})
    def count_order(self, n: int, **_):
        self.orders_seen.append(n)
        return Ok({"orders": n})

    @on_event(event_type="slow_event", id="nap", timeout=0.3)
    async def nap(self, **_):
        await asyncio.sleep(3)
        return Ok(None)

    @plugin_entry(id="orders_seen")
    def get_orders_seen(self, **_):
        return Ok({"seen": self.orders_seen})

    @plugin_entry(id="make_command")
    def make_command(self, command: str, template: str = "Executed: {cmd}", **_):
        def handler(cmd: str = "", **_):
            return Ok({"output": template.format(cmd=cmd)})

        registered = self.register_dynamic_entry(
            entry_id=command,
            handler=handler,
            name=command.title(),
            description="A dynamically registered command",
            input_schema={"type": "object", "properties": {"cmd": {"type": "string"}}},
        )
        return Ok({"registered": registered, "entries": [e["id"] for e in self.list_entries() if e["dynamic"]]})

    @plugin_entry(id="toggle_command")
    def toggle_command(self, command: str, enabled: bool = True, remove: bool = False, **_):
        if remove:
            return Ok({"removed": self.unregister_dynamic_entry(command)})
        done = self.enable_entry(command) if enabled else self.disable_entry(command)
        return Ok({"done": done, "listed": [e["id"] for e in self.list_entries() if e["dynamic"]],
                   "all": [e["id"] for e in self.list_entries(include_disabled=True) if e["dynamic"]]})

    @plugin_entry(id="serve_ui")
    def serve_ui(self, directory: str = "static", **_):
        return Ok({"registered": self.register_static_ui(directory)})

    # --- Hooks (on their own entries, so the other entries run bare) ---

    @plugin_entry(id="order", input_schema={
        "type": "object",
        "properties": {"qty": {"type": "integer"}, "mode": {"type": "string", "default": "normal"}},
        "required": ["qty"],
    })
    def order(self, qty: int, mode: str, **_):
        return Ok({"qty": qty, "mode": mode})

    @before_entry(target="order", condition="args.qty > 100")
    def too_many(self, *, args, entry_id, **_):
        return Err(SdkError(f"at most 100 per {entry_id}, not {args['qty']}"))

    @before_entry(target="order", priority=5, condition="args.qty == 7")
    def lucky(self, *, args, **_):
        return {**args, "qty": 77}

    @before_entry(target="order", priority=6, condition="args.qty == 13")
    def unlucky(self, *, args, **_):
        return {**args, "qty": "thirteen"}

    @around_entry(target="order", priority=-10)
    async def timed(self, *, proceed, args, **_):
        result = await proceed()
        if isinstance(result, Ok):
            return Ok({**result.value, "wrapped": True})
        return result

    @around_entry(target="order", priority=0, condition="args.mode == 'twice'")
    def twice(self, *, proceed, args, **_):
        first = proceed()
        second = proceed(qty=args["qty"] + 1, mode="again")
        return Ok({"first": first.value, "second": second.value})

    @replace_entry(target="order", condition="args.mode == 'fast'")
    def fast_order(self, *, args, **_):
        return Ok({"qty": args["qty"], "mode": "replaced"})

    @after_entry(target="order")
    def audit(self, *, result, entry_id, **_):
        if isinstance(result, Ok) and "qty" in result.value:
            return Ok({**result.value, "audited": entry_id})
        return None

    @plugin_entry(id="fragile")
    def fragile(self, **_):
        return Ok("never")

    @before_entry(target="fragile")
    def breaks(self, **_):
        raise ValueError("disk full")

    @plugin_entry(id="heard")
    def get_heard(self, **_):
        return Ok({"heard": self.heard})

    @plugin_entry(id="shout_event")
    def shout_event(self, text: str = "", **_):
        sent = self.bus.emit("py_news", {"text": text}, priority=7)
        bad = self.bus.emit("*", {})
        return Ok({"sent": isinstance(sent, Ok), "bad": bad.error.code if isinstance(bad, Err) else None})

    @plugin_entry(id="block_loop", timeout=60)
    async def block_loop(self, seconds: float = 30, **_):
        time.sleep(seconds)  # blocks the asyncio loop: the host's pings go unanswered
        return Ok(None)

    @plugin_entry(id="escape")
    def escape(self, path: str = "../..", **_):
        return Ok(str(self.data_path(*path.split("/"))))

    @plugin_entry(id="note")
    def note(self, text: str, **_):
        self.notes.append(text)
        return Ok({"notes": self.notes, "counter": self.counter, "thawed": self.thawed})

    @lifecycle(id="freeze")
    def on_freeze(self, **_):
        if "no freeze" in self.notes:
            return Err(SdkError("not now"))
        return Ok(None)

    @lifecycle(id="unfreeze")
    def on_unfreeze(self, fields=None, saved_at=None, **_):
        self.thawed = {"fields": sorted(fields or []), "has_time": isinstance(saved_at, str)}
        return Ok(None)

    @plugin_entry(id="router_off")
    def router_off(self, **_):
        return Ok({"excluded": self.exclude_router(self.router), "again": self.exclude_router(self.router)})

    # -- errors passed on, unknown argument names, run progress (docs/python-plugins.md) ---------------------------

    @plugin_entry(id="pass_on")
    async def pass_on(self, target: str, args: dict = None, how: str = "return", **_):
        """Calls `target` and, when it fails, passes the failure on: returned as it is, raised, raised as the cause of
        an error of its own, or replaced by an unrelated one."""
        result = await self.plugins.call_entry(target, args or {})
        if isinstance(result, Ok):
            return Ok({"passed": result.value})
        if how == "raise":
            result.unwrap()
        if how == "chain":
            try:
                result.unwrap()
            except SdkError as error:
                raise SdkError("the lookup failed", code="LOOKUP_FAILED", details={"target": target}) from error
        if how == "own":
            return Err(SdkError("unrelated", code="MINE"))
        return result

    @plugin_entry(id="search", input_schema={
        "type": "object",
        "properties": {"includeDone": {"type": "boolean"}, "limit": {"type": "integer", "minimum": 1}},
    })
    @plugin_entry(id="search_loose", allow_extra_args=True, input_schema={
        "type": "object",
        "properties": {"includeDone": {"type": "boolean"}, "limit": {"type": "integer", "minimum": 1}},
    })
    @plugin_entry(id="search_open", input_schema={
        "type": "object", "properties": {"limit": {"type": "integer"}}, "additionalProperties": True,
    })
    @plugin_entry(id="search_pattern", input_schema={
        "type": "object", "properties": {"limit": {"type": "integer"}}, "patternProperties": {"^x_": {}},
    })
    @plugin_entry(id="search_any", input_schema={"type": "object"})
    @plugin_entry(id="search_unchecked", model_validate=False, input_schema={
        "type": "object", "properties": {"limit": {"type": "integer"}},
    })
    def search(self, **kwargs):
        return Ok({"args": sorted(kwargs)})

    @plugin_entry(id="progress")
    async def progress(self, **_):
        steps = await self.run_update(step=2, step_total=5, eta=3.5, stage="counting")
        bad = await self.run_update(step=4, step_total=3)
        png = await self.export_push(type="binary", binary=b"\x89PNG\r\n", mime="image/png", name="dot.png",
                                     label="dot")
        empty = await self.export_push(type="binary", binary=b"")
        return Ok({"steps": steps.is_ok(), "bad": [bad.error.code, str(bad.error)], "png": png.value["seq"],
                   "empty": [empty.error.code, str(empty.error)]})

    @plugin_entry(id="receive")
    async def receive(self, count: int = 1, **_):
        await self.run_update(stage="waiting")
        listed = (await self.run_uploads()).unwrap()
        while len(listed) < count:
            await asyncio.sleep(0.025)
            listed = (await self.run_uploads()).unwrap()
        out = []
        for upload in listed:
            file = (await self.read_run_upload(upload["uploadId"])).unwrap()
            out.append({"name": file["name"], "mime": file["mime"], "size": file["size"], "head": list(file["data"][:4]),
                        "bytes": isinstance(file["data"], bytes)})
        missing = await self.read_run_upload("nope")
        return Ok({"out": out, "missing": missing.error.code})

    @plugin_entry(id="bus_delete")
    async def bus_delete(self, ids: list, namespace: str = "messages", **_):
        return await getattr(self.bus, namespace).delete(ids)
