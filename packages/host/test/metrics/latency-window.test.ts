import assert from "node:assert/strict";
import { test } from "node:test";
import { LatencyWindow } from "../../src/metrics/latency-window.ts";

test("an empty window has no percentiles", () => {
  assert.deepEqual(new LatencyWindow(8).summary(), { p50_ms: null, p95_ms: null, p99_ms: null, max_ms: null });
});

test("nearest-rank percentiles over 1..100 ms, recorded in any order", () => {
  const window = new LatencyWindow(128);
  const values = Array.from({ length: 100 }, (_, i) => i + 1);
  for (const v of values.sort(() => Math.random() - 0.5)) window.record(v);
  assert.deepEqual(window.summary(), { p50_ms: 50, p95_ms: 95, p99_ms: 99, max_ms: 100 });
});

test("one sample is every percentile; fractions are kept to the microsecond", () => {
  const window = new LatencyWindow(4);
  window.record(1.23456789);
  assert.deepEqual(window.summary(), { p50_ms: 1.235, p95_ms: 1.235, p99_ms: 1.235, max_ms: 1.235 });
});

test("a full window forgets its oldest durations: the figures follow the latest calls", () => {
  const window = new LatencyWindow(10);
  for (let i = 0; i < 10; i++) window.record(1000);
  for (let i = 0; i < 10; i++) window.record(2);
  assert.equal(window.size, 10);
  assert.deepEqual(window.summary(), { p50_ms: 2, p95_ms: 2, p99_ms: 2, max_ms: 2 });
  window.record(7);
  assert.equal(window.summary().max_ms, 7);
  assert.equal(window.summary().p50_ms, 2);
});

test("a window of nothing is refused", () => {
  assert.throws(() => new LatencyWindow(0), RangeError);
});
