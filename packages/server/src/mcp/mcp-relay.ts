/**
 * Relays one MCP connection to the MCP adapter (docs/mcp.md): the official SDK's transport on the host's side (the
 * Streamable HTTP session of `/mcp`, or stdio for `neko-plugin mcp`) and a channel to the adapter's process, where
 * the MCP server itself runs. JSON-RPC messages pass unread both ways; closing either end closes the other.
 */
import type { ChannelsApi } from "@neko/host";
import type { WireResult } from "@neko/protocol";

/** What the relay needs of an MCP SDK transport (its `Transport` interface, as the host drives it). */
export interface RelayableTransport {
  start(): Promise<void>;
  send(message: never, options?: { relatedRequestId?: string | number }): Promise<void>;
  close(): Promise<void>;
  onmessage?: ((message: never) => void) | undefined;
  onclose?: (() => void) | undefined;
  onerror?: ((error: Error) => void) | undefined;
}

/** The plugin that answers MCP: the built-in adapter. */
export const MCP_ADAPTER_ID = "mcp_adapter";

export interface McpRelay {
  /** Ends the relay: the channel and the transport. */
  close(): Promise<void>;
}

/**
 * Opens a channel to the adapter and wires `transport` to it. Call before the transport sees its first message (the
 * HTTP route then hands it the request). An Err when the adapter is not running.
 */
export function relayMcp(
  channels: ChannelsApi,
  transport: RelayableTransport,
  options: { adapterId?: string; onError?: (error: unknown) => void } = {},
): WireResult & { relay?: McpRelay } {
  let closing = false;
  const opened = channels.open(options.adapterId ?? MCP_ADAPTER_ID, "mcp", {
    onMessage: (message, { relatedRequestId }) => {
      transport
        .send(message as never, relatedRequestId === undefined ? undefined : { relatedRequestId })
        .catch((error: unknown) => options.onError?.(error));
    },
    onClose: () => {
      if (closing) return;
      closing = true;
      transport.close().catch((error: unknown) => options.onError?.(error));
    },
  });
  if (!opened.ok || !opened.end) return opened;
  const end = opened.end;
  transport.onmessage = (message: never) => {
    end.send(message);
  };
  transport.onclose = () => {
    if (closing) return;
    closing = true;
    end.close();
  };
  transport.onerror = (error) => options.onError?.(error);
  const relay: McpRelay = {
    async close() {
      if (closing) return;
      closing = true;
      end.close();
      await transport.close();
    },
  };
  return { ok: true, value: { channel: end.id }, relay };
}
