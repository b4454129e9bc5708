/**
 * The ZeroMQ ROUTER over a real ipc:// socket, with raw DEALERs standing in for plugin processes: admitted peers get
 * through with the credentials of their launch, and nobody else gets a single frame in — no CURVE, someone else's
 * key, a key used twice, the right key from the wrong process, a claimed routing id.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import { encodeFrame, type PluginConnection } from "@neko/protocol";
import { curveKeyPair, Dealer } from "zeromq";
import { createSilentLogger } from "../../src/host-logger.ts";
import type { IncomingFrame } from "../../src/transport/host-transport.ts";
import { z85Decode } from "../../src/transport/z85.ts";
import { ipcPeerPid, zapHandlerBound } from "../../src/transport/zap-handler.ts";
import { MAX_FRAME_BYTES, ZmqHostTransport } from "../../src/transport/zmq-host-transport.ts";

let dir: string;
before(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "neko-transport-"));
});
after(() => fs.rmSync(dir, { recursive: true, force: true }));

async function waitUntil(probe: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A DEALER with a connection's credentials, as the SDK makes one (`overrides` plays the attacker). */
function dealer(connection: PluginConnection, overrides: Record<string, unknown> = {}): Dealer {
  const { curve } = connection;
  const options: Record<string, unknown> = {
    linger: 0,
    routingId: connection.routingId,
    ...(curve && { curveServerKey: curve.serverKey, curvePublicKey: curve.publicKey, curveSecretKey: curve.secretKey }),
    ...overrides,
  };
  for (const [key, value] of Object.entries(options)) if (value === undefined) delete options[key];
  const socket = new Dealer(options);
  socket.connect(connection.endpoint);
  return socket;
}

async function bound(name: string) {
  const transport = await ZmqHostTransport.bind(`ipc://${path.join(dir, `${name}.sock`)}`, {
    logger: createSilentLogger(),
  });
  const frames: Array<{ peer: string; type: string | undefined }> = [];
  transport.onFrame((frame: IncomingFrame) => frames.push({ peer: frame.peer, type: frame.decode()?.type }));
  return { transport, frames };
}

test("z85 decodes the keys zeromq makes; ipc ZAP addresses carry the peer's pid", () => {
  const pair = curveKeyPair();
  assert.equal(z85Decode(pair.publicKey)?.length, 32);
  assert.equal(z85Decode("HelloWorld")?.toString("hex"), "864fd26fb559f75b");
  assert.equal(z85Decode("abc"), undefined);
  assert.equal(z85Decode("ab~cd"), undefined);
  assert.equal(ipcPeerPid("localhost:1000:1000:4242"), 4242);
  assert.equal(ipcPeerPid("127.0.0.1"), undefined);
});

test("an admitted peer's frames arrive under the routing id of its launch; a throwing handler does not stop them", async () => {
  const errors: unknown[] = [];
  const logger = createSilentLogger();
  logger.error = ((fields: { err: unknown }) => errors.push(fields.err)) as typeof logger.error;
  const transport = await ZmqHostTransport.bind(`ipc://${path.join(dir, "throwing.sock")}`, { logger });
  const seen: Array<[string, string]> = [];
  transport.onFrame((frame: IncomingFrame) => {
    const type = frame.decode()?.type ?? "?";
    if (type === "boom") throw new Error("handler bug");
    seen.push([frame.peer, type]);
  });
  const admission = transport.admit("a");
  admission.bindProcess(process.pid);
  const socket = dealer(admission.connection);
  try {
    await socket.send(encodeFrame({ type: "boom" }));
    await socket.send(encodeFrame({ type: "after" }));
    await waitUntil(() => seen.length === 1, "the frame after the failing one");
    assert.deepEqual(seen, [[admission.peer, "after"]]);
    assert.match(String(errors[0]), /handler bug/);
    // And the host's answer reaches it.
    transport.send(admission.peer, { type: "welcome" });
    const [reply] = (await socket.receive()) as Buffer[];
    assert.ok(reply.length > 0);
    assert.deepEqual(transport.stats, { admitted: 1, refused: 0 });
  } finally {
    socket.close();
    admission.dispose();
    await transport.close();
  }
  assert.equal(zapHandlerBound(), false, "the last transport's close unbinds the ZAP handler");
});

test("a frame above MAX_FRAME_BYTES never reaches the host; other peers go on", async () => {
  const { transport, frames } = await bound("oversized");
  const a = transport.admit("hostile");
  const b = transport.admit("friendly");
  const hostile = dealer(a.connection);
  const friendly = dealer(b.connection);
  try {
    await hostile.send(Buffer.alloc(MAX_FRAME_BYTES + 1024, 0xc1));
    // Time for 64 MiB to cross an ipc socket many times over, had it been let through.
    await sleep(1500);
    assert.deepEqual(frames, [], "the oversized frame was not delivered");
    await friendly.send(encodeFrame({ type: "small" }));
    await waitUntil(() => frames.length === 1, "a frame from another peer");
    assert.deepEqual(frames, [{ peer: b.peer, type: "small" }]);
  } finally {
    hostile.close();
    friendly.close();
    await transport.close();
  }
});

test("no frame gets in without the credentials of an admission, used once, by the process they were made for", async () => {
  const { transport, frames } = await bound("rogues");
  const good = transport.admit("good");
  good.bindProcess(process.pid);
  const elsewhere = transport.admit("elsewhere");
  // The credentials of a process that is not this one: stolen, they are worth nothing here.
  elsewhere.bindProcess(process.pid + 100_000);
  const gone = transport.admit("gone");
  gone.dispose();
  const stranger = curveKeyPair();
  const sockets: Dealer[] = [];
  const attack = (connection: PluginConnection, overrides: Record<string, unknown> = {}, label = "") => {
    const socket = dealer(connection, overrides);
    sockets.push(socket);
    socket.send(encodeFrame({ type: `rogue ${label}` })).catch(() => undefined);
  };
  try {
    const legit = dealer(good.connection);
    sockets.push(legit);
    await legit.send(encodeFrame({ type: "legit" }));
    await waitUntil(() => frames.length === 1, "the legit frame");

    // No CURVE at all (what any local process would try first), with and without a claimed routing id.
    const plain = { ...good.connection, curve: null };
    attack(plain, {}, "plain");
    const claimed = Buffer.alloc(5);
    claimed.writeUInt32BE(0x6b8b4567, 1);
    attack(plain, { routingId: claimed }, "plain, claimed id");
    // A key pair of its own; the host's public key is no secret.
    attack(good.connection, { curvePublicKey: stranger.publicKey, curveSecretKey: stranger.secretKey }, "stranger");
    // The admitted key a second time, with ZeroMQ's next counter ids claimed and then without an id: the collision
    // that crashes libzmq needs two connections, and a key gets one.
    for (let k = 0; k < 4; k++) {
      const id = Buffer.alloc(5);
      id.writeUInt32BE(0x6b8b4567 + k, 1);
      attack(good.connection, { routingId: id }, `reuse ${k}`);
    }
    attack(good.connection, { routingId: undefined }, "reuse, no id");
    attack(elsewhere.connection, {}, "other process");
    attack(gone.connection, {}, "revoked");
    // Every attempt has long had its handshake refused by now.
    await sleep(1500);
    assert.deepEqual(frames, [{ peer: good.peer, type: "legit" }], "only the admitted peer's frame arrived");
    assert.equal(transport.stats.admitted, 1);
    assert.ok(transport.stats.refused >= 8, `refused ${transport.stats.refused} handshakes`);
    // The host is still there for the admitted peer.
    await legit.send(encodeFrame({ type: "still here" }));
    await waitUntil(() => frames.length === 2, "the legit peer's next frame");
  } finally {
    for (const socket of sockets) socket.close();
    await transport.close();
  }
});

test("two transports in one process each admit only their own peers", async () => {
  const one = await bound("one");
  const two = await bound("two");
  const a = one.transport.admit("a");
  const b = two.transport.admit("b");
  // b's credentials against one's socket: refused, whatever the keys.
  const crossed = dealer({
    ...b.connection,
    endpoint: one.transport.endpoint,
    curve: { ...b.connection.curve!, serverKey: a.connection.curve!.serverKey },
  });
  const own = dealer(a.connection);
  try {
    crossed.send(encodeFrame({ type: "crossed" })).catch(() => undefined);
    await own.send(encodeFrame({ type: "own" }));
    await waitUntil(() => one.frames.length === 1, "the own frame");
    await sleep(500);
    assert.deepEqual(one.frames, [{ peer: a.peer, type: "own" }]);
    assert.ok(zapHandlerBound());
  } finally {
    crossed.close();
    own.close();
    await one.transport.close();
    assert.ok(zapHandlerBound(), "the second transport still has the handler");
    await two.transport.close();
  }
});
