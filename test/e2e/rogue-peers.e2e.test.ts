/**
 * Rogue peers on the plugin socket (issue 8): a local process — or another plugin — that connects to the host's
 * ZeroMQ socket with garbage, oversized frames, forged or replayed handshakes, stolen credentials, claimed routing
 * ids or a flood of connections. After every attack the host is up, no frame from a rogue was routed (or even
 * decoded), and the healthy plugins run on in the same processes, their call counts untouched.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import net from "node:net";
import { after, before, describe, test } from "node:test";
import {
  createSilentLogger,
  type LaunchRequest,
  NodePluginLauncher,
  PLUGIN_RUNNER_PATH,
  type PluginChild,
  type PluginLauncher,
} from "@neko/host";
import { encodeFrame, type PluginConnection } from "@neko/protocol";
import { curveKeyPair, Dealer } from "zeromq";
import { makeTempDir, waitFor, writePlugin } from "../support/plugin-fixtures.ts";
import { startTestHost, type TestHost } from "../support/test-host.ts";

const counterCode = (className: string) => `
import { NekoPluginBase, nekoPlugin, pluginEntry, Ok } from "@neko/plugin-sdk/plugin";

@nekoPlugin
export class ${className} extends NekoPluginBase {
  private calls = 0;

  @pluginEntry({ id: "bump" })
  bump() {
    this.calls += 1;
    return Ok({ calls: this.calls, pid: process.pid });
  }

  @pluginEntry({ id: "peek" })
  peek() {
    return Ok({ calls: this.calls, pid: process.pid });
  }
}
`;

/** The real launcher, keeping what each launch was given: the worst case of a theft is having all of it. */
class CapturingLauncher implements PluginLauncher {
  readonly launches = new Map<string, LaunchRequest[]>();
  constructor(private readonly inner: PluginLauncher) {}
  launch(request: LaunchRequest): PluginChild {
    const list = this.launches.get(request.pluginId) ?? [];
    list.push(structuredClone(request));
    this.launches.set(request.pluginId, list);
    return this.inner.launch(request);
  }
  latest(pluginId: string): LaunchRequest {
    const list = this.launches.get(pluginId);
    assert.ok(list?.length, `no launch of ${pluginId}`);
    return list[list.length - 1];
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function counterId(k: number): Buffer {
  // libzmq's first automatic routing id is 0x00 followed by glibc's first rand(): 0x6b8b4567.
  const id = Buffer.alloc(5);
  id.writeUInt32BE((0x6b8b4567 + k) >>> 0, 1);
  return id;
}

describe("rogue peers on the plugin socket", () => {
  let root: string;
  let t: TestHost;
  let launcher: CapturingLauncher;
  let socketPath: string;
  let refusalWarnings = 0;
  const sockets: Dealer[] = [];
  const rawSockets: net.Socket[] = [];
  const baseline: Record<string, { pid: number; calls: number }> = {};
  let attacks = 0;

  /** A DEALER from this (the attacker's) process; the options are the attack. */
  function rogue(endpoint: string, options: Record<string, unknown> = {}): Dealer {
    attacks += 1;
    const settings: Record<string, unknown> = { linger: 0, sendTimeout: 0, ...options };
    for (const [key, value] of Object.entries(settings)) if (value === undefined) delete settings[key];
    const socket = new Dealer(settings);
    socket.connect(endpoint);
    sockets.push(socket);
    return socket;
  }
  function withCredentials(connection: PluginConnection, extra: Record<string, unknown> = {}) {
    return {
      routingId: connection.routingId,
      curveServerKey: connection.curve?.serverKey,
      curvePublicKey: connection.curve?.publicKey,
      curveSecretKey: connection.curve?.secretKey,
      ...extra,
    };
  }
  const fire = (socket: Dealer, message: Uint8Array) => void socket.send(message).catch(() => undefined);

  async function peek(id: string) {
    const res = await t.trigger(id, "peek");
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body.data as { calls: number; pid: number };
  }

  /** The host answers, nothing was routed from a rogue, and the healthy plugins are the same processes as before. */
  async function assertUntouched(what: string) {
    const health = await t.request("GET", "/health");
    assert.equal(health.body.status, "ok", `${what}: the host answers`);
    assert.equal(t.host.droppedFrames, 0, `${what}: no frame of a rogue even arrived to be decoded`);
    for (const [id, before] of Object.entries(baseline)) {
      const now = await peek(id);
      assert.deepEqual(now, before, `${what}: ${id} runs on in the same process with no call from a rogue`);
      assert.equal(t.host.getPlugin(id)?.status, "running");
    }
    // And they still work.
    const res = await t.trigger("calc", "bump");
    assert.equal(res.body.data.calls, baseline.calc.calls + 1);
    baseline.calc.calls += 1;
  }

  before(async () => {
    root = makeTempDir("neko-rogue-");
    writePlugin(root, { id: "calc", className: "Calc", code: counterCode("Calc") });
    writePlugin(root, { id: "victim", className: "Victim", code: counterCode("Victim") });
    writePlugin(root, { id: "late", className: "Late", code: counterCode("Late") });
    fs.writeFileSync(
      `${root}/late/plugin.toml`,
      `[plugin]\nid = "late"\nentry = "index.ts:Late"\n\n[plugin_runtime]\nauto_start = false\n`,
    );
    const logger = createSilentLogger();
    logger.warn = ((...args: unknown[]) => {
      if (String(args.at(-1)).startsWith("refused a connection to the plugin socket")) refusalWarnings += 1;
    }) as typeof logger.warn;
    launcher = new CapturingLauncher(new NodePluginLauncher({ runnerPath: PLUGIN_RUNNER_PATH, logger }));
    // The attacks are on the ZeroMQ socket: the plugins use it (the pipe transport has no socket to attack, see
    // pipe-transport.e2e.test.ts).
    t = await startTestHost({ roots: [root], launcher, logger, localTransport: "zmq" });
    socketPath = t.host.endpoint.replace(/^ipc:\/\//, "");
    for (const id of ["calc", "victim"]) {
      await t.trigger(id, "bump");
      baseline[id] = await peek(id);
    }
  });

  after(async () => {
    for (const socket of sockets) socket.close();
    for (const socket of rawSockets) socket.destroy();
    await t?.close();
    fs.rmSync(root, { recursive: true, force: true });
    // For the note: how many attacks the suite made.
    console.log(`rogue-peer suite: ${attacks} attacks, host crashes 0, frames routed from a rogue 0`);
  });

  test("garbage bytes on the socket, with or without a ZMTP greeting, get nowhere", async () => {
    const junk = [
      Buffer.from("GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
      Buffer.alloc(64 * 1024, 0xff),
      // A ZMTP 3 signature, version 3.0 and a NULL greeting, then a frame claiming 2^62 bytes.
      Buffer.concat([
        Buffer.from([0xff, 0, 0, 0, 0, 0, 0, 0, 1, 0x7f, 3, 0]),
        Buffer.from("NULL".padEnd(20, "\0")),
        Buffer.alloc(32),
        Buffer.from([0x02, 0x40, 0, 0, 0, 0, 0, 0, 0]),
      ]),
    ];
    for (let i = 0; i < 30; i++) {
      attacks += 1;
      const socket = net.connect(socketPath);
      rawSockets.push(socket);
      socket.on("error", () => undefined);
      socket.write(junk[i % junk.length]);
    }
    await sleep(500);
    await assertUntouched("garbage");
  });

  test("a peer without CURVE (no keys at all) gets no frame in: calls, results, hellos, a 100 MiB frame", async () => {
    const refusedBefore = t.host.info().refused_connections;
    const plain = rogue(t.host.endpoint);
    fire(plain, encodeFrame({ type: "call", id: "x1", entryId: "bump", args: {}, deadline: Date.now() + 5000 }));
    fire(plain, encodeFrame({ type: "result", id: "x2", result: { ok: true, value: 1 } }));
    fire(plain, encodeFrame({ type: "hello", protocol: 1, pluginId: "victim", secret: "0".repeat(48), entries: [] }));
    fire(rogue(t.host.endpoint), Buffer.alloc(100 * 1024 * 1024, 0xc1));
    await waitFor(() => t.host.info().refused_connections >= refusedBefore + 2, { what: "both to be refused" });
    await assertUntouched("no CURVE");
  });

  test("a forged handshake — CURVE with a key pair of its own, claiming to be a plugin — is refused", async () => {
    const refusedBefore = t.host.info().refused_connections;
    const { connection } = launcher.latest("victim");
    const own = curveKeyPair();
    const forged = rogue(t.host.endpoint, {
      curveServerKey: connection.curve?.serverKey,
      curvePublicKey: own.publicKey,
      curveSecretKey: own.secretKey,
      routingId: connection.routingId,
    });
    fire(forged, encodeFrame({ type: "hello", protocol: 1, pluginId: "victim", secret: "guess", entries: [] }));
    await waitFor(() => t.host.info().refused_connections > refusedBefore, { what: "the forged handshake's refusal" });
    await assertUntouched("forged");
  });

  test("stolen credentials — a plugin's whole launch, secret and keys — are worth nothing in another process", async () => {
    const refusedBefore = t.host.info().refused_connections;
    const stolen = launcher.latest("victim");
    const thief = rogue(t.host.endpoint, withCredentials(stolen.connection));
    fire(thief, encodeFrame({ type: "hello", protocol: 1, pluginId: "victim", secret: stolen.secret, entries: [] }));
    fire(thief, encodeFrame({ type: "result", id: "1", result: { ok: true, value: "hijacked" } }));
    // The same, letting ZeroMQ pick the routing id.
    fire(
      rogue(t.host.endpoint, withCredentials(stolen.connection, { routingId: undefined })),
      encodeFrame({ type: "pong", id: "1" }),
    );
    await waitFor(() => t.host.info().refused_connections >= refusedBefore + 2, { what: "the thief's refusal" });
    await assertUntouched("stolen credentials");
  });

  test("the secret cannot be stolen: not in /proc/<pid>/environ or cmdline, and the bootstrap socket cannot be opened", async () => {
    const { pid } = baseline.victim;
    const launch = launcher.latest("victim");
    const secrets = [launch.secret, launch.connection.curve?.secretKey as string, launch.connection.routingId];
    for (const file of ["environ", "cmdline"]) {
      attacks += 1;
      const text = fs.readFileSync(`/proc/${pid}/${file}`, "latin1");
      assert.ok(text.length > 0, `${file} was readable`);
      for (const secret of secrets) assert.ok(!text.includes(secret), `${file} holds no secret`);
    }
    // Every descriptor of the process that is a socket (the bootstrap one included) refuses to be opened.
    for (const fd of fs.readdirSync(`/proc/${pid}/fd`)) {
      const target = fs.readlinkSync(`/proc/${pid}/fd/${fd}`);
      if (!target.startsWith("socket:")) continue;
      attacks += 1;
      assert.throws(() => fs.openSync(`/proc/${pid}/fd/${fd}`, "r"), /ENXIO|EACCES|EPERM|ENOENT/);
    }
    await assertUntouched("secret theft");
  });

  test("libzmq's routing-id collision (claim the counter's next ids, then connect without one) cannot crash the host", async () => {
    const refusedBefore = t.host.info().refused_connections;
    const stolen = launcher.latest("victim").connection;
    for (let k = 0; k < 32; k++) {
      fire(rogue(t.host.endpoint, { routingId: counterId(k) }), encodeFrame({ type: "pong", id: String(k) }));
      fire(rogue(t.host.endpoint, withCredentials(stolen, { routingId: counterId(k) })), encodeFrame({ type: "pong" }));
    }
    fire(rogue(t.host.endpoint), encodeFrame({ type: "pong", id: "idless" }));
    fire(rogue(t.host.endpoint, withCredentials(stolen, { routingId: undefined })), encodeFrame({ type: "pong" }));
    await waitFor(() => t.host.info().refused_connections >= refusedBefore + 66, {
      what: "every claim to be refused",
    });
    // A plugin that connects now, with ZeroMQ's counter where the attack aimed it, connects and works.
    const started = await t.request("POST", "/plugin/late/start", {});
    assert.equal(started.status, 200, JSON.stringify(started.body));
    const late = await t.trigger("late", "bump");
    assert.equal(late.body.data.calls, 1);
    await assertUntouched("routing-id collision");
  });

  test("replayed credentials of an earlier launch are refused after the plugin restarted", async () => {
    const old = launcher.latest("victim");
    assert.equal((await t.request("POST", "/plugin/victim/stop", {})).status, 200);
    assert.equal((await t.request("POST", "/plugin/victim/start", {})).status, 200);
    const restarted = await peek("victim");
    assert.notEqual(restarted.pid, baseline.victim.pid, "a new process");
    baseline.victim = restarted;
    const refusedBefore = t.host.info().refused_connections;
    const replay = rogue(t.host.endpoint, withCredentials(old.connection));
    fire(replay, encodeFrame({ type: "hello", protocol: 1, pluginId: "victim", secret: old.secret, entries: [] }));
    await waitFor(() => t.host.info().refused_connections > refusedBefore, { what: "the replay's refusal" });
    await assertUntouched("replay");
  });

  test("a flood of 300 connections with frames: the host stays up and answering, its memory bounded, its log quiet", async () => {
    const rssBefore = process.memoryUsage().rss;
    const warningsBefore = refusalWarnings;
    const refusedBefore = t.host.info().refused_connections;
    const { connection } = launcher.latest("calc");
    // The same four 256 KiB frames on every socket: what grows is what the host keeps, not the attacker's copies.
    const frames = [0, 1, 2, 3].map((j) => Buffer.alloc(256 * 1024, j));
    const started = Date.now();
    for (let i = 0; i < 300; i++) {
      const own = curveKeyPair();
      const socket =
        i % 2 === 0
          ? rogue(t.host.endpoint)
          : rogue(t.host.endpoint, {
              curveServerKey: connection.curve?.serverKey,
              curvePublicKey: own.publicKey,
              curveSecretKey: own.secretKey,
            });
      for (const frame of frames) fire(socket, frame);
    }
    // The API answers while the flood goes on.
    const health = await t.request("GET", "/health");
    assert.equal(health.body.status, "ok");
    await waitFor(() => t.host.info().refused_connections >= refusedBefore + 300, {
      timeoutMs: 30_000,
      what: "all 300 to be refused",
    });
    const seconds = (Date.now() - started) / 1000;
    const grownMiB = (process.memoryUsage().rss - rssBefore) / 1024 / 1024;
    // 300 MiB were offered; none of it is queued by the host. (The attacker's sockets live in this process too.)
    assert.ok(grownMiB < 256, `the process grew by ${grownMiB.toFixed(0)} MiB`);
    // Refusals are logged at most once a second.
    assert.ok(
      refusalWarnings - warningsBefore <= Math.ceil(seconds) + 1,
      `${refusalWarnings - warningsBefore} warnings in ${seconds.toFixed(1)} s`,
    );
    for (const socket of sockets.splice(0)) socket.close();
    await assertUntouched("flood");
  });
});
