/** The bus fan-out measurement (bench/bus-fanout.ts) fails clearly instead of hanging when a plugin never answers. */
import assert from "node:assert/strict";
import { test } from "node:test";
import type { PluginHostApi } from "@neko/host";
import { measureBusFanout } from "../bench/bus-fanout.ts";

/** A host whose `entryId` calls to `pluginId` never settle; every other call answers as the fan-out plugins do. */
function hostLosing(
  pluginId: string,
  entryId: string,
  options: { received?: number; droppedByPublish?: number } = {},
): { host: PluginHostApi; calls: string[] } {
  const calls: string[] = [];
  const received = options.received ?? 5;
  let dropped = 0;
  const callEntry = (id: string, entry: string) => {
    calls.push(`${id}:${entry}`);
    if (id === pluginId && entry === entryId) return new Promise(() => undefined);
    if (entry === "publish") dropped += options.droppedByPublish ?? 0;
    const value =
      entry === "report" ? { received, outOfOrder: 0, lastAt: Date.now(), latencies: Array(received).fill(1) } : 5;
    return Promise.resolve({ ok: true, value });
  };
  const bus = { stats: () => ({ dropped_total: dropped }) };
  return { host: { callEntry, bus } as unknown as PluginHostApi, calls };
}

const plugins = { publisher: "pub", subscribers: ["sub_0", "sub_1"] };

test("a report that never answers fails the measurement naming the call, within its timeout", async () => {
  const { host } = hostLosing("sub_1", "report");
  const started = Date.now();
  await assert.rejects(
    measureBusFanout({ ...plugins, host, events: 5, warmupEvents: 0, timeoutMs: 300 }),
    (error: Error) => {
      assert.equal(error.message, "bus fan-out: sub_1:report did not answer within 300 ms");
      return true;
    },
  );
  const took = Date.now() - started;
  assert.ok(took >= 290 && took < 5_000, `took ${took} ms`);
});

test("a publish that never answers fails after the timeout plus its pacing", async () => {
  const { host, calls } = hostLosing("pub", "publish");
  await assert.rejects(
    measureBusFanout({ ...plugins, host, events: 5, warmupEvents: 0, timeoutMs: 200, ratePerSec: 50 }),
    { message: "bus fan-out: pub:publish did not answer within 300 ms" },
  );
  assert.deepEqual(calls, ["sub_0:subscribe", "sub_1:subscribe", "sub_0:reset", "sub_1:reset", "pub:publish"]);
});

test("answered calls: the summary counts every delivery and no failure", async () => {
  const { host } = hostLosing("nobody", "nothing");
  const summary = await measureBusFanout({ ...plugins, host, events: 5, warmupEvents: 0, timeoutMs: 300 });
  assert.equal(summary.n, 10);
  assert.equal(summary.failed, 0);
  assert.equal(summary.firstFailure, null);
});

test("deliveries the bus dropped by design are named as such in the failure", async () => {
  const { host } = hostLosing("nobody", "nothing", { received: 3, droppedByPublish: 4 });
  const summary = await measureBusFanout({ ...plugins, host, events: 5, warmupEvents: 0, timeoutMs: 200 });
  assert.equal(summary.failed, 4);
  assert.equal(
    summary.firstFailure,
    "4 deliveries never arrived (the bus dropped 4 of a subscriber past its queue and credit window: docs/bus.md)",
  );
});

test("deliveries missing with nothing dropped by the bus say only that", async () => {
  const { host } = hostLosing("nobody", "nothing", { received: 4 });
  const summary = await measureBusFanout({ ...plugins, host, events: 5, warmupEvents: 0, timeoutMs: 200 });
  assert.equal(summary.firstFailure, "2 deliveries never arrived");
});
