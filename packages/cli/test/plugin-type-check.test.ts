/**
 * typeCheckPlugin checks the plugin's own files only (the SDK's sources are in the program, reached through `paths`, but
 * not checked for their own sake): every file of the folder is still checked, imported or not, and the SDK's types
 * still apply to the plugin's code.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import { after, test } from "node:test";
import { makeTempDir, writePlugin } from "../../../test/support/plugin-fixtures.ts";
import { typeCheckPlugin } from "../src/check/plugin-type-check.ts";
import { removeTypeCheckBuildInfo } from "./type-check-build-info.ts";

const temps: string[] = [];
after(() => {
  removeTypeCheckBuildInfo(temps);
  for (const dir of temps) fs.rmSync(dir, { recursive: true, force: true });
});

test("errors in every file of the folder are found, SDK misuse included; files under node_modules/ are not checked", () => {
  const root = makeTempDir("neko-type-check-");
  temps.push(root);
  const dir = writePlugin(root, {
    id: "typed",
    code: [
      'import { NekoPluginBase, nekoPlugin, Ok, pluginEntry } from "@neko/plugin-sdk/plugin";',
      'import { twice } from "./lib/helper.ts";',
      "",
      "@nekoPlugin",
      "export class TestPlugin extends NekoPluginBase {",
      "  @pluginEntry({ id: 5 })",
      "  ping() {",
      "    return Ok(twice(2));",
      "  }",
      "}",
      "",
    ].join("\n"),
    files: {
      "lib/helper.ts":
        "export function twice(n: number): number {\n  const label: string = n;\n  return n * 2 + label.length;\n}\n",
      "tools/unused.ts": "export const count: number = 'none';\n",
      "node_modules/dep/index.ts": "export const broken: number = 'not checked';\n",
    },
  });
  const result = typeCheckPlugin(dir);
  assert.equal(result.files, 3);
  assert.deepEqual(
    result.diagnostics.map((d) => `${d.file}:${d.line}:${d.column} TS${d.code}`).sort(),
    ["index.ts:6:18 TS2769", "lib/helper.ts:2:9 TS2322", "tools/unused.ts:1:14 TS2322"],
    JSON.stringify(result.diagnostics),
  );
});
