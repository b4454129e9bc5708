"""The SDK's errors. `code` decides the HTTP status (docs/wire-protocol.md#error-codes); the class name goes on the
wire as `name`, so a TypeScript caller rebuilds the same class."""

from __future__ import annotations

from typing import Any


class SdkError(Exception):
    default_code = "SDK_ERROR"

    def __init__(self, message: str = "", *, code: str | None = None, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code
        self.details = details

    def __str__(self) -> str:
        return self.message

    def to_wire(self) -> dict:
        # An error rebuilt from the wire keeps the name it came with (a TypeScript `TypeError` stays one).
        wire = {"name": getattr(self, "wire_name", None) or type(self).__name__, "code": self.code,
                "message": self.message}
        if self.details is not None:
            wire["details"] = self.details
        return wire


class TransportError(SdkError):
    default_code = "TRANSPORT_ERROR"


class ValidationError(SdkError):
    default_code = "VALIDATION_ERROR"


class NotFoundError(SdkError):
    default_code = "NOT_FOUND"


class TimeoutError(SdkError):  # noqa: A001 - the wire name of the SDK's class
    default_code = "TIMEOUT"


class PluginCallError(SdkError):
    default_code = "PLUGIN_CALL_ERROR"


class CircularCallError(SdkError):
    default_code = "CIRCULAR_CALL"


class EntryConflictError(SdkError):
    """An entry id (or LLM tool name) that is taken (the original's class; code SDK_ERROR)."""


class PluginRouterError(SdkError):
    """A router call with a bad argument (the original's class; code SDK_ERROR)."""


class PermissionDeniedError(SdkError):
    default_code = "PERMISSION_DENIED"


SdkTimeoutError = TimeoutError

_CLASSES = {
    cls.__name__: cls
    for cls in (
        SdkError,
        TransportError,
        ValidationError,
        NotFoundError,
        TimeoutError,
        PluginCallError,
        CircularCallError,
        PermissionDeniedError,
    )
}


# The host's token for a failure it delivered to a cross-plugin call (`WireError.upstream`), kept on the error rebuilt
# from it (docs/cross-plugin-calls.md#errors-passed-on): never in its message, details or repr.
_UPSTREAM = "_neko_upstream"
# How many `__cause__` links are followed to find one.
_MAX_CAUSE_DEPTH = 8


def from_wire(wire: dict) -> SdkError:
    """The SDK class named on the wire; another name becomes an `SdkError` that keeps the code."""
    cls = _CLASSES.get(wire.get("name"), SdkError)
    error = cls(str(wire.get("message", "")), code=wire.get("code"), details=wire.get("details"))
    if isinstance(wire.get("name"), str) and wire["name"] not in _CLASSES:
        error.wire_name = wire["name"]
    if isinstance(wire.get("upstream"), str):
        setattr(error, _UPSTREAM, wire["upstream"])
    return error


def upstream_of(error: Any) -> str | None:
    """The token of the cross-plugin failure `error` is, or was caused by (`raise … from it`, a few links deep)."""
    found = error
    for _ in range(_MAX_CAUSE_DEPTH):
        if not isinstance(found, BaseException):
            return None
        token = getattr(found, _UPSTREAM, None)
        if isinstance(token, str):
            return token
        found = found.__cause__
    return None


def to_wire(error: Any) -> dict:
    """Any raised or returned error as it goes on the wire (as the TypeScript SDK's toWireError), with the host's
    token when it is, or was caused by, a failure another plugin's entry answered (the host then names that call)."""
    wire = _plain_wire(error)
    token = upstream_of(error)
    return wire if token is None else {**wire, "upstream": token}


def _plain_wire(error: Any) -> dict:
    if isinstance(error, SdkError):
        return error.to_wire()
    if isinstance(error, BaseException):
        return {"name": type(error).__name__, "code": "ENTRY_FAILED", "message": str(error) or type(error).__name__}
    if isinstance(error, dict) and all(isinstance(error.get(k), str) for k in ("name", "code", "message")):
        return error
    return {"name": "SdkError", "code": "SDK_ERROR", "message": str(error)}
