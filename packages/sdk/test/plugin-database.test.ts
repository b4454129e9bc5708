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
      "db: [plugin.database].name '../escape.db' must be a plain file name inside data/, without '/' or '\\'",
    );
    assert.equal(fs.existsSync(path.resolve(path.dirname(db.file), "escape.db")), false);
    assert.equal((await db.kv.get("a")).ok, false);
  });

  test("the frozen-state file, its temporary files and the store's file are refused as names, in any spelling", async () => {
    for (const name of [
      ".neko-state.json",
      ".NEKO-State.JSON",
      ".neko-state.json. ",
      ".neko-state.json.123.abcd.tmp",
      "store.sqlite-wal",
      "Store.Sqlite.",
      "logs",
    ]) {
      const db = database({ name });
      const result = await db.sql("CREATE TABLE t (a)");
      assert.equal(result.ok, false, name);
      assert.match(result.ok ? "" : result.error.message, /^db: \[plugin\.database\]\.name '.*' is the /, name);
      assert.equal((await db.kv.set("a", 1)).ok, false, name);
      assert.equal(fs.existsSync(db.file), false, name);
    }
  });

  test("a database file (or its -wal) planted as a symbolic link in data/ is not opened, for db and its kv", async () => {
    const outside = fs.mkdtempSync(path.join(os.tmpdir(), "neko-db-outside-"));
    temps.push(outside);
    const db = database();
    fs.mkdirSync(path.dirname(db.file), { recursive: true });
    fs.symlinkSync(path.join(outside, "victim.db"), db.file);
    const result = await db.sql("CREATE TABLE t (a)");
    assert.equal(
      result.ok ? "" : result.error.message,
      "db: p.db in data/ is a symbolic link; it is not opened (in: CREATE TABLE t (a))",
    );
    const kv = await db.kv.set("a", 1);
    assert.equal(kv.ok ? "" : kv.error.message, "db.kv: key 'a': p.db in data/ is a symbolic link; it is not opened");
    assert.deepEqual(fs.readdirSync(outside), []);

    const wal = database();
    fs.symlinkSync(path.join(outside, "victim-wal"), `${wal.file}-wal`);
    assert.equal((await wal.sql("CREATE TABLE t (a)")).ok, false);
    assert.deepEqual(fs.readdirSync(outside), []);
  });

  test("kv runs on the connection of sql: inside BEGIN IMMEDIATE a kv.set neither waits nor fails, and rolls back with it", async () => {
    const db = database();
    await db.kv.set("before", 1);
    assert.equal((await db.sql("BEGIN IMMEDIATE")).ok, true);
    const started = Date.now();
    assert.deepEqual(await db.kv.set("inside", 2), { ok: true, value: undefined });
    assert.ok(Date.now() - started < 1000, "kv.set waited for the transaction");
    assert.deepEqual(await db.sql("ROLLBACK"), { ok: true, value: { changes: 0, lastInsertRowid: 0 } });
    assert.deepEqual(await db.kv.keys(), { ok: true, value: ["before"] });
    db.close();
    assert.deepEqual(await db.kv.get("before"), { ok: true, value: 1 }, "kv opens the database again after close");
    db.close();
  });

  test("a script is all or nothing; one with its own BEGIN / COMMIT runs as written", async () => {
    const db = database();
    await db.sql("CREATE TABLE t (a)");
    const failed = await db.sql("INSERT INTO t VALUES (1); INSERT INTO nosuch VALUES (2)");
    assert.equal(failed.ok ? "" : failed.error.message.split(" (in:")[0], "db: no such table: nosuch");
    assert.deepEqual(await db.query("SELECT count(*) AS n FROM t"), { ok: true, value: [{ n: 0 }] });
    assert.deepEqual(await db.sql("INSERT INTO t VALUES (1); INSERT INTO t VALUES (2)"), {
      ok: true,
      value: { changes: 2, lastInsertRowid: 2 },
    });
    assert.deepEqual(await db.sql("BEGIN; INSERT INTO t VALUES (3); COMMIT"), {
      ok: true,
      value: { changes: 1, lastInsertRowid: 3 },
    });
    // Inside the plugin's own transaction the script is still all or nothing, and the transaction stays open.
    await db.sql("BEGIN");
    assert.equal((await db.sql("INSERT INTO t VALUES (4); INSERT INTO nosuch VALUES (5)")).ok, false);
    await db.sql("INSERT INTO t VALUES (6)");
    await db.sql("COMMIT");
    assert.deepEqual(await db.query("SELECT a FROM t ORDER BY a"), {
      ok: true,
      value: [{ a: 1 }, { a: 2 }, { a: 3 }, { a: 6 }],
    });
    assert.equal(
      (
        await db.sql(
          "CREATE TRIGGER tr AFTER INSERT ON t BEGIN SELECT CASE WHEN 1 THEN 1 END; END; INSERT INTO t VALUES (7)",
        )
      ).ok,
      true,
    );
    assert.equal((await db.sql("VACUUM")).ok, true);
    db.close();
  });

  test("ATTACH, DETACH, VACUUM INTO and setting durability pragmas are refused; reading them is not", async () => {
    const db = database();
    const dir = path.dirname(db.file);
    const refused = async (text: string) => {
      const result = await db.sql(text);
      assert.equal(result.ok, false, text);
      assert.equal(result.ok ? "" : result.error.code, "VALIDATION_ERROR", text);
      return result.ok ? "" : result.error.message;
    };
    assert.match(await refused("ATTACH 'other.db' AS o"), /^db: ATTACH is refused/);
    assert.match(await refused("/* hi */ attach database 'x.db' as x"), /^db: ATTACH is refused/);
    assert.match(await refused("SELECT 1; -- ; \n ATTACH 'x.db' AS x"), /^db: ATTACH is refused/);
    assert.match(await refused("DETACH o"), /^db: DETACH is refused/);
    assert.match(await refused("VACUUM INTO 'copy.db'"), /^db: VACUUM INTO is refused/);
    assert.match(await refused("vacuum main into '/tmp/x.db'"), /^db: VACUUM INTO is refused/);
    assert.match(await refused("PRAGMA synchronous = OFF"), /^db: PRAGMA synchronous cannot be set/);
    assert.match(await refused("PRAGMA main.journal_mode=DELETE"), /^db: PRAGMA journal_mode cannot be set/);
    assert.match(await refused('PRAGMA "synchronous"(0)'), /^db: PRAGMA synchronous cannot be set/);
    assert.match(await refused("PRAGMA trusted_schema = ON"), /^db: PRAGMA trusted_schema cannot be set/);
    const queried = await db.query("ATTACH 'q.db' AS q");
    assert.match(queried.ok ? "" : queried.error.message, /^db: ATTACH is refused/);
    assert.deepEqual(fs.readdirSync(dir).sort(), []);
    const extension = await db.query("SELECT load_extension('x')");
    assert.equal(extension.ok ? "" : extension.error.message, "db: not authorized (in: SELECT load_extension('x'))");
    // Words inside strings and comments are not statements.
    assert.equal(
      (await db.sql("CREATE TABLE notes (text TEXT); INSERT INTO notes VALUES ('; ATTACH ''x'' AS y')")).ok,
      true,
    );
    assert.deepEqual(await db.query("PRAGMA synchronous"), { ok: true, value: [{ synchronous: 2 }] });
    assert.deepEqual(await db.query("PRAGMA journal_mode"), { ok: true, value: [{ journal_mode: "wal" }] });
    assert.deepEqual(await db.query("PRAGMA trusted_schema"), { ok: true, value: [{ trusted_schema: 0 }] });
    assert.deepEqual(fs.readdirSync(dir).sort(), ["p.db", "p.db-shm", "p.db-wal"]);
    db.close();
  });

  test("query answers at most `limit` rows (10 000 unless given), and integers exactly with safeIntegers", async () => {
    const db = database();
    await db.sql("CREATE TABLE n (v INTEGER)");
    await db.sql(
      "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 10001) INSERT INTO n SELECT x FROM c",
    );
    const tooMany = await db.query("SELECT v FROM n");
    assert.equal(
      tooMany.ok ? "" : tooMany.error.message,
      "db: the query answers more than 10000 rows (options.limit); page it with LIMIT / OFFSET or raise the limit (in: SELECT v FROM n)",
    );
    const all = await db.query("SELECT v FROM n", undefined, { limit: 10001 });
    assert.equal(all.ok ? all.value.length : 0, 10001);
    const three = await db.query("SELECT v FROM n WHERE v <= ?", [3], { limit: 3 });
    assert.deepEqual(three, { ok: true, value: [{ v: 1 }, { v: 2 }, { v: 3 }] });
    assert.equal((await db.query("SELECT v FROM n", undefined, { limit: 0 })).ok, false);
    await db.sql("INSERT INTO n VALUES (9007199254740993)");
    assert.deepEqual(await db.query("SELECT max(v) AS v FROM n", undefined, { safeIntegers: true }), {
      ok: true,
      value: [{ v: 9007199254740993n }],
    });
    assert.deepEqual(await db.query("SELECT max(v) AS v FROM n"), { ok: true, value: [{ v: 9007199254740992 }] });
    db.close();
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
