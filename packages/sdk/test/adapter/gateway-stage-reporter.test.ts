/** `GatewayStageReporter` and `TokenBucketLimiter`: the cheap parts under the core (docs/adapters.md#metrics, #policy). */
import assert from "node:assert/strict";
import { setTimeout as delay } from "node:timers/promises";
import { test } from "node:test";
import { type GatewayStageReport, GatewayStageReporter, TokenBucketLimiter } from "../../src/adapter.ts";

test("timings are held and sent as one report when enough requests wait", () => {
  const reports: GatewayStageReport[] = [];
  const reporter = new GatewayStageReporter((r) => reports.push(r), { maxPending: 3, flushMs: 60_000 });
  reporter.record({ normalize: 1, policy: 2, route: 3, invoke: 4, serialize: 5, total: 15 }, null);
  reporter.record({ normalize: 1, total: 1 }, "invalid_request");
  assert.equal(reports.length, 0);
  reporter.record({ normalize: 2, policy: 1, route: 1, invoke: 9, serialize: 1, total: 14 }, null);
  assert.deepEqual(reports, [
    {
      stages: {
        normalize: [1, 1, 2],
        policy: [2, 1],
        route: [3, 1],
        invoke: [4, 9],
        serialize: [5, 1],
        total: [15, 1, 14],
      },
      outcomes: { ok: 2, invalid_request: 1 },
    },
  ]);
  reporter.dispose();
  assert.equal(reports.length, 1, "nothing held, nothing sent");
});

test("a lone request is sent after flushMs, and dispose sends what is held", async () => {
  const reports: GatewayStageReport[] = [];
  const reporter = new GatewayStageReporter((r) => reports.push(r), { flushMs: 20 });
  reporter.record({ total: 3 }, "route_failed");
  await delay(80);
  assert.deepEqual(reports, [{ stages: { total: [3] }, outcomes: { route_failed: 1 } }]);
  reporter.record({ total: 4 }, null);
  reporter.dispose();
  assert.deepEqual(reports[1], { stages: { total: [4] }, outcomes: { ok: 1 } });
});

test("token bucket: burst at once, then the sustained rate; the least recently used key goes first when full", () => {
  let now = 0;
  const limiter = new TokenBucketLimiter({ burst: 2, perSecond: 4, maxKeys: 2, now: () => now });
  assert.deepEqual(limiter.take("a"), { allowed: true });
  assert.deepEqual(limiter.take("a"), { allowed: true });
  assert.deepEqual(limiter.take("a"), { allowed: false, retryAfterMs: 250 });
  now += 250;
  assert.deepEqual(limiter.take("a"), { allowed: true });
  limiter.take("b");
  limiter.take("c");
  assert.equal(limiter.size, 2, "bounded");
  assert.deepEqual(limiter.take("a"), { allowed: true }, "'a' was forgotten: a full bucket again");
  assert.throws(() => new TokenBucketLimiter({ burst: 0, perSecond: 1 }), RangeError);
});

test("token bucket: a rate that is not a finite number above 0 is refused; a tiny one's wait is capped", () => {
  for (const perSecond of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
    assert.throws(() => new TokenBucketLimiter({ burst: 1, perSecond }), RangeError, String(perSecond));
  }
  const slow = new TokenBucketLimiter({ burst: 1, perSecond: 1e-300, now: () => 0 });
  assert.deepEqual(slow.take("a"), { allowed: true });
  assert.deepEqual(slow.take("a"), { allowed: false, retryAfterMs: 2_147_483_647 });
});
