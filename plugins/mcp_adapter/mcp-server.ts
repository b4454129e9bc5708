/** The MCP server side of the adapter: one MCP server per session the host relays (filled in by the MCP server work). */
import type { NekoAdapterPlugin } from "@neko/plugin-sdk/adapter";

export class McpServerSide {
  constructor(readonly plugin: NekoAdapterPlugin) {}

  start(): void {}

  async stop(): Promise<void> {}
}
