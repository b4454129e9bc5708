/** A plugin that floods its stdout with one endless line is logged in bounded pieces; the host goes on. */
import assert from "node:assert/strict";
import fs from "node:fs";
import { after, before, test } from "node:test";
import type { LogRecord } from "@neko/host";
import { makeTempDir, waitFor, writePlugin } from "../support/plugin-fixtures.ts";
import { startTestHost, type TestHost } from "../support/test-host.ts";

const code = `
import { NekoPluginBase, nekoPlugin, pluginEntry, Ok } from "@neko/plugin-sdk/plugin";

@nekoPlugin
export class Loud extends NekoPluginBase {
  @pluginEntry({ id: "shout" })
  async shout() {
    // Wait until it is written: the logger writes to the same pipe directly and would interleave with it.
    await new Promise((resolve) => process.stdout.write("x".repeat(8 * 1024 * 1024) + "\\n", resolve));
    this.logger.info("after the flood");
    return Ok("done");
  }
}
`;

let root: string;
let t: TestHost;
const logs: LogRecord[] = [];
before(async () => {
  root = makeTempDir();
  writePlugin(root, { id: "loud", className: "Loud", code });
  t = await startTestHost({ roots: [root] }, { onLog: (_id, record) => logs.push(record) });
});
after(async () => {
  await t.close();
  fs.rmSync(root, { recursive: true, force: true });
});

test("an 8 MiB line is cut at 64 Ki characters; the next log line and the plugin are fine", async () => {
  const res = await t.trigger("loud", "shout");
  assert.equal(res.body.data, "done");
  await waitFor(() => logs.some((l) => l.msg === "after the flood"), { what: "the log line after the flood" });
  const cut = logs.find((l) => l.msg.endsWith("[line cut at 65536 characters]"));
  assert.ok(cut, "the long line is logged, cut");
  assert.ok(cut.msg.length < 70_000);
  assert.equal((await t.request("GET", "/health")).body.status, "ok");
});
