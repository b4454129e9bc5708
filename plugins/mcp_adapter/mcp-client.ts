/** The MCP client side of the adapter: external MCP servers' tools as dynamic entries (filled in by the client work). */
import type { NekoAdapterPlugin } from "@neko/plugin-sdk/adapter";

export class McpClientSide {
  constructor(readonly plugin: NekoAdapterPlugin) {}

  async start(): Promise<void> {}

  async stop(): Promise<void> {}
}
