/**
 * The host does not blame its plugins for its own stall: when its event loop is blocked for many heartbeat
 * intervals, the pongs it did not read are not counted as silence, and no healthy plugin is killed for it.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import { after, before, test } from "node:test";
import { makeTempDir, writePlugin } from "../support/plugin-fixtures.ts";
import { startTestHost, type TestHost } from "../support/test-host.ts";

const code = `
import { NekoPluginBase, nekoPlugin, pluginEntry, Ok } from "@neko/plugin-sdk/plugin";

@nekoPlugin
export class Steady extends NekoPluginBase {
  @pluginEntry({ id: "pid" })
  pid() {
    return Ok(process.pid);
  }
}
`;

const HEARTBEAT_MS = 150;
let root: string;
let t: TestHost;

before(async () => {
  root = makeTempDir();
  for (const id of ["steady_a", "steady_b"]) writePlugin(root, { id, className: "Steady", code });
  t = await startTestHost({ roots: [root], heartbeatIntervalMs: HEARTBEAT_MS });
});
after(async () => {
  await t.close();
  fs.rmSync(root, { recursive: true, force: true });
});

test("a host blocked for ten heartbeat intervals kills none of its plugins", async () => {
  const before = await Promise.all(["steady_a", "steady_b"].map(async (id) => (await t.trigger(id, "pid")).body.data));
  // Let a few heartbeats pass normally first.
  await new Promise((resolve) => setTimeout(resolve, HEARTBEAT_MS * 3));
  const blockedUntil = Date.now() + HEARTBEAT_MS * 10;
  while (Date.now() < blockedUntil) {
    // The host's own event loop is blocked: its timers and its socket wait.
  }
  // The late heartbeat ticks and the queued pongs come in now; give the host time to judge (wrongly or not).
  await new Promise((resolve) => setTimeout(resolve, HEARTBEAT_MS * 4));
  for (const [i, id] of ["steady_a", "steady_b"].entries()) {
    const plugin = t.host.getPlugin(id);
    assert.equal(plugin?.status, "running", `${id}: ${plugin?.status_reason ?? ""}`);
    assert.equal((await t.trigger(id, "pid")).body.data, before[i], `${id} runs on in the same process`);
  }
});
