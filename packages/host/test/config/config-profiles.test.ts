import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, describe, test } from "node:test";
import { ConfigError } from "../../src/config/config-error.ts";
import {
  loadActiveProfile,
  loadProfile,
  newProfilePath,
  profileNameProblem,
  readConfigProfiles,
  resolveInsidePluginDir,
} from "../../src/config/config-profiles.ts";

const tempDirs: string[] = [];
after(() => {
  for (const dir of tempDirs) fs.rmSync(dir, { recursive: true, force: true });
});

/** A folder `<tmp>/<n>/plugin` with the given files; its parent holds `outside.toml`. */
function pluginDir(files: Record<string, string>): string {
  const parent = fs.mkdtempSync(path.join(os.tmpdir(), "neko-profiles-"));
  tempDirs.push(parent);
  fs.writeFileSync(path.join(parent, "outside.toml"), "[x]\ny = 1\n");
  const dir = path.join(parent, "plugin");
  for (const [name, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    fs.writeFileSync(path.join(dir, name), text);
  }
  return dir;
}

/** Parsed TOML tables have no prototype; compare them as plain data. */
const plain = (value: unknown) => JSON.parse(JSON.stringify(value));

function configError(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof ConfigError);
    assert.equal(error.code, "CONFIG_INVALID");
    assert.match(error.message, pattern);
    return true;
  });
}

describe("config profiles", () => {
  test("profiles.toml with active and files; the active profile is loaded", () => {
    const dir = pluginDir({
      "profiles.toml": 'active = "dev"\n[files]\ndev = "profiles/dev.toml"\nprod = "prod.toml"\n',
      "profiles/dev.toml": "[server]\nport = 1\n",
    });
    const profiles = readConfigProfiles(dir, {});
    assert.equal(profiles.source, "profiles.toml");
    assert.equal(profiles.active, "dev");
    assert.deepEqual(
      profiles.files.map((f) => [f.name, f.exists, f.problem]),
      [
        ["dev", true, null],
        ["prod", false, "file 'prod.toml' does not exist"],
      ],
    );
    assert.deepEqual(plain(loadActiveProfile(profiles)?.overlay), { server: { port: 1 } });
    configError(() => loadProfile(profiles, "prod"), /profile 'prod': file 'prod.toml' does not exist/);
    configError(() => loadProfile(profiles, "qa"), /profile 'qa' is not declared in files \(declared: 'dev', 'prod'\)/);
  });

  test("a [config_profiles] table in profiles.toml, or [plugin.config_profiles] in the manifest", () => {
    const table = pluginDir({ "profiles.toml": '[config_profiles]\nactive = "a"\nfiles = { a = "a.toml" }\n' });
    assert.equal(readConfigProfiles(table, {}).active, "a");
    const inManifest = pluginDir({ "b.toml": "k = 1\n" });
    const manifest = { plugin: { id: "p", config_profiles: { active: "b", files: { b: "b.toml" } } } };
    const profiles = readConfigProfiles(inManifest, manifest);
    assert.equal(profiles.source, "plugin.toml");
    assert.deepEqual(plain(loadActiveProfile(profiles)?.overlay), { k: 1 });
    assert.equal(readConfigProfiles(pluginDir({}), { plugin: { id: "p" } }).source, null, "no profiles at all");
    assert.equal(loadActiveProfile(readConfigProfiles(pluginDir({}), {})), undefined);
  });

  test("a profile path that leaves the plugin folder is refused: '..', absolute, or through a symlink", () => {
    const dir = pluginDir({ "inside.toml": "a = 1\n" });
    const outside = path.join(path.dirname(dir), "outside.toml");
    fs.symlinkSync(outside, path.join(dir, "link.toml"));
    const profiles = readConfigProfiles(dir, {
      plugin: {
        config_profiles: {
          files: {
            up: "../outside.toml",
            abs: outside,
            link: "link.toml",
            sneaky: "sub/../../outside.toml",
            ok: "inside.toml",
          },
        },
      },
    });
    for (const name of ["up", "abs", "link", "sneaky"]) {
      const file = profiles.files.find((f) => f.name === name);
      assert.match(file?.problem ?? "", /leaves the plugin folder/, name);
      assert.equal(file?.resolvedPath, null);
      configError(
        () => loadProfile(profiles, name),
        new RegExp(`profile '${name}': path '.*' leaves the plugin folder`),
      );
    }
    assert.deepEqual(plain(loadProfile(profiles, "ok").overlay), { a: 1 });
  });

  test("a profile may not hold a [plugin] table, must be valid TOML, and declarations must be well-formed", () => {
    const dir = pluginDir({
      "profiles.toml": 'active = "evil"\n[files]\nevil = "evil.toml"\nbroken = "broken.toml"\n',
      "evil.toml": '[plugin]\nentry = "other.ts:Other"\n',
      "broken.toml": "[x\n",
    });
    const profiles = readConfigProfiles(dir, {});
    configError(() => loadActiveProfile(profiles), /profile 'evil' \(evil\.toml\) may not contain a \[plugin\] table/);
    configError(() => loadProfile(profiles, "broken"), /profile 'broken' \(broken\.toml\) is not valid TOML/);
    configError(
      () => readConfigProfiles(pluginDir({ "profiles.toml": "active = 3\n" }), {}),
      /profiles\.toml: active must be a profile name/,
    );
    configError(
      () => readConfigProfiles(pluginDir({ "profiles.toml": '[files]\ndev = ""\n' }), {}),
      /profiles\.toml: files\.dev must be a path/,
    );
  });
});

describe("new profiles", () => {
  test("profileNameProblem: letters, digits, '_' and '-'; no dots, separators or reserved names", () => {
    for (const good of ["dev", "Prod_2", "a-b", "_x", "x".repeat(64)])
      assert.equal(profileNameProblem(good), undefined);
    for (const bad of ["", "..", ".env", "a/b", "a\\b", "a.b", "-x", "x".repeat(65), "a b", "é"]) {
      assert.match(profileNameProblem(bad) ?? "", /is not allowed/, bad);
    }
    for (const reserved of [
      "active",
      "ACTIVE",
      "con",
      "Nul",
      "com1",
      "lpt9",
      "__proto__",
      "prototype",
      "constructor",
    ]) {
      assert.equal(profileNameProblem(reserved), `profile name '${reserved}' is reserved`);
    }
    assert.equal(newProfilePath("dev"), "profiles/dev.toml");
  });

  test("resolveInsidePluginDir: a file not there yet is judged by its nearest folder, links included", () => {
    const dir = pluginDir({ "plugin.toml": "" });
    const parent = path.dirname(dir);
    fs.mkdirSync(path.join(parent, "elsewhere"));
    fs.symlinkSync(path.join(parent, "elsewhere"), path.join(dir, "linked"));
    assert.equal(
      resolveInsidePluginDir(dir, "profiles/new.toml"),
      path.join(fs.realpathSync(dir), "profiles/new.toml"),
    );
    assert.equal(resolveInsidePluginDir(dir, "linked/new.toml"), undefined);
    assert.equal(resolveInsidePluginDir(dir, "linked/deeper/new.toml"), undefined);
    assert.equal(resolveInsidePluginDir(dir, "../outside.toml"), undefined);
  });

  test("resolveInsidePluginDir refuses a dangling link, as the file or as a folder on the way", () => {
    const dir = pluginDir({ "plugin.toml": "" });
    const parent = path.dirname(dir);
    // Links to nothing yet: pointed out of the folder later, a write through them would land outside.
    fs.symlinkSync(path.join(parent, "not-yet.toml"), path.join(dir, "dangling.toml"));
    fs.symlinkSync(path.join(parent, "not-yet-dir"), path.join(dir, "dangling-dir"));
    fs.symlinkSync("missing-inside.toml", path.join(dir, "dangling-inside.toml"));
    assert.equal(resolveInsidePluginDir(dir, "dangling.toml"), undefined);
    assert.equal(resolveInsidePluginDir(dir, "dangling-dir/new.toml"), undefined);
    assert.equal(resolveInsidePluginDir(dir, "dangling-inside.toml"), undefined);
    const profiles = readConfigProfiles(dir, { plugin: { config_profiles: { files: { d: "dangling.toml" } } } });
    assert.match(profiles.files[0].problem ?? "", /leaves the plugin folder/);
  });

  test("a profile whose real path is plugin.toml, profiles.toml, the entry module or under data/ is unusable", () => {
    const dir = pluginDir({
      "plugin.toml": '[plugin]\nid = "p"\nentry = "src/index.ts:P"\n',
      "src/index.ts": "export class P {}\n",
      "data/state.toml": "x = 1\n",
      "profiles/ok.toml": "a = 1\n",
    });
    fs.symlinkSync("plugin.toml", path.join(dir, "alias.toml"));
    const manifest = {
      plugin: {
        id: "p",
        entry: "src/index.ts:P",
        config_profiles: {
          files: {
            manifest: "plugin.toml",
            decl: "profiles.toml",
            code: "src/index.ts",
            dotted: "./src/../plugin.toml",
            state: "data/state.toml",
            fresh: "data/new.toml",
            alias: "alias.toml",
            ok: "profiles/ok.toml",
          },
        },
      },
    };
    const profiles = readConfigProfiles(dir, manifest);
    const problems = Object.fromEntries(profiles.files.map((f) => [f.name, [f.forbidden, f.problem]]));
    assert.deepEqual(problems, {
      manifest: [true, "path 'plugin.toml' cannot be a profile: it is plugin.toml, not a profile"],
      decl: [true, "path 'profiles.toml' cannot be a profile: it is profiles.toml, not a profile"],
      code: [true, "path 'src/index.ts' cannot be a profile: it is the entry module, not a profile"],
      dotted: [true, "path './src/../plugin.toml' cannot be a profile: it is plugin.toml, not a profile"],
      state: [true, "path 'data/state.toml' cannot be a profile: it is in the plugin's data/ folder, not a profile"],
      fresh: [true, "path 'data/new.toml' cannot be a profile: it is in the plugin's data/ folder, not a profile"],
      alias: [true, "path 'alias.toml' cannot be a profile: it is plugin.toml, not a profile"],
      ok: [false, null],
    });
    configError(() => loadProfile(profiles, "manifest"), /profile 'manifest': path 'plugin.toml' cannot be a profile/);
  });

  test("loadProfile reads only a regular file of at most 1 MiB", () => {
    const dir = pluginDir({ "big.toml": `x = "${"a".repeat(1024 * 1024)}"\n`, "folder.toml/inner": "" });
    const profiles = readConfigProfiles(dir, {
      plugin: { config_profiles: { files: { big: "big.toml", folder: "folder.toml" } } },
    });
    configError(() => loadProfile(profiles, "big"), /profile 'big': 'big.toml' is not a regular file of at most 1 MiB/);
    configError(() => loadProfile(profiles, "folder"), /profile 'folder': 'folder.toml' is not a regular file/);
  });
});
