export { parseAllowedHosts } from "./allowed-hosts.ts";
export { type ClientLimits, DEFAULT_CLIENT_LIMITS } from "./client-limits.ts";
export { errorBody, HttpError, statusForCode } from "./http-errors.ts";
export {
  BODY_LIMIT_BYTES,
  createPluginServer,
  DEFAULT_HOST,
  DEFAULT_PORT,
  isLoopbackHost,
  type PluginServerOptions,
} from "./plugin-server.ts";
export { MCP_ADAPTER_ID, type McpRelay, relayMcp, type RelayableTransport } from "./mcp/mcp-relay.ts";
export { BEARER_PROTOCOL, DEFAULT_WEBSOCKET_LIMITS, type WebSocketLimits, WS_CLOSE } from "./websocket-hub.ts";
