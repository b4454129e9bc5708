/**
 * `WS /ws/admin` and `WS /ws/logs/{id}` over real sockets, with real plugin processes: the admin socket's hello, live
 * states (a stop, a crash), runs, bus records and metrics; the log socket's history and live lines. And as an
 * attacker: a foreign `Origin`, a rebound `Host`, no token, too many clients, a client that never reads, a huge
 * frame; and `server.close()` ending every socket at once.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import { after, before, describe, test } from "node:test";
import type { FastifyInstance } from "fastify";
import type { WebSocket } from "ws";
import { createPluginServer, type PluginServerOptions } from "@neko/server";
import { makeTempDir, waitFor, writePlugin } from "../support/plugin-fixtures.ts";
import { calcPluginCode, crashyPluginCode, simplePluginCode } from "../support/sample-plugins.ts";
import { startTestHost, type TestHost } from "../support/test-host.ts";
import { openWs, refusedUpgrade, type WsClient, type WsMessage } from "../support/ws-client.ts";

const chattyPluginCode = `
import { NekoPluginBase, nekoPlugin, pluginEntry, Ok } from "@neko/plugin-sdk/plugin";

@nekoPlugin
export class ChattyPlugin extends NekoPluginBase {
  @pluginEntry({ id: "say" })
  say({ text, level = "info" }: { text: string; level?: "info" | "warn" }) {
    this.logger[level](text);
    return Ok({ said: text });
  }
}
`;

const wsUrl = (httpUrl: string, path: string) => httpUrl.replace(/^http/, "ws") + path;

describe("WebSockets", () => {
  let t: TestHost;
  const sockets: WsClient[] = [];
  const servers: FastifyInstance[] = [];

  /** A socket closed after the suite whatever happens. */
  async function open(path: string, options: Parameters<typeof openWs>[1] = {}, base = t.url): Promise<WsClient> {
    const client = await openWs(wsUrl(base, path), options);
    sockets.push(client);
    return client;
  }

  /** A second server over the same host, with its own options; closed after the suite. */
  async function extraServer(options: Omit<PluginServerOptions, "host">): Promise<FastifyInstance> {
    const server = await createPluginServer({ ...options, host: t.host });
    servers.push(server);
    await server.listen({ port: 0, host: "127.0.0.1" });
    return server;
  }

  let root: string;
  before(async () => {
    root = makeTempDir();
    writePlugin(root, { id: "calc", className: "CalcPlugin", code: calcPluginCode });
    writePlugin(root, { id: "crashy", className: "CrashyPlugin", code: crashyPluginCode });
    writePlugin(root, { id: "chatty", className: "ChattyPlugin", code: chattyPluginCode });
    writePlugin(root, { id: "hello", className: "HelloPlugin", code: simplePluginCode("HelloPlugin") });
    t = await startTestHost({ roots: [root], dataDir: root }, { server: { adminMetricsIntervalMs: 200 } });
  });

  after(async () => {
    for (const socket of sockets) await socket.close();
    for (const server of servers) await server.close();
    await t?.close();
    fs.rmSync(root, { recursive: true, force: true });
  });

  describe("/ws/admin", () => {
    test("hello: the server's facts and every plugin's state", async () => {
      const admin = await open("/ws/admin");
      const hello = await admin.next();
      assert.equal(hello.type, "hello");
      const info = await t.request("GET", "/server/info");
      assert.equal(hello.server.host_version, info.body.host_version);
      assert.equal(hello.server.server.started_at, info.body.server.started_at);
      assert.deepEqual(Object.keys(hello.server).sort(), Object.keys(info.body).sort());
      const byId = Object.fromEntries(hello.plugins.map((p: WsMessage) => [p.id, p]));
      assert.deepEqual(Object.keys(byId).sort(), ["calc", "chatty", "crashy", "hello"]);
      assert.deepEqual(byId.calc, { id: "calc", status: "running", status_reason: null });
      await admin.close();
    });

    test("a stop over HTTP shows `stopping` then `stopped`", async () => {
      const admin = await open("/ws/admin");
      const stop = await t.request("POST", "/plugin/hello/stop");
      assert.equal(stop.status, 200, JSON.stringify(stop.body));
      const forHello = (m: WsMessage) => m.type === "status" && m.plugin_id === "hello";
      const stopping = await admin.next(forHello);
      assert.equal(stopping.status, "stopping");
      assert.ok(!Number.isNaN(Date.parse(stopping.time)));
      const stopped = await admin.next(forHello);
      assert.equal(stopped.status, "stopped");
      assert.equal((await t.request("POST", "/plugin/hello/start")).status, 200);
      assert.equal((await admin.next(forHello)).status, "starting");
      await admin.close();
    });

    test("a crash shows `crashed` live, with its reason", async () => {
      const admin = await open("/ws/admin");
      void t.trigger("crashy", "exit");
      const crashed = await admin.next(
        (m) => m.type === "status" && m.plugin_id === "crashy" && m.status === "crashed",
      );
      assert.equal(typeof crashed.reason, "string");
      assert.ok(crashed.reason.length > 0);
      await admin.close();
    });

    test("a run started with POST /runs is followed to its end, each message as GET /runs/{id} answers", async () => {
      const admin = await open("/ws/admin");
      const started = await t.request("POST", "/runs", { plugin_id: "calc", entry_id: "sleep", args: { ms: 100 } });
      assert.equal(started.status, 202, JSON.stringify(started.body));
      const runId = started.body.run_id;
      const ofRun = (m: WsMessage) => m.type === "run" && m.run.run_id === runId;
      const seen: string[] = [];
      let last: WsMessage;
      do {
        last = await admin.next(ofRun);
        seen.push(last.run.status);
        if (last.run.status === "running") assert.equal(typeof last.run.started_at, "string");
      } while (last.run.status !== "succeeded");
      assert.ok(seen.includes("running"), `states seen: ${seen.join(", ")}`);
      const final = await t.request("GET", `/runs/${runId}`);
      assert.deepEqual(last.run, final.body);
      assert.deepEqual(last.run.result, { slept: 100 });
      assert.equal(JSON.stringify(last).includes("run_token"), false, "no message carries a run's token");
      await admin.close();
    });

    test("a bus emit shows as a record of its namespace", async () => {
      const admin = await open("/ws/admin");
      t.host.bus.emit("ws_greeting", { hi: 1 });
      const bus = await admin.next((m) => m.type === "bus" && m.record.type === "ws_greeting");
      assert.equal(bus.namespace, "events");
      assert.equal(bus.record.namespace, "events");
      assert.deepEqual(bus.record.data, { hi: 1 });
      assert.equal(bus.record.source, "host");
      await admin.close();
    });

    test("metrics arrive on the interval, with each plugin's process figures", async () => {
      const admin = await open("/ws/admin");
      const first = await admin.next((m) => m.type === "metrics", 3000);
      const second = await admin.next((m) => m.type === "metrics", 3000);
      const calc = second.plugins.find((p: WsMessage) => p.plugin_id === "calc");
      assert.ok(calc, "calc is listed");
      assert.equal(typeof calc.pid, "number");
      assert.equal(typeof calc.rss_bytes, "number");
      assert.ok(calc.rss_bytes > 0);
      assert.deepEqual(
        first.plugins.map((p: WsMessage) => p.plugin_id).sort(),
        (await t.request("GET", "/plugin/metrics")).body.plugins.map((p: WsMessage) => p.plugin_id).sort(),
      );
      await admin.close();
    });

    test("a message from the client is answered with an error; the socket stays open", async () => {
      const admin = await open("/ws/admin");
      await admin.next((m) => m.type === "hello");
      admin.socket.send(JSON.stringify({ type: "subscribe" }));
      const error = await admin.next((m) => m.type === "error");
      assert.equal(error.error.code, "BAD_REQUEST");
      admin.socket.ping();
      await new Promise((resolve) => admin.socket.once("pong", resolve));
      await admin.close();
    });

    test("a plain GET (no upgrade) is 400", async () => {
      const res = await t.request("GET", "/ws/admin");
      assert.equal(res.status, 400);
      assert.equal(res.body.error.code, "BAD_REQUEST");
    });
  });

  describe("/ws/logs/{id}", () => {
    test("the recent records, filtered as GET /plugin/{id}/logs, then each new one live", async () => {
      await t.trigger("chatty", "say", { text: "before-1" });
      await t.trigger("chatty", "say", { text: "before-2", level: "warn" });
      const logs = await open("/ws/logs/chatty?lines=5");
      const history = await logs.next();
      assert.equal(history.type, "history");
      const page = await t.request("GET", "/plugin/chatty/logs?lines=5");
      assert.deepEqual({ ...history, type: undefined }, { ...page.body, type: undefined });
      assert.deepEqual(
        history.records.slice(-2).map((r: WsMessage) => r.msg),
        ["before-1", "before-2"],
      );
      await t.trigger("chatty", "say", { text: "live-1" });
      const live = await logs.next((m) => m.type === "log" && m.record.msg === "live-1");
      assert.equal(live.record.level, "info");
      assert.equal(typeof live.record.pid, "number");
      await logs.close();
    });

    test("`level` and `search` filter the history and the live records", async () => {
      const logs = await open("/ws/logs/chatty?level=warn&search=WANTED");
      const history = await logs.next();
      assert.ok(history.records.every((r: WsMessage) => r.level === "warn" && /wanted/i.test(r.msg)));
      await t.trigger("chatty", "say", { text: "wanted but info" });
      await t.trigger("chatty", "say", { text: "unrelated warning", level: "warn" });
      await t.trigger("chatty", "say", { text: "wanted warning", level: "warn" });
      const live = await logs.next((m) => m.type === "log");
      assert.equal(live.record.msg, "wanted warning");
      await logs.close();
    });

    test("an unknown plugin or a bad query is refused before the upgrade, as GET /plugin/{id}/logs", async () => {
      const missing = await refusedUpgrade(wsUrl(t.url, "/ws/logs/nobody"));
      assert.equal(missing.status, 404);
      assert.equal(missing.body.error.code, "PLUGIN_NOT_FOUND");
      const badLevel = await refusedUpgrade(wsUrl(t.url, "/ws/logs/chatty?level=loud"));
      assert.equal(badLevel.status, 400);
      assert.equal(badLevel.body.error.code, "VALIDATION_ERROR");
      const badId = await refusedUpgrade(wsUrl(t.url, "/ws/logs/..%2Fetc"));
      assert.equal(badId.status, 400);
    });
  });

  describe("as an attacker", () => {
    test("an upgrade from another site's page is refused 403 before the handshake; the own origin passes", async () => {
      for (const path of ["/ws/admin", "/ws/logs/chatty"]) {
        for (const origin of ["http://evil.example", "null", "http://127.0.0.1:1"]) {
          const res = await refusedUpgrade(wsUrl(t.url, path), { origin });
          assert.equal(res.status, 403, `${path} from ${origin}`);
          assert.equal(res.body.error.code, "CROSS_ORIGIN_REFUSED");
        }
      }
      const own = await open("/ws/admin", { origin: t.url });
      assert.equal((await own.next()).type, "hello");
      await own.close();
    });

    test("an upgrade to a rebound Host is refused 421", async () => {
      const port = new URL(t.url).port;
      for (const path of ["/ws/admin", "/ws/logs/chatty"]) {
        const res = await refusedUpgrade(wsUrl(t.url, path), { headers: { host: `evil.example:${port}` } });
        assert.equal(res.status, 421, path);
        assert.equal(res.body.error.code, "HOST_NOT_ALLOWED");
      }
    });

    test("with a token, an upgrade needs it: the Authorization header or the `neko.bearer` subprotocol", async () => {
      const token = "s3cret-token_42";
      const server = await extraServer({ apiToken: token });
      const url = wsUrl(server.listeningOrigin, "/ws/admin");
      const none = await refusedUpgrade(url);
      assert.equal(none.status, 401);
      assert.equal(none.body.error.code, "UNAUTHORIZED");
      assert.equal(JSON.stringify(none.body).includes(token), false);
      for (const wrong of [["neko.bearer", "guess"], ["neko.bearer"], [token], ["other", token]]) {
        const res = await refusedUpgrade(url, { protocols: wrong });
        assert.equal(res.status, 401, `protocols ${wrong.join(", ")}`);
      }
      assert.equal((await refusedUpgrade(`${url}?token=${token}`)).status, 401, "no token in the URL");
      // A refused upgrade's connection is closed by the server once it has answered, not left open.
      await waitFor(
        () => new Promise<boolean>((resolve) => server.server.getConnections((_error, n) => resolve(n === 0))),
        { what: "the refused upgrades' connections to close" },
      );
      const bySubprotocol = await open("/ws/admin", { protocols: ["neko.bearer", token] }, server.listeningOrigin);
      assert.equal(bySubprotocol.socket.protocol, "neko.bearer", "the server names the protocol, never the token");
      assert.equal((await bySubprotocol.next()).type, "hello");
      const byHeader = await open(
        "/ws/logs/chatty",
        { headers: { authorization: `Bearer ${token}` } },
        server.listeningOrigin,
      );
      assert.equal((await byHeader.next()).type, "history");
      await bySubprotocol.close();
      await byHeader.close();
    });

    test("past the client cap an upgrade is refused 503 TOO_MANY_CLIENTS; a slot freed is taken again", async () => {
      const server = await extraServer({ webSocketLimits: { maxClients: 2 } });
      const base = server.listeningOrigin;
      const first = await open("/ws/admin", {}, base);
      await open("/ws/logs/chatty", {}, base);
      const refused = await refusedUpgrade(wsUrl(base, "/ws/admin"));
      assert.equal(refused.status, 503);
      assert.equal(refused.body.error.code, "TOO_MANY_CLIENTS");
      assert.equal(refused.body.error.details.limit, 2);
      await first.close();
      const again = await waitFor(async () => openWs(wsUrl(base, "/ws/admin")).catch(() => undefined), {
        what: "a freed slot",
      });
      sockets.push(again);
      assert.equal((await again.next()).type, "hello");
    });

    test("a client that never reads is closed with 1013, its unread bytes bounded", async () => {
      const limit = 256 * 1024;
      const server = await extraServer({ webSocketLimits: { maxBufferedBytes: limit } });
      const slow = await open("/ws/admin", {}, server.listeningOrigin);
      await slow.next((m) => m.type === "hello");
      slow.socket.pause();
      const payload = "x".repeat(64 * 1024);
      let emitted = 0;
      let maxUnread = 0;
      // The server's own side of the socket: what it has queued for the client and not yet sent.
      const serverSide = () => [
        ...(server as unknown as { websocketServer: { clients: Set<WebSocket> } }).websocketServer.clients,
      ];
      while (emitted < 2000 && serverSide().every((c) => c.readyState === c.OPEN)) {
        t.host.bus.emit("ws_flood", { payload, n: emitted });
        emitted += 1;
        for (const c of serverSide()) maxUnread = Math.max(maxUnread, c.bufferedAmount);
        await new Promise((resolve) => setImmediate(resolve));
      }
      assert.ok(emitted < 2000, `closed after ${emitted} events of 64 KiB`);
      // The limit plus the one message that crossed it (and the close frame): nothing more was queued.
      assert.ok(maxUnread <= limit + 70 * 1024, `at most ${maxUnread} bytes unread`);
      slow.socket.resume();
      const closed = await slow.closed;
      assert.equal(closed.code, 1013);
      assert.match(closed.reason, /reads too slowly/);
      const received = slow.messages.filter((m) => m.type === "bus" && m.record.type === "ws_flood").length;
      assert.ok(received < emitted, `${received} of ${emitted} events reached it`);
    });

    test("a frame over the size limit closes the socket with 1009", async () => {
      const admin = await open("/ws/admin");
      await admin.next((m) => m.type === "hello");
      admin.socket.send("y".repeat(65 * 1024));
      assert.equal((await admin.closed).code, 1009);
    });
  });

  test("server.close() ends every socket promptly, a reader with 1001 and a non-reader too", async () => {
    const server = await createPluginServer({ host: t.host });
    await server.listen({ port: 0, host: "127.0.0.1" });
    const reader = await open("/ws/admin", {}, server.listeningOrigin);
    const logs = await open("/ws/logs/chatty", {}, server.listeningOrigin);
    const stalled = await open("/ws/admin", {}, server.listeningOrigin);
    await reader.next();
    await logs.next();
    stalled.socket.pause();
    const startedAt = Date.now();
    await server.close();
    const took = Date.now() - startedAt;
    assert.ok(took < 3000, `close took ${took} ms`);
    assert.deepEqual(await reader.closed, { code: 1001, reason: "the server is shutting down" });
    assert.equal((await logs.closed).code, 1001);
    stalled.socket.resume();
    await stalled.closed;
    assert.equal(stalled.socket.readyState, stalled.socket.CLOSED);
  });
});
