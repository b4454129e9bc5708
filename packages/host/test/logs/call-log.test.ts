/** The host's line per finished call (packages/host/src/logs/call-log.ts): one line, whatever the caller sent. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { createHostLogger } from "../../src/host-logger.ts";
import { callLog } from "../../src/logs/call-log.ts";
import { fakeHostContext } from "../support/fake-host-context.ts";

test("an entry id or an error message with newlines and escape sequences stays on one line, escaped and cut", () => {
  const lines: string[] = [];
  const logger = createHostLogger({ pretty: false, destination: { write: (line: string) => lines.push(line) } });
  const fake = fakeHostContext({ p: { state: "running" } }, { logger });
  const feature = callLog(fake.ctx);
  fake.call({
    pluginId: "p",
    entryId: "x\n12:00:00.000 INFO: [admin] call admin:grant ok\u001b[2J",
    runId: undefined,
    result: { ok: false, error: { name: "SdkError", code: "NOPE", message: `bad\r\nforged line ${"y".repeat(500)}` } },
    durationMs: 1,
  });
  feature.dispose();
  assert.equal(lines.length, 1);
  const { msg, call } = JSON.parse(lines[0]) as { msg: string; call: { entry: string } };
  assert.equal(["\n", "\r", "\u001b"].filter((c) => msg.includes(c)).length, 0, msg);
  assert.match(msg, /call p:x\\x0a12:00:00\.000 INFO/);
  assert.match(msg, /\\x1b\[2J/);
  assert.ok(msg.length < 600, `the message is ${msg.length} characters`);
  // The structured field keeps the value as it was.
  assert.match(call.entry, /\n/);
});
