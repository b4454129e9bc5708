/**
 * `neko-plugin list`, `call` and `status` as a user runs them: the real binary against a live server with a real
 * plugin, the server found through `--url`, `NEKO_URL` or `NEKO_PORT`.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { makeTempDir, writePlugin } from "../../../test/support/plugin-fixtures.ts";
import { calcPluginCode } from "../../../test/support/sample-plugins.ts";
import { startTestHost, type TestHost } from "../../../test/support/test-host.ts";

const bin = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../bin/neko-plugin.js");

interface Outcome {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `neko-plugin …` with only the variables given (plus PATH and HOME), output piped. */
function cli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Outcome> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [bin, ...args],
      { env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env }, timeout: 60_000 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === "number" ? error.code : null) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** A port nothing listens on: one the system just gave out and took back. */
async function closedPort(): Promise<number> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

// Two at a time: the tests only read from the one server (a timed-out call leaves nothing behind), and each is mostly
// the CLI starting up, which keeps about one core busy; more at once would only make each CLI process slower.
describe("neko-plugin list / call / status against a live server", { concurrency: 2 }, () => {
  let root: string;
  let t: TestHost;

  before(async () => {
    root = makeTempDir();
    writePlugin(root, { id: "calc", className: "CalcPlugin", code: calcPluginCode });
    // A manifest whose entry module does not exist: listed with the reason it does not run.
    writePlugin(root, { id: "broken", manifest: '[plugin]\nid = "broken"\nentry = "missing.ts:Nope"\n' });
    t = await startTestHost({ roots: [root] });
  });
  after(async () => {
    await t.close();
    fs.rmSync(root, { recursive: true, force: true });
  });

  test("list prints a plain table when piped: id, type, state, version, entries, and the reason of one that failed", async () => {
    const out = await cli(["list"], { NEKO_URL: t.url });
    assert.equal(out.code, 0, out.stderr);
    assert.ok(!out.stdout.includes("\u001b["), "no colour in a pipe");
    const lines = out.stdout.trimEnd().split("\n");
    assert.match(lines[0], /^ID\s+TYPE\s+STATE\s+VERSION\s+ENTRIES\s+REASON$/);
    const calc = lines.find((line) => line.startsWith("calc "));
    const entries = (await t.request("GET", "/plugins/calc")).body.entries.length;
    assert.ok(entries >= 5);
    assert.match(calc ?? "", new RegExp(`^calc\\s+plugin\\s+running\\s+\\S+\\s+${entries}$`));
    const broken = lines.find((line) => line.startsWith("broken "));
    const listed = (await t.request("GET", "/plugins/broken")).body;
    assert.notEqual(listed.status, "running");
    const reason = listed.status_reason ?? listed.errors.join("; ");
    assert.ok(reason.length > 0, "the broken plugin has a reason");
    assert.ok(broken?.includes(listed.status), broken);
    assert.ok(broken?.endsWith(reason), `${broken} ends with ${reason}`);
  });

  test("list --json prints the server's answer", async () => {
    const out = await cli(["list", "--json", "--url", t.url]);
    assert.equal(out.code, 0, out.stderr);
    const body = JSON.parse(out.stdout);
    assert.deepEqual(body.plugins.map((p: { id: string }) => p.id).sort(), ["broken", "calc"]);
  });

  test("call prints the data as JSON and exits 0", async () => {
    const out = await cli(["call", "calc:add", "--args", '{"a":2,"b":3}'], { NEKO_URL: t.url });
    assert.equal(out.code, 0, out.stderr);
    assert.deepEqual(JSON.parse(out.stdout), { sum: 5 });
    assert.equal(out.stderr, "");
  });

  test("call --json prints the whole answer, with its run id", async () => {
    const out = await cli(["call", "calc:add", "--args", '{"a":1}', "--json", "--url", t.url]);
    assert.equal(out.code, 0, out.stderr);
    const body = JSON.parse(out.stdout);
    assert.equal(body.success, true);
    assert.deepEqual(body.data, { sum: 1 });
    assert.match(body.run_id, /^[0-9a-f-]{36}$/);
  });

  test("an Err is CODE: message on stderr and exit 1", async () => {
    const out = await cli(["call", "calc:refuse", "--url", t.url]);
    assert.equal(out.code, 1);
    assert.equal(out.stderr, "NOT_TODAY: not today\n");
    assert.equal(out.stdout, "");
  });

  test("--timeout shortens the call: TIMEOUT and exit 1", async () => {
    const out = await cli(["call", "calc:sleep", "--args", '{"ms":3000}', "--timeout", "0.2", "--url", t.url]);
    assert.equal(out.code, 1);
    assert.equal(out.stderr, "TIMEOUT: entry 'calc:sleep' timed out after 0.2s\n");
  });

  test("an unknown plugin or entry is an error with its code, exit 1", async () => {
    const [plugin, entry] = await Promise.all([
      cli(["call", "nope:add", "--url", t.url]),
      cli(["call", "calc:nope", "--url", t.url]),
    ]);
    assert.equal(plugin.code, 1);
    assert.match(plugin.stderr, /^PLUGIN_NOT_FOUND: .*nope/);
    assert.equal(entry.code, 1);
    assert.match(entry.stderr, /^ENTRY_NOT_FOUND: /);
  });

  test("usage errors exit 2 and name the problem, without calling anything", async () => {
    const [badJson, notObject, noColon, badTimeout, unknownOption] = await Promise.all([
      cli(["call", "calc:add", "--args", "{a:1}", "--url", t.url]),
      cli(["call", "calc:add", "--args", "[1]", "--url", t.url]),
      cli(["call", "calc", "--url", t.url]),
      cli(["call", "calc:add", "--timeout", "soon", "--url", t.url]),
      cli(["list", "--colour"]),
    ]);
    assert.equal(badJson.code, 2);
    assert.match(badJson.stderr, /^neko-plugin call: --args is not valid JSON: /);
    assert.equal(notObject.code, 2);
    assert.match(notObject.stderr, /--args must be a JSON object \(got an array\)/);
    assert.equal(noColon.code, 2);
    assert.match(noColon.stderr, /'calc' is not <plugin:entry>/);
    assert.equal(badTimeout.code, 2);
    assert.match(badTimeout.stderr, /--timeout must be a number of seconds above 0 \(got 'soon'\)/);
    assert.equal(unknownOption.code, 2);
    assert.match(unknownOption.stderr, /unknown option '--colour'/);
  });

  test("status finds the server through NEKO_PORT and shows each plugin's state", async () => {
    const port = new URL(t.url).port;
    const [out, jsonOut] = await Promise.all([
      cli(["status"], { NEKO_PORT: port }),
      cli(["status", "--json", "--url", t.url]),
    ]);
    assert.equal(out.code, 0, out.stderr);
    const lines = out.stdout.trimEnd().split("\n");
    assert.match(lines[0], new RegExp(`^server http://127\\.0\\.0\\.1:${port}: host \\d+\\.\\d+\\.\\d+, node v\\d+`));
    const broken = (await t.request("GET", "/plugins/broken")).body.status;
    assert.match(lines[1], /^2 plugins: /);
    assert.ok(lines[1].includes("1 running"), lines[1]);
    // Ids and states in aligned columns: "calc" padded to "broken".
    assert.ok(
      lines.some((line) => /^ {2}calc {4}running$/.test(line)),
      out.stdout,
    );
    assert.ok(
      lines.some((line) => line.startsWith(`  broken  ${broken.padEnd("running".length)}  `)),
      out.stdout,
    );
    const json = JSON.parse(jsonOut.stdout);
    assert.equal(json.server.host_version, (await t.request("GET", "/server/info")).body.host_version);
    assert.deepEqual(
      json.plugins.find((p: { id: string }) => p.id === "calc"),
      {
        id: "calc",
        status: "running",
        reason: null,
      },
    );
  });

  test("a server that cannot be reached is one line and exit 1", async () => {
    const port = await closedPort();
    const commands = [["list"], ["status"], ["call", "calc:add"]];
    const outs = await Promise.all(commands.map((args) => cli([...args, "--url", `http://127.0.0.1:${port}`])));
    for (const [i, args] of commands.entries()) {
      const out = outs[i];
      assert.equal(out.code, 1, args.join(" "));
      assert.equal(out.stdout, "");
      assert.equal(
        out.stderr,
        `neko-plugin ${args[0]}: cannot reach the server at http://127.0.0.1:${port} (ECONNREFUSED)\n`,
      );
    }
  });

  test("every client command's --help has an example", async () => {
    const names = ["list", "call", "status"];
    const outs = await Promise.all(names.map((name) => cli([name, "--help"])));
    for (const [i, name] of names.entries()) {
      const out = outs[i];
      assert.equal(out.code, 0, name);
      assert.match(out.stdout, new RegExp(`Examples:\\n {2}\\$ neko-plugin ${name}`), name);
      assert.match(out.stdout, /--url <url>/);
    }
  });
});

describe("the API token", () => {
  test("NEKO_API_TOKEN is sent as a bearer token; a refusal is CODE: message and exit 1", async () => {
    const seen: Array<string | undefined> = [];
    const server = http.createServer((req, res) => {
      seen.push(req.headers.authorization);
      res.setHeader("content-type", "application/json");
      if (req.headers.authorization !== "Bearer s3cret") {
        res.statusCode = 401;
        res.end(JSON.stringify({ error: { code: "UNAUTHORIZED", message: "a valid token is required" } }));
        return;
      }
      res.end(JSON.stringify({ plugins: [] }));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const ok = await cli(["list"], { NEKO_URL: url, NEKO_API_TOKEN: "s3cret" });
      assert.equal(ok.code, 0, ok.stderr);
      assert.equal(ok.stdout, "no plugins\n");
      const refused = await cli(["list"], { NEKO_URL: url });
      assert.equal(refused.code, 1);
      assert.equal(refused.stderr, "UNAUTHORIZED: a valid token is required\n");
      assert.deepEqual(seen, ["Bearer s3cret", undefined]);
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
