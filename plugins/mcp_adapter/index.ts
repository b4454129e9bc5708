import { NekoAdapterPlugin } from "@neko/plugin-sdk/adapter";
import { lifecycle, nekoPlugin, Ok } from "@neko/plugin-sdk/plugin";
import { McpClientSide } from "./mcp-client.ts";
import { McpServerSide } from "./mcp-server.ts";

/**
 * The MCP adapter (docs/mcp.md). As a server, it answers the MCP sessions the host relays to it (Streamable HTTP at
 * /mcp, stdio through `neko-plugin mcp`): every exposed entry of every running plugin is a tool. As a client, it
 * connects to the MCP servers of its [mcp_servers.<name>] tables and makes their tools its dynamic entries.
 */
@nekoPlugin
export class McpAdapterPlugin extends NekoAdapterPlugin {
  readonly server = new McpServerSide(this);
  readonly client = new McpClientSide(this);

  @lifecycle({ id: "startup" })
  async startup() {
    this.server.start();
    await this.client.start();
    return Ok({ sessions: 0 });
  }

  /** The external MCP servers follow the manifest; an unusable [mcp_servers] table refuses the change. */
  @lifecycle({ id: "config_change" })
  async configChange({ newConfig }: { newConfig: Record<string, unknown> }) {
    const answer = await this.client.configChanged(newConfig);
    this.server.configChanged();
    return answer;
  }

  @lifecycle({ id: "reload" })
  async reload({ newConfig }: { newConfig: Record<string, unknown> }) {
    const answer = await this.client.configChanged(newConfig);
    this.server.configChanged();
    return answer;
  }

  @lifecycle({ id: "shutdown" })
  async shutdown() {
    await this.client.stop();
    await this.server.stop();
  }
}
