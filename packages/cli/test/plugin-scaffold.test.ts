/** The files `neko-plugin init` writes, before any disk: class names, and manifests the host takes as they are. */
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import { inspectPluginFolder } from "@neko/host";
import { className, pluginScaffold } from "../src/scaffold/plugin-scaffold.ts";

test("the class is named after the id and the paradigm, once", () => {
  assert.equal(className("weather", "plugin"), "WeatherPlugin");
  assert.equal(className("my-tool_x", "plugin"), "MyToolXPlugin");
  assert.equal(className("line_adapter", "adapter"), "LineAdapter");
  assert.equal(className("shout", "extension"), "ShoutExtension");
  assert.equal(className("9lives", "plugin"), "P9livesPlugin");
});

test("each paradigm's manifest is read by the host with no problem and no warning", async () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "neko-scaffold-"));
  try {
    for (const type of ["plugin", "extension", "adapter"] as const) {
      const id = `new_${type}`;
      const { files, callTarget } = pluginScaffold({
        id,
        type,
        name: 'A "quoted" name',
        hostPluginId: "hello_world",
        prefix: "p_",
        compilerOptions: { strict: true },
      });
      const dir = path.join(root, id);
      fs.mkdirSync(dir);
      for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text);
      const found = await inspectPluginFolder(dir);
      assert.deepEqual([found.problems, found.warnings], [[], []], type);
      assert.equal(found.manifest?.type, type);
      assert.equal(found.manifest?.name, 'A "quoted" name');
      assert.deepEqual(found.manifest?.entry, { module: "index.ts", className: className(id, type) });
      assert.deepEqual(JSON.parse(files["tsconfig.json"] ?? "").compilerOptions, { strict: true });
      if (type === "extension") {
        assert.deepEqual(found.manifest?.host, { pluginId: "hello_world", prefix: "p_" });
        assert.equal(`${callTarget.pluginId}:${callTarget.entryId}`, "hello_world:p_count_words");
      }
    }
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});
