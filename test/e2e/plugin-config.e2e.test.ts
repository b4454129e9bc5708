/**
 * Plugin configuration end to end (SPEC §2.1 profiles, §3.4 `this.config`, §3.5 `config_change` / `reload`):
 * real plugin processes, the real HTTP routes, files in temporary folders.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { parse } from "smol-toml";
import { makeTempDir, writePlugin } from "../support/plugin-fixtures.ts";
import { startTestHost, type TestHost } from "../support/test-host.ts";

const code = `
import { Err, lifecycle, NekoPluginBase, nekoPlugin, Ok, pluginEntry, SdkError } from "@neko/plugin-sdk/plugin";

@nekoPlugin
export class CfgPlugin extends NekoPluginBase {
  changes: Array<{ mode: string; from: unknown; to: unknown }> = [];
  reloads: unknown[] = [];

  @lifecycle({ id: "config_change" })
  onConfigChange({ oldConfig, newConfig, mode }: { oldConfig: any; newConfig: any; mode: string }) {
    this.changes.push({ mode, from: oldConfig.limits?.max, to: newConfig.limits?.max });
    if (newConfig.limits?.step > 100) return Err(new SdkError("limits.step may not exceed 100", { code: "TOO_BIG" }));
  }

  @lifecycle({ id: "reload" })
  onReload({ newConfig }: { newConfig: any }) {
    this.reloads.push(newConfig.greeting?.text);
    if (newConfig.greeting?.text === "refuse") return Err("this greeting is refused");
  }

  @pluginEntry({ id: "read" })
  read({ path }: { path: string }) {
    return Ok({ value: this.config.get(path, null), pid: process.pid, changes: this.changes, reloads: this.reloads });
  }

  @pluginEntry({ id: "need" })
  need({ path }: { path: string }) {
    return Ok(this.config.require(path));
  }

  @pluginEntry({ id: "typed" })
  typed({ path, as }: { path: string; as: "int" | "str" | "bool" }) {
    if (as === "int") return Ok(this.config.getInt(path));
    return Ok(as === "str" ? this.config.getStr(path) : this.config.getBool(path));
  }

  @pluginEntry({ id: "dump" })
  dump() {
    return Ok({ config: this.config.dump(), name: (this.metadata.plugin as any).name });
  }

  @pluginEntry({ id: "write" })
  async write({ path, value, mode }: { path: string; value: unknown; mode?: "permanent" | "temporary" }) {
    return await this.config.set(path, value, { mode });
  }
}
`;

const manifest = `# The test plugin's manifest: this comment must survive writes
[plugin]
id = "cfg"
name = "Config test"
entry = "index.ts:CfgPlugin"

[greeting]
text = "hello" # said at startup

[limits]
max = 10
min = 1

[limits.window]
seconds = 60
burst = 3

[schedule]
start = 2024-01-01
`;

const profilesToml = `# which profile applies
active = "dev"

[files]
dev = "profiles/dev.toml"
evil = "../outside.toml"
`;

const devProfile = `[limits]
max = 50
min = "__DELETE__"

[limits.window]
__replace__ = true
seconds = 5
`;

describe("plugin configuration", () => {
  let root: string;
  let dir: string;
  let t: TestHost;
  const manifestPath = () => path.join(dir, "plugin.toml");
  const fileText = () => fs.readFileSync(manifestPath(), "utf8");
  const pluginSees = async (p: string) => (await t.trigger("cfg", "read", { path: p })).body.data.value;

  before(async () => {
    root = makeTempDir();
    dir = writePlugin(root, {
      id: "cfg",
      className: "CfgPlugin",
      manifest,
      code,
      files: { "profiles.toml": profilesToml, "profiles/dev.toml": devProfile },
    });
    fs.writeFileSync(path.join(root, "outside.toml"), "[limits]\nmax = 99\n");
    writePlugin(root, {
      id: "cfg_escape",
      className: "CfgPlugin",
      manifest:
        '[plugin]\nid = "cfg_escape"\nentry = "index.ts:CfgPlugin"\n\n' +
        '[plugin.config_profiles]\nactive = "evil"\nfiles = { evil = "../../etc/neko.toml" }\n',
      code,
    });
    t = await startTestHost({ roots: [root] });
  });
  after(async () => {
    await t?.close();
    fs.rmSync(root, { recursive: true, force: true });
  });

  test("the effective config is the manifest deep-merged with the active profile, in the plugin and over HTTP", async () => {
    const res = await t.request("GET", "/plugin/cfg/config");
    assert.equal(res.status, 200);
    assert.equal(res.body.profile, "dev");
    assert.equal(res.body.running, true);
    assert.deepEqual(res.body.config.limits, { max: 50, window: { seconds: 5 } }, "__DELETE__ and __replace__ applied");
    assert.equal(res.body.config.greeting.text, "hello");
    const dumped = (await t.trigger("cfg", "dump")).body.data;
    assert.deepEqual(dumped.config, res.body.config, "this.config.dump() is what the host serves");
    assert.equal(await pluginSees("limits.window.seconds"), 5);
    assert.equal(await pluginSees("limits.nope"), null, "get() falls back to the default");
  });

  test("require() names the missing path", async () => {
    assert.equal((await t.trigger("cfg", "need", { path: "limits.max" })).body.data, 50);
    const missing = await t.trigger("cfg", "need", { path: "limits.window.size" });
    assert.equal(missing.body.success, false);
    assert.equal(missing.body.error.code, "CONFIG_KEY_MISSING");
    assert.match(missing.body.error.message, /config key 'limits\.window\.size' is required but not set/);
  });

  test("the typed getters read in the plugin process, and a wrong type is refused naming the key", async () => {
    assert.equal((await t.trigger("cfg", "typed", { path: "limits.max", as: "int" })).body.data, 50);
    assert.equal((await t.trigger("cfg", "typed", { path: "greeting.text", as: "str" })).body.data, "hello");
    const wrong = await t.trigger("cfg", "typed", { path: "greeting.text", as: "int" });
    assert.equal(wrong.status, 400);
    assert.equal(wrong.body.error.code, "CONFIG_INVALID");
    assert.equal(wrong.body.error.message, "config key 'greeting.text' must be a whole number, but it holds string");
  });

  test("a temporary hot update reaches the plugin and config_change, but not the file, and ends with the process", async () => {
    const before = fileText();
    const res = await t.request("POST", "/plugin/cfg/config/hot-update", {
      config: { limits: { max: 60 } },
      mode: "temporary",
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.config.limits.max, 60);
    assert.equal(await pluginSees("limits.max"), 60);
    const { changes } = (await t.trigger("cfg", "read", { path: "x" })).body.data;
    assert.deepEqual(changes.at(-1), { mode: "temporary", from: 50, to: 60 });
    assert.equal(fileText(), before, "plugin.toml untouched");
    const served = (await t.request("GET", "/plugin/cfg/config")).body;
    assert.equal(served.config.limits.max, 60);
    assert.equal(served.temporary, true);

    assert.equal((await t.request("POST", "/plugin/cfg/stop")).status, 200);
    const stopped = (await t.request("GET", "/plugin/cfg/config")).body;
    assert.equal(stopped.config.limits.max, 50, "a stopped plugin will start from the files");
    const refused = await t.request("POST", "/plugin/cfg/config/hot-update", { config: { limits: { max: 70 } } });
    assert.equal(refused.status, 409, "temporary is the default mode and needs a running plugin");
    assert.equal(refused.body.error.code, "PLUGIN_NOT_RUNNING");
    assert.equal((await t.request("POST", "/plugin/cfg/start")).status, 200);
    assert.equal(await pluginSees("limits.max"), 50, "lost on restart");
  });

  test("a permanent hot update is written to plugin.toml atomically, keeping its comments", async () => {
    const res = await t.request("POST", "/plugin/cfg/config/hot-update", {
      config: { limits: { max: 40, step: 5 }, greeting: { text: "hi" } },
      mode: "permanent",
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const text = fileText();
    const written = parse(text) as any;
    assert.equal(written.limits.step, 5);
    assert.equal(written.greeting.text, "hi");
    assert.equal(written.limits.max, 40, "the manifest value changes, the profile still wins in the effective config");
    assert.ok(text.startsWith("# The test plugin's manifest: this comment must survive writes\n"));
    assert.match(text, /^text = "hi" # said at startup$/m, "a changed line keeps its trailing comment");
    assert.equal(await pluginSees("limits.step"), 5);
    assert.equal(await pluginSees("limits.max"), 50);
    assert.equal(await pluginSees("greeting.text"), "hi");
    assert.deepEqual(
      fs.readdirSync(dir).filter((f) => f.endsWith(".tmp")),
      [],
      "no temporary file is left behind",
    );
  });

  test("config_change returning Err rolls the change back everywhere", async () => {
    const before = fileText();
    for (const mode of ["permanent", "temporary"]) {
      const res = await t.request("POST", "/plugin/cfg/config/hot-update", { config: { limits: { step: 500 } }, mode });
      assert.equal(res.status, 409, JSON.stringify(res.body));
      assert.equal(res.body.error.code, "CONFIG_CHANGE_REFUSED");
      assert.match(res.body.error.message, /refused the configuration change .*limits\.step may not exceed 100/);
      assert.equal(res.body.error.details.cause.code, "TOO_BIG");
      assert.equal(fileText(), before, `plugin.toml unchanged (${mode})`);
      assert.equal((await t.request("GET", "/plugin/cfg/config")).body.config.limits.step, 5, "the host keeps the old");
      assert.equal(await pluginSees("limits.step"), 5, "the plugin keeps the old");
    }
    const put = await t.request("PUT", "/plugin/cfg/config/toml", { toml: before.replace("step = 5", "step = 500") });
    assert.equal(put.status, 409, "a raw write is refused the same way");
    assert.equal(fileText(), before);
  });

  test("plugin.id and plugin.entry can never be changed, by any route or by the plugin", async () => {
    const before = fileText();
    const current = (await t.request("GET", "/plugin/cfg/config/toml")).body.toml as string;
    const attempts = [
      await t.request("PUT", "/plugin/cfg/config", {
        config: { plugin: { id: "other", entry: "index.ts:CfgPlugin" } },
      }),
      await t.request("POST", "/plugin/cfg/config/hot-update", {
        config: { plugin: { entry: "evil.ts:Evil" } },
        mode: "permanent",
      }),
      await t.request("POST", "/plugin/cfg/config/hot-update", { config: { plugin: { id: "__DELETE__" } } }),
      await t.request("PUT", "/plugin/cfg/config/toml", { toml: current.replace('id = "cfg"', 'id = "cfg2"') }),
      await t.request("PUT", "/plugin/cfg/config/toml", { toml: current.replace("index.ts:CfgPlugin", "b.ts:B") }),
      await t.trigger("cfg", "write", { path: "plugin.id", value: "hijack" }),
      await t.trigger("cfg", "write", { path: "plugin.entry", value: "x.ts:X", mode: "temporary" }),
    ];
    for (const res of attempts) {
      assert.equal(res.status, 403, JSON.stringify(res.body));
      assert.equal(res.body.error.code, "CONFIG_PROTECTED_FIELD");
      assert.match(res.body.error.message, /plugin\.(id|entry) can never be changed/);
    }
    assert.match(attempts[0].body.error.message, /plugin\.id can never be changed: it is "cfg", not "other"/);
    assert.match(attempts[2].body.error.message, /the change would remove it/);
    assert.equal(fileText(), before);
    assert.equal(await pluginSees("plugin.id"), "cfg");
  });

  test("this.config.set writes through the host: plugin.toml, the host's view and the plugin agree", async () => {
    const res = await t.trigger("cfg", "write", { path: "greeting.text", value: "written by the plugin" });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.data.greeting.text, "written by the plugin", "set() resolves with the new config");
    assert.equal((parse(fileText()) as any).greeting.text, "written by the plugin");
    assert.equal((await t.request("GET", "/plugin/cfg/config")).body.config.greeting.text, "written by the plugin");
    assert.equal(await pluginSees("greeting.text"), "written by the plugin");
  });

  test("PUT /config replaces the document (id and entry may be left out) and re-validates it", async () => {
    const current = (await t.request("GET", "/plugin/cfg/config/toml")).body.toml as string;
    const doc = parse(current) as any;
    delete doc.plugin.id;
    delete doc.plugin.entry;
    doc.plugin.name = "Renamed";
    doc.limits.min = 2;
    const res = await t.request("PUT", "/plugin/cfg/config", { config: doc });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const text = fileText();
    assert.equal((parse(text) as any).plugin.id, "cfg");
    assert.equal((parse(text) as any).plugin.entry, "index.ts:CfgPlugin");
    assert.ok(text.startsWith("# The test plugin's manifest"), "values changed in place keep the comments");
    assert.ok((parse(text) as any).schedule.start instanceof Date, "a date sent back as its JSON text stays a date");
    assert.match(text, /^start = 2024-01-01$/m);
    const listed = (await t.request("GET", "/plugins/cfg")).body;
    assert.equal(listed.name, "Renamed", "/plugins shows the new manifest");
    assert.equal(
      (await t.trigger("cfg", "dump")).body.data.name,
      "Config test",
      "this.metadata changes on reload, not on writes",
    );

    const bad = await t.request("PUT", "/plugin/cfg/config", { config: { ...doc, plugin: { version: "not-semver" } } });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error.code, "CONFIG_INVALID");
    assert.match(bad.body.error.message, /\[plugin\]\.version must be a semver version/);
    const nulls = await t.request("PUT", "/plugin/cfg/config", { config: { ...doc, extra: { gone: null } } });
    assert.equal(nulls.status, 400);
    assert.match(nulls.body.error.message, /config value 'extra\.gone' is null/);
  });

  test("a raw TOML PUT writes exactly the text, comments included, after checking it", async () => {
    const text = `${fileText()}\n# a new comment at the end\n[extra]\nflag = true # why not\n`;
    const res = await fetch(`${t.url}/plugin/cfg/config/toml`, {
      method: "PUT",
      headers: { "content-type": "application/toml" },
      body: text,
    });
    assert.equal(res.status, 200, await res.clone().text());
    assert.equal(fileText(), text, "byte for byte");
    assert.equal((await t.request("GET", "/plugin/cfg/config/toml")).body.toml, text);
    assert.equal(await pluginSees("extra.flag"), true);

    const broken = await t.request("PUT", "/plugin/cfg/config/toml", { toml: "[plugin\nid = 1" });
    assert.equal(broken.status, 400);
    assert.equal(broken.body.error.code, "CONFIG_INVALID");
    assert.match(broken.body.error.message, /invalid TOML at line 1/);
    assert.equal(fileText(), text);
  });

  test("a configuration nested 1,000 deep is 400 CONFIG_INVALID on every write route, and changes nothing", async () => {
    let deep: unknown = 1;
    for (let i = 0; i < 1000; i++) deep = { a: deep };
    const before = fileText();
    const seen = await pluginSees("limits.max");
    const writes = [
      ["PUT", "/plugin/cfg/config", { config: { plugin: { name: "Deep" }, deep } }],
      ["POST", "/plugin/cfg/config/hot-update", { config: { deep } }],
      ["POST", "/plugin/cfg/config/hot-update", { config: { deep }, mode: "permanent" }],
      ["PUT", "/plugin/cfg/config/toml", { toml: `${before}\n[deep]\nx = ${"[".repeat(1000)}${"]".repeat(1000)}\n` }],
      ["PUT", "/plugin/cfg/config/toml", { toml: `${before}\n[deep]\nx = ${"[".repeat(300)}${"]".repeat(300)}\n` }],
    ] as const;
    for (const [method, route, body] of writes) {
      const res = await t.request(method, route, body);
      assert.equal(res.status, 400, `${method} ${route}: ${JSON.stringify(res.body).slice(0, 200)}`);
      assert.equal(res.body.error.code, "CONFIG_INVALID");
    }
    const structured = await t.request("PUT", "/plugin/cfg/config", { config: { deep } });
    assert.equal(structured.body.error.message, "the configuration nests deeper than 256 levels");
    assert.equal(fileText(), before, "plugin.toml is unchanged");
    assert.equal(await pluginSees("limits.max"), seen, "the plugin kept its configuration");
    assert.equal(await pluginSees("deep"), null);
  });

  test("profiles: listed with their problems; an escaping path is refused; switching applies at once", async () => {
    const listed = (await t.request("GET", "/plugin/cfg/config/profiles")).body;
    assert.equal(listed.source, "profiles.toml");
    assert.equal(listed.active, "dev");
    const evil = listed.profiles.find((p: { name: string }) => p.name === "evil");
    assert.equal(evil.problem, "path '../outside.toml' leaves the plugin folder");
    assert.equal(evil.resolved_path, null);
    const dev = (await t.request("GET", "/plugin/cfg/config/profiles/dev")).body;
    assert.deepEqual(dev.config.limits.window, { __replace__: true, seconds: 5 });

    const escaping = await t.request("PUT", "/plugin/cfg/config/profiles/active", { name: "evil" });
    assert.equal(escaping.status, 400);
    assert.equal(escaping.body.error.code, "CONFIG_INVALID");
    assert.match(escaping.body.error.message, /profile 'evil': path '\.\.\/outside\.toml' leaves the plugin folder/);
    assert.equal((await t.request("GET", "/plugin/cfg/config/profiles/evil")).status, 400);
    assert.equal((await t.request("GET", "/plugin/cfg/config/profiles/nope")).status, 404);

    const off = await t.request("PUT", "/plugin/cfg/config/profiles/active", { name: null });
    assert.equal(off.status, 200, JSON.stringify(off.body));
    assert.equal(await pluginSees("limits.max"), 40, "without the profile, the manifest's value");
    assert.deepEqual(await pluginSees("limits.window"), { seconds: 60, burst: 3 });
    const profilesText = fs.readFileSync(path.join(dir, "profiles.toml"), "utf8");
    assert.ok(profilesText.startsWith("# which profile applies\n"), "profiles.toml keeps its comments");
    assert.equal((parse(profilesText) as any).active, undefined);
    const on = await t.request("PUT", "/plugin/cfg/config/profiles/active", { name: "dev" });
    assert.equal(on.status, 200);
    assert.equal(await pluginSees("limits.max"), 50);
  });

  test("a plugin whose active profile leaves its folder does not start, and says why", async () => {
    const listed = (await t.request("GET", "/plugins/cfg_escape")).body;
    assert.equal(listed.status, "stopped");
    assert.match(listed.status_reason, /profile 'evil': path '\.\.\/\.\.\/etc\/neko\.toml' leaves the plugin folder/);
    const start = await t.request("POST", "/plugin/cfg_escape/start");
    assert.equal(start.status, 400);
    assert.equal(start.body.error.code, "CONFIG_INVALID");
    const config = await t.request("GET", "/plugin/cfg_escape/config");
    assert.equal(config.status, 400);
    assert.match(config.body.error.message, /leaves the plugin folder/);

    // Profiles declared in plugin.toml: switching them off edits [plugin.config_profiles] there, and it starts.
    const off = await t.request("PUT", "/plugin/cfg_escape/config/profiles/active", { name: null });
    assert.equal(off.status, 200, JSON.stringify(off.body));
    assert.equal(off.body.applied, false, "a stopped plugin takes it at its next start");
    const text = fs.readFileSync(path.join(root, "cfg_escape", "plugin.toml"), "utf8");
    assert.match(text, /^\[plugin\.config_profiles\]\nfiles = \{ evil = "\.\.\/\.\.\/etc\/neko\.toml" \}$/m);
    assert.equal((await t.request("POST", "/plugin/cfg_escape/start")).status, 200);
    assert.equal((await t.request("POST", "/plugin/cfg_escape/stop")).status, 200);
  });

  test("reload?mode=config re-reads plugin.toml into the same process and runs reload", async () => {
    const pid = (await t.trigger("cfg", "read", { path: "x" })).body.data.pid;
    fs.writeFileSync(manifestPath(), fileText().replace(/text = ".*"/, 'text = "bonjour"'));
    const res = await t.request("POST", "/plugin/cfg/reload?mode=config");
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.status, "running");
    assert.equal(res.body.pid, pid, "no restart");
    const after = (await t.trigger("cfg", "read", { path: "greeting.text" })).body.data;
    assert.equal(after.pid, pid);
    assert.equal(after.value, "bonjour", "the new value through this.config");
    assert.equal(after.reloads.at(-1), "bonjour", "the reload lifecycle saw it");
    assert.equal((await t.trigger("cfg", "dump")).body.data.name, "Renamed", "this.metadata is the re-read manifest");

    const beforeRefusal = fileText();
    fs.writeFileSync(manifestPath(), beforeRefusal.replace('text = "bonjour"', 'text = "refuse"'));
    const refused = await t.request("POST", "/plugin/cfg/reload?mode=config");
    assert.equal(refused.status, 409);
    assert.match(refused.body.error.message, /in its reload handler: this greeting is refused/);
    assert.equal(await pluginSees("greeting.text"), "bonjour", "a refused reload keeps the old config");

    fs.writeFileSync(manifestPath(), beforeRefusal.replace("index.ts:CfgPlugin", "other.ts:CfgPlugin"));
    const entryChanged = await t.request("POST", "/plugin/cfg/reload?mode=config");
    assert.equal(entryChanged.status, 403);
    assert.match(entryChanged.body.error.message, /a new entry needs a full reload/);
    fs.writeFileSync(manifestPath(), beforeRefusal);

    const badMode = await t.request("POST", "/plugin/cfg/reload?mode=sideways");
    assert.equal(badMode.status, 400);
    assert.equal(badMode.body.error.code, "VALIDATION_ERROR");
  });
});
