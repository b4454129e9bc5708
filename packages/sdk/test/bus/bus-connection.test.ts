import assert from "node:assert/strict";
import { test } from "node:test";
import type { BusDelivery, BusEvent } from "@neko/protocol";
import { BusConnection } from "../../src/bus/bus-connection.ts";
import { createPluginLogger } from "../../src/plugin-logger.ts";
import type { HostBridge } from "../../src/runtime/host-client.ts";

function fakeBridge() {
  const notes: Array<[string, unknown]> = [];
  const pushes = new Map<string, (payload: BusDelivery) => void>();
  const bridge: HostBridge = {
    request: async (): Promise<any> => ({ ok: true, value: null }),
    notify: (method, params) => {
      notes.push([method, params]);
      return { ok: true, value: null };
    },
    onPush: (topic, handler) => {
      pushes.set(topic, handler as (payload: BusDelivery) => void);
      return () => pushes.delete(topic);
    },
  };
  const deliver = (d: BusDelivery) => pushes.get("bus.deliver")?.(d);
  return { bridge, notes, deliver };
}

const ev = (type: string, n: number): BusEvent => ({ type, payload: { n }, publisher: "a", ts: n });
const logger = createPluginLogger("test", { level: "silent" });

test("the host hears of a type once: at its first handler and after its last one leaves", () => {
  const { bridge, notes } = fakeBridge();
  const bus = BusConnection.for(bridge, logger);
  assert.equal(BusConnection.for(bridge, logger), bus, "one connection per bridge");
  const off1 = bus.on("tick", () => {});
  const off2 = bus.on("tick", () => {});
  off1();
  off1();
  assert.deepEqual(notes, [["bus.subscribe", { type: "tick" }]]);
  off2();
  assert.deepEqual(notes.at(-1), ["bus.unsubscribe", { type: "tick" }]);
});

test("a batch is dispatched in order to type and '*' handlers, then acknowledged; a failing handler harms nobody", async () => {
  const { bridge, notes, deliver } = fakeBridge();
  const bus = BusConnection.for(bridge, logger);
  const seen: string[] = [];
  bus.on("tick", (p: { n: number }) => seen.push(`tick${p.n}`));
  bus.on("tick", () => {
    throw new Error("handler bug");
  });
  bus.on("tick", async () => {
    throw new Error("async handler bug");
  });
  bus.on("*", (_p, e) => seen.push(`*${e.type}`));
  deliver({ batch: 7, events: [ev("tick", 1), ev("tock", 2), ev("tick", 3)], deltas: [] });
  assert.deepEqual(seen, ["tick1", "*tick", "*tock", "tick3", "*tick"]);
  assert.deepEqual(notes.at(-1), ["bus.ack", { batch: 7 }]);
  await new Promise((r) => setImmediate(r));
});
