/**
 * The entries that manage the adapter's external MCP servers (docs/mcp-client.md): add and remove them (in
 * plugin.toml), list them with their state, connect and disconnect them, and list or call their tools by name.
 */
import { type EntryContext, Ok, PluginRouter, pluginEntry, z } from "@neko/plugin-sdk/plugin";
import type { McpClientSide } from "./mcp-client.ts";
import { SERVER_NAME } from "./mcp-servers-table.ts";

const serverName = z.string().describe("the server's name: the <name> of its [mcp_servers.<name>] table");
const stringTable = z.record(z.string(), z.string());

/** add_server's arguments: the keys of an [mcp_servers.<name>] table, checked by the same rules (mcp-servers-table.ts). */
const addServerParams = z.strictObject({
  name: z.string().regex(SERVER_NAME, "1 to 64 letters, digits, '_' or '-'").describe("a new server's name"),
  transport: z
    .enum(["stdio", "streamable-http"])
    .optional()
    .describe('"stdio" (a program started by the adapter) or "streamable-http" (a URL); default: from command or url'),
  command: z.string().optional().describe("stdio: the program to start, e.g. npx or node"),
  args: z.array(z.string()).optional().describe("stdio: its arguments"),
  env: stringTable.optional().describe("stdio: environment variables for it (besides HOME, PATH, …)"),
  cwd: z.string().optional().describe("stdio: the folder it starts in"),
  url: z.string().optional().describe("streamable-http: the server's MCP endpoint, http:// or https://"),
  headers: stringTable.optional().describe("streamable-http: headers sent with each request (Authorization, …)"),
  enabled: z.boolean().optional().describe("false: saved, not connected until connect_server"),
  tool_timeout: z.number().optional().describe("seconds a tool call may take (default 60)"),
  connect_timeout: z.number().optional().describe("seconds a connection attempt may take (default 15)"),
  ping_interval: z.number().optional().describe("seconds between pings of a connected server, 0 for none (default 30)"),
});

export class McpClientRouter extends PluginRouter {
  readonly #side: McpClientSide;

  constructor(side: McpClientSide) {
    super();
    this.#side = side;
  }

  @pluginEntry({
    id: "add_server",
    description: "Add an external MCP server: saved as [mcp_servers.<name>] in plugin.toml and connected at once",
    params: addServerParams,
  })
  addServer({ name, ...table }: z.infer<typeof addServerParams>) {
    return this.#side.addServer(name, table);
  }

  @pluginEntry({
    id: "remove_server",
    description: "Remove an external MCP server from plugin.toml; its tools' entries go",
    params: z.strictObject({ name: serverName }),
  })
  removeServer({ name }: { name: string }) {
    return this.#side.removeServer(name);
  }

  @pluginEntry({
    id: "list_servers",
    description: "The external MCP servers, each with its state (connecting, connected, disconnected, failed)",
  })
  listServers() {
    return Ok({ servers: this.#side.list() });
  }

  @pluginEntry({
    id: "connect_server",
    description: "Connect an external MCP server now (a planned retry is brought forward)",
    params: z.strictObject({ name: serverName }),
  })
  connectServer({ name }: { name: string }) {
    return this.#side.connectServer(name);
  }

  @pluginEntry({
    id: "disconnect_server",
    description: "Disconnect an external MCP server until connect_server or the adapter's next start",
    params: z.strictObject({ name: serverName }),
  })
  disconnectServer({ name }: { name: string }) {
    return this.#side.disconnectServer(name);
  }

  @pluginEntry({
    id: "list_tools",
    description: "The tools of the connected external MCP servers (or of one), with the entry each one is",
    params: z.strictObject({ server_name: serverName.optional() }),
  })
  listTools({ server_name }: { server_name?: string }) {
    return this.#side.listTools(server_name);
  }

  @pluginEntry({
    id: "call_tool",
    description: "Call a tool of an external MCP server by name; the server checks the arguments",
    params: z.strictObject({
      server_name: serverName,
      tool_name: z.string().describe("the tool's name, as the server lists it"),
      arguments: z.record(z.string(), z.unknown()).default({}).describe("the tool's arguments"),
    }),
    // The call is bounded by the server's tool_timeout (at most a day), not by this entry.
    timeout: 86_400,
  })
  callTool(args: { server_name: string; tool_name: string; arguments: Record<string, unknown> }, ctx: EntryContext) {
    return this.#side.callTool(args.server_name, args.tool_name, args.arguments, ctx.signal);
  }
}
