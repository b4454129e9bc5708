/**
 * Linked sources (bin/plugin-link.mjs): what is linked, what is refused (the process then uses the module hooks), and
 * when a link is made again. The process side is tested end to end in test/e2e/lean-plugin-process.e2e.test.ts.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import { pathToFileURL } from "node:url";
import { linkPluginSources } from "../bin/plugin-link.mjs";

let cacheDir: string;
let root: string;

before(() => {
  cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), "neko-link-cache-"));
  root = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), "neko-link-plugins-")));
});
after(() => {
  fs.rmSync(cacheDir, { recursive: true, force: true });
  fs.rmSync(root, { recursive: true, force: true });
});

function plugin(name: string, files: Record<string, string>): string {
  const dir = path.join(root, name);
  for (const [file, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    fs.writeFileSync(path.join(dir, file), text);
  }
  return dir;
}

const link = (dir: string) => linkPluginSources({ entry: path.join(dir, "index.ts"), pluginDir: dir, cacheDir });

function manifestOf(outcome: Awaited<ReturnType<typeof link>>): { main: string; modules: Record<string, string> } {
  assert.ok(outcome.ok, outcome.ok ? "" : outcome.reason);
  return JSON.parse(fs.readFileSync(outcome.manifest, "utf8"));
}

test("a plugin's modules and the SDK's runtime are linked: each import is an absolute URL of the link or of a file", async () => {
  const dir = plugin("linked", {
    "index.ts":
      'import { Ok } from "@neko/plugin-sdk/plugin";\nimport { twice } from "./util.js";\nexport const x = Ok(twice(2));\n',
    "util.ts": "export const twice = (n: number): number => n * 2;\n",
    // A stale compiled file beside its source: from TypeScript, ./util.js means util.ts.
    "util.js": "export const twice = () => 'stale';\n",
  });
  const manifest = manifestOf(await link(dir));
  const index = manifest.modules[pathToFileURL(path.join(dir, "index.ts")).href];
  const util = manifest.modules[pathToFileURL(path.join(dir, "util.ts")).href];
  assert.match(index, /\/[0-9a-f]{40}\.link\/[0-9a-f]{16}-index\.mjs$/);
  assert.match(manifest.main, /-plugin-main\.mjs$/);
  assert.equal(manifest.modules[pathToFileURL(path.join(dir, "util.js")).href], undefined);
  const text = fs.readFileSync(new URL(index), "utf8");
  assert.ok(text.includes(`from "${util}"`), "./util.js is the compiled util.ts");
  const sdk = Object.entries(manifest.modules).find(([source]) => source.endsWith("/packages/sdk/src/plugin.ts"));
  assert.ok(sdk && text.includes(`from "${sdk[1]}"`), "@neko/plugin-sdk/plugin is the SDK's linked module");
  assert.doesNotMatch(text, /from "\.{0,2}\//, "no relative import is left");
});

test("an unchanged plugin reuses its link; an edit, or a file added beside one, gets a new link", async () => {
  const dir = plugin("reused", {
    "index.ts": 'import { helper } from "./helper";\nexport const x = helper;\n',
    "helper.js": "export const helper = 'js';\n",
  });
  const first = await link(dir);
  const again = await link(dir);
  assert.deepEqual(again, first);
  fs.writeFileSync(path.join(dir, "helper.ts"), "export const helper: string = 'ts';\n");
  const added = await link(dir);
  assert.notDeepEqual(added, first, "./helper now finds helper.ts");
  const manifest = manifestOf(added);
  assert.ok(manifest.modules[pathToFileURL(path.join(dir, "helper.ts")).href]);
  fs.writeFileSync(path.join(dir, "index.ts"), 'import { helper } from "./helper";\nexport const y = helper;\n');
  assert.notDeepEqual(await link(dir), added);
});

test("what the link cannot promise to load as the hooks would is refused, with the reason", async () => {
  const cases: [string, Record<string, string>, RegExp][] = [
    ["computed", { "index.ts": "const n = './a.ts';\nexport const m = await import(n);\n" }, /computes/],
    ["resolve", { "index.ts": "export const u = import.meta.resolve('./x.js');\n" }, /import\.meta\.resolve/],
    ["missing", { "index.ts": "import { a } from './nowhere.js';\nexport { a };\n" }, /cannot resolve \.\/nowhere\.js/],
    ["unknown", { "index.ts": "import x from 'no-such-package-here';\nexport { x };\n" }, /no-such-package-here/],
    ["syntax", { "index.ts": "export const = ;\n" }, /./],
    ["sdk-source", { "index.ts": "import '@neko/plugin-sdk/testing';\n" }, /not part of the SDK's runtime/],
  ];
  for (const [name, files, reason] of cases) {
    const outcome = await link(plugin(name, files));
    assert.equal(outcome.ok, false, name);
    if (!outcome.ok) assert.match(outcome.reason, reason, name);
  }
});

test("without a cache folder there is no link", async () => {
  const dir = plugin("nocache", { "index.ts": "export const x = 1;\n" });
  assert.deepEqual(
    await linkPluginSources({ entry: path.join(dir, "index.ts"), pluginDir: dir, cacheDir: undefined }),
    {
      ok: false,
      reason: "no usable compile cache folder",
    },
  );
});
