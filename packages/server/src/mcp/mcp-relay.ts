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
  /** The client's requests not answered yet: answered with an error if the relay ends first, never left hanging. */
  const pending = new Set<string | number>();
  const answerPending = async (why: string) => {
    const ids = [...pending];
    pending.clear();
    for (const id of ids) {
      const message = { jsonrpc: "2.0", id, error: { code: -32603, message: why } };
      await transport.send(message as never, { relatedRequestId: id }).catch(() => undefined);
    }
  };
  const opened = channels.open(options.adapterId ?? MCP_ADAPTER_ID, "mcp", {
    onMessage: (message, { relatedRequestId }) => {
      for (const one of Array.isArray(message) ? message : [message]) {
        const { id, method } = (one ?? {}) as { id?: unknown; method?: unknown };
        if (method === undefined && (typeof id === "string" || typeof id === "number")) pending.delete(id);
      }
      transport
        .send(message as never, relatedRequestId === undefined ? undefined : { relatedRequestId })
        .catch((error: unknown) => options.onError?.(error));
    },
    onClose: () => {
      if (closing) return;
      closing = true;
      // The adapter went away (its process ended): its calls in flight get an answer, then the session ends.
      void answerPending("the MCP adapter stopped before it answered; start a new session")
        .then(() => transport.close())
        .catch((error: unknown) => options.onError?.(error));
    },
  });
  if (!opened.ok || !opened.end) return opened;
  const end = opened.end;
  transport.onmessage = (message: never) => {
    for (const one of Array.isArray(message) ? (message as unknown[]) : [message]) {
      const { id, method } = (one ?? {}) as { id?: unknown; method?: unknown };
      if (typeof method === "string" && (typeof id === "string" || typeof id === "number")) pending.add(id);
    }
    end.send(message);
  };
  transport.onclose = () => {
    if (closing) return;
    closing = true;
    pending.clear();
    end.close();
  };
  transport.onerror = (error) => options.onError?.(error);
  const relay: McpRelay = {
    async close() {
      if (closing) return;
      closing = true;
      end.close();
      await answerPending("the server is closing this MCP session");
      await transport.close();
    },
  };
  return { ok: true, value: { channel: end.id }, relay };
}
