/** Which file a UI request path names, or why none: every rule on its own, over a real folder with links. */
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { locateUiFile } from "../src/ui-file-locator.ts";

let tmp: string;
let root: string;
before(() => {
  tmp = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), "neko-ui-locator-")));
  root = path.join(tmp, "plugin", "static");
  fs.mkdirSync(path.join(root, "assets"), { recursive: true });
  fs.mkdirSync(path.join(root, "empty"));
  fs.mkdirSync(path.join(root, "odd", "index.html"), { recursive: true });
  fs.writeFileSync(path.join(root, "index.html"), "root");
  fs.writeFileSync(path.join(root, "assets", "a b%.js"), "x");
  fs.writeFileSync(path.join(root, ".env"), "secret");
  fs.writeFileSync(path.join(tmp, "plugin", "plugin.toml"), "");
  fs.symlinkSync("../plugin.toml", path.join(root, "manifest"));
  fs.symlinkSync("assets", path.join(root, "alias"));
  fs.symlinkSync(".env", path.join(root, "env.txt"));
  fs.symlinkSync("loop", path.join(root, "loop"));
});
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const locate = (rawPath: string, indexFile = "index.html") => locateUiFile({ root, rawPath, indexFile });

describe("locateUiFile", () => {
  test("finds files, decoding each name, and the index file of folders", () => {
    assert.deepEqual(locate(""), { kind: "file", path: path.join(root, "index.html") });
    assert.deepEqual(locate("assets/a%20b%25.js"), { kind: "file", path: path.join(root, "assets", "a b%.js") });
    assert.deepEqual(locate("alias/a%20b%25.js"), { kind: "file", path: path.join(root, "assets", "a b%.js") });
  });

  test("a folder without its trailing slash is a relative redirect; a folder without an index file is missing", () => {
    assert.deepEqual(locate("assets"), { kind: "redirect", location: "assets/" });
    assert.deepEqual(locate("alias"), { kind: "redirect", location: "alias/" });
    assert.equal(locate("empty/").kind, "missing");
    assert.match((locate("empty/") as { reason: string }).reason, /has no index\.html/);
    assert.match((locate("odd/") as { reason: string }).reason, /index\.html is not a file/);
    assert.match((locate("index.html/") as { reason: string }).reason, /a file, not a folder/);
    assert.equal(locate("nope.js").kind, "missing");
  });

  test("names that could leave the folder or hide are refused before the disk is touched", () => {
    const cases: Array<[string, RegExp]> = [
      ["..", /'\.\.' names are not allowed/],
      ["assets/../index.html", /'\.\.' names are not allowed/],
      ["%2e%2e/plugin.toml", /'\.\.' names are not allowed/],
      ["./index.html", /'\.' names are not allowed/],
      ["..%2fplugin.toml", /encoded '\/'/],
      ["%2Fetc%2Fpasswd", /encoded '\/'/],
      ["..%5cplugin.toml", /backslash/],
      ["..\\plugin.toml", /backslash/],
      ["index.html%00.txt", /control characters/],
      ["a%0Ab", /control characters/],
      ["/etc/passwd", /empty name/],
      ["assets//a.js", /empty name/],
      [".env", /hidden names/],
      ["%2eenv", /hidden names/],
      ["%E0%A4%A", /not valid percent-encoding/],
    ];
    for (const [rawPath, reason] of cases) {
      const found = locate(rawPath);
      assert.equal(found.kind, "refused", rawPath);
      assert.match((found as { reason: string }).reason, reason, rawPath);
    }
  });

  test("symbolic links are followed only while they stay inside the folder and away from hidden names", () => {
    assert.match((locate("manifest") as { reason: string }).reason, /leads outside the UI folder/);
    assert.match((locate("env.txt") as { reason: string }).reason, /hidden name/);
    assert.match((locate("loop") as { reason: string }).reason, /loop of symbolic links/);
  });

  test("a UI folder that was swapped for a link elsewhere after registration serves nothing from there", () => {
    const other = path.join(tmp, "elsewhere");
    fs.mkdirSync(other);
    fs.writeFileSync(path.join(other, "index.html"), "elsewhere");
    const swapped = path.join(tmp, "swapped");
    fs.symlinkSync(other, swapped);
    const found = locateUiFile({ root: swapped, rawPath: "", indexFile: "index.html" });
    assert.equal(found.kind, "refused");
  });
});
