/**
 * Message handlers, event handlers and status reports (SPEC §3.4, §3.5) through a real plugin process, plus
 * `dataPath` and `this.metadata`.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { makeTempDir, waitFor, writePlugin } from "../support/plugin-fixtures.ts";
import { simplePluginCode } from "../support/sample-plugins.ts";
import { startTestHost, type TestHost } from "../support/test-host.ts";

const code = `
import fs from "node:fs";
import {
  NekoPluginBase, nekoPlugin, pluginEntry, lifecycle, message, onEvent, customEvent, plugin, Ok,
  type PluginMessage,
} from "@neko/plugin-sdk/plugin";

@nekoPlugin
export class InboxPlugin extends NekoPluginBase {
  received: string[] = [];
  orders = 0;
  autoRuns = 0;
  manualPrimes = 0;

  @lifecycle({ id: "startup" })
  onStartup() {
    this.reportStatus({ phase: "started", orders: 0 });
  }

  @message({ id: "everything" })
  everything(msg: PluginMessage) {
    this.received.push("everything:" + msg.source);
    return Ok({ got: msg.text });
  }

  @message({ id: "chat_only", source: "chat" })
  chat(msg: PluginMessage) {
    this.received.push("chat_only:" + msg.source);
    return { reply: "chat from " + msg.sender + ": " + msg.text, extra: msg.extra ?? null };
  }

  @plugin.message({ id: "email_only", source: "email" })
  email(msg: PluginMessage) {
    this.received.push("email_only:" + msg.source);
    return Ok("mail " + msg.text);
  }

  @message({ id: "sleepy", source: "later", autoStart: false })
  sleepy(msg: PluginMessage) {
    this.received.push("sleepy:" + msg.source);
  }

  @message({ id: "broken", source: "broken" })
  broken() {
    throw new Error("handler broke");
  }

  @onEvent({
    eventType: "order_placed",
    id: "count_order",
    inputSchema: { type: "object", properties: { amount: { type: "number" } }, required: ["amount"] },
  })
  countOrder({ amount }: { amount: number }) {
    this.orders += amount;
    this.reportStatus({ phase: "busy", orders: this.orders });
    return Ok({ total: this.orders });
  }

  @customEvent({ eventType: "warmup", id: "prime", triggerMethod: "auto" })
  prime() {
    this.autoRuns += 1;
    return Ok("primed");
  }

  @customEvent({ eventType: "warmup", id: "manual_prime", description: "prime again by hand" })
  manualPrime() {
    this.manualPrimes += 1;
    return Ok({ manualPrimes: this.manualPrimes });
  }

  @customEvent({ eventType: "job", id: "slow_job", timeout: 0.3 })
  async slowJob() {
    await new Promise((resolve) => setTimeout(resolve, 3000));
    return Ok("too late");
  }

  @pluginEntry({ id: "state" })
  state() {
    const snapshot = { received: this.received, orders: this.orders, autoRuns: this.autoRuns, manualPrimes: this.manualPrimes };
    this.received = [];
    return Ok(snapshot);
  }

  @pluginEntry({ id: "wake" })
  wake() {
    return Ok(this.enableMessageHandler("sleepy"));
  }

  @pluginEntry({ id: "report" })
  report({ size }: { size: number }) {
    return this.reportStatus({ blob: "x".repeat(size) });
  }

  @pluginEntry({ id: "files" })
  files() {
    const file = this.dataPath("notes", "a.txt");
    fs.mkdirSync(this.dataPath("notes"), { recursive: true });
    fs.writeFileSync(file, "written by the plugin");
    let escaped = "";
    try {
      this.dataPath("..", "outside.txt");
    } catch (error) {
      escaped = (error as Error).message;
    }
    const meta = this.metadata as { plugin: { name: string; version: string }; inbox: { greeting: string } };
    return Ok({ file, escaped, name: meta.plugin.name, version: meta.plugin.version, greeting: meta.inbox.greeting });
  }
}
`;

const manifest = `[plugin]
id = "inbox"
name = "Inbox"
version = "1.2.3"
entry = "index.ts:InboxPlugin"

[inbox]
greeting = "hello from the manifest"
`;

describe("messages, events and status through a real plugin", () => {
  let root: string;
  let t: TestHost;
  const send = (body: unknown) => t.request("POST", "/plugin/inbox/message", body);
  const state = async () => (await t.trigger("inbox", "state")).body.data;
  const event = (event_type: string, event_id: string, args?: object) =>
    t.request("POST", "/plugin/trigger", { plugin_id: "inbox", event_type, event_id, args });

  before(async () => {
    root = makeTempDir();
    writePlugin(root, { id: "inbox", className: "InboxPlugin", code, manifest });
    writePlugin(root, { id: "quiet", className: "QuietPlugin", code: simplePluginCode("QuietPlugin") });
    t = await startTestHost({ roots: [root] });
  });
  after(async () => {
    await t.close();
    fs.rmSync(root, { recursive: true, force: true });
  });

  test("a message reaches the handlers without a source and those with its source, in order", async () => {
    await state();
    const chat = await send({ source: "chat", text: "hi", sender: "alice", extra: { mood: "happy" } });
    assert.equal(chat.status, 200);
    assert.deepEqual(chat.body, {
      success: true,
      plugin_id: "inbox",
      delivered: 2,
      handlers: [
        { id: "everything", success: true, data: { got: "hi" }, error: null },
        {
          id: "chat_only",
          success: true,
          data: { reply: "chat from alice: hi", extra: { mood: "happy" } },
          error: null,
        },
      ],
    });
    const mail = await send({ source: "email", text: "report", sender: "bob" });
    assert.deepEqual(
      mail.body.handlers.map((h: { id: string }) => h.id),
      ["everything", "email_only"],
    );
    const other = await send({ source: "sensor", text: "42" });
    assert.deepEqual(
      other.body.handlers.map((h: { id: string }) => h.id),
      ["everything"],
    );
    assert.deepEqual((await state()).received, [
      "everything:chat",
      "chat_only:chat",
      "everything:email",
      "email_only:email",
      "everything:sensor",
    ]);
  });

  test("a handler that throws is reported as failed; the others still ran", async () => {
    const res = await send({ source: "broken", text: "x" });
    assert.equal(res.status, 200);
    assert.deepEqual(res.body.handlers[0], { id: "everything", success: true, data: { got: "x" }, error: null });
    assert.equal(res.body.handlers[1].id, "broken");
    assert.equal(res.body.handlers[1].success, false);
    assert.deepEqual(res.body.handlers[1].error, { code: "ENTRY_FAILED", message: "handler broke", details: null });
  });

  test("an autoStart: false handler receives nothing until it is enabled", async () => {
    await state();
    const asleep = await send({ source: "later", text: "1" });
    assert.deepEqual(
      asleep.body.handlers.map((h: { id: string }) => h.id),
      ["everything"],
    );
    assert.equal((await t.trigger("inbox", "wake")).body.data, true);
    const awake = await send({ source: "later", text: "2" });
    assert.deepEqual(
      awake.body.handlers.map((h: { id: string }) => h.id),
      ["everything", "sleepy"],
    );
  });

  test("a message without string source and text is refused, and so is an unknown plugin", async () => {
    const noText = await send({ source: "chat" });
    assert.equal(noText.status, 400);
    assert.equal(noText.body.error.code, "VALIDATION_ERROR");
    assert.match(noText.body.error.message, /text/);
    const badSource = await send({ source: 7, text: "x" });
    assert.equal(badSource.status, 400);
    assert.match(badSource.body.error.message, /source/);
    const badSender = await send({ source: "chat", text: "x", sender: ["a"] });
    assert.equal(badSender.status, 400);
    assert.match(badSender.body.error.message, /sender/);
    const ghost = await t.request("POST", "/plugin/ghost/message", { source: "chat", text: "x" });
    assert.equal(ghost.status, 404);
    assert.equal(ghost.body.error.code, "PLUGIN_NOT_FOUND");
    const none = await t.request("POST", "/plugin/quiet/message", { source: "chat", text: "x" });
    assert.deepEqual(none.body, { success: true, plugin_id: "quiet", delivered: 0, handlers: [] });
  });

  test("an event handler is callable by type and id through POST /plugin/trigger, answered like an entry", async () => {
    const res = await event("order_placed", "count_order", { amount: 5 });
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, {
      success: true,
      plugin_id: "inbox",
      event_type: "order_placed",
      event_id: "count_order",
      run_id: null,
      data: { total: 5 },
      error: null,
    });
    const invalid = await event("order_placed", "count_order", { amount: "five" });
    assert.equal(invalid.status, 400);
    assert.match(invalid.body.error.message, /amount/);
    const unknown = await event("order_placed", "nope");
    assert.equal(unknown.status, 404);
    assert.equal(unknown.body.error.code, "EVENT_NOT_FOUND");
    assert.match(unknown.body.error.message, /plugin 'inbox' has no event handler 'order_placed:nope'/);
    const slow = await event("job", "slow_job");
    assert.equal(slow.status, 504);
    assert.equal(slow.body.error.message, "event 'inbox:job:slow_job' timed out after 0.3s");
    assert.deepEqual(slow.body.error.details, {
      plugin: "inbox",
      entry: "job:slow_job",
      timeoutMs: 300,
      firedBy: "plugin",
    });
  });

  test("an event reference must be complete and not mixed with an entry id", async () => {
    const both = await t.request("POST", "/plugin/trigger", {
      plugin_id: "inbox",
      entry_id: "state",
      event_type: "warmup",
      event_id: "prime",
    });
    assert.equal(both.status, 400);
    assert.match(both.body.error.message, /either entry_id or event_type and event_id, not both/);
    const half = await t.request("POST", "/plugin/trigger", { plugin_id: "inbox", event_type: "warmup" });
    assert.equal(half.status, 400);
    assert.match(half.body.error.message, /needs both event_type and event_id/);
    const neither = await t.request("POST", "/plugin/trigger", { plugin_id: "inbox" });
    assert.equal(neither.status, 400);
    assert.match(neither.body.error.message, /entry_id/);
  });

  test("triggerMethod 'auto' runs once after startup; other custom events wait to be called", async () => {
    const s = await waitFor(async () => {
      const data = await state();
      return data.autoRuns > 0 ? data : undefined;
    });
    assert.equal(s.autoRuns, 1);
    assert.equal(s.manualPrimes, 0);
    const manual = await event("warmup", "manual_prime");
    assert.deepEqual(manual.body.data, { manualPrimes: 1 });
    assert.equal((await state()).autoRuns, 1, "still once");
  });

  test("/plugins lists the event handlers and the message handlers", async () => {
    const plugin = (await t.request("GET", "/plugins/inbox")).body;
    assert.deepEqual(
      plugin.events.map((e: { event_type: string; id: string }) => `${e.event_type}:${e.id}`),
      ["order_placed:count_order", "warmup:prime", "warmup:manual_prime", "job:slow_job"],
    );
    assert.deepEqual(
      plugin.events.find((e: { id: string }) => e.id === "manual_prime"),
      {
        id: "manual_prime",
        event_type: "warmup",
        kind: "custom",
        trigger_method: "message",
        name: "manual_prime",
        description: "prime again by hand",
      },
    );
    assert.equal(plugin.events.find((e: { id: string }) => e.id === "prime").trigger_method, "auto");
    assert.deepEqual(plugin.message_handlers.slice(0, 2), [
      { id: "everything", source: null, auto_start: true },
      { id: "chat_only", source: "chat", auto_start: true },
    ]);
  });

  test("reportStatus is visible at GET /plugin/status, for all plugins and for one", async () => {
    await event("order_placed", "count_order", { amount: 1 });
    const one = await waitFor(async () => {
      const res = await t.request("GET", "/plugin/status?plugin_id=inbox");
      return res.body.status?.phase === "busy" ? res : undefined;
    });
    assert.equal(one.status, 200);
    assert.equal(one.body.plugin_id, "inbox");
    assert.equal(one.body.status.orders, 6);
    assert.ok(Date.parse(one.body.updated_at) <= Date.parse(one.body.time));
    const all = await t.request("GET", "/plugin/status");
    assert.equal(all.status, 200);
    assert.deepEqual(Object.keys(all.body.plugins), ["inbox"], "only plugins that reported are listed");
    assert.deepEqual(all.body.plugins.inbox.status, { phase: "busy", orders: 6 });
    const quiet = await t.request("GET", "/plugin/status?plugin_id=quiet");
    assert.equal(quiet.status, 200);
    assert.equal(quiet.body.status, null, "a plugin that never reported");
    const ghost = await t.request("GET", "/plugin/status?plugin_id=ghost");
    assert.equal(ghost.status, 404);
    assert.equal(ghost.body.error.code, "PLUGIN_NOT_FOUND");
  });

  test("an oversized status is refused with a clear error and the previous one stays", async () => {
    const big = await t.trigger("inbox", "report", { size: 70_000 });
    assert.equal(big.status, 400);
    assert.match(big.body.error.message, /reportStatus: the status is \d+ bytes as JSON; the limit is 65536/);
    const kept = await t.request("GET", "/plugin/status?plugin_id=inbox");
    assert.deepEqual(kept.body.status, { phase: "busy", orders: 6 }, "the refused report replaced nothing");
    const ok = await t.trigger("inbox", "report", { size: 10 });
    assert.equal(ok.status, 200);
    const res = await waitFor(async () => {
      const r = await t.request("GET", "/plugin/status?plugin_id=inbox");
      return r.body.status?.blob ? r : undefined;
    });
    assert.equal(res.body.status.blob, "x".repeat(10));
  });

  test("dataPath stays under data/ and this.metadata is the parsed manifest", async () => {
    const res = await t.trigger("inbox", "files");
    assert.equal(res.status, 200);
    const { file, escaped, name, version, greeting } = res.body.data;
    assert.equal(file, path.join(root, "inbox", "data", "notes", "a.txt"));
    assert.equal(fs.readFileSync(file, "utf8"), "written by the plugin");
    assert.match(escaped, /dataPath: '\.\.\/outside\.txt' leaves the plugin's data folder/);
    assert.deepEqual([name, version, greeting], ["Inbox", "1.2.3", "hello from the manifest"]);
  });
});
