/**
 * An authenticated plugin that sends what no SDK would: the whole host (features included) over the memory transport,
 * with scripted plugins (test/support/memory-plugin-launcher.ts). Each attack must leave the host up, its answers
 * right, the other plugins served, and nothing held for the attacker after it stops.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Writable } from "node:stream";
import { after, before, describe, test } from "node:test";
import type { BusDelivery, WireResult } from "@neko/protocol";
import { Packr } from "msgpackr";
import pino from "pino";
import { PluginHost } from "../src/plugin-host.ts";
import { MemoryHostTransport } from "../src/transport/memory-host-transport.ts";
import { hangs, MemoryPluginLauncher, type PluginScript } from "./support/memory-plugin-launcher.ts";

const packr = new Packr({ useRecords: false, moreTypes: false });

/** Nested `depth` maps deep, as a value (shallow enough for the encoder too, up to about 1000). */
function deep(depth: number): unknown {
  let value: unknown = "bottom";
  for (let i = 0; i < depth; i++) value = { v: value };
  return value;
}

/**
 * A frame whose `field` holds `{ v: { v: … } }` nested `depth` deep, written byte by byte: msgpack decodes values
 * far deeper (about 6000) than it can encode again (about 1400), so no encoder makes this one.
 */
function deepFrame(message: Record<string, unknown>, field: string, depth: number): Uint8Array {
  const parts: Uint8Array[] = [Uint8Array.of(0x80 + Object.keys(message).length + 1)];
  for (const [key, value] of Object.entries(message)) parts.push(packr.pack(key), packr.pack(value));
  parts.push(packr.pack(field));
  for (let i = 0; i < depth; i++) parts.push(Uint8Array.of(0x81, 0xa1, 0x76));
  parts.push(packr.pack("bottom"));
  return Buffer.concat(parts);
}

async function until(check: () => boolean, what: string, ms = 2000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe("a hostile plugin", () => {
  let root: string;
  let host: PluginHost;
  let launcher: MemoryPluginLauncher;
  const warnings: string[] = [];
  const scripts: Record<string, PluginScript> = {
    attacker: { entries: { fail: hangs }, shutdown: "ignore" },
    victim: { entries: { ping: () => "pong" } },
  };

  before(async () => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), "neko-hostile-"));
    for (const id of Object.keys(scripts)) {
      fs.mkdirSync(path.join(root, id));
      fs.writeFileSync(path.join(root, id, "plugin.toml"), `[plugin]\nid = "${id}"\nentry = "index.ts:P"\n`);
      fs.writeFileSync(path.join(root, id, "index.ts"), "export {};\n");
    }
    const transport = new MemoryHostTransport();
    launcher = new MemoryPluginLauncher(transport, (request) => scripts[request.pluginId] ?? {});
    const sink = new Writable({
      write(chunk, _encoding, done) {
        const line = JSON.parse(String(chunk)) as { level: number; msg: string };
        if (line.level >= 40) warnings.push(line.msg);
        done();
      },
    });
    host = await PluginHost.create({
      roots: [root],
      logger: pino({ level: "warn" }, sink),
      transport,
      launcher,
      stopGraceMs: 100,
      dataDir: path.join(root, ".neko"),
      bus: { namespaceMaxBytes: 1024 * 1024 },
    });
    for (const id of Object.keys(scripts)) {
      const started = await host.startPlugin(id);
      assert.equal(started.ok, true, `${id}: ${JSON.stringify(started)}`);
    }
  });
  after(async () => {
    await host?.stop();
    fs.rmSync(root, { recursive: true, force: true });
  });

  const attacker = () => {
    const child = launcher.latest("attacker");
    assert.ok(child && !child.exited, "the attacker runs");
    return child;
  };
  const victimAnswers = async () =>
    assert.deepEqual(await host.callEntry("victim", "ping", {}), { ok: true, value: "pong" });

  test("request ids that could not be echoed back (6 KB of nesting, 64 MiB of text, not a string, taken) are dropped", async () => {
    const plugin = attacker();
    const deadline = Date.now() + 5000;
    plugin.connection.sendRaw(deepFrame({ type: "request", method: "bus.flush", params: {}, deadline }, "id", 2000));
    plugin.send({
      type: "request",
      id: "x".repeat(1024),
      method: "bus.flush",
      params: {},
      deadline: Date.now() + 5000,
    });
    plugin.send({
      type: "request",
      id: 42 as unknown as string,
      method: "bus.flush",
      params: {},
      deadline: Date.now() + 5000,
    });
    const answered = plugin.ask("bus.flush", {});
    assert.deepEqual(await answered, { ok: true, value: null }, "a well-formed request is still served");
    await victimAnswers();
    assert.equal(host.debugCounts().requestsServed, 0);
    const responses = plugin.received.filter((m) => m.type === "response");
    assert.equal(responses.length, 1, "only the good request was answered");
  });

  test("a payload nested deeper than the bus keeps is refused, and the other plugins' deliveries go on", async () => {
    const victim = launcher.latest("victim");
    assert.ok(victim);
    victim.send({ type: "notify", method: "bus.subscribe", params: { type: "*" } });
    attacker().connection.sendRaw(deepFrame({ type: "notify", method: "bus.emit" }, "params", 2000));
    attacker().send({ type: "notify", method: "bus.emit", params: { type: "poison", payload: deep(300) } });
    const appended = await attacker().ask("bus.append", { namespace: "conversations", record: { data: deep(300) } });
    assert.equal(appended.ok ? "" : appended.error.code, "VALIDATION_ERROR");
    attacker().send({ type: "notify", method: "bus.emit", params: { type: "fine", payload: { n: 1 } } });
    await until(
      () =>
        victim.received.some(
          (m) => m.type === "push" && (m.payload as BusDelivery).events.some((e) => e.type === "fine"),
        ),
      "the good event",
    );
    const delivered = victim.received.flatMap((m) => (m.type === "push" ? (m.payload as BusDelivery).events : []));
    assert.deepEqual(
      delivered.filter((e) => e.publisher === "attacker").map((e) => e.type),
      ["fine"],
      "the deep event never reached the bus",
    );
    const query = await victim.ask("bus.query", { namespace: "events", filters: {} });
    assert.equal(query.ok, true, "the events namespace can still be read");
  });

  test("a huge error code cannot crowd the shared events namespace out", async () => {
    await victimAnswers();
    const before = host.bus.query("events").records.length;
    assert.ok(before > 0);
    const plugin = attacker();
    const code = "E".repeat(2 * 1024 * 1024);
    // The plugin answers its own entry's call with a result whose code is 2 MiB (the namespace holds 1 MiB).
    const callPromise = host.callEntry("attacker", "fail", {});
    await until(() => plugin.received.some((m) => m.type === "call" && m.entryId === "fail"), "the call");
    const call = plugin.received.find((m) => m.type === "call" && m.entryId === "fail");
    assert.ok(call?.type === "call");
    plugin.send({ type: "result", id: call.id, result: { ok: false, error: { name: "E", code, message: "m" } } });
    const result = await callPromise;
    assert.equal(result.ok ? 0 : result.error.code.length, code.length, "the caller gets the plugin's answer");
    const after = host.bus.query("events").records;
    assert.ok(after.length >= before, "the older records stayed");
    assert.equal((after.at(-1)?.data as { errorCode?: string } | undefined)?.errorCode?.length, 128);
  });

  test("params that cannot even be shown in an error message are a VALIDATION_ERROR, not a crash", async () => {
    const plugin = attacker();
    const answers: WireResult[] = [];
    const unprintable = { toString: 1, valueOf: 1 };
    answers.push(await plugin.ask("plugins.call", { pluginId: unprintable, entryId: "ping", chain: [] }));
    answers.push(await plugin.ask("bus.query", { namespace: unprintable }));
    answers.push(await plugin.ask("messages.push", { messageType: "binary", binaryData: "A".repeat(5_000_000) }));
    assert.deepEqual(
      answers.map((a) => (a.ok ? "ok" : a.error.code)),
      ["VALIDATION_ERROR", "VALIDATION_ERROR", "VALIDATION_ERROR"],
    );
    assert.match(answers[2].ok ? "" : answers[2].error.message, /'binaryData' is about 3750000 bytes; the limit is/);
  });

  test("null stands for 'not given' where the old handlers took it so (a Python plugin sends None)", async () => {
    const pushed = await attacker().ask("messages.push", {
      content: "hi",
      source: null,
      description: null,
      priority: null,
      metadata: null,
      messageType: null,
    });
    assert.equal(pushed.ok, true, JSON.stringify(pushed));
    const listed = host.messages.list({ pluginId: "attacker" }).messages.at(-1);
    assert.equal(listed?.source, "attacker");
    assert.equal(listed?.priority, 5);
    assert.equal((await attacker().ask("system.info", null)).ok, true);
  });

  test("a flood of bad notifications is logged once, not once per frame", async () => {
    const before = warnings.length;
    for (let i = 0; i < 500; i++) {
      attacker().send({ type: "notify", method: "bus.ack", params: { batch: "x" } });
    }
    await attacker().ask("bus.flush", {});
    const logged = warnings.slice(before).filter((w) => w.includes("'bus.ack'"));
    assert.equal(logged.length, 1, "one warning for 500 bad frames");
  });

  test("a watch asked for while the plugin stops is refused; nothing of it reaches the next process", async () => {
    const plugin = attacker();
    const stopping = host.stopPlugin("attacker");
    await until(() => plugin.received.some((m) => m.type === "shutdown"), "the shutdown");
    const watch = await plugin.ask("bus.watch", { watchId: "late", namespace: "conversations" });
    assert.equal(watch.ok ? "" : watch.error.code, "PLUGIN_NOT_RUNNING");
    await stopping;
    assert.equal(host.debugCounts()["bus.watches"], 0);
    assert.equal((await host.startPlugin("attacker")).ok, true);
    const next = attacker();
    next.send({ type: "notify", method: "bus.subscribe", params: { type: "nothing" } });
    await next.ask("bus.append", { namespace: "conversations", record: { data: 1 } });
    await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(
      next.received.filter((m) => m.type === "push"),
      [],
      "no delta of the old process's watch",
    );
    await victimAnswers();
  });
});
