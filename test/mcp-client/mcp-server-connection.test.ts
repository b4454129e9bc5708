/**
 * One external MCP server's connection (plugins/mcp_adapter/mcp-server-connection.ts) against a real MCP server of the
 * official SDK over the in-memory transport: tools as entries, results and errors, tools/list_changed, a lost
 * connection and its retries, disconnecting by hand, cancellation reaching the server.
 */
import assert from "node:assert/strict";
import { afterEach, test } from "node:test";
import { InMemoryTransport, McpServer } from "@modelcontextprotocol/server";
import type { Tool } from "@modelcontextprotocol/client";
import type { PluginLogger } from "@neko/plugin-sdk/plugin";
import { z } from "@neko/plugin-sdk/plugin";
import { McpServerConnection, type ToolEntries } from "../../plugins/mcp_adapter/mcp-server-connection.ts";
import { parseServerTable } from "../../plugins/mcp_adapter/mcp-servers-table.ts";
import { ReconnectBackoff } from "../../plugins/mcp_adapter/reconnect-backoff.ts";
import { waitFor } from "../support/plugin-fixtures.ts";

/** A server of the official SDK; a new one is made for each connection attempt, as a restarted process would be. */
class FakeServers {
  /** When set, an attempt fails with this before reaching a server. */
  refuse: string | undefined;
  attempts = 0;
  current: McpServer | undefined;
  /** Set when a call of `slow` saw its request signal aborted. */
  slowAborted = false;
  readonly #extra = new Map<string, string>();

  makeTransport = () => {
    this.attempts += 1;
    if (this.refuse) throw new Error(this.refuse);
    const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
    const server = new McpServer(
      { name: "fake", version: "1.2.3" },
      { capabilities: { tools: { listChanged: true } } },
    );
    server.registerTool(
      "echo",
      { description: "Echoes", inputSchema: z.object({ message: z.string() }) },
      async ({ message }) => ({ content: [{ type: "text", text: `Echo: ${message}` }] }),
    );
    server.registerTool(
      "weather",
      { inputSchema: z.object({}), outputSchema: z.object({ celsius: z.number() }) },
      async () => ({ content: [{ type: "text", text: '{"celsius":21}' }], structuredContent: { celsius: 21 } }),
    );
    server.registerTool("broken", { inputSchema: z.object({}) }, async () => ({
      content: [{ type: "text", text: "disk full" }],
      isError: true,
    }));
    server.registerTool("slow", { inputSchema: z.object({}) }, async (_args, ctx) => {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 10_000);
        ctx.mcpReq.signal.addEventListener("abort", () => {
          this.slowAborted = true;
          clearTimeout(timer);
          resolve();
        });
      });
      return { content: [] };
    });
    for (const [name, text] of this.#extra) {
      server.registerTool(name, { inputSchema: z.object({}) }, async () => ({ content: [{ type: "text", text }] }));
    }
    void server.connect(serverSide);
    this.current = server;
    return clientSide;
  };

  /** A tool every later server has too. */
  addTool(name: string, text: string) {
    this.#extra.set(name, text);
    return this.current?.registerTool(name, { inputSchema: z.object({}) }, async () => ({
      content: [{ type: "text", text }],
    }));
  }

  /** The server goes away, as a process that exits. */
  async kill() {
    await this.current?.close();
  }
}

class FakeEntries implements ToolEntries {
  readonly entries = new Map<string, Tool>();
  add(connection: McpServerConnection, tool: Tool) {
    const id = `mcp_${connection.name}_${tool.name}`;
    assert.ok(!this.entries.has(id), `${id} added twice`);
    this.entries.set(id, tool);
    return id;
  }
  remove(entryId: string) {
    assert.ok(this.entries.delete(entryId), `${entryId} removed but not there`);
  }
  ids() {
    return [...this.entries.keys()].sort();
  }
}

function silentLogger(lines: string[] = []): PluginLogger {
  const log = (message: string) => void lines.push(message);
  return { debug: () => undefined, info: log, warn: log, error: log, exception: log };
}

const open: McpServerConnection[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.close()));
});

function connectionFor(servers: FakeServers, options: { logs?: string[]; table?: Record<string, unknown> } = {}) {
  const parsed = parseServerTable("fake", { command: "unused", ping_interval: 0, ...options.table });
  assert.ok(parsed.ok);
  const entries = new FakeEntries();
  const connection = new McpServerConnection({
    settings: parsed.settings,
    entries,
    logger: silentLogger(options.logs),
    clientInfo: { name: "test", version: "0" },
    makeTransport: servers.makeTransport,
    backoff: new ReconnectBackoff({ initialMs: 40, maxMs: 200 }),
  });
  open.push(connection);
  return { connection, entries };
}

test("connects: each tool is an entry, and the status says so", async () => {
  const servers = new FakeServers();
  const { connection, entries } = connectionFor(servers);
  await connection.connect();
  assert.equal(connection.state, "connected");
  assert.deepEqual(entries.ids(), ["mcp_fake_broken", "mcp_fake_echo", "mcp_fake_slow", "mcp_fake_weather"]);
  assert.deepEqual(entries.entries.get("mcp_fake_echo")?.inputSchema.required, ["message"]);
  const status = connection.status();
  assert.equal(status.tool_count, 4);
  assert.deepEqual(status.server_info, { name: "fake", version: "1.2.3" });
  assert.equal(status.last_error, null);
  assert.equal(status.next_retry_at, null);
  assert.equal(typeof status.connected_at, "string");
});

test("a call answers with the structured content, else the content; isError and unknown tools are errors", async () => {
  const { connection } = connectionFor(new FakeServers());
  await connection.connect();
  assert.deepEqual(await connection.callTool("echo", { message: "hi" }), {
    ok: true,
    value: { content: [{ type: "text", text: "Echo: hi" }] },
  });
  assert.deepEqual(await connection.callTool("weather", {}), { ok: true, value: { celsius: 21 } });
  const broken = await connection.callTool("broken", {});
  assert.ok(!broken.ok);
  assert.equal(broken.error.code, "MCP_TOOL_ERROR");
  assert.match(broken.error.message, /'broken' of server 'fake' reported an error: disk full/);
  const badArgs = await connection.callTool("echo", { message: 42 });
  assert.ok(!badArgs.ok);
  assert.match(badArgs.error.message, /message/);
  const unknown = await connection.callTool("ecko", {});
  assert.ok(!unknown.ok);
  assert.equal(unknown.error.code, "MCP_TOOL_NOT_FOUND");
  assert.match(unknown.error.message, /its tools: echo, weather, broken, slow/);
});

test("an aborted call is canceled on the server too", async () => {
  const servers = new FakeServers();
  const { connection } = connectionFor(servers);
  await connection.connect();
  const controller = new AbortController();
  const call = connection.callTool("slow", {}, controller.signal);
  setTimeout(() => controller.abort(), 50);
  const result = await call;
  assert.ok(!result.ok);
  assert.equal(result.error.code, "CANCELED");
  await waitFor(() => servers.slowAborted, { what: "the server to see the cancellation", timeoutMs: 3000 });
  assert.deepEqual(await connection.callTool("echo", { message: "still" }), {
    ok: true,
    value: { content: [{ type: "text", text: "Echo: still" }] },
  });
});

test("tools/list_changed: a new tool becomes an entry, a removed one goes", async () => {
  const servers = new FakeServers();
  const { connection, entries } = connectionFor(servers);
  await connection.connect();
  const added = servers.addTool("later", "I am new");
  await waitFor(() => entries.entries.has("mcp_fake_later"), { what: "the new tool's entry", timeoutMs: 3000 });
  assert.deepEqual(await connection.callTool("later", {}), {
    ok: true,
    value: { content: [{ type: "text", text: "I am new" }] },
  });
  added?.remove();
  await waitFor(() => !entries.entries.has("mcp_fake_later"), { what: "the entry to go", timeoutMs: 3000 });
  assert.equal(connection.status().tool_count, 4);
});

test("a lost server: its entries go, it is retried with backoff, and its entries come back", async () => {
  const servers = new FakeServers();
  const logs: string[] = [];
  const { connection, entries } = connectionFor(servers, { logs });
  await connection.connect();
  servers.refuse = "connection refused";
  await servers.kill();
  await waitFor(() => connection.state === "failed", { what: "the loss to be seen" });
  assert.deepEqual(entries.ids(), []);
  const lost = connection.status();
  assert.match(lost.last_error ?? "", /the server process exited/);
  assert.equal(typeof lost.next_retry_at, "string");
  const down = await connection.callTool("echo", { message: "x" });
  assert.ok(!down.ok);
  assert.equal(down.error.code, "MCP_SERVER_NOT_CONNECTED");
  // Refused attempts go on, each after a longer wait.
  await waitFor(() => servers.attempts >= 4, { what: "three retries", timeoutMs: 5000 });
  assert.match(connection.status().last_error ?? "", /connection refused/);
  assert.ok(connection.status().failures >= 3);
  servers.refuse = undefined;
  await waitFor(() => connection.state === "connected", { what: "the reconnect", timeoutMs: 5000 });
  assert.equal(entries.ids().length, 4);
  assert.equal(connection.status().last_error, null);
  assert.ok(logs.some((l) => /MCP server 'fake' disconnected: the server process exited; retrying in 0.04 s/.test(l)));
  assert.ok(logs.some((l) => /MCP server 'fake' failed: could not make its transport: connection refused/.test(l)));
});

test("disconnect by hand: no retry until connect; close: never again", async () => {
  const servers = new FakeServers();
  const { connection, entries } = connectionFor(servers);
  await connection.connect();
  await connection.disconnect();
  assert.equal(connection.state, "disconnected");
  assert.deepEqual(entries.ids(), []);
  assert.equal(connection.status().next_retry_at, null);
  const attempts = servers.attempts;
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(servers.attempts, attempts, "no retry after a disconnect by hand");
  await connection.connect();
  assert.equal(connection.state, "connected");
  assert.equal(entries.ids().length, 4);
  await connection.close();
  assert.deepEqual(entries.ids(), []);
  await servers.kill();
  await connection.connect();
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(servers.attempts, attempts + 1, "a closed connection never connects again");
  assert.equal(connection.state, "disconnected");
});

test("an attempt that takes too long fails and is retried", async () => {
  const servers = new FakeServers();
  const silent = () => {
    servers.attempts += 1;
    // A peer that never answers `initialize`.
    const [clientSide] = InMemoryTransport.createLinkedPair();
    return clientSide;
  };
  const parsed = parseServerTable("slowpoke", { command: "unused", connect_timeout: 0.2, ping_interval: 0 });
  assert.ok(parsed.ok);
  const connection = new McpServerConnection({
    settings: parsed.settings,
    entries: new FakeEntries(),
    logger: silentLogger(),
    clientInfo: { name: "test", version: "0" },
    makeTransport: silent,
    backoff: new ReconnectBackoff({ initialMs: 50 }),
  });
  open.push(connection);
  const started = Date.now();
  await connection.connect();
  assert.ok(Date.now() - started < 2000, "the attempt is bounded");
  assert.equal(connection.state, "failed");
  assert.match(connection.status().last_error ?? "", /could not connect/);
  await waitFor(() => servers.attempts >= 2, { what: "a retry" });
});
