import assert from "node:assert/strict";
import { test } from "node:test";
import { checkCallChain, MAX_CALL_DEPTH } from "../src/call-chain.ts";

const ids = (n: number) => Array.from({ length: n }, (_, i) => `p${i}`);

test("the default depth limit is 20 plugins in one chain", () => {
  assert.equal(MAX_CALL_DEPTH, 20);
  const full = ids(19);
  const ok = checkCallChain({ chain: full, caller: "p18", target: "last", maxDepth: MAX_CALL_DEPTH });
  assert.deepEqual(ok, { ok: true, value: full }, "19 + the target = 20: allowed");
  const over = checkCallChain({ chain: ids(20), caller: "p19", target: "last", maxDepth: MAX_CALL_DEPTH });
  assert.equal(over.ok, false);
  if (over.ok) return;
  assert.equal(over.error.code, "PLUGIN_CALL_ERROR");
  assert.equal(over.error.name, "PluginCallError");
  assert.match(over.error.message, /holds 21 plugins; the limit is 20/);
});

test("a target already in the chain is a cycle, reported with the whole path", () => {
  const r = checkCallChain({ chain: ["a", "b", "c"], caller: "c", target: "b", maxDepth: 20 });
  assert.equal(r.ok, false);
  if (r.ok) return;
  assert.equal(r.error.code, "CIRCULAR_CALL");
  assert.equal(r.error.name, "CircularCallError");
  assert.equal(r.error.message, "circular call a → b → c → b: plugin 'b' is already in the call chain");
  assert.deepEqual(r.error.details, { chain: ["a", "b", "c", "b"] });
});

test("the caller is always the innermost link, whatever chain it sent", () => {
  assert.deepEqual(checkCallChain({ chain: [], caller: "a", target: "b", maxDepth: 20 }), { ok: true, value: ["a"] });
  assert.deepEqual(checkCallChain({ chain: ["x"], caller: "a", target: "b", maxDepth: 20 }), {
    ok: true,
    value: ["x", "a"],
  });
  const self = checkCallChain({ chain: [], caller: "a", target: "a", maxDepth: 20 });
  assert.equal(self.ok ? "" : self.error.code, "CIRCULAR_CALL");
});

test("a malformed chain is refused", () => {
  for (const chain of [undefined, "a", [1], ["bad id"], ids(21)]) {
    const r = checkCallChain({ chain, caller: "a", target: "b", maxDepth: 20 });
    assert.equal(r.ok ? "" : r.error.code, "VALIDATION_ERROR", JSON.stringify(chain));
  }
});
