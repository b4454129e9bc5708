/** The [mcp_servers.<name>] tables of the MCP adapter (plugins/mcp_adapter/mcp-servers-table.ts): read, checked, written. */
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  parseServersTable,
  parseServerTable,
  sameSettings,
  settingsTable,
} from "../../plugins/mcp_adapter/mcp-servers-table.ts";

test("a stdio table is read with its defaults", () => {
  const parsed = parseServerTable("everything", {
    transport: "stdio",
    command: "npx",
    args: ["-y", "@modelcontextprotocol/server-everything"],
    env: { TOKEN: "t", DEBUG: 1, VERBOSE: true },
  });
  assert.deepEqual(parsed, {
    ok: true,
    settings: {
      name: "everything",
      transport: "stdio",
      command: "npx",
      args: ["-y", "@modelcontextprotocol/server-everything"],
      env: { TOKEN: "t", DEBUG: "1", VERBOSE: "true" },
      enabled: true,
      toolTimeoutSeconds: 60,
      connectTimeoutSeconds: 15,
      pingIntervalSeconds: 30,
    },
  });
});

test("a Streamable HTTP table is read, and the transport may be left out", () => {
  const parsed = parseServerTable("web", {
    url: "https://mcp.example.com/mcp",
    headers: { Authorization: "Bearer x" },
    tool_timeout: 120,
    ping_interval: 0,
  });
  assert.ok(parsed.ok);
  assert.equal(parsed.settings.transport, "streamable-http");
  assert.equal(parsed.settings.toolTimeoutSeconds, 120);
  assert.equal(parsed.settings.pingIntervalSeconds, 0);
  assert.deepEqual(parsed.ok && parsed.settings.transport === "streamable-http" && parsed.settings.headers, {
    Authorization: "Bearer x",
  });
  const inferred = parseServerTable("local", { command: "node", args: ["server.js"] });
  assert.equal(inferred.ok && inferred.settings.transport, "stdio");
});

test("every problem of a table is named with its field", () => {
  const cases: Array<[string, unknown, string[]]> = [
    ["a", "npx", ['mcp_servers.a must be a table (got "npx")']],
    ["a", { transport: "pigeon", command: "x" }, ['mcp_servers.a.transport must be "stdio" or "streamable-http"']],
    ["a", { command: "x", url: "http://h/" }, ["mcp_servers.a.transport is required"]],
    ["a", { transport: "stdio" }, ["mcp_servers.a.command is required for transport 'stdio'"]],
    ["a", { transport: "streamable-http", url: "ftp://h/" }, ["mcp_servers.a.url is required for transport"]],
    [
      "a",
      { transport: "stdio", command: "x", url: "http://h/" },
      ["mcp_servers.a.url is not used by transport 'stdio'"],
    ],
    ["a", { command: "x", comand: "y" }, ["mcp_servers.a.comand is not a known key (did you mean 'command'?)"]],
    ["a", { command: "x", args: "one two" }, ["mcp_servers.a.args must be a list of strings"]],
    ["a", { command: "x", env: { A: ["b"] } }, ["mcp_servers.a.env.A must be a string"]],
    ["a", { command: "x", tool_timeout: 0 }, ["mcp_servers.a.tool_timeout must be a number of seconds, above 0"]],
    ["a", { command: "x", ping_interval: -1 }, ["mcp_servers.a.ping_interval must be a number of seconds, 0 (off)"]],
    ["a", { command: "x", enabled: "no" }, ["mcp_servers.a.enabled must be true or false"]],
    ["bad name", { command: "x" }, ["mcp_servers.bad name a server name is 1 to 64"]],
  ];
  for (const [name, table, expected] of cases) {
    const parsed = parseServerTable(name, table);
    assert.equal(parsed.ok, false, JSON.stringify(table));
    const lines = parsed.ok ? [] : parsed.problems.map((p) => `${p.field} ${p.message}`);
    assert.equal(lines.length, expected.length, `${JSON.stringify(table)}: ${lines.join("; ")}`);
    for (const [i, start] of expected.entries()) {
      assert.ok(lines[i].startsWith(start), `${lines[i]} should start with ${start}`);
    }
  }
});

test("the whole table: usable servers and, apart, the unusable ones", () => {
  const { servers, invalid } = parseServersTable({
    good: { command: "node" },
    bad: { transport: "stdio" },
  });
  assert.deepEqual(
    servers.map((s) => s.name),
    ["good"],
  );
  assert.deepEqual(
    invalid.map((i) => i.name),
    ["bad"],
  );
  assert.deepEqual(parseServersTable(undefined), { servers: [], invalid: [] });
  assert.equal(parseServersTable(["x"]).invalid[0].problems[0].field, "mcp_servers");
});

test("settingsTable writes what parseServerTable reads, without the defaults", () => {
  const table = { transport: "stdio", command: "node", args: ["s.js"], env: { A: "1" }, tool_timeout: 5 };
  const parsed = parseServerTable("x", table);
  assert.ok(parsed.ok);
  assert.deepEqual(settingsTable(parsed.settings), table);
  const again = parseServerTable("x", settingsTable(parsed.settings));
  assert.ok(again.ok && sameSettings(again.settings, parsed.settings));
  const other = parseServerTable("x", { ...table, env: { A: "2" } });
  assert.ok(other.ok && !sameSettings(other.settings, parsed.settings));
  const reordered = parseServerTable("x", { env: { A: "1" }, tool_timeout: 5, args: ["s.js"], command: "node" });
  assert.ok(reordered.ok && sameSettings(reordered.settings, parsed.settings));
});
