/**
 * The pipe transport's host side: over a real socket pair to a child process (an extra stdio slot of type `pipe`, as
 * the launcher makes it), and over an in-memory stream where a test needs to see each write or to stop reading.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { Duplex } from "node:stream";
import { test } from "node:test";
import { encodeFrame, encodeStreamFrame, frameHeader, type HostToPlugin } from "@neko/protocol";
import { createSilentLogger } from "../../src/host-logger.ts";
import type { IncomingFrame } from "../../src/transport/host-transport.ts";
import { DEFAULT_MAX_QUEUED_BYTES, PipeHostTransport } from "../../src/transport/pipe-host-transport.ts";

async function waitUntil(probe: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A child whose fd 3 is its end of a socket pair, running `code` (CommonJS, `s` is that socket). */
function childWithPipe(code: string) {
  const child = spawn(
    process.execPath,
    ["-e", `const net = require("node:net"); const s = new net.Socket({ fd: 3 }); ${code}`],
    {
      stdio: ["ignore", "ignore", "inherit", "pipe"],
    },
  );
  return { child, stream: child.stdio[3] as Duplex };
}

function setUp(options: { maxQueuedBytes?: number } = {}) {
  const transport = new PipeHostTransport({ logger: createSilentLogger(), ...options });
  const frames: Array<{ peer: string; message: { type: string; [key: string]: unknown } | undefined }> = [];
  transport.onFrame((frame: IncomingFrame) => frames.push({ peer: frame.peer, message: frame.decode() }));
  return { transport, frames };
}

/** An in-memory stream standing in for the host's end of a pipe: counts writev calls; `stalled` stops taking writes. */
function memoryStream(options: { stalled?: boolean } = {}) {
  const writes: Buffer[][] = [];
  const stream = new Duplex({
    read() {},
    writev(chunks, callback) {
      writes.push(chunks.map((c) => c.chunk as Buffer));
      if (!options.stalled) callback();
    },
    write(chunk, _encoding, callback) {
      writes.push([chunk as Buffer]);
      if (!options.stalled) callback();
    },
  });
  return { stream, writes };
}

test("frames from a real child's socket pair arrive under the admission's peer id, and sends reach the child", async () => {
  const { transport, frames } = setUp();
  // The child echoes every byte back: a frame the host sends comes back as a frame from that peer.
  const { child, stream } = childWithPipe("s.pipe(s);");
  try {
    const admission = transport.admit("echo");
    assert.match(admission.peer, /^pipe:[0-9a-f]{32}$/);
    assert.deepEqual(admission.connection, { endpoint: "pipe:5", routingId: admission.peer.slice(5), curve: null });
    admission.bindProcess(child.pid, { stream, misbehaved: () => assert.fail("the echo did not misbehave") });
    assert.equal(transport.connected, 1);
    for (let i = 0; i < 50; i++) transport.send(admission.peer, { type: "ping", id: String(i) } as HostToPlugin);
    await waitUntil(() => frames.length === 50, "50 echoed frames");
    assert.deepEqual(
      frames.map((f) => f.message?.id),
      Array.from({ length: 50 }, (_, i) => String(i)),
    );
    assert.ok(frames.every((f) => f.peer === admission.peer && f.message?.type === "ping"));
    admission.dispose();
    assert.equal(transport.connected, 0);
  } finally {
    child.kill("SIGKILL");
    await transport.close();
  }
});

test("a child writing a 4 GiB length prefix has its pipe closed and is reported as misbehaving", async () => {
  const { transport, frames } = setUp();
  const { child, stream } = childWithPipe(
    "s.write(Buffer.from([0xff, 0xff, 0xff, 0xff, 1, 2, 3])); setInterval(() => {}, 1000);",
  );
  try {
    const admission = transport.admit("hostile");
    const why: string[] = [];
    admission.bindProcess(child.pid, { stream, misbehaved: (w) => why.push(w) });
    await waitUntil(() => why.length > 0, "the misbehaviour");
    assert.deepEqual(why, [
      "it broke the framing of its pipe to the host (a frame of 4294967295 bytes, over the 67108864-byte limit)",
    ]);
    assert.equal(frames.length, 0);
    assert.equal(transport.connected, 0);
    assert.equal(stream.destroyed, true);
  } finally {
    child.kill("SIGKILL");
    await transport.close();
  }
});

test("garbage text where a frame should be breaks the framing; a good frame before it is still delivered", () => {
  const { transport, frames } = setUp();
  const { stream } = memoryStream();
  const admission = transport.admit("garbage");
  const why: string[] = [];
  admission.bindProcess(1, { stream, misbehaved: (w) => why.push(w) });
  stream.push(Buffer.concat([encodeStreamFrame({ type: "pong" }), Buffer.from("this is not a frame at all")]));
  return new Promise<void>((resolve) => {
    setImmediate(() => {
      assert.deepEqual(
        frames.map((f) => f.message),
        [{ type: "pong" }],
      );
      assert.equal(why.length, 1);
      assert.match(why[0], /a frame of 1952999795 bytes, over the 67108864-byte limit/);
      assert.equal(transport.connected, 0);
      void transport.close().then(resolve);
    });
  });
});

test("a well-framed payload that is not msgpack is handed over undecodable, the pipe stays open", async () => {
  const { transport, frames } = setUp();
  const { stream } = memoryStream();
  const admission = transport.admit("p");
  admission.bindProcess(1, { stream, misbehaved: () => assert.fail("framing was fine") });
  stream.push(Buffer.concat([frameHeader(3), Buffer.from([0xc1, 0xc1, 0xc1])]));
  stream.push(encodeStreamFrame({ type: "pong" }));
  await waitUntil(() => frames.length === 2, "two frames");
  assert.deepEqual(
    frames.map((f) => f.message),
    [undefined, { type: "pong" }],
  );
  assert.equal(transport.connected, 1);
  await transport.close();
});

test("a child that writes half a frame and exits leaves nothing behind and is not called misbehaving", async () => {
  const { transport, frames } = setUp();
  const { child, stream } = childWithPipe("s.end(Buffer.from([0, 0, 0, 100, 1, 2, 3]));");
  try {
    const admission = transport.admit("half");
    admission.bindProcess(child.pid, { stream, misbehaved: () => assert.fail("an early end is an exit, not a fault") });
    await new Promise((resolve) => child.once("exit", resolve));
    await waitUntil(() => transport.connected === 0, "the pipe to close");
    assert.equal(frames.length, 0);
  } finally {
    await transport.close();
  }
});

test("frames sent in one tick leave in one write", async () => {
  const { transport } = setUp();
  const { stream, writes } = memoryStream();
  const admission = transport.admit("batch");
  admission.bindProcess(1, { stream, misbehaved: () => undefined });
  for (let i = 0; i < 100; i++) transport.send(admission.peer, { type: "ping", id: String(i) } as HostToPlugin);
  assert.equal(writes.length, 0, "nothing is written before the tick ends");
  await new Promise((r) => setImmediate(r));
  assert.equal(writes.length, 1);
  assert.equal(writes[0].length, 100);
  // Each one is the frame encodeStreamFrame makes: length, then encodeFrame's bytes.
  const first = writes[0][0];
  assert.equal(first.readUInt32BE(0), first.length - 4);
  assert.deepEqual(first.subarray(4), encodeFrame({ type: "ping", id: "0" }));
  await transport.close();
});

test("a peer that stops reading gets a bounded queue: past it, messages to it are dropped and counted", async () => {
  const maxQueuedBytes = 64 * 1024;
  const { transport } = setUp({ maxQueuedBytes });
  const stalled = memoryStream({ stalled: true });
  const reading = memoryStream();
  const slow = transport.admit("slow");
  slow.bindProcess(1, { stream: stalled.stream, misbehaved: () => undefined });
  const fast = transport.admit("fast");
  fast.bindProcess(2, { stream: reading.stream, misbehaved: () => undefined });
  const blob = "x".repeat(1000);
  for (let round = 0; round < 20; round++) {
    for (let i = 0; i < 100; i++) {
      transport.send(slow.peer, { type: "push", topic: "t", payload: blob } as unknown as HostToPlugin);
      transport.send(fast.peer, { type: "ping", id: `${round}.${i}` } as HostToPlugin);
    }
    await new Promise((r) => setImmediate(r));
  }
  // 2000 messages of ~1 KiB were sent to the slow peer: what it holds stays near the bound, the rest was dropped.
  assert.ok(stalled.stream.writableLength < maxQueuedBytes + 2 * 1024, `${stalled.stream.writableLength} bytes queued`);
  assert.ok(transport.droppedMessages > 1800, `${transport.droppedMessages} dropped`);
  // The other peer is untouched: all its 2000 frames were written.
  assert.equal(
    reading.writes.reduce((n, w) => n + w.length, 0),
    2000,
  );
  assert.equal(DEFAULT_MAX_QUEUED_BYTES, 16 * 1024 * 1024);
  await transport.close();
});

test("the queue bound counts the frame being queued: a big frame never lands on a nearly full queue", async () => {
  const maxQueuedBytes = 64 * 1024;
  const { transport } = setUp({ maxQueuedBytes });
  const stalled = memoryStream({ stalled: true });
  const slow = transport.admit("slow");
  slow.bindProcess(1, { stream: stalled.stream, misbehaved: () => undefined });
  // An empty queue takes any one frame, even one over the bound (a message up to MAX_FRAME_BYTES must be sendable).
  transport.send(slow.peer, { type: "push", topic: "t", payload: "x".repeat(100 * 1024) } as unknown as HostToPlugin);
  const first = stalled.stream.writableLength;
  assert.ok(first > maxQueuedBytes, `${first} bytes queued`);
  assert.equal(transport.droppedMessages, 0);
  // A small one behind it would pass the bound: dropped.
  transport.send(slow.peer, { type: "ping", id: "1" } as HostToPlugin);
  assert.equal(transport.droppedMessages, 1);
  assert.equal(stalled.stream.writableLength, first);
  await transport.close();

  const again = setUp({ maxQueuedBytes }).transport;
  const other = memoryStream({ stalled: true });
  const peer = again.admit("slow");
  peer.bindProcess(1, { stream: other.stream, misbehaved: () => undefined });
  // 60 KiB queued, under the bound: a 40 KiB frame would take it to ~100 KiB, so it is dropped (the old check let it in).
  again.send(peer.peer, { type: "push", topic: "t", payload: "x".repeat(60 * 1024) } as unknown as HostToPlugin);
  again.send(peer.peer, { type: "push", topic: "t", payload: "y".repeat(40 * 1024) } as unknown as HostToPlugin);
  assert.equal(again.droppedMessages, 1);
  assert.ok(other.stream.writableLength <= maxQueuedBytes, `${other.stream.writableLength} bytes queued`);
  await again.close();
});

test("a send to a peer that never connected, or has gone, is dropped; an admission without a stream connects nothing", async () => {
  const { transport } = setUp();
  const admission = transport.admit("none");
  admission.bindProcess(1, { stream: undefined, misbehaved: () => undefined });
  assert.equal(transport.connected, 0);
  transport.send(admission.peer, { type: "welcome" } as HostToPlugin);
  transport.send("pipe:00000000000000000000000000000000", { type: "welcome" } as HostToPlugin);
  const { stream } = memoryStream();
  // A stream bound after the admission was disposed is not taken.
  admission.dispose();
  admission.bindProcess(1, { stream, misbehaved: () => undefined });
  assert.equal(transport.connected, 0);
  await transport.close();
});

test("a stream bound after its admission was disposed, or after the transport closed, is destroyed, never left unread", async () => {
  const { transport } = setUp();
  const disposed = transport.admit("gone");
  disposed.dispose();
  const first = memoryStream().stream;
  disposed.bindProcess(1, { stream: first, misbehaved: () => undefined });
  assert.equal(first.destroyed, true);
  const late = transport.admit("late");
  await transport.close();
  const second = memoryStream().stream;
  late.bindProcess(2, { stream: second, misbehaved: () => undefined });
  assert.equal(second.destroyed, true);
  assert.equal(transport.connected, 0);
});
