/** A plugin whose folder is removed leaves nothing behind after a reload: not listed, no process, no status. */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, before, test } from "node:test";
import { isAlive, makeTempDir, waitFor, writePlugin } from "../support/plugin-fixtures.ts";
import { startTestHost, type TestHost } from "../support/test-host.ts";

const code = `
import { NekoPluginBase, nekoPlugin, pluginEntry, lifecycle, Ok } from "@neko/plugin-sdk/plugin";

@nekoPlugin
export class Gone extends NekoPluginBase {
  @lifecycle({ id: "startup" })
  startup() {
    this.reportStatus({ alive: true });
  }

  @pluginEntry({ id: "ping" })
  ping() {
    return Ok("pong");
  }
}
`;

let root: string;
let t: TestHost;
before(async () => {
  root = makeTempDir();
  writePlugin(root, { id: "gone", className: "Gone", code });
  t = await startTestHost({ roots: [root] });
});
after(async () => {
  await t.close();
  fs.rmSync(root, { recursive: true, force: true });
});

test("POST /plugins/reload after the folder is deleted forgets the plugin, its process and its status", async () => {
  await waitFor(async () => (await t.request("GET", "/plugin/status")).body.plugins.gone, { what: "the status" });
  const pid = t.host.getPlugin("gone")?.pid as number;
  fs.rmSync(path.join(root, "gone"), { recursive: true, force: true });
  const reload = await t.request("POST", "/plugins/reload");
  assert.equal(reload.status, 200);
  assert.equal(
    (await t.request("GET", "/plugins")).body.plugins.some((p: { id: string }) => p.id === "gone"),
    false,
  );
  assert.equal(isAlive(pid), false);
  assert.equal((await t.request("GET", "/plugin/status")).body.plugins.gone, undefined);
  assert.equal((await t.request("GET", "/plugin/status?plugin_id=gone")).status, 404);
});
