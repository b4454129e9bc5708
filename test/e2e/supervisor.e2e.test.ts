/** Supervisor behaviour through real processes: heartbeat, restart policy, stop grace, startup failure, heap limit. */
import assert from "node:assert/strict";
import fs from "node:fs";
import { after, before, describe, test } from "node:test";
import { isAlive, makeTempDir, waitFor, writePlugin } from "../support/plugin-fixtures.ts";
import { startTestHost, type TestHost } from "../support/test-host.ts";

const code = `
import { NekoPluginBase, nekoPlugin, pluginEntry, lifecycle, Ok, Err } from "@neko/plugin-sdk/plugin";

@nekoPlugin
export class Sup extends NekoPluginBase {
  @lifecycle({ id: "startup" })
  startup() {
    if (this.pluginId === "bad_startup") return Err("the database is unreachable");
  }

  @lifecycle({ id: "shutdown" })
  async shutdown() {
    if (this.pluginId === "slow_stop") await new Promise(() => {});
  }

  @pluginEntry({ id: "block" })
  block() {
    const end = Date.now() + 60_000;
    while (Date.now() < end) {}
  }

  @pluginEntry({ id: "crash" })
  crash() {
    setTimeout(() => process.exit(3), 10);
    return Ok("bye");
  }

  @pluginEntry({ id: "hog" })
  hog() {
    const keep: unknown[] = [];
    for (;;) keep.push(new Array(1_000_000).fill(keep.length));
  }

  @pluginEntry({ id: "ping" })
  ping() {
    return Ok(process.pid);
  }
}
`;

describe("supervisor", () => {
  let root: string;
  let t: TestHost;

  before(async () => {
    root = makeTempDir();
    for (const id of ["blocky", "crashy", "slow_stop", "bad_startup", "hungry"]) {
      const extra = id === "hungry" ? "\n[plugin.permissions]\nmax_heap_mb = 48\n" : "";
      writePlugin(root, {
        id,
        manifest: `[plugin]\nid = "${id}"\nentry = "index.ts:Sup"\n${extra}`,
        code,
      });
    }
    t = await startTestHost({
      roots: [root],
      heartbeatIntervalMs: 200,
      stopGraceMs: 400,
      restartPolicy: { baseDelayMs: 100, maxDelayMs: 400, maxCrashes: 3, windowMs: 60_000 },
    });
  });
  after(async () => {
    await t.close();
    fs.rmSync(root, { recursive: true, force: true });
  });

  test("a blocked event loop is detected by the heartbeat: the call fails, the plugin is restarted", async () => {
    const pid = t.host.getPlugin("blocky")?.pid as number;
    const started = Date.now();
    const res = await t.trigger("blocky", "block");
    assert.equal(res.body.error.code, "PLUGIN_CRASHED");
    assert.match(res.body.error.message, /unresponsive/);
    assert.ok(Date.now() - started < 10_000, "long before the 30 s entry deadline");
    assert.equal(isAlive(pid), false);
    await waitFor(() => t.host.getPlugin("blocky")?.status === "running", { what: "restart" });
    assert.notEqual(t.host.getPlugin("blocky")?.pid, pid);
    const history = t.host.getPlugin("blocky")?.history ?? [];
    assert.ok(history.some((h) => h.state === "crashed" && /unresponsive/.test(h.reason ?? "")));
  });

  test("three crashes within the window quarantine the plugin until it is started by hand", async () => {
    for (let i = 0; i < 3; i++) {
      await waitFor(() => t.host.getPlugin("crashy")?.status === "running", { what: `running before crash ${i + 1}` });
      await t.trigger("crashy", "crash");
      await waitFor(() => t.host.getPlugin("crashy")?.status !== "running", { what: `crash ${i + 1}` });
    }
    await waitFor(() => t.host.getPlugin("crashy")?.status === "quarantined", { what: "quarantine" });
    const detail = (await t.request("GET", "/plugins/crashy")).body;
    assert.match(detail.status_reason, /exited with code 3.*3 crashes within 5 minutes/);
    assert.equal(detail.last_exit.code, 3);
    await new Promise((r) => setTimeout(r, 600));
    assert.equal(t.host.getPlugin("crashy")?.status, "quarantined", "no automatic restart");
    const start = await t.request("POST", "/plugin/crashy/start");
    assert.equal(start.body.status, "running");
  });

  test("a shutdown that hangs is cut off after the grace period and the process killed", async () => {
    const pid = t.host.getPlugin("slow_stop")?.pid as number;
    const started = Date.now();
    const res = await t.request("POST", "/plugin/slow_stop/stop");
    const elapsed = Date.now() - started;
    assert.equal(t.host.getPlugin("slow_stop")?.status, "stopped");
    assert.equal(isAlive(pid), false);
    assert.ok(elapsed >= 350 && elapsed < 5000, `stopped after ${elapsed} ms`);
    assert.equal(res.status, 200);
    assert.equal(res.body.forced, true);
    assert.match(res.body.forced_reason, /shutdown lifecycle did not finish within 0.4s/);
  });

  test("a startup lifecycle that returns Err fails the start with its message", async () => {
    await waitFor(() => /quarantined|crashed/.test(t.host.getPlugin("bad_startup")?.status ?? ""), {
      what: "bad_startup to fail",
    });
    const history = t.host.getPlugin("bad_startup")?.history ?? [];
    assert.ok(history.some((h) => /failed to start: the database is unreachable/.test(h.reason ?? "")));
    const res = await t.trigger("bad_startup", "ping");
    assert.equal(res.body.error.code, "PLUGIN_NOT_RUNNING");
  });

  test("a plugin that runs out of its heap limit crashes alone", async () => {
    const res = await t.trigger("hungry", "hog");
    assert.equal(res.body.error.code, "PLUGIN_CRASHED");
    assert.equal((await t.request("GET", "/health")).body.status, "ok");
    assert.equal((await t.trigger("blocky", "ping")).status, 200);
  });
});
