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

test("64-bit integers from another msgpack implementation decode as numbers, not BigInt", () => {
  // 0xcf: uint64, what Python's msgpack writes for a millisecond timestamp.
  const deadline = 1_795_595_200_676;
  const bytes = Buffer.concat([
    Buffer.from([
      0x82,
      0xa4,
      ...Buffer.from("type"),
      0xa4,
      ...Buffer.from("ping"),
      0xa8,
      ...Buffer.from("deadline"),
      0xcf,
    ]),
    Buffer.from(BigInt(deadline).toString(16).padStart(16, "0"), "hex"),
  ]);
  const decoded = decodeFrame(bytes);
  assert.deepEqual(decoded, { type: "ping", deadline });
  assert.equal(typeof decoded?.deadline, "number");
});
