/**
 * Linked sources (bin/plugin-link.mjs): what is linked, what is refused (the process then uses the module hooks), and
 * when a link is made again. The process side is tested end to end in test/e2e/lean-plugin-process.e2e.test.ts.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath, pathToFileURL } from "node:url";
import { linkPluginSources, pruneLinks } from "../bin/plugin-link.mjs";
import { compileTypeScript } from "../bin/ts-compile-cache.mjs";

/** The SDK's sources. */
const SDK_SRC = fileURLToPath(new URL("../src/", import.meta.url));
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

test("the SDK's runtime is one bundle: a module per export and a few shared chunks, each source's import.meta its own", async () => {
  const dir = plugin("bundled", { "index.ts": 'export { Ok } from "@neko/plugin-sdk/plugin";\n' });
  const manifest = manifestOf(await link(dir));
  const sdkFolder = path.dirname(fileURLToPath(manifest.main));
  const entries = Object.entries(manifest.modules).filter(([, url]) => url.startsWith(pathToFileURL(sdkFolder).href));
  const entryOf = (suffix: string) => entries.find(([source]) => source.endsWith(suffix))?.[1];
  // Every export a plugin may import, and the protocol package's index, each its own module of the bundle.
  for (const suffix of [
    "/sdk/src/plugin.ts",
    "/sdk/src/extension.ts",
    "/sdk/src/adapter.ts",
    "/protocol/src/index.ts",
  ]) {
    assert.match(entryOf(suffix) ?? "", /\/[0-9a-f]{16}-[a-z-]+\.mjs$/, suffix);
  }
  assert.equal(entries.length, new Set(entries.map(([, url]) => url)).size, "one module per entry");
  // No SDK-internal source is a module of its own any more: only the entries are named.
  assert.ok(entryOf("/sdk/src/runtime/plugin-runtime.ts"), "./runtime is an export");
  assert.equal(entryOf("/sdk/src/runtime/host-client.ts"), undefined);
  const files = fs.readdirSync(sdkFolder).filter((name) => name.endsWith(".mjs"));
  assert.ok(files.length < 40, `${files.length} modules (a module per source was over a hundred)`);
  assert.ok(
    files.some((name) => /^chunk-[A-Z0-9]+\.mjs$/.test(name)),
    "shared code is in chunks",
  );
  // Each module keeps its source's import.meta (the SDK finds its packages from there), never the bundle's.
  const texts = files.map((name) => fs.readFileSync(path.join(sdkFolder, name), "utf8"));
  assert.ok(
    texts.some((text) => text.includes(JSON.stringify(pathToFileURL(path.join(SDK_SRC, "plugin-logger.ts")).href))),
  );
  assert.equal(texts.filter((text) => /import\.meta\.(url|dirname|filename)/.test(text)).length, 0);
  // Maps beside each module, none inline, naming the TypeScript sources (chained through each file's own).
  assert.ok(texts.every((text) => !text.includes("sourceMappingURL=data:")));
  const sources = files.flatMap(
    (name) =>
      (JSON.parse(fs.readFileSync(path.join(sdkFolder, `${name}.map`), "utf8")) as { sources: string[] }).sources,
  );
  assert.ok(sources.length > 50 && sources.every((source) => /\.ts$/.test(source)), sources.join(" "));
});

test("a link index that does not list its link's files as plain names is not trusted: the link is written again", async () => {
  const dir = plugin("tampered", { "index.ts": "export const x: number = 1;\n" });
  const first = await link(dir);
  const moduleUrl = manifestOf(first).modules[pathToFileURL(path.join(dir, "index.ts")).href];
  const module = fileURLToPath(moduleUrl);
  const index = fs
    .readdirSync(cacheDir)
    .filter((name) => name.endsWith(".links.json"))
    .map((name) => path.join(cacheDir, name))
    .find((file) => fs.readFileSync(file, "utf8").includes(JSON.stringify(moduleUrl)));
  assert.ok(index, "the plugin's index");
  const saved = JSON.parse(fs.readFileSync(index, "utf8"));
  for (const outputs of [[], ["../elsewhere.mjs"], [42], "index.mjs"]) {
    // The module gone, and an index that would not say so: the link must not be reused as it is.
    fs.rmSync(module);
    fs.writeFileSync(index, JSON.stringify({ ...saved, outputs }));
    assert.deepEqual(await link(dir), first, JSON.stringify(outputs));
    assert.ok(fs.existsSync(module), `written again after an index with outputs ${JSON.stringify(outputs)}`);
  }
});

test("an SDK link that lost a chunk is not reused: the next link writes it whole again", async () => {
  const dir = plugin("rechunked", { "index.ts": 'export { Ok } from "@neko/plugin-sdk/plugin";\n' });
  const manifest = manifestOf(await link(dir));
  const sdkFolder = path.dirname(fileURLToPath(manifest.main));
  const chunk = fs.readdirSync(sdkFolder).find((name) => /^chunk-[A-Z0-9]+\.mjs$/.test(name));
  assert.ok(chunk);
  fs.rmSync(path.join(sdkFolder, chunk));
  const again = manifestOf(await link(dir));
  assert.equal(again.main, manifest.main, "the same bundle, written again");
  assert.ok(fs.existsSync(path.join(sdkFolder, chunk)), "the chunk is back");
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
    ["resolve", { "index.ts": "export const u = import.meta.resolve('./x.js');\n" }, /uses import\.meta other than/],
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

test("a package's modules stay Node's (never compiled as the plugin's); a module in a folder it writes refuses the link", async () => {
  const dir = plugin("with-deps", {
    "index.ts": 'import { hello } from "cjsdep";\nexport const x = hello();\n',
    "node_modules/cjsdep/package.json": '{ "name": "cjsdep", "main": "index.js" }\n',
    "node_modules/cjsdep/index.js": 'const helper = require("./helper");\nexports.hello = () => helper.word;\n',
    "node_modules/cjsdep/helper.js": 'exports.word = "hi";\n',
  });
  const manifest = manifestOf(await link(dir));
  const dependency = path.join(dir, "node_modules/cjsdep/index.js");
  assert.equal(manifest.modules[pathToFileURL(dependency).href], undefined);
  const index = fs.readFileSync(new URL(manifest.modules[pathToFileURL(path.join(dir, "index.ts")).href]), "utf8");
  assert.ok(index.includes(`from "${pathToFileURL(dependency).href}"`), "the dependency is imported where it is");

  const typed = plugin("ts-dep", {
    "index.ts": 'import { a } from "tsdep";\nexport { a };\n',
    "node_modules/tsdep/package.json": '{ "name": "tsdep", "main": "index.ts" }\n',
    "node_modules/tsdep/index.ts": "export const a: number = 1;\n",
  });
  const refusedTyped = await link(typed);
  assert.ok(!refusedTyped.ok && /is TypeScript inside node_modules/.test(refusedTyped.reason));

  const data = plugin("data-import", {
    "index.ts": 'import { made } from "./data/made.ts";\nexport { made };\n',
    "data/made.ts": "export const made: number = 1;\n",
  });
  const refusedData = await link(data);
  assert.ok(!refusedData.ok && /is in a folder the plugin writes/.test(refusedData.reason));

  const granted = plugin("write-grant", {
    "index.ts": 'import { made } from "./out/made.js";\nexport { made };\n',
    "out/made.js": "export const made = 1;\n",
  });
  const refusedGrant = await linkPluginSources({
    entry: path.join(granted, "index.ts"),
    pluginDir: granted,
    cacheDir,
    access: { read: [], write: ["out"] },
  });
  assert.ok(!refusedGrant.ok && /out\/made\.js is in a folder the plugin writes/.test(refusedGrant.reason));
});

test("only TypeScript the plugin may read is compiled into its link", async () => {
  const outside = plugin("outside", { "secret.ts": 'export const key: string = "k";\n' });
  const thief = plugin("thief", { "index.ts": 'import { key } from "../outside/secret.ts";\nexport { key };\n' });
  const refused = await linkPluginSources({
    entry: path.join(thief, "index.ts"),
    pluginDir: thief,
    cacheDir,
    access: { read: [] },
  });
  assert.ok(!refused.ok && /secret\.ts is outside what the plugin may read/.test(refused.reason));
  const allowed = await linkPluginSources({
    entry: path.join(thief, "index.ts"),
    pluginDir: thief,
    cacheDir,
    access: { read: ["../outside"] },
  });
  assert.ok(
    manifestOf(allowed).modules[pathToFileURL(path.join(outside, "secret.ts")).href],
    "a granted folder is linked",
  );
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

test("a symbolic link pointed at other code since the last link is noticed: a file, a folder on the way, the plugin's folder", async () => {
  const versions = plugin("versions", {
    "one/util.ts": "export const v: string = 'one';\n",
    "two/util.ts": "export const v: string = 'two';\n",
    "one/lib/part.ts": "export const p: string = 'lib-one';\n",
    "two/lib/part.ts": "export const p: string = 'lib-two';\n",
  });
  const dir = plugin("symlinked", {
    "index.ts": 'import { v } from "./util.ts";\nimport { p } from "./lib/part.ts";\nexport const both = v + p;\n',
  });
  fs.symlinkSync(path.join(versions, "one/util.ts"), path.join(dir, "util.ts"));
  fs.symlinkSync(path.join(versions, "one/lib"), path.join(dir, "lib"));
  const compiledOf = (outcome: Awaited<ReturnType<typeof link>>, file: string) =>
    manifestOf(outcome).modules[pathToFileURL(file).href];
  const first = await link(dir);
  assert.ok(compiledOf(first, path.join(versions, "one/util.ts")));
  assert.deepEqual(await link(dir), first, "unchanged: reused");

  // The file's link pointed at other content (same folder listing, same texts of every file the link read).
  fs.rmSync(path.join(dir, "util.ts"));
  fs.symlinkSync(path.join(versions, "two/util.ts"), path.join(dir, "util.ts"));
  const second = await link(dir);
  assert.notDeepEqual(second, first);
  assert.ok(compiledOf(second, path.join(versions, "two/util.ts")), "the file it points at now is linked");
  assert.equal(compiledOf(second, path.join(versions, "one/util.ts")), undefined);

  // A folder on the way pointed elsewhere.
  fs.rmSync(path.join(dir, "lib"));
  fs.symlinkSync(path.join(versions, "two/lib"), path.join(dir, "lib"));
  const third = await link(dir);
  assert.notDeepEqual(third, second);
  assert.ok(compiledOf(third, path.join(versions, "two/lib/part.ts")));

  // The plugin's folder itself is a link, pointed at another copy of the plugin.
  const copyA = plugin("copy-a", { "index.ts": "export const which: string = 'a';\n" });
  const copyB = plugin("copy-b", { "index.ts": "export const which: string = 'b';\n" });
  const alias = path.join(root, "alias");
  fs.symlinkSync(copyA, alias);
  const viaA = await link(alias);
  assert.ok(compiledOf(viaA, path.join(copyA, "index.ts")));
  fs.rmSync(alias);
  fs.symlinkSync(copyB, alias);
  const viaB = await link(alias);
  assert.notDeepEqual(viaB, viaA);
  const compiledB = compiledOf(viaB, path.join(copyB, "index.ts"));
  assert.ok(compiledB && fs.readFileSync(new URL(compiledB), "utf8").includes('"b"'));
});

test("a computed import is found by esbuild, not by reading text: comments and strings do not count, every computed form does", async () => {
  const refused: [string, string][] = [
    ["variable", "const n = './a.ts';\nexport const m = await import(n);\n"],
    ["template", "const n = 'a';\nexport const m = await import(`./\u0024{n}.ts`);\n"],
    ["commented", "const n = './a.ts';\nexport const m = await import(/* the name */ n);\n"],
    ["call", "const f = (): string => './a.ts';\nexport const load = () => import(f());\n"],
    [
      "required",
      "import { createRequire } from 'node:module';\nconst n = './a.cjs';\nexport const m = require(n);\nexport { createRequire };\n",
    ],
  ];
  for (const [name, code] of refused) {
    const outcome = await link(plugin(`computed-${name}`, { "index.ts": code, "a.ts": "export const a = 1;\n" }));
    assert.equal(outcome.ok, false, name);
    if (!outcome.ok) assert.match(outcome.reason, /index\.ts(:\d+)? imports a module whose name it computes/, name);
  }
  // Patterns matching no file: `./loc/${n}.js` from TypeScript whose folder holds only en.ts (esbuild's empty glob).
  const patterns: [string, string][] = [
    ["template", "export const load = (n: string) => import(`./loc/\u0024{n}.js`);\n"],
    ["concatenation", "export const load = (n: string) => import('./loc/' + n + '.js');\n"],
  ];
  for (const [name, code] of patterns) {
    const outcome = await link(
      plugin(`empty-glob-${name}`, { "index.ts": code, "loc/en.ts": "export const hi = 'hi';\n" }),
    );
    assert.equal(outcome.ok, false, name);
    if (!outcome.ok) assert.match(outcome.reason, /index\.ts(:\d+)? imports a module whose name it computes/, name);
  }
  const variableOutcome = await link(path.join(root, "computed-variable"));
  assert.ok(
    !variableOutcome.ok &&
      /index\.ts:2 imports a module whose name it computes \(export const m = await import\(n\);\)/.test(
        variableOutcome.reason,
      ),
  );

  const linked: [string, string][] = [
    ["in-comment", "// a note: import(name) is not used here\n/* nor import(x) */\nexport const a = 1;\n"],
    ["in-string", "export const s = 'import(x)';\nexport const t = \"await import(y)\";\n"],
    ["in-template", "const n = 1;\nexport const t = `import(\u0024{n})`;\n"],
    ["plain", "export const m = await import('./a.ts');\nexport const k = await import(`./a.ts`);\n"],
    [
      "own-require",
      "import { createRequire } from 'node:module';\nconst require = createRequire(import.meta.url);\nconst n = './c.cjs';\nexport const c = require(n);\n",
    ],
  ];
  for (const [name, code] of linked) {
    const outcome = await link(
      plugin(`not-computed-${name}`, {
        "index.ts": code,
        "a.ts": "export const a = 1;\n",
        "c.cjs": "module.exports = 1;\n",
      }),
    );
    assert.ok(outcome.ok, `${name}: ${outcome.ok ? "" : outcome.reason}`);
  }
});

test("a link being compiled when the compile cache's esbuild service goes idle still finishes (it holds the service)", async () => {
  // The idle stop at once (NEKO_ESBUILD_IDLE_MS=0): a compile that ends while the link's build runs would stop the
  // service under it, unless the build holds it (a service stopped under a build never settles it).
  const saved = process.env.NEKO_ESBUILD_IDLE_MS;
  process.env.NEKO_ESBUILD_IDLE_MS = "0";
  try {
    const lines = Array.from({ length: 60_000 }, (_, i) => `export const v${i}: number = ${i};`);
    const dir = plugin("big", { "index.ts": `${lines.join("\n")}\n` });
    const started = Date.now();
    const linking = link(dir);
    // Compiles that start and end while the link's build runs (its 60 000 lines take far longer than these).
    for (let i = 0; i < 5; i += 1) {
      await compileTypeScript(path.join(root, `warm-${i}.ts`), `export const w: number = ${i};\n`, undefined);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const outcome = await linking;
    assert.ok(outcome.ok, outcome.ok ? "" : outcome.reason);
    assert.ok(Date.now() - started < 30_000, "no wait on a stopped service");
  } finally {
    if (saved === undefined) delete process.env.NEKO_ESBUILD_IDLE_MS;
    else process.env.NEKO_ESBUILD_IDLE_MS = saved;
  }
});

test("code that evaluates text and calls import() is refused; import.meta is linked only as .url, .filename, .dirname", async () => {
  const refused: [string, string, RegExp][] = [
    ["eval", "export const m = (n: string) => eval(`import(\u0024{JSON.stringify(n)})`);\n", /evaluates code/],
    ["function", 'export const m = new Function("n", "return import(n)");\n', /evaluates code/],
    ["function-call", 'export const m = Function("n", "return import(n)");\n', /evaluates code/],
    ["meta-index", "export const r = (import.meta as any)['resolve']('./x.js');\n", /uses import\.meta other than/],
    ["meta-object", "const m = import.meta;\nexport const u = m.url;\n", /uses import\.meta other than/],
    ["meta-main", "export const u = (import.meta as any).main;\n", /uses import\.meta other than/],
  ];
  for (const [name, code, reason] of refused) {
    const outcome = await link(plugin(`evaluated-${name}`, { "index.ts": code }));
    assert.equal(outcome.ok, false, name);
    if (!outcome.ok) assert.match(outcome.reason, reason, name);
  }
  const linked: [string, string][] = [
    ["meta-forms", "export const all = [import.meta.url, import.meta.filename, import.meta.dirname];\n"],
    ["meta-comment", "// import.meta.resolve is not used here\nexport const u = import.meta.url;\n"],
    ["eval-alone", "export const two = eval('1 + 1');\n"],
  ];
  for (const [name, code] of linked) {
    const dir = plugin(`evaluated-ok-${name}`, { "index.ts": code });
    const outcome = await link(dir);
    assert.ok(outcome.ok, `${name}: ${outcome.ok ? "" : outcome.reason}`);
    const compiled = manifestOf(outcome).modules[pathToFileURL(path.join(dir, "index.ts")).href];
    assert.ok(!fs.readFileSync(new URL(compiled), "utf8").includes("import.meta"), name);
  }
});

test("a real file replaced by a symbolic link to other code is noticed (every followed path is recorded)", async () => {
  const p = plugin("pairs-p", {
    "index.ts": 'import { u } from "./util.js";\nexport { u };\n',
    "util.ts": 'import { h } from "./helper.js";\nexport const u = h;\n',
    "helper.ts": "export const h: string = 'p';\n",
  });
  const q = plugin("pairs-q", {
    "util.ts": 'import { h } from "./helper.js";\nexport const u = h;\n',
    "helper.ts": "export const h: string = 'q';\n",
  });
  const first = await link(p);
  assert.ok(manifestOf(first).modules[pathToFileURL(path.join(p, "helper.ts")).href]);
  fs.rmSync(path.join(p, "util.ts"));
  fs.symlinkSync(path.join(q, "util.ts"), path.join(p, "util.ts"));
  const second = await link(p);
  assert.notDeepEqual(second, first);
  const modules = manifestOf(second).modules;
  assert.ok(modules[pathToFileURL(path.join(q, "helper.ts")).href], "q's helper, as Node would run it");
  assert.equal(modules[pathToFileURL(path.join(p, "helper.ts")).href], undefined);
});

test("a build error's reason is esbuild's first error with where it is", async () => {
  const dir = plugin("build-error", { "index.ts": "export const x: number = 1;\nexport const = ;\n" });
  const outcome = await link(dir);
  assert.ok(!outcome.ok);
  assert.match(outcome.reason, /index\.ts:2:\d+: Expected/);
  assert.doesNotMatch(outcome.reason, /Build failed/);
});

test("a prune asks right before each removal: a link kept meanwhile, or used since a link being prepared began, stays", async () => {
  const cache = fs.mkdtempSync(path.join(os.tmpdir(), "neko-prune-"));
  try {
    const make = (name: string, ageMs: number) => {
      const dir = path.join(cache, name);
      fs.mkdirSync(dir);
      fs.writeFileSync(path.join(dir, "manifest.json"), "{}");
      const when = new Date(Date.now() - ageMs);
      fs.utimesSync(dir, when, when);
      return path.join(dir, "manifest.json");
    };
    const chosen = make(`${"a".repeat(40)}.link`, 3600_000);
    const tombstone = `${"d".repeat(40)}.link.123.0123abcd.pruned`;
    make(tombstone, 0);
    // `chosen` is kept only from the second time the prune asks (a start chose it while the prune ran).
    let asked = 0;
    const keep = () => {
      asked += 1;
      return asked > 1 ? [chosen] : [];
    };
    assert.equal(await pruneLinks({ cacheDir: cache, keep, graceMs: 0 }), 0);
    assert.ok(asked >= 2);
    assert.deepEqual(fs.readdirSync(cache), [`${"a".repeat(40)}.link`], "kept; the tombstone went");

    const recent = `${"b".repeat(40)}.link`;
    make(recent, 10_000);
    make(`${"c".repeat(40)}.link`, 3600_000);
    const removed = await pruneLinks({
      cacheDir: cache,
      keep: [chosen],
      graceMs: 0,
      // A link is being prepared since a minute ago: what was used since then is kept.
      preparingSince: () => Date.now() - 60_000,
    });
    assert.equal(removed, 1);
    assert.deepEqual(fs.readdirSync(cache).sort(), [`${"a".repeat(40)}.link`, recent]);
  } finally {
    fs.rmSync(cache, { recursive: true, force: true });
  }
});
