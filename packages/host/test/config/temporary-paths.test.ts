import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { changedPaths, leafPaths, withoutPaths } from "../../src/config/temporary-paths.ts";

describe("temporary paths", () => {
  test("leafPaths: values and replaced tables; markers are not keys; an empty table sets nothing", () => {
    assert.deepEqual(
      leafPaths({
        shop: { max_items: 3, tags: ["a"] },
        gone: "__DELETE__",
        win: { __replace__: true, s: 1 },
        e: {},
        f: { g: {} },
        r: { __replace__: true },
      }),
      [["shop", "max_items"], ["shop", "tags"], ["gone"], ["win"], ["r"]],
    );
    // `{ shop: {} }` written permanently ends no temporary value under shop.
    assert.deepEqual(withoutPaths([{ shop: { max_items: 3 } }], leafPaths({ shop: {} })), [{ shop: { max_items: 3 } }]);
  });

  test("withoutPaths is not quadratic: 20,000 temporary keys against 20,000 touched paths", () => {
    const patch: Record<string, number> = {};
    const touched: string[][] = [];
    for (let i = 0; i < 20_000; i++) {
      patch[`k${i}`] = i;
      touched.push(["bulk", `t${i}`]);
    }
    touched.push(["bulk", "k7"]);
    const started = performance.now();
    const [left] = withoutPaths([{ bulk: patch }], touched) as Array<{ bulk: Record<string, number> }>;
    // Compared pair by pair this took minutes; by the tree it is a few milliseconds.
    assert.ok(performance.now() - started < 1000, `${performance.now() - started} ms`);
    assert.equal(Object.keys(left.bulk).length, 19_999);
    assert.equal(left.bulk.k7, undefined);
  });

  test("changedPaths: added, removed and changed keys, tables compared key by key", () => {
    assert.deepEqual(
      changedPaths({ a: { b: 1, c: 2 }, d: [1], x: 1 }, { a: { b: 1, c: 3, n: 0 }, d: [1], y: { z: 1 } }),
      [["a", "c"], ["a", "n"], ["x"], ["y"]],
    );
    assert.deepEqual(changedPaths({ a: { b: 1 } }, { a: 5 }), [["a"]]);
  });

  test("withoutPaths: a touched key goes, its neighbours stay, emptied patches go", () => {
    const patches = [{ shop: { max_items: 3, currency: "EUR" } }, { shop: { max_items: 4 } }, { other: { note: "t" } }];
    assert.deepEqual(withoutPaths(patches, [["shop", "max_items"]]), [
      { shop: { currency: "EUR" } },
      { other: { note: "t" } },
    ]);
    assert.deepEqual(patches[0], { shop: { max_items: 3, currency: "EUR" } }, "the patches are not changed");
  });

  test("withoutPaths: a value holding the touched key, or inside a touched table, goes as a whole", () => {
    assert.deepEqual(
      withoutPaths([{ shop: "__DELETE__" }, { shop: { __replace__: true, a: 1 } }], [["shop", "a"]]),
      [],
    );
    assert.deepEqual(withoutPaths([{ shop: { a: { b: 1 } }, o: 1 }], [["shop"]]), [{ o: 1 }]);
    assert.deepEqual(withoutPaths([{ shop: { a: 1 } }], []), [{ shop: { a: 1 } }]);
  });
});
