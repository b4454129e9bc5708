/**
 * The MCP client side of the adapter (docs/mcp-client.md): one connection per `[mcp_servers.<name>]` table, each
 * server's tools as dynamic entries `mcp_<server>_<tool>`, and the entries that manage the servers (through
 * `McpClientRouter`). It follows the manifest (start, `config_change`, `reload`) and owns every connection.
 */
import type { NekoAdapterPlugin } from "@neko/plugin-sdk/adapter";
import type { Tool } from "@modelcontextprotocol/client";
import {
  type EntryOptions,
  Err,
  Ok,
  type Result,
  SDK_VERSION,
  SdkError,
  unwrap,
  ValidationError,
} from "@neko/plugin-sdk/plugin";
import { McpClientRouter } from "./mcp-client-router.ts";
import { McpServerConnection, type McpServerStatus, type ToolEntries } from "./mcp-server-connection.ts";
import {
  type McpServerSettings,
  parseServerTable,
  parseServersTable,
  problemsText,
  type SettingsProblem,
  sameSettings,
  settingsTable,
} from "./mcp-servers-table.ts";
import { McpClientErrorCode, messageOf } from "./mcp-tool-result.ts";
import { freeToolEntryId } from "./tool-entry-ids.ts";

/** How long `startup` waits for the servers' first attempts before the adapter reports ready (they go on after). */
const STARTUP_WAIT_MS = 3_000;
/** How long `add_server` and `connect_server` wait for the attempt before answering with the state it is in. */
const CONNECT_WAIT_MS = 15_000;

/** A server of the manifest whose table cannot be used: listed with its problems, never connected. */
interface InvalidServer {
  name: string;
  problems: SettingsProblem[];
}

export class McpClientSide {
  readonly #connections = new Map<string, McpServerConnection>();
  #invalid = new Map<string, InvalidServer>();
  #stopped = false;
  /** Where connections put their tools: entries of this plugin. */
  readonly #toolEntries: ToolEntries = {
    add: (connection, tool) => this.#addToolEntry(connection, tool),
    remove: (entryId) => void this.plugin.unregisterDynamicEntry(entryId),
  };

  constructor(readonly plugin: NekoAdapterPlugin) {
    unwrap(plugin.includeRouter(new McpClientRouter(this), { name: "mcp_client" }));
  }

  /** Connects the manifest's servers; waits a little for them, so a fast server's tools are there when ready. */
  async start(): Promise<void> {
    const parsed = parseServersTable(this.plugin.config.get("mcp_servers"));
    for (const { name, problems } of parsed.invalid) {
      this.plugin.logger.error(`MCP server '${name}' is left out: ${problemsText(problems)}`, { server: name });
    }
    const attempts = this.#follow(parsed.servers, parsed.invalid);
    await settledWithin(attempts, STARTUP_WAIT_MS);
  }

  /** Lets go of every server (their processes end); the adapter is stopping. */
  async stop(): Promise<void> {
    this.#stopped = true;
    const connections = [...this.#connections.values()];
    this.#connections.clear();
    await Promise.all(connections.map((c) => c.close()));
  }

  /**
   * `config_change` and `reload`: the servers follow the new manifest (added ones connect, removed ones go, changed
   * ones reconnect); a table that cannot be used refuses the change, so the old configuration stays.
   */
  configChanged(newConfig: Record<string, unknown>): Result<{ servers: string[] }, ValidationError> {
    const parsed = parseServersTable(newConfig.mcp_servers);
    // A table that was already unusable does not block other changes (add_server beside it): it stays listed.
    const problems = parsed.invalid
      .filter((i) => JSON.stringify(i.problems) !== JSON.stringify(this.#invalid.get(i.name)?.problems))
      .flatMap((i) => i.problems);
    if (problems.length > 0) {
      return Err(new ValidationError(`bad [mcp_servers]: ${problemsText(problems)}`, { details: { problems } }));
    }
    this.#follow(parsed.servers, parsed.invalid);
    return Ok({ servers: parsed.servers.map((s) => s.name) });
  }

  list(): McpServerStatus[] {
    const statuses = [...this.#connections.values()].map((c) => c.status());
    const invalid = [...this.#invalid.values()].map(invalidStatus);
    return [...statuses, ...invalid].sort((a, b) => a.name.localeCompare(b.name));
  }

  /** Checks `table` as a manifest table, saves it to plugin.toml, and connects the server. */
  async addServer(name: string, table: Record<string, unknown>): Promise<Result<McpServerStatus, SdkError>> {
    const parsed = parseServerTable(name, table);
    if (!parsed.ok) {
      // Named as add_server's arguments (`command`), not as the manifest's keys (`mcp_servers.x.command`).
      const issues = parsed.problems.map((p) => ({
        field: p.field.split(".").slice(2).join(".") || "name",
        message: p.message,
      }));
      const text = issues.map((i) => `${i.field}: ${i.message}`).join("; ");
      return Err(new ValidationError(`invalid arguments: ${text}`, { details: { issues } }));
    }
    if (this.#connections.has(name) || this.#invalid.has(name)) {
      return Err(
        new SdkError(`there is already an MCP server named '${name}': remove_server it first, or pick another name`, {
          code: McpClientErrorCode.ServerExists,
          details: { server: name },
        }),
      );
    }
    const written = await this.plugin.config.update({ mcp_servers: { [name]: settingsTable(parsed.settings) } });
    if (!written.ok) return written;
    // config_change has made the connection already; this catches the case where it did not run.
    const saved = parseServersTable(this.plugin.config.get("mcp_servers"));
    this.#follow(saved.servers, saved.invalid);
    const connection = this.#connections.get(name);
    if (!connection) {
      return Err(
        new SdkError(`MCP server '${name}' was saved, but the adapter is stopping`, { code: "INTERNAL_ERROR" }),
      );
    }
    this.plugin.logger.info(`MCP server '${name}' added`, { server: name });
    if (connection.settings.enabled) await settledWithin([connection.connect()], CONNECT_WAIT_MS);
    return Ok(connection.status());
  }

  /** Takes the server out of plugin.toml; its connection and entries go. */
  async removeServer(name: string): Promise<Result<{ removed: string; servers: string[] }, SdkError>> {
    if (!this.#connections.has(name) && !this.#invalid.has(name)) return Err(this.#notFound(name));
    const connection = this.#connections.get(name);
    const written = await this.plugin.config.set(["mcp_servers", name], "__DELETE__");
    if (!written.ok) return written;
    this.#connections.delete(name);
    this.#invalid.delete(name);
    await connection?.close();
    return Ok({ removed: name, servers: this.list().map((s) => s.name) });
  }

  async connectServer(name: string): Promise<Result<McpServerStatus, SdkError>> {
    const connection = this.#find(name);
    if (!connection.ok) return connection;
    await settledWithin([connection.value.connect()], CONNECT_WAIT_MS);
    return Ok(connection.value.status());
  }

  async disconnectServer(name: string): Promise<Result<McpServerStatus, SdkError>> {
    const connection = this.#find(name);
    if (!connection.ok) return connection;
    await connection.value.disconnect();
    return Ok(connection.value.status());
  }

  listTools(serverName?: string): Result<{ tools: ToolView[] }, SdkError> {
    let connections = [...this.#connections.values()];
    if (serverName !== undefined) {
      const found = this.#find(serverName);
      if (!found.ok) return found;
      connections = [found.value];
    }
    const tools = connections.flatMap((c) =>
      c.tools.map(({ tool, entryId }) => ({
        server: c.name,
        name: tool.name,
        entry_id: entryId,
        title: tool.title ?? null,
        description: tool.description ?? null,
        input_schema: tool.inputSchema as Record<string, unknown>,
      })),
    );
    return Ok({ tools });
  }

  async callTool(
    serverName: string,
    toolName: string,
    args: Record<string, unknown>,
    signal: AbortSignal,
  ): Promise<Result<unknown, SdkError>> {
    const connection = this.#find(serverName);
    if (!connection.ok) return connection;
    return connection.value.callTool(toolName, args, signal);
  }

  /** The entry `mcp_<server>_<tool>` of a tool, whose calls go to its server. */
  #addToolEntry(connection: McpServerConnection, tool: Tool): string {
    const taken = new Set(this.plugin.listEntries({ includeDisabled: true }).map((e) => e.id));
    const id = freeToolEntryId(connection.name, tool.name, (candidate) => taken.has(candidate));
    const where = `tool '${tool.name}' of MCP server '${connection.name}'`;
    const options: Omit<EntryOptions, "id"> = {
      name: tool.title ?? tool.annotations?.title ?? tool.name,
      description: tool.description ? `${tool.description} (${where})` : `The ${where}`,
      inputSchema: tool.inputSchema as Record<string, unknown>,
      timeout: connection.settings.toolTimeoutSeconds,
      // The server checks its own arguments: a name its schema does not list is the server's to refuse or ignore.
      allowExtraArgs: true,
      metadata: { mcp_server: connection.name, mcp_tool: tool.name },
    };
    const handler = (args: Record<string, unknown>, ctx: { signal: AbortSignal }) =>
      connection.callTool(tool.name, args, ctx.signal);
    try {
      this.plugin.registerDynamicEntry(id, handler, options);
    } catch (error) {
      // A schema the validator cannot compile: the server checks the arguments itself, so the tool stays usable.
      this.plugin.logger.warn(`the ${where} is not checked before calls: ${messageOf(error)}`);
      this.plugin.registerDynamicEntry(id, handler, { ...options, modelValidate: false });
    }
    return id;
  }

  /**
   * Makes the connections match `servers`: new ones are made (and started when enabled), removed ones closed,
   * changed ones replaced. Unchanged ones keep their state, a server disconnected by hand included. Returns the
   * attempts started.
   */
  #follow(servers: McpServerSettings[], invalid: InvalidServer[]): Promise<void>[] {
    if (this.#stopped) return [];
    const wanted = new Map(servers.map((s) => [s.name, s]));
    for (const [name, connection] of this.#connections) {
      const next = wanted.get(name);
      if (next && sameSettings(next, connection.settings)) continue;
      this.#connections.delete(name);
      void connection.close();
      if (next) this.plugin.logger.info(`MCP server '${name}' changed: reconnecting`, { server: name });
      else this.plugin.logger.info(`MCP server '${name}' removed`, { server: name });
    }
    this.#invalid = new Map(invalid.map((i) => [i.name, i]));
    const attempts: Promise<void>[] = [];
    for (const settings of servers) {
      if (this.#connections.has(settings.name)) continue;
      const connection = new McpServerConnection({
        settings,
        entries: this.#toolEntries,
        logger: this.plugin.logger,
        clientInfo: { name: `neko-plugin/${this.plugin.pluginId}`, version: SDK_VERSION },
      });
      this.#connections.set(settings.name, connection);
      if (settings.enabled) attempts.push(connection.connect());
    }
    return attempts;
  }

  #find(name: string): Result<McpServerConnection, SdkError> {
    const connection = this.#connections.get(name);
    if (connection) return Ok(connection);
    const invalid = this.#invalid.get(name);
    if (invalid) {
      return Err(
        new SdkError(`MCP server '${name}' cannot be used: ${problemsText(invalid.problems)}`, {
          code: McpClientErrorCode.ServerInvalid,
          details: { server: name, problems: invalid.problems },
        }),
      );
    }
    return Err(this.#notFound(name));
  }

  #notFound(name: string): SdkError {
    const known = this.list().map((s) => s.name);
    return new SdkError(`there is no MCP server named '${name}' (servers: ${known.join(", ") || "none"})`, {
      code: McpClientErrorCode.ServerNotFound,
      details: { server: name, servers: known },
    });
  }
}

export interface ToolView {
  server: string;
  name: string;
  entry_id: string;
  title: string | null;
  description: string | null;
  input_schema: Record<string, unknown>;
}

function invalidStatus({ name, problems }: InvalidServer): McpServerStatus {
  return {
    name,
    transport: null,
    target: null,
    enabled: false,
    state: "failed",
    last_error: `its table cannot be used: ${problemsText(problems)}`,
    tool_count: 0,
    pid: null,
    server_info: null,
    connected_at: null,
    next_retry_at: null,
    failures: 0,
  };
}

/** Waits for `work` to settle, for at most `ms`; never rejects. */
async function settledWithin(work: Promise<unknown>[], ms: number): Promise<void> {
  if (work.length === 0) return;
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    Promise.allSettled(work),
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, ms);
    }),
  ]);
  clearTimeout(timer);
}
