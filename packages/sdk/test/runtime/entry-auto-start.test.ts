/** `autoStart` entries over the in-memory transport: run once after startup, like a host's call, and reported. */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type {
  ParamsOut,
  PluginToHostNotifications,
  NotifyMessage,
  ReadyMessage,
  ResultMessage,
  WireResult,
} from "@neko/protocol";
import { beforeEntry, lifecycle, NekoPluginBase, nekoPlugin, Ok, pluginEntry, z } from "../../src/plugin.ts";
import { constructWithContext, createPluginContext } from "../../src/plugin-context.ts";
import type { PluginLogger } from "../../src/plugin-logger.ts";
import { HostClient } from "../../src/runtime/host-client.ts";
import { MemoryPluginTransport } from "../../src/runtime/memory-plugin-transport.ts";
import { PluginRuntime } from "../../src/runtime/plugin-runtime.ts";

@nekoPlugin
class Warmup extends NekoPluginBase {
  order: string[] = [];

  @lifecycle({ id: "startup" })
  startup() {
    this.order.push("startup");
  }

  @beforeEntry({ target: "warm" })
  seen({ entryId }: { entryId: string }) {
    this.order.push(`hook:${entryId}`);
  }

  @pluginEntry({ id: "warm", autoStart: true, params: z.object({ size: z.number().default(3) }) })
  warm({ size }: { size: number }) {
    this.order.push(`warm:${size}`);
    return Ok({ size });
  }

  @pluginEntry({ id: "boom", autoStart: true })
  boom() {
    this.order.push("boom");
    throw new Error("cold engine");
  }

  @pluginEntry({
    id: "needy",
    autoStart: true,
    inputSchema: { type: "object", properties: { to: { type: "string" } }, required: ["to"] },
  })
  needy() {
    this.order.push("needy");
  }

  @pluginEntry({ id: "manual" })
  manual() {
    this.order.push("manual");
    return "by hand";
  }
}

function boot() {
  const logs: Array<{ level: string; message: string }> = [];
  const record = (level: string) => (message: string) => void logs.push({ level, message });
  const logger: PluginLogger = {
    debug: record("debug"),
    info: record("info"),
    warn: record("warn"),
    error: record("error"),
    exception: record("error"),
  };
  const transport = new MemoryPluginTransport();
  const client = new HostClient(transport);
  const ctx = createPluginContext({ pluginId: "warmup", configDir: "/tmp", logger, bridge: client });
  const instance = constructWithContext(ctx, () => new Warmup());
  const runtime = new PluginRuntime({ instance, logger, entries: ctx.entries });
  runtime.attach(transport, { client, onShutdown: () => undefined });
  const reports = () =>
    transport.sent
      .filter((m): m is NotifyMessage => m.type === "notify" && m.method === "entry.auto_called")
      .map((m) => m.params as ParamsOut<PluginToHostNotifications, "entry.auto_called">);
  /** Sends `welcome` and waits until `count` auto-start reports went out. */
  const start = async (count: number) => {
    const ready = transport.next<ReadyMessage>((m) => m.type === "ready");
    transport.deliver({ type: "welcome" });
    await ready;
    await waitUntil(() => reports().length >= count);
  };
  const call = async (entryId: string): Promise<WireResult> => {
    const reply = transport.next<ResultMessage>((m) => m.type === "result" && m.id === entryId);
    transport.deliver({ type: "call", id: entryId, entryId, args: {}, deadline: Date.now() + 5000, timeoutMs: 5000 });
    return (await reply).result;
  };
  return { instance, transport, logs, reports, start, call };
}

async function waitUntil(probe: () => boolean): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error("timed out");
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe("autoStart entries", () => {
  test("each runs once after startup and ready, with {} validated (defaults applied) and through its hooks", async () => {
    const { instance, transport, reports, start } = boot();
    await start(3);
    const readyAt = transport.sent.findIndex((m) => m.type === "ready");
    const firstReport = transport.sent.findIndex((m) => m.type === "notify");
    assert.ok(readyAt < firstReport, "after the plugin was reported ready");
    assert.deepEqual(instance.order, ["startup", "hook:warm", "warm:3", "boom"], "needy never ran; manual is not auto");
    assert.deepEqual(
      reports().map((r) => [r.entryId, r.result.ok]),
      [
        ["warm", true],
        ["boom", false],
        ["needy", false],
      ],
    );
    assert.deepEqual(reports()[0].result, { ok: true, value: { size: 3 } });
    assert.equal(typeof reports()[0].durationMs, "number");
  });

  test("a throw or an invalid {} is logged as an error naming the entry; the plugin answers calls", async () => {
    const { logs, start, call } = boot();
    await start(3);
    const errors = logs.filter((l) => l.level === "error").map((l) => l.message);
    assert.ok(errors.includes("auto-start entry 'boom' failed: cold engine"), errors.join("\n"));
    assert.ok(
      errors.includes(
        "auto-start entry 'needy' failed: invalid arguments: to: is required (it is called with {}: give its arguments defaults)",
      ),
      errors.join("\n"),
    );
    assert.ok(logs.some((l) => l.level === "info" && l.message === "auto-start entry 'warm' returned"));
    assert.deepEqual(await call("manual"), { ok: true, value: "by hand" });
  });

  test("a dynamic autoStart entry runs once: before ready with the others, after ready at registration", async () => {
    const { instance, reports, start } = boot();
    const runs: string[] = [];
    instance.registerDynamicEntry("early", () => void runs.push("early"), { autoStart: true });
    instance.registerDynamicEntry("quiet", () => void runs.push("quiet"));
    await start(4);
    assert.deepEqual(runs, ["early"]);
    instance.registerDynamicEntry("late", () => void runs.push("late"), { autoStart: true });
    await waitUntil(() => reports().length === 5);
    instance.disableEntry("late");
    instance.enableEntry("late");
    instance.unregisterDynamicEntry("early");
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.deepEqual(runs, ["early", "late"], "enabling again is not a new registration");
    instance.registerDynamicEntry("early", () => void runs.push("early again"), { autoStart: true });
    await waitUntil(() => runs.length === 3);
    assert.deepEqual(runs, ["early", "late", "early again"]);
  });

  test("an entry disabled before ready is not run", async () => {
    const { instance, logs, reports, start } = boot();
    instance.disableEntry("boom");
    await start(2);
    assert.deepEqual(
      reports().map((r) => r.entryId),
      ["warm", "needy"],
    );
    assert.ok(logs.some((l) => l.message === "auto-start entry 'boom' is disabled; it is not run"));
  });
});
