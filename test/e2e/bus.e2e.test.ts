/**
 * The bus through real plugin processes: emit/on across processes in order, subscriptions that end with their
 * plugin, bounded delivery to a blocked subscriber, namespace queries and watches, and the host's own records.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import { after, before, describe, test } from "node:test";
import { makeTempDir, waitFor, writePlugin } from "../support/plugin-fixtures.ts";
import { openSse } from "../support/sse-client.ts";
import { startTestHost, type TestHost } from "../support/test-host.ts";

const publisherCode = `
import { NekoPluginBase, nekoPlugin, pluginEntry, Ok } from "@neko/plugin-sdk/plugin";

@nekoPlugin
export class Publisher extends NekoPluginBase {
  @pluginEntry({ id: "emit_many" })
  emitMany({ type, count }: { type: string; count: number }) {
    for (let n = 0; n < count; n++) this.bus.emit(type, { n });
    return Ok(count);
  }

  @pluginEntry({ id: "emit_bad" })
  emitBad() {
    const wildcard = this.bus.emit("*", {});
    const priority = this.bus.emit("tick", {}, { priority: 11 });
    return Ok([wildcard, priority].map((r) => (r.ok ? "ok" : r.error.name + ": " + r.error.message)));
  }

  @pluginEntry({ id: "push" })
  async push(message: Record<string, unknown>) {
    return await this.pushMessage(message);
  }
}
`;

const subscriberCode = `
import { NekoPluginBase, nekoPlugin, pluginEntry, Ok, unwrap } from "@neko/plugin-sdk/plugin";

@nekoPlugin
export class Subscriber extends NekoPluginBase {
  seen: Array<{ type: string; n: number; publisher: string | null }> = [];
  offs: Array<() => void> = [];
  changes: unknown[] = [];

  @pluginEntry({ id: "subscribe" })
  async subscribe({ type }: { type: string }) {
    this.offs.push(this.bus.on(type, (payload: { n: number }, event) => {
      this.seen.push({ type: event.type, n: payload?.n, publisher: event.publisher });
    }));
    return await this.bus.flush();
  }

  @pluginEntry({ id: "unsubscribe_all" })
  async unsubscribeAll() {
    for (const off of this.offs.splice(0)) off();
    return await this.bus.flush();
  }

  @pluginEntry({ id: "seen" })
  seenEntry() {
    const seen = this.seen;
    this.seen = [];
    return Ok(seen);
  }

  // Says it is about to block (the frame leaves while it waits), then holds its event loop.
  @pluginEntry({ id: "block" })
  async block({ ms }: { ms: number }) {
    this.bus.emit("blocking", {});
    await new Promise((r) => setTimeout(r, 20));
    const end = Date.now() + ms;
    while (Date.now() < end) {}
    return Ok(ms);
  }

  @pluginEntry({ id: "query" })
  async query({ namespace, filters, where, sortBy, desc, limit }: any) {
    let list = unwrap(await (this.bus as any)[namespace].get(filters));
    if (where) list = list.where(where);
    if (sortBy) list = list.sort(sortBy, { desc });
    if (limit !== undefined) list = list.limit(limit);
    return Ok({ revision: list.revision, records: list.toArray() });
  }

  @pluginEntry({ id: "bad_query" })
  async badQuery() {
    const r = await this.bus.events.get({ colour: "red" } as any);
    return Ok(r.ok ? "ok" : { name: r.error.name, message: r.error.message });
  }

  // The watcher outlives this async entry: later host pushes feed it.
  @pluginEntry({ id: "watch" })
  async watch({ namespace, filters, where }: any) {
    const list = unwrap(await (this.bus as any)[namespace].get(filters));
    const watcher = (where ? list.where(where) : list).watch();
    watcher.subscribe({ on: "add" }, async ({ added, removed, current }: any) => {
      await new Promise((r) => setTimeout(r, 1));
      this.changes.push({ added: added.map((r: any) => ({ type: r.type, pluginId: r.pluginId, data: r.data })), removed: removed.length, current: current.length });
    });
    unwrap(await watcher.ready);
    return Ok({ base: list.length });
  }

  @pluginEntry({ id: "changes" })
  changesEntry() {
    return Ok(this.changes);
  }
}
`;

describe("bus across plugin processes", () => {
  let root: string;
  let t: TestHost;
  const call = async (pluginId: string, entryId: string, args: object = {}) => {
    const result = await t.host.callEntry(pluginId, entryId, args);
    if (!result.ok) throw new Error(`${pluginId}:${entryId} failed: ${result.error.code} ${result.error.message}`);
    return result.value as any;
  };
  const stats = async () => (await t.request("GET", "/bus/stats")).body;
  const subscriberOf = async (id: string) => (await stats()).subscribers.find((s: any) => s.plugin_id === id);

  before(async () => {
    root = makeTempDir();
    writePlugin(root, { id: "pub", className: "Publisher", code: publisherCode });
    for (const id of ["sub_b", "sub_c"]) writePlugin(root, { id, className: "Subscriber", code: subscriberCode });
    t = await startTestHost({ roots: [root], bus: { queueLimit: 100, deliveryWindow: 16 } });
  });
  after(async () => {
    await t?.close();
    fs.rmSync(root, { recursive: true, force: true });
  });

  test("100 numbered events from A reach B and C, all of them, in order", async () => {
    await call("sub_b", "subscribe", { type: "tick" });
    await call("sub_c", "subscribe", { type: "tick" });
    assert.equal(await call("pub", "emit_many", { type: "tick", count: 100 }), 100);
    const expected = Array.from({ length: 100 }, (_, n) => ({ type: "tick", n, publisher: "pub" }));
    for (const id of ["sub_b", "sub_c"]) {
      const seen: unknown[] = [];
      await waitFor(
        async () => {
          seen.push(...(await call(id, "seen")));
          return seen.length >= 100;
        },
        { what: `${id}'s events` },
      );
      assert.deepEqual(seen, expected, `${id} got every event once, in order`);
    }
    const b = await subscriberOf("sub_b");
    assert.deepEqual(b.types, ["tick"]);
    assert.equal(b.dropped, 0);
    assert.ok(b.delivered >= 100);
  });

  test("GET /bus/events/stream sends each published event live, filtered by type and publisher", async () => {
    const all = await openSse(`${t.url}/bus/events/stream?publisher=pub`);
    const ticks = await openSse(`${t.url}/bus/events/stream?type=sse_tick`);
    try {
      assert.equal(all.status, 200);
      await all.next((e) => e.comment === "connected");
      await ticks.next((e) => e.comment === "connected");
      await call("pub", "emit_many", { type: "sse_other", count: 1 });
      await call("pub", "emit_many", { type: "sse_tick", count: 2 });
      const data = async (stream: typeof all) => JSON.parse((await stream.next((e) => e.event === "bus")).data ?? "");
      const strip = ({ ts, ...rest }: { ts: number }) => {
        assert.equal(typeof ts, "number");
        return rest;
      };
      assert.deepEqual(strip(await data(all)), { type: "sse_other", payload: { n: 0 }, publisher: "pub" });
      assert.deepEqual(strip(await data(all)), { type: "sse_tick", payload: { n: 0 }, publisher: "pub" });
      assert.deepEqual(strip(await data(ticks)), { type: "sse_tick", payload: { n: 0 }, publisher: "pub" });
      assert.deepEqual(strip(await data(ticks)), { type: "sse_tick", payload: { n: 1 }, publisher: "pub" });
    } finally {
      all.close();
      ticks.close();
    }
  });

  test("a burst of 5000 emits in one tick loses no frame: the entry's answer arrives and every event is recorded", async () => {
    const before = t.host.bus.store("events").latestId;
    assert.equal(await call("pub", "emit_many", { type: "burst", count: 5000 }), 5000);
    const burst = t.host.bus.query("events", { type: "burst", sinceTs: 0 }).records;
    assert.equal(burst.length, 5000);
    assert.deepEqual(
      burst.map((r) => (r.data as { n: number }).n),
      Array.from({ length: 5000 }, (_, n) => n),
    );
    assert.ok(burst[0].id > before);
  });

  test("emit refuses a bad type or priority with a ValidationError and sends nothing", async () => {
    const before = (await stats()).published;
    assert.deepEqual(await call("pub", "emit_bad"), [
      "ValidationError: emit: type must be a string of 1–256 characters other than '*'",
      "ValidationError: emit: priority must be a whole number from 0 to 10",
    ]);
    assert.equal((await stats()).published, before);
  });

  test("unsubscribing stops delivery; a stopped plugin's subscriptions are removed and a new process starts with none", async () => {
    await call("sub_b", "unsubscribe_all");
    assert.deepEqual((await subscriberOf("sub_b")).types, []);
    assert.deepEqual((await subscriberOf("sub_c")).types, ["tick"]);
    assert.equal((await t.request("POST", "/plugin/sub_c/stop")).status, 200);
    assert.equal(await subscriberOf("sub_c"), undefined, "the stop removed sub_c's subscriptions");
    await call("pub", "emit_many", { type: "tick", count: 3 });
    assert.equal((await t.request("POST", "/plugin/sub_c/start")).status, 200);
    await call("pub", "emit_many", { type: "tick", count: 3 });
    await call("sub_b", "subscribe", { type: "marker" });
    await call("pub", "emit_many", { type: "marker", count: 1 });
    await waitFor(async () => (await call("sub_b", "seen")).length === 1, { what: "the marker" });
    assert.deepEqual(await call("sub_c", "seen"), [], "the restarted sub_c has no subscription");
    assert.equal(await subscriberOf("sub_c"), undefined);
    await call("sub_b", "unsubscribe_all");
  });

  test("a blocked subscriber costs bounded memory: the oldest events are dropped and counted, the rest arrive in order", async () => {
    await call("sub_b", "subscribe", { type: "flood" });
    const blocked = t.host.callEntry("sub_b", "block", { ms: 1500 });
    await waitFor(() => t.host.bus.query("events", { type: "blocking", pluginId: "sub_b" }).records.length > 0);
    await new Promise((r) => setTimeout(r, 50));
    await call("pub", "emit_many", { type: "flood", count: 2000 });
    await blocked;
    const seen: Array<{ n: number }> = [];
    let s: any;
    await waitFor(
      async () => {
        seen.push(...(await call("sub_b", "seen")));
        s = await subscriberOf("sub_b");
        return s.queued === 0 && s.in_flight === 0 && seen.length + s.dropped === 2000;
      },
      { what: "the flood to drain" },
    );
    assert.ok(s.dropped > 0, "some events were dropped");
    assert.ok(seen.length <= 16 + 100, `at most window + queue delivered (got ${seen.length})`);
    for (let i = 1; i < seen.length; i++) assert.ok(seen[i].n > seen[i - 1].n, "still in publish order");
    assert.equal(seen.at(-1)?.n, 1999, "the newest event survived");
    assert.ok((await stats()).dropped_total >= s.dropped);
    await call("sub_b", "unsubscribe_all");
  });

  test("namespaces: get with filters, then where / sort / limit, inside a plugin and over HTTP", async () => {
    await call("pub", "push", { content: "low", priority: 1 });
    await call("pub", "push", { content: "high", priority: 9 });
    await call("pub", "push", { messageType: "url", content: "https://example.com/", priority: 7 });
    const got = await call("sub_b", "query", {
      namespace: "messages",
      filters: { pluginId: "pub", priorityMin: 5 },
      sortBy: "priority",
      desc: true,
      limit: 1,
    });
    assert.equal(got.records.length, 1);
    assert.equal(got.records[0].priority, 9);
    assert.equal(got.records[0].data.content, "high");
    assert.equal(got.records[0].source, "pub");
    const urls = await call("sub_b", "query", { namespace: "messages", where: { type: "url" } });
    assert.deepEqual(
      urls.records.map((r: any) => r.data.content),
      ["https://example.com/"],
    );
    // The host wrote one events record per entry call, and lifecycle records from state changes.
    const calls = await call("sub_b", "query", {
      namespace: "events",
      filters: { type: "entry_call", pluginId: "pub" },
      where: { "data.entryId": "emit_many" },
    });
    assert.ok(calls.records.length >= 3);
    assert.equal(calls.records[0].data.ok, true);
    assert.equal(typeof calls.records[0].data.durationMs, "number");
    const life = await t.request("GET", "/bus/lifecycle?plugin_id=sub_c");
    assert.equal(life.status, 200);
    assert.deepEqual(
      life.body.records.map((r: any) => r.type),
      ["plugin_starting", "plugin_started", "plugin_stopping", "plugin_stopped", "plugin_starting", "plugin_started"],
    );
    const emitted = await t.request("GET", "/bus/events?type=tick&plugin_id=pub&max_count=2");
    assert.deepEqual(
      emitted.body.records.map((r: any) => r.data.n),
      [1, 2],
      "the latest two tick events",
    );
    assert.equal((await t.request("GET", "/bus/nowhere")).status, 400);
    assert.equal((await t.request("GET", "/bus/events?priority_min=high")).body.error.details.field, "priority_min");
    assert.deepEqual(await call("sub_b", "bad_query"), {
      name: "ValidationError",
      message: "unknown filter 'colour'; known: pluginId, source, type, priorityMin, sinceTs, maxCount",
    });
  });

  test("watch: a watcher set up in an async entry in B sees `added` when A emits or pushes a message", async () => {
    await call("sub_b", "watch", { namespace: "events", filters: { pluginId: "pub" }, where: { type: "hello" } });
    await call("sub_b", "watch", { namespace: "messages", filters: { pluginId: "pub", priorityMin: 8 } });
    await call("pub", "emit_many", { type: "hello", count: 2 });
    await call("pub", "emit_many", { type: "other", count: 1 });
    await call("pub", "push", { content: "urgent", priority: 10 });
    await call("pub", "push", { content: "not urgent", priority: 2 });
    await waitFor(async () => (await call("sub_b", "changes")).length >= 2, { what: "the watch deltas" });
    await new Promise((r) => setTimeout(r, 200)); // room for a wrong extra delta to show up
    const changes: any[] = await call("sub_b", "changes");
    const events = changes.filter((c) => c.added.every((r: any) => r.type === "hello"));
    const messages = changes.filter((c) => c.added.every((r: any) => r.type === "text"));
    assert.deepEqual(
      events.flatMap((c) => c.added.map((r: any) => r.data.n)),
      [0, 1],
      "only the hello events from pub",
    );
    assert.deepEqual(
      messages.flatMap((c) => c.added.map((r: any) => r.data.content)),
      ["urgent"],
      "only the priority ≥ 8 message",
    );
    assert.equal(events.length + messages.length, changes.length);
    assert.equal((await subscriberOf("sub_b")).watches, 2);
    await t.request("POST", "/plugin/sub_b/stop");
    assert.equal(await subscriberOf("sub_b"), undefined, "the watches ended with the process");
  });
});
