"""The gateway's models (docs/adapters.md#models), as the original's `plugin.sdk.adapter.gateway_models` names them.
Attributes are snake_case; `to_dict()` gives the wire shape of the TypeScript gateway (camelCase), so a response looks
the same whichever language served it."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from enum import Enum
from typing import Any


class GatewayErrorCode(str, Enum):
    """The stable codes of docs/adapters.md#error-codes."""

    INVALID_REQUEST = "invalid_request"
    POLICY_DENIED = "policy_denied"
    ROUTE_FAILED = "route_failed"
    INVOKE_FAILED = "invoke_failed"
    INTERNAL_ERROR = "internal_error"


CODES = {c.value for c in GatewayErrorCode}
STAGE_CODES = {
    "normalize": GatewayErrorCode.INVALID_REQUEST.value,
    "policy": GatewayErrorCode.POLICY_DENIED.value,
    "route": GatewayErrorCode.ROUTE_FAILED.value,
    "invoke": GatewayErrorCode.INVOKE_FAILED.value,
    "serialize": GatewayErrorCode.INTERNAL_ERROR.value,
}


class RouteMode(str, Enum):
    SELF = "self"
    PLUGIN = "plugin"
    BROADCAST = "broadcast"
    DROP = "drop"


class GatewayAction(str, Enum):
    """The original's action kinds; an action here is any string, these are kept for the original's normalizers."""

    TOOL_CALL = "tool_call"
    RESOURCE_READ = "resource_read"
    EVENT_PUSH = "event_push"


@dataclass
class GatewayError:
    code: str
    message: str
    retryable: bool = False
    details: dict | None = None

    def to_dict(self) -> dict:
        out: dict = {"code": str(getattr(self.code, "value", self.code)), "message": self.message,
                     "retryable": self.retryable}
        if self.details is not None:
            out["details"] = self.details
        return out


class GatewayErrorException(Exception):
    """Raised by a stage to refuse (the original's style); the core makes it the response's error."""

    def __init__(self, error: GatewayError) -> None:
        super().__init__(error.message)
        self.error = error


def gateway_error(code: Any, message: str, *, retryable: bool = False, details: dict | None = None) -> GatewayError:
    return GatewayError(code=str(getattr(code, "value", code)), message=message, retryable=retryable, details=details)


@dataclass
class ExternalRequest:
    """What the adapter received from its protocol: `raw` is free for a normalizer of its own to read."""

    protocol: str = ""
    connection_id: str = ""
    request_id: str = ""
    action: str = ""
    payload: Any = None
    metadata: dict | None = None
    raw: Any = None


ExternalEnvelope = ExternalRequest


@dataclass
class GatewayRequest:
    protocol: str
    connection_id: str
    request_id: str
    action: str
    args: dict = field(default_factory=dict)
    target_plugin_id: str | None = None
    target_entry_id: str | None = None
    metadata: dict = field(default_factory=dict)
    received_at: float = field(default_factory=lambda: time.time() * 1000.0)
    timeout_s: float | None = None

    @property
    def params(self) -> dict:
        """The original's name of `args`."""
        return self.args

    @property
    def source_app(self) -> str:
        """The original's name of `connection_id`."""
        return self.connection_id

    def to_dict(self) -> dict:
        out = {"protocol": self.protocol, "connectionId": self.connection_id, "requestId": self.request_id,
               "action": self.action, "args": self.args, "metadata": self.metadata, "receivedAt": self.received_at}
        if self.target_plugin_id is not None and self.target_entry_id is not None:
            out["target"] = {"pluginId": self.target_plugin_id, "entryId": self.target_entry_id}
        return out


@dataclass
class RouteDecision:
    mode: Any
    plugin_id: str | None = None
    entry_id: str | None = None
    plugin_ids: list | None = None
    args: dict | None = None
    reason: str | None = None

    def to_dict(self) -> dict:
        out: dict = {"mode": str(getattr(self.mode, "value", self.mode))}
        for key, name in (("pluginId", "plugin_id"), ("entryId", "entry_id"), ("pluginIds", "plugin_ids"),
                          ("args", "args"), ("reason", "reason")):
            if getattr(self, name) is not None:
                out[key] = getattr(self, name)
        return out


@dataclass
class GatewayResponse:
    request_id: str
    ok: bool
    data: Any = None
    error: GatewayError | None = None
    mode: str = "gateway"
    route: RouteDecision | None = None
    timings: dict = field(default_factory=lambda: {"total": 0})

    @property
    def success(self) -> bool:
        """The original's name of `ok`."""
        return self.ok

    @property
    def latency_ms(self) -> float:
        return float(self.timings.get("total", 0))

    def to_dict(self) -> dict:
        out: dict = {"requestId": self.request_id, "mode": self.mode}
        if self.route is not None:
            out["route"] = self.route.to_dict()
        out["timings"] = dict(self.timings)
        out["ok"] = self.ok
        if self.ok:
            out["data"] = self.data
        else:
            out["error"] = (self.error or gateway_error(GatewayErrorCode.INTERNAL_ERROR, "unknown error")).to_dict()
        return out


__all__ = [
    "ExternalEnvelope",
    "ExternalRequest",
    "GatewayAction",
    "GatewayError",
    "GatewayErrorCode",
    "GatewayErrorException",
    "GatewayRequest",
    "GatewayResponse",
    "RouteDecision",
    "RouteMode",
    "gateway_error",
]
