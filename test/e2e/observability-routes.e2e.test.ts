/**
 * `GET /available`, `GET /plugin/{id}/logs/files` (+ `/{name}`) and `GET /plugin/metrics/{id}/history` over real
 * plugin processes (issue 13, item 6). The log-file routes are played against as an attacker would: `..`, encoded
 * slashes, another plugin's file, a link put in the log folder.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { makeTempDir, waitFor, writePlugin } from "../support/plugin-fixtures.ts";
import { startTestHost, type TestHost } from "../support/test-host.ts";

const code = `
import { NekoPluginBase, nekoPlugin, pluginEntry, Ok } from "@neko/plugin-sdk/plugin";

@nekoPlugin
export class Talker extends NekoPluginBase {
  @pluginEntry({ id: "speak" })
  speak({ text }: { text: string }) {
    console.log(text);
    return Ok(true);
  }

  @pluginEntry({ id: "crash" })
  crash() {
    process.exit(1);
  }
}
`;

describe("observability routes", () => {
  let root: string;
  let logDir: string;
  let secretDir: string;
  let t: TestHost;
  const raw = async (route: string) => {
    const res = await fetch(t.url + route);
    return { status: res.status, type: res.headers.get("content-type"), text: await res.text() };
  };

  const rawPath = (route: string) =>
    new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = http.get(t.url + "/", { path: route }, (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (chunk) => {
          text += chunk;
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, text }));
      });
      req.on("error", reject);
    });

  before(async () => {
    root = makeTempDir();
    logDir = makeTempDir("neko-logs-");
    secretDir = makeTempDir("neko-secret-");
    fs.writeFileSync(path.join(secretDir, "secret.txt"), "top secret\n");
    writePlugin(root, { id: "alpha", className: "Talker", code });
    writePlugin(root, { id: "beta", className: "Talker", code });
    writePlugin(root, {
      id: "idle",
      className: "Talker",
      code,
      manifest: `[plugin]\nid = "idle"\nentry = "index.ts:Talker"\n\n[plugin_runtime]\nauto_start = false\n`,
    });
    t = await startTestHost({
      roots: [root],
      heartbeatIntervalMs: 200,
      restartPolicy: { baseDelayMs: 100, maxDelayMs: 100, maxCrashes: 5, windowMs: 60_000 },
      // Small files, so a few lines rotate them.
      logFiles: { dir: logDir, maxBytes: 2048, keep: 2 },
    });
  });
  after(async () => {
    await t.close();
    for (const dir of [root, logDir, secretDir]) fs.rmSync(dir, { recursive: true, force: true });
  });

  test("GET /available: the original's fields and how many plugins run", async () => {
    const res = await t.request("GET", "/available");
    assert.equal(res.status, 200);
    assert.deepEqual(Object.keys(res.body).sort(), ["available", "plugins_count", "plugins_running", "status", "time"]);
    assert.equal(res.body.status, "ok");
    assert.equal(res.body.available, true);
    assert.equal(res.body.plugins_count, 3);
    assert.equal(res.body.plugins_running, 2);
    assert.ok(Math.abs(Date.parse(res.body.time) - Date.now()) < 10_000);
  });

  test("logs/files lists the plugin's own files, newest first, names only; one is read by name", async () => {
    for (let i = 0; i < 40; i++) {
      assert.equal((await t.trigger("alpha", "speak", { text: `alpha line ${i} ${"x".repeat(60)}` })).status, 200);
    }
    assert.equal((await t.trigger("beta", "speak", { text: "beta line" })).status, 200);
    const listed = await waitFor(
      async () => {
        await t.host.logFiles?.flushed();
        const res = await t.request("GET", "/plugin/alpha/logs/files");
        return res.body.log_files.length === 3 ? res : undefined;
      },
      { what: "alpha's file and two rotated ones" },
    );
    assert.equal(listed.status, 200);
    assert.equal(listed.body.plugin_id, "alpha");
    assert.equal(listed.body.count, 3);
    assert.deepEqual(
      listed.body.log_files.map((f: { name: string }) => f.name),
      ["alpha.ndjson", "alpha.ndjson.1", "alpha.ndjson.2"],
    );
    for (const file of listed.body.log_files) {
      assert.deepEqual(Object.keys(file).sort(), ["mtime", "name", "size"]);
      assert.equal(file.size, fs.statSync(path.join(logDir, "plugins", file.name)).size);
      assert.match(file.mtime, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      assert.ok(!file.name.includes("/"));
    }
    const one = await raw("/plugin/alpha/logs/files/alpha.ndjson.1");
    assert.equal(one.status, 200);
    assert.match(one.type ?? "", /^application\/x-ndjson/);
    assert.equal(one.text, fs.readFileSync(path.join(logDir, "plugins", "alpha.ndjson.1"), "utf8"));
    for (const line of one.text.trim().split("\n")) assert.equal(JSON.parse(line).plugin, "alpha");

    const idle = await t.request("GET", "/plugin/idle/logs/files");
    assert.equal(typeof idle.body.time, "string");
    assert.deepEqual(
      { ...idle.body, time: undefined },
      { plugin_id: "idle", log_files: [], count: 0, time: undefined },
    );
    const unknown = await t.request("GET", "/plugin/nobody/logs/files");
    assert.equal(unknown.status, 404);
    assert.equal(unknown.body.error.code, "PLUGIN_NOT_FOUND");
  });

  test("attacker: another plugin's file, `..`, encoded slashes and a planted link are all refused", async () => {
    const refusedName = async (route: string) => {
      const res = await t.request("GET", route);
      assert.equal(res.status, 400, `${route}: ${JSON.stringify(res.body)}`);
      assert.equal(res.body.error.code, "VALIDATION_ERROR");
      assert.equal(res.body.error.details.field, "name");
    };
    await refusedName("/plugin/alpha/logs/files/beta.ndjson");
    // Sent as written, not folded by a URL parser: the server sees the `..` itself.
    const literal = await rawPath("/plugin/alpha/logs/files/..");
    assert.equal(literal.status, 400);
    assert.equal(JSON.parse(literal.text).error.code, "VALIDATION_ERROR");
    // The URL parser folds a `..` segment (also spelled `%2e%2e`) before the request leaves: no route then.
    for (const route of ["/plugin/alpha/logs/files/..", "/plugin/alpha/logs/files/%2e%2e"]) {
      const res = await t.request("GET", route);
      assert.equal(res.status, 404, route);
      assert.equal(res.body.error.code, "ROUTE_NOT_FOUND");
    }
    await refusedName("/plugin/alpha/logs/files/..%2F..%2Fhost.ndjson");
    await refusedName("/plugin/alpha/logs/files/%2e%2e%2Fplugins%2Fbeta.ndjson");
    await refusedName("/plugin/alpha/logs/files/alpha.ndjson%2F..%2Fbeta.ndjson");
    await refusedName("/plugin/alpha/logs/files/alpha.ndjson.1%00");
    await refusedName("/plugin/alpha/logs/files/alpha.ndjson.01");
    await refusedName("/plugin/alpha/logs/files/host.ndjson");
    // A path outside the route is never reached either.
    const escaped = await raw("/plugin/alpha/logs/files/../../beta/logs/files/beta.ndjson");
    assert.notEqual(escaped.text, fs.readFileSync(path.join(logDir, "plugins", "beta.ndjson"), "utf8"));

    // A link with a name of alpha's files, pointing at a secret: neither listed nor read.
    fs.symlinkSync(path.join(secretDir, "secret.txt"), path.join(logDir, "plugins", "alpha.ndjson.7"));
    const listed = await t.request("GET", "/plugin/alpha/logs/files");
    assert.ok(!listed.body.log_files.some((f: { name: string }) => f.name === "alpha.ndjson.7"));
    const read = await t.request("GET", "/plugin/alpha/logs/files/alpha.ndjson.7");
    assert.equal(read.status, 404);
    assert.equal(read.body.error.code, "NOT_FOUND");
    assert.ok(!JSON.stringify(read.body).includes("top secret"));
    assert.ok(!JSON.stringify(read.body).includes(logDir), "no absolute path in the answer");
    // A name of the right form that does not exist.
    const missing = await t.request("GET", "/plugin/alpha/logs/files/alpha.ndjson.5");
    assert.equal(missing.status, 404);
    assert.equal(missing.body.error.code, "NOT_FOUND");
    // The host goes on.
    assert.equal((await t.request("GET", "/health")).status, 200);
  });

  test("attacker: a link put in place of the plugins log folder is not followed", async () => {
    const plugins = path.join(logDir, "plugins");
    const moved = path.join(logDir, "plugins-moved");
    const planted = path.join(secretDir, "planted");
    fs.mkdirSync(planted);
    fs.writeFileSync(path.join(planted, "alpha.ndjson"), "top secret\n");
    fs.writeFileSync(path.join(planted, "alpha.ndjson.1"), "top secret\n");
    fs.renameSync(plugins, moved);
    fs.symlinkSync(planted, plugins);
    try {
      const listed = await t.request("GET", "/plugin/alpha/logs/files");
      assert.equal(listed.status, 200);
      assert.deepEqual(listed.body.log_files, []);
      assert.equal(listed.body.count, 0);
      for (const name of ["alpha.ndjson", "alpha.ndjson.1"]) {
        const read = await raw(`/plugin/alpha/logs/files/${name}`);
        assert.equal(read.status, 404, name);
        assert.equal(JSON.parse(read.text).error.code, "NOT_FOUND");
        assert.ok(!read.text.includes("top secret"));
      }
    } finally {
      fs.unlinkSync(plugins);
      fs.renameSync(moved, plugins);
    }
    assert.equal((await t.request("GET", "/plugin/alpha/logs/files")).body.count, 3);
  });

  test("metrics history: one sample per heartbeat, bounded by ?limit, kept across a crash", async () => {
    const history = await waitFor(
      async () => {
        const res = await t.request("GET", "/plugin/metrics/beta/history");
        return res.body.history.length >= 3 ? res : undefined;
      },
      { what: "three samples of beta" },
    );
    assert.equal(history.status, 200);
    assert.equal(history.body.plugin_id, "beta");
    assert.equal(history.body.interval_ms, 200);
    assert.equal(history.body.capacity, 120);
    const current = (await t.request("GET", "/plugin/metrics/beta")).body;
    const samples = history.body.history;
    for (const s of samples) {
      assert.deepEqual(Object.keys(s).sort(), [
        "cpu_percent",
        "event_loop_lag_max_ms",
        "event_loop_lag_ms",
        "heap_total_bytes",
        "heap_used_bytes",
        "pid",
        "rss_bytes",
        "time",
      ]);
      assert.equal(s.pid, current.pid);
      assert.equal(typeof s.rss_bytes, "number");
      assert.ok(s.rss_bytes > 1024 * 1024);
    }
    const times = samples.map((s: { time: string }) => Date.parse(s.time));
    assert.deepEqual(
      times,
      [...times].sort((a, b) => a - b),
      "oldest first",
    );
    assert.equal(new Set(times).size, times.length, "one sample per report");

    const two = await t.request("GET", "/plugin/metrics/beta/history?limit=2");
    assert.equal(two.body.history.length, 2);
    const bad = await t.request("GET", "/plugin/metrics/beta/history?limit=0");
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error.details.field, "limit");
    const tooMany = await t.request("GET", "/plugin/metrics/beta/history?limit=121");
    assert.equal(tooMany.status, 400);

    const oldPid = current.pid;
    await t.trigger("beta", "crash");
    const after = await waitFor(
      async () => {
        const res = await t.request("GET", "/plugin/metrics/beta/history");
        const pids = new Set(res.body.history.map((s: { pid: number }) => s.pid));
        return pids.size >= 2 ? res : undefined;
      },
      { what: "samples of the restarted process beside the old one's" },
    );
    assert.equal(after.body.history[0].pid, oldPid, "the crashed process's samples stay");

    const idle = await t.request("GET", "/plugin/metrics/idle/history");
    assert.ok(Number.isFinite(Date.parse(idle.body.time)), "time is a date");
    assert.deepEqual(
      { ...idle.body, time: undefined },
      { plugin_id: "idle", interval_ms: 200, capacity: 120, history: [], count: 0, time: undefined },
    );
    const unknown = await t.request("GET", "/plugin/metrics/nobody/history");
    assert.equal(unknown.status, 404);
    assert.equal(unknown.body.error.code, "PLUGIN_NOT_FOUND");
  });
});

describe("GET /available: shadowed folders and a stopping host", () => {
  test("plugins_count leaves out a shadowed folder; once the host stops, 503 SHUTTING_DOWN", async () => {
    const first = makeTempDir();
    const second = makeTempDir();
    writePlugin(first, { id: "twin", className: "Talker", code });
    writePlugin(first, { id: "other", className: "Talker", code });
    writePlugin(second, { id: "twin", className: "Talker", code });
    const t = await startTestHost({ roots: [first, second] });
    try {
      const info = t.host.info();
      assert.equal(info.plugins.shadowed, 1);
      assert.equal(info.plugins.total, 3);
      const res = await t.request("GET", "/available");
      assert.equal(res.status, 200);
      assert.equal(res.body.plugins_count, 2);
      assert.equal(res.body.available, true);
      // The host stopped on its own (embedded), the server still open.
      await t.host.stop();
      const stopped = await t.request("GET", "/available");
      assert.equal(stopped.status, 503, JSON.stringify(stopped.body));
      assert.equal(stopped.body.error.code, "SHUTTING_DOWN");
      assert.equal(stopped.body.error.message, "the plugin host is stopping or stopped");
    } finally {
      await t.close();
      for (const dir of [first, second]) fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
