/**
 * Thread plugins that fail ([plugin_runtime] isolation = "thread", docs/architecture.md#thread-plugins): one that
 * exits, one that hangs in a busy loop (its heartbeat stops; the host has the runner terminate the thread) and one that
 * runs past its heap limit (ERR_WORKER_OUT_OF_MEMORY) each crash and are restarted by the restart policy, while a
 * neighbour thread in the same runner answers every call throughout. A runner killed with SIGKILL takes its threads
 * with it: they all come back, in a new runner. A plugin that throws while loading is refused, as a process is.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import { after, before, describe, test } from "node:test";
import { isAlive, makeTempDir, waitFor, writePlugin } from "../support/plugin-fixtures.ts";
import { startTestHost, type TestHost } from "../support/test-host.ts";

const thread = (id: string, className: string, heap = "") =>
  `[plugin]\nid = "${id}"\nentry = "index.ts:${className}"\n${heap}\n[plugin_runtime]\nisolation = "thread"\n`;

const steadyCode = `import { NekoPluginBase, nekoPlugin, pluginEntry, Ok } from "@neko/plugin-sdk/plugin";
import { threadId } from "node:worker_threads";

@nekoPlugin
export class Steady extends NekoPluginBase {
  private calls = 0;
  @pluginEntry({ id: "ping" })
  ping() {
    this.calls += 1;
    return Ok({ calls: this.calls, pid: process.pid, threadId });
  }
}
`;

const fragileCode = `import { NekoPluginBase, nekoPlugin, pluginEntry, Ok } from "@neko/plugin-sdk/plugin";
import { threadId } from "node:worker_threads";

@nekoPlugin
export class Fragile extends NekoPluginBase {
  @pluginEntry({ id: "who" })
  who() {
    return Ok({ pid: process.pid, threadId });
  }

  @pluginEntry({ id: "exit" })
  exit() {
    setTimeout(() => process.exit(3), 10);
    return Ok({ exiting: true });
  }

  @pluginEntry({ id: "die_in_call" })
  async dieInCall() {
    setTimeout(() => process.exit(4), 50);
    await new Promise((r) => setTimeout(r, 60_000));
    return Ok({ never: true });
  }

  @pluginEntry({ id: "hang" })
  hang() {
    setTimeout(() => { for (;;) {} }, 10);
    return Ok({ hanging: true });
  }

  @pluginEntry({ id: "oom" })
  oom() {
    const hoard: string[][] = [];
    // In steps that let the heartbeat through: the heap limit ends it, not the host.
    setInterval(() => { for (let i = 0; i < 4; i++) hoard.push(new Array(250_000).fill(hoard.length + 0.5)); }, 5);
    return Ok({ hoarding: true });
  }
}
`;

const throwingCode = `throw new Error("broken at load time");\n`;

/** Calls steady:ping every 50 ms until `until` settles; every call must succeed. */
async function keepCalling(t: TestHost, until: Promise<unknown>): Promise<number> {
  let done = false;
  void until.finally(() => {
    done = true;
  });
  let calls = 0;
  while (!done) {
    const res = await t.trigger("steady", "ping");
    assert.equal(res.status, 200, `the neighbour answers during the failure: ${JSON.stringify(res.body)}`);
    calls += 1;
    await new Promise((r) => setTimeout(r, 50));
  }
  return calls;
}

describe("thread plugins that fail", () => {
  let root: string;
  let t: TestHost;

  before(async () => {
    root = makeTempDir();
    writePlugin(root, { id: "steady", className: "Steady", manifest: thread("steady", "Steady"), code: steadyCode });
    writePlugin(root, {
      id: "fragile",
      className: "Fragile",
      manifest: thread("fragile", "Fragile", "[plugin.permissions]\nmax_heap_mb = 48\n"),
      code: fragileCode,
    });
    writePlugin(root, { id: "broken", className: "Broken", manifest: thread("broken", "Broken"), code: throwingCode });
    t = await startTestHost({
      roots: [root],
      heartbeatIntervalMs: 200,
      restartPolicy: { baseDelayMs: 100, maxDelayMs: 100, maxCrashes: 20, windowMs: 60_000 },
    });
  });
  after(async () => {
    await t?.close();
    fs.rmSync(root, { recursive: true, force: true });
  });

  async function plugin(id: string) {
    const body = (await t.request("GET", `/plugins/${id}`)).body;
    return body.plugin ?? body;
  }

  /** Triggers `entry` on fragile, then waits until fragile runs again in a new thread; the neighbour answers. */
  async function crashAndComeBack(entry: string): Promise<{ lastExit: any; before: any; after: any }> {
    const before = (await t.trigger("fragile", "who")).body.data;
    const steadyBefore = (await t.trigger("steady", "ping")).body.data;
    assert.equal(steadyBefore.pid, before.pid, "both threads are in one runner");
    assert.equal((await t.trigger("fragile", entry)).status, 200);
    const back = waitFor(
      async () => {
        const res = await t.trigger("fragile", "who");
        return res.status === 200 && res.body.data.threadId !== before.threadId ? res.body.data : undefined;
      },
      { timeoutMs: 20_000, what: `fragile back after ${entry}` },
    );
    const calls = await keepCalling(t, back);
    assert.ok(calls >= 1);
    const after = await back;
    const detail = (await t.request("GET", "/plugins/fragile")).body;
    return { lastExit: (detail.plugin ?? detail).last_exit, before, after };
  }

  test("a thread that calls process.exit is a crash, and restarts in the same runner", async () => {
    const { lastExit, before, after } = await crashAndComeBack("exit");
    assert.equal(lastExit.code, 3);
    assert.equal(after.pid, before.pid);
  });

  test("a thread that exits during a call: the call fails PLUGIN_CRASHED at once, the plugin restarts", async () => {
    const before = (await t.trigger("fragile", "who")).body.data;
    const started = Date.now();
    const res = await t.trigger("fragile", "die_in_call");
    assert.equal(res.status, 502, JSON.stringify(res.body));
    assert.equal(res.body.error.code, "PLUGIN_CRASHED");
    assert.ok(Date.now() - started < 10_000, "not left to its timeout");
    const back = await waitFor(
      async () => {
        const r = await t.trigger("fragile", "who");
        return r.status === 200 && r.body.data.threadId !== before.threadId ? r.body.data : undefined;
      },
      { timeoutMs: 20_000, what: "fragile back" },
    );
    assert.equal(back.pid, before.pid);
    assert.equal((await t.trigger("steady", "ping")).status, 200);
  });

  test("a hung thread misses its heartbeat, is terminated and restarts; the runner lives on", async () => {
    const { lastExit, before, after } = await crashAndComeBack("hang");
    assert.equal(lastExit.signal, null);
    assert.equal(after.pid, before.pid);
    const history = (await t.request("GET", "/plugins/fragile")).body;
    assert.match(JSON.stringify(history), /unresponsive: no heartbeat/);
  });

  test("a thread past its heap limit is a crash (out of memory), and restarts", async () => {
    const { lastExit, after, before } = await crashAndComeBack("oom");
    assert.match(lastExit.stderr.join("\n"), /out of memory: the thread reached its heap limit \(max_heap_mb = 48\)/);
    assert.equal(after.pid, before.pid);
  });

  test("a runner killed with SIGKILL: its thread plugins crash and come back in a new runner", async () => {
    const old = (await t.trigger("steady", "ping")).body.data.pid as number;
    process.kill(old, "SIGKILL");
    const fresh = await waitFor(
      async () => {
        const [s, f] = [await t.trigger("steady", "ping"), await t.trigger("fragile", "who")];
        return s.status === 200 && f.status === 200 && s.body.data.pid !== old ? [s.body.data, f.body.data] : undefined;
      },
      { timeoutMs: 20_000, what: "both back in a new runner" },
    );
    assert.equal(fresh[0].pid, fresh[1].pid);
    assert.ok(!isAlive(old));
    const steady = await plugin("steady");
    assert.equal(steady.pid, fresh[0].pid);
    assert.equal(steady.last_exit.signal, "SIGKILL");
  });

  test("a thread plugin that throws while loading is refused with the reason; the others run", async () => {
    const broken = await plugin("broken");
    assert.equal(broken.status, "refused");
    assert.match(broken.status_reason, /broken at load time/);
    assert.equal((await t.trigger("steady", "ping")).status, 200);
  });
});
