import assert from "node:assert/strict";
import { test } from "node:test";
import type { LogRecord } from "../../src/host-logger.ts";
import { LogRing } from "../../src/logs/log-ring.ts";

const record = (msg: string, level = "info"): LogRecord => ({ time: 1, level, msg });
const msgs = (records: LogRecord[]) => records.map((r) => r.msg);

test("a full ring pushes out its oldest records and counts them", () => {
  const ring = new LogRing(3, 1024 * 1024);
  for (const m of ["a", "b", "c", "d", "e"]) ring.push(record(m));
  assert.equal(ring.size, 3);
  assert.equal(ring.dropped, 2);
  assert.deepEqual(msgs(ring.newest(10)), ["c", "d", "e"], "oldest first");
  assert.deepEqual(msgs(ring.newest(2)), ["d", "e"], "the newest ones");
});

test("the byte bound pushes out old records too, but the newest one always stays", () => {
  const ring = new LogRing(100, 600);
  for (let i = 0; i < 10; i++) ring.push(record(`line ${i} ${"x".repeat(100)}`));
  assert.ok(ring.size < 10 && ring.size >= 2, `some were pushed out by size (${ring.size} kept)`);
  assert.equal(ring.dropped, 10 - ring.size);
  assert.match(ring.newest(1)[0]?.msg ?? "", /^line 9 /);
  ring.push(record("y".repeat(5000)));
  assert.equal(ring.size, 1, "a record over the bound on its own is kept, alone");
  assert.equal(ring.newest(5)[0]?.msg.length, 5000);
});

test("newest(n, wanted) takes the newest n that match, scanning past those that do not", () => {
  const ring = new LogRing(10, 1024 * 1024);
  for (const [m, level] of [
    ["a", "error"],
    ["b", "info"],
    ["c", "error"],
    ["d", "info"],
    ["e", "error"],
  ]) {
    ring.push(record(m as string, level));
  }
  const errors = (r: LogRecord) => r.level === "error";
  assert.deepEqual(msgs(ring.newest(2, errors)), ["c", "e"]);
  assert.deepEqual(msgs(ring.newest(10, errors)), ["a", "c", "e"]);
  assert.deepEqual(
    ring.newest(10, () => false),
    [],
  );
});
