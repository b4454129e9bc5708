/**
 * What a plugin process loads (docs/benchmarks.md, "What a plugin process loads"): a linked process runs the SDK's
 * runtime and the plugin as compiled modules without module hooks, and loads Zod, Ajv, pino and better-sqlite3 only
 * when the plugin uses them. The probe is the process's own V8: an inspector session lists every script it has
 * parsed (ES modules and CommonJS alike).
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { pathToFileURL } from "node:url";
import { makeTempDir, writePlugin } from "../support/plugin-fixtures.ts";
import { startTestHost, type TestHost } from "../support/test-host.ts";

/** An entry that lists the scripts the process has parsed so far (node: internals left out). */
const PROBE = `
import inspector from "node:inspector";

export function loadedScripts(): Promise<string[]> {
  const session = new inspector.Session();
  session.connect();
  const urls: string[] = [];
  session.on("Debugger.scriptParsed", (message) => urls.push(message.params.url));
  return new Promise((resolve) => {
    session.post("Debugger.enable", () => {
      session.post("Debugger.disable", () => {
        session.disconnect();
        resolve(urls.filter((url) => url !== "" && !url.startsWith("node:")));
      });
    });
  });
}
`;

const leanCode = `import { NekoPluginBase, nekoPlugin, pluginEntry, Ok, z } from "@neko/plugin-sdk/plugin";
import { loadedScripts } from "./probe.ts";

@nekoPlugin
export class LeanPlugin extends NekoPluginBase {
  @pluginEntry({ id: "scripts" })
  async scripts() {
    return Ok({ scripts: await loadedScripts(), linked: process.env.NEKO_PLUGIN_LINKED ?? null, url: import.meta.url });
  }

  @pluginEntry({ id: "heap_limits" })
  async heapLimits() {
    const { getHeapStatistics } = await import("node:v8");
    const { Worker } = await import("node:worker_threads");
    const worker = new Worker(
      'const { parentPort } = require("node:worker_threads"); parentPort.postMessage(require("node:v8").getHeapStatistics().heap_size_limit);',
      { eval: true },
    );
    const inWorker = await new Promise((resolve) => worker.once("message", resolve));
    await worker.terminate();
    return Ok({ process: getHeapStatistics().heap_size_limit, worker: inWorker });
  }

  @pluginEntry({ id: "builtins" })
  builtins() {
    const list = (process as unknown as { moduleLoadList: string[] }).moduleLoadList;
    return Ok({ builtins: list.filter((m) => m.startsWith("NativeModule ")).map((m) => m.slice(13)) });
  }

  @pluginEntry({ id: "where" })
  where() {
    return Ok({ stack: new Error("here").stack });
  }

  @pluginEntry({ id: "use_all" })
  async useAll() {
    const parsed = z.object({ n: z.number() }).parse({ n: 1 });
    this.logger.info("a first record");
    await this.store.set("k", parsed.n);
    return Ok({ n: (await this.store.get("k")).value });
  }
}
`;

const versionedCode = `import { NekoPluginBase, nekoPlugin, pluginEntry, Ok } from "@neko/plugin-sdk/plugin";
import { loadedScripts } from "./probe.ts";
import { version } from "./version.js";

@nekoPlugin
export class VersionedPlugin extends NekoPluginBase {
  @pluginEntry({ id: "version" })
  async version() {
    return Ok({ version: version(), linked: process.env.NEKO_PLUGIN_LINKED ?? null, scripts: await loadedScripts() });
  }
}
`;

// A computed import cannot be resolved ahead of time: this plugin is not linked and runs through the module hooks.
const computedCode = `import { NekoPluginBase, nekoPlugin, pluginEntry, Ok } from "@neko/plugin-sdk/plugin";

@nekoPlugin
export class ComputedPlugin extends NekoPluginBase {
  @pluginEntry({ id: "late" })
  async late() {
    const name = ["./la", "te.ts"].join("");
    const late = await import(name);
    return Ok({ late: late.late, linked: process.env.NEKO_PLUGIN_LINKED ?? null });
  }

  // Node 20 runs every registered hooks module on one loader thread: this one's initialize runs on the thread the
  // runner's own hooks started, and reports that thread's heap limit.
  @pluginEntry({ id: "loader_heap" })
  async loaderHeap() {
    const { register } = await import("node:module");
    const { MessageChannel } = await import("node:worker_threads");
    const { port1, port2 } = new MessageChannel();
    const hooks = "data:text/javascript," + encodeURIComponent(
      'import v8 from "node:v8"; export function initialize({ port }) { port.postMessage(v8.getHeapStatistics().heap_size_limit); }',
    );
    const limit = new Promise((resolve) => port1.once("message", resolve));
    register(hooks, { data: { port: port2 }, transferList: [port2] });
    const loaderThread = await limit;
    port1.close();
    return Ok({ loaderThread, linked: process.env.NEKO_PLUGIN_LINKED ?? null });
  }
}
`;

// A CommonJS dependency in the plugin's own node_modules: Node loads it as CommonJS (named exports, require inside).
const withCjsCode = `import { NekoPluginBase, nekoPlugin, pluginEntry, Ok } from "@neko/plugin-sdk/plugin";
import { hello } from "cjsdep";

@nekoPlugin
export class WithCjsPlugin extends NekoPluginBase {
  @pluginEntry({ id: "hello" })
  hello() {
    return Ok({ text: hello("neko"), linked: process.env.NEKO_PLUGIN_LINKED ?? null });
  }
}
`;

const HEAVY = /\/node_modules\/(zod|ajv|ajv-formats|pino|better-sqlite3)\//;

function heavyPackages(scripts: string[]): string[] {
  return [...new Set(scripts.flatMap((url) => HEAVY.exec(url)?.[1] ?? []))].sort();
}

/** max_heap_mb's default, 256 MiB of old space (plus the young generation); V8's own default here is gigabytes. */
function assertDefaultHeapLimit(bytes: number, what: string): void {
  const MiB = 2 ** 20;
  assert.ok(bytes >= 256 * MiB && bytes < 400 * MiB, `${what} heap limit ${bytes / MiB} MiB`);
}

describe("a lean plugin process", () => {
  let root: string;
  let t: TestHost;

  // A cache of this file's own: a test below deletes it while the host runs.
  const savedCacheDir = process.env.NEKO_TS_CACHE_DIR;
  const savedSnapshot = process.env.NEKO_PLUGIN_SNAPSHOT;
  let cacheDir: string;

  before(async () => {
    root = makeTempDir();
    cacheDir = path.join(makeTempDir("neko-lean-cache-"), "cache");
    process.env.NEKO_TS_CACHE_DIR = cacheDir;
    // What a linked process loads without a startup snapshot (one is tested in startup-snapshot.e2e.test.ts).
    process.env.NEKO_PLUGIN_SNAPSHOT = "off";
    // Without the permission model: the probe opens an inspector session in the process.
    const manifest = (id: string, className: string) =>
      `[plugin]\nid = "${id}"\nentry = "index.ts:${className}"\n\n[plugin_runtime]\npermissions = false\n`;
    writePlugin(root, {
      id: "lean",
      className: "LeanPlugin",
      manifest: manifest("lean", "LeanPlugin"),
      code: leanCode,
      files: { "probe.ts": PROBE },
    });
    writePlugin(root, {
      id: "versioned",
      className: "VersionedPlugin",
      manifest: manifest("versioned", "VersionedPlugin"),
      code: versionedCode,
      files: { "probe.ts": PROBE, "version.ts": 'export const version = (): string => "v1";\n' },
    });
    writePlugin(root, {
      id: "computed",
      className: "ComputedPlugin",
      manifest: manifest("computed", "ComputedPlugin"),
      code: computedCode,
      files: { "late.ts": 'export const late: string = "loaded through the hooks";\n' },
    });
    writePlugin(root, {
      id: "with_cjs",
      className: "WithCjsPlugin",
      manifest: `[plugin]\nid = "with_cjs"\nentry = "index.ts:WithCjsPlugin"\n`,
      code: withCjsCode,
      files: {
        "node_modules/cjsdep/package.json": '{ "name": "cjsdep", "version": "1.0.0", "main": "index.js" }\n',
        "node_modules/cjsdep/index.js":
          'const helper = require("./helper");\nexports.hello = (name) => helper.greeting + ", " + name;\n',
        "node_modules/cjsdep/helper.js": 'exports.greeting = "hello";\n',
      },
    });
    t = await startTestHost({ roots: [root] });
  });
  after(async () => {
    await t?.close();
    if (savedCacheDir === undefined) delete process.env.NEKO_TS_CACHE_DIR;
    else process.env.NEKO_TS_CACHE_DIR = savedCacheDir;
    if (savedSnapshot === undefined) delete process.env.NEKO_PLUGIN_SNAPSHOT;
    else process.env.NEKO_PLUGIN_SNAPSHOT = savedSnapshot;
    fs.rmSync(root, { recursive: true, force: true });
    if (cacheDir !== undefined) fs.rmSync(path.dirname(cacheDir), { recursive: true, force: true });
  });

  test("a plugin is linked: its runtime and its module are compiled modules, with no TypeScript source loaded", async () => {
    const res = await t.trigger("lean", "scripts");
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const { scripts, linked, url } = res.body.data as { scripts: string[]; linked: string | null; url: string };
    assert.match(linked ?? "", /\/[0-9a-f]{40}\.link\/manifest\.json$/);
    assert.ok(
      scripts.some((s) => /\/[0-9a-f]{40}\.link\/[0-9a-f]{16}-plugin-main\.mjs$/.test(s)),
      "the linked runtime runs",
    );
    assert.ok(
      scripts.some((s) => /\/[0-9a-f]{40}\.link\/[0-9a-f]{16}-index\.mjs$/.test(s)),
      "the plugin's linked module runs",
    );
    // Through the hooks, the SDK's and the plugin's sources would be loaded by their own .ts URLs.
    assert.deepEqual(
      scripts.filter((s) => /\.m?ts$/.test(s)),
      [],
    );
    // The compiled module is still the plugin's index.ts for what it finds beside it.
    assert.equal(url, pathToFileURL(fs.realpathSync(path.join(root, "lean", "index.ts"))).href);
  });

  test("the SDK's runtime runs from its bundle: a handful of modules, not one per source", async () => {
    const { scripts, linked } = (await t.trigger("lean", "scripts")).body.data as { scripts: string[]; linked: string };
    const own = `${pathToFileURL(path.dirname(linked)).href}/`;
    const sdk = scripts.filter((s) => /\/[0-9a-f]{40}\.link\//.test(s) && !s.startsWith(own));
    assert.ok(sdk.length > 0 && sdk.length <= 30, `${sdk.length} modules of the SDK's link: ${sdk.join(" ")}`);
  });

  test("the heap limit holds in the process and in a worker it starts (its flag, set aside while the runtime loads, is back)", async () => {
    const res = await t.trigger("lean", "heap_limits");
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const { process: own, worker } = res.body.data as { process: number; worker: number };
    assertDefaultHeapLimit(own, "process");
    assertDefaultHeapLimit(worker, "worker");
  });

  test("an unlinked process's module-hooks thread is held to the heap limit too", async () => {
    const res = await t.trigger("computed", "loader_heap");
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const { loaderThread, linked } = res.body.data as { loaderThread: number; linked: string | null };
    assert.equal(linked, null, "the hooks' path");
    assertDefaultHeapLimit(loaderThread, "loader thread");
  });

  test("neither node:crypto nor msgpackr's native addon is loaded by a plugin that does not need them", async () => {
    const { builtins } = (await t.trigger("lean", "builtins")).body.data as { builtins: string[] };
    assert.ok(builtins.includes("fs"), "the probe lists the builtins loaded");
    assert.equal(builtins.includes("crypto"), false, builtins.join(" "));
    const { scripts } = (await t.trigger("lean", "scripts")).body.data as { scripts: string[] };
    assert.deepEqual(
      scripts.filter((s) =>
        /\/node_modules\/(msgpackr-extract|detect-libc|node-gyp-build-optional-packages)\//.test(s),
      ),
      [],
    );
    assert.ok(
      scripts.some((s) => /\/node_modules\/msgpackr\//.test(s)),
      "msgpackr itself runs",
    );
  });

  test("a stack trace in a linked plugin names its TypeScript file and line", async () => {
    const { stack } = (await t.trigger("lean", "where")).body.data;
    const line = leanCode.split("\n").findIndex((text) => text.includes('new Error("here")')) + 1;
    assert.match(stack, new RegExp(`/lean/index\\.ts:${line}:\\d+\\)`), stack);
  });

  test("a plugin that declares no schema, store or log record loads none of Zod, Ajv, pino and better-sqlite3", async () => {
    const res = await t.trigger("lean", "scripts");
    assert.deepEqual(heavyPackages(res.body.data.scripts), []);
  });

  test("each is loaded on first use (the probe sees them once they are)", async () => {
    const used = await t.trigger("lean", "use_all");
    assert.deepEqual(used.body.data, { n: 1 });
    const res = await t.trigger("lean", "scripts");
    assert.deepEqual(heavyPackages(res.body.data.scripts), ["better-sqlite3", "pino", "zod"]);
  });

  test("a source edited after its link was made runs at the next start, linked again", async () => {
    const first = (await t.trigger("versioned", "version")).body.data;
    assert.equal(first.version, "v1");
    assert.ok(first.linked);
    const dir = path.join(root, "versioned");
    fs.writeFileSync(
      path.join(dir, "version.ts"),
      'import { suffix } from "./suffix.ts";\nexport const version = (): string => "v2" + suffix;\n',
    );
    fs.writeFileSync(path.join(dir, "suffix.ts"), 'export const suffix: string = "-edited";\n');
    assert.equal((await t.request("POST", "/plugin/versioned/reload")).status, 200);
    const second = (await t.trigger("versioned", "version")).body.data;
    assert.equal(second.version, "v2-edited");
    assert.ok(second.linked, "still linked");
    assert.notEqual(second.linked, first.linked, "a new link for the new text");
    assert.ok(second.scripts.some((s: string) => /\/[0-9a-f]{40}\.link\/[0-9a-f]{16}-suffix\.mjs$/.test(s)));
  });

  test("a plugin with a CommonJS dependency in its node_modules runs linked, the dependency loaded by Node as CommonJS", async () => {
    const res = await t.trigger("with_cjs", "hello");
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.data.text, "hello, neko");
    assert.match(res.body.data.linked ?? "", /\/[0-9a-f]{40}\.link\/manifest\.json$/);
  });

  test("the cache deleted while the host runs (docs: safe at any time): the next start links again and runs", async () => {
    const first = (await t.trigger("lean", "scripts")).body.data;
    assert.ok(first.linked);
    fs.rmSync(cacheDir, { recursive: true, force: true });
    assert.equal((await t.request("POST", "/plugin/lean/reload")).status, 200);
    const second = await t.trigger("lean", "scripts");
    assert.equal(second.status, 200, JSON.stringify(second.body));
    assert.equal(second.body.data.linked, first.linked, "the same link, written again");
    assert.ok(fs.existsSync(second.body.data.linked));
  });

  test("a plugin that cannot be linked (a computed import) runs through the module hooks, as before", async () => {
    const res = await t.trigger("computed", "late");
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(res.body.data, { late: "loaded through the hooks", linked: null });
  });
});
