import assert from "node:assert/strict";
import { test } from "node:test";
import { findJsonProblem } from "../src/json-value.ts";

test("JSON-compatible values pass", () => {
  for (const value of [null, true, 0, -1.5, "", "text ✓", [], {}, [1, [2, [3]]], { a: { b: [null, "x"] } }]) {
    assert.equal(findJsonProblem(value), undefined, JSON.stringify(value));
  }
  const shared = { x: 1 };
  assert.equal(findJsonProblem({ a: shared, b: shared }), undefined, "a shared (not cyclic) object is fine");
  assert.equal(findJsonProblem(Object.create(null)), undefined, "a null-prototype object is plain");
});

test("everything that would not read back exactly is named with its path", () => {
  const cyclic: Record<string, unknown> = { a: { list: [] as unknown[] } };
  (cyclic.a as { list: unknown[] }).list.push(cyclic);
  const sparse = [1];
  sparse[2] = 3;
  class Point {
    x = 1;
  }
  const cases: Array<[unknown, string, RegExp]> = [
    [Number.NaN, "$", /NaN \(numbers must be finite\)/],
    [{ n: Number.POSITIVE_INFINITY }, "$.n", /Infinity/],
    [{ u: undefined }, "$.u", /undefined/],
    [[1, () => 2], "$[1]", /a function/],
    [{ big: 10n }, "$.big", /a BigInt/],
    [{ s: Symbol("s") }, "$.s", /a symbol/],
    [cyclic, "$.a.list[0]", /a cyclic reference to \$/],
    [{ when: new Date(0) }, "$.when", /a Date, not a plain object \(store date.toISOString/],
    [{ m: new Map() }, "$.m", /a Map/],
    [{ p: new Point() }, "$.p", /a Point/],
    [{ "odd key": sparse }, '$["odd key"][1]', /a hole in a sparse array/],
    [{ [Symbol("k")]: 1 }, "$", /symbol keys/],
    [Buffer.from("x"), "$", /a Buffer/],
  ];
  for (const [value, path, problem] of cases) {
    const found = findJsonProblem(value);
    assert.equal(found?.path, path, String(problem));
    assert.match(found?.problem ?? "", problem);
  }
});

test("absurd nesting is refused instead of overflowing the stack", () => {
  let deep: unknown = 1;
  for (let i = 0; i < 10_000; i++) deep = [deep];
  assert.match(findJsonProblem(deep)?.problem ?? "", /nesting deeper than 256 levels/);
});
