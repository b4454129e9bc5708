/** `this.config.set` from `startup` (the plugin is not `running` yet): the write lands and the plugin sees it. */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, before, test } from "node:test";
import { makeTempDir, writePlugin } from "../support/plugin-fixtures.ts";
import { startTestHost, type TestHost } from "../support/test-host.ts";

const code = `
import { NekoPluginBase, nekoPlugin, pluginEntry, lifecycle, Ok, unwrap } from "@neko/plugin-sdk/plugin";

@nekoPlugin
export class Boot extends NekoPluginBase {
  @lifecycle({ id: "startup" })
  async startup() {
    unwrap(await this.config.set("boot.count", (this.config.get("boot.count", 0) as number) + 1));
  }

  @pluginEntry({ id: "count" })
  count() {
    return Ok(this.config.get("boot.count"));
  }
}
`;

let root: string;
let t: TestHost;
before(async () => {
  root = makeTempDir();
  writePlugin(root, {
    id: "boot",
    manifest: '[plugin]\nid = "boot"\nentry = "index.ts:Boot"\n\n[boot]\ncount = 0 # starts\n',
    code,
  });
  t = await startTestHost({ roots: [root] });
});
after(async () => {
  await t.close();
  fs.rmSync(root, { recursive: true, force: true });
});

test("a config write made during startup is seen by the plugin and kept in plugin.toml", async () => {
  const first = await t.trigger("boot", "count");
  assert.equal(first.body.data, 1);
  assert.match(fs.readFileSync(path.join(root, "boot", "plugin.toml"), "utf8"), /^count = 1/m);
  await t.request("POST", "/plugin/boot/stop");
  await t.request("POST", "/plugin/boot/start");
  const second = await t.trigger("boot", "count");
  assert.equal(second.body.data, 2);
});

test("host.config.get() reports the configuration the plugin wrote during startup", async () => {
  const before = t.host.config.get("boot");
  assert.ok(before.ok);
  const count = (before.value as { config: { boot: { count: number } } }).config.boot.count;
  const seen = await t.trigger("boot", "count");
  assert.equal(count, seen.body.data, "the host and the plugin agree");
  const http = await t.request("GET", "/plugin/boot/config");
  assert.equal(http.body.config.boot.count, seen.body.data);
});
