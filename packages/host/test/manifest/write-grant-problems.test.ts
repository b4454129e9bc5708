import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { parseManifest } from "../../src/manifest/plugin-manifest.ts";
import { writeGrantProblems } from "../../src/manifest/write-grant-problems.ts";

const protectedPaths = [
  { path: "/tmp/neko-plugin-ts-1000", what: "the TypeScript compile cache every plugin loads" },
  { path: "/repo/packages/sdk", what: "the SDK or a package it loads in every plugin" },
  { path: "/plugins/other", what: "the folder of plugin 'other'" },
];

function problems(permissions: string, realpath = (p: string) => p): string[] {
  const parsed = parseManifest(`[plugin]\nid = "p"\nentry = "index.ts:P"\n${permissions}`, { file: "plugin.toml" });
  assert.ok(parsed.ok);
  return writeGrantProblems({ manifest: parsed.manifest, dir: "/plugins/p", protectedPaths, realpath });
}

describe("fs_write grants the host refuses", () => {
  test("a folder above the compile cache (/tmp) is refused, naming what it reaches", () => {
    assert.deepEqual(problems(`[plugin.permissions]\nfs_write = ["/tmp"]\n`), [
      "plugin.toml: [plugin.permissions].fs_write '/tmp' reaches the TypeScript compile cache every plugin loads " +
        "(/tmp/neko-plugin-ts-1000); a plugin may not write there: grant a narrower path",
    ]);
  });

  test("an entry inside the cache, the SDK, or another plugin's folder (relative or absolute) is refused", () => {
    const found = problems(
      `[plugin.permissions]\nfs_write = ["/tmp/neko-plugin-ts-1000/0123.mjs", "/repo/packages/sdk/src", "../other/index.ts", "/"]\n`,
    );
    assert.equal(found.length, 4);
    assert.match(found[2], /'\.\.\/other\/index\.ts' reaches the folder of plugin 'other' \(\/plugins\/other\)/);
  });

  test("its own folder, a sibling path, and a path elsewhere are fine", () => {
    assert.deepEqual(
      problems(`[plugin.permissions]\nfs_write = [".", "out", "/plugins/other-data", "/srv/exports"]\n`),
      [],
    );
  });

  test("a path that leads into a protected one through a symlink is refused by its real path", () => {
    const realpath = (p: string) => (p === "/home/me/cache-link" ? "/tmp/neko-plugin-ts-1000" : p);
    assert.equal(problems(`[plugin.permissions]\nfs_write = ["/home/me/cache-link"]\n`, realpath).length, 1);
  });

  test("nothing is checked for a plugin run without the permission model", () => {
    assert.deepEqual(
      problems(`[plugin.permissions]\nfs_write = ["/tmp"]\n[plugin_runtime]\npermissions = false\n`),
      [],
    );
  });
});
