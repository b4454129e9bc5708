import assert from "node:assert/strict";
import { test } from "node:test";
import {
  decodeFrame,
  encodeFrame,
  encodeStreamFrame,
  FRAME_HEADER_BYTES,
  FrameDecoder,
  FrameTooLargeError,
  frameHeader,
  MAX_FRAME_BYTES,
} from "../src/index.ts";

function collector(maxFrameBytes = 1024) {
  const frames: Buffer[] = [];
  const decoder = new FrameDecoder({ maxFrameBytes, onFrame: (payload) => frames.push(Buffer.from(payload)) });
  return { frames, decoder };
}

function framed(payload: Buffer): Buffer {
  return Buffer.concat([frameHeader(payload.length), payload]);
}

test("encodeStreamFrame is the 4-byte big-endian length, then exactly encodeFrame's bytes", () => {
  const message = { type: "call", id: "1", args: { text: "é".repeat(300) } };
  const frame = encodeStreamFrame(message);
  const plain = encodeFrame(message);
  assert.equal(frame.length, plain.length + FRAME_HEADER_BYTES);
  assert.equal(frame.readUInt32BE(0), plain.length);
  assert.deepEqual(frame.subarray(4), plain);
  assert.deepEqual(decodeFrame(frame.subarray(4)), message);
});

test("encodeStreamFrame refuses a message over MAX_FRAME_BYTES", () => {
  assert.throws(() => encodeStreamFrame({ type: "x", blob: Buffer.alloc(MAX_FRAME_BYTES) }), FrameTooLargeError);
});

test("several frames in one chunk come out in order, as views of the chunk", () => {
  const seen: Buffer[] = [];
  const chunk = Buffer.concat([framed(Buffer.from("a")), framed(Buffer.from("bb")), framed(Buffer.from("ccc"))]);
  const decoder = new FrameDecoder({ maxFrameBytes: 16, onFrame: (p) => seen.push(p) });
  assert.equal(decoder.push(chunk), undefined);
  assert.deepEqual(
    seen.map((p) => p.toString()),
    ["a", "bb", "ccc"],
  );
  // No copy: each payload shares the chunk's memory.
  assert.ok(seen.every((p) => p.buffer === chunk.buffer));
  assert.equal(decoder.pendingBytes, 0);
});

test("a stream cut at every possible place gives the same frames", () => {
  const payloads = [Buffer.from("x"), Buffer.alloc(300, 7), Buffer.from("hello"), Buffer.alloc(1024, 1)];
  const stream = Buffer.concat(payloads.map(framed));
  for (let cut = 0; cut <= stream.length; cut++) {
    const { frames, decoder } = collector();
    assert.equal(decoder.push(stream.subarray(0, cut)), undefined);
    assert.equal(decoder.push(stream.subarray(cut)), undefined);
    assert.deepEqual(frames, payloads, `cut at ${cut}`);
  }
});

test("a stream fed one byte at a time gives the same frames, and holds the half frame in between", () => {
  const payloads = [Buffer.from("one"), Buffer.alloc(200, 9)];
  const stream = Buffer.concat(payloads.map(framed));
  const { frames, decoder } = collector();
  for (let i = 0; i < stream.length; i++) {
    decoder.push(stream.subarray(i, i + 1));
    if (i === 1) assert.equal(decoder.pendingBytes, 2);
    if (i === 4 + 1) assert.equal(decoder.pendingBytes, 2);
  }
  assert.deepEqual(frames, payloads);
  assert.equal(decoder.pendingBytes, 0);
});

test("boundary sizes: a frame of exactly the limit passes, one byte more breaks the stream", () => {
  const ok = collector(100);
  assert.equal(ok.decoder.push(framed(Buffer.alloc(100, 1))), undefined);
  assert.equal(ok.frames.length, 1);
  assert.equal(ok.frames[0].length, 100);
  const one = collector(100);
  assert.equal(one.decoder.push(framed(Buffer.from([0x80]))), undefined);
  assert.deepEqual(one.frames, [Buffer.from([0x80])]);
  const over = collector(100);
  assert.equal(over.decoder.push(framed(Buffer.alloc(101))), "a frame of 101 bytes, over the 100-byte limit");
  assert.equal(over.frames.length, 0);
});

test("a 4 GiB length prefix breaks the stream at once, with nothing allocated for it", () => {
  const { frames, decoder } = collector(MAX_FRAME_BYTES);
  const problem = decoder.push(Buffer.from([0xff, 0xff, 0xff, 0xff, 1, 2, 3]));
  assert.equal(problem, `a frame of 4294967295 bytes, over the ${MAX_FRAME_BYTES}-byte limit`);
  assert.equal(frames.length, 0);
  assert.equal(decoder.pendingBytes, 0);
  // Broken for good: a valid frame after it is not delivered.
  assert.equal(decoder.push(framed(Buffer.from("a"))), problem);
  assert.equal(frames.length, 0);
});

test("a length of 0 is malformed; so is text where a length should be", () => {
  assert.equal(collector().decoder.push(Buffer.from([0, 0, 0, 0])), "a frame of length 0");
  assert.equal(
    collector(MAX_FRAME_BYTES).decoder.push(Buffer.from("GET / HTTP/1.1\r\n")),
    `a frame of 1195725856 bytes, over the ${MAX_FRAME_BYTES}-byte limit`,
  );
});

test("a length split across chunks is checked once it is whole", () => {
  const { frames, decoder } = collector(100);
  assert.equal(decoder.push(Buffer.from([0, 0])), undefined);
  assert.equal(decoder.push(Buffer.from([1])), undefined);
  assert.equal(decoder.push(Buffer.from([0xff])), "a frame of 511 bytes, over the 100-byte limit");
  assert.equal(frames.length, 0);
});

test("frames delivered before a broken length in the same chunk still come out", () => {
  const { frames, decoder } = collector(100);
  const chunk = Buffer.concat([framed(Buffer.from("ok")), Buffer.from([0, 0, 0, 0])]);
  assert.equal(decoder.push(chunk), "a frame of length 0");
  assert.deepEqual(frames, [Buffer.from("ok")]);
});

test("stop() from inside onFrame delivers nothing more from that chunk", () => {
  const seen: string[] = [];
  const decoder: FrameDecoder = new FrameDecoder({
    maxFrameBytes: 100,
    onFrame: (p) => {
      seen.push(p.toString());
      decoder.stop("enough");
    },
  });
  assert.equal(decoder.push(Buffer.concat([framed(Buffer.from("a")), framed(Buffer.from("b"))])), "enough");
  assert.deepEqual(seen, ["a"]);
});

test("a turn's budget: past turnFrames the rest of the chunk waits for nextTurn(), in order", () => {
  const seen: number[] = [];
  const decoder = new FrameDecoder({ maxFrameBytes: 16, turnFrames: 1000, onFrame: (p) => seen.push(p[0]) });
  // 2500 one-byte frames in one chunk, then one more chunk of 10 while the first still waits.
  const frames = Array.from({ length: 2500 }, (_, i) => framed(Buffer.from([i % 256])));
  const first = Buffer.concat(frames);
  assert.equal(decoder.push(first), undefined);
  assert.equal(seen.length, 1000);
  assert.equal(decoder.waiting, true);
  assert.equal(decoder.pendingBytes, 1500 * 5);
  const second = Buffer.concat(Array.from({ length: 10 }, () => framed(Buffer.from([7]))));
  assert.equal(decoder.push(second), undefined);
  assert.equal(seen.length, 1000, "a chunk behind waiting ones waits too");
  assert.equal(decoder.nextTurn(), undefined);
  assert.equal(seen.length, 2000);
  assert.equal(decoder.nextTurn(), undefined);
  assert.equal(seen.length, 2510);
  assert.equal(decoder.waiting, false);
  assert.equal(decoder.pendingBytes, 0);
  assert.deepEqual(seen, [...Array.from({ length: 2500 }, (_, i) => i % 256), ...Array(10).fill(7)]);
});

test("a turn's byte budget stops after the frame that spends it; a bigger frame still passes whole", () => {
  const seen: number[] = [];
  const decoder = new FrameDecoder({ maxFrameBytes: 1000, turnBytes: 250, onFrame: (p) => seen.push(p.length) });
  assert.equal(decoder.push(Buffer.concat([100, 100, 100, 600, 1].map((n) => framed(Buffer.alloc(n))))), undefined);
  assert.deepEqual(seen, [100, 100, 100]);
  decoder.nextTurn();
  assert.deepEqual(seen, [100, 100, 100, 600]);
  decoder.nextTurn();
  assert.deepEqual(seen, [100, 100, 100, 600, 1]);
  assert.equal(decoder.waiting, false);
});

test("a broken length behind waiting frames breaks the stream when its turn comes; stop() drops what waits", () => {
  const { frames, decoder } = (() => {
    const frames: Buffer[] = [];
    return { frames, decoder: new FrameDecoder({ maxFrameBytes: 16, turnFrames: 1, onFrame: (p) => frames.push(p) }) };
  })();
  assert.equal(decoder.push(Buffer.concat([framed(Buffer.from("a")), framed(Buffer.from("b"))])), undefined);
  assert.equal(decoder.push(Buffer.from([0, 0, 0, 0])), undefined);
  assert.equal(decoder.nextTurn(), undefined);
  assert.equal(decoder.nextTurn(), "a frame of length 0");
  assert.deepEqual(frames.map(String), ["a", "b"]);
  const other = new FrameDecoder({ maxFrameBytes: 16, turnFrames: 1, onFrame: () => undefined });
  other.push(Buffer.concat([framed(Buffer.from("a")), framed(Buffer.from("b"))]));
  other.stop("closed");
  assert.equal(other.waiting, false);
  assert.equal(other.pendingBytes, 0);
});

test("a big frame trickled one byte at a time is gathered in one buffer at most twice what came (M1)", () => {
  const size = 1024 * 1024;
  const payload = Buffer.alloc(size);
  for (let i = 0; i < size; i++) payload[i] = i % 251;
  const stream = framed(payload);
  const { frames, decoder } = collector(size);
  for (let i = 0; i < stream.length; i++) {
    decoder.push(stream.subarray(i, i + 1));
    const came = decoder.pendingBytes;
    // One buffer, no list of a million one-byte pieces: its capacity stays within 2× what came (64 KiB at first).
    if (i >= 4 && i < stream.length - 1) {
      assert.ok(decoder.partialCapacity <= Math.max(64 * 1024, 2 * came), `at ${i}: ${decoder.partialCapacity}`);
    }
  }
  assert.equal(frames.length, 1);
  assert.ok(frames[0].equals(payload));
  assert.equal(decoder.partialCapacity, 0);
});

test("a frame announced big and never finished holds only about what came", () => {
  const { decoder } = collector(MAX_FRAME_BYTES);
  decoder.push(frameHeader(MAX_FRAME_BYTES));
  decoder.push(Buffer.alloc(10));
  assert.equal(decoder.pendingBytes, 10);
  assert.equal(decoder.partialCapacity, 64 * 1024);
  decoder.push(Buffer.alloc(100_000));
  assert.equal(decoder.partialCapacity, 128 * 1024);
});
