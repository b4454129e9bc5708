/**
 * The OneBot endpoints over real sockets, without a host (docs/onebot.md#urls): HTTP POST with quick replies, reverse
 * WebSocket with send_msg frames, the access token and the secret on both, bad input answered and survived.
 */
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { WebSocket } from "ws";
import { OneBotAccess } from "../../plugins/onebot_adapter/onebot-access.ts";
import type { OneBotMessageEvent } from "../../plugins/onebot_adapter/onebot-event.ts";
import { OneBotServer } from "../../plugins/onebot_adapter/onebot-server.ts";

const TOKEN = "s3cret-token";
const SECRET = "sign-me";
const quiet = { debug() {}, info() {}, warn() {} };

function messageEvent(text: string, extra: Record<string, unknown> = {}) {
  return {
    time: 1_700_000_000,
    self_id: 10001,
    post_type: "message",
    message_type: "private",
    sub_type: "friend",
    message_id: 1,
    user_id: 20002,
    message: text,
    raw_message: text,
    font: 0,
    sender: { user_id: 20002 },
    ...extra,
  };
}

/** Echoes the text of every message that starts with "say ", answers nothing to others. */
async function echo(event: OneBotMessageEvent): Promise<string | undefined> {
  const text = typeof event.message === "string" ? event.message : "";
  if (text === "boom") throw new Error("a bug in the handler");
  return text.startsWith("say ") ? `you said ${text.slice(4)}` : undefined;
}

function post(url: string, body: string, headers: Record<string, string> = {}) {
  return fetch(url, { method: "POST", headers: { "content-type": "application/json", ...headers }, body });
}

function connect(url: string, headers: Record<string, string>): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    ws.once("open", () => resolve(ws));
    ws.once("unexpected-response", (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    ws.once("error", reject);
  });
}

function nextFrame(ws: WebSocket): Promise<any> {
  return new Promise((resolve) => ws.once("message", (data) => resolve(JSON.parse(String(data)))));
}

describe("OneBot endpoints with an access token", () => {
  let server: OneBotServer;
  const seen: OneBotMessageEvent[] = [];
  const auth = { authorization: `Bearer ${TOKEN}` };

  before(async () => {
    server = await OneBotServer.listen({
      host: "127.0.0.1",
      port: 0,
      access: new OneBotAccess({ accessToken: TOKEN }),
      logger: quiet,
      onMessage: async (event) => {
        seen.push(event);
        return echo(event);
      },
    });
  });
  after(() => server.close());

  test("a message event over HTTP POST gets the quick reply; the bare root and NoneBot's path work too", async () => {
    assert.match(server.httpUrl, /^http:\/\/127\.0\.0\.1:\d+\/onebot\/v11\/http$/);
    const res = await post(server.httpUrl, JSON.stringify(messageEvent("say hi")), auth);
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { reply: "you said hi", auto_escape: true });
    const root = server.httpUrl.replace("/onebot/v11/http", "/");
    assert.equal((await post(root, JSON.stringify(messageEvent("say root")), auth)).status, 200);
    const nonebot = server.httpUrl.replace("/http", "/");
    assert.equal((await post(nonebot, JSON.stringify(messageEvent("say nb")), auth)).status, 200);
  });

  test("a group message's quick reply does not @ the sender", async () => {
    const group = messageEvent("say all", { message_type: "group", group_id: 30003 });
    const res = await post(server.httpUrl, JSON.stringify(group), auth);
    assert.deepEqual(await res.json(), { reply: "you said all", auto_escape: true, at_sender: false });
  });

  test("no reply, a heartbeat, a notice: 204 with no body; a heartbeat never reaches the handler", async () => {
    const before = seen.length;
    assert.equal((await post(server.httpUrl, JSON.stringify(messageEvent("just chatting")), auth)).status, 204);
    const heartbeat = { post_type: "meta_event", meta_event_type: "heartbeat", self_id: 10001, time: 1 };
    const res = await post(server.httpUrl, JSON.stringify(heartbeat), auth);
    assert.equal(res.status, 204);
    assert.equal(await res.text(), "");
    assert.equal(seen.length, before + 1);
  });

  test("the token: ?access_token= and 'Token <t>' are taken; missing is 401, wrong is 403, and neither is handled", async () => {
    const before = seen.length;
    const body = JSON.stringify(messageEvent("say q"));
    assert.equal((await post(`${server.httpUrl}?access_token=${TOKEN}`, body)).status, 200);
    assert.equal((await post(server.httpUrl, body, { authorization: `Token ${TOKEN}` })).status, 200);
    const missing = await post(server.httpUrl, body);
    assert.equal(missing.status, 401);
    assert.equal((await missing.json()).error.code, "unauthorized");
    const wrong = await post(server.httpUrl, body, { authorization: "Bearer nope" });
    assert.equal(wrong.status, 403);
    assert.deepEqual(await wrong.json(), { error: { code: "forbidden", message: "the access token is wrong" } });
    assert.equal((await post(`${server.httpUrl}?access_token=nope`, body)).status, 403);
    assert.equal(seen.length, before + 2);
    assert.ok(server.counters.refused >= 3);
  });

  test("bad JSON and a malformed event are a 400 that says why; a throwing handler answers nothing; it keeps serving", async () => {
    const badJson = await post(server.httpUrl, "{not json", auth);
    assert.equal(badJson.status, 400);
    const badJsonBody = await badJson.json();
    assert.equal(badJsonBody.error.code, "invalid_json");
    assert.match(badJsonBody.error.message, /^the body is not JSON: /);
    const badEvent = await post(server.httpUrl, JSON.stringify(messageEvent("say x", { user_id: "me" })), auth);
    assert.equal(badEvent.status, 400);
    assert.deepEqual(await badEvent.json(), {
      error: {
        code: "invalid_event",
        message: `not a OneBot v11 event: 'user_id' must be a QQ id (an integer), not "me"`,
      },
    });
    assert.equal((await post(server.httpUrl, JSON.stringify(messageEvent("boom")), auth)).status, 204);
    assert.equal((await post(server.httpUrl, JSON.stringify(messageEvent("say still here")), auth)).status, 200);
  });

  test("another path is a 404, another method a 405, a body over the limit a 413", async () => {
    assert.equal((await post(server.httpUrl.replace("/http", "/nope"), "{}", auth)).status, 404);
    const get = await fetch(server.httpUrl, { headers: auth });
    assert.equal(get.status, 405);
    assert.equal(get.headers.get("allow"), "POST");
    const huge = JSON.stringify(messageEvent("say x", { padding: "x".repeat(1024 * 1024) }));
    assert.equal((await post(server.httpUrl, huge, auth)).status, 413);
  });

  test("reverse WebSocket: an event gets a send_msg action frame; action answers and bad frames are skipped", async () => {
    const ws = await connect(server.wsUrl, { ...auth, "x-self-id": "10001", "x-client-role": "Universal" });
    try {
      assert.deepEqual(
        server.listConnections().map((c) => [c.selfId, c.role]),
        [[10001, "Universal"]],
      );
      ws.send("{not json");
      ws.send(JSON.stringify({ post_type: "message", message_type: "private" }));
      ws.send(JSON.stringify({ status: "ok", retcode: 0, data: { message_id: 5 }, echo: "neko-0" }));
      ws.send(JSON.stringify({ post_type: "meta_event", meta_event_type: "lifecycle", sub_type: "connect" }));
      const frame = nextFrame(ws);
      ws.send(JSON.stringify(messageEvent("say over ws")));
      const action = await frame;
      assert.equal(action.action, "send_msg");
      assert.deepEqual(action.params, {
        message_type: "private",
        user_id: 20002,
        message: "you said over ws",
        auto_escape: true,
      });
      assert.match(action.echo, /^neko-\d+$/);
      const group = nextFrame(ws);
      ws.send(JSON.stringify(messageEvent("say group", { message_type: "group", group_id: 30003 })));
      assert.deepEqual((await group).params, {
        message_type: "group",
        group_id: 30003,
        message: "you said group",
        auto_escape: true,
      });
      assert.ok(server.counters.malformed >= 2);
    } finally {
      ws.close();
    }
  });

  test("reverse WebSocket: Event and API connections of one bot; the reply goes on the API one", async () => {
    const headers = { ...auth, "x-self-id": "10001" };
    const events = await connect(`${server.wsUrl}/event`, headers);
    const api = await connect(server.wsUrl, { ...headers, "x-client-role": "API" });
    try {
      const frame = nextFrame(api);
      events.send(JSON.stringify(messageEvent("say split")));
      assert.equal((await frame).params.message, "you said split");
    } finally {
      events.close();
      api.close();
    }
  });

  test("reverse WebSocket refusals: no token 401, a wrong one 403, no X-Self-ID 400, a bad role 400", async () => {
    await assert.rejects(connect(server.wsUrl, { "x-self-id": "10001" }), /HTTP 401/);
    await assert.rejects(connect(server.wsUrl, { authorization: "Bearer nope", "x-self-id": "10001" }), /HTTP 403/);
    await assert.rejects(connect(`${server.wsUrl}?access_token=nope`, { "x-self-id": "10001" }), /HTTP 403/);
    await assert.rejects(connect(server.wsUrl, auth), /HTTP 400/);
    await assert.rejects(connect(server.wsUrl, { ...auth, "x-self-id": "1", "x-client-role": "Boss" }), /HTTP 400/);
    const byQuery = await connect(`${server.wsUrl}?access_token=${TOKEN}`, { "x-self-id": "10001" });
    byQuery.close();
  });
});

describe("OneBot endpoints with a secret", () => {
  test("HTTP POST bodies must carry the X-Signature HMAC-SHA1 of the body", async () => {
    const server = await OneBotServer.listen({
      host: "127.0.0.1",
      port: 0,
      access: new OneBotAccess({ secret: SECRET }),
      logger: quiet,
      onMessage: echo,
    });
    try {
      const body = JSON.stringify(messageEvent("say signed"));
      const signature = `sha1=${createHmac("sha1", SECRET).update(body).digest("hex")}`;
      assert.equal((await post(server.httpUrl, body, { "x-signature": signature })).status, 200);
      assert.equal((await post(server.httpUrl, body)).status, 401);
      const wrong = `sha1=${createHmac("sha1", "other").update(body).digest("hex")}`;
      assert.equal((await post(server.httpUrl, body, { "x-signature": wrong })).status, 403);
    } finally {
      await server.close();
    }
  });
});

test("close() ends the connections (1001) and frees the port", async () => {
  const server = await OneBotServer.listen({
    host: "127.0.0.1",
    port: 0,
    access: new OneBotAccess({}),
    logger: quiet,
    onMessage: echo,
  });
  const ws = await connect(server.wsUrl, { "x-self-id": "10001" });
  const closed = new Promise<number>((resolve) => ws.once("close", (code) => resolve(code)));
  await server.close();
  assert.equal(await closed, 1001);
  await assert.rejects(post(server.httpUrl, "{}"));
  const port = Number(new URL(server.httpUrl).port);
  const again = await OneBotServer.listen({
    host: "127.0.0.1",
    port,
    access: new OneBotAccess({}),
    logger: quiet,
    onMessage: echo,
  });
  await again.close();
});

test("a port in use: listen rejects and leaves nothing open", async () => {
  const first = await OneBotServer.listen({
    host: "127.0.0.1",
    port: 0,
    access: new OneBotAccess({}),
    logger: quiet,
    onMessage: echo,
  });
  try {
    const port = Number(new URL(first.httpUrl).port);
    await assert.rejects(
      OneBotServer.listen({ host: "127.0.0.1", port, access: new OneBotAccess({}), logger: quiet, onMessage: echo }),
      /EADDRINUSE/,
    );
  } finally {
    await first.close();
  }
});
