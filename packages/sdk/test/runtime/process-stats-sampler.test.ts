/** The figures a plugin process sends with each pong, and the pong itself over the in-memory transport. */
import assert from "node:assert/strict";
import { test } from "node:test";
import type { PongMessage } from "@neko/protocol";
import { constructWithContext, createPluginContext } from "../../src/plugin-context.ts";
import { createPluginLogger } from "../../src/plugin-logger.ts";
import { NekoPluginBase, nekoPlugin } from "../../src/plugin.ts";
import { HostClient } from "../../src/runtime/host-client.ts";
import { MemoryPluginTransport } from "../../src/runtime/memory-plugin-transport.ts";
import { PluginRuntime } from "../../src/runtime/plugin-runtime.ts";
import { ProcessStatsSampler } from "../../src/runtime/process-stats-sampler.ts";

test("a sample has this process's memory and CPU times, and the event-loop delay since the last sample", async () => {
  const sampler = new ProcessStatsSampler();
  try {
    await new Promise((r) => setTimeout(r, 100));
    // Block the loop for 60 ms, then let the sampling timer see it.
    const until = Date.now() + 60;
    while (Date.now() < until);
    await new Promise((r) => setTimeout(r, 50));
    const first = sampler.sample();
    assert.ok(first.rssBytes > 0 && first.heapUsedBytes > 0 && first.heapTotalBytes >= first.heapUsedBytes);
    assert.ok(first.cpuUserUs > 0);
    assert.ok(Math.abs(first.uptimeMs - process.uptime() * 1000) < 1000);
    assert.equal(typeof first.loopLagP50Ms, "number");
    assert.ok((first.loopLagMaxMs ?? 0) >= 40, `the blocked loop shows in the max (${first.loopLagMaxMs} ms)`);
    // The histogram started over: a sample in the same tick has no delay figures at all.
    const second = sampler.sample();
    assert.equal(second.loopLagP50Ms, undefined);
    assert.equal(second.loopLagMaxMs, undefined);
  } finally {
    sampler.dispose();
  }
});

@nekoPlugin
class Quiet extends NekoPluginBase {}

function attached(sampleStats?: () => ReturnType<ProcessStatsSampler["sample"]>) {
  const logger = createPluginLogger("quiet", { level: "silent" });
  const ctx = createPluginContext({ pluginId: "quiet", configDir: "/tmp", dataDir: "/tmp/data", logger });
  const runtime = new PluginRuntime({
    instance: constructWithContext(ctx, () => new Quiet()),
    logger,
    entries: ctx.entries,
  });
  const transport = new MemoryPluginTransport();
  runtime.attach(transport, { client: new HostClient(transport), onShutdown: () => undefined, sampleStats });
  return transport;
}

test("a ping is answered with the sampled stats, or with a bare pong when there is no sampler", async () => {
  const stats = { rssBytes: 1, heapUsedBytes: 2, heapTotalBytes: 3, cpuUserUs: 4, cpuSystemUs: 5, uptimeMs: 6 };
  const withStats = attached(() => stats);
  const pong = withStats.next<PongMessage>((m) => m.type === "pong");
  withStats.deliver({ type: "ping", id: "7" });
  assert.deepEqual(await pong, { type: "pong", id: "7", stats });

  const bare = attached();
  const barePong = bare.next<PongMessage>((m) => m.type === "pong");
  bare.deliver({ type: "ping", id: "8" });
  assert.deepEqual(await barePong, { type: "pong", id: "8" });
});
