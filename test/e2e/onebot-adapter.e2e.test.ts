/**
 * The OneBot v11 adapter through real processes (SPEC §3.7, docs/onebot.md): the built-in onebot_adapter and
 * hello_world in a host; a OneBot implementation played by this test posts v11 events over HTTP and over a reverse
 * WebSocket (`ws` as the client); `/greet Neko` runs hello_world:greet through the gateway and the reply carries its
 * result; the access token is enforced on both; bad events are answered and the adapter keeps serving.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { WebSocket } from "ws";
import { copyExamplePlugins, makeTempDir, waitFor } from "../support/plugin-fixtures.ts";
import { startTestHost, type TestHost } from "../support/test-host.ts";

const TOKEN = "e2e-onebot-token";
const SELF_ID = 10001;

function messageEvent(text: string, extra: Record<string, unknown> = {}) {
  return {
    time: Math.floor(Date.now() / 1000),
    self_id: SELF_ID,
    post_type: "message",
    message_type: "private",
    sub_type: "friend",
    message_id: Math.floor(Math.random() * 1e9),
    user_id: 20002,
    message: text,
    raw_message: text,
    font: 0,
    sender: { user_id: 20002, nickname: "tester" },
    ...extra,
  };
}

/** `token` null: no Authorization header. */
function post(url: string, body: unknown, token: string | null = TOKEN) {
  return fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...(token && { authorization: `Bearer ${token}` }) },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

function connect(url: string, headers: Record<string, string>): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    ws.once("open", () => resolve(ws));
    ws.once("unexpected-response", (_req, res) => {
      reject(new Error(`HTTP ${res.statusCode}`));
      res.resume();
    });
    ws.once("error", reject);
  });
}

/** The next frame that is an action (the adapter sends nothing else). */
function nextAction(ws: WebSocket): Promise<{ action: string; params: Record<string, unknown>; echo: string }> {
  return new Promise((resolve) => ws.once("message", (data) => resolve(JSON.parse(String(data)))));
}

describe("OneBot v11 adapter", () => {
  let root: string;
  let t: TestHost;
  let httpUrl: string;
  let wsUrl: string;
  let ws: WebSocket | undefined;

  before(async () => {
    root = makeTempDir();
    copyExamplePlugins(root, ["hello_world", "onebot_adapter"]);
    const manifest = path.join(root, "onebot_adapter", "plugin.toml");
    const text = fs
      .readFileSync(manifest, "utf8")
      .replace(/^port = .*$/m, "port = 0")
      .replace(/^access_token = .*$/m, `access_token = "${TOKEN}"`);
    fs.writeFileSync(manifest, text);
    t = await startTestHost({ roots: [root] });
    const status = await waitFor(
      async () => {
        const res = await t.request("GET", "/plugin/status?plugin_id=onebot_adapter");
        return res.body?.status?.http_url ? res.body.status : undefined;
      },
      { what: "the OneBot adapter's status", timeoutMs: 20_000 },
    );
    httpUrl = status.http_url;
    wsUrl = status.ws_url;
  });
  after(async () => {
    ws?.terminate();
    await t?.close();
    fs.rmSync(root, { recursive: true, force: true });
  });

  test("the status names both URLs on a port of its own, the token requirement and the commands", async () => {
    const { status } = (await t.request("GET", "/plugin/status?plugin_id=onebot_adapter")).body;
    assert.match(httpUrl, /^http:\/\/127\.0\.0\.1:\d+\/onebot\/v11\/http$/);
    assert.match(wsUrl, /^ws:\/\/127\.0\.0\.1:\d+\/onebot\/v11\/ws$/);
    assert.notEqual(new URL(httpUrl).port, new URL(t.url).port);
    assert.equal(status.access_token_required, true);
    assert.deepEqual(status.commands, ["/greet <name>", "/help"]);
  });

  test("HTTP POST: /greet Neko runs hello_world:greet and the quick reply carries its result", async () => {
    const res = await post(httpUrl, messageEvent("/greet Neko"));
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { reply: "Hello, Neko!", auto_escape: true });
    const group = await post(httpUrl, messageEvent("[CQ:at,qq=10001] /greet", { message_type: "group", group_id: 3 }));
    assert.deepEqual(await group.json(), { reply: "Hello, World!", auto_escape: true, at_sender: false });
  });

  test("reverse WebSocket: the event comes back as a send_msg action with the entry's result", async () => {
    ws = await connect(wsUrl, {
      authorization: `Bearer ${TOKEN}`,
      "x-self-id": String(SELF_ID),
      "x-client-role": "Universal",
    });
    ws.send(JSON.stringify({ post_type: "meta_event", meta_event_type: "lifecycle", sub_type: "connect" }));
    const action = nextAction(ws);
    ws.send(JSON.stringify(messageEvent("/greet Neko over ws")));
    const frame = await action;
    assert.equal(frame.action, "send_msg");
    assert.deepEqual(frame.params, {
      message_type: "private",
      user_id: 20002,
      message: "Hello, Neko over ws!",
      auto_escape: true,
    });
    assert.equal(typeof frame.echo, "string");
    ws.send(JSON.stringify({ status: "ok", retcode: 0, data: { message_id: 1 }, echo: frame.echo }));
    const connections = await waitFor(async () => {
      const { status } = (await t.request("GET", "/plugin/status?plugin_id=onebot_adapter")).body;
      return status.connections.length > 0 ? status.connections : undefined;
    });
    assert.deepEqual(
      connections.map((c: { self_id: number; role: string }) => [c.self_id, c.role]),
      [[SELF_ID, "Universal"]],
    );
  });

  test("a missing or wrong access token is refused on both, and nothing reaches the entry", async () => {
    const greeted = async () => (await t.trigger("hello_world", "greet", { name: "count" })).body.data.count;
    const before = await greeted();
    assert.equal((await post(httpUrl, messageEvent("/greet Intruder"), null)).status, 401);
    assert.equal((await post(httpUrl, messageEvent("/greet Intruder"), "wrong")).status, 403);
    await assert.rejects(connect(wsUrl, { "x-self-id": "1" }), /HTTP 401/);
    await assert.rejects(connect(wsUrl, { authorization: "Bearer wrong", "x-self-id": "1" }), /HTTP 403/);
    await assert.rejects(connect(`${wsUrl}?access_token=wrong`, { "x-self-id": "1" }), /HTTP 403/);
    assert.equal(await greeted(), before + 1, "only this test's own call greeted");
  });

  test("a malformed event gets a clear 400 over HTTP and is skipped over WS; the adapter keeps serving", async () => {
    const badJson = await post(httpUrl, "{oops");
    assert.equal(badJson.status, 400);
    assert.equal((await badJson.json()).error.code, "invalid_json");
    const badEvent = await post(httpUrl, { post_type: "message", message_type: "private", self_id: 1, message: "/x" });
    assert.equal(badEvent.status, 400);
    assert.deepEqual(await badEvent.json(), {
      error: {
        code: "invalid_event",
        message: "not a OneBot v11 event: 'user_id' must be a QQ id (an integer), not missing",
      },
    });
    assert.ok(ws, "the WebSocket of the test before");
    ws.send("{oops");
    ws.send(JSON.stringify({ post_type: "message", message_type: "private", message: "/greet" }));
    const action = nextAction(ws);
    ws.send(JSON.stringify(messageEvent("/greet again")));
    assert.equal((await action).params.message, "Hello, again!");
    assert.equal((await (await post(httpUrl, messageEvent("/greet still"))).json()).reply, "Hello, still!");
    assert.equal((await t.request("GET", "/plugins/onebot_adapter")).body.status, "running");
    // Two over HTTP, two over WS; the status follows within a second.
    await waitFor(async () => {
      const { status } = (await t.request("GET", "/plugin/status?plugin_id=onebot_adapter")).body;
      return status.malformed === 4;
    });
  });

  test("an unknown command gets the help line; a non-command and a heartbeat get no reply", async () => {
    const unknown = await post(httpUrl, messageEvent("/dance now"));
    assert.equal((await unknown.json()).reply, "Unknown command /dance. Commands: /greet <name>, /help");
    assert.equal((await (await post(httpUrl, messageEvent("/help"))).json()).reply, "Commands: /greet <name>, /help");
    assert.equal((await post(httpUrl, messageEvent("just chatting"))).status, 204);
    const heartbeat = { post_type: "meta_event", meta_event_type: "heartbeat", self_id: SELF_ID, interval: 5000 };
    assert.equal((await post(httpUrl, heartbeat)).status, 204);
  });

  test("an entry's error is a short line with its code, never a stack", async () => {
    const res = await post(httpUrl, messageEvent(`/greet ${"x".repeat(201)}`));
    assert.deepEqual(await res.json(), {
      reply: "Error (VALIDATION_ERROR): invalid arguments: name: must NOT have more than 200 characters",
      auto_escape: true,
    });
  });

  test("a config change applies at once: a new token reopens the endpoints; a wrong value is refused and nothing changes", async () => {
    const statusOf = async () => (await t.request("GET", "/plugin/status?plugin_id=onebot_adapter")).body.status;
    const hotUpdate = (onebot: Record<string, unknown>) =>
      t.request("POST", "/plugin/onebot_adapter/config/hot-update", { config: { onebot }, mode: "temporary" });

    const refused = await hotUpdate({ port: "not a port" });
    assert.equal(refused.status, 409);
    assert.match(JSON.stringify(refused.body), /onebot\.port must be a port number/);
    assert.equal((await statusOf()).http_url, httpUrl, "the endpoints did not move");
    assert.equal((await (await post(httpUrl, messageEvent("/greet same"))).json()).reply, "Hello, same!");

    const closed = new Promise<void>((resolve) => ws?.once("close", () => resolve()));
    assert.equal((await hotUpdate({ access_token: "rotated" })).status, 200);
    await closed;
    const status = await statusOf();
    httpUrl = status.http_url;
    wsUrl = status.ws_url;
    assert.equal((await post(httpUrl, messageEvent("/greet old"))).status, 403);
    assert.equal((await (await post(httpUrl, messageEvent("/greet new"), "rotated")).json()).reply, "Hello, new!");
  });

  test("a port that cannot be had refuses the change, and the endpoints come back with the old settings", async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
    try {
      const taken = (blocker.address() as net.AddressInfo).port;
      const refused = await t.request("POST", "/plugin/onebot_adapter/config/hot-update", {
        config: { onebot: { port: taken } },
        mode: "temporary",
      });
      assert.equal(refused.status, 409);
      assert.match(JSON.stringify(refused.body), /cannot listen on 127\.0\.0\.1:\d+: .*EADDRINUSE/);
      const status = await waitFor(async () => {
        const res = await t.request("GET", "/plugin/status?plugin_id=onebot_adapter");
        return res.body.status.http_url !== httpUrl ? res.body.status : undefined;
      });
      httpUrl = status.http_url;
      wsUrl = status.ws_url;
      assert.notEqual(new URL(httpUrl).port, String(taken));
      assert.equal((await (await post(httpUrl, messageEvent("/greet back"), "rotated")).json()).reply, "Hello, back!");
    } finally {
      blocker.close();
    }
  });

  test("stopping the host closes the WebSocket and frees the port", async () => {
    ws = await connect(wsUrl, { authorization: "Bearer rotated", "x-self-id": String(SELF_ID) });
    const closed = new Promise<number>((resolve) => ws?.once("close", (code) => resolve(code)));
    await t.close();
    assert.equal(await closed, 1001);
    await assert.rejects(post(httpUrl, messageEvent("/greet gone")));
  });
});
