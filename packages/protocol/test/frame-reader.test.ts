import assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import { test } from "node:test";
import { FrameReader, frameHeader } from "../src/index.ts";

/** A stream as the reader sees it: chunks pushed by hand, its pause/resume calls recorded. */
class FakeSource extends EventEmitter {
  readonly calls: string[] = [];
  pause() {
    this.calls.push("pause");
  }
  resume() {
    this.calls.push("resume");
  }
}

const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

test("a flood in one chunk is handed over a turn's budget at a time, the stream paused meanwhile, then resumed", async () => {
  const source = new FakeSource();
  const seen: number[] = [];
  const problems: string[] = [];
  new FrameReader(source, {
    maxFrameBytes: 16,
    turnFrames: 100,
    onFrame: (p) => seen.push(p[0]),
    onProblem: (p) => problems.push(p),
  });
  const chunk = Buffer.concat(
    Array.from({ length: 350 }, (_, i) => Buffer.concat([frameHeader(1), Buffer.from([i % 256])])),
  );
  source.emit("data", chunk);
  assert.equal(seen.length, 100);
  assert.deepEqual(source.calls, ["pause"]);
  // Other work runs between the turns: the event loop is not held.
  const turns: number[] = [];
  while (seen.length < 350) {
    await nextTurn();
    turns.push(seen.length);
  }
  assert.ok(turns.length >= 3, `turns: ${turns}`);
  assert.ok(
    turns.every((n) => n % 100 === 0 || n === 350),
    `turns: ${turns}`,
  );
  await nextTurn();
  assert.deepEqual(source.calls, ["pause", "resume"]);
  assert.deepEqual(
    seen,
    Array.from({ length: 350 }, (_, i) => i % 256),
  );
  assert.deepEqual(problems, []);
});

test("the budget is per turn, not per chunk: many small chunks in one turn share it", async () => {
  const source = new FakeSource();
  let seen = 0;
  new FrameReader(source, { maxFrameBytes: 16, turnFrames: 100, onFrame: () => seen++, onProblem: () => undefined });
  const ten = Buffer.concat(Array.from({ length: 10 }, () => Buffer.concat([frameHeader(1), Buffer.from([1])])));
  for (let i = 0; i < 30; i++) source.emit("data", ten);
  assert.equal(seen, 100);
  assert.deepEqual(source.calls, ["pause"]);
  await nextTurn();
  await nextTurn();
  await nextTurn();
  assert.equal(seen, 300);
  assert.deepEqual(source.calls, ["pause", "resume"]);
});

test("a broken frame is reported once, and nothing after it is delivered; stop() reports nothing", async () => {
  const source = new FakeSource();
  const seen: string[] = [];
  const problems: string[] = [];
  const reader = new FrameReader(source, {
    maxFrameBytes: 16,
    onFrame: (p) => seen.push(String(p)),
    onProblem: (p) => problems.push(p),
  });
  source.emit("data", Buffer.concat([frameHeader(1), Buffer.from("a"), Buffer.from([0, 0, 0, 0])]));
  source.emit("data", Buffer.concat([frameHeader(1), Buffer.from("b")]));
  await nextTurn();
  assert.deepEqual(seen, ["a"]);
  assert.deepEqual(problems, ["a frame of length 0"]);
  const quiet: string[] = [];
  const stopped = new FrameReader(source, {
    maxFrameBytes: 16,
    onFrame: () => undefined,
    onProblem: (p) => quiet.push(p),
  });
  stopped.stop("closed");
  source.emit("data", Buffer.from("x"));
  assert.deepEqual(quiet, []);
  assert.equal(reader.decoder.problem, "a frame of length 0");
});
