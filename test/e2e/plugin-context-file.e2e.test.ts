/**
 * A plugin's manifest and configuration reach its process through a context file, not the environment: a plugin.toml
 * far above Linux's 128 KiB cap on one environment string starts, and the file is gone once the plugin has read it.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import { after, before, test } from "node:test";
import { makeTempDir, writePlugin } from "../support/plugin-fixtures.ts";
import { startTestHost, type TestHost } from "../support/test-host.ts";

const code = `
import fs from "node:fs";
import { NekoPluginBase, nekoPlugin, pluginEntry, Ok } from "@neko/plugin-sdk/plugin";

@nekoPlugin
export class Big extends NekoPluginBase {
  @pluginEntry({ id: "sizes" })
  sizes() {
    return Ok({
      config: (this.config.get("big.blob") as string).length,
      manifest: ((this.metadata.big as { blob: string }).blob).length,
      contextFileLeft: fs.existsSync(process.env.NEKO_PLUGIN_CONTEXT_FILE as string),
      oldVariables: ["NEKO_PLUGIN_MANIFEST", "NEKO_PLUGIN_CONFIG"].filter((name) => name in process.env),
    });
  }
}
`;

const BLOB_LENGTH = 300 * 1024;
let root: string;
let t: TestHost;

before(async () => {
  root = makeTempDir();
  const manifest = `[plugin]\nid = "big"\nentry = "index.ts:Big"\n\n[big]\nblob = "${"b".repeat(BLOB_LENGTH)}"\n`;
  writePlugin(root, { id: "big", manifest, code });
  t = await startTestHost({ roots: [root] });
});
after(async () => {
  await t.close();
  fs.rmSync(root, { recursive: true, force: true });
});

test("a 300 KiB plugin.toml starts; the plugin sees all of it, and its context file is deleted", async () => {
  assert.equal(t.host.getPlugin("big")?.status, "running", t.host.getPlugin("big")?.status_reason ?? "");
  const res = await t.trigger("big", "sizes");
  assert.deepEqual(res.body.data, {
    config: BLOB_LENGTH,
    manifest: BLOB_LENGTH,
    contextFileLeft: false,
    oldVariables: [],
  });
});
