import assert from "node:assert/strict";
import { test } from "node:test";
import { BoundedQueue } from "../../src/bus/bounded-queue.ts";

test("a full queue drops its oldest item on push and counts it", () => {
  const queue = new BoundedQueue<number>(3);
  assert.equal(queue.push(1), undefined);
  queue.push(2);
  queue.push(3);
  assert.equal(queue.dropped, 0);
  assert.equal(queue.push(4), 1, "push returns what it dropped");
  assert.equal(queue.push(5), 2);
  assert.deepEqual(queue.toArray(), [3, 4, 5]);
  assert.equal(queue.size, 3);
  assert.equal(queue.dropped, 2);
});

test("take, shift and at read in FIFO order across the wrap-around", () => {
  const queue = new BoundedQueue<string>(4);
  for (const s of ["a", "b", "c", "d", "e", "f"]) queue.push(s);
  assert.equal(queue.at(0), "c");
  assert.equal(queue.at(3), "f");
  assert.equal(queue.at(4), undefined);
  assert.deepEqual(queue.take(3), ["c", "d", "e"]);
  queue.push("g");
  assert.equal(queue.shift(), "f");
  assert.deepEqual(queue.take(10), ["g"]);
  assert.equal(queue.shift(), undefined);
  assert.equal(queue.size, 0);
});

test("memory stays bounded under a flood: 100 000 pushes keep 10 items", () => {
  const queue = new BoundedQueue<{ n: number }>(10);
  for (let n = 0; n < 100_000; n++) queue.push({ n });
  assert.equal(queue.size, 10);
  assert.equal(queue.dropped, 99_990);
  assert.deepEqual(
    queue.toArray().map((x) => x.n),
    Array.from({ length: 10 }, (_, i) => 99_990 + i),
  );
});

test("a capacity below 1 is a programmer error", () => {
  assert.throws(() => new BoundedQueue(0), RangeError);
  assert.throws(() => new BoundedQueue(1.5), RangeError);
});
