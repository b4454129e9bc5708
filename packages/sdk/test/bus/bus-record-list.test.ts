import assert from "node:assert/strict";
import { test } from "node:test";
import type { BusRecord } from "@neko/protocol";
import { BusRecordList } from "../../src/bus/bus-record-list.ts";

const rec = (id: number, pluginId: string, priority: number, data: Record<string, unknown>): BusRecord => ({
  id,
  namespace: "events",
  type: "tick",
  ts: 1000 + id,
  pluginId,
  source: pluginId,
  priority,
  data,
});

const base = [
  rec(1, "a", 5, { n: 3, tag: "x" }),
  rec(2, "b", 9, { n: 1, tag: "y" }),
  rec(3, "a", 2, { n: 2, tag: "x" }),
  rec(4, "c", 7, { tag: "x" }),
  rec(5, "a", 9, { n: 5, tag: "z" }),
];
const list = new BusRecordList({ namespace: "events", filters: {}, revision: 5, base });
const ids = (l: BusRecordList) => l.toArray().map((r) => r.id);

test("filter, where (with field paths), sort and limit chain", () => {
  assert.deepEqual(ids(list.filter((r) => r.priority >= 7)), [2, 4, 5]);
  assert.deepEqual(ids(list.where({ pluginId: "a" })), [1, 3, 5]);
  assert.deepEqual(ids(list.where({ pluginId: "a", "data.tag": "x" })), [1, 3]);
  assert.deepEqual(ids(list.where({ data: { n: 1, tag: "y" } })), [2], "objects compare by value");
  assert.deepEqual(ids(list.sort("data.n")), [2, 3, 1, 5, 4], "missing values last");
  assert.deepEqual(ids(list.sort("priority", { desc: true })), [2, 5, 4, 1, 3], "stable: 2 before 5");
  assert.deepEqual(ids(list.sort((x, y) => y.id - x.id).limit(2)), [5, 4]);
  assert.deepEqual(ids(list.where({ pluginId: "a" }).sort("priority", { desc: true }).limit(2)), [5, 1]);
  assert.deepEqual(ids(list.limit(0)), []);
});

test("every step returns a new list; the original never changes", () => {
  const sorted = list.sort("priority");
  const limited = sorted.limit(1);
  assert.deepEqual(ids(list), [1, 2, 3, 4, 5]);
  assert.deepEqual(ids(sorted), [3, 1, 4, 2, 5]);
  assert.deepEqual(ids(limited), [3]);
  assert.equal(list.length, 5);
  assert.equal(list.revision, 5);
  assert.equal(list.first()?.id, 1);
  assert.deepEqual(
    [...limited].map((r) => r.id),
    [3],
  );
  assert.throws(() => (list.records as BusRecord[]).push(base[0]), TypeError, "the records are frozen");
});

test("bad arguments are programmer errors; a list built by hand cannot be watched", () => {
  assert.throws(() => list.limit(-1), RangeError);
  assert.throws(() => list.sort(42 as never), TypeError);
  assert.throws(() => list.filter("x" as never), TypeError);
  assert.throws(() => list.watch(), /cannot be watched/);
});

test("a list is not a thenable, so awaiting it gives the list", async () => {
  assert.equal(await list, list);
});
