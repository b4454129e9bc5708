import assert from "node:assert/strict";
import { test } from "node:test";
import { MAX_TIMER_DELAY_MS, timerDelay } from "../src/timer-delay.ts";

test("timerDelay keeps delays within what Node's timers can wait", () => {
  assert.equal(timerDelay(1500), 1500);
  assert.equal(timerDelay(30 * 86_400_000), MAX_TIMER_DELAY_MS);
  assert.equal(timerDelay(Number.POSITIVE_INFINITY), MAX_TIMER_DELAY_MS);
  assert.equal(timerDelay(-5), 0);
  assert.equal(timerDelay(Number.NaN), 0);
});
