/**
 * The message queue through a real plugin process and the real HTTP server: `this.pushMessage` field rules,
 * cursor paging, the bound (oldest dropped and counted), and the SSE stream with `Last-Event-ID` resume.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import { after, before, describe, test } from "node:test";
import type { FastifyInstance } from "fastify";
import { createPluginServer } from "@neko/server";
import { makeTempDir, writePlugin } from "../support/plugin-fixtures.ts";
import { openSse } from "../support/sse-client.ts";
import { startTestHost, type TestHost } from "../support/test-host.ts";

const code = `
import { NekoPluginBase, nekoPlugin, pluginEntry, Ok } from "@neko/plugin-sdk/plugin";

@nekoPlugin
export class Messenger extends NekoPluginBase {
  @pluginEntry({ id: "push" })
  async push(message: Record<string, unknown>) {
    return await this.pushMessage(message);
  }

  @pluginEntry({ id: "push_many" })
  async pushMany({ count, prefix = "m" }: { count: number; prefix?: string }) {
    const ids: number[] = [];
    for (let i = 0; i < count; i++) {
      const r = await this.pushMessage({ content: prefix + i, priority: i % 11, source: "batch" });
      if (!r.ok) return r;
      ids.push(r.value.id);
    }
    return Ok(ids);
  }

  @pluginEntry({ id: "push_bytes" })
  async pushBytes() {
    return await this.pushMessage({ messageType: "binary", binaryData: new Uint8Array([104, 105]), description: "hi" });
  }
}
`;

const CAPACITY = 30;

describe("message queue", () => {
  let root: string;
  let t: TestHost;
  /** A second server over the same host, with a short SSE heartbeat; the last test closes it. */
  let sse: FastifyInstance;
  let sseUrl: string;
  const push = (args: object) => t.trigger("msg", "push", args);
  const pushMany = async (count: number, prefix = "m") =>
    (await t.trigger("msg", "push_many", { count, prefix })).body.data as number[];

  before(async () => {
    root = makeTempDir();
    writePlugin(root, { id: "msg", className: "Messenger", code });
    writePlugin(root, { id: "other", className: "Messenger", code });
    t = await startTestHost({ roots: [root], messages: { capacity: CAPACITY } });
    sse = await createPluginServer({ host: t.host, sseHeartbeatMs: 150 });
    await sse.listen({ port: 0, host: "127.0.0.1" });
    sseUrl = sse.listeningOrigin;
  });
  after(async () => {
    await sse?.close();
    await t?.close();
    fs.rmSync(root, { recursive: true, force: true });
  });

  test("pushMessage refuses a message that breaks a field rule, naming the field, and queues nothing", async () => {
    const cases: Array<[object, string, RegExp]> = [
      [{ messageType: "text" }, "content", /'content' is required/],
      [{ messageType: "url", content: "see example dot com" }, "content", /http\(s\) URL/],
      [{ messageType: "binary" }, "binaryData", /'binaryData' is required/],
      [{ messageType: "binary_url", content: "x" }, "binaryUrl", /'binaryUrl' is required/],
      [{ content: "x", priority: 11 }, "priority", /from 0 to 10/],
      [{ content: "x", messageType: "video" }, "messageType", /one of text, url, binary, binary_url/],
      [{ content: "x", message_type: "text" }, "message_type", /unknown field/],
    ];
    for (const [args, field, message] of cases) {
      const res = await push(args);
      assert.equal(res.status, 400, JSON.stringify(args));
      assert.equal(res.body.error.code, "VALIDATION_ERROR");
      assert.equal(res.body.error.details.field, field);
      assert.match(res.body.error.message, message);
    }
    const list = await t.request("GET", "/plugin/messages");
    assert.deepEqual(list.body.messages, []);
  });

  test("each type with its field is accepted; binary data comes back as base64", async () => {
    const text = await push({ content: "hello", description: "greeting", metadata: { lang: "en" } });
    assert.equal(text.status, 200);
    assert.deepEqual(text.body.data, { id: 1 });
    assert.equal((await push({ messageType: "url", content: "https://example.com/a" })).status, 200);
    assert.equal((await push({ messageType: "binary_url", binaryUrl: "https://example.com/f.png" })).status, 200);
    assert.equal((await t.trigger("msg", "push_bytes")).status, 200);
    const { body } = await t.request("GET", "/plugin/messages");
    assert.deepEqual(
      body.messages.map((m: any) => [m.id, m.message_type]),
      [
        [1, "text"],
        [2, "url"],
        [3, "binary_url"],
        [4, "binary"],
      ],
    );
    const first = body.messages[0];
    assert.equal(first.plugin_id, "msg");
    assert.equal(first.source, "msg", "source defaults to the plugin id");
    assert.equal(first.priority, 5);
    assert.equal(first.description, "greeting");
    assert.deepEqual(first.metadata, { lang: "en" });
    assert.ok(Date.parse(first.time) > 0);
    assert.equal(body.messages[3].binary_data, Buffer.from("hi").toString("base64"));
  });

  test("cursor paging: 25 messages read 10 at a time through `after`, with filters", async () => {
    const ids = await pushMany(25);
    assert.deepEqual(
      ids,
      Array.from({ length: 25 }, (_, i) => 5 + i),
    );
    const seen: number[] = [];
    let cursor = 4;
    const pages: number[] = [];
    for (;;) {
      const { body } = await t.request("GET", `/plugin/messages?plugin_id=msg&max_count=10&after=${cursor}`);
      pages.push(body.messages.length);
      seen.push(...body.messages.map((m: any) => m.id));
      assert.equal(body.dropped, 0);
      cursor = body.next_cursor;
      if (!body.has_more) break;
    }
    assert.deepEqual(pages, [10, 10, 5]);
    assert.deepEqual(seen, ids, "every message once, in order");
    const again = await t.request("GET", `/plugin/messages?after=${cursor}`);
    assert.deepEqual(again.body.messages, [], "nothing new after the last cursor");
    assert.equal(again.body.next_cursor, cursor);
    const urgent = await t.request("GET", "/plugin/messages?priority_min=9&after=4");
    assert.deepEqual(
      urgent.body.messages.map((m: any) => m.content),
      ["m9", "m10", "m20", "m21"],
    );
    assert.deepEqual((await t.request("GET", "/plugin/messages?plugin_id=other")).body.messages, []);
    for (const [query, field] of [
      ["max_count=0", "max_count"],
      ["max_count=ten", "max_count"],
      ["after=-1", "after"],
      ["priority_min=11", "priority_min"],
    ]) {
      const bad = await t.request("GET", `/plugin/messages?${query}`);
      assert.equal(bad.status, 400, query);
      assert.equal(bad.body.error.details.field, field);
    }
  });

  test("the queue is bounded: the oldest are dropped and counted, and a stale cursor learns what it missed", async () => {
    // 29 messages so far; 6 more make 35 for a capacity of 30.
    await pushMany(6, "late");
    const { body } = await t.request("GET", "/plugin/messages?after=0&max_count=3");
    assert.equal(body.dropped, 5);
    assert.equal(body.missed, 5, "ids 1–5 were dropped before this reader saw them");
    assert.deepEqual(
      body.messages.map((m: any) => m.id),
      [6, 7, 8],
    );
    const all = await t.request("GET", "/plugin/messages?max_count=1000");
    assert.equal(all.body.messages.length, CAPACITY);
    assert.equal(all.body.messages.at(-1).content, "late5");
  });

  test("the SSE stream delivers each pushed message with its id, sends heartbeats, and resumes from Last-Event-ID", async () => {
    const stream = await openSse(`${sseUrl}/plugin/messages/stream?plugin_id=msg`);
    assert.equal(stream.status, 200);
    assert.match(stream.headers.get("content-type") ?? "", /text\/event-stream/);
    await stream.next((e) => e.comment === "connected");
    await push({ content: "first", priority: 1 });
    await t.trigger("other", "push", { content: "skip me" });
    const [a, b] = await pushMany(2, "live");
    const first = await stream.next((e) => e.event === "message");
    assert.equal(JSON.parse(first.data ?? "").content, "first");
    const second = await stream.next((e) => e.event === "message");
    assert.equal(second.id, String(a));
    assert.deepEqual(JSON.parse(second.data ?? ""), {
      ...JSON.parse(second.data ?? ""),
      id: a,
      plugin_id: "msg",
      source: "batch",
      message_type: "text",
      content: "live0",
    });
    assert.equal(
      (await stream.next((e) => e.event === "message")).id,
      String(b),
      "the other plugin's was filtered out",
    );
    await stream.next((e) => e.comment === "heartbeat", 2000);
    stream.close();

    // A client that saw up to `a` reconnects: it gets `b`, then the live ones.
    const resumed = await openSse(`${sseUrl}/plugin/messages/stream?plugin_id=msg`, { "last-event-id": String(a) });
    const replayed = await resumed.next((e) => e.event === "message");
    assert.equal(replayed.id, String(b));
    const [c] = await pushMany(1, "after-resume");
    assert.equal((await resumed.next((e) => e.event === "message")).id, String(c));
    resumed.close();

    const stale = await openSse(`${sseUrl}/plugin/messages/stream`, { "last-event-id": "0" });
    const gap = await stale.next((e) => e.event === "gap");
    assert.ok(JSON.parse(gap.data ?? "").missed > 0, "a resume past dropped messages is told how many it missed");
    stale.close();
  });

  test("closing the server ends open SSE streams instead of waiting on them", async () => {
    const stream = await openSse(`${sseUrl}/plugin/messages/stream`);
    await stream.next((e) => e.comment === "connected");
    const started = Date.now();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      sse.close(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error("server.close() hung on an open stream")), 5000);
      }),
    ]);
    clearTimeout(timer);
    await stream.ended;
    const took = Date.now() - started;
    assert.ok(took < 2500, `closed in ${took} ms, not after the client's 4 s keep-alive timeout`);
  });
});
