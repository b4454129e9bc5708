import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { decodeState, encodeState } from "../src/runtime/state-codec.ts";

const roundTrip = (value: unknown) => decodeState(JSON.parse(JSON.stringify(encodeState(value, "field"))));

describe("state codec", () => {
  test("JSON values, Date, Map and Set, nested, come back as themselves", () => {
    const value = {
      n: 1,
      s: "x",
      b: true,
      nil: null,
      list: [1, "two", { three: 3 }],
      when: new Date("2024-05-06T07:08:09.010Z"),
      map: new Map<unknown, unknown>([
        ["a", new Set([1, 2])],
        [3, { deep: new Date(0) }],
      ]),
      set: new Set(["x", new Map([["k", [1]]])]),
    };
    const back = roundTrip(value) as typeof value;
    assert.deepEqual(back, value);
    assert.ok(back.when instanceof Date);
    assert.ok(back.map instanceof Map && back.map.get("a") instanceof Set);
  });

  test("undefined, bigint and non-finite numbers survive; an object with a $neko key is not mistaken for a tag", () => {
    const value = {
      u: undefined,
      big: 2n ** 70n,
      inf: -Infinity,
      nan: Number.NaN,
      tricky: { $neko: "Date", value: "x" },
    };
    assert.deepEqual(roundTrip(value), value);
  });

  test("what cannot be kept is refused with its path", () => {
    assert.throws(
      () => encodeState({ a: [{ f: () => 1 }] }, "items"),
      /items\.a\[0\]\.f cannot be saved: it is a function/,
    );
    assert.throws(
      () => encodeState(new Map([["k", new URL("https://x.org")]]), "m"),
      /m\[map value 0\] cannot be saved: it is a URL/,
    );
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    assert.throws(() => encodeState(cyclic, "c"), /c\.self cannot be saved: it refers back to itself/);
    const shared = { x: 1 };
    assert.deepEqual(roundTrip({ a: shared, b: shared }), { a: { x: 1 }, b: { x: 1 } }, "shared is not a cycle");
  });
});
