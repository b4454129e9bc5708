"""The extensions loaded into a Python plugin process (docs/extensions.md, docs/python-plugins.md): the Python port of
the TypeScript runtime's `extension-mounts.ts`, served over the same wire messages (`extensions` in the bootstrap
context, the `extension.inject` / `extension.remove` controls, `config.apply` with `extension`, the `extensions` list
of the hello and of `entries_changed`).

Loading one imports its module, builds its class with a context of its own (its id, folder, manifest, configuration
and store; the host plugin's process, logger and connection), and prepares its entries (`<prefix><id>`, marked with
its id), hooks and timers; they join the plugin's all at once or not at all. Those the process starts with join
before its hello and run their `startup` after the plugin's; one injected later runs its `startup` first and joins
once it has started. Taking one out removes its entries and hooks, stops its timers, waits (briefly) for its calls in
flight, runs its `shutdown`, and releases what it registered (bus handlers, `on_dispose` callbacks, its store). A
broken extension is reported `failed` with the reason, and the plugin runs on. Every step is bounded in time but its
class's constructor, which runs on the event loop (as the plugin's own and a TypeScript extension's)."""

from __future__ import annotations

import asyncio
import hashlib
import importlib.util
import inspect
import os
import re
import sys
import threading
import time
import types
from typing import TYPE_CHECKING, Any, Callable

from ._database import PluginDatabase
from ._logger import PluginLogger
from ._marks import declared_marks
from ._state import PluginStatePersistence
from .base import Bus, PluginContext

if TYPE_CHECKING:
    from ._runner import Handler, PluginRuntime

STEP_TIMEOUT_S = 10.0
"""How long loading (its import, in a thread of its own), a `startup` or a `shutdown` of an extension may take."""
SHUTDOWN_AT_STOP_S = 2.0
"""How long the plugin's stop waits for its extensions' `shutdown` handlers, together."""
DRAIN_S = 5.0
"""How long taking an extension out waits for its calls in flight before its `shutdown` runs anyway."""
MAX_REASON_LENGTH = 4096
"""The longest `reason` the host takes, in UTF-16 code units (JavaScript's `length`: a character beyond U+FFFF, an
emoji say, counts twice)."""
LIFECYCLES = ("startup", "shutdown", "config_change", "reload")
PLUGIN_ONLY = {"message": "@message", "event": "@on_event/@custom_event"}


class _Calls:
    """The calls (entries and hooks) of one extension running now, so taking it out can wait for them."""

    def __init__(self) -> None:
        self.count = 0
        self.lock = threading.Lock()

    def track(self, fn: Callable) -> Callable:
        """`fn`, counted while it runs; an `async def` stays one (the runner runs it on the loop, not in a thread)."""
        calls = self
        if inspect.iscoroutinefunction(fn):
            async def tracked_async(*args: Any, **kwargs: Any) -> Any:
                calls._enter()
                try:
                    return await fn(*args, **kwargs)
                finally:
                    calls._leave()

            return tracked_async

        def tracked(*args: Any, **kwargs: Any) -> Any:
            calls._enter()
            try:
                return fn(*args, **kwargs)
            finally:
                calls._leave()

        return tracked

    def _enter(self) -> None:
        with self.lock:
            self.count += 1

    def _leave(self) -> None:
        with self.lock:
            self.count -= 1

    async def drained(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while self.count > 0 and time.monotonic() < end:
            await asyncio.sleep(0.02)


class _ExtensionBus(Bus):
    """The host plugin's bus connection; the handlers an extension subscribes end when it is taken out."""

    def __init__(self, runtime: "PluginRuntime", scope: list) -> None:
        super().__init__(runtime)
        self._scope = scope

    def on(self, event_type: str, handler: Any) -> Any:
        off = super().on(event_type, handler)
        self._scope.append(off)

        def unsubscribe() -> None:
            off()
            if off in self._scope:
                self._scope.remove(off)

        return unsubscribe

    subscribe = on


class ExtensionContext(PluginContext):
    """`ctx` of an extension: its own folder, manifest, configuration and store; the host plugin's process."""

    def __init__(self, runtime: "PluginRuntime", spec: dict, host: Any, scope: list) -> None:
        manifest = spec.get("manifest") if isinstance(spec.get("manifest"), dict) else {}
        store = ((manifest.get("plugin") or {}).get("store") or {}).get("enabled", True) is not False
        super().__init__(runtime, plugin_id=runtime.plugin_id, plugin_dir=spec["dir"], metadata=manifest,
                         config=spec.get("config") if isinstance(spec.get("config"), dict) else {},
                         store_enabled=store)
        self.extension_id: str = spec["id"]
        self.host_id: str = runtime.plugin_id
        # As a TypeScript extension: no database and no freeze state of its own (the host plugin's are not its).
        self._db = PluginDatabase(plugin_id=spec["id"], data_dir=os.path.join(spec["dir"], "data"), enabled=False,
                                  name=f"{spec['id']}.db",
                                  disabled_message=f"extension '{spec['id']}' has no self.db (it has its own self.store)")
        self._state = PluginStatePersistence(
            runtime, refused=f"extension '{spec['id']}' has no self.state (it has its own self.store)")
        self.prefix: str = spec.get("prefix") or ""
        self.host = host
        self.logger = PluginLogger(runtime.plugin_id, extension=spec["id"])
        self.file_logger = self.logger
        self.bus = _ExtensionBus(runtime, scope)
        self._scope = scope

    def push_message(self, **kwargs: Any):
        kwargs.setdefault("source", self.extension_id)
        return super().push_message(**kwargs)


class _Mounted:
    def __init__(self, spec: dict, instance: Any, ctx: ExtensionContext, entries: list, hooks: list,
                 timers: list, lifecycles: dict, calls: _Calls, scope: list) -> None:
        self.spec = spec
        self.id: str = spec["id"]
        self.instance = instance
        self.ctx = ctx
        self.entries: list[tuple[str, "Handler"]] = entries
        self.hooks: list["Handler"] = hooks
        self.timers: list["Handler"] = timers
        self.timer_tasks: list[asyncio.Task] = []
        self.lifecycles: dict[str, list["Handler"]] = lifecycles
        self.calls = calls
        self.scope = scope
        self.started = False
        self.package = ""
        """Its package's name in `sys.modules`, and the `plugins.<folder>` aliases it holds."""
        self.aliases: list[str] = []


class _Unusable(Exception):
    """The module loaded but holds no usable extension class."""


def _utf16_length(text: str) -> int:
    return len(text) + sum(1 for c in text if ord(c) > 0xFFFF)


def _reason(why: str) -> str:
    """`why`, cut to the host's limit counted as the host counts (UTF-16 code units), never inside a character."""
    if _utf16_length(why) <= MAX_REASON_LENGTH:
        return why
    kept, units = [], 0
    for c in why:
        units += 2 if ord(c) > 0xFFFF else 1
        if units > MAX_REASON_LENGTH - 1:  # room for the "…" (one unit)
            break
        kept.append(c)
    return "".join(kept) + "…"


def _message(error: BaseException) -> str:
    return str(error) or type(error).__name__


class ExtensionMounts:
    def __init__(self, runtime: "PluginRuntime") -> None:
        self.runtime = runtime
        self.mounted: dict[str, _Mounted] = {}
        self.failed: dict[str, str] = {}
        self.asked = False
        self.plugin_started = False
        self.closed = False
        self._lock: asyncio.Lock | None = None
        self._running: asyncio.Task | None = None
        self._loading: set[str] = set()
        """The packages an import thread is executing now (one past its time limit included)."""
        self._aliases: dict[str, str] = {}
        """`plugin.plugins.<folder>` / `plugins.<folder>` names held by an extension's package: by which."""
        """An inject or the start of the extensions, while it runs: the plugin's stop cancels it."""

    # -- what the host sees ------------------------------------------------------------------------------------

    def statuses(self) -> list[dict] | None:
        """Every extension the process was asked to load, and how it stands; None when none was ever asked."""
        if not self.asked:
            return None
        return [*({"id": i, "state": "injected", "reason": None} for i in self.mounted),
                *({"id": i, "state": "failed", "reason": r} for i, r in self.failed.items())]

    def counts(self) -> dict:
        timers = sum(1 for m in self.mounted.values() for t in m.timer_tasks if not t.done())
        scoped = sum(len(m.scope) for m in self.mounted.values())
        return {"extensions": len(self.mounted), "extensionTimers": timers, "extensionScoped": scoped}

    def _status(self, ext_id: str) -> dict:
        if ext_id in self.mounted:
            return {"id": ext_id, "state": "injected", "reason": None}
        return {"id": ext_id, "state": "failed", "reason": self.failed.get(ext_id, "it was taken out")}

    def _fail(self, ext_id: str, why: str) -> dict:
        reason = _reason(why)
        self.failed[ext_id] = reason
        self.runtime.logger.bind(extension=ext_id).error("extension '{}' was not loaded: {}", ext_id, reason)
        self.runtime._entries_changed()
        return {"id": ext_id, "state": "failed", "reason": reason}

    def _serial(self) -> asyncio.Lock:
        if self._lock is None:
            self._lock = asyncio.Lock()
        return self._lock

    # -- loading -----------------------------------------------------------------------------------------------

    async def load_at_start(self, specs: Any) -> None:
        """The extensions the process starts with, before its hello; their `startup` runs after the plugin's."""
        self.asked = True
        if not isinstance(specs, list):
            return
        async with self._serial():
            # Loaded side by side within one time limit, so a module that never finishes loading cannot hold up
            # the hello; then joined in the order of their ids.
            deadline = time.monotonic() + STEP_TIMEOUT_S
            given = sorted((s for s in specs if isinstance(s, dict) and isinstance(s.get("id"), str)
                            and isinstance(s.get("dir"), str)), key=lambda s: s["id"])
            prepared = await asyncio.gather(*(self._prepare(spec, deadline) for spec in given))
            for spec, ready in zip(given, prepared):
                if isinstance(ready, str):
                    self._fail(spec["id"], ready)
                else:
                    self._join(ready)

    async def inject(self, spec: Any) -> dict:
        """`extension.inject`: loads it into the running plugin, its `startup` first. Never raises."""
        self.asked = True
        if not isinstance(spec, dict) or not isinstance(spec.get("id"), str) or not isinstance(spec.get("dir"), str):
            return {"id": str((spec or {}).get("id") if isinstance(spec, dict) else ""), "state": "failed",
                    "reason": "the host sent no usable extension spec"}
        async with self._serial():
            ext_id = spec["id"]
            if self.closed:
                return self._fail(ext_id, "the plugin is shutting down")
            if ext_id in self.mounted:
                return self._status(ext_id)
            return await self._cancellable(self._inject(spec), ext_id)

    async def _cancellable(self, work: Any, ext_id: str | None) -> Any:
        """`work` as the step the plugin's stop cancels (it need not wait for an import or a `startup`)."""
        task = asyncio.ensure_future(work)
        self._running = task
        try:
            return await task
        except asyncio.CancelledError:
            if not task.cancelled():
                raise
            return None if ext_id is None else self._fail(ext_id, "the plugin stopped while it was being loaded")
        finally:
            self._running = None

    async def _inject(self, spec: dict) -> dict:
        ext_id = spec["id"]
        prepared = await self._prepare(spec, time.monotonic() + STEP_TIMEOUT_S)
        if isinstance(prepared, str):
            return self._fail(ext_id, prepared)
        if not self.plugin_started:
            self._join(prepared)
            return self._status(ext_id)
        try:
            started = await self._lifecycle(prepared, "startup", time.monotonic() + STEP_TIMEOUT_S)
        except asyncio.CancelledError:
            self._release(prepared)
            raise
        if started is not None:
            self._release(prepared)
            return self._fail(ext_id, f"its startup failed: {started}")
        if self._join(prepared):
            self._begin(prepared)
        return self._status(ext_id)

    async def remove(self, ext_id: Any) -> bool:
        """`extension.remove`: takes it out; False when none with that id is injected."""
        async with self._serial():
            forgotten = self.failed.pop(str(ext_id), None) is not None
            mounted = self.mounted.get(str(ext_id))
            if mounted is None:
                if forgotten:
                    self.runtime._entries_changed()
                return False
            await self._take_out(mounted, drain=DRAIN_S, deadline=time.monotonic() + STEP_TIMEOUT_S)
            return True

    async def start_all(self) -> None:
        """The plugin has started: the extensions it started with run their `startup`, side by side."""
        async with self._serial():
            self.plugin_started = True
            deadline = time.monotonic() + STEP_TIMEOUT_S

            async def start(mounted: _Mounted) -> None:
                failure = await self._lifecycle(mounted, "startup", deadline)
                if failure is None:
                    self._begin(mounted)
                else:
                    await self._take_out(mounted, deadline=deadline, failure=f"its startup failed: {failure}")

            await self._cancellable(asyncio.gather(*(start(m) for m in list(self.mounted.values()))), None)

    async def remove_all(self) -> None:
        """The plugin is stopping: an inject (or start) still running is cancelled, then every extension goes, their
        `shutdown` handlers within one short limit (SHUTDOWN_AT_STOP_S in all, waiting for a removal still
        running included), so the plugin's own `shutdown` keeps its time."""
        self.closed = True
        deadline = time.monotonic() + SHUTDOWN_AT_STOP_S
        if self._running is not None and not self._running.done():
            self._running.cancel()
        lock = self._serial()
        try:
            await asyncio.wait_for(lock.acquire(), max(0.0, deadline - time.monotonic()))
            held = True
        except asyncio.TimeoutError:  # a removal still draining its calls: they go anyway
            held = False
        try:
            await asyncio.wait_for(
                asyncio.gather(*(self._take_out(m, deadline=deadline, quiet=True) for m in list(self.mounted.values()))),
                max(0.01, deadline - time.monotonic()))
        except asyncio.TimeoutError:
            self.runtime.logger.warning("the extensions were not all taken out within {}s of the stop", SHUTDOWN_AT_STOP_S)
        finally:
            if held:
                lock.release()

    async def apply_config(self, ext_id: str, payload: dict) -> dict:
        """`config.apply` for an injected extension: its configuration, then its `config_change` / `reload`."""
        mounted = self.mounted.get(ext_id)
        if mounted is None:
            return {"ok": False, "error": {"name": "NotFoundError", "code": "NOT_FOUND", "message":
                    f"no extension '{ext_id}' is loaded in plugin '{self.runtime.plugin_id}'"}}
        ctx = mounted.ctx
        old_config, old_manifest = ctx._config, ctx.metadata
        new = payload.get("config") if isinstance(payload.get("config"), dict) else old_config
        ctx._config = new
        if isinstance(payload.get("manifest"), dict):
            ctx.metadata = payload["manifest"]
            mounted.instance.metadata = ctx.metadata
        lifecycle = payload.get("lifecycle")
        handlers = mounted.lifecycles.get(lifecycle) if lifecycle in ("config_change", "reload") else None
        if not handlers:
            return {"ok": True, "value": {"handled": False}}
        result = await self.runtime._run_handlers(handlers, lifecycle, old_config=old_config, new_config=new,
                                                  mode=payload.get("mode"))
        if not result["ok"]:
            ctx._config, ctx.metadata = old_config, old_manifest
            mounted.instance.metadata = old_manifest
            return result
        return {"ok": True, "value": {"handled": True}}

    # -- the steps ---------------------------------------------------------------------------------------------

    def _load_class(self, spec: dict) -> tuple[type, str, list[str]]:
        """Its folder as a package of its own (relative imports work), then the entry module and its class. The
        package is named after the extension's id, its folder's path and its entry file's modification time
        (`plugin.extensions.<id>_<hash>_<mtime>`), so two folders never share one and a reload after an edit loads the
        new code. It is also reachable as `plugin.plugins.<folder>` and `plugins.<folder>`, as a plugin's is, unless
        that name is the host plugin's or another extension's."""
        from .extension import NekoExtensionBase

        path = spec.get("entryModule")
        class_name = spec.get("className")
        if not isinstance(path, str) or not path.endswith(".py"):
            raise _Unusable(f"its entry module {path!r} is not a Python file")
        directory = spec["dir"]
        relative = os.path.relpath(path, directory)
        name = _package_name(spec["id"], directory, int(os.stat(path).st_mtime_ns))
        if name in self._loading:
            raise _Unusable("an earlier load of its module is still importing it (it did not finish in time); "
                            "edit its entry file or restart the host plugin to load it again")
        self._loading.add(name)
        try:
            package = sys.modules.get(name)
            module_spec = None
            if package is None:
                init = os.path.join(directory, "__init__.py")
                if os.path.isfile(init):
                    module_spec = importlib.util.spec_from_file_location(name, init,
                                                                         submodule_search_locations=[directory])
                    assert module_spec and module_spec.loader
                    package = importlib.util.module_from_spec(module_spec)
                else:
                    module_spec = None
                    package = types.ModuleType(name)
                    package.__path__ = [directory]  # type: ignore[attr-defined]
                    module_spec = None
                sys.modules[name] = package
            aliases = self._claim_aliases(spec, package)
            try:
                if module_spec is not None and getattr(package, "__neko_loaded__", False) is not True:
                    module_spec.loader.exec_module(package)  # type: ignore[union-attr]
                package.__neko_loaded__ = True  # type: ignore[attr-defined]
            except BaseException:
                self._drop(spec["id"], name, aliases)
                raise
            module = package
            if relative != "__init__.py":
                try:
                    module = importlib.import_module(f"{name}.{relative[: -len('.py')].replace(os.sep, '.')}")
                except BaseException:
                    self._drop(spec["id"], name, aliases)
                    raise
        finally:
            self._loading.discard(name)
        cls = getattr(module, str(class_name), None)
        problem = None
        if not isinstance(cls, type):
            problem = f"{relative} has no class '{class_name}'"
        elif not issubclass(cls, NekoExtensionBase):
            problem = f"class '{class_name}' does not inherit NekoExtensionBase (from plugin.sdk.extension)"
        if problem:
            self._drop(spec["id"], name, aliases)
            raise _Unusable(problem)
        return cls, name, aliases

    def _claim_aliases(self, spec: dict, package: Any) -> list[str]:
        """`plugin.plugins.<folder>` and `plugins.<folder>` for its package, unless another holds the name (the host
        plugin's package, another extension's); an earlier version of the same extension's gives way."""
        folder = re.sub(r"[^A-Za-z0-9_]", "_", os.path.basename(spec["dir"].rstrip(os.sep)))
        claimed = []
        for alias in (f"plugin.plugins.{folder}", f"plugins.{folder}"):
            if alias in sys.modules and self._aliases.get(alias) != spec["id"]:
                continue
            sys.modules[alias] = package
            self._aliases[alias] = spec["id"]
            claimed.append(alias)
        return claimed

    def _drop(self, ext_id: str, package: str, aliases: list[str]) -> None:
        """Its aliases and its package's modules leave `sys.modules` (a reference kept elsewhere still works)."""
        for alias in aliases:
            if self._aliases.get(alias) == ext_id and sys.modules.get(alias) is sys.modules.get(package):
                del self._aliases[alias]
                sys.modules.pop(alias, None)
        _drop_modules(package)

    @staticmethod
    async def _in_thread(fn: Callable, *args: Any) -> Any:
        """`fn(*args)` in a daemon thread of its own: a module that never finishes importing is left behind there
        and cannot hold up the process's exit (the default executor's threads would)."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future = loop.create_future()

        def settle(outcome: tuple) -> None:
            if not future.done():
                future.set_result(outcome)

        def work() -> None:
            try:
                outcome: tuple = (True, fn(*args))
            except BaseException as error:  # noqa: BLE001 - handed to the loop
                outcome = (False, error)
            try:
                loop.call_soon_threadsafe(settle, outcome)
            except RuntimeError:  # the loop is gone: the process is ending
                pass

        threading.Thread(target=work, name="neko-extension-load", daemon=True).start()
        ok, value = await asyncio.shield(future)
        if not ok:
            raise value
        return value

    async def _prepare(self, spec: dict, deadline: float) -> _Mounted | str:
        """The extension built, with what it would add to the plugin checked; or why it cannot be, in words."""
        runtime = self.runtime
        try:
            cls, package, aliases = await asyncio.wait_for(self._in_thread(self._load_class, spec),
                                                           max(0.0, deadline - time.monotonic()))
        except asyncio.TimeoutError:
            return f"loading its module did not finish within {STEP_TIMEOUT_S:g}s"
        except asyncio.CancelledError:
            raise
        except _Unusable as error:
            return _message(error)
        except BaseException as error:  # noqa: BLE001 - a syntax error, a failing import: the extension's failure
            from ._runner import _last_line

            return f"importing {os.path.basename(str(spec.get('entryModule')))} failed: {_last_line(error, spec['dir'])}"
        built = self._build(spec, cls)
        if isinstance(built, str):
            self._drop(spec["id"], package, aliases)
        else:
            built.package, built.aliases = package, aliases
        return built

    def _build(self, spec: dict, cls: type) -> _Mounted | str:
        """Its class built, with what it would add to the plugin checked; or why it cannot be, in words."""
        runtime = self.runtime
        marks = _marks(cls)
        problem = _declaration_problem(marks)
        if problem:
            return problem
        scope: list = []
        ctx = ExtensionContext(runtime, spec, runtime.instance, scope)
        try:
            instance = cls(ctx)
            if getattr(instance, "ctx", None) is not ctx:
                raise TypeError(f"{cls.__name__}.__init__ did not call super().__init__(ctx)")
        except BaseException as error:  # noqa: BLE001
            _dispose(scope, ctx, runtime)
            return f"its constructor threw: {_message(error)}"
        from ._runner import Handler

        calls = _Calls()
        prefix = ctx.prefix
        try:
            entries = []
            own = {m["id"] for _, m in marks if m["kind"] == "entry"}
            declared = _plugin_entry_ids(type(runtime.instance))
            hooks, timers, lifecycles = [], [], {}
            for attr, meta in marks:
                fn = getattr(instance, attr)
                kind = meta["kind"]
                if kind == "entry":
                    entry_id = prefix + meta["id"]
                    try:
                        handler = Handler(calls.track(fn), {**meta, "id": entry_id, "extension": spec["id"]})
                    except Exception as error:  # noqa: BLE001 - a schema that does not compile
                        raise ValueError(f"entry '{entry_id}': schema is invalid: {_message(error)}") from None
                    entries.append((entry_id, handler))
                elif kind == "hook":
                    target = meta["target"]
                    if target != "*" and target in own and target not in declared:
                        target = prefix + target
                    hooks.append(Handler(calls.track(fn), {**meta, "target": target, "inputSchema": None,
                                                           "extension": spec["id"],
                                                           "source": f"extension:{spec['id']}"}))
                elif kind == "timer":
                    timers.append(Handler(fn, meta))
                elif kind == "lifecycle":
                    lifecycles.setdefault(meta["id"], []).append(Handler(fn, meta))
            for entry_id, handler in entries:
                _check_packable(entry_id, handler.meta)
            ids = [e for e, _ in entries]
            twice = next((e for e in ids if ids.count(e) > 1), None)
            if twice is not None:
                raise ValueError(f"entry id '{twice}' is declared twice")
            # A hook is known by its id and its source (`extension:<id>`, as in the TypeScript runtime), so its id
            # need only be its extension's once.
            hook_ids = [h.meta["id"] for h in hooks]
            twice = next((h for h in hook_ids if hook_ids.count(h) > 1), None)
            if twice is not None:
                raise ValueError(f"hook id '{twice}' is declared twice")
            clash = next(((e, runtime.taken_by(e)) for e in ids if runtime.taken_by(e)), None)
            if clash:
                raise ValueError(f"entry id '{clash[0]}' is already taken by {clash[1]}")
        except Exception as error:  # noqa: BLE001
            _dispose(scope, ctx, runtime)
            return _message(error)
        return _Mounted(spec, instance, ctx, entries, hooks, timers, lifecycles, calls, scope)

    def _join(self, mounted: _Mounted) -> bool:
        """Adds its entries (all or none) and hooks to the plugin's."""
        runtime = self.runtime
        with runtime.registry_lock:
            clash = next(((e, runtime.taken_by(e)) for e, _ in mounted.entries if runtime.taken_by(e)), None)
            if clash:
                self._release(mounted)
                self._fail(mounted.id, f"entry id '{clash[0]}' is already taken by {clash[1]}")
                return False
            for entry_id, handler in mounted.entries:
                runtime.entries[entry_id] = handler
                runtime.enabled[entry_id] = True
            runtime.hooks.extend(mounted.hooks)
            self.mounted[mounted.id] = mounted
            self.failed.pop(mounted.id, None)
            runtime._entries_changed()
        return True

    def _begin(self, mounted: _Mounted) -> None:
        mounted.started = True
        for handler in mounted.timers:
            if handler.meta.get("autoStart", True):
                task = asyncio.ensure_future(self.runtime._timer(handler))
                mounted.timer_tasks.append(task)
        self.runtime.logger.bind(extension=mounted.id).info("extension '{}' injected", mounted.id)

    async def _take_out(self, mounted: _Mounted, *, deadline: float, drain: float | None = None,
                        failure: str | None = None, quiet: bool = False) -> None:
        runtime = self.runtime
        with runtime.registry_lock:
            self.mounted.pop(mounted.id, None)
            for entry_id, handler in mounted.entries:
                if runtime.entries.get(entry_id) is handler:
                    runtime.entries.pop(entry_id, None)
                    runtime.enabled.pop(entry_id, None)
            mine = {id(h) for h in mounted.hooks}
            runtime.hooks = [h for h in runtime.hooks if id(h) not in mine]
        for task in mounted.timer_tasks:
            task.cancel()
        if drain is not None:
            await mounted.calls.drained(drain)
        if mounted.started:
            reason = await self._lifecycle(mounted, "shutdown", deadline)
            if reason is not None:
                runtime.logger.bind(extension=mounted.id).warning("extension '{}': its shutdown failed: {}",
                                                                  mounted.id, reason)
        self._release(mounted)
        if failure is not None:
            self._fail(mounted.id, failure)
            return
        if not quiet:
            runtime.logger.bind(extension=mounted.id).info("extension '{}' taken out", mounted.id)
            runtime._entries_changed()

    def _release(self, mounted: _Mounted) -> None:
        for task in mounted.timer_tasks:
            task.cancel()
        mounted.timer_tasks.clear()
        _dispose(mounted.scope, mounted.ctx, self.runtime)
        self._drop(mounted.id, mounted.package, mounted.aliases)

    async def _lifecycle(self, mounted: _Mounted, lifecycle_id: str, deadline: float) -> str | None:
        """Runs one of its lifecycle handlers by `deadline`; None when it went well, else why not."""
        handlers = mounted.lifecycles.get(lifecycle_id)
        if not handlers:
            return None
        try:
            result = await asyncio.wait_for(self.runtime._run_handlers(handlers, lifecycle_id),
                                            max(0.0, deadline - time.monotonic()))
        except asyncio.TimeoutError:
            return "it did not finish in time"
        return None if result["ok"] else str((result.get("error") or {}).get("message"))


def _package_name(ext_id: str, directory: str, stamp: int) -> str:
    """`plugin.extensions.<id>_<hash of its folder's path>_<mtime_ns>`: one per extension, folder and version."""
    digest = hashlib.sha256(os.path.realpath(directory).encode("utf-8", "surrogatepass")).hexdigest()[:12]
    return f"plugin.extensions.{re.sub(r'[^A-Za-z0-9_]', '_', ext_id)}_{digest}_{stamp}"


def _drop_modules(package: str) -> None:
    """`package` and its submodules leave `sys.modules`."""
    if not package:
        return
    for name in [n for n in sys.modules if n == package or n.startswith(package + ".")]:
        sys.modules.pop(name, None)


def _check_packable(entry_id: str, meta: dict) -> None:
    """An entry whose description the host would refuse (a field of the wrong type, plugin-frame-problems.ts) or
    msgpack cannot carry would break the host plugin's hello or `entries_changed`: the extension is refused instead,
    naming the field."""
    from ._host import pack
    from .decorators import entry_problem

    problem = entry_problem(entry_id, meta)
    if problem:
        raise ValueError(problem)
    for field in ("name", "description", "inputSchema", "llmResultFields", "metadata"):
        try:
            pack({"value": meta.get(field)})
        except Exception as error:  # noqa: BLE001 - msgpack's TypeError, PayloadTooLarge, …
            raise ValueError(f"entry '{entry_id}': its {field} cannot be sent to the host: {error}") from None


_marks = declared_marks


def _plugin_entry_ids(cls: type) -> set[str]:
    """The entry ids the plugin's class itself declares (not its routers', not dynamic ones)."""
    return {m["id"] for _, m in _marks(cls) if m["kind"] == "entry"}


def _declaration_problem(marks: list[tuple[str, dict]]) -> str | None:
    for _, meta in marks:
        if meta["kind"] in PLUGIN_ONLY:
            return (f"an extension cannot declare {PLUGIN_ONLY[meta['kind']]} ('{meta['id']}'): "
                    "subscribe with self.bus.on() instead")
        if meta["kind"] == "lifecycle" and meta["id"] not in LIFECYCLES:
            return f"an extension has only the {', '.join(LIFECYCLES)} lifecycles (it declares '{meta['id']}')"
    return None


def _dispose(scope: list, ctx: ExtensionContext, runtime: "PluginRuntime") -> None:
    """Releases what an extension registered, last first: bus handlers, `on_dispose` callbacks; then its store."""
    while scope:
        release = scope.pop()
        try:
            release()
        except Exception:  # noqa: BLE001 - logged; the rest is still released
            runtime.logger.bind(extension=ctx.extension_id).exception("releasing what the extension held failed")
    # Its configuration can no longer be written, and its store is closed (later calls answer STORE_ERROR).
    gone = f"extension '{ctx.extension_id}' was taken out of its plugin"
    ctx._config_closed = gone
    try:
        ctx._store.dispose(gone)
    except Exception:  # noqa: BLE001
        pass


__all__ = ["ExtensionContext", "ExtensionMounts"]
