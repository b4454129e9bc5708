/** `pluginStack`: what a plugin author sees of a stack in the logs (docs/logging.md#stack-traces). */
import assert from "node:assert/strict";
import path from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { pluginStack } from "../src/plugin-logger.ts";

const sdkSrc = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../src");
const protocolSrc = path.dirname(fileURLToPath(import.meta.resolve("@neko/protocol")));

const stack = [
  "Error: kaboom",
  "    at deep (/home/me/plugins/todo/index.ts:3:25)",
  "    at Todo.add (/home/me/plugins/todo/index.ts:9:5)",
  `    at PluginRuntime.runHandler (${sdkSrc}/runtime/plugin-runtime.ts:445:26)`,
  `    at file://${sdkSrc}/runtime/hook-pipeline.ts:80:10`,
  `    at decodeFrame (${protocolSrc}/codec.ts:12:3)`,
  "    at process.processTicksAndRejections (node:internal/process/task_queues:95:5)",
  "    at async Promise.all (index 0)",
].join("\n");

test("the framework's and Node's frames are left out, with a line that says how many", () => {
  assert.equal(
    pluginStack(stack, {}),
    [
      "Error: kaboom",
      "    at deep (/home/me/plugins/todo/index.ts:3:25)",
      "    at Todo.add (/home/me/plugins/todo/index.ts:9:5)",
      "    at async Promise.all (index 0)",
      "    … 4 frames of neko-plugin and Node hidden (NEKO_FULL_STACK=1 shows them)",
    ].join("\n"),
  );
});

test("a stack with no frame of the plugin's is the framework's fault: kept whole", () => {
  const sdkOnly = ["Error: bug", `    at x (${sdkSrc}/a.ts:1:1)`, "    at y (node:internal/x:1:1)"].join("\n");
  assert.equal(pluginStack(sdkOnly, {}), sdkOnly);
});

test("NEKO_FULL_STACK=1 keeps every frame; a stack with nothing to hide is unchanged", () => {
  assert.equal(pluginStack(stack, { NEKO_FULL_STACK: "1" }), stack);
  const own = "Error: x\n    at f (/p/index.ts:1:1)";
  assert.equal(pluginStack(own, {}), own);
});
