/**
 * The MCP adapter as an MCP server, against the official MCP client SDK (@modelcontextprotocol/client) over
 * Streamable HTTP at /mcp: tools of running plugins with their schemas, calls with structuredContent, invalid args,
 * an entry's Err, cancellation reaching the entry's signal, tools/list_changed when a plugin stops, and a foreign
 * Origin refused. Real host, real plugin processes, real HTTP.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import net from "node:net";
import { after, before, describe, test } from "node:test";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import { StdioClientTransport } from "@modelcontextprotocol/client/stdio";
import {
  copyExamplePlugins,
  descendantPids,
  isAlive,
  makeTempDir,
  waitFor,
  writePlugin,
} from "../support/plugin-fixtures.ts";
import { startTestHost, type TestHost } from "../support/test-host.ts";

const CLI = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../packages/cli/bin/neko-plugin.js");

const toolsCode = `
import { Err, NekoPluginBase, nekoPlugin, Ok, pluginEntry, SdkError, z } from "@neko/plugin-sdk/plugin";

let lastAbort: string | null = null;

@nekoPlugin
export class ToolsPlugin extends NekoPluginBase {
  @pluginEntry({
    id: "add",
    description: "Adds two numbers",
    params: z.object({ a: z.number(), b: z.number() }),
    llmResultFields: ["sum"],
  })
  add({ a, b }: { a: number; b: number }) {
    return Ok({ sum: a + b, internal: "not for the LLM" });
  }

  @pluginEntry({ id: "refuse" })
  refuse() {
    return Err(new SdkError("not today", { code: "NOT_TODAY" }));
  }

  @pluginEntry({ id: "slow", params: z.object({ ms: z.number() }), timeout: 60 })
  async slow({ ms }: { ms: number }, ctx: { signal: AbortSignal }) {
    lastAbort = null;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      ctx.signal.addEventListener("abort", () => {
        clearTimeout(timer);
        lastAbort = String((ctx.signal.reason as Error)?.message ?? ctx.signal.reason);
        resolve();
      });
    });
    return Ok({ done: true });
  }

  @pluginEntry({ id: "work" })
  async work() {
    for (const progress of [25, 50, 75]) {
      await this.runUpdate({ progress, message: "step " + progress });
      await new Promise((r) => setTimeout(r, 20));
    }
    return Ok({ worked: true });
  }

  @pluginEntry({ id: "quit" })
  quit() {
    setTimeout(() => process.exit(9), 20);
    return Ok({ quitting: true });
  }

  @pluginEntry({ id: "fake_lifecycle" })
  fakeLifecycle() {
    // A plugin publishing the host's record types: the MCP adapter must not take them for the host's.
    for (let i = 0; i < 5; i++) this.bus.emit("plugin_started", { pluginId: "ghost" });
    return Ok(true);
  }

  @pluginEntry({ id: "last_abort" })
  lastAbortSeen() {
    return Ok({ aborted: lastAbort });
  }
}
`;

/** What an MCP client sees of the tools, whatever the transport. */
function toolCases(mcp: () => Client): void {
  test("lists the entries of the running plugins as tools, with their schemas; its own are hidden", async () => {
    const { tools } = await mcp().listTools();
    const names = tools.map((tool) => tool.name).sort();
    assert.deepEqual(names, [
      "hello_world__greet",
      "tools_p__add",
      "tools_p__fake_lifecycle",
      "tools_p__last_abort",
      "tools_p__quit",
      "tools_p__refuse",
      "tools_p__slow",
      "tools_p__work",
    ]);
    const add = tools.find((tool) => tool.name === "tools_p__add");
    assert.ok(add);
    assert.equal(add.description, "Adds two numbers");
    assert.deepEqual(add.inputSchema.required, ["a", "b"]);
    assert.equal((add.inputSchema.properties as Record<string, { type: string }>).a.type, "number");
  });

  test("a call answers structuredContent (the llmResultFields) and the same as text", async () => {
    const result = await mcp().callTool({ name: "tools_p__add", arguments: { a: 2, b: 3 } });
    assert.equal(result.isError, undefined);
    assert.deepEqual(result.structuredContent, { sum: 5 });
    assert.deepEqual(result.content, [{ type: "text", text: '{"sum":5}' }]);
    const greeting = await mcp().callTool({ name: "hello_world__greet", arguments: { name: "MCP" } });
    assert.deepEqual(greeting.structuredContent, { message: "Hello, MCP!" });
  });

  test("invalid args are a tool error naming the field; an entry's Err is isError with its code", async () => {
    const invalid = await mcp().callTool({ name: "tools_p__add", arguments: { a: "two", b: 3 } });
    assert.equal(invalid.isError, true);
    const text = (invalid.content as Array<{ text: string }>)[0].text;
    assert.match(text, /^VALIDATION_ERROR: .*\ba\b/);
    const refused = await mcp().callTool({ name: "tools_p__refuse", arguments: {} });
    assert.equal(refused.isError, true);
    assert.deepEqual((refused.structuredContent as { error: { code: string } }).error.code, "NOT_TODAY");
    assert.match((refused.content as Array<{ text: string }>)[0].text, /^NOT_TODAY: not today$/);
    const unknown = await mcp().callTool({ name: "nope__nothing", arguments: {} });
    assert.equal(unknown.isError, true);
  });

  test("the entry's runUpdate progress reaches the client as MCP progress notifications", async () => {
    const seen: Array<{ progress: number; message?: string }> = [];
    const result = await mcp().callTool(
      { name: "tools_p__work", arguments: {} },
      { onprogress: (p) => seen.push({ progress: p.progress, message: p.message }) },
    );
    assert.deepEqual(result.structuredContent, { worked: true });
    assert.deepEqual(
      seen.map((p) => p.progress),
      [25, 50, 75],
    );
    assert.equal(seen[0].message, "step 25");
  });

  test("cancelling a call aborts the entry's signal", async () => {
    const controller = new AbortController();
    const call = mcp().callTool({ name: "tools_p__slow", arguments: { ms: 20_000 } }, { signal: controller.signal });
    await new Promise((r) => setTimeout(r, 500));
    controller.abort(new Error("the user gave up"));
    await assert.rejects(call);
    const seen = await waitFor(
      async () => {
        const answer = await mcp().callTool({ name: "tools_p__last_abort", arguments: {} });
        return (answer.structuredContent as { aborted: string | null }).aborted;
      },
      { what: "the entry's signal aborted" },
    );
    assert.match(seen, /cancel/i);
  });
}

describe("the MCP adapter over Streamable HTTP, with the official client", () => {
  let root: string;
  let dataDir: string;
  let t: TestHost;
  let client: Client;
  let listChanged = 0;

  before(async () => {
    root = makeTempDir("neko-mcp-");
    dataDir = makeTempDir("neko-mcp-data-");
    copyExamplePlugins(root, ["mcp_adapter", "hello_world"]);
    writePlugin(root, { id: "tools_p", className: "ToolsPlugin", code: toolsCode });
    t = await startTestHost({ roots: [root], dataDir });
    await waitFor(async () => (await t.request("GET", "/plugins/mcp_adapter")).body.status === "running", {
      what: "mcp_adapter running",
      timeoutMs: 30_000,
    });
    client = new Client({ name: "neko-test", version: "1.0.0" });
    client.setNotificationHandler("notifications/tools/list_changed", () => {
      listChanged += 1;
    });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${t.url}/mcp`)));
  });

  after(async () => {
    await client?.close().catch(() => undefined);
    await t?.close();
    fs.rmSync(root, { recursive: true, force: true });
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  toolCases(() => client);

  test("a plugin stopping sends tools/list_changed and its tools vanish", async () => {
    const before = listChanged;
    assert.equal((await t.request("POST", "/plugin/hello_world/stop")).status, 200);
    await waitFor(() => listChanged > before, { what: "notifications/tools/list_changed" });
    const { tools } = await client.listTools();
    assert.equal(
      tools.some((tool) => tool.name.startsWith("hello_world__")),
      false,
    );
    assert.equal((await t.request("POST", "/plugin/hello_world/start")).status, 200);
    await waitFor(async () => (await client.listTools()).tools.some((tool) => tool.name === "hello_world__greet"), {
      what: "hello_world's tools back",
    });
  });

  test("a plugin publishing the host's lifecycle record types triggers no tools/list_changed", async () => {
    // Quiet first: the notifications of the earlier tests' restarts are all in.
    await new Promise((r) => setTimeout(r, 400));
    const before = listChanged;
    await client.callTool({ name: "tools_p__fake_lifecycle", arguments: {} });
    await new Promise((r) => setTimeout(r, 400));
    assert.equal(listChanged, before);
  });

  test("[mcp] hide changed while the adapter runs applies at once, and the sessions hear it", async () => {
    const before = listChanged;
    const changed = await t.request("POST", "/plugin/mcp_adapter/config/hot-update", {
      config: { mcp: { hide: ["mcp_adapter", "tools_p:refuse"] } },
      mode: "temporary",
    });
    assert.equal(changed.status, 200, JSON.stringify(changed.body));
    await waitFor(() => listChanged > before, { what: "list_changed after the config change" });
    const names = (await client.listTools()).tools.map((tool) => tool.name);
    assert.equal(names.includes("tools_p__refuse"), false);
    assert.equal(names.includes("tools_p__add"), true);
    const hidden = await client.callTool({ name: "tools_p__refuse", arguments: {} });
    assert.match((hidden.content as Array<{ text: string }>)[0].text, /unknown tool/);
  });

  test("a request /mcp cannot be made of leaves no channel behind", async () => {
    const open = () => (t.host.debugCounts()["channels.open"] ?? 0) as number;
    const before = open();
    const { port } = new URL(t.url);
    const body = JSON.stringify({
      jsonrpc: "2.0",
      id: 1,
      method: "initialize",
      params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "raw", version: "1" } },
    });
    // An absolute-form request target, as a proxy sends it.
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = net.connect(Number(port), "127.0.0.1", () => {
        socket.write(
          `POST http://127.0.0.1:${port}/mcp HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\ncontent-type: application/json\r\n` +
            `accept: application/json, text/event-stream\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
        );
      });
      let text = "";
      socket.on("data", (chunk) => {
        text += chunk.toString();
      });
      socket.on("end", () => resolve(text));
      socket.on("error", reject);
    });
    assert.match(answer, /^HTTP\/1\.1 \d{3}/);
    await new Promise((r) => setTimeout(r, 200));
    assert.ok(open() <= before + 1, `channels: ${before} → ${open()}`);
    // The session it may have made is a real one: ending it leaves the count where it was.
    const id = /mcp-session-id: ([\w-]+)/i.exec(answer)?.[1];
    if (id) {
      await fetch(`${t.url}/mcp`, { method: "DELETE", headers: { "mcp-session-id": id } });
      await waitFor(() => open() === before, { what: "the raw session's channel closed" });
    }
    assert.equal(open(), before);
  });

  test("the adapter dying during a call answers the call at once, and a new session works after its restart", async () => {
    const adapterPid = (await t.request("GET", "/plugins/mcp_adapter")).body.pid as number;
    const call = client.callTool({ name: "tools_p__slow", arguments: { ms: 20_000 } }, { timeout: 15_000 });
    await new Promise((r) => setTimeout(r, 300));
    const started = Date.now();
    process.kill(adapterPid, "SIGKILL");
    await assert.rejects(call, /MCP adapter stopped/);
    assert.ok(Date.now() - started < 5000, "answered long before the client's own timeout");
    await waitFor(async () => (await t.request("GET", "/plugins/mcp_adapter")).body.status === "running", {
      what: "mcp_adapter restarted",
      timeoutMs: 20_000,
    });
    await client.close().catch(() => undefined);
    client = new Client({ name: "neko-test-2", version: "1.0.0" });
    client.setNotificationHandler("notifications/tools/list_changed", () => {
      listChanged += 1;
    });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${t.url}/mcp`)));
    const added = await client.callTool({ name: "tools_p__add", arguments: { a: 1, b: 1 } });
    assert.deepEqual(added.structuredContent, { sum: 2 });
  });

  test("a foreign Origin is refused on every method; a request without a session is a JSON-RPC error", async () => {
    for (const method of ["GET", "POST", "DELETE"]) {
      const res = await fetch(`${t.url}/mcp`, {
        method,
        headers: {
          origin: "http://evil.example",
          "content-type": "application/json",
          accept: "application/json, text/event-stream",
        },
        body: method === "POST" ? JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list" }) : undefined,
      });
      assert.equal(res.status, 403, method);
      assert.equal((await res.json()).error.code, "CROSS_ORIGIN_REFUSED");
    }
    const stray = await fetch(`${t.url}/mcp`, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json, text/event-stream" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list" }),
    });
    assert.equal(stray.status, 400);
    assert.equal((await stray.json()).error.code, -32000);
    const unknown = await fetch(`${t.url}/mcp`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "mcp-session-id": "nope",
        accept: "application/json, text/event-stream",
      },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list" }),
    });
    assert.equal(unknown.status, 404);
  });
});

describe("neko-plugin mcp: the same tools over stdio, with the official client", () => {
  let root: string;
  let dataDir: string;
  let client: Client;
  let transport: StdioClientTransport;
  let stderr = "";
  let listChanged = 0;

  before(async () => {
    root = makeTempDir("neko-mcp-stdio-");
    dataDir = makeTempDir("neko-mcp-stdio-data-");
    copyExamplePlugins(root, ["mcp_adapter", "hello_world"]);
    writePlugin(root, { id: "tools_p", className: "ToolsPlugin", code: toolsCode });
    transport = new StdioClientTransport({
      command: process.execPath,
      args: [CLI, "mcp", "--no-builtin", "--plugins-dir", root],
      env: { ...(process.env as Record<string, string>), NEKO_DATA_DIR: dataDir },
      stderr: "pipe",
    });
    transport.stderr?.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    client = new Client({ name: "neko-stdio-test", version: "1.0.0" });
    client.setNotificationHandler("notifications/tools/list_changed", () => {
      listChanged += 1;
    });
    await client.connect(transport);
  });

  after(async () => {
    await client?.close().catch(() => undefined);
    fs.rmSync(root, { recursive: true, force: true });
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  toolCases(() => client);

  test("a plugin going away sends tools/list_changed; every log line went to stderr", async () => {
    const before = listChanged;
    const crashed = await client.callTool({ name: "tools_p__quit", arguments: {} });
    assert.equal(crashed.isError, undefined);
    await waitFor(() => listChanged > before, { what: "notifications/tools/list_changed" });
    await waitFor(async () => (await client.listTools()).tools.some((tool) => tool.name === "tools_p__add"), {
      what: "tools_p back after its restart",
      timeoutMs: 20_000,
    });
    assert.match(stderr, /serving MCP over stdio/);
  });

  test("closing the client stops the host and every plugin process", async () => {
    const pid = transport.pid;
    assert.ok(pid);
    const plugins = descendantPids(pid);
    assert.ok(plugins.length >= 3, `plugin processes: ${plugins.join(", ")}`);
    await client.close();
    await waitFor(() => !isAlive(pid) && plugins.every((p) => !isAlive(p)), {
      what: "the mcp command and its plugins gone",
      timeoutMs: 20_000,
    });
  });
});
