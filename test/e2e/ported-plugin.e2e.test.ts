/**
 * A plugin written in the original N.E.K.O.'s style (test/fixtures/ported): the original's manifest keys, `this.db`,
 * config profiles and the store, loaded beside its dependency and called through HTTP; `this.db` survives `kill -9`
 * of the plugin right after an entry returned; and the refusals the original's keys can cause, each naming why.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { isAlive, makeTempDir, waitFor, writePlugin } from "../support/plugin-fixtures.ts";
import { startTestHost, type TestHost } from "../support/test-host.ts";

const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../fixtures/ported");

const recorderCode = fs.readFileSync(path.join(FIXTURES, "ported_recorder", "index.ts"), "utf8");
const noDbCode = `
import { NekoPluginBase, nekoPlugin, pluginEntry } from "@neko/plugin-sdk/plugin";

@nekoPlugin
export class NoDb extends NekoPluginBase {
  @pluginEntry({ id: "records" })
  records() {
    return this.db.query("SELECT 1");
  }
}
`;
const bareTimerCode = `
import { customEvent, NekoPluginBase, nekoPlugin, Ok, pluginEntry } from "@neko/plugin-sdk/plugin";

@nekoPlugin
export class BareTimer extends NekoPluginBase {
  @pluginEntry({ id: "now" })
  now() {
    return Ok({ now: Date.now() });
  }

  @customEvent({ eventType: "tick", id: "each_second" })
  tick() {
    return Ok(null);
  }
}
`;
// A provider with no entries in its manifest: `alarm` comes as a dynamic entry in startup, `snooze` on request.
const dynTimerCode = `
import { lifecycle, NekoPluginBase, nekoPlugin, Ok, pluginEntry } from "@neko/plugin-sdk/plugin";

@nekoPlugin
export class DynTimer extends NekoPluginBase {
  @lifecycle({ id: "startup" })
  onStartup() {
    this.registerDynamicEntry("alarm", () => Ok("ring"), {});
  }

  @pluginEntry({ id: "add_snooze" })
  addSnooze() {
    this.registerDynamicEntry("snooze", () => Ok("zzz"), {});
    return Ok(true);
  }
}
`;
const ttsCode = (className: string, speaks: boolean) => `
import { NekoPluginBase, nekoPlugin, Ok, pluginEntry } from "@neko/plugin-sdk/plugin";

@nekoPlugin
export class ${className} extends NekoPluginBase {
  @pluginEntry({ id: "${speaks ? "speak" : "hum"}" })
  run() {
    return Ok("${speaks ? "hello" : "hmm"}");
  }
}
`;
const dbAttackCode = `
import { NekoPluginBase, nekoPlugin, Ok, pluginEntry } from "@neko/plugin-sdk/plugin";

@nekoPlugin
export class DbAttack extends NekoPluginBase {
  @pluginEntry({ id: "run" })
  run(args: { sql: string }) {
    return this.db.sql(args.sql);
  }

  @pluginEntry({ id: "query" })
  query(args: { sql: string }) {
    return this.db.query(args.sql);
  }

  // kv inside a transaction begun through sql: one connection, so it neither waits nor fails.
  @pluginEntry({ id: "tx" })
  async tx() {
    const started = Date.now();
    const begun = await this.db.sql("BEGIN IMMEDIATE");
    const set = await this.db.kv.set("in_tx", true);
    const committed = await this.db.sql("COMMIT");
    return Ok({ begun: begun.ok, set: set.ok, committed: committed.ok, waitedMs: Date.now() - started });
  }
}
`;
const manifest = (id: string, extra: string) =>
  `[plugin]\nid = "${id}"\nentry = "index.ts:PortedRecorderPlugin"\n${extra}`;

describe("a plugin ported from N.E.K.O.", () => {
  let root: string;
  let t: TestHost;
  const plugin = async (id: string) =>
    ((await t.request("GET", "/plugins")).body.plugins as Array<Record<string, any>>).find((p) => p.id === id);

  before(async () => {
    root = makeTempDir("neko-ported-");
    for (const id of ["ported_timer", "ported_recorder"]) {
      fs.cpSync(path.join(FIXTURES, id), path.join(root, id), { recursive: true });
    }
    const refused: Array<[string, string]> = [
      ["sdk_conflict", `[plugin.sdk]\nconflicts = ["<0.0.5", ">=0.1.0 <0.2.0"]\n`],
      ["missing_entry", `[[plugin.dependency]]\nentry = "ported_timer:alarm"\n`],
      ["missing_provider", `[[plugin.dependency]]\nproviders = ["tts_one", "tts_two"]\n`],
      ["escaping_db", `[plugin.database]\nname = "../x"\n[plugin.databse]\nenabled = true\n`],
      ["state_db", `[plugin.database]\nname = ".Neko-State.json."\n`],
    ];
    for (const [id, extra] of refused) writePlugin(root, { id, manifest: manifest(id, extra), code: recorderCode });
    writePlugin(root, {
      id: "no_db",
      manifest: `[plugin]\nid = "no_db"\nentry = "index.ts:NoDb"\n[plugin.database]\nenabled = false\n`,
      code: noDbCode,
    });
    // A provider whose manifest declares no entries: what it has is known only once it runs.
    writePlugin(root, { id: "bare_timer", className: "BareTimer", code: bareTimerCode });
    const needs: Array<[string, string]> = [
      ["wants_now", `entry = "bare_timer:now"`],
      ["wants_alarm", `entry = "bare_timer:alarm"`],
      ["wants_tick", `custom_event = "bare_timer:tick:each_second"`],
      ["wants_tock", `custom_event = "bare_timer:tock:each_second"`],
    ];
    for (const [id, need] of needs) {
      writePlugin(root, { id, manifest: `${manifest(id, `[[plugin.dependency]]\n${need}\n`)}`, code: recorderCode });
    }
    t = await startTestHost({
      roots: [root],
      restartPolicy: { baseDelayMs: 100, maxDelayMs: 400, maxCrashes: 5, windowMs: 60_000 },
    });
  });
  after(async () => {
    await t?.close();
    fs.rmSync(root, { recursive: true, force: true });
  });

  test("it loads beside its dependency, with the original's keys read, and its entries answer through HTTP", async () => {
    const recorder = await plugin("ported_recorder");
    assert.equal(recorder?.status, "running");
    assert.deepEqual(recorder?.errors, []);
    assert.deepEqual(recorder?.warnings, []);
    assert.deepEqual(((recorder?.entries ?? []) as Array<{ id: string }>).map((e) => e.id).sort(), [
      "pid",
      "raw_query",
      "record",
      "records",
      "settings",
    ]);
    const timer = await plugin("ported_timer");
    assert.equal(timer?.status, "running");
    assert.deepEqual(timer?.warnings, [
      "plugin.toml: [plugin.sdk].compatible is read as [plugin.sdk].supported (its older name); rename it to `supported`",
    ]);

    assert.deepEqual((await t.trigger("ported_recorder", "settings")).body.data, { label: "dev", maxRecords: 100 });
    const first = await t.trigger("ported_recorder", "record", { text: "milk" });
    assert.equal(first.status, 200, JSON.stringify(first.body));
    assert.deepEqual(first.body.data, { id: 1, count: 1, label: "dev" });
    assert.deepEqual((await t.trigger("ported_recorder", "record", { text: "eggs" })).body.data, {
      id: 2,
      count: 2,
      label: "dev",
    });
    assert.ok(fs.existsSync(path.join(root, "ported_recorder", "data", "records.db")), "data/<[plugin.database].name>");
  });

  test("a committed write to this.db survives kill -9 right after the entry returned, across the automatic restart", async () => {
    const pid = (await t.trigger("ported_recorder", "pid")).body.data as number;
    const written = await t.trigger("ported_recorder", "record", { text: "survives kill -9" });
    assert.equal(written.status, 200);
    process.kill(pid, "SIGKILL");
    await waitFor(() => !isAlive(pid), { what: "the plugin process to die" });
    await waitFor(
      async () => {
        const p = await plugin("ported_recorder");
        return p?.status === "running" && p.pid !== pid;
      },
      { what: "the automatic restart" },
    );
    const records = await t.trigger("ported_recorder", "records");
    assert.equal(records.status, 200);
    assert.deepEqual(records.body.data, {
      rows: [
        { id: 1, text: "milk", label: "dev" },
        { id: 2, text: "eggs", label: "dev" },
        { id: 3, text: "survives kill -9", label: "dev" },
      ],
      count: 3,
      last: "survives kill -9",
    });
  });

  test("bad SQL is the entry's error naming it; the plugin keeps running", async () => {
    const bad = await t.trigger("ported_recorder", "raw_query", { sql: "SELEC text FROM records" });
    assert.equal(bad.status, 500);
    assert.equal(bad.body.error.code, "STORE_ERROR");
    assert.equal(bad.body.error.message, 'db: near "SELEC": syntax error (in: SELEC text FROM records)');
    const missing = await t.trigger("ported_recorder", "raw_query", { sql: "SELECT * FROM nowhere" });
    assert.equal(missing.body.error.message, "db: no such table: nowhere (in: SELECT * FROM nowhere)");
    assert.deepEqual(
      (await t.trigger("ported_recorder", "raw_query", { sql: "SELECT count(*) AS n FROM records" })).body.data,
      [{ n: 3 }],
    );
  });

  test("[plugin.database] enabled = false: a clear error, and no database file", async () => {
    const res = await t.trigger("no_db", "records");
    assert.equal(res.status, 409);
    assert.equal(res.body.error.code, "STORE_DISABLED");
    assert.equal(
      res.body.error.message,
      "the database of plugin 'no_db' is disabled ([plugin.database] enabled = false in plugin.toml)",
    );
    assert.equal(fs.existsSync(path.join(root, "no_db", "data", "no_db.db")), false);
  });

  test("refused at load, each naming why: a conflicts-list hit, a missing entry, a missing provider, a database name leaving data/", async () => {
    const expectations: Record<string, string[]> = {
      sdk_conflict: ["plugin.toml: [plugin.sdk]: SDK 0.1.0 is inside conflicts range '>=0.1.0 <0.2.0'"],
      missing_entry: [
        "plugin.toml: [[plugin.dependency]]: needs entry 'ported_timer:alarm', but it declares no entry 'alarm' (only 'now')",
      ],
      missing_provider: [
        "plugin.toml: [[plugin.dependency]]: needs one of the providers 'tts_one', 'tts_two', and none fits: 'tts_one' is not installed; 'tts_two' is not installed",
      ],
      escaping_db: [
        "plugin.toml: [plugin.database].name '../x' must be a plain file name inside data/, without '/' or '\\'",
      ],
      state_db: [
        "plugin.toml: [plugin.database].name '.Neko-State.json.' is the frozen-state file (freeze / persist_mode)",
      ],
    };
    for (const [id, errors] of Object.entries(expectations)) {
      const p = await plugin(id);
      assert.equal(p?.status, "refused", id);
      assert.deepEqual(p?.errors, errors, id);
      assert.equal(p?.pid, null);
    }
    // The unknown-key warning of a refused manifest is shown beside its error (it is often the typo behind it).
    assert.deepEqual((await plugin("escaping_db"))?.warnings, [
      "plugin.toml: [plugin].databse is not a known key and is ignored",
    ]);
    assert.equal(fs.existsSync(path.join(root, "x")), false);
  });

  test("an entry or custom-event dependency on a plugin that declares none in its manifest is judged once it runs", async () => {
    const notChecked = (need: string, why: string) =>
      `plugin.toml: [[plugin.dependency]]: needs ${need}: not checked before 'bare_timer' runs (${why})`;
    const noEntries = "its manifest declares no [[plugin.entries]]";
    const noEvents = "a manifest does not declare custom events";
    const expected: Record<string, string[]> = {
      wants_now: [notChecked("entry 'bare_timer:now'", noEntries)],
      wants_alarm: [
        notChecked("entry 'bare_timer:alarm'", noEntries),
        "plugin.toml: [[plugin.dependency]]: 'bare_timer' is running without entry 'alarm', which this plugin needs",
      ],
      wants_tick: [notChecked("custom event 'bare_timer:tick:each_second'", noEvents)],
      wants_tock: [
        notChecked("custom event 'bare_timer:tock:each_second'", noEvents),
        "plugin.toml: [[plugin.dependency]]: 'bare_timer' is running without custom event 'tock:each_second', which this plugin needs",
      ],
    };
    assert.equal((await plugin("bare_timer"))?.status, "running");
    for (const [id, warnings] of Object.entries(expected)) {
      const p = await plugin(id);
      assert.equal(p?.status, "running", id);
      assert.deepEqual(p?.warnings, warnings, id);
    }
  });
});

describe("a ported plugin's run-time dependencies and a hostile this.db", () => {
  let root: string;
  let t: TestHost;
  const plugin = async (id: string) =>
    ((await t.request("GET", "/plugins")).body.plugins as Array<Record<string, any>>).find((p) => p.id === id);

  before(async () => {
    root = makeTempDir("neko-ported-live-");
    writePlugin(root, { id: "dyn_timer", className: "DynTimer", code: dynTimerCode });
    writePlugin(root, { id: "tts_a", className: "TtsA", code: ttsCode("TtsA", false) });
    writePlugin(root, { id: "tts_b", className: "TtsB", code: ttsCode("TtsB", true) });
    writePlugin(root, { id: "db_attack", className: "DbAttack", code: dbAttackCode });
    // A database file planted as a symbolic link to a file outside the plugin.
    writePlugin(root, { id: "db_linked", className: "DbAttack", code: dbAttackCode });
    fs.mkdirSync(path.join(root, "outside"));
    fs.mkdirSync(path.join(root, "db_linked", "data"), { recursive: true });
    fs.symlinkSync(path.join(root, "outside", "victim.db"), path.join(root, "db_linked", "data", "db_linked.db"));
    const liveNeeds: Array<[string, string]> = [
      ["wants_dyn_alarm", `entry = "dyn_timer:alarm"`],
      ["wants_snooze", `entry = "dyn_timer:snooze"`],
      ["wants_speak", `providers = ["tts_a", "tts_b"]\nentry = "speak"`],
      ["wants_sing", `providers = ["tts_a", "tts_b"]\nentry = "sing"`],
    ];
    for (const [id, need] of liveNeeds) {
      writePlugin(root, { id, manifest: `${manifest(id, `[[plugin.dependency]]\n${need}\n`)}`, code: recorderCode });
    }
    t = await startTestHost({ roots: [root] });
  });
  after(async () => {
    await t?.close();
    fs.rmSync(root, { recursive: true, force: true });
  });

  test("run-time needs are judged on the providers' live entries: a dynamic entry meets one, and its warning goes", async () => {
    const notChecked = (provider: string, need: string) =>
      `plugin.toml: [[plugin.dependency]]: needs entry '${provider}:${need}': not checked before '${provider}' runs (its manifest declares no [[plugin.entries]])`;
    const running = async (id: string) => {
      await waitFor(async () => (await plugin(id))?.status === "running", { what: `${id} running` });
      return plugin(id);
    };
    assert.deepEqual((await running("wants_dyn_alarm"))?.warnings, [notChecked("dyn_timer", "alarm")]);
    // With providers, only a need no running provider meets is warned about, and never about one that lacks it.
    assert.deepEqual((await running("wants_speak"))?.warnings, [notChecked("tts_a", "speak")]);
    assert.deepEqual((await running("wants_sing"))?.warnings, [
      notChecked("tts_a", "sing"),
      "plugin.toml: [[plugin.dependency]]: none of the running providers 'tts_a', 'tts_b' has entry 'sing', which this plugin needs",
    ]);
    const missing =
      "plugin.toml: [[plugin.dependency]]: 'dyn_timer' is running without entry 'snooze', which this plugin needs";
    assert.deepEqual((await running("wants_snooze"))?.warnings, [notChecked("dyn_timer", "snooze"), missing]);
    assert.equal((await t.trigger("dyn_timer", "add_snooze")).status, 200);
    await waitFor(async () => !(await plugin("wants_snooze"))?.warnings.includes(missing), {
      what: "the warning to go once the entry is there",
    });
    assert.deepEqual((await plugin("wants_snooze"))?.warnings, [notChecked("dyn_timer", "snooze")]);
  });

  test("a hostile this.db: ATTACH, VACUUM INTO and PRAGMA synchronous = OFF are refused; no file appears", async () => {
    const before = fs.readdirSync(path.join(root, "db_attack")).sort();
    for (const [sql, message] of [
      ["ATTACH 'stolen.db' AS s; CREATE TABLE s.t (a)", /^db: ATTACH is refused/],
      ["VACUUM INTO '../copy.db'", /^db: VACUUM INTO is refused/],
      ["PRAGMA synchronous = OFF", /^db: PRAGMA synchronous cannot be set/],
    ] as const) {
      const res = await t.trigger("db_attack", "run", { sql });
      assert.equal(res.status, 400, sql);
      assert.equal(res.body.error.code, "VALIDATION_ERROR", sql);
      assert.match(res.body.error.message, message, sql);
    }
    assert.deepEqual(fs.readdirSync(path.join(root, "db_attack")).sort(), before);
    assert.equal(fs.existsSync(path.join(root, "copy.db")), false);
    const made = await t.trigger("db_attack", "run", { sql: "CREATE TABLE t (a); INSERT INTO t VALUES (1)" });
    assert.deepEqual(made.body.data, { changes: 1, lastInsertRowid: 1 });
  });

  test("this.db: a script is all or nothing, kv joins a transaction begun through sql, a planted symlink is not opened", async () => {
    const partial = await t.trigger("db_attack", "run", {
      sql: "CREATE TABLE u (a); INSERT INTO u VALUES (1); INSERT INTO nosuch VALUES (2)",
    });
    assert.equal(partial.status, 500);
    assert.match(partial.body.error.message, /^db: no such table: nosuch/);
    const gone = await t.trigger("db_attack", "query", { sql: "SELECT name FROM sqlite_master WHERE name = 'u'" });
    assert.deepEqual(gone.body.data, []);

    const tx = await t.trigger("db_attack", "tx");
    assert.equal(tx.status, 200, JSON.stringify(tx.body));
    assert.deepEqual(
      { ...tx.body.data, waitedMs: tx.body.data.waitedMs < 1000 },
      {
        begun: true,
        set: true,
        committed: true,
        waitedMs: true,
      },
    );
    assert.deepEqual(
      (await t.trigger("db_attack", "query", { sql: "SELECT value FROM _kv_store WHERE key = 'in_tx'" })).body.data,
      [{ value: "true" }],
    );

    const linked = await t.trigger("db_linked", "run", { sql: "CREATE TABLE t (a)" });
    assert.equal(linked.status, 500);
    assert.equal(linked.body.error.code, "STORE_ERROR");
    assert.equal(
      linked.body.error.message,
      "db: db_linked.db in data/ is a symbolic link; it is not opened (in: CREATE TABLE t (a))",
    );
    assert.deepEqual(fs.readdirSync(path.join(root, "outside")), []);
  });
});
