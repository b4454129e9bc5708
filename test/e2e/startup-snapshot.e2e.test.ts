/**
 * Startup snapshots (on unless `NEKO_PLUGIN_SNAPSHOT=off`; docs/architecture.md "Startup snapshot"): a plugin process starts from
 * a snapshot holding the SDK's runtime, under the permission model, with one copy of the SDK's classes (the plugin's
 * and the runtime's), its heap limit, threads that work and children that start as any Node process; a thread plugin
 * and a process whose snapshot is missing run as without one.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { createSilentLogger, type LogRecord, NodePluginLauncher, PLUGIN_RUNNER_PATH } from "@neko/host";
import type { PluginLinks } from "../../packages/host/src/supervisor/plugin-links.ts";
import { linkPluginSources } from "../../packages/sdk/bin/plugin-link.mjs";
import { defaultCacheDir } from "../../packages/sdk/bin/ts-compile-cache.mjs";
import { makeTempDir, writePlugin } from "../support/plugin-fixtures.ts";
import { startTestHost, type TestHost } from "../support/test-host.ts";

const MiB = 2 ** 20;

const code = `import { fork } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { getHeapStatistics } from "node:v8";
import { Worker } from "node:worker_threads";
import { NekoPluginBase, nekoPlugin, pluginEntry, Ok } from "@neko/plugin-sdk/plugin";

/** The SDK a process started from a snapshot holds, if any. */
function snapshot(): { modules: Record<string, Record<string, unknown>> } | undefined {
  return (globalThis as Record<symbol, never>)[Symbol.for("neko-plugin.snapshot")];
}

@nekoPlugin
export class SnapPlugin extends NekoPluginBase {
  @pluginEntry({ id: "where" })
  where() {
    this.logger.info("asked where it runs");
    const held = snapshot();
    return Ok({
      snapshot: held !== undefined,
      // The class this plugin extends is the snapshot's own, not a second copy of the SDK.
      sameSdk: held !== undefined && Object.values(held.modules).some((m) => m.NekoPluginBase === NekoPluginBase),
      execArgv: process.execArgv,
      heap: getHeapStatistics().heap_size_limit,
      permission: process.permission !== undefined,
      // The snapshot's making put process.emit aside for a while: it is EventEmitter's again, not an own copy.
      ownEmit: Object.hasOwn(process, "emit"),
    });
  }

  /** What Node's checks of the permission model written in JavaScript say (they read once whether it is on). */
  @pluginEntry({ id: "js_checks" })
  jsChecks() {
    const codeOf = (act: () => unknown) => {
      try {
        act();
        return "allowed";
      } catch (error) {
        return (error as { code?: string }).code ?? String(error);
      }
    };
    return Ok({
      lstat: codeOf(() => fs.lstatSync("/etc/hostname")),
      fsync: codeOf(() => fs.fsyncSync(1)),
      symlink: codeOf(() => fs.symlinkSync("/etc/hostname", path.join(import.meta.dirname, "data", "link"))),
    });
  }

  @pluginEntry({ id: "worker" })
  async worker() {
    const worker = new Worker(
      'const { parentPort } = require("node:worker_threads"); parentPort.postMessage({ heap: require("node:v8").getHeapStatistics().heap_size_limit, cwd: process.cwd() });',
      { eval: true },
    );
    const answer = await new Promise((resolve, reject) => {
      worker.once("message", resolve);
      worker.once("error", reject);
    });
    await worker.terminate();
    return Ok(answer);
  }

  @pluginEntry({ id: "children" })
  async children() {
    const child = (execArgv?: string[]) =>
      new Promise((resolve, reject) => {
        const proc = fork(path.join(import.meta.dirname, "child.cjs"), [], execArgv ? { execArgv } : {});
        proc.once("message", (m) => resolve(m));
        proc.once("error", reject);
        proc.once("exit", (code) => resolve({ exited: code }));
      });
    return Ok({
      inherited: await child(),
      ownHeap: await child([...process.execArgv.filter((a) => !a.startsWith("--max-old-space-size")), "--max-old-space-size=48"]),
    });
  }
}
`;

const child = `process.send({
  heap: require("node:v8").getHeapStatistics().heap_size_limit,
  snapshot: globalThis[Symbol.for("neko-plugin.snapshot")] !== undefined,
  execArgv: process.execArgv,
}, () => process.exit(0));
`;

const threadCode = `import { NekoPluginBase, nekoPlugin, pluginEntry, Ok } from "@neko/plugin-sdk/plugin";

@nekoPlugin
export class ThreadPlugin extends NekoPluginBase {
  @pluginEntry({ id: "where" })
  where() {
    return Ok({ snapshot: (globalThis as Record<symbol, unknown>)[Symbol.for("neko-plugin.snapshot")] !== undefined });
  }
}
`;

describe("plugin processes started from a startup snapshot", () => {
  let root: string;
  let t: TestHost;
  let cacheDir: string;
  const saved = { snapshot: process.env.NEKO_PLUGIN_SNAPSHOT, cache: process.env.NEKO_TS_CACHE_DIR };
  const lines: { pluginId: string; record: LogRecord }[] = [];

  before(async () => {
    root = makeTempDir();
    cacheDir = path.join(makeTempDir("neko-snapshot-cache-"), "cache");
    process.env.NEKO_TS_CACHE_DIR = cacheDir;
    process.env.NEKO_PLUGIN_SNAPSHOT = "on";
    writePlugin(root, {
      id: "snap",
      className: "SnapPlugin",
      manifest:
        '[plugin]\nid = "snap"\nentry = "index.ts:SnapPlugin"\n\n[plugin.permissions]\nmax_heap_mb = 160\nchild_process = true\nworker_threads = true\n',
      code,
      files: { "child.cjs": child },
    });
    writePlugin(root, {
      id: "threaded",
      className: "ThreadPlugin",
      manifest:
        '[plugin]\nid = "threaded"\nentry = "index.ts:ThreadPlugin"\n\n[plugin_runtime]\nisolation = "thread"\n',
      code: threadCode,
    });
    t = await startTestHost({ roots: [root] }, { onLog: (pluginId, record) => lines.push({ pluginId, record }) });
  });
  after(async () => {
    await t?.close();
    for (const [name, value] of [
      ["NEKO_PLUGIN_SNAPSHOT", saved.snapshot],
      ["NEKO_TS_CACHE_DIR", saved.cache],
    ] as const) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
    fs.rmSync(root, { recursive: true, force: true });
    if (cacheDir !== undefined) fs.rmSync(path.dirname(cacheDir), { recursive: true, force: true });
  });

  test("the plugin runs from the snapshot, under the permission model, with the snapshot's SDK and its heap limit", async () => {
    const res = await t.trigger("snap", "where");
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const where = res.body.data as {
      snapshot: boolean;
      sameSdk: boolean;
      execArgv: string[];
      heap: number;
      permission: boolean;
      ownEmit: boolean;
    };
    assert.equal(where.snapshot, true);
    assert.equal(where.permission, true, "under the permission model");
    assert.equal(where.ownEmit, false);
    assert.equal(where.sameSdk, true, "one copy of the SDK's classes");
    assert.equal(
      where.execArgv.some((arg) => arg.startsWith("--snapshot-blob")),
      false,
    );
    assert.ok(where.execArgv.includes("--max-old-space-size=160"), where.execArgv.join(" "));
    assert.ok(where.heap >= 160 * MiB && where.heap < 300 * MiB, `heap limit ${where.heap / MiB} MiB`);
    assert.deepEqual(
      fs
        .readdirSync(cacheDir)
        .filter((name) => name.endsWith(".snapshot"))
        .map((name) => name.replace(/^[0-9a-f]{40}\.(heap-\d+)\.[0-9a-f]{12}\.snapshot$/, "$1")),
      ["heap-160"],
    );
  });

  test("Node's checks of the permission model written in JavaScript are on (a snapshot made without it left them off)", async () => {
    const res = await t.trigger("snap", "js_checks");
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(res.body.data, {
      lstat: "ERR_ACCESS_DENIED",
      fsync: "ERR_ACCESS_DENIED",
      symlink: "ERR_ACCESS_DENIED",
    });
  });

  test("Node's warnings the host turns off stay off (the snapshot does not carry the builder's choice)", async () => {
    // The permission model's ExperimentalWarning and SecurityWarnings are printed by every start unless turned off.
    const noisy = lines.filter(({ record }) => /Warning/.test(String(record.msg)));
    assert.deepEqual(noisy, []);
    assert.ok(
      lines.some(({ pluginId }) => pluginId === "snap"),
      "the plugin's lines are heard",
    );
  });

  test("a thread the plugin starts works and keeps the heap limit", async () => {
    const res = await t.trigger("snap", "worker");
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const { heap, cwd } = res.body.data as { heap: number; cwd: string };
    assert.ok(heap >= 160 * MiB && heap < 300 * MiB, `worker heap limit ${heap / MiB} MiB`);
    assert.equal(fs.realpathSync(cwd), fs.realpathSync(path.join(root, "snap")));
  });

  test("a child the plugin forks starts as any Node process, with the plugin's flags or with its own heap limit", async () => {
    const res = await t.trigger("snap", "children");
    assert.equal(res.status, 200, JSON.stringify(res.body));
    type Child = { heap?: number; snapshot?: boolean; execArgv?: string[]; exited?: number };
    const { inherited, ownHeap } = res.body.data as { inherited: Child; ownHeap: Child };
    assert.equal(inherited.exited, undefined, JSON.stringify(inherited));
    assert.equal(inherited.snapshot, false);
    assert.equal(
      inherited.execArgv?.some((arg) => arg.startsWith("--snapshot-blob")),
      false,
    );
    assert.ok((inherited.heap ?? 0) >= 160 * MiB && (inherited.heap ?? 0) < 300 * MiB);
    assert.equal(ownHeap.exited, undefined, JSON.stringify(ownHeap));
    assert.ok((ownHeap.heap ?? 0) >= 48 * MiB && (ownHeap.heap ?? 0) < 140 * MiB, JSON.stringify(ownHeap));
  });

  test("a thread plugin runs as ever (its runner has no snapshot)", async () => {
    const res = await t.trigger("threaded", "where");
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(res.body.data, { snapshot: false });
  });

  test("a restart starts from the same snapshot, made once", async () => {
    const blobs = () => fs.readdirSync(cacheDir).filter((name) => name.endsWith(".snapshot"));
    const before = blobs();
    const mtime = fs.statSync(path.join(cacheDir, before[0])).mtimeMs;
    assert.equal((await t.request("POST", "/plugin/snap/stop")).status, 200);
    assert.equal((await t.request("POST", "/plugin/snap/start")).status, 200);
    const res = await t.trigger("snap", "where");
    assert.equal((res.body.data as { snapshot: boolean }).snapshot, true);
    assert.deepEqual(blobs(), before);
    assert.equal(fs.statSync(path.join(cacheDir, before[0])).mtimeMs, mtime);
  });
});

describe("a startup snapshot damaged after it was tried", () => {
  let root: string;
  let t: TestHost;
  let cacheDir: string;
  const saved = process.env.NEKO_TS_CACHE_DIR;

  before(async () => {
    root = makeTempDir();
    cacheDir = path.join(makeTempDir("neko-snapshot-cache-"), "cache");
    process.env.NEKO_TS_CACHE_DIR = cacheDir;
    writePlugin(root, {
      id: "damaged",
      className: "SnapPlugin",
      manifest: '[plugin]\nid = "damaged"\nentry = "index.ts:SnapPlugin"\n\n[plugin.permissions]\nmax_heap_mb = 144\n',
      code,
      files: { "child.cjs": child },
    });
    t = await startTestHost({ roots: [root] });
  });
  after(async () => {
    await t?.close();
    if (saved === undefined) delete process.env.NEKO_TS_CACHE_DIR;
    else process.env.NEKO_TS_CACHE_DIR = saved;
    fs.rmSync(root, { recursive: true, force: true });
    if (cacheDir !== undefined) fs.rmSync(path.dirname(cacheDir), { recursive: true, force: true });
  });

  test("crashes one start; the restart tries it, makes it again, and the plugin runs from it", async () => {
    assert.equal(((await t.trigger("damaged", "where")).body.data as { snapshot: boolean }).snapshot, true);
    const [name] = fs.readdirSync(cacheDir).filter((n) => n.endsWith(".snapshot"));
    const blob = path.join(cacheDir, name);
    // Overwritten in place, its size, inode and time kept: as far as a look at the file tells, it is the blob tried.
    // 4 KiB at 1 MiB in: V8's checksum of the snapshot fails, and Node dies by SIGTRAP.
    const before = fs.statSync(blob);
    const at = 1024 * 1024;
    const fd = fs.openSync(blob, "r+");
    fs.writeSync(fd, Buffer.alloc(4096, 0x5a), 0, 4096, at);
    fs.closeSync(fd);
    fs.utimesSync(blob, before.atimeMs / 1000, before.mtimeMs / 1000);
    const damaged = fs.statSync(blob);
    const look = (stat: fs.Stats) => [stat.size, stat.ino, Math.trunc(stat.mtimeMs)];
    assert.deepEqual(look(damaged), look(before));
    assert.equal((await t.request("POST", "/plugin/damaged/stop")).status, 200);
    await t.request("POST", "/plugin/damaged/start");
    // The start from the damaged blob crashed; the restart (after its back-off) started from a blob made again.
    const deadline = Date.now() + 20_000;
    let status = "";
    while (Date.now() < deadline) {
      status = (await t.request("GET", "/plugins/damaged")).body?.status ?? "";
      if (status === "running") break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.equal(status, "running");
    const history = (await t.request("GET", "/plugins/damaged")).body.history as { state: string }[];
    assert.ok(
      history.some((h) => h.state === "crashed"),
      JSON.stringify(history),
    );
    assert.equal(((await t.trigger("damaged", "where")).body.data as { snapshot: boolean }).snapshot, true);
    const part = Buffer.alloc(4096);
    const again = fs.openSync(blob, "r");
    fs.readSync(again, part, 0, 4096, at);
    fs.closeSync(again);
    assert.notDeepEqual(part, Buffer.alloc(4096, 0x5a), "made again");
  });
});

describe("a process linked for a snapshot whose blob is gone at its launch", () => {
  let root: string;
  let t: TestHost;

  before(async () => {
    root = makeTempDir();
    const dir = writePlugin(root, {
      id: "snapless",
      className: "SnapPlugin",
      manifest: '[plugin]\nid = "snapless"\nentry = "index.ts:SnapPlugin"\n',
      code,
      files: { "child.cjs": child },
    });
    const linked = await linkPluginSources({
      entry: path.join(dir, "index.ts"),
      pluginDir: dir,
      cacheDir: defaultCacheDir(),
      snapshot: true,
    });
    assert.ok(linked.ok && linked.snapshotScript !== undefined, linked.ok ? "" : linked.reason);
    // The link for snapshots, and a blob removed since it was made: the process starts without (Node would exit at
    // once), and its SDK modules take the SDK's link instead.
    const links = {
      manifestFor: () => linked.manifest,
      snapshotFor: () => path.join(root, "gone.heap-256.0123456789ab.snapshot"),
      launched: () => undefined,
      snapshotFailed: () => assert.fail("no process started from a snapshot"),
    } as unknown as PluginLinks;
    t = await startTestHost({
      roots: [root],
      launcher: new NodePluginLauncher({ runnerPath: PLUGIN_RUNNER_PATH, logger: createSilentLogger(), links }),
    });
  });
  after(async () => {
    await t?.close();
    fs.rmSync(root, { recursive: true, force: true });
  });

  test("runs with the SDK's link: no snapshot, and one copy of the SDK's classes", async () => {
    // It answers at all: the runtime took its class for a NekoPluginBase (with a second copy of the SDK it would be
    // refused as not extending it).
    const res = await t.trigger("snapless", "where");
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal((res.body.data as { snapshot: boolean }).snapshot, false);
    assert.equal((await t.trigger("snapless", "worker")).status, 403, "no grant of worker_threads here");
  });
});
