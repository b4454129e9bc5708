import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { fromWireError, permissionDenied, toWireError } from "../src/errors.ts";
import {
  CircularCallError,
  Err,
  isErr,
  isOk,
  NotFoundError,
  Ok,
  PermissionDeniedError,
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

/** An error shaped as Node's permission model throws it. */
function accessDenied(permission: string, resource: string): Error {
  return Object.assign(new Error("Access to this API has been restricted"), {
    code: "ERR_ACCESS_DENIED",
    permission,
    resource,
  });
}

describe("an operation Node's permission model refused", () => {
  test("goes on the wire as PERMISSION_DENIED naming the [plugin.permissions] key and how to grant it", () => {
    assert.deepEqual(toWireError(accessDenied("FileSystemWrite", "/etc/x")), {
      name: "PermissionDeniedError",
      code: "PERMISSION_DENIED",
      message: "permission denied: fs_write '/etc/x' — add it to [plugin.permissions] fs_write in plugin.toml",
      details: { permission: "fs_write", resource: "/etc/x", node: "FileSystemWrite" },
    });
    assert.equal(
      toWireError(accessDenied("FileSystemRead", "/home/me/.ssh/id_ed25519")).message,
      "permission denied: fs_read '/home/me/.ssh/id_ed25519' — add it to [plugin.permissions] fs_read in plugin.toml",
    );
    assert.deepEqual(toWireError(accessDenied("ChildProcess", "")), {
      name: "PermissionDeniedError",
      code: "PERMISSION_DENIED",
      message: "permission denied: child_process — set child_process = true in [plugin.permissions] of plugin.toml",
      details: { permission: "child_process", node: "ChildProcess" },
    });
    assert.equal(
      toWireError(accessDenied("WorkerThreads", "")).message,
      "permission denied: worker_threads — set worker_threads = true in [plugin.permissions] of plugin.toml",
    );
    assert.equal(
      toWireError(accessDenied("WASI", "")).message,
      "permission denied: WASI — Node's permission model refused it (see docs/permissions.md)",
    );
  });

  test("is found as the cause of another error; an SdkError the plugin made keeps its own words", () => {
    const wrapped = new Error("could not save", { cause: accessDenied("FileSystemWrite", "/srv/out.json") });
    assert.equal(toWireError(wrapped).code, "PERMISSION_DENIED");
    assert.equal(toWireError(wrapped).message.startsWith("permission denied: fs_write '/srv/out.json'"), true);
    const own = new SdkError("no luck", { cause: accessDenied("FileSystemWrite", "/srv/out.json") });
    assert.deepEqual(toWireError(own), { name: "SdkError", code: "SDK_ERROR", message: "no luck" });
    const fsync = Object.assign(new Error("fsync API is disabled when Permission Model is enabled."), {
      code: "ERR_ACCESS_DENIED",
    });
    assert.deepEqual(toWireError(fsync), {
      name: "PermissionDeniedError",
      code: "PERMISSION_DENIED",
      message:
        "permission denied: fsync API is disabled when Permission Model is enabled. No [plugin.permissions] key grants it (see docs/permissions.md)",
      details: { permission: null, node: "fsync API is disabled when Permission Model is enabled." },
    });
    assert.equal(permissionDenied(new Error("plain")), undefined);
    assert.equal(permissionDenied(Object.assign(new Error("x"), { code: "ERR_ACCESS_DENIED" })), undefined);
  });

  test("comes back across the wire as a PermissionDeniedError", () => {
    const back = fromWireError(toWireError(accessDenied("FileSystemRead", "/x")));
    assert.ok(back instanceof PermissionDeniedError);
    assert.equal(back.code, "PERMISSION_DENIED");
    assert.deepEqual(back.details, { permission: "fs_read", resource: "/x", node: "FileSystemRead" });
  });
});
