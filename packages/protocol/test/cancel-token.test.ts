import assert from "node:assert/strict";
import { test } from "node:test";
import { Canceler, cancelTokenOf } from "../src/cancel-token.ts";

test("cancel() calls the listener once and marks the canceler canceled", () => {
  const canceler = new Canceler();
  let sent = 0;
  canceler.onCancel(() => sent++);
  assert.equal(canceler.canceled, false);
  canceler.cancel();
  canceler.cancel();
  assert.equal(sent, 1);
  assert.equal(canceler.canceled, true);
});

test("a cancel before the call is sent sends nothing and says so", () => {
  const canceler = new Canceler();
  canceler.cancel();
  assert.equal(canceler.canceled, true);
});

test("a listener added after the cancel runs at once; a disposed one never runs", () => {
  const canceler = new Canceler();
  const seen: string[] = [];
  canceler.onCancel(() => seen.push("gone")).dispose();
  canceler.onCancel(() => seen.push("kept"));
  canceler.cancel();
  canceler.onCancel(() => seen.push("late"));
  assert.deepEqual(seen, ["kept", "late"]);
});

test("an AbortSignal as a token: canceled with the signal, and its listener removed when disposed", () => {
  const controller = new AbortController();
  const token = cancelTokenOf(controller.signal);
  assert.ok(token);
  let calls = 0;
  token.onCancel(() => calls++).dispose();
  token.onCancel(() => calls++);
  assert.equal(token.canceled, false);
  controller.abort();
  assert.equal(token.canceled, true);
  assert.equal(calls, 1);
  assert.equal(cancelTokenOf(undefined), undefined);
});
