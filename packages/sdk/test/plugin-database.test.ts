import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { PluginDatabase } from "../src/plugin-database.ts";

const temps: string[] = [];
after(() => {
  for (const dir of temps) fs.rmSync(dir, { recursive: true, force: true });
});

function database(opts: { enabled?: boolean; name?: string } = {}): PluginDatabase {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "neko-db-"));
  temps.push(dataDir);
  return new PluginDatabase({ pluginId: "p", dataDir, enabled: opts.enabled ?? true, name: opts.name ?? "p.db" });
}

describe("PluginDatabase (this.db)", () => {
  test("own tables through sql / query, with positional and named parameters", async () => {
    const db = database();
    assert.deepEqual(
      await db.sql(
        "CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT NOT NULL, done INTEGER); CREATE INDEX n ON notes(text)",
      ),
      { ok: true, value: { changes: 0, lastInsertRowid: 0 } },
    );
    assert.deepEqual(await db.sql("INSERT INTO notes (text, done) VALUES (?, ?)", ["milk", true]), {
      ok: true,
      value: { changes: 1, lastInsertRowid: 1 },
    });
    assert.deepEqual(
      await db.sql("INSERT INTO notes (text, done) VALUES (@text, @done)", { text: "eggs", done: false }),
      {
        ok: true,
        value: { changes: 1, lastInsertRowid: 2 },
      },
    );
    assert.deepEqual(await db.query("SELECT id, text, done FROM notes ORDER BY id"), {
      ok: true,
      value: [
        { id: 1, text: "milk", done: 1 },
        { id: 2, text: "eggs", done: 0 },
      ],
    });
    assert.deepEqual(await db.query("SELECT text FROM notes WHERE id = ?", [2]), {
      ok: true,
      value: [{ text: "eggs" }],
    });
    db.close();
    assert.equal(fs.existsSync(db.file), true);
    assert.equal(path.basename(db.file), "p.db");
  });

  test("kv: the store's API in the _kv_store table of the same file", async () => {
    const db = database();
    assert.deepEqual(await db.kv.get("count", 0), { ok: true, value: 0 });
    assert.deepEqual(await db.kv.set("count", 3), { ok: true, value: undefined });
    assert.deepEqual(await db.kv.set("a:1", { x: [1] }), { ok: true, value: undefined });
    assert.deepEqual(await db.kv.get("count", 0), { ok: true, value: 3 });
    assert.deepEqual(await db.kv.keys("a:"), { ok: true, value: ["a:1"] });
    assert.deepEqual(await db.query("SELECT key FROM _kv_store ORDER BY key"), {
      ok: true,
      value: [{ key: "a:1" }, { key: "count" }],
    });
    assert.deepEqual(await db.kv.delete("count"), { ok: true, value: true });
    const bad = await db.kv.set("x", new Date(0));
    assert.equal(bad.ok, false);
    assert.match(bad.ok ? "" : bad.error.message, /^db\.kv: the value for key 'x' is not JSON-compatible/);
    db.close();
  });

  test("bad SQL and bad parameters are an Err naming the problem, never a throw", async () => {
    const db = database();
    const syntax = await db.sql("CREAT TABLE t (a)");
    assert.equal(syntax.ok, false);
    assert.equal(syntax.ok ? "" : syntax.error.code, "STORE_ERROR");
    assert.equal(syntax.ok ? "" : syntax.error.message, 'db: near "CREAT": syntax error (in: CREAT TABLE t (a))');
    const missing = await db.query("SELECT * FROM nowhere");
    assert.equal(missing.ok ? "" : missing.error.message, "db: no such table: nowhere (in: SELECT * FROM nowhere)");
    await db.sql("CREATE TABLE t (a)");
    const notRows = await db.query("INSERT INTO t VALUES (1)");
    assert.equal(
      notRows.ok ? "" : notRows.error.message,
      "db: the statement returns no rows; run it with db.sql (in: INSERT INTO t VALUES (1))",
    );
    assert.deepEqual(await db.query("SELECT count(*) AS n FROM t"), { ok: true, value: [{ n: 0 }] });
    const param = await db.sql("INSERT INTO t VALUES (?)", [new Date(0) as never]);
    assert.equal(
      param.ok ? "" : param.error.message,
      "db: params[0] is a Date; SQLite takes null, numbers, bigints, strings, booleans and Uint8Array",
    );
    const empty = await db.sql("  ");
    assert.equal(empty.ok ? "" : empty.error.message, "db: the SQL must be a non-empty string");
    db.close();
  });

  test("[plugin.database] enabled = false: every call is STORE_DISABLED, and no file is made", async () => {
    const db = database({ enabled: false });
    const message = "the database of plugin 'p' is disabled ([plugin.database] enabled = false in plugin.toml)";
    for (const result of [await db.sql("SELECT 1"), await db.query("SELECT 1"), await db.kv.get("a")]) {
      assert.equal(result.ok, false);
      assert.equal(result.ok ? "" : result.error.code, "STORE_DISABLED");
      assert.equal(result.ok ? "" : result.error.message, message);
    }
    assert.equal(fs.existsSync(db.file), false);
  });

  test("a name that would leave data/ is never opened", async () => {
    const db = database({ name: "../escape.db" });
    const result = await db.sql("CREATE TABLE t (a)");
    assert.equal(
      result.ok ? "" : result.error.message,
      "db: [plugin.database].name '../escape.db' must be a plain file name inside data/",
    );
    assert.equal(fs.existsSync(path.resolve(path.dirname(db.file), "escape.db")), false);
    assert.equal((await db.kv.get("a")).ok, false);
  });
});

test("@neko/plugin-sdk/plugin loads better-sqlite3 only when this.db is first used", () => {
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "neko-db-loading-"));
  temps.push(dataDir);
  const probe = String.raw`
import { createRequire } from "node:module";
const require = createRequire(import.meta.url);
const sqliteFiles = () => Object.keys(require.cache).filter((file) => /[\\/]better-sqlite3[\\/]/.test(file));
const { PluginDatabase } = await import("@neko/plugin-sdk/plugin");
const db = new PluginDatabase({ pluginId: "probe", dataDir: process.argv[1], enabled: true, name: "probe.db" });
const loadedBeforeUse = sqliteFiles();
const firstCall = await db.query("SELECT 1 AS one");
db.close();
console.log(JSON.stringify({ loadedBeforeUse, loadedByUse: sqliteFiles().length > 0, firstCall }));
`;
  const output = execFileSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", probe, dataDir], {
    cwd: root,
    encoding: "utf8",
  });
  assert.deepEqual(JSON.parse(output), {
    loadedBeforeUse: [],
    loadedByUse: true,
    firstCall: { ok: true, value: [{ one: 1 }] },
  });
});
