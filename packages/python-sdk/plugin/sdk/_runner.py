"""The Python plugin process (docs/python-plugins.md): reads the bootstrap descriptor, loads the plugin as the
original did (`plugin.plugins.<id>`), says `hello`, and serves the host — calls (sync handlers in a thread pool, async
ones on the asyncio loop), cancel, controls, heartbeat — over docs/wire-protocol.md."""

from __future__ import annotations

import asyncio
import collections
import contextvars
import functools
import importlib
import importlib.util
import inspect
import json
import os
import re
import stat
import sys
import threading
import time
import traceback
import types
import uuid
import concurrent.futures
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable

from . import SDK_VERSION
from ._extensions import ExtensionMounts
from ._host import HostLink, PayloadTooLarge, pack
from ._logger import PluginLogger, install_stdlib_logging
from ._marks import declared_marks
from ._validation import compile_validator
from .base import NekoPluginBase, PluginContext, to_result
from .decorators import entry_problem
from .errors import NotFoundError, SdkError, TimeoutError, ValidationError, to_wire
from .result import Err, Ok

PROTOCOL_VERSION = 1
LOAD_FAILURE_PREFIX = "neko-plugin: could not load the plugin: "
DEFAULT_ENTRY_TIMEOUT_SECONDS = 30.0
OWN_SHUTDOWN_S = 2.5
"""How long the plugin's own `shutdown` may take at a stop (after its extensions', at most 2 s)."""
MAX_BOOTSTRAP_BYTES = 64 * 1024 * 1024
PACKAGE_PATH = re.compile(r"^(?:plugin\.)?plugins\.([A-Za-z_][A-Za-z0-9_]*)$")

# The entry call (or event, or message) the running code belongs to: its chain, deadline and run.
POOL_SIZE = 32
"""The worker threads that run sync handlers."""
OVERDUE_LIMIT = POOL_SIZE - 4
"""When this many worker threads still run a handler past its deadline, the process exits with EXIT_POOL_EXHAUSTED
(docs/python-plugins.md#sync-handlers-and-the-thread-pool): the host's restart policy gives a fresh pool."""
EXIT_POOL_EXHAUSTED = 70

_scope: contextvars.ContextVar[dict | None] = contextvars.ContextVar("neko_call_scope", default=None)


class _Wire:
    """A pipeline's result, already a WireResult (not to be wrapped in `Ok` again)."""

    def __init__(self, result: dict) -> None:
        self.result = result


class _HookFailed(Exception):
    pass


class _HookValidation(Exception):
    def __init__(self, error: ValidationError) -> None:
        super().__init__(error.message)
        self.error = error


class LoadFailure(Exception):
    def __init__(self, wire: dict) -> None:
        super().__init__(wire["message"])
        self.wire = wire


class Handler:
    """One decorated method, bound to the instance, with its mark."""

    def __init__(self, fn: Callable, meta: dict) -> None:
        self.fn = fn
        self.meta = meta
        # `model_validate=False`: no check at all, as `modelValidate: false` in TypeScript; `allow_extra_args=True`:
        # argument names the schema does not declare are let through (docs/python-plugins.md#validation).
        checked = meta.get("inputSchema") and meta.get("modelValidate", True) is not False
        self.validator = compile_validator(meta["inputSchema"], refuse_unknown=meta.get("allowExtraArgs") is not True,
                                           also_known=meta.get("unlistedArgs")) if checked else None
        # An event from the bus lets names the schema does not declare through: it is broadcast, and a producer
        # adding a field must not break its consumers (docs/timers-messages-events.md).
        self.bus_validator = compile_validator(meta["inputSchema"], refuse_unknown=False) \
            if checked and meta.get("kind") == "event" else None


def _fail(message: str) -> None:
    sys.stderr.write(f"plugin runner: {message}; this process must be started by the neko-plugin host\n")
    sys.exit(2)


def _read_bootstrap() -> dict:
    fd_text = os.environ.get("NEKO_BOOTSTRAP_FD")
    if not fd_text:
        _fail("NEKO_BOOTSTRAP_FD is not set")
    try:
        with os.fdopen(int(fd_text), "rb") as channel:
            data = channel.read(MAX_BOOTSTRAP_BYTES + 1)
    except (OSError, ValueError) as error:
        _fail(f"could not read the bootstrap descriptor {fd_text} ({error})")
    if len(data) > MAX_BOOTSTRAP_BYTES:
        _fail("the bootstrap is larger than MAX_BOOTSTRAP_BYTES")
    bootstrap = json.loads(data)
    if not isinstance(bootstrap, dict) or bootstrap.get("protocol") != PROTOCOL_VERSION:
        _fail("the bootstrap is not a protocol 1 document")
    return bootstrap


def _exit_when_the_host_dies() -> None:
    """The host holds our stdin's other end and never writes: end of file means it is gone (even by kill -9)."""
    try:
        mode = os.fstat(0).st_mode
    except OSError:
        return
    if not (stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)):
        return

    def watch() -> None:
        while True:
            try:
                if not os.read(0, 4096):
                    break
            except InterruptedError:
                continue
            except OSError:
                break
        os._exit(0)

    threading.Thread(target=watch, name="neko-host-watch", daemon=True).start()


def _format_seconds(ms: float) -> str:
    return (f"{ms / 1000:.3f}").rstrip("0").rstrip(".") + "s"


def _normalize(value: Any) -> dict:
    """A handler's return value as a WireResult: `Ok` / `Err` as they are, anything else as `Ok`."""
    if isinstance(value, _Wire):
        return value.result
    if isinstance(value, Ok):
        return {"ok": True, "value": value.value}
    if isinstance(value, Err):
        return {"ok": False, "error": to_wire(value.error)}
    return {"ok": True, "value": value}


def _err(error: Any) -> dict:
    return {"ok": False, "error": to_wire(error)}


def _last_line(error: BaseException, plugin_dir: str) -> str:
    """The last line of Python's traceback; for a syntax error, with the file (relative to the plugin) and line."""
    line = traceback.format_exception_only(type(error), error)[-1].strip()
    if isinstance(error, SyntaxError) and error.filename and error.lineno:
        where = os.path.relpath(error.filename, plugin_dir) if os.path.isabs(error.filename) else error.filename
        suffix = f" ({where}, line {error.lineno})"
        if not line.endswith(suffix) and f"({os.path.basename(error.filename)}, line" not in line:
            line += suffix
    return line


def _package_name(plugin_dir: str, manifest: dict) -> str:
    spec = str((manifest.get("plugin") or {}).get("entry", ""))
    match = PACKAGE_PATH.match(spec.rpartition(":")[0])
    if match:
        return match.group(1)
    name = re.sub(r"[^A-Za-z0-9_]", "_", os.path.basename(plugin_dir.rstrip(os.sep)))
    return name if re.match(r"^[A-Za-z_]", name) else f"_{name}"


def load_plugin_class(*, plugin_dir: str, module_path: str, class_name: str, manifest: dict) -> type:
    """The plugin's package as `plugin.plugins.<id>` (and `plugins.<id>`), then its class: what the process runs, and
    what `neko-plugin check` inspects (plugin.sdk._inspect)."""
    name = _package_name(plugin_dir, manifest)
    full = f"plugin.plugins.{name}"
    init = os.path.join(plugin_dir, "__init__.py")
    if "plugins" not in sys.modules:
        alias_root = types.ModuleType("plugins")
        alias_root.__path__ = []  # type: ignore[attr-defined]
        sys.modules["plugins"] = alias_root
    import plugin.plugins as parent

    if os.path.isfile(init):
        spec = importlib.util.spec_from_file_location(full, init, submodule_search_locations=[plugin_dir])
        assert spec and spec.loader
        package = importlib.util.module_from_spec(spec)
    else:
        package = types.ModuleType(full)
        package.__path__ = [plugin_dir]  # type: ignore[attr-defined]
        spec = None
    sys.modules[full] = package
    sys.modules[f"plugins.{name}"] = package
    setattr(parent, name, package)
    setattr(sys.modules["plugins"], name, package)
    if spec is not None:
        spec.loader.exec_module(package)  # type: ignore[union-attr]
    module = package
    relative = os.path.relpath(module_path, plugin_dir)
    if relative != "__init__.py":
        dotted = relative[: -len(".py")].replace(os.sep, ".")
        module = importlib.import_module(f"{full}.{dotted}")
    cls = getattr(module, class_name, None)
    if not isinstance(cls, type):
        raise LoadFailure({
            "name": "SdkError",
            "code": "PLUGIN_LOAD_FAILED",
            "message": f"{relative} has no class '{class_name}'"
            + ("" if cls is None else f" ('{class_name}' is a {type(cls).__name__})"),
        })
    if not issubclass(cls, NekoPluginBase):
        raise LoadFailure({
            "name": "SdkError",
            "code": "PLUGIN_LOAD_FAILED",
            "message": f"class '{class_name}' does not inherit NekoPluginBase (from plugin.sdk.plugin)",
        })
    return cls


class PluginRuntime:
    def __init__(self, bootstrap: dict) -> None:
        self.plugin_id: str = bootstrap["pluginId"]
        self.secret: str = bootstrap["secret"]
        self.plugin_dir = os.environ.get("NEKO_PLUGIN_DIR") or os.getcwd()
        entry = os.environ.get("NEKO_PLUGIN_ENTRY", "")
        self.module_path, _, self.class_name = entry.partition("::")
        context = bootstrap.get("context") or {}
        self.manifest: dict = context.get("manifest") or {}
        self.config: dict = context.get("config") or self.manifest
        # The extensions to load before the hello (docs/extensions.md); absent: the host asked for none.
        self.extension_specs: Any = context.get("extensions")
        self.extensions = ExtensionMounts(self)
        self.link = HostLink(bootstrap["connection"], self._from_host)
        self.logger = PluginLogger(self.plugin_id)
        self.executor = ThreadPoolExecutor(max_workers=POOL_SIZE, thread_name_prefix="neko-entry")
        self.overdue = 0  # worker threads still running a sync handler past its call's deadline
        self.overdue_lock = threading.Lock()
        self.exhausted = False
        self.loop: asyncio.AbstractEventLoop | None = None
        self.instance: NekoPluginBase | None = None
        self.ctx: PluginContext | None = None
        self.entries: dict[str, Handler] = {}
        self.enabled: dict[str, bool] = {}
        self.dynamic: set[str] = set()
        self.registry_lock = threading.RLock()
        self.hello_sent = False
        self.last_saved: dict | None = None
        self.lifecycles: dict[str, list[Handler]] = {}
        self.timers: list[Handler] = []
        self.hooks: list[Handler] = []
        self.bus_handlers: dict[str, list[Callable]] = {}
        self.watches: dict[str, str] = {}
        self.bus_watch_sinks: dict[str, Callable[[dict], Any]] = {}
        self.bus_watch_open: set[str] = set()  # answered by the host: closing them sends bus.unwatch
        self.bus_watch_lock = threading.Lock()
        self.bus_events: collections.deque = collections.deque()
        self.bus_events_draining = False
        self.messages: list[Handler] = []
        self.events: dict[tuple[str, str], Handler] = {}
        self.inflight: dict[str, Callable[[Any], None]] = {}
        self.background: set[asyncio.Task] = set()
        self.finished: asyncio.Event | None = None
        self.exit_code = 0
        self.last_pong = time.monotonic()

    # -- host services, for the SDK's facades --------------------------------------------------------------------

    def chain(self) -> list[str]:
        scope = _scope.get()
        return list(scope["chain"][:-1]) if scope else []

    def _deadline(self) -> float | None:
        scope = _scope.get()
        return scope["deadline"] if scope else None

    def request_sync(self, method: str, params: Any) -> dict:
        if not self.link.is_welcomed and threading.current_thread() is threading.main_thread():
            # The answer could only come after the handshake, which this very code (the constructor) holds up.
            return {"ok": False, "error": {"name": "TransportError", "code": "TRANSPORT_ERROR", "message":
                    f"{method} cannot be asked for before the plugin has started: call it from startup or later"}}
        return self.link.request(method, params, self._deadline()).result()

    async def request_async(self, method: str, params: Any, timeout_s: float | None = None) -> dict:
        """A host service; its deadline is the call scope's, or sooner with `timeout_s`."""
        deadline = self._deadline()
        if timeout_s is not None:
            mine = time.time() * 1000.0 + timeout_s * 1000.0
            deadline = mine if deadline is None else min(deadline, mine)
        future = self.link.request(method, params, deadline)
        try:
            return await asyncio.wrap_future(future)
        except asyncio.CancelledError:
            self.link.cancel_request(future)
            raise

    def notify(self, method: str, params: Any) -> None:
        self.link.notify(method, params)

    async def run_request(self, method: str, params: dict) -> Ok | Err:
        scope = _scope.get()
        if not scope or not scope.get("runId"):
            return Err(SdkError(f"{method}: this code is not running in a run", code="NOT_IN_RUN"))
        return to_result(await self.request_async(method, {"runId": scope["runId"], **params}))

    # -- the bus ----------------------------------------------------------------------------------------------------

    def bus_subscribe(self, event_type: str, handler: Callable) -> Callable[[], None]:
        with self.registry_lock:
            handlers = self.bus_handlers.setdefault(event_type, [])
            if not handlers:
                self.notify("bus.subscribe", {"type": event_type})
            handlers.append(handler)

        def off() -> None:
            with self.registry_lock:
                handlers = self.bus_handlers.get(event_type, [])
                if handler in handlers:
                    handlers.remove(handler)
                    if not handlers:
                        del self.bus_handlers[event_type]
                        self.notify("bus.unsubscribe", {"type": event_type})

        return off

    def run_on_loop(self, coro: Any) -> Any:
        """Runs `coro` on the process's loop from any thread: an asyncio task on the loop's thread, else a
        concurrent future."""
        assert self.loop is not None
        try:
            on_loop = asyncio.get_running_loop() is self.loop
        except RuntimeError:
            on_loop = False
        if on_loop:
            task = self.loop.create_task(coro)
            self.background.add(task)
            task.add_done_callback(self.background.discard)
            return task
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    async def run_in_pool(self, fn: Callable, *args: Any) -> Any:
        """A plain callback in the worker threads, with the caller's context."""
        context = contextvars.copy_context()
        return await self.loop.run_in_executor(self.executor, functools.partial(context.run, fn, *args))

    def register_bus_watch(self, watch_id: str, on_delta: Callable[[dict], Any]) -> None:
        """A `BusWatcher`'s sink, registered when the watcher starts (before `bus.watch` is sent): a `close()` in
        the same turn finds it and the watch is never sent."""
        with self.bus_watch_lock:
            self.bus_watch_sinks[watch_id] = on_delta

    async def open_bus_watch(self, watch_id: str, params: dict) -> dict | None:
        """`bus.watch` for a registered `BusWatcher` (its deltas go to its sink, on the loop, in order); None when it
        was closed before this ran (nothing is sent). Closed while the host answered: the watch is closed at once."""
        with self.bus_watch_lock:
            if watch_id not in self.bus_watch_sinks:
                return None
        answer = await self.request_async("bus.watch", params)
        with self.bus_watch_lock:
            if not answer.get("ok"):
                self.bus_watch_sinks.pop(watch_id, None)
            elif watch_id in self.bus_watch_sinks:
                self.bus_watch_open.add(watch_id)
            else:
                self.notify("bus.unwatch", {"watchId": watch_id})
        return answer

    def close_bus_watch(self, watch_id: str) -> None:
        """Idempotent: forgets the sink; `bus.unwatch` if the host holds the watch (else `open_bus_watch` sends
        it when the answer comes, or nothing was sent)."""
        with self.bus_watch_lock:
            self.bus_watch_sinks.pop(watch_id, None)
            if watch_id in self.bus_watch_open:
                self.bus_watch_open.discard(watch_id)
                self.notify("bus.unwatch", {"watchId": watch_id})

    def _bus_deliver(self, payload: dict) -> None:
        """One `bus.deliver` batch, handled at once and in arrival order as the TypeScript SDK does: its events queued
        for their handlers (one after another, in order, see `_drain_bus_events`), then its deltas applied by their
        watchers (each queues its changes for its subscribers), then `bus.ack`. No handler or subscriber holds the
        ack back: the host's credit window counts batches received, not handled."""
        try:
            for event in payload.get("events") or []:
                if isinstance(event, dict):
                    self.bus_events.append(event)
            if self.bus_events and not self.bus_events_draining:
                self.bus_events_draining = True
                self._spawn(self._drain_bus_events())
            for delta in payload.get("deltas") or []:
                if not isinstance(delta, dict):
                    continue
                sink = self.bus_watch_sinks.get(str(delta.get("watchId")))
                if sink is not None:  # a BusWatcher's
                    try:
                        sink(delta)
                    except Exception:  # noqa: BLE001
                        self.logger.exception("a bus watch delta could not be applied")
                else:
                    self._spawn(self._watched_messages(delta))
        finally:
            # The credit comes back whatever happened: a batch that broke dispatch must not stall the plugin's bus.
            if isinstance(payload.get("batch"), (int, float)):
                self.notify("bus.ack", {"batch": payload["batch"]})

    async def _drain_bus_events(self) -> None:
        """Each queued event to the handlers of its type and of `*`, in order, one handler at a time."""
        try:
            while self.bus_events:
                event = self.bus_events.popleft()
                with self.registry_lock:
                    handlers = [*self.bus_handlers.get(str(event.get("type")), []), *self.bus_handlers.get("*", [])]
                for handler in handlers:
                    await self._bus_handler(handler, event)
        finally:
            self.bus_events_draining = False

    async def _bus_handler(self, handler: Callable, event: dict) -> None:
        try:
            if inspect.iscoroutinefunction(handler):
                await handler(event.get("payload"), event)
            else:
                context = contextvars.copy_context()
                await self.loop.run_in_executor(
                    self.executor, functools.partial(context.run, handler, event.get("payload"), event)
                )
        except Exception:  # noqa: BLE001 - logged; the other handlers still run
            self.logger.exception("a bus handler for '{}' failed", event.get("type"))

    # -- loading -------------------------------------------------------------------------------------------------

    def _load_class(self) -> type:
        return load_plugin_class(plugin_dir=self.plugin_dir, module_path=self.module_path, class_name=self.class_name,
                                 manifest=self.manifest)

    def _collect(self, instance: NekoPluginBase) -> None:
        for attr, meta in declared_marks(type(instance)):
            self._register(getattr(instance, attr), meta)

    @staticmethod
    def _ui_marks(fn: Callable, meta: dict) -> dict:
        """`@quick_action` and `@ui.action` (in any order with `@plugin_entry`) as keys of the entry's metadata."""
        from .decorators import QUICK_ACTION_ATTR, UI_ACTION_ATTR

        marks = {key: getattr(fn, attr, None) for key, attr in (("quick_action", QUICK_ACTION_ATTR),
                                                                 ("ui_action", UI_ACTION_ATTR))}
        marks = {k: v for k, v in marks.items() if isinstance(v, dict)}
        if not marks:
            return meta
        return {**meta, "metadata": {**(meta.get("metadata") or {}), **marks}}

    def _register(self, fn: Callable, meta: dict) -> None:
        kind = meta["kind"]
        if kind == "entry":
            meta = self._ui_marks(fn, meta)
        handler = Handler(fn, meta)
        if kind == "entry":
            if meta["id"] in self.entries:
                raise ValueError(f"entry id '{meta['id']}' is declared twice")
            self.entries[meta["id"]] = handler
            self.enabled[meta["id"]] = True
        elif kind == "lifecycle":
            self.lifecycles.setdefault(meta["id"], []).append(handler)
        elif kind == "timer":
            self.timers.append(handler)
        elif kind == "message":
            self.messages.append(handler)
        elif kind == "event":
            self.events[(meta["eventType"], meta["id"])] = handler
        elif kind == "hook":
            if any(h.meta["id"] == meta["id"] for h in self.hooks):
                raise ValueError(f"hook id '{meta['id']}' is declared twice")
            self.hooks.append(Handler(fn, {**meta, "inputSchema": None}))

    def taken_by(self, entry_id: str) -> str | None:
        """What holds `entry_id`, in words for an error message; None when it is free."""
        handler = self.entries.get(entry_id)
        if handler is None:
            return None
        if handler.meta.get("extension"):
            return f"an entry of extension '{handler.meta['extension']}'"
        if handler.meta.get("router") is not None:
            return "an entry of a router"
        return "a dynamic entry" if entry_id in self.dynamic else "a @plugin_entry method"

    def _descriptor(self, entry_id: str) -> dict:
        meta = self.entries[entry_id].meta
        descriptor = {
            "id": entry_id,
            "name": meta["name"],
            "description": meta["description"],
            "inputSchema": meta["inputSchema"],
            "kind": meta["entryKind"],
            "timeout": meta["timeout"] or DEFAULT_ENTRY_TIMEOUT_SECONDS,
            "llmResultFields": meta["llmResultFields"],
            "autoStart": meta["autoStart"],
            "enabled": self.enabled.get(entry_id, True),
            "dynamic": entry_id in self.dynamic,
            "metadata": meta["metadata"],
        }
        if meta["persist"] is not None:
            descriptor["persist"] = bool(meta["persist"])
        if meta.get("extension"):
            descriptor["extensionId"] = meta["extension"]
        return descriptor

    def _hello(self) -> dict:
        hello = {
            "type": "hello",
            "protocol": PROTOCOL_VERSION,
            "pluginId": self.plugin_id,
            "secret": self.secret,
            "sdkVersion": SDK_VERSION,
            "pid": os.getpid(),
            "entries": [self._descriptor(entry_id) for entry_id in list(self.entries)],
            "events": [
                {
                    "id": h.meta["id"],
                    "eventType": h.meta["eventType"],
                    "kind": h.meta["eventKind"],
                    "triggerMethod": h.meta["triggerMethod"],
                    "custom": h.meta["custom"],
                    "name": h.meta["name"],
                    "description": h.meta["description"],
                    "inputSchema": h.meta["inputSchema"],
                    "timeout": h.meta["timeout"] or DEFAULT_ENTRY_TIMEOUT_SECONDS,
                }
                for h in self.events.values()
            ],
            "hooks": self._hook_descriptors(),
            "timers": [
                {"id": h.meta["id"], "seconds": h.meta["seconds"], "name": h.meta["name"], "autoStart": h.meta["autoStart"]}
                for h in self.timers
            ],
            "messages": [
                {"id": h.meta["id"], "source": h.meta["source"], "autoStart": h.meta["autoStart"]} for h in self.messages
            ],
        }
        extensions = self.extensions.statuses()
        if extensions is not None:
            hello["extensions"] = extensions
        return hello

    def _check_hello(self, hello: dict) -> None:
        """A hello that cannot be packed (metadata holding an object, say) is a refusal naming what cannot go, not an
        exit before the handshake (which the host would restart, forever). So is an entry whose description breaks
        the host's rules (a metadata that is no table, say: its hello would be refused)."""
        for entry in hello.get("entries") or []:
            problem = entry_problem(entry["id"], {**entry, "entryKind": entry.get("kind")})
            if problem:
                raise LoadFailure({"name": "SdkError", "code": "PLUGIN_LOAD_FAILED", "message": problem,
                                   "details": {"kind": "entry", "id": entry["id"]}})
        try:
            pack(hello)
            return
        except Exception as error:  # noqa: BLE001 - msgpack's TypeError, PayloadTooLarge, …
            cause = error
        kinds = {"entries": "entry", "events": "event", "hooks": "hook", "timers": "timer", "messages": "message handler"}
        for key, kind in kinds.items():
            for item in hello.get(key) or []:
                for field, value in item.items():
                    try:
                        pack({"value": value})
                    except Exception as error:  # noqa: BLE001
                        name = item.get("id")
                        raise LoadFailure({
                            "name": "SdkError", "code": "PLUGIN_LOAD_FAILED",
                            "message": f"{kind} '{name}': its {field} cannot be sent to the host: {error}",
                            "details": {"kind": kind, "id": name, "field": field},
                        }) from None
        raise LoadFailure({"name": "SdkError", "code": "PLUGIN_LOAD_FAILED",
                           "message": f"the plugin's description (hello) cannot be sent to the host: {cause}"})

    def _hook_descriptors(self) -> list[dict]:
        return [
            {"id": h.meta["id"], "source": h.meta.get("source") or "plugin", "timing": h.meta["timing"], "target": h.meta["target"],
             "priority": h.meta["priority"], "condition": h.meta["condition"]}
            for h in self.hooks
        ]

    @staticmethod
    def _hook_applies(hook: Handler, entry_id: str) -> bool:
        scope = hook.meta.get("scope")
        if scope is not None and entry_id not in scope:
            return False
        return hook.meta["target"] in ("*", entry_id)

    def mount_router(self, router: Any, prefix: str) -> None:
        """A router's entries (ids with `prefix`) and hooks (on its own entries only) join the plugin's."""
        marked = []
        seen: set[str] = set()
        for klass in type(router).__mro__:
            for attr, raw in vars(klass).items():
                if attr in seen:
                    continue
                seen.add(attr)
                marks = getattr(raw, "__neko_meta__", None)
                for meta in marks or []:
                    marked.append((getattr(router, attr), meta))
        with self.registry_lock:
            entries = {prefix + m["id"]: (fn, m) for fn, m in marked if m["kind"] == "entry"}
            for entry_id in entries:
                if entry_id in self.entries:
                    raise ValueError(f"include_router: entry '{entry_id}' already exists")
            hook_ids = {h.meta["id"] for h in self.hooks}
            for _, m in marked:
                if m["kind"] == "hook" and prefix + m["id"] in hook_ids:
                    raise ValueError(f"include_router: hook '{prefix + m['id']}' already exists")
            for _, m in marked:
                if m["kind"] not in ("entry", "hook"):
                    raise ValueError(f"include_router: a router holds entries and hooks only, not a {m['kind']}")
            added = {prefix + entry_id: pair for entry_id, pair in getattr(router, "_neko_added", {}).items()}
            for entry_id in added:
                if entry_id in self.entries or entry_id in entries:
                    raise ValueError(f"include_router: entry '{entry_id}' already exists")
            scope = set(entries) | set(added)
            # Every handler is built (its schema compiled) before anything changes: all of the router or nothing.
            built = {entry_id: Handler(fn, {**self._ui_marks(fn, m), "id": entry_id, "router": id(router)})
                     for entry_id, (fn, m) in entries.items()}
            built_added = {entry_id: Handler(fn, {**m, "id": entry_id, "router": id(router)})
                           for entry_id, (fn, m) in added.items()}  # `router.add_entry(…)` before it was included
            hooks = []
            for fn, m in marked:
                if m["kind"] == "hook":
                    target = m["target"] if m["target"] == "*" else prefix + m["target"]
                    hooks.append(Handler(fn, {**m, "id": prefix + m["id"], "target": target, "scope": scope,
                                              "router": id(router), "inputSchema": None}))

            def change() -> None:
                for entry_id, handler in [*built.items(), *built_added.items()]:
                    self.entries[entry_id] = handler
                    self.enabled[entry_id] = True
                self.dynamic.update(built_added)
                self.hooks.extend(hooks)

            problem = self._commit(change, [*built, *built_added])
            if problem is not None:
                raise ValueError(f"include_router: {problem}")

    def unmount_router(self, router: Any) -> bool:
        with self.registry_lock:
            mine = [e for e, h in self.entries.items() if h.meta.get("router") == id(router)]
            hooks = [h for h in self.hooks if h.meta.get("router") == id(router)]
            if not mine and not hooks:
                return False
            for entry_id in mine:
                self.entries.pop(entry_id, None)
                self.enabled.pop(entry_id, None)
                self.dynamic.discard(entry_id)
            self.hooks = [h for h in self.hooks if h.meta.get("router") != id(router)]
            self._entries_changed()
            return True

    def entry_descriptors(self) -> list[dict]:
        with self.registry_lock:
            return [self._descriptor(e) for e in self.entries]

    def _entries_frame(self) -> dict:
        frame = {"type": "entries_changed", "entries": [self._descriptor(e) for e in self.entries],
                 "hooks": self._hook_descriptors()}
        extensions = self.extensions.statuses()
        if extensions is not None:
            frame["extensions"] = extensions
        return frame

    def _entries_changed(self) -> None:
        """The whole new list, to the host (once the hello has gone: before it, the hello carries the list)."""
        if self.hello_sent:
            self.link.send(self._entries_frame())

    def _commit(self, change: Callable[[], None], added: list[str]) -> str | None:
        """Makes `change` to the registry (under its lock) and sends the new list, all or nothing: when a new entry's
        descriptor breaks the host's rules (which would make it drop this frame and keep the old list) or the list
        cannot be packed, the registry is put back as it was and the reason is returned. None when done."""
        from ._descriptor_rules import entry_descriptor_problem

        with self.registry_lock:
            saved = (dict(self.entries), dict(self.enabled), set(self.dynamic), list(self.hooks),
                     [(h, set(h.meta["scope"])) for h in self.hooks if isinstance(h.meta.get("scope"), set)])
            try:
                change()
                for entry_id in added:
                    problem = entry_descriptor_problem(self._descriptor(entry_id))
                    if problem:
                        raise ValueError(problem)
                frame = self._entries_frame()
                pack(frame)
            except Exception as error:  # noqa: BLE001 - a bad schema, msgpack's TypeError, PayloadTooLarge, …
                for now, then in zip((self.entries, self.enabled, self.dynamic), saved[:3]):
                    now.clear()
                    now.update(then)
                self.hooks = saved[3]
                for hook, scope in saved[4]:
                    hook.meta["scope"] = scope
                return str(error) or type(error).__name__
            if self.hello_sent:
                self.link.send(frame)
            return None

    def add_dynamic_entry(self, fn: Callable, meta: dict) -> str | None:
        """A dynamic entry (`register_dynamic_entry`, an LLM tool): None when added, else why not."""
        with self.registry_lock:
            entry_id = meta["id"]
            present = self.entries.get(entry_id)
            if present is not None and entry_id not in self.dynamic:
                return f"a decorated entry has the id '{entry_id}'"
            if present is not None and present.meta.get("router") is not None:
                return f"the entry '{entry_id}' belongs to a router"

            def change() -> None:
                self.entries[entry_id] = Handler(fn, meta)
                self.enabled[entry_id] = True
                self.dynamic.add(entry_id)

            return self._commit(change, [entry_id])

    def add_router_entry(self, router: Any, entry_id: str, fn: Callable, meta: dict, replace: bool) -> str | None:
        """`router.add_entry(…)` on an included router: a dynamic entry of the plugin that `exclude_router` takes
        away with the router's others. None when added, else why not."""
        with self.registry_lock:
            present = self.entries.get(entry_id)
            if present is not None and not (replace and present.meta.get("router") == id(router)):
                return f"duplicate entry id: '{entry_id}'"

            def change() -> None:
                self.entries[entry_id] = Handler(fn, {**meta, "id": entry_id, "router": id(router)})
                self.enabled.setdefault(entry_id, True)
                self.dynamic.add(entry_id)
                for hook in self.hooks:  # the router's hooks apply to its entries, added ones too
                    if hook.meta.get("router") == id(router) and isinstance(hook.meta.get("scope"), set):
                        hook.meta["scope"] = hook.meta["scope"] | {entry_id}

            return self._commit(change, [entry_id])

    def remove_router_entry(self, router: Any, entry_id: str) -> bool:
        with self.registry_lock:
            present = self.entries.get(entry_id)
            if present is None or present.meta.get("router") != id(router):
                return False
            self.entries.pop(entry_id, None)
            self.enabled.pop(entry_id, None)
            self.dynamic.discard(entry_id)
            self._entries_changed()
            return True

    def remove_dynamic_entry(self, entry_id: str) -> bool:
        with self.registry_lock:
            if entry_id not in self.dynamic:
                return False
            self.dynamic.discard(entry_id)
            self.entries.pop(entry_id, None)
            self.enabled.pop(entry_id, None)
            self._entries_changed()
            return True

    def set_entry_enabled(self, entry_id: str, enabled: bool) -> bool:
        with self.registry_lock:
            if entry_id not in self.entries:
                return False
            if self.enabled.get(entry_id, True) != enabled:
                self.enabled[entry_id] = enabled
                self._entries_changed()
            return True

    # -- the process -----------------------------------------------------------------------------------------------

    async def run(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.finished = asyncio.Event()
        self.link.start()
        try:
            cls = self._load_class()
            store_enabled = ((self.manifest.get("plugin") or {}).get("store") or {}).get("enabled", True) is not False
            self.ctx = PluginContext(self, plugin_id=self.plugin_id, plugin_dir=self.plugin_dir,
                                     metadata=self.manifest, config=self.config, store_enabled=store_enabled)
            instance = cls(self.ctx)
            if not isinstance(getattr(instance, "ctx", None), PluginContext):
                raise LoadFailure({"name": "SdkError", "code": "PLUGIN_LOAD_FAILED",
                                   "message": f"{self.class_name}.__init__ did not call super().__init__(ctx)"})
            self.instance = instance
            self._collect(instance)
            self._check_hello(self._hello())
            if self.extension_specs is not None:
                await self.extensions.load_at_start(self.extension_specs)
            if self._persist_mode() == "off":
                for entry_id, handler in self.entries.items():
                    if handler.meta.get("persist") is True:
                        self.logger.warning("entry '{}' has persist: true but [plugin_state].persist_mode is off; "
                                            "nothing is saved after its calls", entry_id)
        except BaseException as error:  # noqa: BLE001 - any failure to load is the plugin's refusal
            wire = error.wire if isinstance(error, LoadFailure) else {
                "name": type(error).__name__,
                "code": "PLUGIN_LOAD_FAILED",
                "message": _last_line(error, self.plugin_dir),
                "details": {"traceback": traceback.format_exc()},
            }
            if not isinstance(error, LoadFailure):
                sys.stderr.write(traceback.format_exc())
            self.link.send({"type": "load_failed", "protocol": PROTOCOL_VERSION, "pluginId": self.plugin_id,
                            "secret": self.secret, "error": wire})
            sys.stderr.write(LOAD_FAILURE_PREFIX + json.dumps(wire) + "\n")
            sys.stderr.flush()
            self.link.close()
            self.exit_code = 1
            return
        with self.registry_lock:
            self.link.send(self._hello())
            self.hello_sent = True
        # Used up by the hello, so forgotten. This is no secrecy: the plugin's constructor ran before the hello and
        # could read it (docs/python-plugins.md, "No private state").
        self.secret = ""
        await self.finished.wait()
        self.link.close()

    def _from_host(self, message: dict) -> None:
        """Called in the I/O thread: everything is handled on the loop."""
        assert self.loop is not None
        self.loop.call_soon_threadsafe(self._dispatch, message, time.monotonic())

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self.background.add(task)
        task.add_done_callback(self.background.discard)

    def _dispatch(self, message: dict, received: float) -> None:
        kind = message.get("type")
        if kind == "welcome":
            self.link.welcomed()
            self._spawn(self._startup())
        elif kind == "ping":
            self._pong(message.get("id"), received)
        elif kind == "call":
            self._spawn(self._answer(message["id"], self._call(message)))
        elif kind == "control":
            self._spawn(self._answer(message["id"], self._control(message)))
        elif kind == "cancel":
            stop = self.inflight.get(str(message.get("id")))
            if stop:
                stop(SdkError("the call was canceled", code="CANCELED"))
        elif kind == "shutdown":
            self._spawn(self._shutdown(message["id"]))
        elif kind == "push" and message.get("topic") == "bus.deliver":
            self._bus_deliver(message.get("payload") or {})
        # other pushes and unknown types: nothing to do

    async def _answer(self, call_id: str, work: Any) -> None:
        try:
            result = await work
        except Exception as error:  # noqa: BLE001
            result = _err(error)
        self._send_result(call_id, result)

    def _send_result(self, call_id: str, result: dict) -> None:
        try:
            self.link.send({"type": "result", "id": call_id, "result": result})
        except PayloadTooLarge as error:
            self.link.send({"type": "result", "id": call_id, "result": {"ok": False, "error": {
                "name": "SdkError", "code": "PAYLOAD_TOO_LARGE", "message": f"the result cannot be sent to the host: {error}"}}})
        except (TypeError, ValueError) as error:
            self.link.send({"type": "result", "id": call_id, "result": {"ok": False, "error": {
                "name": "SdkError", "code": "ENTRY_FAILED", "message": f"the result cannot be sent to the host: {error}"}}})

    def _pong(self, ping_id: Any, received: float) -> None:
        lag = max(0.0, (time.monotonic() - received) * 1000.0)
        times = os.times()
        try:
            with open("/proc/self/statm") as statm:
                fields = statm.read().split()
            page = os.sysconf("SC_PAGE_SIZE")
            rss, data = int(fields[1]) * page, int(fields[5]) * page
        except (OSError, ValueError, IndexError):
            rss = data = 0
        stats = {
            "rssBytes": rss,
            "heapUsedBytes": data,
            "heapTotalBytes": data,
            "cpuUserUs": round(times.user * 1e6),
            "cpuSystemUs": round(times.system * 1e6),
            "uptimeMs": round((time.monotonic() - _STARTED) * 1000.0),
            "loopLagP50Ms": lag,
            "loopLagMaxMs": lag,
        }
        self.link.send({"type": "pong", "id": ping_id, "stats": stats})

    # -- lifecycle ---------------------------------------------------------------------------------------------

    def _count_overdue(self, scope: dict) -> None:
        """A call ended by its deadline or a cancel: its worker threads still running are overdue. Too many of them
        and the pool can no longer serve calls while pings still answer, so the process exits (EXIT_POOL_EXHAUSTED)."""
        with self.overdue_lock:
            for record in scope.get("threads", ()):
                if record["running"] and not record["overdue"]:
                    record["overdue"] = True
                    self.overdue += 1
            overdue = self.overdue
        if overdue >= OVERDUE_LIMIT and not self.exhausted:
            self.exhausted = True
            self.logger.error("{} of {} worker threads still run handlers past their deadline; exiting with code {} "
                              "so the host restarts the plugin", overdue, POOL_SIZE, EXIT_POOL_EXHAUSTED)

            def leave() -> None:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(EXIT_POOL_EXHAUSTED)

            # The call that tipped it still gets its timeout answer: the link sends it within the moment.
            self.loop.call_later(0.2, leave)

    def _wait_on_loop(self, coro: Any, scope: dict | None) -> Any:
        """From a worker thread: runs `coro` on the loop and waits for it, never past the call's deadline. The future
        is recorded in the call scope, so a timeout or a cancel of the call cancels it too."""
        future = asyncio.run_coroutine_threadsafe(coro, self.loop)
        pending = scope.setdefault("pending", set()) if scope is not None else None
        if pending is not None:
            pending.add(future)
        deadline = scope.get("deadline") if scope is not None else None
        left = None if deadline is None else max(0.0, (float(deadline) - time.time() * 1000.0) / 1000.0)
        try:
            return future.result(timeout=left)
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise TimeoutError("the call's deadline passed while waiting on the event loop") from None
        finally:
            if pending is not None:
                pending.discard(future)

    def _await_here(self, value: Any) -> Any:
        """A sync function's return value, in its worker thread: an awaitable is awaited on the loop."""
        if inspect.isawaitable(value):
            async def wait() -> Any:
                return await value

            return self._wait_on_loop(wait(), _scope.get())
        return value

    async def _invoke(self, fn: Callable, kwargs: dict) -> Any:
        """Runs a handler: a coroutine function on the loop, anything else in the thread pool (with the call scope)."""
        if inspect.iscoroutinefunction(fn):
            value = await fn(**kwargs)
        else:
            context = contextvars.copy_context()
            scope = _scope.get()
            record = {"running": True, "overdue": False}
            if scope is not None:
                scope.setdefault("threads", []).append(record)

            def run() -> Any:
                try:
                    return context.run(fn, **kwargs)
                finally:
                    with self.overdue_lock:
                        record["running"] = False
                        if record["overdue"]:
                            self.overdue -= 1

            value = await self.loop.run_in_executor(self.executor, run)
        if inspect.isawaitable(value):
            value = await value
        return value

    async def _lifecycle(self, lifecycle_id: str, **kwargs: Any) -> dict:
        return await self._run_handlers(self.lifecycles.get(lifecycle_id, []), lifecycle_id, **kwargs)

    async def _run_handlers(self, handlers: list[Handler], lifecycle_id: str, **kwargs: Any) -> dict:
        """Runs lifecycle handlers in order, the first that fails ending it."""
        result: dict = {"ok": True, "value": None}
        for handler in handlers:
            try:
                result = _normalize(await self._invoke(handler.fn, kwargs))
            except Exception as error:  # noqa: BLE001
                self.logger.exception("lifecycle '{}' failed", lifecycle_id)
                result = _err(error)
            if not result["ok"]:
                break
        return result

    # -- freeze (docs/freeze.md; the class's `freezable` fields, in the TypeScript SDK's state file) ------------------

    def _freezable(self, obj: Any = None) -> list[str]:
        """The fields named by the class's `freezable`, or the original's `__freezable__`."""
        cls = type(obj if obj is not None else self.instance)
        names = getattr(cls, "freezable", None) or getattr(cls, "__freezable__", None) or []
        return [n for n in names if isinstance(n, str)]

    def _state_file(self) -> str:
        return os.path.join(self.plugin_dir, "data", ".neko-state.json")

    def _persist_mode(self) -> str:
        mode = (self.manifest.get("plugin_state") or {}).get("persist_mode", "off")
        return mode if mode in ("off", "auto", "manual") else "off"

    def _fields(self) -> dict:
        """The freezable fields as JSON values; raises ValueError naming one that is not."""
        fields = {}
        for name in self._freezable():
            if not hasattr(self.instance, name):
                continue
            try:
                fields[name] = json.loads(json.dumps(getattr(self.instance, name), allow_nan=False))
            except (TypeError, ValueError) as error:
                raise ValueError(f"{name} cannot be saved: {error} (only JSON values are kept)") from None
        return fields

    def _save(self, fields: dict, *, frozen: bool) -> str:
        state = {"version": 1, "frozen": frozen,
                 "savedAt": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()) + ".000Z", "fields": fields}
        target = self._state_file()
        os.makedirs(os.path.dirname(target), exist_ok=True)
        temporary = f"{target}.{os.getpid()}.tmp"
        with open(temporary, "w", encoding="utf-8") as file:
            file.write(json.dumps(state, indent=2) + "\n")
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, target)
        self.last_saved = fields
        return target

    def _persist_after(self, persist: Any) -> None:
        """`persist_mode` "auto" / "manual": the fields saved after a call (when they changed), before its answer."""
        mode = self._persist_mode()
        if not self._freezable() or not ((mode == "auto" and persist is not False) or (mode == "manual" and persist is True)):
            return
        try:
            fields = self._fields()
            if fields != self.last_saved:
                self._save(fields, frozen=False)
        except (OSError, ValueError) as error:
            self.logger.warning("the state was not saved after the call: {}", error)

    async def _freeze(self) -> dict:
        result = await self._lifecycle("freeze")
        if not result["ok"]:
            return result
        try:
            fields = self._fields()
        except ValueError as error:
            return _err(SdkError(str(error), code="FREEZE_FAILED"))
        try:
            target = self._save(fields, frozen=True)
        except OSError as error:
            return _err(SdkError(f"the state could not be saved: {error}", code="FREEZE_FAILED"))
        return {"ok": True, "value": {"fields": list(fields), "file": target}}

    def _restore(self) -> dict | None:
        """The frozen state, put back on the instance before `startup`; None when there is none."""
        target = self._state_file()
        try:
            with open(target, encoding="utf-8") as file:
                state = json.load(file)
            if not isinstance(state, dict) or state.get("version") != 1 or not isinstance(state.get("fields"), dict):
                raise ValueError("not a state file of this SDK")
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as error:
            aside = f"{target}.damaged-{int(time.time() * 1000)}"
            self.logger.warning("the state file is damaged ({}); moved to {}", error, aside)
            try:
                os.replace(target, aside)
            except OSError:
                pass
            return None
        frozen = state.get("frozen") is True
        if not frozen and self._persist_mode() == "off":
            return None
        freezable = set(self._freezable())
        restored = []
        for name, value in state["fields"].items():
            if name in freezable:
                setattr(self.instance, name, value)
                restored.append(name)
            else:
                self.logger.warning("saved field '{}' is no longer freezable; ignored", name)
        self.last_saved = {k: v for k, v in state["fields"].items() if k in freezable}
        return {"fields": restored, "savedAt": state.get("savedAt"), "frozen": frozen}

    async def _startup(self) -> None:
        thawed = self._restore()
        result = await self._lifecycle("startup")
        if result["ok"] and thawed is not None and thawed["frozen"]:
            after = await self._lifecycle("unfreeze", fields=thawed["fields"], saved_at=thawed["savedAt"])
            if not after["ok"]:
                self.logger.warning("unfreeze answered {}", after["error"]["message"])
            try:
                if self._persist_mode() == "off":
                    os.remove(self._state_file())
                else:  # kept, unmarked: a later restart resumes the same state
                    self._save(self._fields(), frozen=False)
            except (OSError, ValueError) as error:
                self.logger.warning("the frozen mark could not be taken off: {}", error)
        if result["ok"]:
            # The extensions loaded with the process start after the plugin's own startup, before it is ready.
            await self.extensions.start_all()
        self.link.send({"type": "ready", "startup": result})
        if not result["ok"]:
            return
        for handler in self.timers:
            if handler.meta["autoStart"]:
                self._spawn(self._timer(handler))
        self._spawn(self._watch_message_sources())
        # `@on_event` / `@custom_event` handlers listen to bus events of their type too (docs/bus.md).
        for event_type in dict.fromkeys(t for t, _ in self.events):
            self.bus_subscribe(event_type, functools.partial(self._bus_event, event_type))
        for entry_id, handler in self.entries.items():
            if handler.meta["autoStart"]:
                self._spawn(self._auto_call(entry_id))

    async def _timer(self, handler: Handler) -> None:
        while True:
            await asyncio.sleep(handler.meta["seconds"])
            try:
                result = _normalize(await self._invoke(handler.fn, {}))
                if not result["ok"]:
                    self.logger.warning("timer '{}' answered {}", handler.meta["id"], result["error"]["message"])
            except Exception:  # noqa: BLE001 - logged; the timer goes on
                self.logger.exception("timer '{}' failed", handler.meta["id"])

    async def _bus_event(self, event_type: str, payload: Any, event: dict) -> None:
        """A bus event of a type the plugin's event handlers name: each runs with the payload as its arguments."""
        self._spawn(self._bus_event_handlers(event_type, payload))

    async def _bus_event_handlers(self, event_type: str, payload: Any) -> None:
        for (kind, event_id), handler in list(self.events.items()):
            if kind != event_type:
                continue
            label = f"event '{kind}:{event_id}'"
            checked = self._check_args(handler, payload if payload is not None else {}, from_bus=True)
            if isinstance(checked, dict) and checked.get("ok") is False:
                result = checked
            else:
                timeout = handler.meta["timeout"] or DEFAULT_ENTRY_TIMEOUT_SECONDS
                call = {"id": f"bus:{kind}:{event_id}:{time.monotonic()}", "timeoutMs": timeout * 1000.0}
                result = await self._bounded(call, timeout, label, handler.fn, checked, ("event", f"{kind}:{event_id}"))
            if not result["ok"]:
                self.logger.warning("{} failed on a bus event: {}", label, result["error"]["message"])

    async def _auto_call(self, entry_id: str) -> None:
        started = time.monotonic()
        budget = self.entries[entry_id].meta["timeout"] or DEFAULT_ENTRY_TIMEOUT_SECONDS
        result = await self._call({"id": f"auto:{entry_id}", "entryId": entry_id, "args": {},
                                   "timeoutMs": budget * 1000.0, "deadline": time.time() * 1000.0 + budget * 1000.0})
        self.notify("entry.auto_called", {"entryId": entry_id, "result": result,
                                          "durationMs": (time.monotonic() - started) * 1000.0})

    async def _shutdown(self, shutdown_id: str) -> None:
        for stop in list(self.inflight.values()):
            stop(SdkError("the plugin is shutting down", code="CANCELED"))
        # Its extensions go first (an inject still running cancelled, their shutdown within 2 s together); its own
        # then has a time of its own, whatever they took (the host waits 5 s in all).
        await self.extensions.remove_all()
        try:
            result = await asyncio.wait_for(self._lifecycle("shutdown"), timeout=OWN_SHUTDOWN_S)
        except asyncio.TimeoutError:
            result = _err(TimeoutError("shutdown timed out"))
        if self._persist_mode() == "auto" and self.instance is not None:
            self._persist_after(None)
        self._send_result(shutdown_id, result)
        if self.ctx is not None:
            self.ctx._store.close()
            self.ctx._db.close_sync()
        assert self.finished is not None
        self.finished.set()

    # -- calls ---------------------------------------------------------------------------------------------------

    async def _call(self, call: dict) -> dict:
        entry_id = call.get("entryId")
        handler = self.entries.get(entry_id)
        if handler is None:
            return _err(NotFoundError(f"plugin '{self.plugin_id}' has no entry '{entry_id}'", code="ENTRY_NOT_FOUND"))
        if not self.enabled.get(entry_id, True):
            return _err(SdkError(f"entry '{entry_id}' is disabled", code="ENTRY_DISABLED"))
        checked = self._check_args(handler, call.get("args"))
        if isinstance(checked, dict) and checked.get("ok") is False:
            return checked
        timeout = handler.meta["timeout"] or DEFAULT_ENTRY_TIMEOUT_SECONDS
        hooks = [h for h in self.hooks if self._hook_applies(h, entry_id)]
        if hooks:
            pipeline = self._pipeline(entry_id, handler, hooks)
            result = await self._bounded(call, timeout, f"entry '{entry_id}'", pipeline, {"args": checked},
                                         ("entry", entry_id))
        else:
            result = await self._bounded(call, timeout, f"entry '{entry_id}'", handler.fn, checked, ("entry", entry_id))
        self._persist_after(handler.meta.get("persist"))
        return result

    def _pipeline(self, entry_id: str, handler: Handler, hooks: list[Handler]) -> Callable:
        """The hook chain of one call (docs/hooks.md): before hooks, around hooks wrapping a replace hook or the
        entry, after hooks; lowest priority first, declaration order among equals."""
        # At equal priority the plugin's own hooks (and its routers') first, then the extensions' by their ids.
        ordered = sorted(hooks, key=lambda h: (h.meta["priority"], h.meta.get("extension") or ""))
        befores, arounds, replaces, afters = (
            [h for h in ordered if h.meta["timing"] == timing] for timing in ("before", "around", "replace", "after")
        )

        def applies(hook: Handler, args: dict) -> bool:
            test = hook.meta.get("test")
            return test is None or test(args, entry_id)

        def label(hook: Handler) -> str:
            source = hook.meta.get("source")
            return f"{hook.meta['timing']} hook '{hook.meta['id']}'" + (f" (from {source})" if source else "")

        async def call_hook(hook: Handler, **kwargs: Any) -> Any:
            try:
                return await self._invoke(hook.fn, {"entry_id": entry_id, **kwargs})
            except (_HookFailed, _HookValidation, asyncio.CancelledError):
                raise
            except Exception as error:  # noqa: BLE001
                raise _HookFailed(f"{label(hook)} threw: {error}") from error

        def revalidate(hook: Handler, new_args: Any, verb: str) -> dict:
            if not isinstance(new_args, dict):
                raise _HookFailed(f"{label(hook)} {verb} {type(new_args).__name__}, which it may not")
            if handler.validator is None:
                return new_args
            try:
                return handler.validator(new_args)
            except ValidationError as error:
                reason = error.message.removeprefix("invalid arguments: ")
                raise _HookValidation(ValidationError(f"{label(hook)} {verb} invalid arguments: {reason}",
                                                      details=error.details)) from None

        async def center(args: dict) -> dict:
            for hook in replaces:
                if applies(hook, args):
                    return _normalize(await call_hook(hook, args=args))
            try:
                return _normalize(await self._invoke(handler.fn, args))
            except asyncio.CancelledError:
                raise
            except Exception as error:  # noqa: BLE001
                if not isinstance(error, SdkError):
                    self.logger.error("entry '{}' raised {}: {}", entry_id, type(error).__name__, error)
                return _err(error)

        def center_here(args: dict) -> Callable[[], dict] | None:
            """The innermost layer run in the calling worker thread, when it is a sync function; None otherwise."""
            for hook in replaces:
                if applies(hook, args):
                    if inspect.iscoroutinefunction(hook.fn):
                        return None
                    return lambda: _normalize(call_hook_here(hook, args=args))
            if inspect.iscoroutinefunction(handler.fn):
                return None

            def run() -> dict:
                try:
                    return _normalize(self._await_here(handler.fn(**args)))
                except Exception as error:  # noqa: BLE001
                    if not isinstance(error, SdkError):
                        self.logger.error("entry '{}' raised {}: {}", entry_id, type(error).__name__, error)
                    return _err(error)

            return run

        def call_hook_here(hook: Handler, **kwargs: Any) -> Any:
            try:
                return self._await_here(hook.fn(**{"entry_id": entry_id, **kwargs}))
            except (_HookFailed, _HookValidation):
                raise
            except Exception as error:  # noqa: BLE001
                raise _HookFailed(f"{label(hook)} threw: {error}") from error

        def layer(hook: Handler, inner: Callable, inner_here: Callable[[dict], Callable[[], dict] | None]):
            def make_proceed(args: dict, results: list[dict], scope: dict | None) -> Callable:
                def proceed(**new_args: Any) -> Any:
                    given = revalidate(hook, new_args, "passed") if new_args else args

                    async def go() -> Any:
                        token = _scope.set(scope)
                        try:
                            result = await inner(given)
                            results.append(result)
                            return to_result(result)
                        finally:
                            _scope.reset(token)

                    try:
                        asyncio.get_running_loop()
                    except RuntimeError:  # a sync hook, in a worker thread
                        here = inner_here(given)
                        if here is not None:  # the next layer is sync too: run it in this thread, no second one
                            result = here()
                            results.append(result)
                            return to_result(result)
                        return self._wait_on_loop(go(), scope)
                    return go()

                return proceed

            async def run_layer(args: dict) -> dict:
                if not applies(hook, args):
                    return await inner(args)
                results: list[dict] = []
                value = await call_hook(hook, args=args, proceed=make_proceed(args, results, _scope.get()))
                if value is None and results:
                    return results[-1]
                return _normalize(value)

            def run_layer_here(args: dict) -> Callable[[], dict] | None:
                if not applies(hook, args):
                    return inner_here(args)
                if inspect.iscoroutinefunction(hook.fn):
                    return None

                def run() -> dict:
                    results: list[dict] = []
                    value = call_hook_here(hook, args=args, proceed=make_proceed(args, results, _scope.get()))
                    if value is None and results:
                        return results[-1]
                    return _normalize(value)

                return run

            return run_layer, run_layer_here

        chain: Callable = center
        chain_here: Callable[[dict], Callable[[], dict] | None] = center_here
        for hook in reversed(arounds):
            chain, chain_here = layer(hook, chain, chain_here)

        async def pipeline(args: dict) -> _Wire:
            try:
                for hook in befores:
                    if not applies(hook, args):
                        continue
                    value = await call_hook(hook, args=args)
                    if isinstance(value, Ok):
                        value = value.value
                    if value is None:
                        continue
                    if isinstance(value, Err):
                        return _Wire(_err(value.error))
                    args = revalidate(hook, value, "returned")
                result = await chain(args)
                for hook in afters:
                    if applies(hook, args):
                        value = await call_hook(hook, args=args, result=to_result(result))
                        if value is not None:
                            result = _normalize(value)
                return _Wire(result)
            except _HookFailed as failure:
                return _Wire(_err(SdkError(str(failure), code="HOOK_FAILED")))
            except _HookValidation as invalid:
                return _Wire(_err(invalid.error))

        return pipeline

    def _check_args(self, handler: Handler, args: Any, from_bus: bool = False) -> Any:
        args = {} if args is None else args
        if not isinstance(args, dict):
            return _err(ValidationError("invalid arguments: args must be an object"))
        validator = handler.bus_validator if from_bus else handler.validator
        if validator is not None:
            try:
                args = validator(args)
            except ValidationError as error:
                return _err(error)
        model = handler.meta.get("model")
        if model is not None and hasattr(model, "model_validate"):
            try:
                model.model_validate(args)
            except Exception as error:  # noqa: BLE001 - Pydantic's ValidationError
                issues = [{"field": ".".join(map(str, e.get("loc", ()))) or "(args)", "message": e.get("msg", "")}
                          for e in getattr(error, "errors", lambda: [])()]
                text = "; ".join(f"{i['field']}: {i['message']}" for i in issues) or str(error)
                return _err(ValidationError(f"invalid arguments: {text}", details={"issues": issues}))
        return args

    async def _bounded(self, call: dict, timeout_s: float, label: str, fn: Callable, kwargs: dict,
                       named: tuple[str, str] | None = None, outcome: dict | None = None) -> dict:
        """Runs `fn(**kwargs)` as call `call["id"]`, within min(its timeout, the caller's budget), stoppable.
        `named`: ("entry", entry id) or ("event", "<type>:<id>"), for the one shape of a timeout
        (docs/wire-protocol.md#timeouts); without it (a message handler) the message keeps `label`. `outcome`, when
        given, gets `stopped`: "was canceled" or "timed out" when the call was stopped rather than answered."""
        given = call.get("timeoutMs")
        budget_ms = min(timeout_s * 1000.0, float(given) if isinstance(given, (int, float)) else timeout_s * 1000.0)
        deadline = float(call.get("deadline") or time.time() * 1000.0 + budget_ms)
        wait_ms = max(0.0, min(budget_ms, deadline - time.time() * 1000.0))
        scope = {"chain": [*(call.get("chain") or []), self.plugin_id], "deadline": deadline, "runId": call.get("runId"),
                 "callId": call["id"]}
        stopped: asyncio.Future = self.loop.create_future()

        def stop(reason: Any) -> None:
            if not stopped.done():
                stopped.set_result(reason)

        self.inflight[call["id"]] = stop
        token = _scope.set(scope)
        try:
            task = asyncio.ensure_future(self._invoke(fn, kwargs))
        finally:
            _scope.reset(token)
        try:
            done, _ = await asyncio.wait({task, stopped}, timeout=wait_ms / 1000.0, return_when=asyncio.FIRST_COMPLETED)
            if task in done:
                try:
                    return _normalize(task.result())
                except Exception as error:  # noqa: BLE001
                    if not isinstance(error, SdkError):
                        self.logger.error("{} raised {}: {}\n{}", label, type(error).__name__, error,
                                          "".join(traceback.format_exception(error)))
                    return _err(error)
            task.cancel()
            self._count_overdue(scope)
            if outcome is not None:
                outcome["stopped"] = "was canceled" if stopped in done else "timed out"
            if stopped in done:
                return _err(stopped.result())
            kind, entry = named or ("", call["id"])
            details = {"plugin": self.plugin_id, "entry": entry, "timeoutMs": budget_ms, "firedBy": "plugin"}
            what = f"{kind} '{self.plugin_id}:{entry}'" if kind in ("entry", "event") else label
            return _err(TimeoutError(f"{what} timed out after {_format_seconds(budget_ms)}", details=details))
        finally:
            if self.inflight.get(call["id"]) is stop:  # unless another call took the id since, as ServedRequests
                del self.inflight[call["id"]]
            for future in list(scope.get("pending", ())):
                future.cancel()

    # -- controls ------------------------------------------------------------------------------------------------

    def counts(self) -> dict:
        """What the runtime holds now (`runtime.counts`), so a test can see that loading and unloading an extension
        leaves nothing behind."""
        with self.registry_lock:
            return {
                "entries": len(self.entries),
                "hooks": len(self.hooks),
                "timers": sum(1 for h in self.timers if h.meta["autoStart"]),
                "busHandlers": sum(len(h) for h in self.bus_handlers.values()),
                "busWatches": len(self.watches),
                **self.extensions.counts(),
            }

    async def _control(self, control: dict) -> dict:
        op = control.get("op")
        payload = control.get("payload") or {}
        if op == "config.apply":
            return await self._config_apply(payload)
        if op == "deliver_message":
            return await self._deliver(control, payload)
        if op == "run_event":
            return await self._run_event(control, payload)
        if op == "freeze":
            return await self._freeze()
        if op == "extension.inject":
            return {"ok": True, "value": await self.extensions.inject(payload)}
        if op == "extension.remove" and isinstance(payload, dict):
            return {"ok": True, "value": {"id": payload.get("id"), "removed": await self.extensions.remove(payload.get("id"))}}
        if op == "runtime.counts":
            return {"ok": True, "value": self.counts()}
        if op == "lifecycle" and isinstance(payload, dict):
            return await self._lifecycle(str(payload.get("id")), **({"arg": payload["arg"]} if "arg" in payload else {}))
        return _err(NotFoundError(f"unknown control operation '{op}'"))

    async def _config_apply(self, payload: dict) -> dict:
        assert self.ctx is not None
        old = self.ctx._config
        new = payload.get("config") if isinstance(payload.get("config"), dict) else old
        lifecycle = payload.get("lifecycle")
        if payload.get("extension"):
            return await self.extensions.apply_config(str(payload["extension"]), payload)
        self.ctx._config = new
        if isinstance(payload.get("manifest"), dict):
            self.ctx.metadata = payload["manifest"]
        if lifecycle not in ("config_change", "reload") or not self.lifecycles.get(lifecycle):
            return {"ok": True, "value": {"handled": False}}
        result = await self._lifecycle(lifecycle, old_config=old, new_config=new, mode=payload.get("mode"))
        if not result["ok"]:
            self.ctx._config = old
            return result
        return {"ok": True, "value": {"handled": True}}

    async def _deliver(self, control: dict, payload: dict) -> dict:
        message = payload.get("message")
        if not isinstance(message, dict) or not isinstance(message.get("source"), str) or not isinstance(message.get("text"), str):
            return _err(ValidationError("invalid message: source and text must be strings"))
        handlers = await self._message_handlers(message, control["id"], control.get("deadline"), any_source=True)
        return {"ok": True, "value": {"handlers": handlers}}

    async def _message_handlers(self, message: dict, call_id: str, deadline: Any, *, any_source: bool) -> list[dict]:
        """Runs the `@message` handlers that take `message`, in order. `any_source`: also those without a `source`
        (a delivery to this plugin, not a message seen on the bus)."""
        handlers = []
        outcome: dict = {}
        for handler in self.messages:
            wanted = handler.meta["source"]
            if wanted != message["source"] and not (any_source and wanted is None):
                continue
            if outcome.get("stopped"):
                # The delivery was canceled or ran out of time: the handlers after the stopped one do not start.
                handlers.append({"id": handler.meta["id"], "result": _err(SdkError(
                    f"message handler '{handler.meta['id']}' did not run: the delivery {outcome['stopped']}",
                    code="CANCELED"))})
                continue
            # Each handler is served under the delivery's own id, one after another, as the TypeScript runtime does:
            # the host's `cancel` names that id, so it stops the handler running then. The budget is what is left
            # until the delivery's deadline (30 s without one), and a timeout names the handler `message:<id>`.
            until = float(deadline) if deadline else time.time() * 1000.0 + DEFAULT_ENTRY_TIMEOUT_SECONDS * 1000.0
            call = {"id": call_id, "timeoutMs": max(0.0, until - time.time() * 1000.0), "deadline": until}
            result = await self._bounded(call, DEFAULT_ENTRY_TIMEOUT_SECONDS, f"message handler '{handler.meta['id']}'",
                                         handler.fn, dict(message), ("message", f"message:{handler.meta['id']}"),
                                         outcome)
            if outcome.get("stopped") == "timed out" and (not deadline or float(deadline) - time.time() * 1000.0 > 50):
                outcome.clear()  # the handler's own 30 s cap, no delivery deadline or one ahead: the next ones run
            handlers.append({"id": handler.meta["id"], "result": result})
        if handlers:
            self._persist_after(None)
        return handlers

    async def _watch_message_sources(self) -> None:
        """A `@message` handler that names a `source` also gets the messages other plugins push with that source:
        one watch of the `messages` namespace per source (docs/bus.md)."""
        for source in dict.fromkeys(h.meta["source"] for h in self.messages if h.meta["source"] is not None):
            watch_id = f"messages:{uuid.uuid4().hex}"
            self.watches[watch_id] = source
            params = {"watchId": watch_id, "namespace": "messages",
                      "filters": {"source": source, "sinceTs": time.time() * 1000.0}}
            opened = await self.request_async("bus.watch", params)
            if not opened.get("ok"):
                self.watches.pop(watch_id, None)
                self.logger.warning("could not follow bus messages from source '{}': {}", source,
                                    (opened.get("error") or {}).get("message"))

    async def _watched_messages(self, delta: dict) -> None:
        source = self.watches.get(str(delta.get("watchId")))
        if source is None:
            return
        for record in delta.get("added") or []:
            if not isinstance(record, dict) or record.get("pluginId") == self.plugin_id or record.get("source") != source:
                continue
            data = record.get("data") if isinstance(record.get("data"), dict) else {}
            content = data.get("content")
            message = {
                "source": record.get("source"),
                "text": content if isinstance(content, str) else str(data.get("description") or ""),
                "sender": record.get("pluginId") or "host",
                "messageType": record.get("type"),
                "description": data.get("description") or "",
                "priority": record.get("priority"),
                "metadata": data.get("metadata") or {},
                "busRecordId": record.get("id"),
            }
            for item in await self._message_handlers(message, f"bus:{record.get('id')}", None, any_source=False):
                if not item["result"]["ok"]:
                    self.logger.warning("message handler '{}' failed on a bus message: {}", item["id"],
                                        item["result"]["error"]["message"])

    async def _run_event(self, control: dict, payload: dict) -> dict:
        key = (str(payload.get("eventType")), str(payload.get("eventId")))
        handler = self.events.get(key)
        if handler is None:
            return _err(NotFoundError(
                f"plugin '{self.plugin_id}' has no event handler '{key[0]}:{key[1]}'",
                code="EVENT_NOT_FOUND",
                details={"events": [f"{t}:{i}" for t, i in self.events]},
            ))
        checked = self._check_args(handler, payload.get("args"))
        if isinstance(checked, dict) and checked.get("ok") is False:
            return checked
        timeout = handler.meta["timeout"] or DEFAULT_ENTRY_TIMEOUT_SECONDS
        call = {"id": control["id"], "timeoutMs": payload.get("timeoutMs"), "deadline": control.get("deadline"),
                "chain": payload.get("chain"), "runId": payload.get("runId")}
        result = await self._bounded(call, timeout, f"event '{key[0]}:{key[1]}'", handler.fn, checked,
                                     ("event", f"{key[0]}:{key[1]}"))
        self._persist_after(None)
        return result


_STARTED = time.monotonic()


def main() -> None:
    bootstrap = _read_bootstrap()
    install_stdlib_logging()
    _exit_when_the_host_dies()
    runtime = PluginRuntime(bootstrap)
    bootstrap.clear()  # the secret and the keys: the runtime holds what it needs
    try:
        asyncio.run(runtime.run())
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
    # Handler threads that never returned (a sync entry past its timeout) must not keep the process alive.
    os._exit(runtime.exit_code)
