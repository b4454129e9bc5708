"""`from plugin.sdk.plugin import …`: the original N.E.K.O. SDK's names (docs/python-plugins.md)."""

from . import SDK_VERSION
from ._database import PluginDatabase, PluginKVStore
from ._logger import PluginLogger, get_plugin_logger
from ._state import PluginStatePersistence
from ._store import PluginStore, SyncPluginStore
from .base import (
    Bus,
    MemoryClient,
    NekoPluginBase,
    PluginConfig,
    PluginContext,
    PluginRouter,
    Plugins,
    SystemInfo,
)
from .decorators import (
    after_entry,
    around_entry,
    before_entry,
    custom_event,
    hook,
    lifecycle,
    message,
    neko_plugin,
    on_event,
    plugin,
    plugin_entry,
    replace_entry,
    timer_interval,
)
from .errors import (
    CircularCallError,
    NotFoundError,
    PermissionDeniedError,
    PluginCallError,
    SdkError,
    SdkTimeoutError,
    TimeoutError,
    TransportError,
    ValidationError,
)
from .result import Err, Ok, Result, is_err, is_ok, unwrap, unwrap_or

PluginMeta = dict

__all__ = [
    "SDK_VERSION",
    "Bus",
    "CircularCallError",
    "Err",
    "MemoryClient",
    "NekoPluginBase",
    "NotFoundError",
    "Ok",
    "PermissionDeniedError",
    "PluginCallError",
    "PluginConfig",
    "PluginContext",
    "PluginDatabase",
    "PluginKVStore",
    "PluginLogger",
    "PluginMeta",
    "PluginRouter",
    "PluginStatePersistence",
    "PluginStore",
    "Plugins",
    "Result",
    "SdkError",
    "SdkTimeoutError",
    "SyncPluginStore",
    "SystemInfo",
    "TimeoutError",
    "TransportError",
    "ValidationError",
    "after_entry",
    "around_entry",
    "before_entry",
    "custom_event",
    "get_plugin_logger",
    "hook",
    "is_err",
    "is_ok",
    "lifecycle",
    "message",
    "neko_plugin",
    "on_event",
    "plugin",
    "plugin_entry",
    "replace_entry",
    "timer_interval",
    "unwrap",
    "unwrap_or",
]
