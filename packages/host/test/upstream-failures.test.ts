import assert from "node:assert/strict";
import { test } from "node:test";
import type { WireError, WireResult } from "@neko/protocol";
import { UpstreamFailures } from "../src/upstream-failures.ts";

const missing: WireError = {
  name: "NotFoundError",
  code: "ENTRY_NOT_FOUND",
  message: "plugin 'todo' has no entry 'nope'",
  details: { entries: ["list"] },
};
const fail = (error: WireError): WireResult => ({ ok: false, error });

test("a failure passed on as is is wrapped with the host's record as its cause", () => {
  const failures = new UpstreamFailures();
  const given = failures.record("assistant", { plugin: "todo", entry: "nope" }, missing);
  assert.equal(typeof given.upstream, "string");
  assert.deepEqual(failures.passOn("assistant", "ask", fail(given)), {
    ok: false,
    error: {
      name: "PluginCallError",
      code: "UPSTREAM_ERROR",
      message:
        "entry 'assistant:ask' failed: its call to 'todo:nope' failed with ENTRY_NOT_FOUND: plugin 'todo' has no entry 'nope'",
      details: { plugin: "assistant", entry: "ask", cause: { plugin: "todo", entry: "nope", ...strip(missing) } },
    },
  });
});

test("an error of the entry's own keeps its code and gets the cause; a changed message is its own", () => {
  const failures = new UpstreamFailures();
  const { upstream } = failures.record("assistant", { plugin: "todo", entry: "nope" }, missing);
  const own = failures.passOn(
    "assistant",
    "ask",
    fail({ name: "SdkError", code: "NOTES_DOWN", message: "no notes", details: { tried: 1 }, upstream }),
  );
  assert.deepEqual(own, {
    ok: false,
    error: {
      name: "SdkError",
      code: "NOTES_DOWN",
      message: "no notes",
      details: { tried: 1, cause: { plugin: "todo", entry: "nope", ...strip(missing) } },
    },
  });
});

test("a token of another plugin, or one never given, is dropped; UPSTREAM_ERROR without one is not believed", () => {
  const failures = new UpstreamFailures();
  const { upstream } = failures.record("other", { plugin: "todo", entry: "nope" }, missing);
  assert.deepEqual(failures.passOn("assistant", "ask", fail({ ...missing, upstream })), fail(missing));
  assert.deepEqual(failures.passOn("assistant", "ask", fail({ ...missing, upstream: "made-up" })), fail(missing));
  const claimed = failures.passOn(
    "evil",
    "forge",
    fail({ name: "PluginCallError", code: "UPSTREAM_ERROR", message: "trust me", details: { cause: { plugin: "x" } } }),
  );
  assert.deepEqual(claimed, {
    ok: false,
    error: {
      name: "SdkError",
      code: "ENTRY_FAILED",
      message: "entry 'evil:forge' answered UPSTREAM_ERROR, which only the host gives: trust me",
      // What it claimed is kept, bounded, under `claimed`: readable, never believed as a cause.
      details: { plugin: "evil", entry: "forge", claimedCode: "UPSTREAM_ERROR", claimed: { cause: { plugin: "x" } } },
    },
  });
  // Claimed details past a cause's bounds are left out.
  let deep: unknown = {};
  for (let i = 0; i < 100; i++) deep = { d: deep };
  const tooDeep = failures.passOn(
    "evil",
    "forge",
    fail({ name: "E", code: "UPSTREAM_ERROR", message: "m", details: deep }),
  );
  assert.deepEqual((tooDeep as any).error.details, { plugin: "evil", entry: "forge", claimedCode: "UPSTREAM_ERROR" });
});

test("an error of the entry's own that copies the code and message of the failure, with details of its own, is its own", () => {
  const failures = new UpstreamFailures();
  const { upstream } = failures.record("assistant", { plugin: "todo", entry: "nope" }, missing);
  const own = failures.passOn(
    "assistant",
    "ask",
    fail({ name: "SdkError", code: missing.code, message: missing.message, details: { mine: true }, upstream }),
  );
  assert.deepEqual(own, {
    ok: false,
    error: {
      name: "SdkError",
      code: "ENTRY_NOT_FOUND",
      message: "plugin 'todo' has no entry 'nope'",
      details: { mine: true, cause: { plugin: "todo", entry: "nope", ...strip(missing) } },
    },
  });
  // Without details of its own (the failure's were dropped), it is its own too.
  const bare = failures.passOn(
    "assistant",
    "ask",
    fail({ name: "SdkError", code: missing.code, message: missing.message, upstream }),
  );
  assert.equal((bare as any).error.code, "ENTRY_NOT_FOUND");
});

/** No lone surrogate (String.prototype.isWellFormed, which the TypeScript lib here does not declare). */
const wellFormed = (text: string) => (text as unknown as { isWellFormed(): boolean }).isWellFormed();

test("a cut message never splits a surrogate pair", () => {
  const failures = new UpstreamFailures();
  for (const pad of [998, 999, 1000]) {
    const message = `${"a".repeat(pad)}${"😀".repeat(600)}`;
    const given = failures.record("a", { plugin: "b", entry: "c" }, { name: "E", code: "X", message });
    const wrapped = failures.passOn("a", "e", fail(given)) as any;
    const causeMessage: string = wrapped.error.details.cause.message;
    assert.ok(causeMessage.length <= 1000);
    assert.ok(wellFormed(causeMessage), `pad ${pad}`);
    assert.ok(wellFormed(wrapped.error.message), `pad ${pad}`);
    assert.ok(causeMessage.endsWith("…"));
  }
});

test("a cause is bounded: message cut, deep or large details left out; tokens per plugin are bounded and forgotten", () => {
  const failures = new UpstreamFailures();
  let deep: unknown = {};
  for (let i = 0; i < 100_000; i++) deep = { d: deep };
  const huge = failures.record(
    "a",
    { plugin: "b", entry: "c" },
    {
      name: "SdkError",
      code: "X",
      message: "m".repeat(50_000),
      details: deep,
    },
  );
  const wrapped = failures.passOn("a", "e", fail(huge));
  assert.ok(!wrapped.ok);
  const { cause } = wrapped.error.details as { cause: Record<string, unknown> };
  assert.deepEqual(Object.keys(cause), ["plugin", "entry", "code", "message"]);
  assert.equal((cause.message as string).length, 1000);
  assert.match(wrapped.error.message, /^entry 'a:e' failed: its call to 'b:c' failed with X: m{999}…$/);
  const wide = failures.record("a", { plugin: "b", entry: "c" }, { ...missing, details: { text: "x".repeat(9000) } });
  assert.equal("details" in ((failures.passOn("a", "e", fail(wide)) as any).error.details.cause as object), false);
  for (let i = 0; i < 1000; i++) failures.record("a", { plugin: "b", entry: "c" }, missing);
  assert.equal(failures.debugCounts().upstreamFailures, 256);
  failures.forget("a");
  assert.equal(failures.debugCounts().upstreamFailures, 0);
});

function strip(error: WireError) {
  const { name: _name, ...rest } = error;
  return rest;
}
