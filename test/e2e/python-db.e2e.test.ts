/**
 * `self.db` and `self.state` of a Python plugin written in the original N.E.K.O.'s style (test/python-plugins/py_db,
 * docs/python-plugins.md): SQL through `await self.db.session()` and `self.db.kv` in `data/<name>`, a committed write
 * that survives kill -9, the statements and files `self.db` refuses (ATTACH, VACUUM INTO, a durability pragma, a
 * reserved or symlinked file), and `__freezable__` fields saved and loaded through `self.state` across a restart.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, describe, test } from "node:test";
import { makeTempDir, waitFor, writePlugin } from "../support/plugin-fixtures.ts";
import { PYTHON_SKIP } from "../support/python.ts";
import { startTestHost, type TestHost } from "../support/test-host.ts";

const PY_DB = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../python-plugins/py_db");

const pythonPlugin = (id: string, database: string, body: string[]) => ({
  id,
  manifest: `[plugin]\nid = "${id}"\nentry = "plugins.${id}:P"\n\n[plugin.database]\n${database}\n`,
  files: {
    "__init__.py": [
      "from plugin.sdk.plugin import NekoPluginBase, neko_plugin, plugin_entry, Ok, Err",
      "@neko_plugin",
      "class P(NekoPluginBase):",
      ...body.map((line) => `    ${line}`),
    ].join("\n"),
  },
});

describe("self.db and self.state of a Python plugin", { skip: PYTHON_SKIP }, () => {
  let root: string;
  let outside: string;
  let t: TestHost;
  const data = (id: string, ...parts: string[]) => path.join(root, id, "data", ...parts);
  const call = async (entry: string, args: object = {}) => {
    const res = await t.trigger("py_db", entry, args);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body.data;
  };
  const sql = (text: string, fetch = false) => call("sql", { sql: text, fetch });
  const killAndRestart = async (id: string) => {
    const pid = (await t.request("GET", `/plugins/${id}`)).body.pid as number;
    process.kill(pid, "SIGKILL");
    return waitFor(
      async () => {
        const p = (await t.request("GET", `/plugins/${id}`)).body;
        return p.status === "running" && p.pid !== pid ? p : undefined;
      },
      { what: `the crash restart of '${id}'`, timeoutMs: 20_000 },
    );
  };

  before(async () => {
    root = makeTempDir();
    outside = makeTempDir();
    fs.cpSync(PY_DB, path.join(root, "py_db"), { recursive: true });
    // A database file planted in data/ as a symbolic link to a file outside the plugin's folder.
    writePlugin(
      root,
      pythonPlugin("py_linked_db", "", [
        '@plugin_entry(id="open")',
        "async def open_(self, **_):",
        "    result = await self.db.session()",
        "    return Err(result.error) if result.is_err() else Ok('opened')",
        '@plugin_entry(id="kv")',
        "async def kv(self, **_):",
        '    result = await self.db.kv.set("k", 1)',
        "    return Err(result.error) if result.is_err() else Ok('stored')",
      ]),
    );
    fs.mkdirSync(data("py_linked_db"), { recursive: true });
    fs.writeFileSync(path.join(outside, "victim.db"), "not a database, and it stays so");
    fs.symlinkSync(path.join(outside, "victim.db"), data("py_linked_db", "py_linked_db.db"));
    // A database name that is the store's file, in another case.
    writePlugin(
      root,
      pythonPlugin("py_reserved_db", 'name = "Store.SQLite"', [
        '@plugin_entry(id="x")',
        "def x(self, **_):",
        "    return Ok(1)",
      ]),
    );
    writePlugin(
      root,
      pythonPlugin("py_no_db", "enabled = false", [
        '@plugin_entry(id="open")',
        "async def open_(self, **_):",
        "    result = await self.db.session()",
        "    return Err(result.error) if result.is_err() else Ok('opened')",
      ]),
    );
    t = await startTestHost({
      roots: [root],
      restartPolicy: { baseDelayMs: 100, maxDelayMs: 400, maxCrashes: 10, windowMs: 60_000 },
    });
  });
  after(async () => {
    await t?.close();
    fs.rmSync(root, { recursive: true, force: true });
    fs.rmSync(outside, { recursive: true, force: true });
  });

  test("SQL through sessions: the table made at startup, inserts committed, rows read back; the file is data/<name> in WAL with synchronous FULL", async () => {
    assert.deepEqual(await call("add", { title: "first", body: "one" }), { id: 1, rowcount: 1 });
    assert.deepEqual(await call("add", { title: "second" }), { id: 2, rowcount: 1 });
    // Not committed when the session closes: rolled back, as the original's sqlite3 session.
    assert.equal(await call("add_uncommitted", { title: "lost" }), null);
    assert.deepEqual(await call("list"), [
      { id: 1, title: "first", body: "one" },
      { id: 2, title: "second", body: "" },
    ]);
    const info = await call("info");
    assert.equal(info.db_name, "notes.db");
    assert.equal(info.db_path, data("py_db", "notes.db"));
    assert.equal(info.enabled, true);
    assert.equal(info.exists, true);
    assert.deepEqual(await sql("PRAGMA journal_mode", true), { rows: [["wal"]] });
    assert.deepEqual(await sql("PRAGMA synchronous", true), { rows: [[2]] });
    assert.deepEqual(await sql("PRAGMA foreign_keys", true), { rows: [[1]] });
    assert.deepEqual(await sql("PRAGMA trusted_schema", true), { rows: [[0]] });
  });

  test("self.db.kv: get / set / exists / keys / count / delete / clear answer Ok, a bad value Err", async () => {
    const kv = (op: string, key = "", value: unknown = null) => call("kv", { op, key, value });
    assert.deepEqual(await kv("set", "note:1", { text: "hi", n: [1, 2] }), { ok: null });
    assert.deepEqual(await kv("set", "note:2", "two"), { ok: null });
    assert.deepEqual(await kv("set", "other", 3), { ok: null });
    assert.deepEqual(await kv("get", "note:1"), { ok: { text: "hi", n: [1, 2] } });
    assert.deepEqual(await kv("get", "missing"), { ok: "absent" });
    assert.deepEqual(await kv("exists", "note:2"), { ok: true });
    assert.deepEqual(await kv("keys", "note:"), { ok: ["note:1", "note:2"] });
    assert.deepEqual(await kv("count"), { ok: 3 });
    assert.deepEqual(await kv("delete", "note:2"), { ok: true });
    assert.deepEqual(await kv("delete", "note:2"), { ok: false });
    assert.deepEqual(await kv("exists", "note:2"), { ok: false });
    assert.deepEqual(await kv("set", "", 1), {
      err: "ValidationError",
      code: "VALIDATION_ERROR",
      message: "db.kv: a key must be a string of 1 to 512 characters",
    });
    assert.deepEqual(await kv("clear"), { ok: 2 });
    assert.deepEqual(await kv("count"), { ok: 0 });
    // The table lives in the database file, beside the plugin's own tables.
    assert.deepEqual(await sql("SELECT name FROM sqlite_master WHERE name = '_kv_store'", true), {
      rows: [["_kv_store"]],
    });
  });

  test("a committed insert and a kv write survive kill -9 of the plugin process", async () => {
    assert.deepEqual(await call("add", { title: "durable" }), { id: 3, rowcount: 1 });
    assert.deepEqual(await call("kv", { op: "set", key: "durable", value: [true] }), { ok: null });
    await killAndRestart("py_db");
    const titles = (await call("list")).map((row: { title: string }) => row.title);
    assert.deepEqual(titles, ["first", "second", "durable"]);
    assert.deepEqual(await call("kv", { op: "get", key: "durable" }), { ok: [true] });
  });

  test("refused with a clear error, nothing written elsewhere: ATTACH, DETACH, VACUUM INTO, setting a durability or trust pragma, more rows than the limit", async () => {
    const refused = (reason: string) => ({
      code: "VALIDATION_ERROR",
      name: "ValidationError",
      message: `db: ${reason}`,
    });
    const other = path.join(outside, "other.db");
    assert.deepEqual(
      await sql(`ATTACH DATABASE '${other}' AS other`),
      refused(
        "ATTACH is refused: self.db is the plugin's one file in data/ (another database file is not opened through it)",
      ),
    );
    assert.deepEqual(await sql("DETACH main"), refused("DETACH is refused: self.db is the plugin's one file in data/"));
    assert.deepEqual(
      await sql(`/* a copy */ vacuum into '${other}'`),
      refused("VACUUM INTO is refused: it writes a copy of the database to another file"),
    );
    assert.equal(fs.existsSync(other), false);
    const readOnly =
      "synchronous, journal_mode, locking_mode, trusted_schema, writable_schema, temp_store_directory, data_store_directory";
    assert.deepEqual(
      await sql("PRAGMA synchronous = OFF"),
      refused(`PRAGMA synchronous cannot be set through self.db (it is read-only there: ${readOnly})`),
    );
    assert.deepEqual(
      await sql("PRAGMA main.journal_mode = DELETE"),
      refused(`PRAGMA journal_mode cannot be set through self.db (it is read-only there: ${readOnly})`),
    );
    assert.deepEqual(
      await sql("pragma TRUSTED_SCHEMA(1)"),
      refused(`PRAGMA trusted_schema cannot be set through self.db (it is read-only there: ${readOnly})`),
    );
    assert.deepEqual(await sql("PRAGMA synchronous", true), { rows: [[2]] });
    assert.deepEqual(await sql("PRAGMA journal_mode", true), { rows: [["wal"]] });
    // A plain VACUUM and a harmless pragma still run.
    assert.deepEqual(await sql("VACUUM"), { rows: null });
    assert.deepEqual(await sql("PRAGMA cache_size = 500"), { rows: null });
    assert.deepEqual(
      await sql(
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 10001) SELECT x FROM c",
        true,
      ),
      refused("the query answers more than 10000 rows; page it with LIMIT / OFFSET or read it with fetchmany"),
    );
    assert.equal((await call("list")).length, 3, "nothing lost");
  });

  test("a database name that is a framework file is refused at load; a symlinked file is not opened; a disabled database answers STORE_DISABLED", async () => {
    const reserved = (await t.request("GET", "/plugins/py_reserved_db")).body;
    assert.equal(reserved.status, "refused");
    assert.deepEqual(reserved.errors, [
      "plugin.toml: [plugin.database].name 'Store.SQLite' is the store's file (this.store)",
    ]);

    for (const entry of ["open", "kv"]) {
      const res = await t.trigger("py_linked_db", entry);
      assert.equal(res.body.error?.code, "STORE_ERROR", JSON.stringify(res.body));
      assert.equal(
        res.body.error.message,
        `${entry === "open" ? "db" : "db.kv"}: py_linked_db.db in data/ is a symbolic link; it is not opened`,
      );
    }
    assert.equal(fs.readFileSync(path.join(outside, "victim.db"), "utf8"), "not a database, and it stays so");
    assert.equal(fs.existsSync(path.join(outside, "victim.db-wal")), false);

    const disabled = await t.trigger("py_no_db", "open");
    assert.equal(disabled.status, 409);
    assert.equal(disabled.body.error.code, "STORE_DISABLED");
    assert.equal(
      disabled.body.error.message,
      "the database of plugin 'py_no_db' is disabled ([plugin.database] enabled = false in plugin.toml)",
    );
    assert.equal(fs.existsSync(data("py_no_db", "py_no_db.db")), false);
  });

  test("self.state: __freezable__ fields saved by save(), loaded back by load() in the next process's startup, cleared by clear()", async () => {
    assert.deepEqual(await call("bump", { tag: "a" }), { counter: 1, tags: ["a"], saved: true });
    assert.deepEqual(await call("bump", { tag: "b" }), { counter: 2, tags: ["a", "b"], saved: true });
    assert.deepEqual(await call("bump", { tag: "unsaved", save: false }), {
      counter: 3,
      tags: ["a", "b", "unsaved"],
      saved: null,
    });
    const file = JSON.parse(fs.readFileSync(data("py_db", ".neko-state.json"), "utf8"));
    assert.equal(file.frozen, false);
    assert.deepEqual(file.fields, { counter: 2, tags: ["a", "b"] });

    await killAndRestart("py_db");
    const state = await call("state");
    assert.equal(state.counter, 2);
    assert.deepEqual(state.tags, ["a", "b"]);
    assert.equal(state.restored, true);
    assert.deepEqual(state.snapshot, { counter: 2, tags: ["a", "b"] });
    assert.equal(state.info.plugin_id, "py_db");
    assert.equal(state.info.reason, "save");
    assert.deepEqual(state.info.data_keys, ["counter", "tags"]);

    assert.deepEqual(await call("state_clear"), { cleared: true, has: false });
    assert.equal(fs.existsSync(data("py_db", ".neko-state.json")), false);
    await killAndRestart("py_db");
    const fresh = await call("state");
    assert.deepEqual([fresh.counter, fresh.tags, fresh.restored, fresh.snapshot, fresh.info], [0, [], false, {}, null]);
    // The original's save(instance, freezable_keys): only those fields; none at all writes nothing.
    assert.deepEqual(await call("save_keys", { keys: [] }), { saved: true, snapshot: {} });
    assert.equal(fs.existsSync(data("py_db", ".neko-state.json")), false);
    assert.deepEqual(await call("save_keys", { keys: ["counter"] }), { saved: true, snapshot: { counter: 0 } });
  });
});
