import assert from "node:assert/strict";
import { test } from "node:test";
import { pack } from "msgpackr";
import { decodeFrame, encodeFrame } from "../src/index.ts";

test("frames round-trip as plain msgpack maps", () => {
  const message = { type: "call", id: "1", entryId: "e", args: { a: [1, "x", null], b: { c: true } }, deadline: 5 };
  assert.deepEqual(decodeFrame(encodeFrame(message)), message);
  // Another msgpack implementation's map decodes too (no msgpackr records on the wire).
  assert.deepEqual(decodeFrame(pack({ type: "ping", id: "7" })), { type: "ping", id: "7" });
});

test("anything that is not a msgpack map with a string type decodes to undefined", () => {
  assert.equal(decodeFrame(Buffer.from("garbage bytes")), undefined);
  assert.equal(decodeFrame(encodeFrame([1, 2, 3] as unknown as object)), undefined);
  assert.equal(decodeFrame(encodeFrame({ id: "no type" })), undefined);
  assert.equal(decodeFrame(encodeFrame({ type: 3 })), undefined);
  assert.equal(decodeFrame(new Uint8Array()), undefined);
});
