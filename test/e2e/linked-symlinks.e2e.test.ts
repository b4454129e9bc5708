/**
 * A linked plugin whose source is a symbolic link: pointed at other code while the plugin runs, the next start runs
 * the code it points at now, never the link made from the old target (plugin-link.mjs records each link followed).
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { makeTempDir, writePlugin } from "../support/plugin-fixtures.ts";
import { startTestHost, type TestHost } from "../support/test-host.ts";

const code = `import { NekoPluginBase, nekoPlugin, pluginEntry, Ok } from "@neko/plugin-sdk/plugin";
import { version } from "./version.ts";

@nekoPlugin
export class PointedPlugin extends NekoPluginBase {
  @pluginEntry({ id: "version" })
  version() {
    return Ok({ version, linked: process.env.NEKO_PLUGIN_LINKED ?? null });
  }
}
`;

describe("a plugin source that is a symbolic link", () => {
  let root: string;
  let t: TestHost;

  before(async () => {
    root = makeTempDir();
    // Both targets inside the plugin's folder, which it may read under the permission model.
    const dir = writePlugin(root, {
      id: "pointed",
      className: "PointedPlugin",
      code,
      files: {
        "versions/one.ts": 'export const version: string = "one";\n',
        "versions/two.ts": 'export const version: string = "two";\n',
      },
    });
    fs.symlinkSync(path.join(dir, "versions", "one.ts"), path.join(dir, "version.ts"));
    t = await startTestHost({ roots: [root] });
  });
  after(async () => {
    await t?.close();
    fs.rmSync(root, { recursive: true, force: true });
  });

  test("pointed elsewhere, the plugin's next start links and runs the new target", async () => {
    const first = await t.trigger("pointed", "version");
    assert.equal(first.status, 200, JSON.stringify(first.body));
    assert.equal(first.body.data.version, "one");
    assert.match(first.body.data.linked ?? "", /\.link\/manifest\.json$/);
    const link = path.join(root, "pointed", "version.ts");
    fs.rmSync(link);
    fs.symlinkSync(path.join(root, "pointed", "versions", "two.ts"), link);
    assert.equal((await t.request("POST", "/plugin/pointed/stop")).status, 200);
    assert.equal((await t.request("POST", "/plugin/pointed/start")).status, 200);
    const second = await t.trigger("pointed", "version");
    assert.equal(second.body.data.version, "two");
    assert.notEqual(second.body.data.linked, first.body.data.linked, "a new link");
  });
});
