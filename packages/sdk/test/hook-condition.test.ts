import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { compileHookCondition, HookConditionError } from "../src/hook-condition.ts";

const holds = (source: string, args: unknown = {}, entryId = "save") =>
  compileHookCondition(source).evaluate({ args, entryId });

function refused(source: string): HookConditionError {
  try {
    compileHookCondition(source);
  } catch (error) {
    assert.ok(error instanceof HookConditionError, `expected a HookConditionError for ${source}, got ${error}`);
    return error;
  }
  assert.fail(`'${source}' was accepted`);
}

describe("hook conditions", () => {
  test("compare args and entryId with literals", () => {
    assert.equal(holds("args.mode == 'fast'", { mode: "fast" }), true);
    assert.equal(holds("args.mode == 'fast'", { mode: "slow" }), false);
    assert.equal(holds('args.mode != "fast"', { mode: "slow" }), true);
    assert.equal(holds("entryId == 'save'"), true);
    assert.equal(holds("entryId === 'load'"), false);
    assert.equal(holds("args.n >= 3", { n: 3 }), true);
    assert.equal(holds("args.n < 2.5", { n: 3 }), false);
    assert.equal(holds("args.n > -1", { n: 0 }), true);
    assert.equal(holds("args.n <= 1e3", { n: 1000 }), true);
    assert.equal(holds("args.flag == true", { flag: true }), true);
    assert.equal(holds("args.name < 'm'", { name: "alice" }), true);
  });

  test("&&, ||, ! and parentheses, with && binding tighter than ||", () => {
    assert.equal(holds("args.a == 1 && args.b == 2", { a: 1, b: 2 }), true);
    assert.equal(holds("args.a == 1 && args.b == 2", { a: 1, b: 3 }), false);
    assert.equal(holds("args.a == 1 || args.b == 2", { a: 0, b: 2 }), true);
    assert.equal(holds("args.a == 1 || args.b == 2 && args.c == 3", { a: 1, b: 0, c: 0 }), true);
    assert.equal(holds("(args.a == 1 || args.b == 2) && args.c == 3", { a: 1, b: 0, c: 0 }), false);
    assert.equal(holds("!args.dryRun", { dryRun: false }), true);
    assert.equal(holds("!(args.a == 1)", { a: 1 }), false);
    assert.equal(holds("!!args.x", { x: "yes" }), true);
  });

  test("member access: nested, bracketed, and missing values are null", () => {
    assert.equal(holds("args.user.role == 'admin'", { user: { role: "admin" } }), true);
    assert.equal(holds("args['user']['role'] == 'admin'", { user: { role: "admin" } }), true);
    assert.equal(holds("args.items[1] == 'b'", { items: ["a", "b"] }), true);
    assert.equal(holds("args.items.length == 2", { items: ["a", "b"] }), true);
    assert.equal(holds("args.name.length > 3", { name: "neko" }), true);
    assert.equal(holds("args.missing == null", {}), true);
    assert.equal(holds("args.missing.deeper == null", {}), true, "no error on a missing parent");
    assert.equal(holds("args.x == null", { x: 0 }), false);
    assert.equal(holds("args.x != null", { x: false }), true);
  });

  test("in: lists, object keys and substrings", () => {
    assert.equal(holds("entryId in ['save', 'load']"), true);
    assert.equal(holds("args.mode in ['fast']", { mode: "slow" }), false);
    assert.equal(holds("'key' in args", { key: 1 }), true);
    assert.equal(holds("'other' in args", { key: 1 }), false);
    assert.equal(holds("'ek' in args.name", { name: "neko" }), true);
    assert.equal(holds("1 in []"), false);
  });

  test("mixed-type comparisons are false, never an error", () => {
    assert.equal(holds("args.n < 'x'", { n: 1 }), false);
    assert.equal(holds("args.n >= null", { n: 1 }), false);
    assert.equal(holds("args.n == '1'", { n: 1 }), false, "equality is strict");
    assert.equal(holds("-args.s == null", { s: "x" }), true);
  });

  test("inherited properties are out of reach", () => {
    assert.equal(holds("args.constructor == null", {}), true);
    assert.equal(holds("args.__proto__ == null", {}), true);
    assert.equal(holds("args['toString'] == null", {}), true);
    assert.equal(holds("'toString' in args", {}), false);
  });

  test("function calls are refused with their position", () => {
    const call = refused("args.mode.toUpperCase() == 'FAST'");
    assert.match(call.message, /function calls are not allowed at position 22/);
    assert.equal(call.position, 22);
    assert.match(refused("(args.f)(1)").message, /function calls are not allowed/);
    assert.match(refused("eval('1')").message, /unknown name 'eval'/);
    assert.match(refused("process.exit()").message, /unknown name 'process' \(only args and entryId can be used\)/);
  });

  test("assignment and other operators are refused", () => {
    const assign = refused("args.mode = 'fast'");
    assert.match(assign.message, /assignment is not allowed at position 11/);
    assert.match(refused("args.n -= 1").message, /assignment is not allowed/);
    assert.match(refused("args.n + 1 > 2").message, /arithmetic is not allowed at position 8/);
    assert.match(refused("x => x").message, /arrow functions are not allowed/);
    assert.match(refused("args.a ? 1 : 2").message, /\?: operator is not allowed/);
    assert.match(refused("args.a & 1").message, /use '&&'/);
    assert.match(refused("`x`").message, /template strings/);
    assert.match(refused("{ a: 1 }").message, /object literals/);
    assert.match(refused("args.a == 1; args.b == 2").message, /only one expression/);
  });

  test("malformed expressions name the problem and where it is", () => {
    assert.match(refused("").message, /the condition is empty at position 1/);
    assert.match(refused("args.mode ==").message, /ends too early at position 13/);
    assert.match(refused("(args.a == 1").message, /expected '\)', found the end of the condition/);
    assert.match(refused("args.").message, /expected a property name after '\.'/);
    assert.match(refused("'unterminated").message, /unterminated string at position 1/);
    assert.match(refused("args.a == 'x' 'y'").message, /unexpected string 'y' at position 15/);
    assert.match(refused("1 < 2 < 3").message, /comparisons cannot be chained/);
    assert.match(refused("args.n == 12abc").message, /malformed number/);
    assert.match(refused("'\\q'").message, /unknown escape/);
    assert.match(refused("x".repeat(1001)).message, /longer than 1000 characters/);
    assert.match(refused(`${"(".repeat(40)}1${")".repeat(40)}`).message, /nested more than 32 levels/);
  });
});
