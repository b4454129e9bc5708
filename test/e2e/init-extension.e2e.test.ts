/**
 * `neko-plugin init --type extension` as a user runs it, beside its host plugin: the folder type-checks with its own
 * tsconfig, its own test passes (its host plugin found beside it), and a server answers its entry through the host
 * plugin; `neko-plugin test` passes node's exit code through.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, describe, test } from "node:test";
import { copyExamplePlugins, makeTempDir } from "../support/plugin-fixtures.ts";
import { bin, type InitAnswer, initAndTry, run, serveAndCall } from "../support/init-cli.ts";

describe("neko-plugin init --type extension", () => {
  const root = makeTempDir();
  after(() => fs.rmSync(root, { recursive: true, force: true }));
  const pluginsDir = path.join(root, "plugins");
  fs.mkdirSync(pluginsDir);
  // The extension's host plugin, beside it, as in a user's plugins folder.
  copyExamplePlugins(pluginsDir, ["hello_world"]);
  let made: InitAnswer | undefined;

  test("the folder type-checks with its own tsconfig and its own test passes", async () => {
    made = await initAndTry("extension", pluginsDir);
  });

  test("a server that sees the folders answers the extension's entry, with the default prefix, in its host", async () => {
    assert.ok(made, "the init test above ran");
    assert.equal(`${made.call.pluginId}:${made.call.entryId}`, "hello_world:my_extension_count_words");
    await serveAndCall(pluginsDir, [made]);
  });

  test("neko-plugin test passes node's exit code through, and refuses a folder that is not a plugin's", async () => {
    const dir = path.join(root, "failing");
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, "plugin.toml"), '[plugin]\nid = "failing"\nentry = "index.ts:Failing"\n');
    fs.writeFileSync(
      path.join(dir, "math.test.ts"),
      'import assert from "node:assert/strict";\nimport { test } from "node:test";\n' +
        'test("sums", () => assert.equal(1 + 1 as number, 3));\n',
    );
    const failed = await run(bin, ["test", dir]);
    assert.equal(failed.code, 1);
    assert.match(failed.stdout, /# fail 1/);
    const notPlugin = await run(bin, ["test", path.join(root, "plugins", "hello_world", "static")]);
    assert.equal(notPlugin.code, 1);
    assert.match(notPlugin.stderr, /is not a plugin folder \(it has no plugin\.toml\)/);
  });
});
