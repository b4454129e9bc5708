"""The stage interfaces of the gateway (docs/adapters.md#stages), as the original's
`plugin.sdk.adapter.gateway_contracts` names them. Any object with the method is a stage; a method may be sync or
`async`, answer `Ok`/`Err(GatewayError)` or a plain value, or raise `GatewayErrorException`."""

from __future__ import annotations

from typing import Any, Protocol

from .gateway_models import ExternalRequest, GatewayRequest, GatewayResponse, RouteDecision


class LoggerLike(Protocol):
    def debug(self, message: Any, *args: Any) -> None: ...
    def info(self, message: Any, *args: Any) -> None: ...
    def warning(self, message: Any, *args: Any) -> None: ...
    def error(self, message: Any, *args: Any) -> None: ...


class RequestNormalizer(Protocol):
    def normalize(self, external: ExternalRequest) -> Any: ...


class PolicyEngine(Protocol):
    def authorize(self, request: GatewayRequest) -> Any: ...


class RouteEngine(Protocol):
    def route(self, request: GatewayRequest) -> Any: ...


class PluginInvoker(Protocol):
    def invoke(self, request: GatewayRequest, decision: RouteDecision) -> Any: ...


class ResponseSerializer(Protocol):
    def serialize(self, response: GatewayResponse, request: GatewayRequest | None) -> Any: ...


class TransportAdapter(Protocol):
    protocol_name: str

    async def start(self) -> Any: ...
    async def stop(self) -> Any: ...
    async def recv(self) -> Any: ...
    async def send(self, response: GatewayResponse) -> Any: ...


__all__ = ["LoggerLike", "PluginInvoker", "PolicyEngine", "RequestNormalizer", "ResponseSerializer", "RouteEngine",
           "TransportAdapter"]
