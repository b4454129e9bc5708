/** The plugin runtime over the in-memory transport: the host side is played by the test. */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { ResultMessage, WireResult } from "@neko/protocol";
import { constructWithContext, createPluginContext } from "../src/plugin-context.ts";
import { createPluginLogger } from "../src/plugin-logger.ts";
import { type EntryContext, lifecycle, NekoPluginBase, nekoPlugin, Ok, pluginEntry, z } from "../src/plugin.ts";
import { HostClient } from "../src/runtime/host-client.ts";
import { MemoryPluginTransport } from "../src/runtime/memory-plugin-transport.ts";
import { PluginRuntime } from "../src/runtime/plugin-runtime.ts";

@nekoPlugin
class Base extends NekoPluginBase {
  seen: string[] = [];

  @pluginEntry({ id: "inherited" })
  inherited() {
    return "from base";
  }
}

@nekoPlugin
class Sample extends Base {
  aborted = false;

  @lifecycle({ id: "startup" })
  startup() {
    this.seen.push("startup");
    return Ok({ ready: true });
  }

  @pluginEntry({
    id: "typed",
    params: z.object({ n: z.number().int(), tag: z.string().default("t") }),
  })
  typed(args: { n: number; tag: string }) {
    this.seen.push(`typed:${args.n}:${args.tag}`);
    return args;
  }

  @pluginEntry({ id: "slow", timeout: 0.05 })
  async slow(_args: object, ctx: EntryContext) {
    ctx.signal.addEventListener("abort", () => {
      this.aborted = true;
    });
    await new Promise((r) => setTimeout(r, 500));
    return "late";
  }

  ctxSeen: unknown[] = [];

  @pluginEntry({ id: "context" })
  context(_args: object, ctx: EntryContext) {
    this.ctxSeen = [Object.keys(ctx), JSON.parse(JSON.stringify(ctx)), ctx.signal instanceof AbortSignal];
    return "ok";
  }

  @pluginEntry({ id: "throws" })
  throws() {
    throw new TypeError("bad thing");
  }
}

function boot() {
  const logger = createPluginLogger("sample", { level: "silent" });
  const ctx = createPluginContext({ pluginId: "sample", configDir: "/tmp", dataDir: "/tmp/data", logger });
  const instance = constructWithContext(ctx, () => new Sample());
  const runtime = new PluginRuntime({ instance, logger, entries: ctx.entries });
  const transport = new MemoryPluginTransport();
  runtime.attach(transport, { client: new HostClient(transport), onShutdown: () => undefined });
  let n = 0;
  const call = async (entryId: string, args: unknown = {}, timeoutMs = 5000): Promise<WireResult> => {
    const id = `c${++n}`;
    const reply = transport.next<ResultMessage>((m) => m.type === "result" && m.id === id);
    transport.deliver({ type: "call", id, entryId, args, deadline: Date.now() + timeoutMs, timeoutMs });
    return (await reply).result;
  };
  return { instance, runtime, transport, call };
}

describe("plugin runtime", () => {
  test("hello lists decorated entries, inherited ones included, with schemas", () => {
    const { runtime } = boot();
    const hello = runtime.hello({ pluginId: "sample", secret: "s" });
    assert.deepEqual(hello.entries.map((e) => e.id).sort(), ["context", "inherited", "slow", "throws", "typed"]);
    const typed = hello.entries.find((e) => e.id === "typed");
    assert.deepEqual(typed?.inputSchema?.required, ["n"]);
    assert.equal(hello.entries.find((e) => e.id === "slow")?.timeout, 0.05);
  });

  test("welcome runs startup and answers ready with its result", async () => {
    const { instance, transport } = boot();
    const ready = transport.next((m) => m.type === "ready");
    transport.deliver({ type: "welcome" });
    assert.deepEqual(await ready, { type: "ready", startup: { ok: true, value: { ready: true } } });
    assert.deepEqual(instance.seen, ["startup"]);
  });

  test("Zod params validate and fill defaults; a violation names the field and skips the handler", async () => {
    const { instance, call } = boot();
    assert.deepEqual(await call("typed", { n: 3 }), { ok: true, value: { n: 3, tag: "t" } });
    const bad = await call("typed", { n: 1.5 });
    assert.equal(bad.ok, false);
    if (!bad.ok) {
      assert.equal(bad.error.code, "VALIDATION_ERROR");
      assert.match(bad.error.message, /^invalid arguments: n: /);
    }
    const notObject = await call("typed", [1, 2]);
    assert.equal(notObject.ok ? "" : notObject.error.code, "VALIDATION_ERROR");
    assert.deepEqual(instance.seen, ["typed:3:t"]);
  });

  test("a timeout aborts the signal and answers TIMEOUT; a throw answers ENTRY_FAILED", async () => {
    const { instance, call } = boot();
    const slow = await call("slow");
    assert.equal(slow.ok ? "" : slow.error.code, "TIMEOUT");
    assert.equal(instance.aborted, true);
    const thrown = await call("throws");
    assert.deepEqual(thrown, { ok: false, error: { name: "TypeError", code: "ENTRY_FAILED", message: "bad thing" } });
    assert.deepEqual(await call("inherited"), { ok: true, value: "from base" });
  });

  test("a stopped call's handler hears the abort before call-settled listeners run (the freezer saves after it)", async () => {
    const { instance, runtime, call } = boot();
    const order: string[] = [];
    runtime.onCallSettled(({ entryId }) => order.push(`settled ${entryId} aborted=${instance.aborted}`));
    const slow = await call("slow");
    assert.equal(slow.ok ? "" : slow.error.code, "TIMEOUT");
    assert.deepEqual(order, ["settled slow aborted=true"]);
  });

  test("ctx shows its call and nothing of the runtime: keys, JSON and a signal", async () => {
    const { instance, call } = boot();
    assert.deepEqual(await call("context"), { ok: true, value: "ok" });
    const [keys, json, isSignal] = instance.ctxSeen as [string[], Record<string, unknown>, boolean];
    assert.deepEqual(keys.sort(), ["callId", "deadline", "entryId"]);
    assert.deepEqual(Object.keys(json).sort(), ["callId", "deadline", "entryId", "signal"]);
    assert.equal(json.entryId, "context");
    assert.equal(isSignal, true);
  });

  test("a caller's shorter deadline wins over the entry's timeout; cancel aborts", async () => {
    const { transport, instance } = boot();
    const reply = transport.next<ResultMessage>((m) => m.type === "result" && m.id === "k");
    transport.deliver({
      type: "call",
      id: "k",
      entryId: "slow",
      args: {},
      deadline: Date.now() + 5000,
      timeoutMs: 5000,
    });
    transport.deliver({ type: "cancel", id: "k" });
    const result = (await reply).result;
    assert.equal(result.ok ? "" : result.error.code, "CANCELED");
    assert.equal(instance.aborted, true);
  });

  test("unknown entries and decorator misuse give clear errors", async () => {
    const { call } = boot();
    const missing = await call("nope");
    assert.equal(missing.ok ? "" : missing.error.code, "ENTRY_NOT_FOUND");
    assert.throws(() => lifecycle({ id: "boot" as "startup" }), /must be one of startup, shutdown/);
    assert.throws(() => {
      @nekoPlugin
      class Twice extends NekoPluginBase {
        @pluginEntry({ id: "x" })
        a() {}
        @pluginEntry({ id: "x" })
        b() {}
      }
      return Twice;
    }, /entry id 'x' is declared twice/);
  });
});
