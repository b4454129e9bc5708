import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, describe, test } from "node:test";
import {
  type DiscoveredPlugin,
  discoverPlugins,
  inspectPluginFolder,
  resolvePluginRoots,
} from "../../src/manifest/plugin-discovery.ts";

const SDK = "0.1.0";
const tempDirs: string[] = [];
after(() => {
  for (const dir of tempDirs) fs.rmSync(dir, { recursive: true, force: true });
});

type PluginFixture = { toml?: string; files?: string[] };

/** A plugin root holding one folder per fixture; `toml` defaults to none (a folder that is not a plugin). */
function makeRoot(plugins: Record<string, PluginFixture>): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "neko-discovery-"));
  tempDirs.push(root);
  for (const [folder, { toml, files = [] }] of Object.entries(plugins)) {
    fs.mkdirSync(path.join(root, folder), { recursive: true });
    if (toml !== undefined) fs.writeFileSync(path.join(root, folder, "plugin.toml"), toml);
    for (const file of files) fs.writeFileSync(path.join(root, folder, file), "export class A {}\n");
  }
  return root;
}

function manifest(id: string, extra = "", entry = "index.ts:A"): string {
  return `[plugin]\nid = "${id}"\nentry = "${entry}"\n${extra}`;
}

function good(id: string, extra = ""): PluginFixture {
  return { toml: manifest(id, extra), files: ["index.ts"] };
}

/** Everything but the parsed manifest, which plugin-manifest.test.ts covers. */
function summary(plugin: DiscoveredPlugin): Omit<DiscoveredPlugin, "manifest"> & { manifestId?: string } {
  const { manifest: parsed, ...rest } = plugin;
  return parsed === undefined ? rest : { ...rest, manifestId: parsed.id };
}

function only(plugins: DiscoveredPlugin[]): DiscoveredPlugin {
  assert.equal(plugins.length, 1);
  return plugins[0];
}

describe("discoverPlugins", () => {
  test("a good plugin is ok, with its manifest and absolute entry module path", async () => {
    const root = makeRoot({ hello: good("hello") });
    const [plugin] = await discoverPlugins({ roots: [root], sdkVersion: SDK });
    const dir = path.join(root, "hello");
    assert.deepEqual(summary(plugin), {
      id: "hello",
      idGuessed: false,
      dir,
      manifestPath: path.join(dir, "plugin.toml"),
      manifestId: "hello",
      entryModulePath: path.join(dir, "index.ts"),
      status: "ok",
      problems: [],
      warnings: [],
    });
    assert.deepEqual(plugin.manifest?.entry, { module: "index.ts", className: "A" });
  });

  test("malformed TOML: refused under the folder name", async () => {
    const root = makeRoot({ broken: { toml: `[plugin\nid = "x"\n`, files: ["index.ts"] } });
    const dir = path.join(root, "broken");
    assert.deepEqual(only(await discoverPlugins({ roots: [root], sdkVersion: SDK })), {
      id: "broken",
      idGuessed: true,
      dir,
      manifestPath: path.join(dir, "plugin.toml"),
      status: "refused",
      problems: ["plugin.toml: invalid TOML at line 1, column 8: illegal character in key"],
      warnings: [],
    });
  });

  test("missing id and entry: refused under the folder name with both reasons", async () => {
    const root = makeRoot({ empty: { toml: `[plugin]\n` } });
    const plugin = only(await discoverPlugins({ roots: [root], sdkVersion: SDK }));
    assert.equal(plugin.id, "empty");
    assert.equal(plugin.status, "refused");
    assert.deepEqual(plugin.problems, [
      "plugin.toml: [plugin].id is required",
      "plugin.toml: [plugin].entry is required",
    ]);
  });

  test("bad entry form: refused under the readable id", async () => {
    const root = makeRoot({ hello: { toml: manifest("hello", "", "index.ts"), files: ["index.ts"] } });
    const plugin = only(await discoverPlugins({ roots: [root], sdkVersion: SDK }));
    assert.deepEqual(summary(plugin), {
      id: "hello",
      idGuessed: false,
      dir: path.join(root, "hello"),
      manifestPath: path.join(root, "hello", "plugin.toml"),
      status: "refused",
      problems: ["plugin.toml: [plugin].entry must look like 'index.ts:ClassName', not 'index.ts'"],
      warnings: [],
    });
  });

  test("an entry module that does not exist", async () => {
    const root = makeRoot({
      hello: { toml: manifest("hello", "", "missing.ts:A"), files: ["index.ts"] },
      nested: { toml: manifest("nested", "", "src/index.ts:A") },
    });
    fs.mkdirSync(path.join(root, "nested", "src", "index.ts"), { recursive: true }); // a folder is not a module
    const [hello, nested] = await discoverPlugins({ roots: [root], sdkVersion: SDK });
    const dir = path.join(root, "hello");
    assert.equal(hello.status, "refused");
    assert.deepEqual(hello.problems, [`plugin.toml: [plugin].entry module 'missing.ts' does not exist in ${dir}`]);
    assert.equal(hello.entryModulePath, path.join(dir, "missing.ts"));
    assert.equal(hello.manifest?.id, "hello");
    assert.equal(nested.status, "refused");
    assert.deepEqual(nested.problems, [
      `plugin.toml: [plugin].entry module 'src/index.ts' does not exist in ${path.join(root, "nested")}`,
    ]);
  });

  test("SDK ranges: conflicts and supported refuse; untested and recommended warn; both syntaxes", async () => {
    const root = makeRoot({
      a_conflicts: good("a_conflicts", `[plugin.sdk]\nconflicts = "<0.2.0"\n`),
      b_conflicts_comma: good("b_conflicts_comma", `[plugin.sdk]\nconflicts = ">=0.1.0,<0.2.0"\n`),
      c_unsupported: good("c_unsupported", `[plugin.sdk]\nsupported = "^0.2.0"\n`),
      d_unsupported_comma: good("d_unsupported_comma", `[plugin.sdk]\nsupported = ">=0.2.0,<0.3.0"\n`),
      e_untested: good("e_untested", `[plugin.sdk]\nsupported = "^0.2.0"\nuntested = ">=0.1.0,<0.2.0"\n`),
      f_recommended: good("f_recommended", `[plugin.sdk]\nrecommended = "^0.2.0"\nsupported = ">=0.1.0"\n`),
      g_fine: good("g_fine", `[plugin.sdk]\nrecommended = "^0.1.0"\nsupported = ">=0.1.0,<1.0.0"\n`),
    });
    const found = await discoverPlugins({ roots: [root], sdkVersion: SDK });
    assert.deepEqual(
      found.map((p) => [p.id, p.status, p.problems, p.warnings]),
      [
        ["a_conflicts", "refused", ["plugin.toml: [plugin.sdk]: SDK 0.1.0 is inside conflicts range '<0.2.0'"], []],
        [
          "b_conflicts_comma",
          "refused",
          ["plugin.toml: [plugin.sdk]: SDK 0.1.0 is inside conflicts range '>=0.1.0,<0.2.0'"],
          [],
        ],
        ["c_unsupported", "refused", ["plugin.toml: [plugin.sdk]: SDK 0.1.0 is outside supported range '^0.2.0'"], []],
        [
          "d_unsupported_comma",
          "refused",
          ["plugin.toml: [plugin.sdk]: SDK 0.1.0 is outside supported range '>=0.2.0,<0.3.0'"],
          [],
        ],
        [
          "e_untested",
          "ok",
          [],
          ["plugin.toml: [plugin.sdk]: SDK 0.1.0 is inside untested range '>=0.1.0,<0.2.0' only"],
        ],
        ["f_recommended", "ok", [], ["plugin.toml: [plugin.sdk]: SDK 0.1.0 is outside recommended range '^0.2.0'"]],
        ["g_fine", "ok", [], []],
      ],
    );
  });

  test("an unparseable SDK range refuses the plugin as a manifest problem", async () => {
    const root = makeRoot({ banana: good("banana", `[plugin.sdk]\nsupported = ">=banana"\n`) });
    const plugin = only(await discoverPlugins({ roots: [root], sdkVersion: SDK }));
    assert.equal(plugin.status, "refused");
    assert.equal(plugin.manifest, undefined);
    assert.deepEqual(plugin.problems, ["plugin.toml: [plugin.sdk].supported '>=banana' is not a version range"]);
  });

  test("a folder named differently from the id is a warning, not a refusal", async () => {
    const root = makeRoot({ hello: good("hello_world") });
    const plugin = only(await discoverPlugins({ roots: [root], sdkVersion: SDK }));
    assert.equal(plugin.id, "hello_world");
    assert.equal(plugin.status, "ok");
    assert.deepEqual(plugin.warnings, ["plugin.toml: folder name 'hello' differs from [plugin].id 'hello_world'"]);
  });

  test("manifest warnings reach the plugin's warnings", async () => {
    const root = makeRoot({ hello: good("hello", `nmae = "typo"\n`) });
    assert.deepEqual(only(await discoverPlugins({ roots: [root], sdkVersion: SDK })).warnings, [
      "plugin.toml: [plugin].nmae is not a known key and is ignored",
    ]);
  });

  test("manifest warnings are kept beside the problems of a manifest that is refused", async () => {
    const root = makeRoot({ hello: good("hello", `nmae = "typo"\nversion = "one"\n`) });
    const plugin = only(await discoverPlugins({ roots: [root], sdkVersion: SDK }));
    assert.equal(plugin.status, "refused");
    assert.deepEqual(plugin.problems, [
      "plugin.toml: [plugin].version must be a semver version like '1.2.3', not 'one'",
    ]);
    assert.deepEqual(plugin.warnings, ["plugin.toml: [plugin].nmae is not a known key and is ignored"]);
  });

  test("duplicate ids across two roots: the first root wins, the later one is refused", async () => {
    const first = makeRoot({ shared: good("shared") });
    const second = makeRoot({ other: good("other"), shared: good("shared") });
    const found = await discoverPlugins({ roots: [first, second], sdkVersion: SDK });
    assert.deepEqual(
      found.map((p) => [p.id, p.dir, p.status, p.problems]),
      [
        ["shared", path.join(first, "shared"), "ok", []],
        ["other", path.join(second, "other"), "ok", []],
        [
          "shared",
          path.join(second, "shared"),
          "refused",
          [`duplicate plugin id 'shared': already defined by ${path.join(first, "shared", "plugin.toml")}`],
        ],
      ],
    );
  });

  test("duplicate ids inside one root: name order decides", async () => {
    const root = makeRoot({ b_twin: good("twin"), a_twin: good("twin"), c_twin: good("twin") });
    const found = await discoverPlugins({ roots: [root], sdkVersion: SDK });
    const owner = path.join(root, "a_twin", "plugin.toml");
    assert.deepEqual(
      found.map((p) => [path.basename(p.dir), p.status, p.problems]),
      [
        ["a_twin", "ok", []],
        ["b_twin", "refused", [`duplicate plugin id 'twin': already defined by ${owner}`]],
        ["c_twin", "refused", [`duplicate plugin id 'twin': already defined by ${owner}`]],
      ],
    );
  });

  test("a refused plugin that declared its id still owns it; a folder-name fallback owns nothing", async () => {
    const first = makeRoot({
      declared: good("declared", `[plugin.sdk]\nconflicts = "*"\n`),
      guessed: { toml: "not toml at all" },
    });
    const second = makeRoot({ x_declared: good("declared"), x_guessed: good("guessed") });
    const found = await discoverPlugins({ roots: [first, second], sdkVersion: SDK });
    assert.deepEqual(
      found.map((p) => [p.id, path.basename(p.dir), p.status, p.problems.length]),
      [
        ["declared", "declared", "refused", 1],
        ["guessed", "guessed", "refused", 1],
        ["declared", "x_declared", "refused", 1],
        ["guessed", "x_guessed", "ok", 0],
      ],
    );
    assert.match(found[2].problems[0], /^duplicate plugin id 'declared': already defined by /);
  });

  test("a good plugin beside bad ones is still ok, and every folder yields exactly one result", async () => {
    const root = makeRoot({
      a_bad_toml: { toml: "[plugin" },
      b_good: good("b_good"),
      c_no_module: { toml: manifest("c_no_module") },
      d_bad_type: good("d_bad_type", `type = "widget"\n`),
      e_good: good("e_good"),
    });
    const found = await discoverPlugins({ roots: [root], sdkVersion: SDK });
    assert.deepEqual(
      found.map((p) => [p.id, p.status]),
      [
        ["a_bad_toml", "refused"],
        ["b_good", "ok"],
        ["c_no_module", "refused"],
        ["d_bad_type", "refused"],
        ["e_good", "ok"],
      ],
    );
  });

  test("what is scanned: one level deep, folders with a plugin.toml, no dot folders or node_modules", async () => {
    const root = makeRoot({
      ".hidden": good("hidden"),
      node_modules: good("node_modules"),
      no_manifest: { files: ["index.ts"] },
      "deep/inner": good("inner"),
      Zed: good("Zed"),
      alpha: good("alpha"),
    });
    fs.writeFileSync(path.join(root, "stray.toml"), manifest("stray"));
    fs.mkdirSync(path.join(root, "toml_is_folder", "plugin.toml"), { recursive: true });
    fs.symlinkSync(path.join(root, "alpha"), path.join(root, "linked"));
    const found = await discoverPlugins({ roots: [root], sdkVersion: SDK });
    // Sorted by code unit, so upper case first; the symlinked folder is a second copy of alpha.
    assert.deepEqual(
      found.map((p) => [path.basename(p.dir), p.status]),
      [
        ["Zed", "ok"],
        ["alpha", "ok"],
        ["linked", "refused"],
      ],
    );
  });

  test("a root that does not exist, or is a file, is skipped; the same root twice is read once", async () => {
    const root = makeRoot({ hello: good("hello") });
    const file = path.join(root, "hello", "index.ts");
    const found = await discoverPlugins({
      roots: [path.join(root, "nope"), file, root, `${root}${path.sep}`],
      sdkVersion: SDK,
    });
    assert.deepEqual(
      found.map((p) => [p.id, p.status]),
      [["hello", "ok"]],
    );
    assert.deepEqual(await discoverPlugins({ roots: [], sdkVersion: SDK }), []);
  });
});

describe("resolvePluginRoots", () => {
  test("builtin, then --plugins-dir values, then NEKO_PLUGIN_DIRS; absolute and deduplicated", () => {
    const roots = resolvePluginRoots({
      builtinDir: "/repo/plugins",
      pluginDirs: ["/extra/one", "relative/two", "/repo/plugins/"],
      env: { NEKO_PLUGIN_DIRS: `/env/a${path.delimiter}${path.delimiter}/extra/one${path.delimiter}env-b` },
    });
    assert.deepEqual(roots, [
      "/repo/plugins",
      "/extra/one",
      path.resolve(process.cwd(), "relative/two"),
      "/env/a",
      path.resolve(process.cwd(), "env-b"),
    ]);
  });

  test("no flags and no environment: only the builtin folder", () => {
    assert.deepEqual(resolvePluginRoots({ builtinDir: "/repo/plugins", pluginDirs: [], env: {} }), ["/repo/plugins"]);
    assert.deepEqual(
      resolvePluginRoots({ builtinDir: "/repo/plugins", pluginDirs: [], env: { NEKO_PLUGIN_DIRS: "" } }),
      ["/repo/plugins"],
    );
  });
});

describe("inspectPluginFolder", () => {
  test("checks one folder's manifest, entry module and SDK range, but not its dependencies", async () => {
    const root = makeRoot({
      lonely: good("lonely", '[[plugin.dependency]]\nid = "absent"\n'),
      broken: { toml: manifest("broken", "", "missing.ts:A") },
      future: good("future", '[plugin.sdk]\nsupported = ">=9.0.0"\n'),
    });
    const lonely = await inspectPluginFolder(path.join(root, "lonely"), { sdkVersion: SDK });
    assert.equal(lonely.status, "ok");
    assert.deepEqual(lonely.problems, []);
    const broken = await inspectPluginFolder(path.join(root, "broken"), { sdkVersion: SDK });
    assert.equal(broken.status, "refused");
    assert.match(broken.problems.join("\n"), /entry module 'missing\.ts' does not exist/);
    const future = await inspectPluginFolder(path.join(root, "future"), { sdkVersion: SDK });
    assert.equal(future.status, "refused");
    assert.match(future.problems.join("\n"), /\[plugin\.sdk\]/);
  });
});
