/**
 * One external MCP server as the adapter's client sees it: the MCP client and its transport (a child process over
 * stdio, or Streamable HTTP), the state the entries report, the retries with backoff, the pings, and the server's
 * tools, which `ToolEntries` turns into entries of the adapter. This object owns all of them; `close()` lets go of
 * every one.
 */
import {
  Client,
  ProtocolError,
  StreamableHTTPClientTransport,
  type Tool,
  type Transport,
} from "@modelcontextprotocol/client";
import { StdioClientTransport } from "@modelcontextprotocol/client/stdio";
import {
  Err,
  type PluginLogger,
  type Result,
  type SdkError,
  SdkError as PluginSdkError,
} from "@neko/plugin-sdk/plugin";
import type { McpServerSettings, McpTransportKind } from "./mcp-servers-table.ts";
import { callError, McpClientErrorCode, messageOf, toolResult } from "./mcp-tool-result.ts";
import { ReconnectBackoff } from "./reconnect-backoff.ts";
import { ServerStderr } from "./server-stderr.ts";

export type McpServerState = "connecting" | "connected" | "disconnected" | "failed";

/** Where a connection puts its tools: entries of the adapter (mcp-client.ts), or a fake in a test. */
export interface ToolEntries {
  /** Makes the entry for `tool` of `connection`'s server and returns its id. */
  add(connection: McpServerConnection, tool: Tool): string;
  remove(entryId: string): void;
}

/** What `list_servers` says about one server (snake_case, as every answer of the HTTP API). */
export interface McpServerStatus {
  name: string;
  /** Null for a table that cannot be used. */
  transport: McpTransportKind | null;
  /** The program and its arguments (stdio) or the URL; never `env` or `headers` values, which often hold secrets. */
  target: string | null;
  enabled: boolean;
  state: McpServerState;
  last_error: string | null;
  tool_count: number;
  /** The server's process while it runs (stdio). */
  pid: number | null;
  /** The server's own name and version, from its answer to `initialize`. */
  server_info: { name: string; version: string } | null;
  connected_at: string | null;
  /** When the next attempt is due; null when none is planned. */
  next_retry_at: string | null;
  /** Failed attempts and lost connections since the last healthy connection. */
  failures: number;
}

export interface McpServerConnectionOptions {
  settings: McpServerSettings;
  entries: ToolEntries;
  logger: PluginLogger;
  clientInfo: { name: string; version: string };
  /** The transport for one attempt; the default makes the SDK's stdio or Streamable HTTP one (a test's may differ). */
  makeTransport?: (settings: McpServerSettings) => Transport;
  backoff?: ReconnectBackoff;
}

/** Longest wait for a closing transport (the SDK gives a stdio server 2 s after its stdin ends, then signals it). */
const CLOSE_BOUND_MS = 5_000;

export class McpServerConnection {
  readonly settings: McpServerSettings;
  readonly #entries: ToolEntries;
  readonly #logger: PluginLogger;
  readonly #clientInfo: { name: string; version: string };
  readonly #makeTransport: (settings: McpServerSettings) => Transport;
  readonly #backoff: ReconnectBackoff;

  #state: McpServerState = "disconnected";
  #lastError: string | null = null;
  /** Bumped by every attempt and every close: callbacks of an older client see a different number and do nothing. */
  #generation = 0;
  #client: Client | undefined;
  #transport: Transport | undefined;
  #attempt: Promise<void> | undefined;
  #retryTimer: NodeJS.Timeout | undefined;
  #nextRetryAt: number | undefined;
  #pingTimer: NodeJS.Timeout | undefined;
  #connectedAt: number | undefined;
  #serverInfo: { name: string; version: string } | undefined;
  readonly #tools = new Map<string, { tool: Tool; entryId: string }>();
  #stderr: ServerStderr | undefined;
  #closed = false;

  constructor(options: McpServerConnectionOptions) {
    this.settings = options.settings;
    this.#entries = options.entries;
    this.#logger = options.logger;
    this.#clientInfo = options.clientInfo;
    this.#makeTransport = options.makeTransport ?? defaultTransport;
    this.#backoff = options.backoff ?? new ReconnectBackoff();
  }

  get name(): string {
    return this.settings.name;
  }

  get state(): McpServerState {
    return this.#state;
  }

  /** The tools the server listed, with the id of each one's entry. */
  get tools(): ReadonlyArray<{ tool: Tool; entryId: string }> {
    return [...this.#tools.values()];
  }

  /**
   * Connects now (a planned retry is brought forward and the backoff starts afresh); resolves when this attempt has
   * ended, connected or not. Nothing to do when connected; an attempt under way is awaited.
   */
  connect(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    if (this.#state === "connected") return Promise.resolve();
    if (this.#attempt) return this.#attempt;
    this.#backoff.reset();
    return this.#startAttempt();
  }

  /** Closes the connection by hand: the tools' entries go, no retry is planned, `connect` starts it again. */
  async disconnect(): Promise<void> {
    const wasUp = this.#state === "connected" || this.#state === "connecting";
    await this.#shutDown();
    if (this.#closed) return;
    this.#state = "disconnected";
    if (wasUp) this.#logger.info(`MCP server '${this.name}' disconnected by request`);
  }

  /** Lets go of everything for good (the server was removed or changed, or the adapter stops). Safe to call twice. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.#shutDown();
    this.#state = "disconnected";
  }

  /** Calls one of the server's tools: its result (structuredContent, else `{ content }`), or an `Err` saying why not. */
  async callTool(toolName: string, args: unknown, signal?: AbortSignal): Promise<Result<unknown, SdkError>> {
    const client = this.#client;
    if (this.#state !== "connected" || client === undefined) {
      const why = this.#state === "failed" && this.#lastError ? `: ${this.#lastError}` : "";
      return Err(
        new PluginSdkError(`MCP server '${this.name}' is not connected (${this.#state}${why})`, {
          code: McpClientErrorCode.NotConnected,
          details: { server: this.name, state: this.#state },
        }),
      );
    }
    if (!this.#tools.has(toolName)) {
      const known = [...this.#tools.keys()];
      return Err(
        new PluginSdkError(
          `MCP server '${this.name}' has no tool '${toolName}' (its tools: ${known.join(", ") || "none"})`,
          {
            code: McpClientErrorCode.ToolNotFound,
            details: { server: this.name, tool: toolName, tools: known },
          },
        ),
      );
    }
    const generation = this.#generation;
    try {
      const result = await client.callTool(
        { name: toolName, arguments: (args ?? {}) as Record<string, unknown> },
        { signal, timeout: this.settings.toolTimeoutSeconds * 1000 },
      );
      return toolResult(this.name, toolName, result);
    } catch (error) {
      // A call that failed on the way (not with an answer from the server) may mean the server is gone: a server
      // that does not answer a ping either is treated as lost.
      if (!ProtocolError.isInstance(error) && !signal?.aborted) void this.#ping(generation);
      return Err(
        callError({
          server: this.name,
          tool: toolName,
          error,
          timeoutSeconds: this.settings.toolTimeoutSeconds,
          canceled: signal?.aborted === true,
        }),
      );
    }
  }

  status(): McpServerStatus {
    const s = this.settings;
    const pid = this.#transport instanceof StdioClientTransport ? this.#transport.pid : null;
    return {
      name: s.name,
      transport: s.transport,
      target: s.transport === "stdio" ? [s.command, ...s.args].join(" ") : s.url,
      enabled: s.enabled,
      state: this.#state,
      last_error: this.#lastError,
      tool_count: this.#tools.size,
      pid: this.#state === "connected" ? pid : null,
      server_info: this.#serverInfo ?? null,
      connected_at: iso(this.#connectedAt),
      next_retry_at: iso(this.#nextRetryAt),
      failures: this.#backoff.failures,
    };
  }

  #startAttempt(): Promise<void> {
    const attempt = this.#connectOnce().finally(() => {
      if (this.#attempt === attempt) this.#attempt = undefined;
    });
    this.#attempt = attempt;
    return attempt;
  }

  async #connectOnce(): Promise<void> {
    this.#cancelRetry();
    const generation = ++this.#generation;
    this.#state = "connecting";
    const timeoutMs = this.settings.connectTimeoutSeconds * 1000;
    let transport: Transport;
    try {
      transport = this.#makeTransport(this.settings);
    } catch (error) {
      this.#failed(generation, `could not make its transport: ${messageOf(error)}`);
      return;
    }
    const stderr = new ServerStderr(this.name, this.#logger);
    if (transport instanceof StdioClientTransport && transport.stderr) stderr.follow(transport.stderr);
    const client = new Client(this.#clientInfo, {
      listChanged: {
        tools: { onChanged: (error, tools) => this.#toolsChanged(generation, error, tools) },
      },
    });
    client.onclose = () => this.#lost(generation, this.#describeClose());
    client.onerror = (error) => this.#logger.debug(`MCP server '${this.name}': ${messageOf(error)}`);
    this.#client = client;
    this.#transport = transport;
    this.#stderr = stderr;
    try {
      await withDeadline(
        (async () => {
          await client.connect(transport, { timeout: timeoutMs });
          if (generation !== this.#generation) return;
          const { tools } = await client.listTools(undefined, { timeout: timeoutMs });
          if (generation !== this.#generation) return;
          this.#connectedAt = Date.now();
          const info = client.getServerVersion();
          this.#serverInfo = info ? { name: info.name, version: info.version } : undefined;
          this.#lastError = null;
          this.#backoff.connected(this.#connectedAt);
          this.#applyTools(tools);
          this.#state = "connected";
          this.#startPings(generation);
          const where = transport instanceof StdioClientTransport ? `pid ${transport.pid}` : this.status().target;
          this.#logger.info(
            `MCP server '${this.name}' connected (${this.settings.transport}, ${where}): ${tools.length} tools`,
            { server: this.name, tools: tools.length },
          );
        })(),
        timeoutMs,
        `did not finish connecting within ${this.settings.connectTimeoutSeconds} s`,
      );
    } catch (error) {
      this.#failed(generation, `could not connect: ${this.#explain(error)}`);
    }
  }

  /** The connection went (process exit, closed stream, failed ping) while it was up or coming up. */
  #lost(generation: number, why: string): void {
    if (generation !== this.#generation || this.#closed) return;
    if (this.#state === "connecting") {
      // The attempt itself fails in a moment (its request rejects); let it report.
      return;
    }
    this.#failed(generation, why);
  }

  /** Ends the attempt or connection `generation` with `why`, and plans the next attempt. */
  #failed(generation: number, why: string): void {
    if (generation !== this.#generation || this.#closed) return;
    const wasConnected = this.#state === "connected";
    this.#generation += 1;
    this.#dropTools();
    this.#stopPings();
    void this.#closeClient();
    const delay = this.#backoff.next(Date.now());
    this.#lastError = why;
    this.#nextRetryAt = Date.now() + delay;
    this.#state = "failed";
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      this.#nextRetryAt = undefined;
      void this.#startAttempt();
    }, delay);
    this.#retryTimer.unref();
    const seconds = delay / 1000;
    this.#logger.warn(
      `MCP server '${this.name}' ${wasConnected ? "disconnected" : "failed"}: ${why}; retrying in ${seconds} s`,
      { server: this.name, retry_in_s: seconds, failures: this.#backoff.failures },
    );
  }

  #describeClose(): string {
    const tail = this.#stderr?.tail();
    const what = this.settings.transport === "stdio" ? "the server process exited" : "the connection closed";
    return tail ? `${what} (its last output: ${tail})` : what;
  }

  #explain(error: unknown): string {
    const code = (error as { code?: unknown })?.code;
    if (code === "ERR_ACCESS_DENIED") {
      return "the adapter may not start processes: set child_process = true in [plugin.permissions] of its plugin.toml";
    }
    const tail = this.#stderr?.tail();
    return tail ? `${messageOf(error)} (its last output: ${tail})` : messageOf(error);
  }

  /** Closes whatever is open and plans nothing; the state is the caller's to set. */
  async #shutDown(): Promise<void> {
    this.#generation += 1;
    this.#cancelRetry();
    this.#stopPings();
    this.#dropTools();
    this.#attempt = undefined;
    await this.#closeClient();
  }

  async #closeClient(): Promise<void> {
    const client = this.#client;
    this.#client = undefined;
    this.#transport = undefined;
    this.#connectedAt = undefined;
    this.#stderr?.stop();
    if (!client) return;
    await withDeadline(client.close(), CLOSE_BOUND_MS, "did not close").catch((error) =>
      this.#logger.warn(`MCP server '${this.name}': closing its connection failed: ${messageOf(error)}`),
    );
  }

  /** Makes the entries match `tools`: new ones added, gone ones removed, changed ones made again. */
  #applyTools(tools: Tool[]): { added: string[]; removed: string[] } {
    const next = new Map(tools.map((tool) => [tool.name, tool]));
    const removed: string[] = [];
    const added: string[] = [];
    for (const [name, held] of this.#tools) {
      const tool = next.get(name);
      if (tool && JSON.stringify(tool) === JSON.stringify(held.tool)) continue;
      this.#entries.remove(held.entryId);
      this.#tools.delete(name);
      removed.push(name);
    }
    for (const [name, tool] of next) {
      if (this.#tools.has(name)) continue;
      try {
        this.#tools.set(name, { tool, entryId: this.#entries.add(this, tool) });
        added.push(name);
      } catch (error) {
        this.#logger.warn(`MCP server '${this.name}': its tool '${name}' was left out: ${messageOf(error)}`);
      }
    }
    return { added, removed };
  }

  #dropTools(): void {
    for (const { entryId } of this.#tools.values()) this.#entries.remove(entryId);
    this.#tools.clear();
  }

  #toolsChanged(generation: number, error: Error | null, tools: Tool[] | null): void {
    if (generation !== this.#generation || this.#state !== "connected") return;
    if (error || tools === null) {
      this.#logger.warn(`MCP server '${this.name}': its new tool list could not be read: ${messageOf(error)}`);
      return;
    }
    const { added, removed } = this.#applyTools(tools);
    if (added.length === 0 && removed.length === 0) return;
    const changes = [...removed.map((name) => `-${name}`), ...added.map((name) => `+${name}`)];
    this.#logger.info(
      `MCP server '${this.name}' changed its tools (${changes.join(", ")}): ${this.#tools.size} tools`,
      { server: this.name, tools: this.#tools.size },
    );
  }

  #startPings(generation: number): void {
    this.#stopPings();
    if (this.settings.pingIntervalSeconds === 0) return;
    let busy = false;
    this.#pingTimer = setInterval(() => {
      if (busy) return;
      busy = true;
      void this.#ping(generation).finally(() => {
        busy = false;
      });
    }, this.settings.pingIntervalSeconds * 1000);
    this.#pingTimer.unref();
  }

  #stopPings(): void {
    if (this.#pingTimer) clearInterval(this.#pingTimer);
    this.#pingTimer = undefined;
  }

  async #ping(generation: number): Promise<void> {
    const client = this.#client;
    if (!client || generation !== this.#generation || this.#state !== "connected") return;
    const timeoutMs = Math.min(this.settings.connectTimeoutSeconds, 10) * 1000;
    try {
      await client.ping({ timeout: timeoutMs });
    } catch (error) {
      this.#lost(generation, `it did not answer a ping: ${messageOf(error)}`);
    }
  }

  #cancelRetry(): void {
    if (this.#retryTimer) clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
    this.#nextRetryAt = undefined;
  }
}

/** The SDK's transport for `settings`: a child process over stdio (its stderr read by us), or Streamable HTTP. */
function defaultTransport(settings: McpServerSettings): Transport {
  if (settings.transport === "stdio") {
    return new StdioClientTransport({
      command: settings.command,
      args: settings.args,
      env: settings.env,
      stderr: "pipe",
      ...(settings.cwd !== undefined && { cwd: settings.cwd }),
    });
  }
  return new StreamableHTTPClientTransport(new URL(settings.url), { requestInit: { headers: settings.headers } });
}

async function withDeadline<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(what)), ms);
  });
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

function iso(ms: number | undefined): string | null {
  return ms === undefined ? null : new Date(ms).toISOString();
}
