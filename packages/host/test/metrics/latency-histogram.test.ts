import assert from "node:assert/strict";
import { test } from "node:test";
import { LATENCY_BUCKETS_SECONDS, LatencyHistogram } from "../../src/metrics/latency-histogram.ts";

test("counts are cumulative per upper bound, a duration on a bound counts in it, and +Inf holds every call", () => {
  const h = new LatencyHistogram([0.001, 0.01, 0.1]);
  for (const ms of [0.5, 1, 1.5, 10, 50, 5000]) h.record(ms);
  const snap = h.snapshot();
  assert.deepEqual(snap.bounds, [0.001, 0.01, 0.1]);
  assert.deepEqual(snap.cumulative, [2, 4, 5, 6]);
  assert.equal(snap.count, 6);
  assert.ok(Math.abs(snap.sumSeconds - 5.063) < 1e-9);
});

test("an empty histogram has zero everywhere, and the default bounds ascend up to a minute", () => {
  const snap = new LatencyHistogram().snapshot();
  assert.equal(snap.cumulative.length, LATENCY_BUCKETS_SECONDS.length + 1);
  assert.ok(snap.cumulative.every((n) => n === 0));
  assert.deepEqual(
    [...LATENCY_BUCKETS_SECONDS].sort((a, b) => a - b),
    [...LATENCY_BUCKETS_SECONDS],
  );
  assert.equal(LATENCY_BUCKETS_SECONDS.at(-1), 60);
});
