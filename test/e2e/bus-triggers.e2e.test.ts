/** Bus traffic reaching trigger handlers in another plugin process: @onEvent by type, @message by source. */
import assert from "node:assert/strict";
import fs from "node:fs";
import { after, before, describe, test } from "node:test";
import { makeTempDir, waitFor, writePlugin } from "../support/plugin-fixtures.ts";
import { startTestHost, type TestHost } from "../support/test-host.ts";

const listenerCode = `
import { NekoPluginBase, nekoPlugin, pluginEntry, onEvent, customEvent, message, Ok, z } from "@neko/plugin-sdk/plugin";

@nekoPlugin
export class Listener extends NekoPluginBase {
  seen: unknown[] = [];

  @onEvent({ eventType: "order.created", id: "on_order" })
  onOrder(payload: Record<string, unknown>) {
    this.seen.push({ handler: "on_order", payload });
  }

  @customEvent({ eventType: "order.created", id: "audit" })
  audit(payload: Record<string, unknown>) {
    this.seen.push({ handler: "audit", n: payload.n });
  }

  @onEvent({ eventType: "invoice.paid", id: "paid", inputSchema: { type: "object", properties: { amount: { type: "number" } } } })
  paid(payload: Record<string, unknown>) {
    this.seen.push({ handler: "paid", payload });
    return Ok(payload);
  }

  @customEvent({
    eventType: "invoice.paid",
    id: "paid_open",
    params: z.object({ amount: z.number() }),
    allowExtraArgs: true,
  })
  paidOpen(payload: Record<string, unknown>) {
    this.seen.push({ handler: "paid_open", payload });
    return Ok(payload);
  }

  @message({ id: "alerts", source: "alerts" })
  alerts(m: Record<string, unknown>) {
    this.seen.push({ handler: "alerts", text: m.text, sender: m.sender, source: m.source });
  }

  @message({ id: "direct" })
  direct(m: Record<string, unknown>) {
    this.seen.push({ handler: "direct", text: m.text });
  }

  @pluginEntry({ id: "seen" })
  seenEntry() {
    return Ok(this.seen);
  }
}
`;

const emitterCode = `
import { NekoPluginBase, nekoPlugin, pluginEntry, Ok, unwrap } from "@neko/plugin-sdk/plugin";

@nekoPlugin
export class Emitter extends NekoPluginBase {
  @pluginEntry({ id: "emit" })
  async emit({ type, payload }: { type: string; payload: unknown }) {
    unwrap(this.bus.emit(type, payload));
    return Ok(unwrap(await this.bus.flush()) ?? null);
  }

  @pluginEntry({ id: "push_many" })
  async pushMany({ source, texts }: { source: string; texts: string[] }) {
    // All at once: their records reach a watcher in one delta.
    await Promise.all(texts.map((text) => this.pushMessage({ source, messageType: "text", description: "d", content: text })));
    return Ok(texts.length);
  }

  @pluginEntry({ id: "push" })
  async push({ source, text }: { source: string; text: string }) {
    return Ok(unwrap(await this.pushMessage({ source, messageType: "text", description: "d", content: text })) ?? null);
  }
}
`;

describe("bus → trigger handlers", () => {
  let root: string;
  let t: TestHost;
  const call = async (plugin_id: string, entry_id: string, args: object = {}) => {
    const res = await t.trigger(plugin_id, entry_id, args);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body.data;
  };

  before(async () => {
    root = makeTempDir();
    writePlugin(root, { id: "listener", className: "Listener", code: listenerCode });
    writePlugin(root, { id: "emitter", className: "Emitter", code: emitterCode });
    t = await startTestHost({ roots: [root] });
  });
  after(async () => {
    await t.close();
    fs.rmSync(root, { recursive: true, force: true });
  });

  test("an event emitted by another plugin runs every handler of its type, and only those", async () => {
    await call("emitter", "emit", { type: "order.shipped", payload: { n: 0 } });
    await call("emitter", "emit", { type: "order.created", payload: { n: 1 } });
    const seen = await waitFor(async () => {
      const s = (await call("listener", "seen")) as any[];
      return s.length >= 2 ? s : undefined;
    });
    assert.deepEqual(seen, [
      { handler: "on_order", payload: { n: 1 } },
      { handler: "audit", n: 1 },
    ]);
  });

  test("a message pushed on the bus with a source reaches the @message handler naming that source", async () => {
    await call("emitter", "push", { source: "alerts", text: "disk full" });
    await call("emitter", "push", { source: "chatter", text: "hello" });
    const seen = await waitFor(async () => {
      const s = (await call("listener", "seen")) as any[];
      return s.some((x) => x.handler === "alerts") ? s : undefined;
    });
    const fromBus = seen.filter((x) => x.handler === "alerts" || x.handler === "direct");
    assert.deepEqual(fromBus, [{ handler: "alerts", text: "disk full", sender: "emitter", source: "alerts" }]);
    // A handler without a source still gets what is delivered to this plugin directly.
    const direct = await t.request("POST", "/plugin/listener/message", { source: "chatter", text: "to you" });
    assert.equal(direct.status, 200);
    const after = (await call("listener", "seen")) as any[];
    assert.deepEqual(after.at(-1), { handler: "direct", text: "to you" });
  });

  test("a burst of messages pushed at once reaches the handler, every one", async () => {
    const texts = Array.from({ length: 20 }, (_, i) => `alert ${i}`);
    await call("emitter", "push_many", { source: "alerts", texts });
    const got = await waitFor(async () => {
      const s = ((await call("listener", "seen")) as any[]).filter(
        (x) => x.handler === "alerts" && x.text !== "disk full",
      );
      return s.length >= texts.length ? s : undefined;
    });
    assert.deepEqual(got.map((x: { text: string }) => x.text).sort(), [...texts].sort());
  });

  test("an event from the bus with a field the handler's schema does not declare still runs it; a direct trigger refuses it", async () => {
    await call("emitter", "emit", { type: "invoice.paid", payload: { amount: 5, currency: "EUR" } });
    const seen = await waitFor(async () => {
      const s = ((await call("listener", "seen")) as any[]).filter((x) => String(x.handler).startsWith("paid"));
      return s.length >= 2 ? s : undefined;
    });
    assert.deepEqual(seen, [
      { handler: "paid", payload: { amount: 5, currency: "EUR" } },
      // A plain Zod object drops the names it does not declare; a JSON Schema passes them on.
      { handler: "paid_open", payload: { amount: 5 } },
    ]);
    // Triggered directly, the same extra name is refused, unless the handler allows it.
    const direct = await t.request("POST", "/plugin/trigger", {
      plugin_id: "listener",
      event_type: "invoice.paid",
      event_id: "paid",
      args: { amount: 1, currency: "EUR" },
    });
    assert.equal(direct.status, 400);
    assert.equal(direct.body.error.message, "invalid arguments: currency: is not an allowed argument");
    const open = await t.request("POST", "/plugin/trigger", {
      plugin_id: "listener",
      event_type: "invoice.paid",
      event_id: "paid_open",
      args: { amount: 1, currency: "EUR" },
    });
    assert.equal(open.status, 200, JSON.stringify(open.body));
    // The schema still holds on the bus: a wrong type is not run.
    await call("emitter", "emit", { type: "invoice.paid", payload: { amount: "five" } });
    await call("emitter", "emit", { type: "invoice.paid", payload: { amount: 6 } });
    const later = await waitFor(async () => {
      const s = ((await call("listener", "seen")) as any[]).filter((x) => x.handler === "paid");
      return s.length >= 2 ? s : undefined;
    });
    assert.deepEqual(
      later.map((x: { payload: unknown }) => x.payload),
      [{ amount: 5, currency: "EUR" }, { amount: 6 }],
    );
  });
});
