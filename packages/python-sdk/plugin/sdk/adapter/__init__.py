"""`from plugin.sdk.adapter import …`: the plugin names, `NekoAdapterPlugin`, and the gateway pipeline with the
original's names (`AdapterGatewayCore`, `DefaultRequestNormalizer`, `DefaultPolicyEngine`, `DefaultRouteEngine`,
`DefaultPluginInvoker` / `CallablePluginInvoker`, `DefaultResponseSerializer`; the models in
`plugin.sdk.adapter.gateway_models`). It behaves as the TypeScript gateway (docs/adapters.md); what it has of it and
what not is in docs/python-plugins.md#adapters."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Callable

from ..plugin import *  # noqa: F401,F403
from ..decorators import lifecycle as _lifecycle
from ..plugin import NekoPluginBase, __all__ as _plugin_all
from .gateway_core import AdapterGatewayCore, GatewayStageReporter
from .gateway_defaults import (
    AUDIT_EVENT_TYPE,
    CallablePluginInvoker,
    DefaultPluginInvoker,
    DefaultPolicyEngine,
    DefaultRequestNormalizer,
    DefaultResponseSerializer,
    DefaultRouteEngine,
    TokenBucketLimiter,
    read_gateway_settings,
)
from .gateway_models import (
    ExternalEnvelope,
    ExternalRequest,
    GatewayAction,
    GatewayError,
    GatewayErrorCode,
    GatewayErrorException,
    GatewayRequest,
    GatewayResponse,
    RouteDecision,
    RouteMode,
    gateway_error,
)


class AdapterMode(str, Enum):
    GATEWAY = "gateway"
    ROUTER = "router"
    BRIDGE = "bridge"
    HYBRID = "hybrid"


@dataclass
class AdapterConfig:
    """The original's view of `[adapter]`: `mode`, `protocols`, `routes`, `priority`."""

    mode: AdapterMode = AdapterMode.GATEWAY
    protocols: dict = field(default_factory=dict)
    routes: list = field(default_factory=list)
    priority: int = 0

    @classmethod
    def from_dict(cls, data: dict) -> "AdapterConfig":
        try:
            mode = AdapterMode(data.get("mode", "gateway"))
        except ValueError:
            mode = AdapterMode.GATEWAY
        return cls(mode=mode, protocols=dict(data.get("protocols") or {}), routes=list(data.get("routes") or []),
                   priority=data.get("priority", 0) or 0)


def _lifecycle_alias(lifecycle_id: str) -> Callable:
    def decorator(fn: Callable | None = None, **_: Any) -> Any:
        return _lifecycle(id=lifecycle_id)(fn) if fn is not None else _lifecycle(id=lifecycle_id)

    return decorator


on_adapter_startup = _lifecycle_alias("startup")
"""The original's `@on_adapter_startup` (with or without arguments): the plugin's `startup` lifecycle."""
on_adapter_shutdown = _lifecycle_alias("shutdown")
"""The original's `@on_adapter_shutdown`: the plugin's `shutdown` lifecycle."""


class NekoAdapterPlugin(NekoPluginBase):
    """The base of an adapter: a plugin in every way, plus its `[adapter]` settings. Build the pipeline in `startup`
    with `AdapterGatewayCore.for_plugin(self)` (every default, from `[adapter]`) or `AdapterGatewayCore(...)`."""

    @property
    def adapter_settings(self) -> dict:
        """`[adapter]` of the effective configuration, `mode` (default `gateway`) and `priority` (default 0) filled."""
        table = self.ctx._config.get("adapter") if isinstance(self.ctx._config, dict) else None
        table = dict(table) if isinstance(table, dict) else {}
        mode = table.get("mode") if table.get("mode") in {m.value for m in AdapterMode} else "gateway"
        priority = table.get("priority")
        table["mode"] = mode
        table["priority"] = priority if isinstance(priority, (int, float)) and not isinstance(priority, bool) else 0
        return table

    @property
    def adapter_mode(self) -> AdapterMode:
        return AdapterMode(self.adapter_settings["mode"])

    @property
    def adapter_config(self) -> AdapterConfig:
        return AdapterConfig.from_dict(self.adapter_settings)

    async def adapter_startup(self) -> None:
        """The original asked adapters to call this from `startup`; the settings are always read here, so it only
        logs."""
        self.logger.info("Adapter '{}' initialized with mode={}", self.adapter_id, self.adapter_settings["mode"])

    async def adapter_shutdown(self) -> None:
        self.logger.info("Adapter '{}' shutdown", self.adapter_id)

    @property
    def adapter_id(self) -> str:
        return self.plugin_id

    async def forward_to_plugin(self, plugin_id: str, entry: str, payload: dict, timeout: float = 30.0) -> Any:
        """The original's direct call: `<plugin_id>:<entry>` with `payload`, through the host (an `Ok` or `Err`)."""
        return await self.plugins.call_entry(f"{plugin_id}:{entry}", dict(payload), timeout=timeout)


__all__ = [
    *_plugin_all,
    "AUDIT_EVENT_TYPE",
    "AdapterConfig",
    "AdapterGatewayCore",
    "AdapterMode",
    "CallablePluginInvoker",
    "DefaultPluginInvoker",
    "DefaultPolicyEngine",
    "DefaultRequestNormalizer",
    "DefaultResponseSerializer",
    "DefaultRouteEngine",
    "ExternalEnvelope",
    "ExternalRequest",
    "GatewayAction",
    "GatewayError",
    "GatewayErrorCode",
    "GatewayErrorException",
    "GatewayRequest",
    "GatewayResponse",
    "GatewayStageReporter",
    "NekoAdapterPlugin",
    "RouteDecision",
    "RouteMode",
    "TokenBucketLimiter",
    "gateway_error",
    "on_adapter_shutdown",
    "on_adapter_startup",
    "read_gateway_settings",
]
