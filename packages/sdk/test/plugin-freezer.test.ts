/** PluginFreezer over an in-memory transport: restore rules, auto-saving, and the freeze control. */
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, describe, test } from "node:test";
import type { HostToPlugin, PluginToHost, WireResult } from "@neko/protocol";
import { lifecycle, NekoPluginBase, nekoPlugin, pluginEntry } from "../src/plugin.ts";
import { constructWithContext, createPluginContext } from "../src/plugin-context.ts";
import { createPluginLogger } from "../src/plugin-logger.ts";
import { FROZEN_STATE_FILE } from "../src/runtime/frozen-state-file.ts";
import { HostClient } from "../src/runtime/host-client.ts";
import type { PluginLogger } from "../src/plugin-logger.ts";
import { callSavesState, type PersistMode, PluginFreezer } from "../src/runtime/plugin-freezer.ts";
import { PluginRuntime } from "../src/runtime/plugin-runtime.ts";

@nekoPlugin
class Counter extends NekoPluginBase {
  static freezable = ["count", "tags"];
  count = 0;
  tags = new Set<string>();
  events: string[] = [];

  @lifecycle({ id: "freeze" })
  onFreeze() {
    this.events.push("freeze");
  }

  @pluginEntry({ id: "add" })
  add({ tag }: { tag?: string }) {
    if (tag) this.tags.add(tag);
    this.count += tag ? 1 : 0;
    return this.count;
  }

  @pluginEntry({ id: "keep", persist: true })
  keep() {
    this.count += 100;
    return this.count;
  }

  @pluginEntry({ id: "skip", persist: false })
  skip() {
    this.count += 1000;
    return this.count;
  }
}

const dirs: string[] = [];
after(() => {
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
});

function start(options: { persistMode?: PersistMode; dataDir?: string; logger?: PluginLogger } = {}) {
  const dataDir = options.dataDir ?? fs.mkdtempSync(path.join(os.tmpdir(), "neko-freezer-"));
  dirs.push(dataDir);
  const logger = options.logger ?? createPluginLogger("counter", { level: "silent" });
  const ctx = createPluginContext({ pluginId: "counter", configDir: dataDir, dataDir, logger });
  const instance = constructWithContext(ctx, () => new Counter());
  const runtime = new PluginRuntime({ instance, logger, entries: ctx.entries });
  PluginFreezer.install({ runtime, dataDir, persistMode: options.persistMode ?? "off", logger });
  const sent: PluginToHost[] = [];
  let deliver: (message: HostToPlugin) => void = () => undefined;
  const transport = {
    send: (message: PluginToHost) => void sent.push(message),
    onMessage: (handler: (message: HostToPlugin) => void) => {
      deliver = handler;
    },
    close: async () => undefined,
  };
  runtime.attach(transport, { client: new HostClient(transport), onShutdown: () => undefined });
  const call = (entryId: string, args: object = {}) =>
    runtime.callEntry({ id: entryId, entryId, args, deadline: Date.now() + 5000, timeoutMs: 5000 });
  const control = async (op: string): Promise<WireResult> => {
    deliver({ type: "control", id: op, op, payload: null, deadline: Date.now() + 5000 });
    for (;;) {
      const answer = sent.find((m) => m.type === "result" && m.id === op);
      if (answer?.type === "result") return answer.result;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  };
  const file = path.join(dataDir, FROZEN_STATE_FILE);
  const saved = () => JSON.parse(fs.readFileSync(file, "utf8")).fields.count;
  return { instance, runtime, call, control, file, dataDir, saved };
}

describe("PluginFreezer", () => {
  test("freeze runs the lifecycle and writes the fields marked frozen; a new instance gets them back", async () => {
    const first = start();
    await first.call("add", { tag: "a" });
    assert.equal(fs.existsSync(first.file), false, "persist_mode off: nothing saved by a call");
    const result = await first.control("freeze");
    assert.deepEqual(result, { ok: true, value: { fields: ["count", "tags"], file: first.file } });
    assert.deepEqual(first.instance.events, ["freeze"]);
    const saved = JSON.parse(fs.readFileSync(first.file, "utf8"));
    assert.equal(saved.frozen, true);
    const second = start({ dataDir: first.dataDir });
    assert.equal(second.instance.count, 1);
    assert.deepEqual([...second.instance.tags], ["a"]);
  });

  test("without the frozen mark persist_mode off does not restore; auto saves after a call only when the state changed", async () => {
    const auto = start({ persistMode: "auto" });
    await auto.call("add", { tag: "x" });
    const first = fs.readFileSync(auto.file, "utf8");
    assert.equal(JSON.parse(first).frozen, false);
    await auto.call("add", {});
    assert.equal(fs.readFileSync(auto.file, "utf8"), first, "an unchanged state is not written again");
    assert.equal(start({ dataDir: auto.dataDir }).instance.count, 0, "persist_mode off ignores an unfrozen save");
    assert.equal(start({ dataDir: auto.dataDir, persistMode: "auto" }).instance.count, 1);
    auto.instance.count = 41;
    await auto.runtime.shutdown();
    assert.equal(JSON.parse(fs.readFileSync(auto.file, "utf8")).fields.count, 41, "and when the plugin stops");
  });

  test("manual saves only after persist: true entries and restores the save at start, but does not save on stop", async () => {
    const manual = start({ persistMode: "manual" });
    await manual.call("add", { tag: "x" });
    assert.equal(fs.existsSync(manual.file), false, "an entry without persist does not save");
    await manual.call("keep");
    assert.equal(manual.saved(), 101, "persist: true saves every field, the earlier call's change included");
    await manual.call("skip");
    await manual.call("add", { tag: "y" });
    assert.equal(manual.saved(), 101);
    await manual.runtime.shutdown();
    assert.equal(manual.saved(), 101, "stopping saves nothing in manual mode");
    assert.equal(start({ dataDir: manual.dataDir, persistMode: "manual" }).instance.count, 101, "restored at start");
    assert.equal(start({ dataDir: manual.dataDir }).instance.count, 0, "persist_mode off ignores it");
  });

  test("auto does not save after a persist: false entry; the next save still carries its change", async () => {
    const auto = start({ persistMode: "auto" });
    await auto.call("keep");
    assert.equal(auto.saved(), 100);
    await auto.call("skip");
    assert.equal(auto.saved(), 100, "persist: false: no save");
    await auto.call("add", { tag: "x" });
    assert.equal(auto.saved(), 1101, "a save writes the whole state");
  });

  test("off: persist: true saves nothing and is warned about once, naming the entry (dynamic ones too)", async () => {
    const warnings: string[] = [];
    const logger = { ...createPluginLogger("counter", { level: "silent" }), warn: (m: string) => warnings.push(m) };
    const off = start({ logger });
    await off.call("keep");
    assert.equal(fs.existsSync(off.file), false);
    assert.deepEqual(warnings, [
      "entry 'keep' has persist: true but [plugin_state].persist_mode is off; nothing is saved after its calls",
    ]);
    off.instance.registerDynamicEntry("late", () => 1, { persist: true });
    off.instance.registerDynamicEntry("plain", () => 1);
    assert.equal(warnings.length, 2);
    assert.match(warnings[1], /^entry 'late' has persist: true/);
    start({ logger, persistMode: "manual" });
    assert.equal(warnings.length, 2, "manual mode honours persist: true: no warning");
  });

  test("which calls save: the mode, then the entry's persist (events and messages have no entry)", () => {
    const table = (["off", "manual", "auto"] as const).map((mode) =>
      [undefined, { persist: null }, { persist: true }, { persist: false }].map((entry) => callSavesState(mode, entry)),
    );
    assert.deepEqual(table, [
      [false, false, false, false],
      [false, false, true, false],
      [true, true, true, false],
    ]);
  });

  test("a field no longer freezable is ignored; a damaged file is moved aside and the plugin starts clean", () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "neko-freezer-"));
    const file = path.join(dataDir, FROZEN_STATE_FILE);
    fs.writeFileSync(file, JSON.stringify({ version: 1, frozen: true, savedAt: "", fields: { count: 7, gone: 1 } }));
    const restored = start({ dataDir });
    assert.equal(restored.instance.count, 7);
    assert.equal("gone" in restored.instance, false);

    fs.writeFileSync(file, "{ not json");
    const clean = start({ dataDir });
    assert.equal(clean.instance.count, 0);
    assert.equal(fs.existsSync(file), false);
    assert.equal(fs.readdirSync(dataDir).filter((f) => f.includes(".damaged-")).length, 1);
  });

  test("static freezable must be a list of names", () => {
    @nekoPlugin
    class Bad extends NekoPluginBase {
      static freezable = "count";
    }
    const logger = createPluginLogger("bad", { level: "silent" });
    const instance = new Bad();
    const runtime = new PluginRuntime({ instance, logger, entries: instance.ctx.entries });
    assert.throws(
      () => PluginFreezer.install({ runtime, dataDir: os.tmpdir(), persistMode: "off", logger }),
      /static freezable must be an array of field names/,
    );
  });
});
