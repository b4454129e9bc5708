/**
 * Remote workers over real ZeroMQ `tcp://` with CURVE (SPEC §4.1, docs/workers.md): the host accepts workers on a
 * loopback port, and each worker is a real `neko-plugin worker` process running real plugin processes. Its plugins
 * join the host with their machine and behave like local ones (calls, the store, cross-plugin calls both ways); a
 * worker that disappears fails their pending calls at once and leaves them `unreachable` until it comes back; a
 * process without an authorized key never gets a session, whatever it sends.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { type CurveKeyPair, makeKeyPair, writeKeyFile } from "@neko/host";
import { pack, unpack } from "msgpackr";
import { Dealer } from "zeromq";
import { helloProof } from "../../packages/host/src/workers/worker-proof.ts";
import { isAlive, makeTempDir, writePlugin } from "../support/plugin-fixtures.ts";
import { startTestHost, type TestHost } from "../support/test-host.ts";

const CLI = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../packages/cli/bin/neko-plugin.js");

const remoteCode = `
import { NekoPluginBase, nekoPlugin, pluginEntry, Ok, z } from "@neko/plugin-sdk/plugin";

@nekoPlugin
export class Far extends NekoPluginBase {
  @pluginEntry({ id: "where", params: z.object({}) })
  where() {
    return Ok({ pid: process.pid, ppid: process.ppid });
  }

  @pluginEntry({ id: "remember", params: z.object({ value: z.string() }) })
  async remember({ value }: { value: string }) {
    await this.store.set("remembered", value);
    return this.store.get("remembered");
  }

  @pluginEntry({ id: "ask_near", params: z.object({ n: z.number() }) })
  async askNear({ n }: { n: number }) {
    return this.plugins.callEntry("near:double", { n });
  }

  @pluginEntry({ id: "slow", params: z.object({ ms: z.number() }), timeout: 60 })
  async slow({ ms }: { ms: number }) {
    await new Promise((resolve) => setTimeout(resolve, ms));
    return Ok("done");
  }
}
`;

const nearCode = `
import { NekoPluginBase, nekoPlugin, pluginEntry, Ok, z } from "@neko/plugin-sdk/plugin";

@nekoPlugin
export class Near extends NekoPluginBase {
  @pluginEntry({ id: "double", params: z.object({ n: z.number() }) })
  double({ n }: { n: number }) {
    return Ok(n * 2);
  }

  @pluginEntry({ id: "ask_far", params: z.object({}) })
  async askFar() {
    return this.plugins.callEntry("far:where", {});
  }
}
`;

let dir: string;
let hostKeys: CurveKeyPair;
let workerKeyFile: string;
let strangerKeyFile: string;
let t: TestHost;
let endpoint: string;
const workers = new Set<ChildProcess>();

function startWorker(keyFile: string, name = "w1"): ChildProcess {
  const child = spawn(
    process.execPath,
    [
      CLI,
      "worker",
      "--connect",
      endpoint,
      "--plugins-dir",
      path.join(dir, "remote"),
      "--server-key",
      hostKeys.publicKey,
      "--key-file",
      keyFile,
      "--name",
      name,
    ],
    // Its temp folder is the test's own: a worker killed with SIGKILL cannot remove its run folder (neko-worker-*),
    // and the test's folder goes in after().
    {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, NEKO_LOG_LEVEL: "warn", TMPDIR: path.join(dir, "tmp") },
    },
  );
  child.stdout?.resume();
  child.stderr?.resume();
  workers.add(child);
  child.on("exit", () => workers.delete(child));
  return child;
}

async function waitFor<T>(what: string, probe: () => T | undefined | false, timeoutMs = 30_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function status(id: string): string | undefined {
  return t.host.getPlugin(id)?.status;
}

async function killWorker(child: ChildProcess, signal: NodeJS.Signals = "SIGKILL"): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill(signal);
  await exited;
}

before(async () => {
  dir = makeTempDir("neko-workers-");
  fs.mkdirSync(path.join(dir, "tmp"));
  hostKeys = makeKeyPair();
  const workerKeys = makeKeyPair();
  workerKeyFile = path.join(dir, "w1.key");
  writeKeyFile(workerKeyFile, workerKeys);
  strangerKeyFile = path.join(dir, "stranger.key");
  writeKeyFile(strangerKeyFile, makeKeyPair());
  writePlugin(path.join(dir, "remote"), { id: "far", className: "Far", code: remoteCode });
  writePlugin(path.join(dir, "local"), { id: "near", className: "Near", code: nearCode });
  t = await startTestHost({
    roots: [path.join(dir, "local")],
    dataDir: path.join(dir, "data"),
    workers: {
      endpoint: "tcp://127.0.0.1:0",
      keys: hostKeys,
      authorizedKeys: [workerKeys.publicKey],
      timeoutMs: 3000,
    },
  });
  endpoint = t.host.info().worker_endpoint as string;
  assert.match(endpoint, /^tcp:\/\/127\.0\.0\.1:\d+$/);
});

after(async () => {
  await Promise.all([...workers].map((w) => killWorker(w, "SIGTERM")));
  await t?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

test("a worker's plugins join the host with their machine and behave like local ones", async () => {
  const worker = startWorker(workerKeyFile);
  await waitFor("far running", () => status("far") === "running");
  const listed = (await t.request("GET", "/plugins")).body.plugins as Array<Record<string, unknown>>;
  const far = listed.find((p) => p.id === "far");
  const near = listed.find((p) => p.id === "near");
  assert.equal(far?.machine, "w1");
  assert.equal(near?.machine, "local");
  assert.deepEqual(
    t.host.info().workers.map((w) => [w.name, w.plugins]),
    [["w1", ["far"]]],
  );

  // The process runs on the worker, as its child, and /plugins shows its pid there.
  const where = await t.trigger("far", "where");
  assert.equal(where.status, 200, JSON.stringify(where.body));
  assert.equal(where.body.data.ppid, worker.pid);
  assert.equal(far?.pid, where.body.data.pid);

  // The store is the host's; cross-plugin calls go both ways through the host.
  assert.equal((await t.trigger("far", "remember", { value: "kept" })).body.data, "kept");
  assert.equal((await t.trigger("far", "ask_near", { n: 21 })).body.data, 42);
  assert.equal((await t.trigger("near", "ask_far")).body.data.pid, where.body.data.pid);

  // Validation happens where it does for a local plugin.
  const bad = await t.trigger("far", "remember", { value: 7 });
  assert.equal(bad.status, 400);
  assert.equal(bad.body.error.code, "VALIDATION_ERROR");
});

test("a worker that disappears fails its pending calls at once; its plugins are unreachable until it is back", async () => {
  const [worker] = [...workers];
  const before = (await t.trigger("far", "where")).body.data as { pid: number };
  const pending = t.trigger("far", "slow", { ms: 20_000 });
  await new Promise((resolve) => setTimeout(resolve, 300));
  const killedAt = Date.now();
  await killWorker(worker);
  const answer = await pending;
  const tookMs = Date.now() - killedAt;
  assert.equal(answer.body.error.code, "PLUGIN_UNREACHABLE", JSON.stringify(answer.body));
  assert.equal(answer.status, 503);
  // The worker's connection closing is noticed at once, not after the 3 s heartbeat timeout or the call's 20 s.
  assert.ok(tookMs < 2500, `the pending call failed ${tookMs} ms after the worker died`);
  console.log(`# remote workers: a call pending on a killed worker failed with PLUGIN_UNREACHABLE after ${tookMs} ms`);
  assert.equal(status("far"), "unreachable");
  assert.match(t.host.getPlugin("far")?.status_reason ?? "", /worker 'w1' is unreachable/);
  assert.deepEqual(t.host.info().workers, []);
  // Calls now fail fast with the state named; the plugin process went with its worker.
  const refused = await t.trigger("far", "where");
  assert.equal(refused.body.error.details.state, "unreachable");
  await waitFor("the orphaned plugin process to exit", () => !isAlive(before.pid), 10_000);
  // A start by hand cannot reach it either, and says so.
  const start = await t.request("POST", "/plugin/far/start");
  assert.equal(start.body.error?.code ?? start.body.code, "PLUGIN_UNREACHABLE", JSON.stringify(start.body));
  assert.equal(status("far"), "unreachable");

  // The worker comes back: the host starts its plugin again, in a new process on it.
  const again = startWorker(workerKeyFile);
  await waitFor("far running again", () => status("far") === "running");
  const after = await t.trigger("far", "where");
  assert.equal(after.body.data.ppid, again.pid);
  assert.notEqual(after.body.data.pid, before.pid);
  // What it stored through the host before is still there.
  assert.equal((await t.trigger("far", "remember", { value: "kept again" })).body.data, "kept again");
});

test("no session without an authorized CURVE key: strangers, plain peers and bad hellos get nothing", async () => {
  const refusedBefore = t.host.info().refused_connections;
  const droppedBefore = t.host.info().dropped_frames;
  // A real worker with a key the host does not know.
  const stranger = startWorker(strangerKeyFile, "stranger");
  // A plain ZeroMQ peer (no CURVE) sending a worker's hello and a forged frame.
  const plain = new Dealer({ linger: 0, sendTimeout: 0 });
  plain.connect(endpoint);
  // A CURVE client with a fresh key pair.
  const forged = makeKeyPair();
  const curved = new Dealer({
    linger: 0,
    sendTimeout: 0,
    curveServerKey: hostKeys.publicKey,
    curvePublicKey: forged.publicKey,
    curveSecretKey: forged.secretKey,
  });
  curved.connect(endpoint);
  let attempts = 0;
  for (let i = 0; i < 20; i++) {
    for (const socket of [plain, curved]) {
      attempts += 3;
      await socket.send(["hello", Buffer.from([0x81, 0xa4, 0x6e, 0x61, 0x6d, 0x65, 0xa2, 0x77, 0x31])]).catch(() => {});
      await socket.send(["frame", "w:w1:00", Buffer.alloc(64, 1)]).catch(() => {});
      await socket.send([Buffer.alloc(1024, 0xff)]).catch(() => {});
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  await waitFor("the handshakes to be refused", () => t.host.info().refused_connections >= refusedBefore + 3, 10_000);
  await new Promise((resolve) => setTimeout(resolve, 1500));
  assert.deepEqual(
    t.host.info().workers.map((w) => w.name),
    ["w1"],
    "only the authorized worker has a session",
  );
  assert.equal(stranger.exitCode, null, "the stranger keeps trying, and keeps being refused");
  assert.equal(t.host.info().dropped_frames, droppedBefore, "not one of their frames reached the supervisor");
  assert.equal(status("far"), "running");
  assert.equal((await t.trigger("far", "where")).status, 200);
  plain.close();
  curved.close();
  await killWorker(stranger, "SIGTERM");
  console.log(`# remote workers: ${attempts} messages from peers without an authorized key, 0 sessions, 0 routed`);
});

test("an authorized worker is held to its key: bad hellos, another's name, a false proof", async () => {
  const keys = makeKeyPair();
  const other = makeKeyPair();
  const second = await startTestHost({
    roots: [],
    dataDir: path.join(dir, "data2"),
    workers: {
      endpoint: "tcp://127.0.0.1:0",
      keys: hostKeys,
      authorizedKeys: [keys.publicKey, other.publicKey],
      timeoutMs: 3000,
    },
  });
  const sockets: Dealer[] = [];
  const connect = (own: CurveKeyPair, routingId: string) => {
    const socket = new Dealer({
      linger: 0,
      sendTimeout: 0,
      receiveTimeout: 5000,
      routingId,
      curveServerKey: hostKeys.publicKey,
      curvePublicKey: own.publicKey,
      curveSecretKey: own.secretKey,
    });
    socket.connect(second.host.info().worker_endpoint as string);
    sockets.push(socket);
    return socket;
  };
  const hello = (own: CurveKeyPair, routingId: string, fields: Record<string, unknown> = {}) => {
    const name = (fields.name as string) ?? "box";
    const epoch = "epoch-0001";
    return pack({
      protocol: 1,
      name,
      publicKey: own.publicKey,
      epoch,
      proof: helloProof(own, hostKeys.publicKey, { name, routingId, epoch }),
      sdkVersion: "0.1.0",
      plugins: [],
      ...fields,
    });
  };
  const answer = async (socket: Dealer) => {
    const [kind, body] = await socket.receive();
    return { kind: kind.toString(), body: body ? (unpack(body) as { reason?: string; retry?: boolean }) : undefined };
  };
  try {
    const owner = connect(keys, "owner-routing-id");
    // A frame before any hello: no session.
    await owner.send(["frame", "w:x:1", Buffer.from("x")]);
    assert.equal((await answer(owner)).kind, "refused");
    const bad: Array<[Buffer, RegExp]> = [
      [Buffer.from("not msgpack"), /not a msgpack map/],
      [hello(keys, "owner-routing-id", { name: "a/b" }), /name must be/],
      [hello(keys, "owner-routing-id", { name: ".." }), /name must be/],
      [
        hello(keys, "owner-routing-id", {
          plugins: [{ id: "x", folder: "..", manifest: "", status: "ok", problems: [], warnings: [] }],
        }),
        /not a plain folder name/,
      ],
      [hello(keys, "owner-routing-id", { protocol: 99 }), /worker protocol 99/],
      // Someone else's public key, with a proof made with this key: the proof gives it away.
      [hello(keys, "owner-routing-id", { publicKey: other.publicKey }), /proof does not match/],
      // A proof for another routing id (replayed from another connection).
      [hello(keys, "another-routing-id"), /proof does not match/],
      [hello(makeKeyPair(), "owner-routing-id"), /not one of the host's --worker-key/],
    ];
    for (const [message, reason] of bad) {
      await owner.send(["hello", message]);
      const reply = await answer(owner);
      assert.equal(reply.kind, "refused");
      assert.match(reply.body?.reason ?? "", reason);
      assert.equal(reply.body?.retry, false);
    }
    assert.deepEqual(second.host.info().workers, []);

    // A good hello gets a session; another authorized key asking for the same name is refused, and evicts no one.
    await owner.send(["hello", hello(keys, "owner-routing-id")]);
    assert.equal((await answer(owner)).kind, "welcome");
    const thief = connect(other, "thief-routing-id");
    await thief.send(["hello", hello(other, "thief-routing-id")]);
    const refused = await answer(thief);
    assert.equal(refused.kind, "refused");
    assert.match(refused.body?.reason ?? "", /the name 'box' is in use by another connected worker/);
    assert.equal(refused.body?.retry, true);
    assert.deepEqual(
      second.host.info().workers.map((w) => w.name),
      ["box"],
    );
    // The owner still has its session: the host's pings reach it.
    assert.equal((await answer(owner)).kind, "ping");
  } finally {
    for (const socket of sockets) socket.close();
    await second.close();
  }
});

test("a worker whose host goes away stops its plugins and joins the next host at that address", async () => {
  const port = await freePort();
  const keys = { endpoint: `tcp://127.0.0.1:${port}`, keys: hostKeys, timeoutMs: 3000 };
  const workerKeys = fs.readFileSync(workerKeyFile, "utf8").match(/^public = "(.*)"$/m)?.[1] as string;
  const first = await startTestHost({
    roots: [],
    dataDir: path.join(dir, "data3"),
    workers: { ...keys, authorizedKeys: [workerKeys] },
  });
  const saved = endpoint;
  endpoint = keys.endpoint;
  const worker = startWorker(workerKeyFile, "w2");
  endpoint = saved;
  let firstPid: number;
  try {
    await waitFor("far running on the first host", () => first.host.getPlugin("far")?.status === "running");
    firstPid = (await first.trigger("far", "where")).body.data.pid;
  } finally {
    await first.close();
  }
  await waitFor("the plugin process to stop with its host", () => !isAlive(firstPid), 10_000);
  assert.equal(worker.exitCode, null, "the worker waits for a host");
  const next = await startTestHost({
    roots: [],
    dataDir: path.join(dir, "data3"),
    workers: { ...keys, authorizedKeys: [workerKeys] },
  });
  try {
    await waitFor("far running on the next host", () => next.host.getPlugin("far")?.status === "running");
    const where = (await next.trigger("far", "where")).body.data;
    assert.equal(where.ppid, worker.pid);
    assert.notEqual(where.pid, firstPid);
    assert.equal(next.host.getPlugin("far")?.machine, "w2");
  } finally {
    await killWorker(worker, "SIGTERM");
    await next.close();
  }
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

test("a machine that comes back under a new name takes its plugins back", async () => {
  for (const w of [...workers]) await killWorker(w);
  await waitFor("far unreachable", () => status("far") === "unreachable");
  const renamed = startWorker(workerKeyFile, "w9");
  await waitFor("far running on w9", () => status("far") === "running" && t.host.getPlugin("far")?.machine === "w9");
  assert.equal((await t.trigger("far", "where")).body.data.ppid, renamed.pid);
  // The old name is forgotten: nothing is listed twice.
  assert.deepEqual(
    t.host
      .listPlugins()
      .filter((p) => p.id === "far")
      .map((p) => p.machine),
    ["w9"],
  );
});
