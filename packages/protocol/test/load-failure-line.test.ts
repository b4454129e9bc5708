import assert from "node:assert/strict";
import { test } from "node:test";
import { findLoadFailure, formatLoadFailureLine } from "../src/index.ts";

test("a load-failure stderr line round-trips; other lines are ignored", () => {
  const error = { name: "SdkError", code: "PLUGIN_LOAD_FAILED", message: "index.ts does not export a class named 'X'" };
  const line = formatLoadFailureLine(error).trimEnd();
  assert.deepEqual(findLoadFailure(["some warning", line, "(node) other noise"]), error);
  assert.equal(findLoadFailure(["plain stderr", "neko-plugin: could not load the plugin: {not json"]), undefined);
  assert.equal(findLoadFailure([]), undefined);
});
