/**
 * The MCP adapter as an MCP client (docs/mcp-client.md), through real processes: the host, the adapter under the
 * permission model, and `@modelcontextprotocol/server-everything` — an MCP server no one here wrote — started by the
 * adapter over stdio, and once over Streamable HTTP. Its tools are entries; calls, errors, a killed server coming back,
 * servers added and removed in plugin.toml, and no process left behind.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { parse } from "smol-toml";
import { copyExamplePlugins, descendantPids, isAlive, makeTempDir, waitFor } from "../support/plugin-fixtures.ts";
import { startTestHost, type TestHost } from "../support/test-host.ts";

const EVERYTHING = fileURLToPath(
  new URL("../../node_modules/@modelcontextprotocol/server-everything/dist/index.js", import.meta.url),
);
const EVERYTHING_VERSION = JSON.parse(
  fs.readFileSync(path.join(path.dirname(EVERYTHING), "../package.json"), "utf8"),
).version;

interface ServerStatus {
  name: string;
  state: string;
  last_error: string | null;
  tool_count: number;
  pid: number | null;
  next_retry_at: string | null;
  transport: string | null;
}

describe(`the MCP adapter as a client of server-everything ${EVERYTHING_VERSION}`, () => {
  let root: string;
  let t: TestHost;
  const logs: string[] = [];
  const manifestPath = () => path.join(root, "mcp_adapter", "plugin.toml");
  const adapter = async () => (await t.request("GET", "/plugins/mcp_adapter")).body;
  const entryIds = async (prefix: string): Promise<string[]> =>
    (await adapter()).entries
      .map((e: { id: string }) => e.id)
      .filter((id: string) => id.startsWith(prefix))
      .sort();
  const servers = async (): Promise<ServerStatus[]> => {
    const res = await t.trigger("mcp_adapter", "list_servers");
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body.data.servers;
  };
  const server = async (name: string) => {
    const found = (await servers()).find((s) => s.name === name);
    assert.ok(found, `no server ${name}`);
    return found;
  };
  /** Every process the adapter started, seen at some point; each must be gone in the end. */
  const seenPids = new Set<number>();
  let httpServer: ChildProcess | undefined;

  before(async () => {
    root = makeTempDir("neko-mcp-client-");
    copyExamplePlugins(root, ["mcp_adapter"]);
    fs.appendFileSync(
      manifestPath(),
      `
[mcp_servers.everything]
transport = "stdio"
command = ${JSON.stringify(process.execPath)}
args = [${JSON.stringify(EVERYTHING)}, "stdio"]
env = { NEKO_MCP_TEST = "from plugin.toml" }

[mcp_servers.missing]
command = "/nonexistent/neko-mcp-server"

[mcp_servers.broken]
transport = "pigeon"
`,
    );
    t = await startTestHost(
      { roots: [root] },
      {
        onLog: (pluginId, record) => {
          if (pluginId === "mcp_adapter") logs.push(`${record.level} ${record.msg}`);
        },
      },
    );
    await waitFor(async () => (await entryIds("mcp_everything_")).length > 0, {
      what: "server-everything's tools",
      timeoutMs: 20_000,
    });
  });

  after(async () => {
    const adapterPid = (await adapter().catch(() => undefined))?.pid;
    if (adapterPid) for (const pid of descendantPids(adapterPid)) seenPids.add(pid);
    httpServer?.kill("SIGKILL");
    await t?.close();
    await waitFor(() => [...seenPids].every((pid) => !isAlive(pid)), {
      what: `the MCP servers to end (${[...seenPids].join(", ")})`,
      timeoutMs: 10_000,
    });
    fs.rmSync(root, { recursive: true, force: true });
  });

  test("each tool is an entry mcp_everything_<tool> with the tool's input schema and description", async () => {
    const ids = await entryIds("mcp_everything_");
    for (const tool of ["echo", "get-sum", "get-structured-content", "get-env"]) {
      assert.ok(ids.includes(`mcp_everything_${tool}`), `${tool} in ${ids.join(", ")}`);
    }
    const echo = (await adapter()).entries.find((e: { id: string }) => e.id === "mcp_everything_echo");
    assert.equal(echo.dynamic, true);
    assert.equal(echo.timeout, 60);
    assert.match(echo.description, /^Echoes back the input string \(tool 'echo' of MCP server 'everything'\)$/);
    assert.deepEqual(echo.input_schema.properties.message.type, "string");
    assert.deepEqual(echo.input_schema.required, ["message"]);
    const managing = ["add_server", "remove_server", "list_servers", "connect_server", "disconnect_server"];
    for (const id of [...managing, "list_tools", "call_tool"]) {
      assert.ok(
        (await adapter()).entries.some((e: { id: string }) => e.id === id),
        id,
      );
    }
    assert.ok(logs.some((l) => /^info MCP server 'everything' connected \(stdio, pid \d+\): \d+ tools$/.test(l)));
  });

  test("POST /plugin/trigger runs the tools and answers with their results", async () => {
    const echo = await t.trigger("mcp_adapter", "mcp_everything_echo", { message: "hello, MCP" });
    assert.equal(echo.status, 200, JSON.stringify(echo.body));
    assert.deepEqual(echo.body.data, { content: [{ type: "text", text: "Echo: hello, MCP" }] });
    // A name the tool's schema does not list is the server's to judge, not refused before the call.
    const extra = await t.trigger("mcp_adapter", "mcp_everything_echo", { message: "extra", verbose: true });
    assert.equal(extra.status, 200, JSON.stringify(extra.body));
    assert.deepEqual(extra.body.data, { content: [{ type: "text", text: "Echo: extra" }] });

    const sum = await t.trigger("mcp_adapter", "mcp_everything_get-sum", { a: 2, b: 40 });
    assert.deepEqual(sum.body.data, { content: [{ type: "text", text: "The sum of 2 and 40 is 42." }] });

    const weather = await t.trigger("mcp_adapter", "mcp_everything_get-structured-content", { location: "Chicago" });
    assert.deepEqual(weather.body.data, { temperature: 36, conditions: "Light rain / drizzle", humidity: 82 });

    // The env of the table reaches the server's process, beside the few variables the MCP SDK passes on.
    const env = await t.trigger("mcp_adapter", "mcp_everything_get-env");
    const seen = JSON.parse(env.body.data.content[0].text);
    assert.equal(seen.NEKO_MCP_TEST, "from plugin.toml");
    assert.equal(typeof seen.PATH, "string");
  });

  test("bad arguments get a clear error naming the field", async () => {
    const missing = await t.trigger("mcp_adapter", "mcp_everything_echo", {});
    assert.equal(missing.status, 400);
    assert.equal(missing.body.error.code, "VALIDATION_ERROR");
    assert.match(missing.body.error.message, /message: is required/);

    const wrongType = await t.trigger("mcp_adapter", "mcp_everything_get-sum", { a: "two", b: 3 });
    assert.equal(wrongType.status, 400);
    assert.match(wrongType.body.error.message, /a: must be number/);

    // call_tool leaves the checking to the server, whose refusal comes back as the tool's error.
    const byName = await t.trigger("mcp_adapter", "call_tool", {
      server_name: "everything",
      tool_name: "echo",
      arguments: { message: 42 },
    });
    assert.equal(byName.status, 422);
    assert.equal(byName.body.error.code, "MCP_TOOL_ERROR");
    assert.match(byName.body.error.message, /^MCP tool 'echo' of server 'everything' reported an error: .*message/);

    const unknownTool = await t.trigger("mcp_adapter", "call_tool", { server_name: "everything", tool_name: "ecko" });
    assert.equal(unknownTool.body.error.code, "MCP_TOOL_NOT_FOUND");
    assert.match(unknownTool.body.error.message, /has no tool 'ecko' \(its tools: echo, /);

    const unknownServer = await t.trigger("mcp_adapter", "call_tool", { server_name: "nope", tool_name: "echo" });
    assert.equal(unknownServer.body.error.code, "MCP_SERVER_NOT_FOUND");
    assert.match(
      unknownServer.body.error.message,
      /no MCP server named 'nope' \(servers: broken, everything, missing\)/,
    );

    const noServerName = await t.trigger("mcp_adapter", "call_tool", { tool_name: "echo" });
    assert.equal(noServerName.status, 400);
    assert.match(noServerName.body.error.message, /server_name/);
  });

  test("list_servers, list_tools and call_tool; a server that cannot start or is misconfigured is listed, not fatal", async () => {
    const everything = await server("everything");
    const adapterPid = (await adapter()).pid;
    assert.equal(everything.state, "connected");
    assert.equal(everything.transport, "stdio");
    assert.equal(everything.last_error, null);
    assert.equal(everything.tool_count, (await entryIds("mcp_everything_")).length);
    assert.ok(everything.pid && descendantPids(adapterPid).includes(everything.pid), "a child of the adapter");
    seenPids.add(everything.pid);

    const missing = await server("missing");
    assert.equal(missing.state, "failed");
    assert.match(missing.last_error ?? "", /ENOENT/);
    assert.notEqual(missing.next_retry_at, null, "it is retried");
    const broken = await server("broken");
    assert.equal(broken.state, "failed");
    assert.match(broken.last_error ?? "", /mcp_servers\.broken\.transport must be "stdio" or "streamable-http"/);
    assert.equal((await adapter()).status, "running");

    const tools = await t.trigger("mcp_adapter", "list_tools", { server_name: "everything" });
    const echo = tools.body.data.tools.find((tool: { name: string }) => tool.name === "echo");
    assert.deepEqual(
      { server: echo.server, entry_id: echo.entry_id, required: echo.input_schema.required },
      { server: "everything", entry_id: "mcp_everything_echo", required: ["message"] },
    );
    assert.equal(tools.body.data.tools.length, everything.tool_count);

    const called = await t.trigger("mcp_adapter", "call_tool", {
      server_name: "everything",
      tool_name: "get-sum",
      arguments: { a: 1, b: 2 },
    });
    assert.equal(called.status, 200, JSON.stringify(called.body));
    assert.deepEqual(called.body.data, { content: [{ type: "text", text: "The sum of 1 and 2 is 3." }] });
  });

  test("a killed server: its entries go, and the reconnect brings them back with a new process", async () => {
    const before = await server("everything");
    assert.ok(before.pid);
    const toolCount = before.tool_count;
    process.kill(before.pid, "SIGKILL");
    await waitFor(async () => (await entryIds("mcp_everything_")).length === 0, {
      what: "the entries to go",
      timeoutMs: 5_000,
    });
    assert.equal((await t.trigger("mcp_adapter", "mcp_everything_echo", { message: "x" })).status, 404);
    await waitFor(async () => (await entryIds("mcp_everything_")).length === toolCount, {
      what: "the entries to come back",
      timeoutMs: 20_000,
    });
    const after = await server("everything");
    assert.equal(after.state, "connected");
    assert.ok(after.pid && after.pid !== before.pid, "a new process");
    seenPids.add(after.pid);
    assert.equal(isAlive(before.pid), false);
    const echo = await t.trigger("mcp_adapter", "mcp_everything_echo", { message: "back" });
    assert.deepEqual(echo.body.data, { content: [{ type: "text", text: "Echo: back" }] });
    assert.ok(
      logs.some((l) =>
        /^warn MCP server 'everything' disconnected: the server process exited.*; retrying in 1 s$/.test(l),
      ),
      logs.join("\n"),
    );
  });

  test("disconnect_server ends the process and takes the entries; connect_server brings them back", async () => {
    const { pid } = await server("everything");
    assert.ok(pid);
    const off = await t.trigger("mcp_adapter", "disconnect_server", { name: "everything" });
    assert.equal(off.status, 200, JSON.stringify(off.body));
    assert.equal(off.body.data.state, "disconnected");
    assert.equal(off.body.data.next_retry_at, null);
    assert.deepEqual(await entryIds("mcp_everything_"), []);
    await waitFor(() => !isAlive(pid), { what: "the server process to end" });
    const down = await t.trigger("mcp_adapter", "call_tool", { server_name: "everything", tool_name: "echo" });
    assert.equal(down.body.error.code, "MCP_SERVER_NOT_CONNECTED");
    assert.match(down.body.error.message, /MCP server 'everything' is not connected \(disconnected\)/);

    const on = await t.trigger("mcp_adapter", "connect_server", { name: "everything" });
    assert.equal(on.body.data.state, "connected", JSON.stringify(on.body));
    seenPids.add(on.body.data.pid);
    assert.ok((await entryIds("mcp_everything_")).includes("mcp_everything_echo"));
  });

  test("add_server saves the server in plugin.toml and connects it; it survives a restart; remove_server takes it out", async () => {
    const added = await t.trigger("mcp_adapter", "add_server", {
      name: "second",
      transport: "stdio",
      command: process.execPath,
      args: [EVERYTHING, "stdio"],
      tool_timeout: 20,
    });
    assert.equal(added.status, 200, JSON.stringify(added.body));
    assert.equal(added.body.data.state, "connected");
    assert.ok(added.body.data.tool_count > 0);
    seenPids.add(added.body.data.pid);
    assert.ok((await entryIds("mcp_second_")).includes("mcp_second_echo"));
    const saved = parse(fs.readFileSync(manifestPath(), "utf8")) as { mcp_servers: Record<string, unknown> };
    assert.deepEqual(
      { ...(saved.mcp_servers.second as object) },
      {
        transport: "stdio",
        command: process.execPath,
        args: [EVERYTHING, "stdio"],
        tool_timeout: 20,
      },
    );

    const again = await t.trigger("mcp_adapter", "add_server", { name: "second", command: "node" });
    assert.equal(again.body.error.code, "MCP_SERVER_EXISTS");
    const noCommand = await t.trigger("mcp_adapter", "add_server", { name: "third", transport: "stdio" });
    assert.equal(noCommand.status, 400);
    assert.match(noCommand.body.error.message, /^invalid arguments: command: is required for transport 'stdio'/);
    const typo = await t.trigger("mcp_adapter", "add_server", { name: "third", comand: "node" });
    assert.equal(typo.status, 400);
    assert.match(typo.body.error.message, /comand/);
    assert.equal((parse(fs.readFileSync(manifestPath(), "utf8")) as any).mcp_servers.third, undefined);

    // A restart reads the server back from plugin.toml.
    assert.equal((await t.request("POST", "/plugin/mcp_adapter/stop")).status, 200);
    assert.equal((await t.request("POST", "/plugin/mcp_adapter/start")).status, 200);
    await waitFor(async () => (await entryIds("mcp_second_")).includes("mcp_second_echo"), {
      what: "the added server after a restart",
      timeoutMs: 20_000,
    });
    const second = await server("second");
    seenPids.add(second.pid as number);
    const echo = await t.trigger("mcp_adapter", "mcp_second_echo", { message: "still here" });
    assert.deepEqual(echo.body.data, { content: [{ type: "text", text: "Echo: still here" }] });
    await waitFor(async () => (await server("everything")).state === "connected", { what: "everything after restart" });
    seenPids.add((await server("everything")).pid as number);

    const removed = await t.trigger("mcp_adapter", "remove_server", { name: "second" });
    assert.equal(removed.status, 200, JSON.stringify(removed.body));
    assert.deepEqual(removed.body.data, { removed: "second", servers: ["broken", "everything", "missing"] });
    assert.deepEqual(await entryIds("mcp_second_"), []);
    await waitFor(() => !isAlive(second.pid as number), { what: "the removed server's process to end" });
    const after = parse(fs.readFileSync(manifestPath(), "utf8")) as { mcp_servers: Record<string, unknown> };
    assert.equal(after.mcp_servers.second, undefined);
    assert.ok(after.mcp_servers.everything, "the others stay");
    assert.equal(
      (await t.trigger("mcp_adapter", "remove_server", { name: "second" })).body.error.code,
      "MCP_SERVER_NOT_FOUND",
    );
  });

  test("the servers follow a hand edit of plugin.toml (reload) and a hot update", async () => {
    const everythingPid = (await server("everything")).pid;
    fs.appendFileSync(
      manifestPath(),
      `\n[mcp_servers.third]\ncommand = ${JSON.stringify(process.execPath)}\nargs = [${JSON.stringify(EVERYTHING)}]\n`,
    );
    const reload = await t.request("POST", "/plugin/mcp_adapter/reload?mode=config");
    assert.equal(reload.status, 200, JSON.stringify(reload.body));
    await waitFor(async () => (await entryIds("mcp_third_")).includes("mcp_third_echo"), {
      what: "the hand-added server's tools",
      timeoutMs: 20_000,
    });
    const third = await server("third");
    seenPids.add(third.pid as number);
    assert.equal((await server("everything")).pid, everythingPid, "the others keep their connection");

    const update = await t.request("POST", "/plugin/mcp_adapter/config/hot-update", {
      config: { mcp_servers: { third: "__DELETE__" } },
      mode: "temporary",
    });
    assert.equal(update.status, 200, JSON.stringify(update.body));
    assert.deepEqual(await entryIds("mcp_third_"), []);
    await waitFor(() => !isAlive(third.pid as number), { what: "the dropped server's process to end" });
  });

  test("a change to [mcp_servers] that cannot be used is refused, and nothing changes", async () => {
    const res = await t.request("POST", "/plugin/mcp_adapter/config/hot-update", {
      config: { mcp_servers: { oops: { transport: "stdio", args: ["x"] } } },
      mode: "temporary",
    });
    assert.equal(res.status, 409, JSON.stringify(res.body));
    assert.match(JSON.stringify(res.body.error), /mcp_servers\.oops\.command is required/);
    assert.deepEqual(
      (await servers()).map((s) => s.name),
      ["broken", "everything", "missing"],
    );
  });

  test("a Streamable HTTP server: added by URL, lost when it dies (pings), back when it returns", async () => {
    const port = await freePort();
    const startHttp = () => {
      httpServer = spawn(process.execPath, [EVERYTHING, "streamableHttp"], {
        env: { ...process.env, PORT: String(port) },
        stdio: "ignore",
      });
      return waitFor(() => portOpen(port), { what: "server-everything over HTTP", timeoutMs: 15_000 });
    };
    await startHttp();
    const url = `http://127.0.0.1:${port}/mcp`;
    const added = await t.trigger("mcp_adapter", "add_server", { name: "web", url, ping_interval: 0.5 });
    assert.equal(added.status, 200, JSON.stringify(added.body));
    assert.equal(added.body.data.state, "connected", JSON.stringify(added.body.data));
    assert.equal(added.body.data.transport, "streamable-http");
    assert.equal(added.body.data.target, url);
    const echo = await t.trigger("mcp_adapter", "mcp_web_echo", { message: "over HTTP" });
    assert.deepEqual(echo.body.data, { content: [{ type: "text", text: "Echo: over HTTP" }] });
    const toolCount = (await entryIds("mcp_web_")).length;

    httpServer?.kill("SIGKILL");
    await waitFor(async () => (await entryIds("mcp_web_")).length === 0, {
      what: "the HTTP server's entries to go",
      timeoutMs: 10_000,
    });
    const lost = await server("web");
    assert.equal(lost.state === "failed" || lost.state === "connecting", true, JSON.stringify(lost));
    await startHttp();
    await waitFor(async () => (await entryIds("mcp_web_")).length === toolCount, {
      what: "the HTTP server's entries to come back",
      timeoutMs: 20_000,
    });
    const back = await t.trigger("mcp_adapter", "mcp_web_echo", { message: "again" });
    assert.deepEqual(back.body.data, { content: [{ type: "text", text: "Echo: again" }] });
    assert.equal((await t.trigger("mcp_adapter", "remove_server", { name: "web" })).status, 200);
    httpServer?.kill("SIGKILL");
  });
});

describe("the MCP adapter without child_process", () => {
  test("a stdio server is refused with the grant to add, and the adapter runs on", async () => {
    const root = makeTempDir("neko-mcp-client-perm-");
    copyExamplePlugins(root, ["mcp_adapter"]);
    const manifest = path.join(root, "mcp_adapter", "plugin.toml");
    const text = fs.readFileSync(manifest, "utf8");
    assert.match(text, /^child_process = true$/m);
    fs.writeFileSync(
      manifest,
      `${text.replace(/^child_process = true$/m, "")}\n[mcp_servers.everything]\ncommand = ${JSON.stringify(process.execPath)}\nargs = [${JSON.stringify(EVERYTHING)}]\n`,
    );
    const t = await startTestHost({ roots: [root] });
    try {
      const res = await t.trigger("mcp_adapter", "list_servers");
      assert.equal(res.status, 200, JSON.stringify(res.body));
      const [everything] = res.body.data.servers;
      assert.equal(everything.state, "failed");
      assert.equal(
        everything.last_error,
        "could not connect: the adapter may not start processes: set child_process = true in [plugin.permissions] of its plugin.toml",
      );
      assert.equal((await t.request("GET", "/plugins/mcp_adapter")).body.status, "running");
    } finally {
      await t.close();
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}
