import assert from "node:assert/strict";
import { test } from "node:test";
import type { BusRecord } from "@neko/protocol";
import { type BusRecordChange, BusRecordStore } from "../../src/bus/bus-record-store.ts";
import { createSilentLogger } from "../../src/host-logger.ts";

const logger = createSilentLogger();

function filled(): BusRecordStore {
  const store = new BusRecordStore({ logger, namespace: "events", capacity: 100 });
  const rows: Array<[string, string, number, number]> = [
    ["a", "tick", 5, 1000],
    ["b", "tick", 8, 2000],
    ["a", "tock", 2, 3000],
    ["c", "tick", 9, 4000],
    ["a", "tick", 7, 5000],
  ];
  for (const [pluginId, type, priority, ts] of rows) {
    store.append({ type, pluginId, source: pluginId, priority, ts, data: { ts } });
  }
  return store;
}

test("ids and the revision grow by one per record", () => {
  const store = filled();
  assert.deepEqual(
    store.query().map((r) => r.id),
    [1, 2, 3, 4, 5],
  );
  assert.equal(store.revision, 5);
  assert.equal(store.latestId, 5);
});

test("query filters by plugin, source, type, priority and time, and keeps the latest maxCount", () => {
  const store = filled();
  const ids = (records: BusRecord[]) => records.map((r) => r.id);
  assert.deepEqual(ids(store.query({ pluginId: "a" })), [1, 3, 5]);
  assert.deepEqual(ids(store.query({ source: "b" })), [2]);
  assert.deepEqual(ids(store.query({ type: "tick", priorityMin: 7 })), [2, 4, 5]);
  assert.deepEqual(ids(store.query({ sinceTs: 3000 })), [3, 4, 5]);
  assert.deepEqual(ids(store.query({ pluginId: "a", maxCount: 2 })), [3, 5], "latest two, oldest first");
  assert.deepEqual(ids(store.query({ maxCount: 0 })), []);
});

test("the capacity bound evicts the oldest, reports it to listeners and counts it", () => {
  const store = new BusRecordStore({ logger, namespace: "lifecycle", capacity: 3 });
  const changes: BusRecordChange[] = [];
  store.onChange((c) => changes.push(c));
  for (let i = 0; i < 5; i++) store.append({ type: "t", pluginId: null, source: "host", data: i });
  assert.deepEqual(
    store.query().map((r) => r.data),
    [2, 3, 4],
  );
  assert.equal(store.evicted, 2);
  assert.equal(store.oldestId, 3);
  assert.deepEqual(
    changes.map((c) => [c.revision, c.added.map((r) => r.id), c.removed.map((r) => r.id)]),
    [
      [1, [1], []],
      [2, [2], []],
      [3, [3], []],
      [4, [4], [1]],
      [5, [5], [2]],
    ],
  );
});

test("a byte budget evicts the oldest records until the total fits; each record is measured once, when added", () => {
  const one = new BusRecordStore({ logger, namespace: "events", capacity: 100 });
  one.append({ type: "text", pluginId: "p", source: "p", data: "x".repeat(40) });
  const recordBytes = one.stats().bytes;
  assert.ok(recordBytes > 40, "the data and the record's own fields count");
  const store = new BusRecordStore({ logger, namespace: "events", capacity: 100, maxBytes: recordBytes * 2.5 });
  store.append({ type: "text", pluginId: "p", source: "p", data: "x".repeat(40) });
  store.append({ type: "text", pluginId: "p", source: "p", data: "y".repeat(40) });
  store.append({ type: "text", pluginId: "p", source: "p", data: "z".repeat(40) });
  assert.deepEqual(
    store.query().map((r) => r.id),
    [2, 3],
  );
  assert.equal(store.evicted, 1);
  assert.equal(store.stats().bytes, recordBytes * 2);
});

test("every namespace has a byte bound by default", () => {
  const store = new BusRecordStore({ logger, namespace: "conversations" });
  const big = "b".repeat(1024 * 1024);
  for (let i = 0; i < 40; i++) store.append({ type: "note", pluginId: "p", source: "p", data: big });
  const stats = store.stats();
  assert.ok(stats.max_bytes <= 64 * 1024 * 1024, `bounded (${stats.max_bytes})`);
  assert.ok(stats.bytes <= stats.max_bytes);
  assert.ok(stats.evicted > 0, "40 MiB of records do not all stay");
});

test("after() pages forward by cursor, skips filtered records and reports evicted ones as missed", () => {
  const store = new BusRecordStore({ logger, namespace: "messages", capacity: 10 });
  for (let i = 1; i <= 25; i++) {
    store.append({ type: "text", pluginId: i % 2 ? "odd" : "even", source: "s", data: i });
  }
  // Kept: ids 16..25.
  const first = store.after(0, {}, 4);
  assert.deepEqual(
    first.records.map((r) => r.id),
    [16, 17, 18, 19],
  );
  assert.equal(first.missed, 15, "ids 1..15 were evicted before they were read");
  assert.equal(first.scannedTo, 19);
  const filtered = store.after(19, { pluginId: "even" }, 2);
  assert.deepEqual(
    filtered.records.map((r) => r.id),
    [20, 22],
  );
  assert.equal(filtered.scannedTo, 23, "past the skipped id 23, up to the next match it had no room for");
  const rest = store.after(filtered.scannedTo, { pluginId: "even" }, 10);
  assert.deepEqual(
    rest.records.map((r) => r.id),
    [24],
  );
  assert.equal(rest.scannedTo, 25, "the cursor moves past the odd ids it skipped");
  assert.deepEqual(store.after(25, {}, 10).records, []);
});

test("a throwing change listener is logged; the append still succeeds and later listeners still run", () => {
  const errors: unknown[] = [];
  const recording = createSilentLogger();
  recording.error = ((fields: { err: unknown }) => errors.push(fields.err)) as typeof recording.error;
  const store = new BusRecordStore({ logger: recording, namespace: "conversations", capacity: 10 });
  const seen: number[] = [];
  store.onChange(() => {
    throw new Error("listener bug");
  });
  store.onChange((change) => seen.push(change.added[0].id));
  const record = store.append({ type: "note", pluginId: "p", source: "p", data: 1 });
  assert.equal(record.id, 1);
  assert.deepEqual(seen, [1]);
  assert.equal(store.size, 1);
  assert.match(String(errors[0]), /listener bug/);
});

test("delete leaves a tombstone: reads skip it, ids stay contiguous for cursors, evictions are not miscounted", () => {
  const store = new BusRecordStore({ logger, namespace: "messages", capacity: 4 });
  const changes: BusRecordChange[] = [];
  store.onChange((change) => changes.push(change));
  const ids = [1, 2, 3].map((n) => store.append({ type: "t", pluginId: "p", source: "p", data: { n } }).id);
  const revision = store.revision;
  assert.deepEqual(
    store.delete([ids[1], ids[1], 99]).map((r) => r.id),
    [ids[1]],
  );
  assert.equal(store.revision, revision + 1);
  assert.deepEqual(changes.at(-1)?.added, []);
  assert.deepEqual(
    changes.at(-1)?.removed.map((r) => r.id),
    [ids[1]],
  );
  assert.equal(store.get(ids[1]), undefined);
  assert.equal(store.get(ids[0])?.id, ids[0]);
  assert.equal(store.size, 2);
  assert.deepEqual(
    store.query().map((r) => r.id),
    [ids[0], ids[2]],
  );
  const page = store.after(ids[0], {}, 10);
  assert.deepEqual(
    page.records.map((r) => r.id),
    [ids[2]],
  );
  assert.equal(page.missed, 0);
  // Nothing to delete: no change, no new revision.
  assert.deepEqual(store.delete([ids[1]]), []);
  assert.equal(store.revision, revision + 1);
  // Filling the ring pushes the tombstone out first: not an eviction, not reported removed again.
  store.append({ type: "t", pluginId: "p", source: "p" });
  store.append({ type: "t", pluginId: "p", source: "p" });
  assert.equal(store.evicted, 1, "only the first record was evicted");
  store.append({ type: "t", pluginId: "p", source: "p" });
  assert.equal(store.evicted, 1, "the tombstone went without counting");
  assert.ok(changes.at(-1)?.removed.every((r) => r.id !== ids[1]));
  assert.equal(store.size, 4);
});

test("a deleted record's slot keeps its id only: the record and its data are let go, watchers still get it whole", () => {
  const store = new BusRecordStore({ logger, namespace: "conversations", capacity: 10 });
  const big = store.append({ type: "c", pluginId: "a", source: "a", data: { blob: "y".repeat(100_000) } });
  const changes: BusRecordChange[] = [];
  store.onChange((change) => changes.push(change));
  assert.deepEqual(
    store.delete([big.id]).map((r) => r.id),
    [big.id],
  );
  assert.deepEqual(store.slot(big.id), { id: big.id, record: undefined, bytes: store.slot(big.id)?.bytes });
  assert.equal(store.slot(big.id)?.record, undefined);
  assert.equal(JSON.stringify(store.slot(big.id)).includes("yyyy"), false);
  assert.equal((changes[0]?.removed[0]?.data as { blob: string } | undefined)?.blob.length, 100_000);
  assert.equal(store.stats().bytes, 0);
});

test("after() does not count records deleted before they were evicted as missed", () => {
  const store = new BusRecordStore({ logger, namespace: "messages", capacity: 3 });
  for (let i = 0; i < 6; i++) store.append({ type: "m", pluginId: "a", source: "a" });
  // ids 4, 5, 6 kept; delete 4 and 5, then push them out with 7 and 8.
  store.delete([4, 5]);
  store.append({ type: "m", pluginId: "a", source: "a" });
  store.append({ type: "m", pluginId: "a", source: "a" });
  const page = store.after(3, {}, 10);
  assert.deepEqual(
    page.records.map((r) => r.id),
    [6, 7, 8],
  );
  assert.equal(page.missed, 0);
  // From cursor 0: ids 1, 2, 3 were evicted live (missed), 4 and 5 were deleted (not missed).
  assert.equal(store.after(0, {}, 10).missed, 3);
});
