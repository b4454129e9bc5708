/**
 * `neko-plugin init` as a user runs it, for a plugin and an adapter (the extension has its own file, so each stays
 * well inside the runner's time limit): the folder it writes type-checks with its own tsconfig (the framework's tsc),
 * its own test passes under `neko-plugin test`, and a server that sees the folder answers a call to its entry; an
 * existing folder and a bad id are refused with nothing written.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, describe, test } from "node:test";
import { makeTempDir } from "../support/plugin-fixtures.ts";
import { bin, type InitAnswer, initAndTry, run, serveAndCall, snapshot } from "../support/init-cli.ts";

describe("neko-plugin init", () => {
  const root = makeTempDir();
  after(() => fs.rmSync(root, { recursive: true, force: true }));
  const pluginsDir = path.join(root, "plugins");
  fs.mkdirSync(pluginsDir);
  const made: InitAnswer[] = [];

  for (const type of ["plugin", "adapter"]) {
    test(`--type ${type}: the folder type-checks with its own tsconfig and its own test passes`, async () => {
      made.push(await initAndTry(type, pluginsDir));
    });
  }

  test("a server that sees the folders answers a call to each new entry once it is ready", async () => {
    assert.deepEqual(
      made.map((m) => `${m.call.pluginId}:${m.call.entryId}`),
      ["my_plugin:greet", "my_adapter:request"],
      "the init tests above ran",
    );
    await serveAndCall(pluginsDir, made);
  });

  test("an existing folder is refused (exit 1) and left as it was", async () => {
    const dir = path.join(root, "taken");
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, "notes.txt"), "mine");
    const before = snapshot(root);
    const refused = await run(bin, ["init", "taken", "--dir", root]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /taken exists and is not an empty folder; nothing was written/);
    // Nothing changed anywhere under the parent (no half-written staging folder either).
    assert.deepEqual(snapshot(root), before);
    // An empty folder is fine to fill.
    fs.mkdirSync(path.join(root, "empty"));
    assert.equal((await run(bin, ["init", "empty", "--dir", root])).code, 0);
    assert.ok(fs.existsSync(path.join(root, "empty", "plugin.toml")));
  });

  test("a bad id is a usage error (exit 2) naming the rule, with nothing written", async () => {
    const parent = makeTempDir();
    try {
      const [spaced, reserved, name, type] = await Promise.all([
        run(bin, ["init", "no spaces", "--dir", parent]),
        run(bin, ["init", "metrics", "--dir", parent]),
        run(bin, ["init", "fine", "--name", "two\nlines", "--dir", parent]),
        run(bin, ["init", "fine", "--type", "widget", "--dir", parent]),
      ]);
      assert.equal(spaced.code, 2);
      assert.match(spaced.stderr, /the plugin id 'no spaces' must be letters, digits, '_' and '-', 1 to 128/);
      assert.equal(reserved.code, 2);
      assert.match(reserved.stderr, /'metrics' is reserved/);
      assert.equal(name.code, 2);
      assert.match(name.stderr, /--name must be some text on one line, without control characters/);
      assert.equal(type.code, 2);
      assert.match(type.stderr, /--type must be one of plugin, extension, adapter/);
      assert.deepEqual(fs.readdirSync(parent), []);
    } finally {
      fs.rmSync(parent, { recursive: true, force: true });
    }
  });
});
