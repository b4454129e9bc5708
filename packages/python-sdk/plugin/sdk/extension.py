"""`from plugin.sdk.extension import …`: the plugin names, and the original's extension names — `NekoExtensionBase`,
`extension`, `extension_entry`, `extension_hook` (docs/extensions.md, docs/python-plugins.md). An extension is loaded
into its host plugin's process (a Python plugin) by `_extensions.py`."""

from __future__ import annotations

from typing import Any, Callable

from .decorators import hook as _hook
from .decorators import plugin_entry as _plugin_entry
from .plugin import *  # noqa: F401,F403
from .plugin import NekoPluginBase, __all__ as _plugin_all


class NekoExtensionBase(NekoPluginBase):
    """The base of an extension: `__init__(self, ctx)` must call `super().__init__(ctx)`.

    Besides a plugin's members: `self.extension_id`, `self.host_id`, `self.prefix`, `self.host` (the host plugin's
    instance, in the same process) and `self.on_dispose(fn)`. `self.config`, `self.store`, `self.metadata` and
    `self.data_path()` are the extension's own; `self.plugins`, `self.bus`, `self.memory` are the host plugin's (calls
    go out as it); bus handlers it subscribes end when it is taken out."""

    def __init__(self, ctx: Any) -> None:
        super().__init__(ctx)
        self.extension_id: str = getattr(ctx, "extension_id", ctx.plugin_id)
        self.host_id: str = getattr(ctx, "host_id", ctx.plugin_id)
        self.prefix: str = getattr(ctx, "prefix", "")
        self.host: Any = getattr(ctx, "host", None)

    # What changes the host plugin's own entries or UI would outlive the extension, so an extension has none of it
    # (as the TypeScript NekoExtensionBase): its entries are its decorated methods, joined and taken out with it.
    def register_dynamic_entry(self, *_: Any, **__: Any) -> bool:
        raise _host_only("register_dynamic_entry")

    def unregister_dynamic_entry(self, *_: Any, **__: Any) -> bool:
        raise _host_only("unregister_dynamic_entry")

    def enable_entry(self, *_: Any, **__: Any) -> bool:
        raise _host_only("enable_entry")

    def disable_entry(self, *_: Any, **__: Any) -> bool:
        raise _host_only("disable_entry")

    def include_router(self, *_: Any, **__: Any) -> None:
        raise _host_only("include_router")

    def exclude_router(self, *_: Any, **__: Any) -> bool:
        raise _host_only("exclude_router")

    def register_static_ui(self, *_: Any, **__: Any) -> bool:
        raise _host_only("register_static_ui")

    def on_dispose(self, fn: Callable[[], Any]) -> None:
        """Runs `fn` when the extension is taken out: for what the SDK cannot see (a thread, a file it opened)."""
        if not callable(fn):
            raise TypeError("on_dispose: expected a callable")
        scope = getattr(self.ctx, "_scope", None)
        if scope is not None:
            scope.append(fn)


def _host_only(name: str) -> NotImplementedError:
    return NotImplementedError(
        f"an extension has no {name}(): what it changed would outlive it (declare its entries with "
        f"@extension_entry; self.host.{name}() changes the host plugin's own, for good)")


def extension_entry(id: str | None = None, **options: Any) -> Callable[[Callable], Callable]:  # noqa: A002
    """`@plugin_entry` for an extension: the entry is `<prefix><id>` under the host plugin."""
    return lambda fn: _plugin_entry(id=id or fn.__name__, **options)(fn)


def extension_hook(target: str = "*", timing: str = "before", priority: int = 0, condition: str | None = None,
                   **options: Any) -> Callable[[Callable], Callable]:
    """`@hook` for the host plugin's chain: `target` is a host entry id, one of the extension's own (as declared), or
    `*`."""
    return _hook(target=target, timing=timing, priority=priority, condition=condition, **options)


class _Extension:
    """`@extension` marks the class (as the original's); `extension.entry` / `extension.hook` are the decorators."""

    entry = staticmethod(extension_entry)
    hook = staticmethod(extension_hook)

    def __call__(self, cls: type) -> type:
        return cls


extension = _Extension()

__all__ = [*_plugin_all, "NekoExtensionBase", "extension", "extension_entry", "extension_hook"]
