/**
 * Thread plugins played by an attacker ([plugin_runtime] isolation = "thread", docs/permissions.md#thread-plugins):
 * a refused plugin's write grant never reaches a runner; a thread may load no native code but the SDK's own (the
 * store still works) and start no worker; output and frame floods are bounded; a stop then start of a runner's only
 * thread plugin never lands on a dying runner.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import type { LogRecord } from "@neko/host";
import { makeTempDir, waitFor, writePlugin } from "../support/plugin-fixtures.ts";
import { startTestHost, type TestHost } from "../support/test-host.ts";

const thread = (id: string, className: string, extra = "") =>
  `[plugin]\nid = "${id}"\nentry = "index.ts:${className}"\n${extra}\n[plugin_runtime]\nisolation = "thread"\n`;

const hostileCode = `import { NekoPluginBase, nekoPlugin, pluginEntry, Ok } from "@neko/plugin-sdk/plugin";
import fs from "node:fs";
import { createRequire } from "node:module";
import { Worker } from "node:worker_threads";

const attempt = (f: () => unknown) => {
  try { const value = f(); return { loaded: typeof value }; }
  catch (error) { return { code: (error as NodeJS.ErrnoException).code ?? null, message: String((error as Error).message) }; }
};

@nekoPlugin
export class Hostile extends NekoPluginBase {
  @pluginEntry({ id: "write" })
  write(args: { file: string }) {
    try { fs.appendFileSync(args.file, "\\n// pwned\\n"); return Ok({ wrote: true }); }
    catch (error) { return Ok({ refused: (error as NodeJS.ErrnoException).code }); }
  }

  @pluginEntry({ id: "native" })
  native(args: { addon: string }) {
    const module = { exports: {} };
    return Ok({
      dlopen: attempt(() => process.dlopen(module, args.addon)),
      require: attempt(() => createRequire(import.meta.url)(args.addon)),
      worker: attempt(() => new Worker("process.exit(0)", { eval: true })),
      replaced: attempt(() => { (process as any).dlopen = () => 1; return (process as any).dlopen(module, args.addon); }),
    });
  }

  @pluginEntry({ id: "kill" })
  kill() {
    return Ok({
      runner: attempt(() => process.kill(process.pid, "SIGKILL")),
      host: attempt(() => process.kill(process.ppid, "SIGKILL")),
      // Signal 0 only probes: were the guard to let these through, nothing is killed.
      group: attempt(() => process.kill(0, 0)),
      everyone: attempt(() => process.kill(-1, 0)),
    });
  }

  @pluginEntry({ id: "store" })
  async putStore(args: { value: number }) {
    await this.store.set("k", args.value);
    return Ok({ stored: (await this.store.get("k")).value, pid: process.pid });
  }

  @pluginEntry({ id: "flood" })
  flood(args: { ms: number }) {
    const chunk = "x".repeat(65536) + "\\n";
    const end = Date.now() + args.ms;
    const go = () => { for (let i = 0; i < 20; i++) process.stdout.write(chunk); if (Date.now() < end) setImmediate(go); };
    go();
    return Ok({ flooding: true });
  }

  @pluginEntry({ id: "big_frame" })
  bigFrame() {
    // Under the bus's 1 MiB payload limit, over the relay cap this test sets (512 KiB).
    void Promise.resolve(this.bus.emit("big.frame", { y: "y".repeat(900 * 1024) })).catch(() => undefined);
    return Ok({ sent: true });
  }
}
`;

const victimCode = `import { NekoPluginBase, nekoPlugin, pluginEntry, Ok } from "@neko/plugin-sdk/plugin";
import { threadId } from "node:worker_threads";
@nekoPlugin
export class Victim extends NekoPluginBase {
  @pluginEntry({ id: "who" }) who() { return Ok({ pid: process.pid, threadId }); }
}
`;

const view = async (t: TestHost, id: string) => {
  const body = (await t.request("GET", `/plugins/${id}`)).body;
  return body.plugin ?? body;
};

const rssKb = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0);

/** A native addon of the install that is none of the SDK's own (zeromq's: the runner loads it, a thread may not). */
function foreignAddon(): string {
  const found: string[] = [];
  const walk = (dir: string) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const file = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(file);
      else if (entry.name.endsWith(".node")) found.push(file);
    }
  };
  walk(path.resolve("node_modules/zeromq/build"));
  const file = found.find((f) => f.includes(`${process.platform}/${process.arch}`)) ?? found[0];
  assert.ok(file, "zeromq ships a native addon");
  return file;
}

describe("thread plugins: an attacker's routes", () => {
  let root: string;
  let t: TestHost;
  const logs: Array<{ pluginId: string; record: LogRecord }> = [];
  const previousRelayCap = process.env.NEKO_THREAD_RELAY_MAX_BYTES;

  before(async () => {
    // A 900 KiB frame passes this relay cap: big_frame ends its thread at once.
    process.env.NEKO_THREAD_RELAY_MAX_BYTES = String(512 * 1024);
    root = makeTempDir();
    writePlugin(root, {
      id: "hostile",
      className: "Hostile",
      manifest: thread("hostile", "Hostile"),
      code: hostileCode,
    });
    writePlugin(root, { id: "victim", className: "Victim", manifest: thread("victim", "Victim"), code: victimCode });
    // Refused by the host: its grant reaches another plugin's folder. It must not widen the runner either.
    writePlugin(root, {
      id: "greedy",
      className: "Victim",
      manifest: thread("greedy", "Victim", `[plugin.permissions]\nfs_write = ["${path.join(root, "proc")}"]\n`),
      code: victimCode,
    });
    writePlugin(root, { id: "proc", className: "Victim", code: victimCode });
    t = await startTestHost({ roots: [root] }, { onLog: (pluginId, record) => logs.push({ pluginId, record }) });
  });
  after(async () => {
    await t?.close();
    if (previousRelayCap === undefined) delete process.env.NEKO_THREAD_RELAY_MAX_BYTES;
    else process.env.NEKO_THREAD_RELAY_MAX_BYTES = previousRelayCap;
    fs.rmSync(root, { recursive: true, force: true });
  });

  test("a refused thread plugin's write grant never reaches a runner", async () => {
    const greedy = await view(t, "greedy");
    assert.equal(greedy.status, "refused");
    assert.match(greedy.status_reason, /reaches the folder of plugin 'proc'/);
    const source = path.join(root, "proc", "index.ts");
    const before = fs.readFileSync(source, "utf8");
    const res = await t.trigger("hostile", "write", { file: source });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(res.body.data, { refused: "ERR_ACCESS_DENIED" });
    assert.equal(fs.readFileSync(source, "utf8"), before);
  });

  test("a thread loads no native code but the SDK's own, and starts no worker", async () => {
    const addon = foreignAddon();
    const res = await t.trigger("hostile", "native", { addon });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const { dlopen, require, worker, replaced } = res.body.data;
    // The guard cannot be swapped out: process.dlopen is read-only in a thread.
    assert.match(replaced.message, /Cannot assign to read only property 'dlopen'/);
    for (const refused of [dlopen, require]) {
      assert.equal(refused.code, "ERR_ACCESS_DENIED", JSON.stringify(refused));
      assert.match(refused.message, /a thread plugin may not load native code/);
      assert.ok(refused.message.includes(addon), refused.message);
    }
    assert.equal(worker.code, "ERR_ACCESS_DENIED", JSON.stringify(worker));

    // The store's own addon (better-sqlite3) is the SDK's: it loads.
    const stored = await t.trigger("hostile", "store", { value: 5 });
    assert.equal(stored.status, 200, JSON.stringify(stored.body));
    assert.equal(stored.body.data.stored, 5);
  });

  test("a thread plugin's metrics: CPU and resident memory are its runner's, so null; its heap is its own", async () => {
    const metrics = await waitFor(
      async () => {
        const body = (await t.request("GET", "/plugin/metrics/victim")).body;
        return body.sampled_at ? body : undefined;
      },
      { what: "a sampled report", timeoutMs: 60_000 },
    );
    assert.equal(metrics.cpu_percent, null);
    assert.equal(metrics.rss_bytes, null);
    assert.ok(metrics.heap_used_bytes > 0, JSON.stringify(metrics));
  });

  test("a thread may not signal its runner, the host or a process group", async () => {
    const runnerPid = (await t.trigger("victim", "who")).body.data.pid as number;
    const res = await t.trigger("hostile", "kill");
    assert.equal(res.status, 200, JSON.stringify(res.body));
    for (const [target, refused] of Object.entries(
      res.body.data as Record<string, { code: string; message: string }>,
    )) {
      assert.equal(refused.code, "ERR_ACCESS_DENIED", `${target}: ${JSON.stringify(refused)}`);
      assert.match(refused.message, /a thread plugin may not signal pid/);
    }
    await new Promise((r) => setTimeout(r, 300));
    assert.equal((await t.trigger("victim", "who")).body.data.pid, runnerPid, "the runner lives on");
  });

  test("an output flood is capped in the runner: its memory stays bounded, the neighbour answers, drops are told", async () => {
    const pid = (await t.trigger("victim", "who")).body.data.pid as number;
    const baseline = rssKb(pid);
    assert.equal((await t.trigger("hostile", "flood", { ms: 5000 })).status, 200);
    let peak = baseline;
    const end = Date.now() + 6000;
    while (Date.now() < end) {
      const res = await t.trigger("victim", "who");
      assert.equal(res.status, 200, JSON.stringify(res.body));
      peak = Math.max(peak, rssKb(pid));
      await new Promise((r) => setTimeout(r, 300));
    }
    // Unbounded, the runner grew by ~450 MB in 6 s; bounded, it holds a few MiB of output at a time.
    assert.ok(peak - baseline < 200 * 1024, `runner grew from ${baseline} kB to ${peak} kB`);
    await waitFor(
      () => logs.some((l) => l.pluginId === "hostile" && /output were dropped/.test(JSON.stringify(l.record))),
      { what: "the dropped-output note", timeoutMs: 30_000 },
    );
  });

  test("a frame flood past the relay's cap ends that thread with the reason; its neighbour goes on", async () => {
    const before = (await t.trigger("victim", "who")).body.data;
    const res = await t.trigger("hostile", "big_frame");
    assert.ok(res.status === 200 || res.body.error?.code === "PLUGIN_CRASHED", JSON.stringify(res.body));
    await waitFor(
      async () => /faster than its connection takes them/.test((await view(t, "hostile")).status_reason ?? ""),
      {
        what: "the relay overflow's reason",
        timeoutMs: 30_000,
      },
    );
    assert.deepEqual((await t.trigger("victim", "who")).body.data, before);
    await waitFor(async () => (await view(t, "hostile")).status === "running", {
      what: "hostile restarted",
      timeoutMs: 30_000,
    });
  });
});

describe("thread plugins: stop then start of a runner's only thread plugin", () => {
  let root: string;
  let t: TestHost;

  before(async () => {
    root = makeTempDir();
    writePlugin(root, { id: "solo", className: "Victim", manifest: thread("solo", "Victim"), code: victimCode });
    t = await startTestHost({ roots: [root] });
  });
  after(async () => {
    await t?.close();
    fs.rmSync(root, { recursive: true, force: true });
  });

  test("never lands on a dying runner: every start answers 200 and the plugin runs", async () => {
    for (let cycle = 0; cycle < 6; cycle++) {
      const [stop, start] = await Promise.all([
        t.request("POST", "/plugin/solo/stop"),
        t.request("POST", "/plugin/solo/start"),
      ]);
      assert.equal(stop.status, 200, JSON.stringify(stop.body));
      assert.notEqual(start.status, 502, `cycle ${cycle}: ${JSON.stringify(start.body)}`);
      await t.request("POST", "/plugin/solo/start");
      await waitFor(async () => (await view(t, "solo")).status === "running", {
        what: `solo running (cycle ${cycle})`,
      });
      assert.equal((await t.trigger("solo", "who")).status, 200);
    }
    // Sequential stops and starts too, past the linger and inside it.
    for (let cycle = 0; cycle < 5; cycle++) {
      assert.equal((await t.request("POST", "/plugin/solo/stop")).status, 200);
      if (cycle % 2 === 1) await new Promise((r) => setTimeout(r, 2500));
      const start = await t.request("POST", "/plugin/solo/start");
      assert.equal(start.status, 200, `sequential cycle ${cycle}: ${JSON.stringify(start.body)}`);
    }
    const solo = await view(t, "solo");
    assert.equal(solo.status, "running", JSON.stringify(solo));
  });
});
