/**
 * The page's build and the kept copy: a kept build is used only as its record lists it — a file changed, added,
 * linked or writable by others makes it a new build — and two processes keeping the same build leave one folder.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { buildManagerAssets, keepBuild, type ManagerAssets, readKeptBuild } from "../src/manager-assets.ts";

describe("the manager page's build", () => {
  let built: ManagerAssets;
  let root: string;
  let n = 0;
  /** A fresh dist folder with the build kept in it as `h`. */
  const kept = () => {
    const dist = path.join(root, `dist-${n++}`);
    fs.mkdirSync(dist);
    keepBuild(dist, "h", built);
    return path.join(dist, "h");
  };

  before(async () => {
    built = await buildManagerAssets();
    root = fs.mkdtempSync(path.join(os.tmpdir(), "neko-manager-build-"));
  });
  after(() => fs.rmSync(root, { recursive: true, force: true }));

  test("one script and one stylesheet with content-hashed names, named by index.html", () => {
    const names = [...built.assets.keys()].sort();
    assert.equal(names.length, 2);
    assert.match(names[0], /^manager-[A-Z0-9]+\.css$/);
    assert.match(names[1], /^manager-[A-Z0-9]+\.js$/);
    for (const name of names) assert.ok(built.index.toString().includes(`/ui/assets/${name}`), name);
    assert.doesNotMatch(built.index.toString(), /<script>|style=/, "nothing inline for the CSP to refuse");
  });

  test("a kept build reads back as it was", () => {
    const read = readKeptBuild(kept());
    assert.ok(read);
    assert.deepEqual(read.index, built.index);
    assert.deepEqual([...read.assets.keys()].sort(), [...built.assets.keys()].sort());
    for (const [name, asset] of built.assets) assert.deepEqual(read.assets.get(name)?.body, asset.body);
  });

  test("a changed, added, linked or group-writable file is not used", () => {
    const script = [...built.assets.keys()].find((n) => n.endsWith(".js"))!;
    const changed = kept();
    fs.appendFileSync(path.join(changed, "assets", script), "\nalert(1)");
    assert.equal(readKeptBuild(changed), undefined, "changed script");

    const added = kept();
    fs.writeFileSync(path.join(added, "assets", "evil.js"), "alert(1)", { mode: 0o644 });
    assert.equal(readKeptBuild(added), undefined, "added script");

    const linked = kept();
    const outside = path.join(root, "outside.js");
    fs.copyFileSync(path.join(linked, "assets", script), outside);
    fs.rmSync(path.join(linked, "assets", script));
    fs.symlinkSync(outside, path.join(linked, "assets", script));
    assert.equal(readKeptBuild(linked), undefined, "symlinked script");

    const open = kept();
    fs.chmodSync(path.join(open, "assets", script), 0o666);
    assert.equal(readKeptBuild(open), undefined, "world-writable script");

    const index = kept();
    fs.writeFileSync(path.join(index, "index.html"), "<script>alert(1)</script>");
    assert.equal(readKeptBuild(index), undefined, "changed index.html");

    const record = kept();
    const listed = JSON.parse(fs.readFileSync(path.join(record, "build.json"), "utf8"));
    listed.assets["../../x.js"] = listed.assets[script];
    fs.writeFileSync(path.join(record, "build.json"), JSON.stringify(listed));
    assert.equal(readKeptBuild(record), undefined, "a record naming a file outside");
  });

  test("keeping a build over a damaged one replaces it; older builds are removed", () => {
    const dist = path.join(root, "dist-replace");
    fs.mkdirSync(dist);
    fs.mkdirSync(path.join(dist, "old"));
    keepBuild(dist, "h", built);
    fs.appendFileSync(path.join(dist, "h", "index.html"), "x");
    assert.equal(readKeptBuild(path.join(dist, "h")), undefined);
    keepBuild(dist, "h", built);
    assert.ok(readKeptBuild(path.join(dist, "h")));
    assert.deepEqual(fs.readdirSync(dist), ["h"], "the old build and the staging folders are gone");
  });
});
