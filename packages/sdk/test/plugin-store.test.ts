import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import Database from "better-sqlite3";
import { MAX_STORE_KEY_LENGTH, PluginStore } from "../src/plugin-store.ts";

describe("PluginStore", () => {
  let dir: string;
  let store: PluginStore;

  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "neko-store-"));
    store = new PluginStore({ pluginId: "unit", dataDir: path.join(dir, "data"), enabled: true });
  });
  after(() => {
    store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test("opens lazily: nothing is on disk before the first call", async () => {
    const lazy = new PluginStore({ pluginId: "lazy", dataDir: path.join(dir, "lazy"), enabled: true });
    assert.equal(fs.existsSync(lazy.file), false);
    assert.deepEqual(await lazy.count(), { ok: true, value: 0 });
    assert.equal(fs.existsSync(lazy.file), true);
    lazy.close();
  });

  test("values round-trip exactly", async () => {
    const values: Record<string, unknown> = {
      null: null,
      zero: 0,
      false: false,
      empty: "",
      float: 0.1 + 0.2,
      big: Number.MAX_SAFE_INTEGER,
      text: "héllo ✓ 你好 🐱",
      nested: { a: [1, { b: [true, null, "x"] }], "odd key": { "": 0 } },
      list: [],
    };
    for (const [key, value] of Object.entries(values))
      assert.deepEqual(await store.set(key, value), { ok: true, value: undefined });
    for (const [key, value] of Object.entries(values)) {
      assert.deepEqual(await store.get(key), { ok: true, value }, key);
    }
    assert.deepEqual(await store.set("text", "replaced"), { ok: true, value: undefined });
    assert.deepEqual(await store.get("text"), { ok: true, value: "replaced" });
  });

  test("get answers the default for a missing key (null unless given)", async () => {
    assert.deepEqual(await store.get("missing"), { ok: true, value: null });
    assert.deepEqual(await store.get("missing", { fallback: 1 }), { ok: true, value: { fallback: 1 } });
  });

  test("exists, delete, keys(prefix), count and clear", async () => {
    await store.clear();
    for (const key of ["user:2", "user:1", "user%:x", "user_y", "userz", "other", "ключ:1"]) await store.set(key, 1);
    assert.deepEqual(await store.keys("user:"), { ok: true, value: ["user:1", "user:2"] });
    assert.deepEqual(await store.keys("user%"), { ok: true, value: ["user%:x"] }, "LIKE wildcards are plain text");
    assert.deepEqual(await store.keys("user_"), { ok: true, value: ["user_y"] });
    assert.deepEqual(await store.keys("ключ"), { ok: true, value: ["ключ:1"] });
    const all = await store.keys();
    assert.equal(all.ok && all.value.length, 7);
    assert.deepEqual(await store.exists("other"), { ok: true, value: true });
    assert.deepEqual(await store.delete("other"), { ok: true, value: true });
    assert.deepEqual(await store.delete("other"), { ok: true, value: false });
    assert.deepEqual(await store.exists("other"), { ok: true, value: false });
    assert.deepEqual(await store.count(), { ok: true, value: 6 });
    assert.deepEqual(await store.clear(), { ok: true, value: 6 });
    assert.deepEqual(await store.count(), { ok: true, value: 0 });
  });

  test("values that are not JSON are refused with a ValidationError naming the key and the path", async () => {
    const cases: Array<[unknown, RegExp]> = [
      [{ when: new Date(0) }, /'k' is not JSON-compatible: \$\.when is a Date/],
      [Number.NaN, /\$ is NaN/],
      [{ list: [1, Number.POSITIVE_INFINITY] }, /\$\.list\[1\] is Infinity/],
      [undefined, /\$ is undefined/],
      [{ f: () => 1 }, /\$\.f is a function/],
      [{ n: 1n }, /\$\.n is a BigInt/],
      [new Map(), /\$ is a Map/],
    ];
    for (const [value, message] of cases) {
      const result = await store.set("k", value);
      assert.equal(result.ok, false);
      if (result.ok) continue;
      assert.equal(result.error.name, "ValidationError");
      assert.equal(result.error.code, "VALIDATION_ERROR");
      assert.match(result.error.message, message);
      assert.equal((result.error.details as { key: string }).key, "k");
    }
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    const r = await store.set("k", cyclic);
    assert.match(r.ok ? "" : r.error.message, /\$\.self is a cyclic reference to \$/);
    assert.deepEqual(await store.exists("k"), { ok: true, value: false }, "nothing was written");
  });

  test("bad keys are refused", async () => {
    const cases: Array<[unknown, RegExp]> = [
      ["", /a key cannot be empty/],
      [42, /a key must be a string, not number/],
      ["x".repeat(MAX_STORE_KEY_LENGTH + 1), /characters long; the limit is 512/],
      ["bad\uD800", /lone surrogate/],
    ];
    for (const [key, message] of cases) {
      const result = await store.set(key as string, 1);
      assert.equal(result.ok ? "" : result.error.code, "VALIDATION_ERROR");
      assert.match(result.ok ? "" : result.error.message, message);
    }
    assert.equal((await store.set("x".repeat(MAX_STORE_KEY_LENGTH), 1)).ok, true, "the limit itself is fine");
  });

  test("the file is in WAL mode and a write is visible to another connection at once", async () => {
    await store.set("seen", { by: "another connection" });
    const other = new Database(store.file, { readonly: true });
    try {
      assert.equal(other.pragma("journal_mode", { simple: true }), "wal");
      const row = other.prepare("SELECT value FROM kv WHERE key = ?").get("seen") as { value: string };
      assert.deepEqual(JSON.parse(row.value), { by: "another connection" });
    } finally {
      other.close();
    }
  });

  test("close checkpoints the log; the next call opens the store again", async () => {
    await store.set("after-close", 1);
    store.close();
    assert.equal(fs.existsSync(`${store.file}-wal`), false, "the WAL file is folded in and removed");
    assert.deepEqual(await store.get("after-close"), { ok: true, value: 1 });
  });

  test("a store.sqlite planted in data/ as a symbolic link is not followed: Err, and nothing is written through it", async () => {
    const outside = path.join(dir, "outside");
    fs.mkdirSync(outside);
    const dataDir = path.join(dir, "linked");
    fs.mkdirSync(dataDir);
    fs.symlinkSync(path.join(outside, "victim.sqlite"), path.join(dataDir, "store.sqlite"));
    const linked = new PluginStore({ pluginId: "linked", dataDir, enabled: true });
    const result = await linked.set("a", 1);
    assert.equal(result.ok, false);
    assert.equal(result.ok ? "" : result.error.code, "STORE_ERROR");
    assert.equal(
      result.ok ? "" : result.error.message,
      "store: key 'a': store.sqlite in data/ is a symbolic link; it is not opened",
    );
    assert.deepEqual(fs.readdirSync(outside), []);
    linked.close();
  });

  test("a disabled store answers every call with STORE_DISABLED", async () => {
    const off = new PluginStore({ pluginId: "off", dataDir: path.join(dir, "off"), enabled: false });
    const results = [
      await off.get("k"),
      await off.set("k", 1),
      await off.delete("k"),
      await off.exists("k"),
      await off.keys(),
      await off.clear(),
      await off.count(),
    ];
    for (const result of results) {
      assert.equal(result.ok, false);
      if (result.ok) continue;
      assert.equal(result.error.code, "STORE_DISABLED");
      assert.match(result.error.message, /the store of plugin 'off' is disabled \(\[plugin.store\] enabled = false/);
    }
    assert.equal(fs.existsSync(path.join(dir, "off")), false, "no file was made");
  });
});
