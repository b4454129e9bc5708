import assert from "node:assert/strict";
import { test } from "node:test";
import { DEFAULT_RESTART_POLICY, RestartPolicy } from "../../src/supervisor/restart-policy.ts";

test("backoff doubles from 1 s and the third crash within 5 minutes quarantines", () => {
  const policy = new RestartPolicy();
  assert.deepEqual(policy.onCrash(0), { action: "restart", delayMs: 1000 });
  assert.deepEqual(policy.onCrash(10_000), { action: "restart", delayMs: 2000 });
  assert.deepEqual(policy.onCrash(20_000), { action: "quarantine", crashes: 3 });
});

test("crashes older than the window are forgotten; reset forgives; the delay is capped", () => {
  const policy = new RestartPolicy();
  policy.onCrash(0);
  policy.onCrash(1000);
  assert.deepEqual(policy.onCrash(1000 + DEFAULT_RESTART_POLICY.windowMs), { action: "restart", delayMs: 1000 });
  policy.reset();
  assert.deepEqual(policy.onCrash(0), { action: "restart", delayMs: 1000 });
  const capped = new RestartPolicy({ baseDelayMs: 1000, maxDelayMs: 30_000, maxCrashes: 100, windowMs: 1e9 });
  let last = 0;
  for (let i = 0; i < 10; i++) {
    const d = capped.onCrash(i);
    if (d.action === "restart") last = d.delayMs;
  }
  assert.equal(last, 30_000);
});
