"""`from plugin.sdk.plugin import …`: the original N.E.K.O. SDK's names (docs/python-plugins.md)."""

from .. import SDK_VERSION
from .._database import PluginDatabase, PluginKVStore
from .._i18n import PluginI18n, tr
from .._logger import PluginLogger, get_plugin_logger
from .._state import PluginStatePersistence
from .._store import PluginStore, SyncPluginStore
from ..base import (
    Bus,
    MemoryClient,
    NekoPluginBase,
    PluginConfig,
    PluginContext,
    PluginRouter,
    Plugins,
    SystemInfo,
)
from ..decorators import (
    NEKO_PLUGIN_META_ATTR,
    NEKO_PLUGIN_TAG,
    EntryKind,
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
    quick_action,
    replace_entry,
    timer_interval,
)
from ..errors import (
    CircularCallError,
    EntryConflictError,
    NotFoundError,
    PermissionDeniedError,
    PluginCallError,
    PluginRouterError,
    SdkError,
    SdkTimeoutError,
    TimeoutError,
    TransportError,
    ValidationError,
)
from ..result import Err, Ok, Result, is_err, is_ok, unwrap, unwrap_or
from . import ui
from .llm_tool import LlmToolMeta, llm_tool
from .settings import PluginSettings, SettingsField

PluginMeta = dict

__all__ = [
    "Bus",
    "CircularCallError",
    "EntryConflictError",
    "EntryKind",
    "Err",
    "LlmToolMeta",
    "MemoryClient",
    "NEKO_PLUGIN_META_ATTR",
    "NEKO_PLUGIN_TAG",
    "NekoPluginBase",
    "NotFoundError",
    "Ok",
    "PermissionDeniedError",
    "PluginCallError",
    "PluginConfig",
    "PluginContext",
    "PluginDatabase",
    "PluginI18n",
    "PluginKVStore",
    "PluginLogger",
    "PluginMeta",
    "PluginRouter",
    "PluginRouterError",
    "PluginSettings",
    "PluginStatePersistence",
    "PluginStore",
    "Plugins",
    "Result",
    "SDK_VERSION",
    "SdkError",
    "SdkTimeoutError",
    "SettingsField",
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
    "llm_tool",
    "message",
    "neko_plugin",
    "on_event",
    "plugin",
    "plugin_entry",
    "quick_action",
    "replace_entry",
    "timer_interval",
    "tr",
    "ui",
    "unwrap",
    "unwrap_or",
]
