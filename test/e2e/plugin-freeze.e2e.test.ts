/**
 * Freeze and unfreeze end to end (SPEC §4.6): the state file on disk, a new process that gets the fields back,
 * `persist_mode = "auto"` and `"manual"` with the entries' `persist` option across a crash (SIGKILL), and the
 * refusals — through real plugin processes.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { createSilentLogger, PluginHost } from "@neko/host";
import { isAlive, makeTempDir, waitFor, writePlugin } from "../support/plugin-fixtures.ts";
import { startTestHost, type TestHost } from "../support/test-host.ts";

const freezyCode = `
import { Err, lifecycle, NekoPluginBase, nekoPlugin, Ok, pluginEntry } from "@neko/plugin-sdk/plugin";

@nekoPlugin
export class FreezyPlugin extends NekoPluginBase {
  static freezable = ["counter", "items", "seen", "when", "nested"];
  counter = 0;
  items = new Map<string, number>();
  seen = new Set<string>();
  when: Date | null = null;
  nested: { deep: { list: number[]; extra?: unknown } } = { deep: { list: [] } };
  /** Not freezable: starts empty in every process. */
  log: string[] = [];
  refuse = false;

  @lifecycle({ id: "startup" })
  onStartup() {
    this.log.push("startup:" + this.counter);
  }

  @lifecycle({ id: "freeze" })
  onFreeze() {
    this.log.push("freeze");
    if (this.refuse) return Err("a transfer is in progress");
  }

  @lifecycle({ id: "unfreeze" })
  onUnfreeze({ fields, savedAt }: { fields: string[]; savedAt: string }) {
    this.log.push("unfreeze:" + fields.join(",") + ":" + typeof savedAt);
  }

  @pluginEntry({ id: "bump" })
  bump({ key = "a" }: { key?: string }) {
    this.counter += 1;
    this.items.set(key, (this.items.get(key) ?? 0) + 1);
    this.seen.add(key);
    this.when = new Date(Date.UTC(2024, 0, 2, 3, 4, 5));
    this.nested.deep.list.push(this.counter);
    return Ok(this.snapshot());
  }

  @pluginEntry({ id: "state" })
  state() {
    return Ok(this.snapshot());
  }

  @pluginEntry({ id: "set" })
  set({ refuse, poison }: { refuse?: boolean; poison?: boolean }) {
    if (refuse !== undefined) this.refuse = refuse;
    if (poison === true) this.nested.deep.extra = new URL("https://example.org");
    if (poison === false) delete this.nested.deep.extra;
    return Ok(null);
  }

  snapshot() {
    return {
      counter: this.counter,
      items: [...this.items],
      itemsIsMap: this.items instanceof Map,
      seen: [...this.seen],
      seenIsSet: this.seen instanceof Set,
      when: this.when instanceof Date ? this.when.toISOString() : this.when,
      nested: this.nested,
      log: this.log,
      pid: process.pid,
    };
  }
}
`;

const keeperCode = `
import { lifecycle, NekoPluginBase, nekoPlugin, Ok, pluginEntry } from "@neko/plugin-sdk/plugin";

@nekoPlugin
export class KeeperPlugin extends NekoPluginBase {
  static freezable = ["count", "history", "peeks"];
  count = 0;
  peeks = 0;
  history: Array<{ at: Date; n: number }> = [];
  log: string[] = [];

  @lifecycle({ id: "startup" })
  onStartup() {
    this.log.push("startup");
  }

  @lifecycle({ id: "unfreeze" })
  onUnfreeze() {
    this.log.push("unfreeze");
  }

  @pluginEntry({ id: "add" })
  add() {
    this.count += 1;
    this.history.push({ at: new Date(1_700_000_000_000 + this.count), n: this.count });
    return Ok({ count: this.count, pid: process.pid });
  }

  @pluginEntry({ id: "peek", persist: false })
  peek() {
    this.peeks += 1;
    return Ok({ peeks: this.peeks });
  }

  @pluginEntry({ id: "state" })
  state() {
    const historyDates = this.history.every((h) => h.at instanceof Date);
    const history = this.history.map((h) => h.n);
    return Ok({ count: this.count, peeks: this.peeks, history, historyDates, log: this.log, pid: process.pid });
  }
}
`;

/** `persist_mode = "manual"`: only `persist: true` entries save. */
const ledgerCode = `
import { NekoPluginBase, nekoPlugin, Ok, pluginEntry } from "@neko/plugin-sdk/plugin";

@nekoPlugin
export class LedgerPlugin extends NekoPluginBase {
  static freezable = ["total"];
  total = 0;

  @pluginEntry({ id: "book", persist: true })
  book() {
    this.total += 1;
    return Ok({ total: this.total });
  }

  @pluginEntry({ id: "draft" })
  draft() {
    this.total += 10;
    return Ok({ total: this.total });
  }

  @pluginEntry({ id: "state" })
  state() {
    return Ok({ total: this.total, pid: process.pid });
  }
}
`;

describe("freeze and unfreeze", () => {
  let root: string;
  /** The auto-persisting plugin lives in a root of its own, which the second host of the restart test does not load. */
  let keeperRoot: string;
  let t: TestHost;
  const stateFile = (id: string) => path.join(id === "freezy" ? root : keeperRoot, id, "data", ".neko-state.json");
  /** SIGKILLs the plugin's process and waits for the supervisor's crash restart: the new process's status. */
  const crashAndRestart = async (id: string, pid: number) => {
    process.kill(pid, "SIGKILL");
    const restarted = await waitFor(
      async () => {
        const p = (await t.request("GET", `/plugins/${id}`)).body;
        return p.status === "running" && p.pid !== pid ? p : undefined;
      },
      { what: `the automatic restart of '${id}'`, timeoutMs: 15_000 },
    );
    assert.ok(
      restarted.history.some((h: { state: string }) => h.state === "crashed"),
      "it did crash",
    );
    return restarted;
  };

  before(async () => {
    root = makeTempDir();
    keeperRoot = makeTempDir();
    writePlugin(root, { id: "freezy", className: "FreezyPlugin", code: freezyCode });
    writePlugin(keeperRoot, {
      id: "ledger",
      className: "LedgerPlugin",
      code: ledgerCode,
      manifest: '[plugin]\nid = "ledger"\nentry = "index.ts:LedgerPlugin"\n\n[plugin_state]\npersist_mode = "manual"\n',
    });
    writePlugin(keeperRoot, {
      id: "keeper",
      className: "KeeperPlugin",
      code: keeperCode,
      manifest: '[plugin]\nid = "keeper"\nentry = "index.ts:KeeperPlugin"\n\n[plugin_state]\npersist_mode = "auto"\n',
    });
    t = await startTestHost({
      roots: [root, keeperRoot],
      restartPolicy: { baseDelayMs: 200, maxDelayMs: 1000, maxCrashes: 5, windowMs: 60_000 },
    });
  });
  after(async () => {
    await t?.close();
    fs.rmSync(root, { recursive: true, force: true });
    fs.rmSync(keeperRoot, { recursive: true, force: true });
  });

  test("freeze saves the fields to the data folder and stops the process; unfreeze restores them in a new one", async () => {
    await t.trigger("freezy", "bump", { key: "a" });
    const before = (await t.trigger("freezy", "bump", { key: "b" })).body.data;
    assert.equal(before.counter, 2);

    const frozen = await t.request("POST", "/plugin/freezy/freeze");
    assert.equal(frozen.status, 200, JSON.stringify(frozen.body));
    assert.equal(frozen.body.status, "frozen");
    assert.equal(frozen.body.pid, null);
    const listed = (await t.request("GET", "/plugins")).body.plugins.find((p: { id: string }) => p.id === "freezy");
    assert.equal(listed.status, "frozen");
    assert.equal((await t.request("POST", "/plugin/freezy/freeze")).body.status, "frozen", "freezing again is fine");
    assert.equal((await t.request("POST", "/plugin/freezy/stop")).body.status, "frozen", "stop leaves it frozen");
    await waitFor(() => !isAlive(before.pid), { what: "the frozen process to exit" });

    const saved = JSON.parse(fs.readFileSync(stateFile("freezy"), "utf8"));
    assert.equal(saved.frozen, true);
    assert.equal(saved.fields.counter, 2);
    assert.deepEqual(saved.fields.items, {
      $neko: "Map",
      entries: [
        ["a", 1],
        ["b", 1],
      ],
    });
    assert.deepEqual(saved.fields.when, { $neko: "Date", value: "2024-01-02T03:04:05.000Z" });
    assert.equal("log" in saved.fields, false, "only the freezable fields");

    const refusedCall = await t.trigger("freezy", "state");
    assert.equal(refusedCall.status, 409);
    assert.equal(refusedCall.body.error.code, "PLUGIN_NOT_RUNNING");
    assert.match(refusedCall.body.error.message, /state: frozen/);

    const thawed = await t.request("POST", "/plugin/freezy/unfreeze");
    assert.equal(thawed.status, 200, JSON.stringify(thawed.body));
    assert.equal(thawed.body.status, "running");
    assert.notEqual(thawed.body.pid, before.pid, "a new process");
    const after = (await t.trigger("freezy", "state")).body.data;
    assert.equal(after.pid, thawed.body.pid);
    assert.equal(after.counter, 2);
    assert.deepEqual(after.items, [
      ["a", 1],
      ["b", 1],
    ]);
    assert.equal(after.itemsIsMap, true);
    assert.deepEqual(after.seen, ["a", "b"]);
    assert.equal(after.seenIsSet, true);
    assert.equal(after.when, "2024-01-02T03:04:05.000Z", "a Date again");
    assert.deepEqual(after.nested, { deep: { list: [1, 2] } });
    assert.deepEqual(
      after.log,
      ["startup:2", "unfreeze:counter,items,seen,when,nested:string"],
      "fields are back before startup; unfreeze runs after it",
    );
    assert.equal(fs.existsSync(stateFile("freezy")), false, "persist_mode off: the state is consumed by unfreeze");
  });

  test("a freeze handler's Err or an unsavable field refuses the freeze; the plugin runs on", async () => {
    const { pid } = (await t.trigger("freezy", "state")).body.data;
    await t.trigger("freezy", "set", { refuse: true });
    const refused = await t.request("POST", "/plugin/freezy/freeze");
    assert.equal(refused.status, 409);
    assert.equal(refused.body.error.code, "FREEZE_REFUSED");
    assert.match(refused.body.error.message, /plugin 'freezy' was not frozen: a transfer is in progress/);

    await t.trigger("freezy", "set", { refuse: false, poison: true });
    const poisoned = await t.request("POST", "/plugin/freezy/freeze");
    assert.equal(poisoned.status, 409);
    assert.match(poisoned.body.error.message, /nested\.deep\.extra cannot be saved: it is a URL/);
    assert.equal(fs.existsSync(stateFile("freezy")), false, "nothing half-written");

    const still = (await t.trigger("freezy", "state")).body.data;
    assert.equal(still.pid, pid);
    assert.equal((await t.request("GET", "/plugins/freezy")).body.status, "running");
    await t.trigger("freezy", "set", { poison: false });
  });

  test("unfreeze of a plugin that is not frozen is refused clearly; /start of a frozen plugin unfreezes it", async () => {
    assert.equal((await t.request("POST", "/plugin/freezy/unfreeze")).status, 200, "already running: nothing to do");
    await t.request("POST", "/plugin/freezy/stop");
    const notFrozen = await t.request("POST", "/plugin/freezy/unfreeze");
    assert.equal(notFrozen.status, 409);
    assert.equal(notFrozen.body.error.code, "NOT_FROZEN");
    assert.match(notFrozen.body.error.message, /plugin 'freezy' is not frozen \(state: stopped\)/);
    const notRunning = await t.request("POST", "/plugin/freezy/freeze");
    assert.equal(notRunning.status, 409);
    assert.equal(notRunning.body.error.code, "PLUGIN_NOT_RUNNING");

    await t.request("POST", "/plugin/freezy/start");
    assert.equal(
      (await t.trigger("freezy", "state")).body.data.counter,
      0,
      "a plain stop and start keeps nothing (persist_mode off)",
    );
    await t.trigger("freezy", "bump");
    assert.equal((await t.request("POST", "/plugin/freezy/freeze")).status, 200);
    const started = await t.request("POST", "/plugin/freezy/start");
    assert.equal(started.body.status, "running");
    const state = (await t.trigger("freezy", "state")).body.data;
    assert.equal(state.counter, 1);
    assert.equal(state.log.at(-1), "unfreeze:counter,items,seen,when,nested:string");
  });

  test("a plugin frozen when the host stops is still frozen in the next host, which leaves it down", async () => {
    assert.equal((await t.request("POST", "/plugin/freezy/freeze")).status, 200);
    const next = await PluginHost.create({ roots: [root], logger: createSilentLogger() });
    try {
      await next.startAll();
      const freezy = next.listPlugins().find((p) => p.id === "freezy");
      assert.equal(freezy?.status, "frozen");
      assert.equal(freezy?.pid, null);
    } finally {
      await next.stop();
    }
    assert.equal((await t.request("POST", "/plugin/freezy/unfreeze")).status, 200);
    assert.equal((await t.trigger("freezy", "state")).body.data.counter, 1);
  });

  test('persist_mode = "auto" saves after every call, so a crash restart (SIGKILL) resumes the fields', async () => {
    for (let i = 0; i < 3; i++) await t.trigger("keeper", "add");
    const before = (await t.trigger("keeper", "state")).body.data;
    assert.equal(before.count, 3);
    const saved = JSON.parse(fs.readFileSync(stateFile("keeper"), "utf8"));
    assert.equal(saved.frozen, false);
    assert.equal(saved.fields.count, 3);

    const restarted = await crashAndRestart("keeper", before.pid);
    const after = (await t.trigger("keeper", "state")).body.data;
    assert.equal(after.pid, restarted.pid);
    assert.equal(after.count, 3, "the field is back");
    assert.deepEqual(after.history, [1, 2, 3]);
    assert.equal(after.historyDates, true);
    assert.deepEqual(after.log, ["startup"], "a crash restart is not an unfreeze");
    assert.equal((await t.trigger("keeper", "add")).body.data.count, 4, "and goes on from there");
  });

  test('persist_mode = "auto": a call of a persist: false entry does not save; after a crash its change is gone', async () => {
    const { pid, count } = (await t.trigger("keeper", "state")).body.data;
    assert.equal((await t.trigger("keeper", "peek")).body.data.peeks, 1);
    assert.equal(JSON.parse(fs.readFileSync(stateFile("keeper"), "utf8")).fields.peeks, 0, "not saved");
    const restarted = await crashAndRestart("keeper", pid);
    const after = (await t.trigger("keeper", "state")).body.data;
    assert.equal(after.pid, restarted.pid);
    assert.equal(after.peeks, 0, "the persist: false change was lost");
    assert.equal(after.count, count, "what the other entries saved is back");
  });

  test('persist_mode = "manual": persist: true entries save before they answer; other calls and a stop save nothing', async () => {
    const ledger = (await t.request("GET", "/plugins/ledger")).body;
    assert.deepEqual(
      ledger.entries.map((e: { id: string; persist: boolean | null }) => [e.id, e.persist]),
      [
        ["book", true],
        ["draft", null],
        ["state", null],
      ],
    );
    await t.trigger("ledger", "book");
    assert.equal((await t.trigger("ledger", "book")).body.data.total, 2);
    assert.equal((await t.trigger("ledger", "draft")).body.data.total, 12);
    const before = (await t.trigger("ledger", "state")).body.data;
    assert.equal(before.total, 12);
    assert.equal(JSON.parse(fs.readFileSync(stateFile("ledger"), "utf8")).fields.total, 2);

    const restarted = await crashAndRestart("ledger", before.pid);
    const after = (await t.trigger("ledger", "state")).body.data;
    assert.equal(after.pid, restarted.pid);
    assert.equal(after.total, 2, "the persist: true calls' state is back; the draft is lost");

    assert.equal((await t.trigger("ledger", "draft")).body.data.total, 12);
    await t.request("POST", "/plugin/ledger/stop");
    await t.request("POST", "/plugin/ledger/start");
    assert.equal(
      (await t.trigger("ledger", "state")).body.data.total,
      2,
      "a stop does not save in manual mode; a start restores",
    );
  });
});
