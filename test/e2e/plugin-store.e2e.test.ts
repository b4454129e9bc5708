/**
 * `this.store` (SPEC §4.5) in real plugin processes: round trip through HTTP, refused values, a disabled store, and
 * durability: an acknowledged write survives `kill -9` of the plugin and a restart of the whole host.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { isAlive, makeTempDir, waitFor, writePlugin } from "../support/plugin-fixtures.ts";
import { startTestHost, type TestHost } from "../support/test-host.ts";

const keeperCode = `
import { NekoPluginBase, nekoPlugin, pluginEntry, lifecycle, Ok } from "@neko/plugin-sdk/plugin";

@nekoPlugin
export class KeeperPlugin extends NekoPluginBase {
  @lifecycle({ id: "shutdown" })
  async onShutdown() {
    // The store is still open in the shutdown handler; it closes when the process exits.
    return this.store.set("said-goodbye", { at: "shutdown" });
  }

  @pluginEntry({ id: "set" })
  set({ key, value }: { key: string; value: unknown }) {
    return this.store.set(key, value);
  }

  @pluginEntry({ id: "set_many" })
  async setMany({ prefix, n }: { prefix: string; n: number }) {
    for (let i = 0; i < n; i++) {
      const r = await this.store.set(prefix + i, { i });
      if (!r.ok) return r;
    }
    return Ok({ pid: process.pid, written: n });
  }

  @pluginEntry({ id: "get" })
  get({ key, fallback = null }: { key: string; fallback?: unknown }) {
    return this.store.get(key, fallback);
  }

  @pluginEntry({ id: "summary" })
  async summary({ prefix = "" }: { prefix?: string }) {
    const keys = await this.store.keys(prefix);
    const count = await this.store.count();
    return Ok({ keys: keys.ok ? keys.value : keys.error.message, count: count.ok ? count.value : null });
  }

  @pluginEntry({ id: "remove" })
  async remove({ key }: { key: string }) {
    const existed = await this.store.exists(key);
    const deleted = await this.store.delete(key);
    return Ok({ existed: existed.ok && existed.value, deleted: deleted.ok && deleted.value });
  }

  @pluginEntry({ id: "clear" })
  clear() {
    return this.store.clear();
  }

  /** Values HTTP cannot carry, made here. */
  @pluginEntry({ id: "set_bad" })
  setBad({ kind }: { kind: string }) {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    const values: Record<string, unknown> = {
      date: { created: new Date() },
      nan: { score: NaN },
      infinity: [Infinity],
      undefined: { gone: undefined },
      function: { run() {} },
      bigint: { n: 10n },
      cyclic,
      instance: { set: new Set([1]) },
    };
    return this.store.set("bad:" + kind, values[kind]);
  }

  @pluginEntry({ id: "pid" })
  pid() {
    return Ok(process.pid);
  }
}
`;

describe("plugin store", () => {
  let root: string;
  let dataDir: string;
  let t: TestHost;
  const storeFile = () => path.join(root, "keeper", "data", "store.sqlite");

  before(async () => {
    root = makeTempDir();
    dataDir = makeTempDir("neko-data-");
    writePlugin(root, { id: "keeper", className: "KeeperPlugin", code: keeperCode });
    writePlugin(root, {
      id: "nostore",
      manifest: '[plugin]\nid = "nostore"\nentry = "index.ts:KeeperPlugin"\n[plugin.store]\nenabled = false\n',
      code: keeperCode,
    });
    t = await startTestHost({ roots: [root], dataDir });
  });
  after(async () => {
    await t?.close();
    fs.rmSync(root, { recursive: true, force: true });
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  test("set, get, keys, count, exists, delete and clear through a plugin process", async () => {
    const value = { title: "groceries", items: ["milk", "eggs"], done: false, n: 1.5, nested: { deep: [null] } };
    assert.equal((await t.trigger("keeper", "set", { key: "note:1", value })).status, 200);
    await t.trigger("keeper", "set", { key: "note:2", value: "second" });
    await t.trigger("keeper", "set", { key: "other", value: 0 });
    assert.deepEqual((await t.trigger("keeper", "get", { key: "note:1" })).body.data, value);
    assert.equal((await t.trigger("keeper", "get", { key: "missing" })).body.data, null);
    assert.deepEqual((await t.trigger("keeper", "get", { key: "missing", fallback: [1] })).body.data, [1]);
    assert.deepEqual((await t.trigger("keeper", "summary", { prefix: "note:" })).body.data, {
      keys: ["note:1", "note:2"],
      count: 3,
    });
    assert.deepEqual((await t.trigger("keeper", "remove", { key: "note:2" })).body.data, {
      existed: true,
      deleted: true,
    });
    assert.deepEqual((await t.trigger("keeper", "remove", { key: "note:2" })).body.data, {
      existed: false,
      deleted: false,
    });
    assert.equal((await t.trigger("keeper", "clear")).body.data, 2);
    assert.deepEqual((await t.trigger("keeper", "summary")).body.data, { keys: [], count: 0 });
    assert.ok(fs.existsSync(storeFile()), "the store lives in the plugin's data folder");
  });

  test("values that are not JSON are refused with ValidationError naming the key and the bad part", async () => {
    const expected: Record<string, RegExp> = {
      date: /key 'bad:date' is not JSON-compatible: \$\.created is a Date/,
      nan: /\$\.score is NaN/,
      infinity: /\$\[0\] is Infinity/,
      undefined: /\$\.gone is undefined/,
      function: /\$\.run is a function/,
      bigint: /\$\.n is a BigInt/,
      cyclic: /\$\.self is a cyclic reference to \$/,
      instance: /\$\.set is a Set/,
    };
    for (const [kind, message] of Object.entries(expected)) {
      const res = await t.trigger("keeper", "set_bad", { kind });
      assert.equal(res.status, 400, kind);
      assert.equal(res.body.error.code, "VALIDATION_ERROR");
      assert.match(res.body.error.message, message);
      assert.equal(res.body.error.details.key, `bad:${kind}`);
    }
    const empty = await t.trigger("keeper", "set", { key: "", value: 1 });
    assert.equal(empty.status, 400);
    assert.match(empty.body.error.message, /a key cannot be empty/);
    assert.deepEqual((await t.trigger("keeper", "summary", { prefix: "bad:" })).body.data.keys, []);
  });

  test("[plugin.store] enabled = false gives a clear error on every use", async () => {
    const res = await t.trigger("nostore", "set", { key: "k", value: 1 });
    assert.equal(res.status, 409);
    assert.equal(res.body.error.code, "STORE_DISABLED");
    assert.match(
      res.body.error.message,
      /the store of plugin 'nostore' is disabled \(\[plugin.store\] enabled = false/,
    );
    assert.equal((await t.trigger("nostore", "get", { key: "k" })).body.error.code, "STORE_DISABLED");
    assert.equal(fs.existsSync(path.join(root, "nostore", "data", "store.sqlite")), false);
  });

  test("an acknowledged write survives kill -9 of the plugin and a restart of the whole host", async () => {
    const pid = (await t.trigger("keeper", "pid")).body.data as number;
    const set = await t.trigger("keeper", "set_many", { prefix: "durable:", n: 100 });
    assert.equal(set.status, 200);
    const last = await t.trigger("keeper", "set", { key: "acknowledged", value: { survives: "kill -9" } });
    assert.equal(last.status, 200);
    // The very moment the Ok arrived: no shutdown, no close, no checkpoint.
    process.kill(pid, "SIGKILL");
    await waitFor(() => !isAlive(pid), { what: "the plugin process to die" });
    const wal = fs.statSync(`${storeFile()}-wal`);
    assert.ok(wal.size > 0, "the writes are in the WAL, not yet checkpointed into the database file");

    await t.close();
    t = await startTestHost({ roots: [root], dataDir });
    assert.deepEqual((await t.trigger("keeper", "get", { key: "acknowledged" })).body.data, { survives: "kill -9" });
    const summary = (await t.trigger("keeper", "summary", { prefix: "durable:" })).body.data;
    assert.equal(summary.keys.length, 100);
    assert.deepEqual((await t.trigger("keeper", "get", { key: "durable:99" })).body.data, { i: 99 });
  });

  test("the shutdown handler can still write; the store is closed cleanly when the process exits", async () => {
    const pid = (await t.trigger("keeper", "pid")).body.data as number;
    assert.equal((await t.trigger("keeper", "get", { key: "said-goodbye" })).body.data, null);
    const stop = await t.request("POST", "/plugin/keeper/stop");
    assert.equal(stop.status, 200);
    assert.equal(isAlive(pid), false);
    assert.equal(fs.existsSync(`${storeFile()}-wal`), false, "closed: the WAL was checkpointed and removed");
    await t.request("POST", "/plugin/keeper/start");
    assert.deepEqual((await t.trigger("keeper", "get", { key: "said-goodbye" })).body.data, { at: "shutdown" });
  });
});
