import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { fromWireError, toWireError } from "../src/errors.ts";
import {
  CircularCallError,
  Err,
  isErr,
  isOk,
  NotFoundError,
  Ok,
  SdkError,
  TimeoutError,
  unwrap,
  unwrapOr,
  ValidationError,
} from "../src/plugin.ts";

describe("Result", () => {
  test("Ok and Err are plain discriminated unions", () => {
    assert.deepEqual(Ok(5), { ok: true, value: 5 });
    const e = Err("nope");
    assert.equal(e.ok, false);
    assert.ok(e.error instanceof SdkError);
    assert.equal(e.error.message, "nope");
    assert.equal(e.error.code, "SDK_ERROR");
    assert.deepEqual(JSON.parse(JSON.stringify(Ok({ a: 1 }))), { ok: true, value: { a: 1 } });
  });

  test("isOk / isErr narrow, unwrap returns or throws, unwrapOr falls back", () => {
    const good = Ok(1);
    const bad = Err(new TimeoutError("slow"));
    assert.equal(isOk(good), true);
    assert.equal(isErr(bad), true);
    assert.equal(unwrap(good), 1);
    assert.throws(
      () => unwrap(bad),
      (e: unknown) => e instanceof TimeoutError && e.message === "slow",
    );
    assert.throws(
      () => unwrap(Err({ plain: true })),
      (e: unknown) => e instanceof SdkError,
    );
    assert.equal(unwrapOr(bad, 7), 7);
    assert.equal(unwrapOr(good, 7), 1);
  });
});

describe("SdkError family on the wire", () => {
  test("each class has its code and survives the round trip as the same class", () => {
    for (const [Cls, code] of [
      [ValidationError, "VALIDATION_ERROR"],
      [NotFoundError, "NOT_FOUND"],
      [TimeoutError, "TIMEOUT"],
      [CircularCallError, "CIRCULAR_CALL"],
    ] as const) {
      const error = new Cls("m", { details: { x: 1 } });
      assert.equal(error.code, code);
      const back = fromWireError(toWireError(error));
      assert.ok(back instanceof Cls, `${Cls.name} rebuilt`);
      assert.equal(back.name, Cls.name);
      assert.equal(back.code, code);
      assert.deepEqual(back.details, { x: 1 });
    }
  });

  test("a custom code is kept; a foreign Error becomes ENTRY_FAILED with its message", () => {
    assert.deepEqual(toWireError(new SdkError("x", { code: "MINE" })), {
      name: "SdkError",
      code: "MINE",
      message: "x",
    });
    assert.deepEqual(toWireError(new RangeError("r")), { name: "RangeError", code: "ENTRY_FAILED", message: "r" });
    const unknown = fromWireError({ name: "WeirdError", code: "W", message: "w" });
    assert.ok(unknown instanceof SdkError);
    assert.equal(unknown.name, "WeirdError");
    assert.equal(unknown.code, "W");
  });
});
