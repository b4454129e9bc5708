import assert from "node:assert/strict";
import { test } from "node:test";
import { payloadBytes } from "../src/payload-bytes.ts";

test("payloadBytes is about the JSON size of a value, counts bytes as bytes, and never throws", () => {
  const value = { text: "héllo", list: [1, 2, 3], nested: { ok: true, none: null } };
  const json = Buffer.byteLength(JSON.stringify(value));
  const size = payloadBytes(value);
  assert.ok(size >= json / 2 && size <= json * 3, `${size} is near ${json}`);
  assert.equal(payloadBytes(new Uint8Array(1000)), 1000);
  assert.ok(payloadBytes("x".repeat(2 * 1024 * 1024)) > 2 * 1024 * 1024);
  assert.equal(typeof payloadBytes(10n ** 30n), "number");
  const cyclic: Record<string, unknown> = { a: 1 };
  cyclic.self = cyclic;
  assert.ok(Number.isFinite(payloadBytes(cyclic)));
  let deep: unknown = "leaf";
  for (let i = 0; i < 100_000; i++) deep = [deep];
  assert.ok(payloadBytes(deep) > 100_000, "deep nesting is walked without recursion");
});
