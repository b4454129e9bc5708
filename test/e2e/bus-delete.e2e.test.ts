/**
 * `this.bus.<namespace>.delete(...)`, `whereIn` and the `plugin.event` / `plugin.customEvent` decorator namespace
 * through real plugin processes (issue 13, item 5). The hostile cases: a plugin deleting another plugin's records, the
 * host's records about it, or lifecycle records; all refused, nothing lost.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import { after, before, describe, test } from "node:test";
import { makeTempDir, waitFor, writePlugin } from "../support/plugin-fixtures.ts";
import { startTestHost, type TestHost } from "../support/test-host.ts";
import { openWs } from "../support/ws-client.ts";

const code = `
import { NekoPluginBase, nekoPlugin, pluginEntry, plugin, Ok, unwrap } from "@neko/plugin-sdk/plugin";

@nekoPlugin
export class BusUser extends NekoPluginBase {
  deletedSeen: number[] = [];
  pings: unknown[] = [];

  @pluginEntry({ id: "emit" })
  async emit({ type, count }: { type: string; count: number }) {
    for (let n = 0; n < count; n++) this.bus.emit(type, { n });
    return await this.bus.flush();
  }

  @pluginEntry({ id: "push" })
  async push({ text, source }: { text: string; source?: string }) {
    return await this.pushMessage({ messageType: "text", content: text, description: "d", priority: 1, source });
  }

  @pluginEntry({ id: "converse" })
  async converse({ data, source }: { data: unknown; source?: string }) {
    return await this.bus.conversations.add({ data, ...(source && { source }) } as any);
  }

  windowWatcher: any;

  @pluginEntry({ id: "watch_window" })
  async watchWindow({ filters }: { filters: any }) {
    const list = unwrap(await this.bus.events.get(filters));
    this.windowWatcher = list.watch();
    this.windowWatcher.subscribe({ on: "change" }, () => {});
    unwrap(await this.windowWatcher.ready);
    return Ok(list.toArray().map((r: any) => r.id));
  }

  @pluginEntry({ id: "window" })
  window() {
    return Ok(this.windowWatcher.current.map((r: any) => r.id));
  }

  @pluginEntry({ id: "ids" })
  async ids({ namespace, filters, field, values }: { namespace: string; filters: any; field?: string; values?: unknown[] }) {
    const list = unwrap(await (this.bus as any)[namespace].get(filters));
    const picked = field ? list.whereIn(field, values) : list;
    return Ok(picked.toArray().map((r: any) => r.id));
  }

  @pluginEntry({ id: "delete" })
  async remove({ namespace, ids }: { namespace: string; ids: unknown }) {
    const r = await (this.bus as any)[namespace].delete(ids);
    return Ok(r.ok ? r.value : { name: r.error.name, code: r.error.code, message: r.error.message, details: r.error.details });
  }

  @pluginEntry({ id: "delete_listed" })
  async deleteListed({ type }: { type: string }) {
    const list = unwrap(await this.bus.events.get({ type, pluginId: this.pluginId }));
    return Ok(unwrap(await this.bus.events.delete(list)));
  }

  @pluginEntry({ id: "watch_deletes" })
  async watchDeletes({ type }: { type: string }) {
    const list = unwrap(await this.bus.events.get({ type }));
    const watcher = list.watch();
    watcher.subscribe({ on: "del" }, ({ removed }) => {
      for (const r of removed) this.deletedSeen.push(r.id);
    });
    unwrap(await watcher.ready);
    return Ok(list.length);
  }

  @pluginEntry({ id: "seen" })
  seen() {
    return Ok({ deleted: this.deletedSeen, pings: this.pings });
  }

  @plugin.event({ eventType: "ping", id: "on_ping" })
  onPing(payload: unknown) {
    this.pings.push(payload);
  }

  @plugin.customEvent({ eventType: "refresh", id: "refresh_handler", triggerMethod: "command" })
  onRefresh({ source }: { source: string }) {
    return Ok({ refreshed: true, source, by: this.pluginId });
  }

  @pluginEntry({ id: "call_event" })
  async callEventEntry({ ref, args }: { ref: string; args: unknown }) {
    const r = await this.plugins.callEvent(ref, args as any);
    return Ok(r.ok ? r.value : r.error.code);
  }
}
`;

describe("bus: delete, whereIn, plugin.event / plugin.customEvent", () => {
  let root: string;
  let t: TestHost;
  const call = async (id: string, entry: string, args: Record<string, unknown> = {}) => {
    const res = await t.trigger(id, entry, args);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body.data;
  };
  const idsOf = (id: string, namespace: string, filters: unknown, field?: string, values?: unknown[]) =>
    call(id, "ids", { namespace, filters, field, values }) as Promise<number[]>;

  before(async () => {
    root = makeTempDir();
    writePlugin(root, { id: "alpha", className: "BusUser", code });
    writePlugin(root, { id: "beta", className: "BusUser", code });
    t = await startTestHost({ roots: [root] });
  });
  after(async () => {
    await t.close();
    fs.rmSync(root, { recursive: true, force: true });
  });

  test("whereIn keeps the records whose field is one of the values", async () => {
    await call("alpha", "emit", { type: "numbers", count: 5 });
    const all = await idsOf("alpha", "events", { type: "numbers" });
    assert.equal(all.length, 5);
    assert.deepEqual(await idsOf("alpha", "events", { type: "numbers" }, "data.n", [1, 3, 42]), [all[1], all[3]]);
    assert.deepEqual(await idsOf("alpha", "events", { type: "numbers" }, "data.n", []), []);
    assert.deepEqual(await idsOf("alpha", "events", { type: "numbers" }, "source", ["beta", "alpha"]), all);
  });

  test("a plugin deletes its own events; watchers see them go; unknown ids come back missing", async () => {
    await call("alpha", "emit", { type: "mine", count: 3 });
    const ids = await idsOf("alpha", "events", { type: "mine" });
    assert.equal(await call("beta", "watch_deletes", { type: "mine" }), 3);
    const answer = await call("alpha", "delete", { namespace: "events", ids: [ids[0], ids[2], 999_999] });
    assert.deepEqual(answer, { deleted: [ids[0], ids[2]], missing: [999_999] });
    assert.deepEqual(await idsOf("beta", "events", { type: "mine" }), [ids[1]]);
    const seen = await waitFor(
      async () => {
        const s = await call("beta", "seen");
        return s.deleted.length === 2 ? s : undefined;
      },
      { what: "beta's watcher told of the deletion" },
    );
    assert.deepEqual([...seen.deleted].sort(), [ids[0], ids[2]].sort());
    // Again: gone already.
    assert.deepEqual(await call("alpha", "delete", { namespace: "events", ids: [ids[0]] }), {
      deleted: [],
      missing: [ids[0]],
    });
    // A list from get() deletes what it holds.
    assert.deepEqual(await call("alpha", "delete_listed", { type: "mine" }), { deleted: [ids[1]], missing: [] });
    assert.deepEqual(await idsOf("alpha", "events", { type: "mine" }), []);
  });

  test("attacker: beta cannot delete alpha's events, messages or conversation records; nothing is lost", async () => {
    await call("alpha", "emit", { type: "precious", count: 2 });
    const events = await idsOf("alpha", "events", { type: "precious" });
    const pushed = await call("alpha", "push", { text: "keep me" });
    const message = pushed.id as number;
    const conversation = (await call("alpha", "converse", { data: { turn: 1 } })).id as number;
    await call("beta", "emit", { type: "precious", count: 1 });
    const betaOwn = (await idsOf("beta", "events", { type: "precious", pluginId: "beta" }))[0];

    for (const [namespace, id] of [
      ["events", events[0]],
      ["messages", message],
      ["conversations", conversation],
    ] as const) {
      // All or nothing: beta's own record in the same call is not deleted either.
      const ids = namespace === "events" ? [betaOwn, id] : [id];
      const refused = await call("beta", "delete", { namespace, ids });
      assert.equal(refused.name, "PermissionDeniedError", JSON.stringify(refused));
      assert.equal(refused.code, "PERMISSION_DENIED");
      assert.equal(
        refused.message,
        `bus delete: record ${id} of '${namespace}' was written by plugin 'alpha'; a plugin deletes only its own records`,
      );
      assert.deepEqual(refused.details, { id, namespace });
    }
    assert.deepEqual(await idsOf("beta", "events", { type: "precious" }), [...events, betaOwn]);
    assert.deepEqual(await idsOf("beta", "messages", {}, "id", [message]), [message]);
    assert.deepEqual(await idsOf("beta", "conversations", {}, "id", [conversation]), [conversation]);
    const queue = await t.request("GET", "/plugin/messages?plugin_id=alpha");
    assert.ok(queue.body.messages.some((m: { id: number }) => m.id === message));
  });

  test("attacker: the host's records about a plugin (entry calls, lifecycle) are not its to delete", async () => {
    const calls = await idsOf("alpha", "events", { type: "entry_call", pluginId: "alpha" });
    assert.ok(calls.length > 0);
    const refused = await call("alpha", "delete", { namespace: "events", ids: [calls[0]] });
    assert.equal(refused.code, "PERMISSION_DENIED");
    assert.equal(
      refused.message,
      `bus delete: record ${calls[0]} of 'events' was written by the host; a plugin deletes only its own records`,
    );
    const lifecycle = await idsOf("alpha", "lifecycle", { pluginId: "alpha" });
    const refusedLifecycle = await call("alpha", "delete", { namespace: "lifecycle", ids: [lifecycle[0]] });
    assert.equal(refusedLifecycle.code, "VALIDATION_ERROR");
    assert.match(
      refusedLifecycle.message,
      /bus delete: records of 'lifecycle' cannot be deleted; a plugin deletes its own records of events, messages, conversations/,
    );
    assert.deepEqual(await idsOf("alpha", "lifecycle", { pluginId: "alpha" }), lifecycle);
    const bad = await call("alpha", "delete", { namespace: "events", ids: ["1; drop"] });
    assert.equal(bad.code, "VALIDATION_ERROR");
    const none = await call("alpha", "delete", { namespace: "events", ids: [] });
    assert.equal(none.code, "VALIDATION_ERROR");
    assert.equal((await t.request("GET", "/health")).status, 200);
  });

  test("attacker: a record's writer is named from who wrote it, not from the source it claims", async () => {
    const forged = (await call("beta", "push", { text: "not the host", source: "host" })).id as number;
    const refused = await call("alpha", "delete", { namespace: "messages", ids: [forged] });
    assert.equal(
      refused.message,
      `bus delete: record ${forged} of 'messages' was written by plugin 'beta'; a plugin deletes only its own records`,
    );
    const posing = (await call("beta", "converse", { data: 1, source: "alpha" })).id as number;
    const refusedToo = await call("alpha", "delete", { namespace: "conversations", ids: [posing] });
    assert.equal(
      refusedToo.message,
      `bus delete: record ${posing} of 'conversations' was written by plugin 'beta'; a plugin deletes only its own records`,
    );
    assert.deepEqual(await idsOf("alpha", "messages", {}, "id", [forged]), [forged]);
  });

  test("a watch with maxCount refills its window from older records after a delete inside it", async () => {
    await call("alpha", "emit", { type: "window", count: 6 });
    const all = await idsOf("alpha", "events", { type: "window" });
    const first = await call("beta", "watch_window", { filters: { type: "window", maxCount: 3 } });
    assert.deepEqual(first, all.slice(3));
    await call("alpha", "delete", { namespace: "events", ids: [all[5], all[4]] });
    const expected = [all[1], all[2], all[3]];
    assert.deepEqual(await idsOf("beta", "events", { type: "window", maxCount: 3 }), expected);
    const seen = await waitFor(
      async () => {
        const now = (await call("beta", "window")) as number[];
        return now.length === 3 && now[0] === all[1] ? now : undefined;
      },
      { what: "beta's watcher refilled to three records", timeoutMs: 3000 },
    );
    assert.deepEqual(seen, expected);
  });

  test("the admin WebSocket reports a deletion as bus_delete with the ids", async () => {
    const admin = await openWs(`${t.url.replace(/^http/, "ws")}/ws/admin`);
    try {
      await admin.next((m) => m.type === "hello");
      await call("alpha", "emit", { type: "ws_gone", count: 2 });
      const ids = await idsOf("alpha", "events", { type: "ws_gone" });
      await call("alpha", "delete", { namespace: "events", ids });
      const deletion = await admin.next((m) => m.type === "bus_delete");
      assert.deepEqual(deletion, { type: "bus_delete", namespace: "events", ids });
    } finally {
      await admin.close();
    }
  });

  test("a message deleted by its plugin leaves the queue", async () => {
    const { id } = await call("alpha", "push", { text: "retract me" });
    assert.deepEqual(await call("alpha", "delete", { namespace: "messages", ids: [id] }), {
      deleted: [id],
      missing: [],
    });
    const queue = await t.request("GET", "/plugin/messages?plugin_id=alpha");
    assert.ok(!queue.body.messages.some((m: { id: number }) => m.id === id));
  });

  test("@plugin.event and @plugin.customEvent are @onEvent and @customEvent", async () => {
    await call("alpha", "emit", { type: "ping", count: 2 });
    const seen = await waitFor(
      async () => {
        const s = await call("beta", "seen");
        return s.pings.length === 2 ? s : undefined;
      },
      { what: "beta's @plugin.event handler run twice" },
    );
    assert.deepEqual(seen.pings, [{ n: 0 }, { n: 1 }]);
    assert.deepEqual(
      await call("alpha", "call_event", { ref: "beta:refresh:refresh_handler", args: { source: "a" } }),
      {
        refreshed: true,
        source: "a",
        by: "beta",
      },
    );
  });
});
