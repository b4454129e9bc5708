"""`NekoPluginBase` and what a plugin reaches through it: `self.ctx`, `self.store`, `self.config`, `self.plugins`,
`self.bus`, `self.memory`, `self.system_info`, `self.logger`. Everything that is not the store goes through the host's
services (docs/wire-protocol.md#host-services-plugin--host), as for a TypeScript plugin."""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._logger import PluginLogger
from .errors import NotFoundError, SdkError, ValidationError, from_wire
from .result import Err, Ok

if TYPE_CHECKING:
    from ._runner import PluginRuntime

_MISSING = object()


def to_result(wire: dict) -> Ok | Err:
    """A WireResult as `Ok(value)` or `Err(SdkError)`."""
    if wire.get("ok"):
        return Ok(wire.get("value"))
    return Err(from_wire(wire.get("error") or {}))


def _caller_timeout_named(wire: dict, plugin: str, entry: str, kind: str) -> dict:
    """A timeout this process's own deadline fired, named as the host names one (`firedBy: "caller"`)."""
    error = wire.get("error") if not wire.get("ok") else None
    details = error.get("details") if isinstance(error, dict) else None
    if not isinstance(details, dict) or error.get("code") != "TIMEOUT" or details.get("firedBy") != "caller":
        return wire
    timeout_ms = details.get("timeoutMs")
    if isinstance(timeout_ms, bool) or not isinstance(timeout_ms, (int, float)):
        return wire
    seconds = (f"{timeout_ms / 1000:.3f}").rstrip("0").rstrip(".")
    return {"ok": False, "error": {
        "name": "TimeoutError", "code": "TIMEOUT", "message": f"{kind} '{plugin}:{entry}' timed out after {seconds}s",
        "details": {"plugin": plugin, "entry": entry, "timeoutMs": timeout_ms, "firedBy": "caller"}}}


class PluginContext:
    """`ctx`: what the host gives the plugin's constructor."""

    def __init__(self, runtime: "PluginRuntime", *, plugin_id: str, plugin_dir: str, metadata: dict, config: dict,
                 store_enabled: bool) -> None:
        from ._database import PluginDatabase, database_options
        from ._state import PluginStatePersistence
        from ._store import SyncPluginStore

        self._runtime = runtime
        self.plugin_id = plugin_id
        self.config_dir = Path(plugin_dir)
        self.config_path = Path(plugin_dir) / "plugin.toml"
        self.metadata = metadata
        self.logger = PluginLogger(plugin_id)
        self.file_logger = self.logger
        self._config = config
        self._store = SyncPluginStore(os.path.join(plugin_dir, "data"), enabled=store_enabled)
        db_enabled, db_name = database_options(metadata, plugin_id)
        self._db = PluginDatabase(plugin_id=plugin_id, data_dir=os.path.join(plugin_dir, "data"), enabled=db_enabled,
                                  name=db_name)
        self._state = PluginStatePersistence(runtime)
        self.bus = Bus(runtime)

    def push_message(self, **kwargs: Any) -> Ok | Err:
        """Pushes a message to the host (`messages.push`): `source`, `message_type`, `description`, `priority`,
        `content`, `binary_data`, `binary_url`, `metadata`. Returns `Ok({"id": …})` or the host's `Err`."""
        names = {"message_type": "messageType", "binary_data": "binaryData", "binary_url": "binaryUrl"}
        params = {names.get(k, k): v for k, v in kwargs.items() if v is not None}
        unknown = set(params) - {"messageType", "source", "description", "priority", "content", "binaryData",
                                 "binaryUrl", "metadata"}
        if unknown:
            return Err(ValidationError(f"push_message: unknown argument(s) {', '.join(sorted(unknown))}"))
        return to_result(self._runtime.request_sync("messages.push", params))

    def report_status(self, status: dict) -> None:
        """The plugin's latest status, shown by `GET /plugin/status` (`status.report`)."""
        if not isinstance(status, dict):
            raise ValidationError("report_status: the status must be a dict")
        self._runtime.notify("status.report", {"status": status})


class PluginConfig:
    """`self.config`: the effective configuration (plugin.toml with the active profile), kept current by the host."""

    def __init__(self, ctx: Any) -> None:
        self._ctx = ctx if isinstance(ctx, PluginContext) else getattr(ctx, "ctx", ctx)

    @staticmethod
    def _keys(path: Any) -> list[str]:
        if path is None or path == "":
            return []
        return [str(k) for k in path] if isinstance(path, (list, tuple)) else str(path).split(".")

    def _lookup(self, path: Any) -> Any:
        node: Any = self._ctx._config
        for key in self._keys(path):
            if not isinstance(node, dict) or key not in node:
                return _MISSING
            node = node[key]
        return copy.deepcopy(node)

    async def dump(self, timeout: float | None = None, **_: Any) -> dict:
        """The whole effective configuration (`timeout`, the original's keyword, is accepted: nothing is waited on)."""
        return copy.deepcopy(self._ctx._config)

    async def get(self, path: Any = None, default: Any = None, **_: Any) -> Any:
        found = self._lookup(path)
        return default if found is _MISSING else found

    async def require(self, path: Any, **_: Any) -> Any:
        found = self._lookup(path)
        if found is _MISSING:
            key = ".".join(self._keys(path))
            raise NotFoundError(
                f"config key '{key}' is required but not set (in plugin.toml or the active profile)",
                code="CONFIG_KEY_MISSING",
                details={"path": key},
            )
        return found

    async def has(self, path: Any, **_: Any) -> bool:
        return self._lookup(path) is not _MISSING

    def _own(self, params: dict) -> dict:
        """An extension's configuration is its own plugin.toml, written and read through its host plugin."""
        extension = getattr(self._ctx, "extension_id", None)
        return {**params, "extension": extension} if extension is not None else params

    async def update(self, patch: dict, mode: str = "permanent") -> Ok | Err:
        """Deep-merges `patch` through the host (`config.update`); the new configuration is visible at once."""
        closed = getattr(self._ctx, "_config_closed", None)
        if closed is not None:
            return Err(SdkError(f"config: {closed}", code="CONFIG_CHANGE_REFUSED"))
        result = to_result(await self._ctx._runtime.request_async("config.update",
                                                                  self._own({"patch": patch, "mode": mode})))
        if isinstance(result, Ok) and isinstance(result.value, dict) and isinstance(result.value.get("config"), dict):
            self._ctx._config = result.value["config"]
            return Ok(copy.deepcopy(result.value["config"]))
        return result

    async def profiles(self) -> Ok | Err:
        """The plugin's configuration profiles as the host reads them now (`config.profiles`, docs/config.md): where
        they are declared, the active one, each file with its problem if it cannot be used. Read-only."""
        return to_result(await self._ctx._runtime.request_async("config.profiles", self._own({})))

    async def profile(self, name: str) -> Ok | Err:
        """One profile file's own content (the overlay, not merged) and whether it is active (`config.profile`)."""
        return to_result(await self._ctx._runtime.request_async("config.profile", self._own({"name": name})))

    async def set(self, path: Any, value: Any, mode: str = "permanent") -> Ok | Err:
        keys = self._keys(path)
        patch: Any = value
        for key in reversed(keys):
            patch = {key: patch}
        return await self.update(patch, mode)


class Plugins:
    """`self.plugins`: the other plugins (`plugins.list`, `plugins.get`, `plugins.call`)."""

    def __init__(self, ctx: Any) -> None:
        self._ctx = ctx if isinstance(ctx, PluginContext) else getattr(ctx, "ctx", ctx)

    async def list(self, enabled: bool | None = None) -> Ok | Err:
        result = to_result(await self._ctx._runtime.request_async("plugins.list", {}))
        if isinstance(result, Ok) and enabled is not None:
            return Ok([p for p in result.value if bool(p.get("enabled")) == enabled])
        return result

    async def list_ids(self) -> Ok | Err:
        result = await self.list()
        return Ok([p["id"] for p in result.value]) if isinstance(result, Ok) else result

    async def get(self, plugin_id: str) -> Ok | Err:
        return to_result(await self._ctx._runtime.request_async("plugins.get", {"id": plugin_id}))

    async def exists(self, plugin_id: str) -> Ok | Err:
        result = await self.get(plugin_id)
        return Ok(result.value is not None) if isinstance(result, Ok) else result

    async def require_enabled(self, plugin_id: str) -> Ok | Err:
        result = await self.get(plugin_id)
        if isinstance(result, Err):
            return result
        if result.value is None:
            return Err(SdkError(f"plugin '{plugin_id}' is not installed", code="PLUGIN_NOT_FOUND"))
        if not result.value.get("enabled"):
            return Err(SdkError(f"plugin '{plugin_id}' is not enabled", code="PLUGIN_REFUSED"))
        return Ok(result.value)

    async def call_entry(self, target: str, args: dict | None = None, timeout: float | None = None,
                         **_: Any) -> Ok | Err:
        """Calls `"<plugin_id>:<entry_id>"` with `args`; the target's result, `Ok` or `Err`."""
        if not isinstance(target, str) or ":" not in target:
            return Err(ValidationError(f"call_entry: the target must be '<plugin_id>:<entry_id>', not {target!r}"))
        plugin_id, entry_id = target.split(":", 1)
        runtime = self._ctx._runtime
        params: dict = {"pluginId": plugin_id, "entryId": entry_id, "args": args or {}, "chain": runtime.chain()}
        if timeout is not None:
            params["timeoutMs"] = float(timeout) * 1000.0
        wire = await runtime.request_async("plugins.call", params, None if timeout is None else float(timeout))
        return to_result(_caller_timeout_named(wire, plugin_id, entry_id, "entry"))

    async def call_entry_json(self, target: str, args: dict | None = None, **kwargs: Any) -> Ok | Err:
        result = await self.call_entry(target, args, **kwargs)
        if isinstance(result, Ok) and not isinstance(result.value, dict):
            return Err(SdkError(f"{target} answered {type(result.value).__name__}, not a JSON object"))
        return result

    async def call_event(self, plugin_id: str, event_type: str, event_id: str, args: dict | None = None) -> Ok | Err:
        runtime = self._ctx._runtime
        params = {"pluginId": plugin_id, "eventType": event_type, "eventId": event_id, "args": args or {},
                  "chain": runtime.chain()}
        wire = await runtime.request_async("plugins.callEvent", params)
        return to_result(_caller_timeout_named(wire, plugin_id, f"{event_type}:{event_id}", "event"))


class Bus:
    """`self.bus`: events to and from every plugin and the server's streams (docs/bus.md)."""

    def __init__(self, runtime: "PluginRuntime") -> None:
        self._runtime = runtime
        self.events = BusNamespace(self, "events")
        self.messages = BusNamespace(self, "messages")
        self.conversations = ConversationNamespace(self, "conversations")
        self.lifecycle = BusNamespace(self, "lifecycle")

    def emit(self, event_type: str, payload: Any = None, priority: int | None = None) -> Ok | Err:
        """Publishes an event (`bus.emit`); `Err(ValidationError)` for a bad type or priority."""
        if not isinstance(event_type, str) or not 0 < len(event_type) <= 256 or event_type == "*":
            return Err(ValidationError(f"bus.emit: the type must be 1 to 256 characters and not '*', not {event_type!r}"))
        params: dict = {"type": event_type, "payload": payload}
        if priority is not None:
            if isinstance(priority, bool) or not isinstance(priority, int) or not 0 <= priority <= 10:
                return Err(ValidationError(f"bus.emit: priority must be a whole number 0 to 10, not {priority!r}"))
            params["priority"] = priority
        try:
            self._runtime.notify("bus.emit", params)
        except (TypeError, ValueError, OverflowError) as error:  # what msgpack cannot carry, as call_entry answers
            return Err(ValidationError(f"bus.emit: the payload cannot be sent to the host: {error}"))
        except Exception as error:  # noqa: BLE001 - PayloadTooLarge
            if type(error).__name__ != "PayloadTooLarge":
                raise
            return Err(SdkError(f"bus.emit: {error}", code="PAYLOAD_TOO_LARGE"))
        return Ok(None)

    publish = emit

    def on(self, event_type: str, handler: Any) -> Any:
        """Calls `handler(payload, event)` for every event of `event_type` (`*`: every type) from any plugin or the
        host; returns a function that unsubscribes. A plain handler runs in the thread pool, an `async def` one on
        the loop; one that raises is logged."""
        if not isinstance(event_type, str) or not 0 < len(event_type) <= 256:
            raise ValidationError(f"bus.on: the type must be 1 to 256 characters, not {event_type!r}")
        if not callable(handler):
            raise TypeError("bus.on: the handler must be callable")
        return self._runtime.bus_subscribe(event_type, handler)

    subscribe = on

    async def flush(self) -> Ok | Err:
        """Resolves once the host has everything this process sent before it (subscriptions, emits)."""
        return to_result(await self._runtime.request_async("bus.flush", {}))

    async def query(self, namespace: str, **filters: Any) -> Ok | Err:
        """`bus.query`: the records of a namespace (`events`, `messages`, `conversations`, …), with docs/bus.md's
        filters in camelCase or snake_case (`plugin_id`, `priority_min`, `since_ts`, `max_count`)."""
        names = {"plugin_id": "pluginId", "priority_min": "priorityMin", "since_ts": "sinceTs", "max_count": "maxCount"}
        params: dict = {"namespace": namespace}
        if filters:
            params["filters"] = {names.get(k, k): v for k, v in filters.items() if v is not None}
        return to_result(await self._runtime.request_async("bus.query", params))


class BusNamespace:
    """`self.bus.events`, `.messages`, `.conversations`: one namespace of the bus's records (docs/bus.md)."""

    def __init__(self, bus: Bus, namespace: str) -> None:
        self._bus = bus
        self._namespace = namespace

    async def query(self, **filters: Any) -> Ok | Err:
        return await self._bus.query(self._namespace, **filters)

    async def get(self, **filters: Any) -> Ok | Err:
        """The latest records matching the filters (`plugin_id`, `source`, `type`, `priority_min`, `since_ts`,
        `max_count`; all kept ones by default), oldest first, as `Ok(BusRecordList)`: refine it with `filter`,
        `where`, `where_in`, `sort`, `limit`, and follow it with `watch()` (docs/bus.md#watches)."""
        from ._bus_watch import BusRecordList, wire_filters

        wanted = wire_filters(filters)
        answer = to_result(await self._bus._runtime.request_async("bus.query", {"namespace": self._namespace,
                                                                                "filters": wanted}))
        if isinstance(answer, Err):
            return answer
        value = answer.value or {}
        return Ok(BusRecordList({"namespace": self._namespace, "filters": wanted, "revision": value.get("revision", 0),
                                 "base": list(value.get("records") or []), "runtime": self._bus._runtime}))

    async def delete(self, records: Any) -> Ok | Err:
        """Deletes records the plugin wrote itself (`bus.delete`): an id, a record (a dict with `id`), or a list of
        them. All or nothing: a record of another plugin or of the host is `Err(PERMISSION_DENIED)` naming its writer.
        `Ok({"deleted": [...], "missing": [...]})`: the ids deleted, and those not kept (evicted, deleted already)."""
        items = list(records) if isinstance(records, (list, tuple)) else [records]
        ids = []
        for item in items:
            found = item.get("id") if isinstance(item, dict) else item
            if isinstance(found, bool) or not isinstance(found, int):
                return Err(ValidationError(f"bus delete: give record ids or records, not {item!r}"))
            ids.append(found)
        return to_result(await self._bus._runtime.request_async("bus.delete", {"namespace": self._namespace,
                                                                                "ids": ids}))


class ConversationNamespace(BusNamespace):
    """`self.bus.conversations`: plugins that carry conversations (adapters, chat bridges) add their turns here."""

    async def add(self, record: dict | None = None, *, data: Any = _MISSING, type: str | None = None,  # noqa: A002
                  source: str | None = None, priority: int | None = None) -> Ok | Err:
        """Adds a record (`bus.append`): `{ type?, source?, priority?, data }` as a dict or keywords; `type` is
        `conversation` and `source` the plugin id by default. `Ok(record)`, with its `id`; the host checks the
        fields (`Err(ValidationError)` naming one, a record past 1 MiB too)."""
        given = dict(record) if isinstance(record, dict) else {}
        if record is not None and not isinstance(record, dict):
            return Err(ValidationError(f"conversations.add: the record must be a dict, not {type_name(record)}"))
        extra = {"type": type, "source": source, "priority": priority}
        given.update({k: v for k, v in extra.items() if v is not None})
        if data is not _MISSING:
            given["data"] = data
        try:
            answer = await self._bus._runtime.request_async("bus.append", {"namespace": "conversations",
                                                                            "record": given})
        except (TypeError, ValueError, OverflowError) as error:  # what msgpack cannot carry
            return Err(ValidationError(f"conversations.add: the record cannot be sent to the host: {error}"))
        return to_result(answer)

    append = add


def type_name(value: Any) -> str:
    return type(value).__name__


class MemoryClient:
    """`self.memory`: the host's memory (docs/store-and-memory.md)."""

    def __init__(self, ctx: Any) -> None:
        self._ctx = ctx if isinstance(ctx, PluginContext) else getattr(ctx, "ctx", ctx)

    async def store(self, key: str, value: Any, bucket: str = "default") -> Ok | Err:
        return to_result(await self._ctx._runtime.request_async("memory.store", {"key": key, "value": value,
                                                                                 "bucket": bucket}))

    async def search(self, query: str, bucket: str | None = None, limit: int | None = None) -> Ok | Err:
        params: dict = {"query": query}
        if bucket is not None:
            params["bucket"] = bucket
        if limit is not None:
            params["limit"] = limit
        return to_result(await self._ctx._runtime.request_async("memory.search", params))

    async def get(self, bucket: str = "default", limit: int | None = None) -> Ok | Err:
        params: dict = {"bucket": bucket}
        if limit is not None:
            params["limit"] = limit
        return to_result(await self._ctx._runtime.request_async("memory.get", params))


class SystemInfo:
    """`self.system_info`: the host's `system.info`."""

    def __init__(self, ctx: Any) -> None:
        self._ctx = ctx if isinstance(ctx, PluginContext) else getattr(ctx, "ctx", ctx)

    async def get(self) -> Ok | Err:
        return to_result(await self._ctx._runtime.request_async("system.info", {}))


class PluginRouter:
    """Entries and hooks grouped in a class of their own (docs/routers.md): `self.include_router(router, prefix=…)`
    makes them the plugin's, the entry ids with the prefix; `self.plugin` (also `self.main_plugin`) is that plugin.
    A router's hooks apply to its own entries only."""

    def __init__(self, prefix: str = "", tags: list[str] | None = None, name: str | None = None, **unknown: Any) -> None:
        """The original's parameters, in its order; any other keyword is a TypeError naming it (a misspelled
        `nmae=` must not pass unseen)."""
        if unknown:
            raise TypeError(f"PluginRouter() got unknown keyword argument(s) {', '.join(map(repr, unknown))}; "
                            "known: prefix, tags, name")
        self.prefix = prefix
        self.name = RouterName(name or type(self).__name__)
        self.tags = list(tags or [])
        self.plugin: Any = None
        self._neko_added: dict[str, tuple[Any, dict]] = {}  # add_entry's, by id without the prefix
        self._neko_prefix: str | None = None  # the prefix it was included with

    @property
    def main_plugin(self) -> Any:
        return self.plugin

    # -- the original's accessors: the including plugin's, None while the router is not included ------------------

    @property
    def is_bound(self) -> bool:
        return self.plugin is not None

    @property
    def ctx(self) -> Any:
        return getattr(self.plugin, "ctx", None)

    @property
    def config(self) -> Any:
        return getattr(self.plugin, "config", None)

    @property
    def plugins(self) -> Any:
        return getattr(self.plugin, "plugins", None)

    @property
    def store(self) -> Any:
        return getattr(self.plugin, "store", None)

    @property
    def db(self) -> Any:
        """The including plugin's `self.db` (PluginDatabase, docs/python-plugins.md)."""
        return getattr(self.plugin, "db", None)

    @property
    def logger(self) -> Any:
        return getattr(self.plugin, "logger", None)

    @property
    def file_logger(self) -> Any:
        return getattr(self.plugin, "file_logger", None)

    @property
    def plugin_id(self) -> str:
        return str(getattr(self.plugin, "plugin_id", self.name)) if self.plugin is not None else str(self.name)

    def set_prefix(self, prefix: str) -> None:
        self.prefix = prefix

    def get_plugin_attr(self, name: str, default: Any = None) -> Any:
        return getattr(self.plugin, name, default)

    def has_plugin_attr(self, name: str) -> bool:
        return self.plugin is not None and hasattr(self.plugin, name)

    def get_dependency(self, name: str, default: Any = None) -> Any:
        value = getattr(self, name, None)
        return value if value is not None else getattr(self.plugin, name, default)

    def report_status(self, status: dict) -> None:
        if self.plugin is not None:
            self.plugin.report_status(status)

    def on_mount(self) -> None:
        """Called once `include_router` has made the router's entries the plugin's; override it."""
        return None

    def on_unmount(self) -> None:
        """Called once `exclude_router` has taken them away; override it."""
        return None

    def _current_prefix(self) -> str:
        return self.prefix if self._neko_prefix is None else self._neko_prefix

    def _full_id(self, entry_id: str) -> str:
        prefix = self._current_prefix()
        return entry_id if prefix and entry_id.startswith(prefix) else f"{prefix}{entry_id}"

    def _decorated(self) -> list[dict]:
        seen: set[str] = set()
        found = []
        for klass in type(self).__mro__:
            for attr, raw in vars(klass).items():
                if attr in seen:
                    continue
                seen.add(attr)
                found.extend(m for m in getattr(raw, "__neko_meta__", None) or [] if m["kind"] == "entry")
        return found

    @property
    def entry_ids(self) -> list[str]:
        """The ids of the router's entries as the plugin has them (with the prefix): decorated, then added."""
        prefix = self._current_prefix()
        return [prefix + m["id"] for m in self._decorated()] + [prefix + e for e in self._neko_added]

    def iter_handlers(self) -> dict:
        prefix = self._current_prefix()
        handlers = {}
        for klass in reversed(type(self).__mro__):
            for attr, raw in vars(klass).items():
                for m in getattr(raw, "__neko_meta__", None) or []:
                    if m["kind"] == "entry":
                        handlers[prefix + m["id"]] = getattr(self, attr)
        handlers.update({prefix + e: fn for e, (fn, _) in self._neko_added.items()})
        return handlers

    def collect_entries(self) -> dict:
        from ._entries import EntryHandler

        metas = {self._current_prefix() + m["id"]: m for m in self._decorated()}
        metas.update({self._current_prefix() + e: m for e, (_, m) in self._neko_added.items()})
        return {e: EntryHandler.of(e, metas[e], fn) for e, fn in self.iter_handlers().items()}

    async def add_entry(self, entry_id: str, handler: Any, *, name: str | None = None, description: str = "",
                        input_schema: dict | None = None, replace: bool = False, **_: Any) -> Ok | Err:
        """Adds an entry to the router (the id gets the router's prefix). Included, it is at once an entry of the
        plugin (`dynamic: true` in `/plugins`), called with its arguments as keywords; `exclude_router` takes it away
        with the others. `Err(EntryConflictError)` for an id taken (unless `replace=True` and it is this router's),
        `Err(PluginRouterError)` for an empty or bad id or a handler that is not callable."""
        from .decorators import ENTRY_ID, LLM_TOOL_ENTRY_PREFIX, plugin_entry
        from .errors import EntryConflictError, PluginRouterError

        trimmed = entry_id.strip() if isinstance(entry_id, str) else ""
        if not trimmed:
            return Err(PluginRouterError("entry_id must be non-empty"))
        if not callable(handler):
            return Err(PluginRouterError(f"the handler must be callable, not {type(handler).__name__}"))
        prefix = self._current_prefix()
        local = trimmed[len(prefix):] if prefix and trimmed.startswith(prefix) else trimmed
        full = prefix + local
        if not ENTRY_ID.match(full):
            return Err(PluginRouterError(f"entry id '{full}' must match {ENTRY_ID.pattern}"))
        if full.startswith(LLM_TOOL_ENTRY_PREFIX):
            return Err(PluginRouterError(f"entry id '{full}': the prefix {LLM_TOOL_ENTRY_PREFIX} is kept for LLM tools"))
        if input_schema is not None and not isinstance(input_schema, dict):
            return Err(PluginRouterError("input_schema must be a dict (a JSON Schema)"))
        from ._signature_schema import positional_only

        if positional_only(handler):
            names = ", ".join(f"'{n}'" for n in positional_only(handler))
            return Err(PluginRouterError(f"entry '{full}': parameter(s) {names} are positional-only (before '/'), "
                                         "but arguments are passed by name; remove the '/'"))
        if input_schema is not None:
            from ._validation import compile_validator

            try:  # now, not when the router is included (which would raise there, after other entries went in)
                compile_validator(input_schema)
            except Exception as error:  # noqa: BLE001 - jsonschema's SchemaError and what a broken schema raises
                reason = getattr(error, "message", None) or str(error)
                return Err(PluginRouterError(f"entry '{full}': input_schema is not a valid JSON Schema: {reason}"))
        if name is not None and not isinstance(name, str):
            return Err(PluginRouterError(f"entry '{full}': name must be a string, not {type(name).__name__}"))
        if not isinstance(description, str):
            return Err(PluginRouterError(f"entry '{full}': description must be a string, not {type(description).__name__}"))
        if not replace and (local in self._neko_added or full in self.entry_ids):
            return Err(EntryConflictError(f"duplicate entry id: '{full}'"))

        def described() -> None:
            pass

        plugin_entry(id=local, name=name or full, description=description, input_schema=input_schema)(described)
        meta = {**described.__neko_meta__[-1], "inputSchema": input_schema, "inputSchemaInferred": False,
                "allowExtraArgs": False}
        if self.plugin is not None:
            refused = self.plugin.ctx._runtime.add_router_entry(self, full, handler, meta, replace)
            if refused is not None:
                duplicate = refused.startswith("duplicate entry id")
                return Err(EntryConflictError(refused) if duplicate else PluginRouterError(refused))
        self._neko_added[local] = (handler, meta)
        return Ok(True)

    async def remove_entry(self, entry_id: str) -> Ok | Err:
        """Takes away an entry `add_entry` added: `Ok(True)`, or `Ok(False)` when it has none of that id."""
        prefix = self._current_prefix()
        trimmed = entry_id.strip() if isinstance(entry_id, str) else ""
        local = trimmed[len(prefix):] if prefix and trimmed.startswith(prefix) else trimmed
        if local not in self._neko_added:
            return Ok(False)
        del self._neko_added[local]
        if self.plugin is not None:
            self.plugin.ctx._runtime.remove_router_entry(self, prefix + local)
        return Ok(True)

    async def list_entries(self) -> Ok | Err:
        """`Ok([...])`: each entry of the router as `{ id, name, description, input_schema, kind, dynamic }`."""
        listed = []
        for full, handler in self.collect_entries().items():
            meta = handler.meta
            listed.append({"id": full, "name": meta.name, "description": meta.description,
                           "input_schema": meta.input_schema, "kind": meta.kind,
                           "dynamic": full in {self._current_prefix() + e for e in self._neko_added}})
        return Ok(listed)

    def get_router(self, name: str) -> PluginRouter | None:
        """A sibling: the router named `name` included in the same plugin (`self.plugin.get_router(name)`)."""
        return self.plugin.get_router(name) if self.plugin is not None else None

    def list_routers(self) -> list[str]:
        """The names of the routers included in the same plugin, in the order they were included."""
        return self.plugin.list_routers() if self.plugin is not None else []


class RouterName(str):
    """A router's name: a string, which may also be called as the original's `router.name()` method is."""

    def __call__(self) -> str:
        return str(self)


class NekoPluginBase:
    """The base of every plugin: `__init__(self, ctx)` must call `super().__init__(ctx)`."""

    def __init__(self, ctx: PluginContext) -> None:
        self.ctx = ctx
        self.plugin_id = ctx.plugin_id
        self.config_dir = ctx.config_dir
        self.metadata = ctx.metadata
        self.logger = ctx.logger
        self.file_logger = ctx.file_logger
        self.store = ctx._store
        self.db = ctx._db
        self.state = ctx._state
        self.config = PluginConfig(ctx)
        self.plugins = Plugins(ctx)
        self.bus = ctx.bus
        self.memory = MemoryClient(ctx)
        self.system_info = SystemInfo(ctx)
        self.i18n = self._load_i18n()
        self._static_ui_config: dict | None = None
        self._list_actions: list[dict] = []
        self._llm_tools: dict = {}
        from .plugin.llm_tool import collect_llm_tool_methods

        for meta, bound in collect_llm_tool_methods(self):  # as the original: at construction, a clash logged
            try:
                self._register_llm_tool(meta, bound)
            except (SdkError, TypeError, ValueError) as error:
                self.logger.warning("LLM tool '{}' not registered: {}", meta.name, error)

    def _load_i18n(self) -> Any:
        from ._i18n import load_plugin_i18n

        metadata = self.ctx.metadata if isinstance(self.ctx.metadata, dict) else {}
        table = (metadata.get("plugin") or {}).get("i18n") if isinstance(metadata.get("plugin"), dict) else None
        if not isinstance(table, dict):
            table = metadata.get("i18n") if isinstance(metadata.get("i18n"), dict) else {}
        return load_plugin_i18n(Path(self.ctx.config_dir), table, warn=self.logger.warning)

    # -- the original's folders: all under the plugin's data/ folder ---------------------------------------------

    @property
    def plugin_dir(self) -> Path:
        """The plugin's folder (where plugin.toml is); `config_dir` is the same."""
        return Path(self.ctx.config_dir)

    def _data_folder(self, *parts: str) -> Path:
        folder = self.data_path(*parts)
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    @property
    def storage_dir(self) -> Path:
        """The plugin's storage folder, `data/storage/` (created)."""
        return self._data_folder("storage")

    @property
    def runtime_config_path(self) -> Path:
        """Where the plugin keeps configuration it writes itself: `data/runtime_config.toml` (the folder is created,
        the file is not; the host does not read it)."""
        return self._data_folder() / "runtime_config.toml"

    def cache_path(self, *parts: str) -> Path:
        """A path under the plugin's cache folder, `data/cache/` (created); one that would leave it raises
        ValueError."""
        cache = self._data_folder("cache")
        target = cache.joinpath(*parts).resolve()
        if target != cache and cache not in target.parents:
            raise ValueError(f"cache_path: '{'/'.join(parts)}' leaves the plugin's cache folder")
        return target

    def report_status(self, status: dict) -> None:
        self.ctx.report_status(status)

    def push_message(self, **kwargs: Any) -> Ok | Err:
        return self.ctx.push_message(**kwargs)

    def data_path(self, *parts: str) -> Path:
        """A path under the plugin's `data/` folder (created); one that would leave it raises ValueError."""
        data = (Path(self.ctx.config_dir) / "data").resolve()
        data.mkdir(parents=True, exist_ok=True)
        target = data.joinpath(*parts).resolve()
        if target != data and data not in target.parents:
            raise ValueError(f"data_path: '{'/'.join(parts)}' leaves the plugin's data folder")
        return target

    async def run_update(self, progress: float | None = None, stage: str | None = None,
                         message: str | None = None, step: int | None = None, step_total: int | None = None,
                         eta: float | None = None, **_: Any) -> Ok | Err:
        """Progress of the run this call belongs to (`run.update`, docs/runs.md): `progress` 0–100, `stage`,
        `message`, `step` of `step_total`, `eta` in seconds (shown as step / step_total / eta_seconds)."""
        given = {"progress": progress, "stage": stage, "message": message, "step": step, "stepTotal": step_total,
                 "eta": eta}
        params = {k: v for k, v in given.items() if v is not None}
        return await self.ctx._runtime.run_request("run.update", params)

    async def export_push(self, **item: Any) -> Ok | Err:
        """An item exported by the run (`run.export`, docs/runs.md): `type` "text" | "json" | "url" | "binary" |
        "binary_url", with `text` / `json` / `url` / `binary` (bytes) and, for the binary ones, `mime` and `name`;
        `label` for any. `Ok({"runId", "seq"})`."""
        if isinstance(item.get("binary"), (bytearray, memoryview)):
            item["binary"] = bytes(item["binary"])
        return await self.ctx._runtime.run_request("run.export", {"item": item})

    async def run_uploads(self) -> Ok | Err:
        """The files clients uploaded to the run this call belongs to (`run.uploads`, docs/runs.md): a list of
        `{ uploadId, name, mime, size, time }`."""
        return await self.ctx._runtime.run_request("run.uploads", {})

    async def read_run_upload(self, upload_id: str) -> Ok | Err:
        """One uploaded file of the current run, with its bytes as `data` (`run.upload.read`)."""
        return await self.ctx._runtime.run_request("run.upload.read", {"uploadId": upload_id})

    # -- dynamic entries and the static UI ------------------------------------------------------------------------

    def register_dynamic_entry(self, entry_id: str, handler: Any, name: str | None = None, description: str = "",
                               input_schema: dict | None = None, kind: str = "action", timeout: float | None = None,
                               llm_result_fields: list | None = None, metadata: dict | None = None,
                               allow_extra_args: bool = False, **_: Any) -> bool:
        """Adds an entry while the plugin runs (`/plugins` shows it with `dynamic: true`); False if the id is taken
        by a decorated entry or a router's, starts with `__llm_tool__` (kept for LLM tools), or the arguments are bad
        (the reason is logged)."""
        from ._signature_schema import check_named_parameters
        from .decorators import LLM_TOOL_ENTRY_PREFIX, plugin_entry

        try:
            if not callable(handler):
                raise TypeError(f"the handler must be callable, not {type(handler).__name__}")
            if isinstance(entry_id, str) and entry_id.startswith(LLM_TOOL_ENTRY_PREFIX):
                raise ValueError(f"the prefix {LLM_TOOL_ENTRY_PREFIX} is kept for LLM tools (register_llm_tool)")
            check_named_parameters(handler, f"entry '{entry_id}'")

            def described() -> None:  # carries the mark, so the handler itself is left as it is
                pass

            plugin_entry(id=entry_id, name=name, description=description, input_schema=input_schema, kind=kind,
                         timeout=timeout, llm_result_fields=llm_result_fields, metadata=metadata,
                         allow_extra_args=allow_extra_args)(described)
            meta = described.__neko_meta__[-1]
            if input_schema is None:  # as the original: a dynamic entry without a schema has none
                meta = {**meta, "inputSchema": None, "inputSchemaInferred": False, "allowExtraArgs": allow_extra_args}
            refused = self.ctx._runtime.add_dynamic_entry(handler, meta)
            if refused is not None:
                raise ValueError(refused)
            return True
        except (TypeError, ValueError) as error:
            self.logger.warning("register_dynamic_entry('{}') refused: {}", entry_id, error)
            return False

    def unregister_dynamic_entry(self, entry_id: str) -> bool:
        return self.ctx._runtime.remove_dynamic_entry(entry_id)

    def enable_entry(self, entry_id: str) -> bool:
        return self.ctx._runtime.set_entry_enabled(entry_id, True)

    def disable_entry(self, entry_id: str) -> bool:
        return self.ctx._runtime.set_entry_enabled(entry_id, False)

    def is_entry_enabled(self, entry_id: str) -> bool | None:
        """True / False for an entry of the plugin (decorated, dynamic or a router's), None for an unknown id."""
        runtime = self.ctx._runtime
        with runtime.registry_lock:
            return runtime.enabled.get(entry_id, True) if entry_id in runtime.entries else None

    def collect_entries(self, wrap_with_hooks: bool = True) -> dict:
        """The enabled entries, `{ id: EntryHandler(meta, handler) }` (`meta` with the original's attribute names:
        `id`, `name`, `description`, `input_schema`, `kind`, `timeout`, …). The handler is the method itself: hooks run
        when the host calls the entry, not when this handler is called."""
        from ._entries import EntryHandler

        runtime = self.ctx._runtime
        with runtime.registry_lock:
            return {e: EntryHandler.of(e, h.meta, h.fn) for e, h in runtime.entries.items()
                    if runtime.enabled.get(e, True)}

    def get_static_ui_config(self) -> dict | None:
        """After a successful `register_static_ui`: `{ enabled, directory, index_file, cache_control, plugin_id }`."""
        return dict(self._static_ui_config) if self._static_ui_config is not None else None

    # -- list actions: kept by the plugin (the host has no list-action surface) ----------------------------------

    def set_list_actions(self, actions: list) -> bool:
        """Replaces the plugin's list actions (each a dict with a non-empty `id`); TypeError / ValueError as the
        original. The host shows them nowhere: `get_list_actions()` reads them back (docs/python-plugins.md)."""
        normalized = []
        for index, action in enumerate(actions):
            if not isinstance(action, dict):
                raise TypeError(f"list action at index {index} must be a mapping")
            action_id = action.get("id")
            if not isinstance(action_id, str) or not action_id.strip():
                raise ValueError(f"list action at index {index} must define a non-empty 'id'")
            normalized.append({str(k): v for k, v in action.items() if isinstance(k, str)})
        self._list_actions = normalized
        return True

    def register_list_action(self, action: dict) -> bool:
        if not isinstance(action, dict):
            raise TypeError("action must be a mapping")
        action_id = action.get("id")
        if not isinstance(action_id, str) or not action_id.strip():
            raise ValueError("action must define a non-empty 'id'")
        item = {str(k): v for k, v in action.items() if isinstance(k, str)}
        item["id"] = action_id.strip()
        return self.set_list_actions([a for a in self._list_actions if a.get("id") != item["id"]] + [item])

    def clear_list_actions(self) -> None:
        self._list_actions = []

    def get_list_actions(self) -> list[dict]:
        return [dict(a) for a in self._list_actions]

    # -- LLM tools: dynamic entries `__llm_tool__<name>` (docs/python-plugins.md#llm-tools) --------------------------

    def _register_llm_tool(self, meta: Any, handler: Any) -> None:
        from .plugin.llm_tool import entry_id_for_tool

        if not callable(handler):
            raise TypeError("LLM tool handler must be callable")
        from ._signature_schema import check_named_parameters

        check_named_parameters(handler, f"LLM tool '{meta.name}'")
        with self.ctx._runtime.registry_lock:  # the check and the adding at once: two threads cannot both pass
            self._register_llm_tool_locked(meta, handler, entry_id_for_tool(meta.name))

    def _register_llm_tool_locked(self, meta: Any, handler: Any, entry_id: str) -> None:
        import inspect

        from .decorators import _timeout, plugin_entry
        from .errors import EntryConflictError

        if meta.name in self._llm_tools:
            raise EntryConflictError(f"duplicate LLM tool name: {meta.name!r}")
        if entry_id in self.ctx._runtime.entries:
            raise EntryConflictError(f"duplicate entry id: {entry_id!r}")
        try:
            takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in inspect.signature(handler).parameters.values())
        except (TypeError, ValueError):
            takes_any = True

        def described() -> None:
            pass

        plugin_entry(id=entry_id, name=meta.name, description=meta.description, input_schema=dict(meta.parameters),
                     metadata={"llm_tool": {"name": meta.name, "role": meta.role, "reply_tail": meta.reply_tail}},
                     timeout=_timeout(meta.timeout_seconds, f"LLM tool '{meta.name}'"), _llm_tool_entry=True)(described)
        entry_meta = {**described.__neko_meta__[-1], "allowExtraArgs": takes_any}
        refused = self.ctx._runtime.add_dynamic_entry(handler, entry_meta)
        if refused is not None:
            if refused.startswith("a decorated entry"):
                raise EntryConflictError(f"duplicate entry id: {entry_id!r}")
            raise ValueError(f"LLM tool '{meta.name}': {refused}")
        self._llm_tools[meta.name] = meta

    def register_llm_tool(self, *, name: str, description: str = "", parameters: dict | None = None,
                          handler: Any = None, timeout: float = 30.0, role: str | None = None,
                          reply_tail: bool = False, **_: Any) -> bool:
        """An LLM tool made while the plugin runs: the entry `__llm_tool__<name>` (in `/plugins` at once).
        ValueError for a bad name or timeout, EntryConflictError for a name taken."""
        from .plugin.llm_tool import LlmToolMeta, _checked_timeout, checked_tool_fields, validate_tool_name

        validate_tool_name(name)
        if parameters is not None and not isinstance(parameters, dict):
            raise TypeError(f"parameters must be a dict, got {type(parameters).__name__}")
        params = dict(parameters) if parameters is not None else {"type": "object", "properties": {}}
        checked_tool_fields(name, description or "", params, role)
        meta = LlmToolMeta(name=name, description=description or "", parameters=params,
                           timeout_seconds=_checked_timeout(timeout), role=role, reply_tail=bool(reply_tail))
        self._register_llm_tool(meta, handler)
        return True

    def unregister_llm_tool(self, name: str) -> bool:
        """Takes the tool (and its entry) away; False if there is no tool of that name."""
        from .plugin.llm_tool import entry_id_for_tool

        with self.ctx._runtime.registry_lock:
            if self._llm_tools.pop(name, None) is None:
                return False
            self.unregister_dynamic_entry(entry_id_for_tool(name))
            return True

    def list_llm_tools(self) -> list[dict]:
        """`[{ name, description, parameters, timeout_seconds, role }]` (with `reply_tail: True` when set)."""
        return [{"name": m.name, "description": m.description, "parameters": dict(m.parameters),
                 "timeout_seconds": m.timeout_seconds, "role": m.role, **({"reply_tail": True} if m.reply_tail else {})}
                for m in self._llm_tools.values()]

    def list_entries(self, include_disabled: bool = False) -> list[dict]:
        """Every entry (decorated and dynamic) as its descriptor: `id`, `name`, `description`, `enabled`, `dynamic`, …"""
        runtime = self.ctx._runtime
        listed = [d for d in runtime.entry_descriptors() if include_disabled or d["enabled"]]
        for d in listed:
            handler = runtime.entries.get(d["id"])
            meta = handler.meta if handler is not None else {}
            # The result schema of `llm_result_model`, which only this side keeps (the host has no place for it).
            d["llmResultSchema"] = meta.get("llmResultSchema")
            # The original's keys, beside the descriptor's own.
            d.update({"event_type": "plugin_entry", "auto_start": d.get("autoStart", False),
                      "model_validate": meta.get("modelValidate", True), "input_schema": d.get("inputSchema") or {},
                      "llm_result_fields": list(d.get("llmResultFields") or []),
                      "llm_result_schema": dict(d["llmResultSchema"] or {})})
        return listed

    def register_static_ui(self, directory: str = "static", *, index_file: str = "index.html",
                           cache_control: str = "no-cache") -> bool:
        """Serves `<plugin>/<directory>` at `/plugin/<id>/ui/` (`static_ui.register`); False with the reason logged."""
        result = to_result(self.ctx._runtime.request_sync(
            "static_ui.register", {"dir": directory, "indexFile": index_file, "cacheControl": cache_control}))
        if isinstance(result, Err):
            self.logger.warning("register_static_ui('{}') refused: {}", directory, result.error)
            return False
        self._static_ui_config = {"enabled": True, "directory": str(Path(self.ctx.config_dir) / directory),
                                  "index_file": index_file, "cache_control": cache_control,
                                  "plugin_id": self.plugin_id}
        return True

    def include_router(self, router: PluginRouter, *, prefix: str | None = None) -> None:
        """Mounts a `PluginRouter`: its entries become the plugin's (ids with `prefix`, default the router's own)."""
        if not isinstance(router, PluginRouter):
            raise TypeError(f"include_router: expected a PluginRouter, not {type(router).__name__}")
        if router.plugin is not None:
            raise ValueError(f"include_router: router '{router.name}' is already included")
        router.plugin = self
        effective = router.prefix if prefix is None else prefix
        try:
            self.ctx._runtime.mount_router(router, effective)
        except Exception:
            router.plugin = None
            raise
        router._neko_prefix = effective
        self.__dict__.setdefault("_neko_routers", []).append(router)
        router.on_mount()

    def exclude_router(self, router: PluginRouter) -> bool:
        """Takes a router's entries and hooks out again; False if it was not included."""
        if isinstance(router, str):  # the original's exclude_router(name)
            router = self.get_router(router)
            if router is None:
                return False
        routers = self.__dict__.get("_neko_routers", [])
        removed = self.ctx._runtime.unmount_router(router) or router in routers
        if removed:
            router.plugin = None
            router._neko_prefix = None
            if router in routers:
                routers.remove(router)
            router.on_unmount()
        return removed

    def get_router(self, name: str) -> PluginRouter | None:
        """The included router named `name` (its `name`, by default its class name), the first one when several
        share it; None when there is none. Follows `exclude_router` at once."""
        return next((r for r in self.__dict__.get("_neko_routers", []) if str(r.name) == name), None)

    def list_routers(self) -> list[str]:
        """The names of the included routers, in the order they were included (as the original: names only)."""
        return [str(r.name) for r in self.__dict__.get("_neko_routers", [])]

    async def finish(self, data: Any = None, reply: Any = None, **_: Any) -> Ok | Err:
        """Ends the run this call belongs to, succeeded with `data` (`run.finish`)."""
        params = {k: v for k, v in {"data": data, "reply": reply}.items() if v is not None}
        return await self.ctx._runtime.run_request("run.finish", params)
