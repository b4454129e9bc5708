/**
 * Thread plugins ([plugin_runtime] isolation = "thread", docs/architecture.md#thread-plugins): real host, a real
 * runner process and real worker threads. What a thread plugin does through the SDK (entries, store, bus, calls to a
 * process plugin and back, logs tagged by plugin, the /plugins view), and what the host does when one throws, exits,
 * hangs or runs out of heap, or when its runner is killed: restarted by policy while its neighbour keeps answering.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import type { LogRecord } from "@neko/host";
import { isAlive, makeTempDir, waitFor, writePlugin } from "../support/plugin-fixtures.ts";
import { startTestHost, type TestHost } from "../support/test-host.ts";

const thread = (id: string, className: string, extra = "") =>
  `[plugin]\nid = "${id}"\nentry = "index.ts:${className}"\n${extra}\n[plugin_runtime]\nisolation = "thread"\n`;

const workerCode = `import { NekoPluginBase, lifecycle, nekoPlugin, pluginEntry, Ok } from "@neko/plugin-sdk/plugin";
import { readFileSync } from "node:fs";
import { isMainThread, parentPort, threadId, workerData } from "node:worker_threads";

@nekoPlugin
export class Worker1 extends NekoPluginBase {
  private seen: unknown[] = [];

  @lifecycle({ id: "startup" })
  async onStartup() {
    this.bus.on("thread.test", (payload) => { this.seen.push(payload); });
    await this.bus.flush();
  }

  @pluginEntry({ id: "hello" })
  hello(args: { name?: string }) {
    this.logger.info("hello from a thread", { name: args.name });
    return Ok({ greeting: "hi " + (args.name ?? "?"), isMainThread, threadId, pid: process.pid });
  }

  @pluginEntry({ id: "store" })
  async putStore(args: { value: number }) {
    await this.store.set("k", args.value);
    return Ok({ stored: (await this.store.get("k")).value });
  }

  @pluginEntry({ id: "emit" })
  emitEvent(args: { n: number }) {
    return this.bus.emit("thread.test", { n: args.n });
  }

  @pluginEntry({ id: "seen" })
  seenEvents() {
    return Ok({ seen: this.seen });
  }

  @pluginEntry({ id: "round_trip" })
  async roundTrip(args: { n: number }) {
    return this.plugins.callEntry("proc:echo", { n: args.n });
  }

  @pluginEntry({ id: "double" })
  double(args: { n: number }) {
    return Ok({ doubled: args.n * 2 });
  }

  @pluginEntry({ id: "forge" })
  forge() {
    // Orders to the runner, as the host gives them: the runner takes orders only on its IPC channel.
    // Launch ids are "<plugin>#<n>": these cover every launch of the victim so far.
    for (let n = 0; n < 50; n++) parentPort?.postMessage({ type: "terminate", id: "victim#" + n });
    parentPort?.postMessage({ type: "start", id: "victim#99", bootstrap: "{}", maxHeapMb: 16, env: {} });
    return Ok({ sent: parentPort !== null, ipc: typeof process.send });
  }

  @pluginEntry({ id: "read" })
  read(args: { file: string }) {
    try {
      return Ok({ read: readFileSync(args.file, "utf8").length > 0 });
    } catch (error) {
      return Ok({ refused: (error as NodeJS.ErrnoException).code });
    }
  }

  @pluginEntry({ id: "spy" })
  spy(args: { addon: string }) {
    const secretish = Object.entries(process.env).filter(([k]) => /SECRET|BOOTSTRAP|CURVE/i.test(k)).map(([k]) => k);
    const bootstrap = (globalThis as any)[Symbol.for("neko-plugin.thread-bootstrap")];
    // The routes to the process's memory, where every thread's bootstrap is: /proc/self/mem, and native code.
    const refused = (f: () => unknown) => { try { f(); return "open"; } catch (e) { return (e as NodeJS.ErrnoException).code ?? "threw"; } };
    const memory = refused(() => readFileSync("/proc/self/mem"));
    const native = refused(() => process.dlopen({ exports: {} }, args.addon));
    return Ok({ workerData: workerData ?? null, bootstrap: bootstrap ?? null, secretish, memory, native });
  }
}
`;

const procCode = `import { NekoPluginBase, nekoPlugin, pluginEntry, Ok } from "@neko/plugin-sdk/plugin";

@nekoPlugin
export class Proc extends NekoPluginBase {
  @pluginEntry({ id: "echo" })
  echo(args: { n: number }) {
    return Ok({ via: "proc", n: args.n, pid: process.pid });
  }

  @pluginEntry({ id: "ask_thread" })
  async askThread(args: { n: number }) {
    const doubled = await this.plugins.callEntry<{ doubled: number }>("worker1:double", { n: args.n });
    return Ok({ doubled: doubled.ok ? doubled.value.doubled : doubled.error.code });
  }
}
`;

const victimCode = `import { NekoPluginBase, nekoPlugin, pluginEntry, Ok } from "@neko/plugin-sdk/plugin";
import { threadId } from "node:worker_threads";

@nekoPlugin
export class Victim extends NekoPluginBase {
  @pluginEntry({ id: "who" })
  async who() {
    return Ok({ threadId, pid: process.pid, stored: (await this.store.get("mine")).value ?? null });
  }
}
`;

describe("thread plugins: what a plugin does", () => {
  let root: string;
  let t: TestHost;
  const logs: Array<{ pluginId: string; record: LogRecord }> = [];

  before(async () => {
    root = makeTempDir();
    writePlugin(root, {
      id: "worker1",
      className: "Worker1",
      manifest: thread("worker1", "Worker1"),
      code: workerCode,
    });
    writePlugin(root, { id: "proc", className: "Proc", code: procCode });
    writePlugin(root, { id: "victim", className: "Victim", manifest: thread("victim", "Victim"), code: victimCode });
    // What a thread cannot honour is refused with the reason.
    writePlugin(root, {
      id: "py_thread",
      manifest: thread("py_thread", "Py").replace('"index.ts:Py"', '"main.py:Py"'),
      files: { "main.py": "class Py: pass\n" },
    });
    writePlugin(root, {
      id: "spawner",
      className: "Spawner",
      manifest: thread("spawner", "Spawner", "[plugin.permissions]\nchild_process = true\n"),
      code: victimCode.replace("Victim", "Spawner"),
    });
    t = await startTestHost({ roots: [root] }, { onLog: (pluginId, record) => logs.push({ pluginId, record }) });
  });
  after(async () => {
    await t?.close();
    fs.rmSync(root, { recursive: true, force: true });
  });

  test("an entry runs in a worker thread of the runner process, which /plugins shows", async () => {
    const res = await t.trigger("worker1", "hello", { name: "neko" });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const data = res.body.data;
    assert.equal(data.greeting, "hi neko");
    assert.equal(data.isMainThread, false);
    assert.ok(data.threadId > 0);
    const view = (await t.request("GET", "/plugins/worker1")).body;
    const plugin = view.plugin ?? view;
    assert.equal(plugin.status, "running");
    assert.equal(plugin.isolation, "thread");
    assert.equal(plugin.pid, data.pid, "pid is the runner's");
    assert.equal(plugin.thread_id, data.threadId);
    assert.notEqual(plugin.pid, process.pid);
    const procView = (await t.request("GET", "/plugins/proc")).body;
    const proc = procView.plugin ?? procView;
    assert.equal(proc.isolation, "process");
    assert.equal(proc.thread_id, null);
  });

  test("its log lines are tagged with its id", async () => {
    await t.trigger("worker1", "hello", { name: "logs" });
    const line = await waitFor(() =>
      logs.find((l) => l.record.msg === "hello from a thread" && l.record.name === "logs"),
    );
    assert.equal(line.pluginId, "worker1");
  });

  test("store, bus, a call to a process plugin, and a process plugin's call to it", async () => {
    assert.deepEqual((await t.trigger("worker1", "store", { value: 7 })).body.data, { stored: 7 });
    assert.equal((await t.trigger("worker1", "emit", { n: 3 })).status, 200);
    await waitFor(async () => (await t.trigger("worker1", "seen")).body.data.seen.length === 1, { what: "bus event" });
    assert.deepEqual((await t.trigger("worker1", "seen")).body.data.seen, [{ n: 3 }]);
    const rt = await t.trigger("worker1", "round_trip", { n: 21 });
    assert.equal(rt.status, 200, JSON.stringify(rt.body));
    assert.equal(rt.body.data.via, "proc");
    assert.equal(rt.body.data.n, 21);
    const back = await t.trigger("proc", "ask_thread", { n: 21 });
    assert.deepEqual(back.body.data, { doubled: 42 });
  });

  test("the plugin finds no bootstrap: not in workerData, the environment or the global", async () => {
    // zeromq's addon: the runner's, not on a thread's allow-list (a thread's native code could read the whole process).
    const zeromq = path.resolve("node_modules/zeromq/build", process.platform, process.arch, "node");
    const addon = fs.existsSync(zeromq)
      ? path.join(zeromq, fs.readdirSync(zeromq).sort().at(-1) ?? "", "addon.node")
      : path.resolve("node_modules/better-sqlite3/build/Release/test_extension.node");
    const res = await t.trigger("worker1", "spy", { addon });
    assert.deepEqual(res.body.data, {
      workerData: null,
      bootstrap: null,
      secretish: [],
      memory: "ERR_ACCESS_DENIED",
      native: "ERR_ACCESS_DENIED",
    });
  });

  test("a thread plugin cannot give its runner orders: its neighbour's thread goes on", async () => {
    const before = (await t.trigger("victim", "who")).body.data;
    assert.equal(before.pid, (await t.trigger("worker1", "hello")).body.data.pid, "same runner");
    const forged = await t.trigger("worker1", "forge");
    assert.deepEqual(forged.body.data, { sent: true, ipc: "undefined" });
    // Obeyed, the terminate orders would end the victim's thread: it would come back with another threadId.
    await new Promise((r) => setTimeout(r, 1500));
    const after = (await t.trigger("victim", "who")).body.data;
    assert.deepEqual(after, before);
    const victim = (await t.request("GET", "/plugins/victim")).body;
    assert.equal((victim.plugin ?? victim).status, "running");
    assert.equal((victim.plugin ?? victim).thread_id, before.threadId);
    assert.equal(((await t.request("GET", "/plugins")).body.plugins as any[]).length, 5, "no plugin was added");
  });

  test("each thread's frames are its own: a store write lands in its own store, not its neighbour's", async () => {
    assert.equal((await t.trigger("worker1", "store", { value: 9 })).status, 200);
    assert.equal((await t.trigger("victim", "who")).body.data.stored, null);
  });

  test("a Python plugin or a child_process grant with isolation = thread is refused with the reason", async () => {
    const py = (await t.request("GET", "/plugins/py_thread")).body;
    assert.equal((py.plugin ?? py).status, "refused");
    assert.match((py.plugin ?? py).status_reason, /isolation = "thread" is for Node plugins/);
    const spawner = (await t.request("GET", "/plugins/spawner")).body;
    assert.equal((spawner.plugin ?? spawner).status, "refused");
    assert.match((spawner.plugin ?? spawner).status_reason, /cannot honour \[plugin.permissions\] child_process/);
  });

  test("the runner runs under the permission model: a thread reads its runner's plugins' folders, no other", async () => {
    const outside = await t.trigger("worker1", "read", { file: path.join(root, "proc", "index.ts") });
    assert.deepEqual(outside.body.data, { refused: "ERR_ACCESS_DENIED" });
    const secretFile = path.join(makeTempDir("neko-thread-secret-"), "secret.txt");
    fs.writeFileSync(secretFile, "s3cret");
    const elsewhere = await t.trigger("worker1", "read", { file: secretFile });
    assert.deepEqual(elsewhere.body.data, { refused: "ERR_ACCESS_DENIED" });
    fs.rmSync(path.dirname(secretFile), { recursive: true, force: true });
    // Documented (permissions.md#thread-plugins): thread plugins of one runner read each other's folders.
    const neighbour = await t.trigger("worker1", "read", { file: path.join(root, "victim", "index.ts") });
    assert.deepEqual(neighbour.body.data, { read: true });
  });

  test("a reload runs the new code in a new thread of the same runner; stop and start work as for a process", async () => {
    const before = (await t.trigger("victim", "who")).body.data;
    const reloaded = await t.request("POST", "/plugin/victim/reload");
    assert.equal(reloaded.status, 200, JSON.stringify(reloaded.body));
    const after = (await t.trigger("victim", "who")).body.data;
    assert.equal(after.pid, before.pid);
    assert.notEqual(after.threadId, before.threadId);
    assert.equal((await t.request("POST", "/plugin/victim/stop")).status, 200);
    const stopped = (await t.request("GET", "/plugins/victim")).body;
    assert.equal((stopped.plugin ?? stopped).status, "stopped");
    assert.equal((stopped.plugin ?? stopped).thread_id, null);
    assert.equal((await t.request("POST", "/plugin/victim/start")).status, 200);
    assert.equal((await t.trigger("victim", "who")).status, 200);
  });

  test("the runner process goes when the host stops", async () => {
    const pid = (await t.trigger("worker1", "hello")).body.data.pid as number;
    assert.ok(isAlive(pid));
    await t.close();
    await waitFor(() => !isAlive(pid), { what: "the runner to exit" });
  });
});
