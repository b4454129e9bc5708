import assert from "node:assert/strict";
import { test } from "node:test";
import { CallCanceler } from "../../src/supervisor/call-canceler.ts";

test("cancel() sends the attached cancel once and marks the canceler canceled", () => {
  const canceler = new CallCanceler();
  let sent = 0;
  canceler.attach(() => sent++);
  assert.equal(canceler.canceled, false);
  canceler.cancel();
  canceler.cancel();
  assert.equal(sent, 1);
  assert.equal(canceler.canceled, true);
});

test("a cancel before the call is sent sends nothing and says so", () => {
  const canceler = new CallCanceler();
  canceler.cancel();
  assert.equal(canceler.canceled, true);
});
