import assert from "node:assert/strict";
import { test } from "node:test";
import type { BusFilters, BusRecord, BusWatchDelta, WireResult } from "@neko/protocol";
import { type BusListOrigin, BusRecordList } from "../../src/bus/bus-record-list.ts";
import { type BusWatchChange, type BusWatchChannel, BusWatcher } from "../../src/bus/bus-watcher.ts";

const rec = (id: number, type = "tick", priority = 5): BusRecord => ({
  id,
  namespace: "events",
  type,
  ts: id,
  pluginId: "a",
  source: "a",
  priority,
  data: { id },
});

/** A host stand-in: the test decides when the snapshot arrives and pushes deltas by hand. */
function fakeChannel() {
  const opened: Array<{ watchId: string; filters: BusFilters; push: (d: Omit<BusWatchDelta, "watchId">) => void }> = [];
  const closed: string[] = [];
  const errors: unknown[] = [];
  let answer!: (r: WireResult) => void;
  const channel: BusWatchChannel = {
    open(_namespace, filters, onDelta) {
      const watchId = `w${opened.length + 1}`;
      opened.push({ watchId, filters, push: (d) => onDelta({ watchId, ...d }) });
      return { watchId, snapshot: new Promise<any>((resolve) => (answer = resolve)) };
    },
    close: (watchId) => closed.push(watchId),
    reportError: (_message, error) => errors.push(error),
  };
  return {
    channel,
    opened,
    closed,
    errors,
    snapshot: (records: BusRecord[], revision: number) => answer({ ok: true, value: { revision, records } }),
  };
}

function listOf(channel: BusWatchChannel, base: BusRecord[], filters: BusFilters = {}): BusRecordList {
  const origin: BusListOrigin = {
    namespace: "events",
    filters,
    revision: base.length,
    base,
    openWatcher: (from, steps) => new BusWatcher(channel, from, steps),
  };
  return new BusRecordList(origin);
}

test("subscribers get added records, with the whole current result", async () => {
  const host = fakeChannel();
  const watcher = listOf(host.channel, [rec(1), rec(2)]).watch();
  const changes: BusWatchChange[] = [];
  watcher.subscribe({ on: "add" }, (c) => changes.push(c));
  assert.equal(host.opened.length, 1, "the first subscriber opens the host watch");
  host.snapshot([rec(1), rec(2)], 2);
  assert.deepEqual(await watcher.ready, { ok: true, value: undefined });
  host.opened[0].push({ revision: 3, added: [rec(3)], removed: [] });
  assert.equal(changes.length, 1);
  assert.deepEqual(
    changes[0].added.map((r) => r.id),
    [3],
  );
  assert.deepEqual(changes[0].removed, []);
  assert.deepEqual(
    changes[0].current.map((r) => r.id),
    [1, 2, 3],
  );
  assert.equal(changes[0].revision, 3);
});

test("records that arrived between get() and the watch opening, and deltas before the snapshot, are not lost", async () => {
  const host = fakeChannel();
  const watcher = listOf(host.channel, [rec(1)]).watch();
  const changes: BusWatchChange[] = [];
  watcher.subscribe({ on: "change" }, (c) => changes.push(c));
  host.opened[0].push({ revision: 4, added: [rec(4)], removed: [1] }); // before the snapshot: buffered
  host.snapshot([rec(1), rec(2), rec(3)], 3);
  await watcher.ready;
  assert.equal(changes.length, 1);
  assert.deepEqual(
    changes[0].added.map((r) => r.id),
    [2, 3, 4],
  );
  assert.deepEqual(
    changes[0].removed.map((r) => r.id),
    [1],
  );
  assert.deepEqual(
    watcher.current.map((r) => r.id),
    [2, 3, 4],
  );
});

test("the list's steps are replayed: where filters deltas, limit pushes records out as removed", async () => {
  const host = fakeChannel();
  const list = listOf(host.channel, [rec(1, "tick", 9), rec(2, "tock", 9)]);
  const watcher = list.where({ type: "tick" }).sort("id", { desc: true }).limit(2).watch();
  const adds: BusWatchChange[] = [];
  const dels: BusWatchChange[] = [];
  watcher.subscribe({ on: "add" }, (c) => adds.push(c));
  watcher.subscribe({ on: "del" }, (c) => dels.push(c));
  host.snapshot([rec(1, "tick", 9), rec(2, "tock", 9)], 2);
  await watcher.ready;
  host.opened[0].push({ revision: 3, added: [rec(3, "tock")], removed: [] });
  assert.equal(adds.length + dels.length, 0, "a record the where() drops is no change");
  host.opened[0].push({ revision: 4, added: [rec(4, "tick")], removed: [] });
  host.opened[0].push({ revision: 5, added: [rec(5, "tick")], removed: [] });
  assert.deepEqual(
    adds.map((c) => c.added.map((r) => r.id)),
    [[4], [5]],
  );
  assert.deepEqual(
    dels.map((c) => c.removed.map((r) => r.id)),
    [[1]],
    "limit(2) pushed record 1 out",
  );
  assert.deepEqual(
    watcher.current.map((r) => r.id),
    [5, 4],
  );
});

test("maxCount bounds what the watcher holds; the host closes the watch when the last subscriber leaves", async () => {
  const host = fakeChannel();
  const watcher = listOf(host.channel, [rec(1), rec(2)], { maxCount: 2 }).watch();
  const changes: BusWatchChange[] = [];
  const off = watcher.subscribe({ on: ["add", "del"] }, (c) => changes.push(c));
  const offAsync = watcher.subscribe({ on: "add" }, async () => {
    throw new Error("subscriber bug");
  });
  host.snapshot([rec(1), rec(2)], 2);
  await watcher.ready;
  host.opened[0].push({ revision: 3, added: [rec(3)], removed: [] });
  assert.deepEqual(
    changes[0].removed.map((r) => r.id),
    [1],
  );
  assert.deepEqual(
    watcher.current.map((r) => r.id),
    [2, 3],
  );
  await new Promise((r) => setImmediate(r));
  assert.equal((host.errors[0] as Error).message, "subscriber bug", "a failing subscriber is reported, not thrown");
  off();
  assert.deepEqual(host.closed, []);
  offAsync();
  assert.deepEqual(host.closed, ["w1"]);
  host.opened[0].push({ revision: 4, added: [rec(4)], removed: [] });
  assert.equal(changes.length, 1, "nothing after close");
});

test("a bad subscribe call is a programmer error", () => {
  const host = fakeChannel();
  const watcher = listOf(host.channel, []).watch();
  assert.throws(() => watcher.subscribe({ on: "added" as never }, () => {}), /'on' must be "add", "del" or "change"/);
  assert.throws(() => watcher.subscribe({ on: "add" }, "fn" as never), TypeError);
  assert.equal(host.opened.length, 0);
});
