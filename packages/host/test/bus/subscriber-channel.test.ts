import assert from "node:assert/strict";
import { test } from "node:test";
import { setImmediate as tick } from "node:timers/promises";
import type { BusDelivery, BusEvent, BusRecord } from "@neko/protocol";
import { SubscriberChannel } from "../../src/bus/subscriber-channel.ts";

const event = (n: number): BusEvent => ({ type: "tick", payload: { n }, publisher: "a", ts: n });
const record = (id: number): BusRecord => ({
  id,
  namespace: "events",
  type: "t",
  ts: id,
  pluginId: "a",
  source: "a",
  priority: 5,
  data: null,
});
const numbers = (deliveries: BusDelivery[]) => deliveries.flatMap((d) => d.events.map((e) => (e.payload as any).n));

test("events go out in order, in batches, never more than the window un-acknowledged", async () => {
  const sent: BusDelivery[] = [];
  const channel = new SubscriberChannel({ pluginId: "b", window: 4, queueLimit: 100, send: (d) => sent.push(d) > 0 });
  for (let n = 0; n < 10; n++) channel.enqueueEvent(event(n));
  await tick();
  assert.deepEqual(numbers(sent), [0, 1, 2, 3], "one batch filling the window");
  assert.equal(channel.stats().in_flight, 4);
  assert.equal(channel.stats().queued, 6);
  channel.ack(sent[0].batch);
  assert.deepEqual(numbers(sent), [0, 1, 2, 3, 4, 5, 6, 7], "an ack sends the next batch at once");
  channel.ack(sent[0].batch); // a repeated ack changes nothing
  await tick();
  assert.deepEqual(numbers(sent), [0, 1, 2, 3, 4, 5, 6, 7]);
  channel.ack(sent[1].batch);
  await tick();
  assert.deepEqual(numbers(sent), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.deepEqual(channel.stats(), {
    plugin_id: "b",
    types: [],
    watches: 0,
    queued: 0,
    in_flight: 2,
    delivered: 10,
    dropped: 0,
  });
  channel.close();
});

test("a plugin that stops acknowledging holds window + queue at most; the oldest queued are dropped and counted", async () => {
  const sent: BusDelivery[] = [];
  const channel = new SubscriberChannel({ pluginId: "slow", window: 8, queueLimit: 50, send: (d) => sent.push(d) > 0 });
  for (let n = 0; n < 8; n++) channel.enqueueEvent(event(n));
  await tick(); // 0..7 are in flight; the plugin never acks them
  for (let n = 8; n < 10_008; n++) channel.enqueueEvent(event(n));
  await tick();
  assert.deepEqual(channel.stats(), {
    plugin_id: "slow",
    types: [],
    watches: 0,
    queued: 50,
    in_flight: 8,
    delivered: 8,
    dropped: 10_000 - 50,
  });
  // Once it catches up it gets the newest 50, still in order.
  for (let round = 0; round < 10; round++) {
    for (const d of sent) channel.ack(d.batch);
    await tick();
  }
  assert.deepEqual(numbers(sent), [
    ...Array.from({ length: 8 }, (_, i) => i),
    ...Array.from({ length: 50 }, (_, i) => 9_958 + i),
  ]);
  channel.close();
});

test("a batch the plugin cannot be sent counts its events as dropped", async () => {
  const channel = new SubscriberChannel({ pluginId: "gone", send: () => false });
  channel.enqueueEvent(event(1));
  channel.enqueueEvent(event(2));
  await tick();
  assert.equal(channel.dropped, 2);
  assert.equal(channel.stats().in_flight, 0);
  channel.close();
});

test("watch deltas waiting to be sent are merged; a record added then evicted before sending cancels out", async () => {
  const sent: BusDelivery[] = [];
  const channel = new SubscriberChannel({ pluginId: "w", window: 1, send: (d) => sent.push(d) > 0 });
  channel.enqueueEvent(event(0)); // fills the window so the deltas have to wait
  await tick();
  channel.enqueueDelta("w1", 5, [record(5)], [1]);
  channel.enqueueDelta("w1", 6, [record(6)], [5]);
  channel.enqueueDelta("w1", 7, [record(7)], [2]);
  await tick();
  assert.equal(sent.length, 1);
  channel.ack(sent[0].batch);
  await tick();
  assert.equal(sent.length, 2);
  assert.deepEqual(sent[1].deltas, [{ watchId: "w1", revision: 7, added: [record(6), record(7)], removed: [1, 2] }]);
  channel.close();
});

test("after close nothing more is sent", async () => {
  const sent: BusDelivery[] = [];
  const channel = new SubscriberChannel({ pluginId: "c", send: (d) => sent.push(d) > 0 });
  channel.enqueueEvent(event(1));
  channel.close();
  channel.enqueueEvent(event(2));
  await tick();
  assert.deepEqual(sent, []);
});

test("a batch carries at most 16 MiB of payload (one event always goes), so no push passes the frame limit", async () => {
  const sent: BusDelivery[] = [];
  const channel = new SubscriberChannel({
    pluginId: "big",
    window: 1024,
    queueLimit: 100,
    send: (d) => sent.push(d) > 0,
  });
  const MiB = 1024 * 1024;
  for (let n = 0; n < 40; n++) channel.enqueueEvent(event(n), MiB);
  channel.enqueueEvent(event(40), 20 * MiB); // larger than a batch on its own: it goes alone
  channel.enqueueEvent(event(41), 10);
  await tick();
  assert.deepEqual(
    sent.map((d) => d.events.length),
    [16, 16, 8, 1, 1],
  );
  assert.deepEqual(
    numbers(sent),
    Array.from({ length: 42 }, (_, n) => n),
    "in order, none lost",
  );
  channel.close();
});

test("a batch that cannot be sent is counted as dropped and does not use up the window", async () => {
  const sent: BusDelivery[] = [];
  let reachable = false;
  const channel = new SubscriberChannel({
    pluginId: "gone",
    window: 4,
    queueLimit: 100,
    send: (d) => reachable && sent.push(d) > 0,
  });
  for (let n = 0; n < 3; n++) channel.enqueueEvent(event(n));
  await tick();
  assert.deepEqual([channel.stats().dropped, channel.stats().in_flight, channel.stats().delivered], [3, 0, 0]);
  reachable = true;
  channel.enqueueEvent(event(3));
  await tick();
  assert.deepEqual(numbers(sent), [3], "later events still flow");
  channel.close();
});
