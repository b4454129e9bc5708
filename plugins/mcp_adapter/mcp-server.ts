/**
 * The MCP server side of the adapter (docs/mcp.md). The host relays each MCP session (Streamable HTTP at /mcp, stdio
 * through `neko-plugin mcp`) over a channel; each gets its own MCP server from the official SDK. Every exposed, enabled
 * entry of every running plugin is a tool `<plugin>__<entry>` with the entry's JSON Schema; a call goes to the entry
 * (the MCP cancellation aborts it, `runUpdate` progress is sent back when the client asked for it), and the tool list
 * follows plugins starting, stopping and changing their entries (`notifications/tools/list_changed`).
 */
import type { CallToolResult, JSONRPCMessage, Tool, Transport } from "@modelcontextprotocol/server";
import { Server } from "@modelcontextprotocol/server";
import { type AdapterChannel, AdapterGatewayCore, type NekoAdapterPlugin } from "@neko/plugin-sdk/adapter";
import { type CallProgress, SDK_VERSION } from "@neko/plugin-sdk/plugin";
import { toolResult } from "./tool-result.ts";
import { ToolCatalog } from "./tool-catalog.ts";

/** The lifecycle records after which the tool list may differ (docs/bus.md). */
const TOOL_LIST_EVENTS = [
  "plugin_started",
  "plugin_stopping",
  "plugin_stopped",
  "plugin_crashed",
  "plugin_quarantined",
  "plugin_frozen",
  "plugin_disabled",
  "plugin_refused",
  "plugin_unreachable",
  "plugin_entries_changed",
];

/** A channel as the MCP SDK's `Transport`: messages that arrive before the server starts are kept for it. */
class ChannelTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage) => void;
  private early: JSONRPCMessage[] | undefined = [];

  constructor(private readonly channel: AdapterChannel) {
    channel.onMessage((message) => {
      if (this.early) this.early.push(message as JSONRPCMessage);
      else this.onmessage?.(message as JSONRPCMessage);
    });
    channel.onClose(() => this.onclose?.());
  }

  async start(): Promise<void> {
    const early = this.early ?? [];
    this.early = undefined;
    for (const message of early) this.onmessage?.(message);
  }

  async send(message: JSONRPCMessage, options?: { relatedRequestId?: string | number }): Promise<void> {
    if (this.channel.send(message, { relatedRequestId: options?.relatedRequestId })) return;
    if (this.channel.isClosed) return;
    // A response that cannot go to the host (a result over the frame limit): the client gets an error, not silence.
    const { id, result } = message as { id?: string | number; result?: unknown };
    if (id === undefined || result === undefined) throw new Error("an MCP message could not be sent to the host");
    const error = { code: -32603, message: "the result is too large to send (the limit is 64 MiB)" };
    this.channel.send({ jsonrpc: "2.0", id, error }, { relatedRequestId: options?.relatedRequestId });
  }

  async close(): Promise<void> {
    this.channel.close();
  }
}

/**
 * The entry's `runUpdate` as MCP progress notifications for the client's token. MCP wants each notification's
 * progress above the last one's: an update that does not move it forward is not sent.
 */
function progressSender(
  notify: (notification: { method: string; params?: Record<string, unknown> }) => Promise<void>,
  progressToken: string | number,
): (update: CallProgress) => void {
  let last = Number.NEGATIVE_INFINITY;
  return ({ progress, message, stage }) => {
    if (progress === null || progress <= last) return;
    last = progress;
    const text = message ?? stage;
    const params = { progressToken, progress, total: 100, ...(text !== null && { message: text }) };
    notify({ method: "notifications/progress", params }).catch(() => undefined);
  };
}

export class McpServerSide {
  private readonly sessions = new Map<string, Server>();
  private core: AdapterGatewayCore | undefined;
  private readonly catalog: ToolCatalog;
  private readonly stops: Array<() => void> = [];
  private listChangedTimer: NodeJS.Timeout | undefined;

  constructor(readonly plugin: NekoAdapterPlugin) {
    this.catalog = new ToolCatalog(plugin);
  }

  /** Serves the sessions the host opens, and tells them when the tool list changes. */
  start(): void {
    const opening = this.plugin.channels.onOpen((channel) => this.open(channel));
    this.stops.push(() => opening.dispose());
    for (const type of TOOL_LIST_EVENTS) {
      this.stops.push(
        this.plugin.bus.on(type, (_payload, event) => {
          // The host's own records only (no publisher): a plugin emitting the same type changes nothing here.
          if (event.publisher === null) this.toolsChanged();
        }),
      );
    }
  }

  /** The adapter's configuration changed: `[mcp]` and `[adapter]` (policy, routes) apply from the next call on. */
  configChanged(): void {
    this.core?.dispose();
    this.core = undefined;
    this.toolsChanged();
  }

  async stop(): Promise<void> {
    for (const stop of this.stops.splice(0)) stop();
    this.core?.dispose();
    this.core = undefined;
    clearTimeout(this.listChangedTimer);
    await Promise.all([...this.sessions.values()].map((server) => server.close().catch(() => undefined)));
    this.sessions.clear();
  }

  /** The adapter's gateway, made from its `[adapter]` settings on first use. */
  private gateway(): AdapterGatewayCore {
    this.core ??= AdapterGatewayCore.forPlugin(this.plugin);
    return this.core;
  }

  /** Sessions open now. */
  get size(): number {
    return this.sessions.size;
  }

  private open(channel: AdapterChannel): void {
    if (channel.kind !== "mcp") return;
    const server = new Server(
      { name: "neko-plugin", version: SDK_VERSION },
      {
        capabilities: { tools: { listChanged: true } },
        instructions:
          "Each tool is an entry of a neko-plugin plugin, named <plugin>__<entry>. Results carry structuredContent.",
      },
    );
    server.setRequestHandler("tools/list", async () => ({ tools: (await this.catalog.tools()) as Tool[] }));
    server.setRequestHandler("tools/call", async (request, ctx): Promise<CallToolResult> => {
      const { name, arguments: args } = request.params;
      const target = await this.catalog.resolve(name);
      if (!target) {
        return {
          isError: true,
          content: [{ type: "text", text: `unknown tool '${name}': tools/list names the tools there are` }],
        };
      }
      const progressToken = ctx.mcpReq._meta?.progressToken;
      // Through the gateway: its policy (allow/deny lists, size and rate limits, the audit record) applies to MCP.
      const response = await this.gateway().process(
        {
          protocol: "mcp",
          connectionId: channel.id,
          requestId: String(ctx.mcpReq.id).slice(0, 256),
          action: name,
          payload: args ?? {},
          metadata: { target: { pluginId: target.pluginId, entryId: target.entryId } },
        },
        {
          signal: ctx.mcpReq.signal,
          ...(progressToken !== undefined && { onProgress: progressSender(ctx.mcpReq.notify, progressToken) }),
        },
      );
      return toolResult(response, target.llmResultFields);
    });
    this.sessions.set(channel.id, server);
    channel.onClose(() => {
      this.sessions.delete(channel.id);
      void server.close().catch(() => undefined);
    });
    server.connect(new ChannelTransport(channel)).catch((error: unknown) => {
      this.plugin.logger.exception("an MCP session could not start", error);
      channel.close();
    });
  }

  /** Changes that come together (a reload) make one notification, at most 50 ms after the first of them. */
  private toolsChanged(): void {
    this.catalog.forget();
    if (this.listChangedTimer) return;
    this.listChangedTimer = setTimeout(() => {
      this.listChangedTimer = undefined;
      this.catalog.forget();
      for (const server of this.sessions.values()) {
        server.sendToolListChanged().catch(() => undefined);
      }
    }, 50);
  }
}
