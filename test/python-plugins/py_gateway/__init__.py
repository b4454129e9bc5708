"""A line-protocol adapter in the original's style: each request goes through the gateway pipeline (normalize →
policy → route → invoke through the host → serialize) and the response comes back as a dict."""

import uuid

from plugin.sdk.adapter import (
    AdapterGatewayCore,
    DefaultPluginInvoker,
    DefaultPolicyEngine,
    DefaultRouteEngine,
    NekoAdapterPlugin,
    Ok,
    lifecycle,
    neko_plugin,
    on_adapter_startup,
    plugin_entry,
)
from plugin.sdk.adapter.gateway_models import (
    ExternalRequest,
    GatewayError,
    GatewayErrorException,
    GatewayRequest,
)


class ToolNormalizer:
    """The original's style: reads `raw`, raises GatewayErrorException to refuse."""

    async def normalize(self, env: ExternalRequest) -> GatewayRequest:
        raw = env.raw if isinstance(env.raw, dict) else {}
        tool = raw.get("tool")
        if not isinstance(tool, str) or "__" not in tool:
            raise GatewayErrorException(GatewayError(code="TOOL_UNKNOWN", message=f"unknown tool {tool!r}",
                                                     details={"tool": tool}))
        plugin_id, entry_id = tool.split("__", 1)
        return GatewayRequest(protocol=env.protocol, connection_id="tools", request_id=str(raw.get("id", "t")),
                              action=tool, args=raw.get("arguments") or {}, target_plugin_id=plugin_id,
                              target_entry_id=entry_id)


@neko_plugin
class LineGateway(NekoAdapterPlugin):
    def __init__(self, ctx):
        super().__init__(ctx)
        self.gateway = None
        self.tools = None

    @on_adapter_startup  # the original's spelling of @lifecycle(id="startup")
    async def startup(self, **_):
        # Every default stage, configured from [adapter]; a wrong key fails the startup naming it.
        self.gateway = AdapterGatewayCore.for_plugin(self)
        self.gateway.handle("ping", lambda args, request: Ok({"pong": True, "connection": request.connection_id}))
        self.gateway.handle("odd", lambda args, request: {"not json": {1, 2}})
        # Stages given by hand, as the original's docs build a core.
        self.tools = AdapterGatewayCore(
            normalizer=ToolNormalizer(),
            policy_engine=DefaultPolicyEngine(),
            route_engine=DefaultRouteEngine(),
            invoker=DefaultPluginInvoker(self.plugins),
            logger=self.logger,
        )
        return Ok({"mode": self.gateway.mode})

    @lifecycle(id="shutdown")
    def shutdown(self, **_):
        if self.gateway is not None:
            self.gateway.dispose()

    @plugin_entry(id="line", input_schema={"type": "object", "properties": {
        "action": {"type": "string"}, "payload": {}, "connection": {"type": "string"},
        "request_id": {"type": "string"}, "metadata": {}}})
    async def line(self, action: str = "", payload=None, connection: str = "c-1", request_id: str = "",
                   metadata=None, **_):
        external = ExternalRequest(protocol="line", connection_id=connection,
                                   request_id=request_id or uuid.uuid4().hex, action=action, payload=payload,
                                   metadata=metadata)
        response = await self.gateway.process(external)
        return Ok(response.to_dict())

    @plugin_entry(id="handle_request", input_schema={"type": "object", "properties": {"raw_data": {}}})
    async def handle_request(self, raw_data=None, **_):
        response = await self.tools.process(ExternalRequest(protocol="tools", raw=raw_data))
        return Ok(response.to_dict())
