/** runInspectorProcess (check/inspector-process.ts): a child that cannot be spawned at all is a `load` failure. */
import assert from "node:assert/strict";
import os from "node:os";
import { test } from "node:test";
import { runInspectorProcess } from "../src/check/inspector-process.ts";

const base = {
  args: [],
  cwd: os.tmpdir(),
  env: {},
  input: "{}",
  file: "index.ts",
  timeoutMs: 5000,
  timeoutHint: "",
  timeoutFix: "",
  exitFix: () => "",
};

test("a spawn that throws at once (ENOTDIR) is one load failure, not a rejection", async () => {
  const items = await runInspectorProcess({ ...base, command: "/etc/passwd/node" });
  assert.deepEqual(items, [
    { level: "fail", check: "load", message: "the module inspector could not start: spawn ENOTDIR", file: "index.ts" },
  ]);
});

test("an argument over argv's size limit (E2BIG) is one load failure, not a rejection", async () => {
  const items = await runInspectorProcess({ ...base, command: process.execPath, args: ["-e", "x".repeat(300_000)] });
  assert.deepEqual(items, [
    { level: "fail", check: "load", message: "the module inspector could not start: spawn E2BIG", file: "index.ts" },
  ]);
});
