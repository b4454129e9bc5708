/**
 * Starting, calling and stopping a plugin leaves nothing behind in the host: after 50 rounds in one host, what it holds
 * for the plugin (its scope, the features' per-plugin maps, listeners, handlers, calls in flight) and the process's
 * timers are back where they were after the first round. The plugin uses what a plugin holds host resources with:
 * bus subscriptions and a watch, a status, a static UI, a temporary configuration, a cross-plugin call. It runs the
 * real SDK runtime in-process (test/support/in-process-launcher.ts); a few rounds through real processes follow.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { createSilentLogger, PluginHost } from "@neko/host";
import { lifecycle, NekoPluginBase, nekoPlugin, Ok, pluginEntry } from "../packages/sdk/src/plugin.ts";
import { InProcessLauncher } from "./support/in-process-launcher.ts";
import { isAlive, makeTempDir, waitFor, writePlugin as writeFixture } from "./support/plugin-fixtures.ts";
import { startTestHost, type TestHost } from "./support/test-host.ts";

@nekoPlugin
class Busy extends NekoPluginBase {
  @lifecycle({ id: "startup" })
  async startup() {
    this.bus.on("tick", () => undefined);
    const events = await this.bus.events.get({ type: "tick" });
    if (events.ok) events.value.watch().subscribe({ on: "add" }, () => undefined);
    this.reportStatus({ phase: "up" });
    await this.registerStaticUi("static");
    return Ok(null);
  }

  @pluginEntry({ id: "work" })
  async work({ n = 0 }: { n?: number }) {
    const updated = await this.config.update({ extra: { n } }, { mode: "temporary" });
    this.bus.emit("tick", { n });
    const other = await this.plugins.callEntry("helper:echo", { n });
    return Ok({ n, updated: updated.ok, other: other.ok ? other.value : other.error.code });
  }
}

@nekoPlugin
class Helper extends NekoPluginBase {
  @pluginEntry({ id: "echo" })
  echo(args: Record<string, unknown>) {
    return Ok(args);
  }
}

function writePlugin(root: string, id: string): void {
  const dir = path.join(root, id);
  fs.mkdirSync(path.join(dir, "static"), { recursive: true });
  fs.writeFileSync(path.join(dir, "static", "index.html"), "<p>hi</p>");
  fs.writeFileSync(path.join(dir, "plugin.toml"), `[plugin]\nid = "${id}"\nentry = "index.ts:P"\n\n[extra]\nn = -1\n`);
  fs.writeFileSync(path.join(dir, "index.ts"), "export {};\n");
}

const activeTimers = () => process.getActiveResourcesInfo().filter((kind) => kind === "Timeout").length;

describe("host leaks", () => {
  let root: string;
  let host: PluginHost;
  let launcher: InProcessLauncher;

  before(async () => {
    root = makeTempDir("neko-leaks-");
    writePlugin(root, "busy");
    writePlugin(root, "helper");
    launcher = new InProcessLauncher({ busy: Busy, helper: Helper });
    host = await PluginHost.create({
      roots: [root],
      logger: createSilentLogger(),
      transport: launcher.transport,
      launcher,
      dataDir: path.join(root, ".neko"),
    });
    assert.equal((await host.startPlugin("helper")).ok, true);
  });
  after(async () => {
    await host?.stop();
    fs.rmSync(root, { recursive: true, force: true });
  });

  const round = async (n: number) => {
    const started = await host.startPlugin("busy");
    assert.ok(started.ok, JSON.stringify(started));
    const result = await host.callEntry("busy", "work", { n });
    assert.deepEqual(result, { ok: true, value: { n, updated: true, other: { n } } });
    const counts = host.debugCounts();
    assert.equal(counts["staticUi.registered"], 1, "while it runs, the plugin holds its static UI");
    assert.equal(counts["config.temporary"], 1, "and its temporary configuration");
    const stopped = await host.stopPlugin("busy");
    assert.ok(stopped.ok && !(stopped.value as { forced: boolean }).forced, JSON.stringify(stopped));
  };

  test("50 rounds of start, call and stop leave the host holding what it held after the first", async () => {
    await round(0);
    const baseline = host.debugCounts();
    const timers = activeTimers();
    for (let n = 1; n <= 50; n++) await round(n);
    assert.equal(launcher.launched, 52, "every round was a new plugin process");
    assert.deepEqual(host.debugCounts(), baseline);
    assert.equal(activeTimers(), timers, "no timer outlives its round");
    assert.equal(baseline["bus.channels"], 0, "a stopped plugin has no bus channel");
    assert.equal(baseline["bus.watches"], 0);
    assert.equal(baseline["staticUi.registered"], 0);
    assert.equal(baseline["config.applied"], 1, "only the running helper's configuration is kept");
    assert.equal(baseline.callsInFlight, 0);
    assert.equal(baseline.requestsServed, 0);
    assert.equal(baseline.peers, 1, "the helper's connection, and no other");
    assert.equal(launcher.transport.connections, 1);
  });

  test("forgetting a plugin releases everything it held for its whole life", async () => {
    const before = host.debugCounts();
    fs.rmSync(path.join(root, "busy"), { recursive: true });
    const reloaded = await host.reloadAll();
    assert.ok(reloaded.ok);
    const after = host.debugCounts();
    assert.equal(after.plugins, before.plugins - 1);
    assert.equal(after["status.reports"], before["status.reports"] - 1, "its status went with it");
    assert.equal(after["metrics.plugins"], before["metrics.plugins"] - 1, "and its call figures");
    assert.equal(after["logs.rings"], before["logs.rings"] - 1, "and its log records");
    assert.equal(after["config.queues"], 0);
  });
});

/** The same plugin as `Busy`, as a file a real plugin process loads. */
const busySource = `
import { lifecycle, NekoPluginBase, nekoPlugin, Ok, pluginEntry } from "@neko/plugin-sdk/plugin";

@nekoPlugin
export class Busy extends NekoPluginBase {
  @lifecycle({ id: "startup" })
  async startup() {
    this.bus.on("tick", () => undefined);
    const events = await this.bus.events.get({ type: "tick" });
    if (events.ok) events.value.watch().subscribe({ on: "add" }, () => undefined);
    this.reportStatus({ phase: "up" });
    await this.registerStaticUi("static");
    return Ok(null);
  }

  @pluginEntry({ id: "work" })
  async work({ n = 0 }: { n?: number }) {
    const updated = await this.config.update({ extra: { n } }, { mode: "temporary" });
    this.bus.emit("tick", { n });
    return Ok({ n, updated: updated.ok });
  }
}
`;

describe("host leaks through real plugin processes", () => {
  let root: string;
  let t: TestHost;

  before(async () => {
    root = makeTempDir("neko-leaks-real-");
    writeFixture(root, {
      id: "busy",
      manifest: '[plugin]\nid = "busy"\nentry = "index.ts:Busy"\n\n[plugin_runtime]\nauto_start = false\n',
      code: busySource,
      files: { "static/index.html": "<p>hi</p>" },
    });
    t = await startTestHost({ roots: [root] });
  });
  after(async () => {
    await t?.close();
    fs.rmSync(root, { recursive: true, force: true });
  });

  test("rounds of start, call and stop leave no process, handle, timer or held entry behind", async () => {
    const handles = () => {
      const kinds = process.getActiveResourcesInfo();
      return {
        timers: kinds.filter((k) => k === "Timeout").length,
        pipes: kinds.filter((k) => k !== "Timeout").length,
      };
    };
    const round = async (n: number, waitForSample = false) => {
      assert.equal((await t.request("POST", "/plugin/busy/start")).status, 200);
      const pid = t.host.getPlugin("busy")?.pid;
      // The metrics history keeps a ring per plugin from its first heartbeat report on, for the plugin's whole life:
      // the first round waits for it, so a report landing in a later round is not taken for something left behind.
      if (waitForSample)
        await waitFor(
          async () => ((await t.request("GET", "/plugin/metrics/busy/history")).body.count >= 1 ? true : undefined),
          { what: "busy's first metrics sample", timeoutMs: 15_000 },
        );
      assert.deepEqual((await t.trigger("busy", "work", { n })).body.data, { n, updated: true });
      assert.equal((await t.request("POST", "/plugin/busy/stop")).status, 200);
      assert.equal(pid !== null && pid !== undefined && isAlive(pid), false, "its process is gone");
    };
    // Each trigger is a run, and finished runs are kept (up to 500) by design: the rest must not grow.
    const held = () => ({ ...t.host.debugCounts(), "runs.kept": 0 });
    await round(0, true);
    // Give the first round's sockets and pipes their last turns to close.
    await new Promise((r) => setTimeout(r, 100));
    const baseline = held();
    const before = handles();
    for (let n = 1; n <= 4; n++) await round(n);
    assert.deepEqual(held(), baseline);
    // Pipes of an exited process close on their own turns: wait for them, but no longer than a generous bound.
    const settled = () => handles().timers <= before.timers && handles().pipes <= before.pipes;
    for (let i = 0; i < 100 && !settled(); i++) await new Promise((r) => setTimeout(r, 20));
    assert.ok(settled(), `handles now ${JSON.stringify(handles())}, after the first round ${JSON.stringify(before)}`);
  });
});
