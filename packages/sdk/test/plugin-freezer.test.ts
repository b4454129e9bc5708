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
import { FROZEN_STATE_FILE } from "@neko/protocol";
import { HostClient } from "../src/runtime/host-client.ts";
import { type PersistMode, PluginFreezer } from "../src/runtime/plugin-freezer.ts";
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
}

const dirs: string[] = [];
after(() => {
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
});

function start(options: { persistMode?: PersistMode; dataDir?: string } = {}) {
  const dataDir = options.dataDir ?? fs.mkdtempSync(path.join(os.tmpdir(), "neko-freezer-"));
  dirs.push(dataDir);
  const logger = createPluginLogger("counter", { level: "silent" });
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
  return { instance, runtime, call, control, file, dataDir };
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

  test("without the frozen mark only persist_mode auto restores; auto saves after a call only when the state changed", async () => {
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
