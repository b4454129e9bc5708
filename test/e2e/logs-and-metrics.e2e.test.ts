/**
 * `GET /plugin/{id}/logs` and `GET /plugin/metrics` over real plugin processes: what a plugin writes (pino lines,
 * console.log, console.error) and the host's lines about its states, kept across a crash restart; the figures its
 * process reports with each heartbeat; calls, errors and latency per entry.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { makeTempDir, waitFor, writePlugin } from "../support/plugin-fixtures.ts";
import { startTestHost, type TestHost } from "../support/test-host.ts";

const chattyCode = `
import { NekoPluginBase, nekoPlugin, pluginEntry, lifecycle, Ok } from "@neko/plugin-sdk/plugin";

@nekoPlugin
export class Chatty extends NekoPluginBase {
  @lifecycle({ id: "startup" })
  startup() {
    this.logger.info("chatty ready");
  }

  @pluginEntry({ id: "speak" })
  speak() {
    this.logger.debug("a debug detail");
    this.logger.info("Disk check started", { disk: "sda" });
    this.logger.warn("disk almost full", { percent: 93 });
    this.logger.error("could not write the report");
    console.log("a plain console line");
    console.error("a line on stderr");
    return Ok("spoken");
  }

  @pluginEntry({ id: "fail" })
  fail() {
    throw new Error("this entry always fails");
  }

  @pluginEntry({ id: "crash" })
  crash() {
    this.logger.warn("last words before the crash");
    process.exit(1);
  }
}
`;

type LogRecord = { time: string; level: string; msg: string; pid: number | null; [field: string]: unknown };

describe("plugin logs and metrics", () => {
  let root: string;
  let t: TestHost;
  const logs = async (query = "") => t.request("GET", `/plugin/chatty/logs${query}`);
  const msgs = (records: LogRecord[]) => records.map((r) => r.msg);
  const pidOf = async (id: string) =>
    (await t.request("GET", "/plugins")).body.plugins.find((p: { id: string }) => p.id === id)?.pid as number | null;

  before(async () => {
    root = makeTempDir();
    writePlugin(root, { id: "chatty", className: "Chatty", code: chattyCode });
    writePlugin(root, {
      id: "idle",
      className: "Chatty",
      code: chattyCode,
      manifest: `[plugin]\nid = "idle"\nentry = "index.ts:Chatty"\n\n[plugin_runtime]\nauto_start = false\n`,
    });
    t = await startTestHost({
      roots: [root],
      // A pong (with the process's figures) every half second; three missed ones (1.5 s) before a kill.
      heartbeatIntervalMs: 500,
      restartPolicy: { baseDelayMs: 100, maxDelayMs: 100, maxCrashes: 5, windowMs: 60_000 },
      logs: { capacity: 200 },
    });
  });
  after(async () => {
    await t.close();
    fs.rmSync(root, { recursive: true, force: true });
  });

  test("pino lines, console.log and stderr lines are records, filtered by level, search and lines", async () => {
    assert.equal((await t.trigger("chatty", "speak")).body.data, "spoken");
    await waitFor(
      async () => {
        const seen = msgs((await logs()).body.records);
        return seen.includes("a line on stderr") && seen.includes("a plain console line");
      },
      { what: "the console lines in the logs" },
    );
    const pid = await pidOf("chatty");
    const all = await logs();
    assert.equal(all.status, 200);
    assert.equal(all.body.plugin_id, "chatty");
    assert.equal(all.body.dropped, 0);
    const records: LogRecord[] = all.body.records;
    const mine = records.filter((r) => r.pid !== null);
    assert.ok(
      mine.every((r) => r.pid === pid),
      "each plugin line carries the pid of its process",
    );
    const spoken = msgs(mine).slice(msgs(mine).indexOf("Disk check started"));
    // stdout and stderr are two pipes: the stderr line may come in anywhere among the others.
    assert.deepEqual(
      spoken.filter((m) => m !== "a line on stderr"),
      ["Disk check started", "disk almost full", "could not write the report", "a plain console line"],
      "newest last; debug is below the plugin's level (info)",
    );
    const byMsg = (m: string) => records.find((r) => r.msg === m) as LogRecord;
    assert.deepEqual(byMsg("Disk check started"), {
      time: byMsg("Disk check started").time,
      level: "info",
      msg: "Disk check started",
      pid,
      disk: "sda",
    });
    assert.ok(!Number.isNaN(Date.parse(byMsg("Disk check started").time)), "time is an ISO string");
    assert.equal(byMsg("disk almost full").percent, 93);
    assert.equal(byMsg("a plain console line").level, "info");
    assert.deepEqual([byMsg("a line on stderr").level, byMsg("a line on stderr").stream], ["warn", "stderr"]);
    // The host's own lines about the plugin: its states.
    const running = records.find((r) => r.source === "host" && r.state === "running");
    assert.deepEqual(running && { ...running, time: 0 }, {
      time: 0,
      level: "info",
      msg: "plugin running",
      pid: null,
      source: "host",
      state: "running",
    });

    const warnings: LogRecord[] = (await logs("?level=warn")).body.records;
    assert.ok(warnings.every((r) => ["warn", "error", "fatal"].includes(r.level)));
    for (const m of ["disk almost full", "could not write the report", "a line on stderr"]) {
      assert.ok(msgs(warnings).includes(m), m);
    }
    assert.deepEqual(msgs((await logs("?level=error")).body.records), ["could not write the report"]);
    // The original's spellings, in any case, mean the same levels.
    assert.deepEqual((await logs("?level=WARNING")).body.records, warnings);
    assert.deepEqual((await logs("?level=Warn")).body.records, warnings);
    assert.deepEqual(msgs((await logs("?level=ERROR")).body.records), ["could not write the report"]);
    assert.deepEqual((await logs("?level=CRITICAL")).body.records, []);
    assert.deepEqual((await logs("?level=INFO")).body.records, (await logs("?level=info")).body.records);
    assert.deepEqual(msgs((await logs("?search=DISK")).body.records), ["Disk check started", "disk almost full"]);
    assert.deepEqual(msgs((await logs("?search=disk&level=warn")).body.records), ["disk almost full"]);
    const lastTwo = (await logs("?lines=2")).body.records;
    assert.deepEqual(lastTwo, records.slice(-2));
  });

  test("bad parameters are 400 naming them; an unknown plugin is 404", async () => {
    const loud = await logs("?level=loud");
    assert.equal(loud.status, 400);
    assert.equal(loud.body.error.code, "VALIDATION_ERROR");
    assert.match(
      loud.body.error.message,
      /'level' must be one of trace, debug, info, warn, error, fatal \(or WARNING, CRITICAL; any case\) \(got 'loud'\)/,
    );
    for (const lines of ["0", "201", "many"]) {
      const bad = await logs(`?lines=${lines}`);
      assert.equal(bad.status, 400, `lines=${lines}`);
      assert.match(bad.body.error.message, /'lines' must be a whole number from 1 to 200/);
    }
    for (const route of ["/plugin/nope/logs", "/plugin/metrics/nope"]) {
      const unknown = await t.request("GET", route);
      assert.equal(unknown.status, 404, route);
      assert.equal(unknown.body.error.code, "PLUGIN_NOT_FOUND", route);
    }
  });

  test("metrics: the process's figures once a heartbeat came, and calls, errors and latency per entry", async () => {
    const before = (await t.request("GET", "/plugin/metrics/chatty")).body;
    for (let i = 0; i < 3; i++) assert.equal((await t.trigger("chatty", "speak")).status, 200);
    assert.equal((await t.trigger("chatty", "fail")).status, 500);
    const metrics = await waitFor(
      async () => {
        const m = (await t.request("GET", "/plugin/metrics/chatty")).body;
        return m.event_loop_lag_ms !== null && m.rss_bytes !== null ? m : undefined;
      },
      { what: "a heartbeat with the process's figures" },
    );
    assert.equal(metrics.plugin_id, "chatty");
    assert.equal(metrics.status, "running");
    assert.equal(metrics.pid, await pidOf("chatty"));
    assert.ok(metrics.rss_bytes > 0);
    assert.ok(metrics.heap_used_bytes > 0 && metrics.heap_total_bytes >= metrics.heap_used_bytes);
    assert.equal(typeof metrics.cpu_percent, "number");
    assert.ok(metrics.cpu_percent >= 0);
    assert.equal(typeof metrics.event_loop_lag_ms, "number");
    assert.ok(metrics.event_loop_lag_max_ms >= metrics.event_loop_lag_ms);
    assert.ok(metrics.uptime_s >= 0);
    assert.ok(!Number.isNaN(Date.parse(metrics.sampled_at)));
    assert.equal(metrics.calls - before.calls, 4);
    assert.equal(metrics.errors - before.errors, 1);
    assert.equal(metrics.entries.fail.calls, 1);
    assert.equal(metrics.entries.fail.errors, 1);
    const speak = metrics.entries.speak;
    assert.equal(speak.calls - (before.entries.speak?.calls ?? 0), 3);
    assert.equal(speak.errors, 0);
    assert.ok(speak.p50_ms > 0, "a call takes some time");
    assert.ok(speak.p50_ms <= speak.p95_ms && speak.p95_ms <= speak.p99_ms && speak.p99_ms <= speak.max_ms);

    const list = (await t.request("GET", "/plugin/metrics")).body.plugins;
    assert.deepEqual(list.map((m: { plugin_id: string }) => m.plugin_id).sort(), ["chatty", "idle"]);
    const idle = list.find((m: { plugin_id: string }) => m.plugin_id === "idle");
    assert.equal(idle.status, "stopped");
    for (const figure of ["pid", "uptime_s", "cpu_percent", "rss_bytes", "heap_used_bytes", "event_loop_lag_ms"]) {
      assert.equal(idle[figure], null, figure);
    }
    assert.deepEqual([idle.calls, idle.errors, idle.entries], [0, 0, {}]);
  });

  test("logs survive a crash restart: the last words, the crash and the new process are all there", async () => {
    const oldPid = await pidOf("chatty");
    const crashed = await t.trigger("chatty", "crash");
    assert.equal(crashed.body.error.code, "PLUGIN_CRASHED");
    const newPid = await waitFor(
      async () => {
        const pid = await pidOf("chatty");
        return pid !== null && pid !== oldPid ? pid : undefined;
      },
      { what: "the restarted process" },
    );
    await waitFor(async () => (await logs()).body.records.some((r: LogRecord) => r.pid === newPid), {
      what: "a line of the new process",
    });
    const records: LogRecord[] = (await logs("?lines=200")).body.records;
    const at = (match: (r: LogRecord) => boolean, what: string) => {
      const index = records.findIndex(match);
      assert.ok(index !== -1, what);
      return index;
    };
    const lastWords = at((r) => r.msg === "last words before the crash" && r.pid === oldPid, "the pre-crash line");
    const crash = at((r) => r.source === "host" && r.state === "crashed", "the host's crash line");
    assert.equal(records[crash]?.level, "warn");
    assert.match(String(records[crash]?.reason), /exited with code 1/);
    const ready = at((r) => r.msg === "chatty ready" && r.pid === newPid, "the new process's startup line");
    // Records are in the order they reached the host: the exit can overtake the last line still in the pipe.
    assert.ok(lastWords < ready && crash < ready, "the new process's lines come after");

    const metrics = (await t.request("GET", "/plugin/metrics/chatty")).body;
    assert.equal(metrics.pid, newPid);
    assert.equal(metrics.entries.crash.errors, 1, "the crashed call counts as an error of its entry");
  });

  test("a plugin removed from disk takes its logs and metrics with it", async () => {
    assert.equal((await t.request("POST", "/plugin/idle/start")).status, 200);
    await waitFor(async () => (await t.request("GET", "/plugin/idle/logs")).body.records.length > 0, {
      what: "idle's first records",
    });
    fs.rmSync(path.join(root, "idle"), { recursive: true, force: true });
    assert.equal((await t.request("POST", "/plugins/reload")).status, 200);
    assert.equal((await t.request("GET", "/plugin/idle/logs")).status, 404);
    assert.equal((await t.request("GET", "/plugin/metrics/idle")).status, 404);
    assert.equal((await logs()).status, 200, "the others keep theirs");
  });
});
