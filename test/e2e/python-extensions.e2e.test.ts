/**
 * Python extensions (SPEC §3.6, §3.8; docs/extensions.md, docs/python-plugins.md): an extension written for the
 * original N.E.K.O. (`plugin.sdk.extension`, test/python-plugins/py_ext_extra) is loaded into its Python host
 * plugin's process over the same wire messages as a TypeScript one — its entries under the host with
 * `extension_id`, its hooks in the host's chain, disabled and enabled without a restart and without leaving anything
 * behind — and an extension aimed at a plugin of the other language is refused with the reason, never loaded.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, describe, test } from "node:test";
import { isAlive, makeTempDir, waitFor, writePlugin } from "../support/plugin-fixtures.ts";
import { PYTHON_SKIP } from "../support/python.ts";
import { startTestHost, type TestHost } from "../support/test-host.ts";

const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../python-plugins");

const tsHostCode = `
import { NekoPluginBase, nekoPlugin, Ok, pluginEntry } from "@neko/plugin-sdk/plugin";

@nekoPlugin
export class TsHost extends NekoPluginBase {
  @pluginEntry({ id: "ping" })
  ping() {
    return Ok({ pong: true });
  }
}
`;

const tsExtensionCode = `
import { extension, extensionEntry, NekoExtensionBase, Ok } from "@neko/plugin-sdk/extension";

@extension
export class TsToPy extends NekoExtensionBase {
  @extensionEntry({ id: "hi" })
  hi() {
    return Ok("hi");
  }
}
`;

const pyToTsCode = `
from plugin.sdk.extension import NekoExtensionBase, Ok, extension, extension_entry


@extension
class PyToTs(NekoExtensionBase):
    @extension_entry(id="hi")
    def hi(self, **_):
        return Ok("hi")
`;

const brokenCode = `
from plugin.sdk.extension import NekoExtensionBase, Ok, extension, extension_entry, message


@extension
class Broken(NekoExtensionBase):
    @extension_entry(id="greet")
    def greet(self, **_):
        return Ok("mine")
`;

describe("a Python extension in its Python host plugin's process", { skip: PYTHON_SKIP }, () => {
  let root: string;
  let t: TestHost;
  const hostView = async () => (await t.request("GET", "/plugins/py_ext_host")).body;
  const pidOf = () => t.host.getPlugin("py_ext_host")?.pid as number;

  before(async () => {
    root = makeTempDir();
    for (const id of ["py_ext_host", "py_ext_extra"]) {
      fs.cpSync(path.join(FIXTURES, id), path.join(root, id), { recursive: true, filter: (s) => !s.includes("data") });
    }
    writePlugin(root, { id: "ts_host", className: "TsHost", code: tsHostCode });
    writePlugin(root, {
      id: "ts_to_py",
      manifest:
        '[plugin]\nid = "ts_to_py"\ntype = "extension"\nentry = "index.ts:TsToPy"\n\n' +
        '[plugin.host]\nplugin_id = "py_ext_host"\nprefix = "ts_"\n',
      code: tsExtensionCode,
    });
    writePlugin(root, {
      id: "py_to_ts",
      manifest:
        '[plugin]\nid = "py_to_ts"\ntype = "extension"\nentry = "__init__.py:PyToTs"\n\n' +
        '[plugin.host]\nplugin_id = "ts_host"\nprefix = "py_"\n',
      files: { "__init__.py": pyToTsCode },
    });
    // Its entry id clashes with the host plugin's greet: failed, and the others load.
    writePlugin(root, {
      id: "py_broken",
      manifest:
        '[plugin]\nid = "py_broken"\ntype = "extension"\nentry = "__init__.py:Broken"\n\n' +
        '[plugin.host]\nplugin_id = "py_ext_host"\n',
      files: { "__init__.py": brokenCode },
    });
    writePlugin(root, {
      id: "py_badimport",
      manifest:
        '[plugin]\nid = "py_badimport"\ntype = "extension"\nentry = "__init__.py:X"\n\n' +
        '[plugin.host]\nplugin_id = "py_ext_host"\n',
      files: { "__init__.py": "import nope_xyz\n" },
    });
    writePlugin(root, {
      id: "py_listener",
      manifest:
        '[plugin]\nid = "py_listener"\ntype = "extension"\nentry = "__init__.py:Listener"\n\n' +
        '[plugin.host]\nplugin_id = "py_ext_host"\n',
      files: {
        "__init__.py":
          "from plugin.sdk.extension import NekoExtensionBase, message\n\n" +
          "class Listener(NekoExtensionBase):\n    @message(id='m')\n    def m(self, **_):\n        pass\n",
      },
    });
    writePlugin(root, {
      id: "py_unpackable",
      manifest:
        '[plugin]\nid = "py_unpackable"\ntype = "extension"\nentry = "__init__.py:U"\n\n' +
        '[plugin.host]\nplugin_id = "py_ext_host"\nprefix = "u_"\n',
      files: {
        "__init__.py":
          "from plugin.sdk.extension import NekoExtensionBase, Ok, extension_entry\n\n" +
          "class U(NekoExtensionBase):\n    @extension_entry(id='u', metadata={'f': object()})\n" +
          "    def u(self, **_):\n        return Ok(1)\n",
      },
    });
    // Both load with the process: a descriptor or a reason the host would refuse would break its hello.
    writePlugin(root, {
      id: "py_badmeta",
      manifest:
        '[plugin]\nid = "py_badmeta"\ntype = "extension"\nentry = "__init__.py:B"\n\n' +
        '[plugin.host]\nplugin_id = "py_ext_host"\nprefix = "b_"\n',
      files: {
        "__init__.py":
          "from plugin.sdk.extension import NekoExtensionBase, Ok, extension_entry\n\n" +
          "class B(NekoExtensionBase):\n    @extension_entry(id='b', metadata=['tag'])\n" +
          "    def b(self, **_):\n        return Ok(1)\n",
      },
    });
    writePlugin(root, {
      id: "py_astral",
      manifest:
        '[plugin]\nid = "py_astral"\ntype = "extension"\nentry = "__init__.py:A"\n\n' +
        '[plugin.host]\nplugin_id = "py_ext_host"\nprefix = "a_"\n',
      files: {
        "__init__.py":
          "from plugin.sdk.extension import NekoExtensionBase\n\n" +
          "class A(NekoExtensionBase):\n    def __init__(self, ctx):\n        super().__init__(ctx)\n" +
          "        raise RuntimeError('\\U0001F4A5' * 5000)\n",
      },
    });
    t = await startTestHost({ roots: [root], heartbeatIntervalMs: 500 });
    await waitFor(
      async () =>
        (await hostView()).extensions?.find((e: { id: string }) => e.id === "py_ext_extra")?.state === "injected",
      {
        what: "py_ext_extra injected",
      },
    );
  });
  after(async () => {
    await t?.close();
    fs.rmSync(root, { recursive: true, force: true });
  });

  test("its entries appear under the host plugin with extension_id, its hooks with their source", async () => {
    const view = await hostView();
    assert.equal(view.status, "running");
    assert.deepEqual(
      view.entries.map((e: { id: string; extension_id: string | null }) => [e.id, e.extension_id]).sort(),
      [
        ["extra_note", "py_ext_extra"],
        ["extra_remember", "py_ext_extra"],
        ["extra_shout", "py_ext_extra"],
        ["extra_whoami", "py_ext_extra"],
        ["greet", null],
        ["poke_kept", null],
      ],
    );
    assert.deepEqual(
      view.hooks.map((h: { id: string; target: string; timing: string; source: string }) => [
        h.id,
        h.target,
        h.timing,
        h.source,
      ]),
      [
        ["guard", "greet", "before", "extension:py_ext_extra"],
        ["stamp", "greet", "after", "extension:py_ext_extra"],
        ["own", "extra_shout", "after", "extension:py_ext_extra"],
      ],
    );
    const own = (await t.request("GET", "/plugins/py_ext_extra")).body;
    assert.deepEqual(
      { type: own.type, host: own.host_plugin_id, prefix: own.prefix, status: own.status, pid: own.pid },
      { type: "extension", host: "py_ext_host", prefix: "extra_", status: "injected", pid: null },
    );
  });

  test("an entry call runs in the host plugin's process, with the extension's own folder and this.host", async () => {
    const res = await t.trigger("py_ext_host", "extra_whoami");
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(res.body.data, {
      pid: pidOf(),
      extension_id: "py_ext_extra",
      host_id: "py_ext_host",
      prefix: "extra_",
      plugin_id: "py_ext_host",
      config_dir: path.join(root, "py_ext_extra"),
      host_shared: { greeted: 0, pid: pidOf() },
      pings: 0,
    });
    const shout = await t.trigger("py_ext_host", "extra_shout", { name: "Neko" });
    assert.deepEqual(shout.body.data, { message: "HELLO, NEKO!", blocked: ["Nobody"], hooked: true });
    const invalid = await t.trigger("py_ext_host", "extra_shout", {});
    assert.equal(invalid.status, 400);
    assert.equal(invalid.body.error.message, "invalid arguments: name: is required");
    const stored = await t.trigger("py_ext_host", "extra_remember", { value: 7 });
    assert.deepEqual(stored.body.data, { value: 7, data: path.join(root, "py_ext_extra", "data") });
    assert.ok(fs.existsSync(path.join(root, "py_ext_extra", "data", "store.sqlite")), "its own store");
    assert.equal(fs.existsSync(path.join(root, "py_ext_host", "data", "store.sqlite")), false);
  });

  test("its hooks join the host's own entry: a before hook refuses, an after hook changes the result", async () => {
    const ok = await t.trigger("py_ext_host", "greet", { name: "Neko" });
    assert.deepEqual(ok.body.data, { message: "Hello, Neko!", trail: ["py_ext_extra"] });
    const refused = await t.trigger("py_ext_host", "greet", { name: "Nobody" });
    assert.equal(refused.body.success, false);
    assert.deepEqual(
      { code: refused.body.error.code, message: refused.body.error.message },
      { code: "NAME_BLOCKED", message: "'Nobody' may not be greeted" },
    );
  });

  test("its bus handler hears events in the host plugin's process", async () => {
    t.host.bus.emit("py_ext.ping", { n: 1 });
    await waitFor(async () => (await t.trigger("py_ext_host", "extra_whoami")).body.data.pings === 1, {
      what: "the ping",
    });
  });

  test("a configuration change reaches it in place; its config_change may refuse one", async () => {
    const file = path.join(root, "py_ext_extra", "plugin.toml");
    const changed = await t.request("POST", "/plugin/py_ext_extra/config/hot-update", {
      config: { guard: { blocked_names: ["Nobody", "Somebody"] } },
      mode: "permanent",
    });
    assert.equal(changed.status, 200, JSON.stringify(changed.body));
    assert.equal((await t.trigger("py_ext_host", "greet", { name: "Somebody" })).body.error.code, "NAME_BLOCKED");
    const before = fs.readFileSync(file, "utf8");
    const refused = await t.request("POST", "/plugin/py_ext_extra/config/hot-update", {
      config: { guard: { blocked_names: ["Everyone"] } },
      mode: "permanent",
    });
    assert.equal(refused.status, 409);
    assert.equal(refused.body.error.code, "CONFIG_CHANGE_REFUSED");
    assert.match(refused.body.error.message, /'Everyone' may not be blocked/);
    assert.equal(fs.readFileSync(file, "utf8"), before, "a refused change is not written");
    // self.config.set writes the extension's own plugin.toml, never the host plugin's.
    const hostToml = fs.readFileSync(path.join(root, "py_ext_host", "plugin.toml"), "utf8");
    const noted = await t.trigger("py_ext_host", "extra_note", { note: "from the extension" });
    assert.equal(noted.body.data, "from the extension", JSON.stringify(noted.body));
    assert.match(fs.readFileSync(file, "utf8"), /note = "from the extension"/);
    assert.equal(fs.readFileSync(path.join(root, "py_ext_host", "plugin.toml"), "utf8"), hostToml);
  });

  test("a broken extension is failed with the reason, the host plugin serves", async () => {
    const broken = (await hostView()).extensions.find((e: { id: string }) => e.id === "py_broken");
    assert.deepEqual(broken, {
      id: "py_broken",
      state: "failed",
      reason: "entry id 'greet' is already taken by a @plugin_entry method",
    });
    const reasons = Object.fromEntries(
      (await hostView()).extensions.map((e: { id: string; reason: string | null }) => [e.id, e.reason]),
    );
    assert.equal(reasons.py_badimport, "importing __init__.py failed: ModuleNotFoundError: No module named 'nope_xyz'");
    assert.equal(
      reasons.py_listener,
      "an extension cannot declare @message ('m'): subscribe with self.bus.on() instead",
    );
    assert.match(reasons.py_unpackable, /^entry 'u_u': its metadata cannot be sent to the host: /);
    assert.equal(
      reasons.py_badmeta,
      "importing __init__.py failed: ValueError: entry 'b': its metadata must be a table (a dict) or None, not list",
    );
    assert.equal(reasons.py_astral.length, 4096, "cut to the host's limit in UTF-16 code units");
    assert.ok(reasons.py_astral.startsWith("its constructor threw: \u{1F4A5}"));
    assert.equal((await t.trigger("py_ext_host", "greet", { name: "A" })).status, 200);
  });

  test("disable takes it out of the running process (same pid), enable puts it back; nothing is left behind", async () => {
    const pid = pidOf();
    const counts = async () => {
      const answer = await t.host.runtimeCounts("py_ext_host");
      assert.ok(answer.ok, JSON.stringify(answer));
      return answer.value as Record<string, number>;
    };
    const baseline = await counts();
    assert.deepEqual(
      {
        entries: baseline.entries,
        hooks: baseline.hooks,
        extensions: baseline.extensions,
        timers: baseline.extensionTimers,
      },
      { entries: 6, hooks: 3, extensions: 1, timers: 1 },
    );
    assert.ok(baseline.busHandlers >= 1, JSON.stringify(baseline));
    for (let i = 0; i < 5; i++) {
      const disabled = await t.request("POST", "/plugin/py_ext_extra/extension/disable");
      assert.equal(disabled.status, 200);
      assert.deepEqual(
        { state: disabled.body.state, reason: disabled.body.reason, enabled: disabled.body.enabled },
        {
          state: "disabled",
          reason: "disabled through the API (POST /plugin/py_ext_extra/extension/enable enables it)",
          enabled: false,
        },
      );
      if (i === 0) {
        const without = await counts();
        assert.deepEqual(
          [without.entries, without.hooks, without.extensions, without.extensionTimers, without.busHandlers],
          [2, 0, 0, 0, baseline.busHandlers - 1],
        );
        // A reference kept past its removal: its store and its configuration writes are closed.
        assert.deepEqual((await t.trigger("py_ext_host", "poke_kept")).body.data, {
          store: "STORE_ERROR",
          config: "CONFIG_CHANGE_REFUSED",
        });
        const gone = await t.trigger("py_ext_host", "extra_whoami");
        assert.equal(gone.status, 404);
        assert.equal(gone.body.error.code, "ENTRY_NOT_FOUND");
        const plain = await t.trigger("py_ext_host", "greet", { name: "Nobody" });
        assert.deepEqual(plain.body.data, { message: "Hello, Nobody!", trail: [] }, "its hooks are gone");
        const view = await hostView();
        assert.deepEqual(
          view.entries.map((e: { id: string }) => e.id),
          ["greet", "poke_kept"],
        );
      }
      const enabled = await t.request("POST", "/plugin/py_ext_extra/extension/enable");
      assert.equal(enabled.body.state, "injected", JSON.stringify(enabled.body));
    }
    const now = await counts();
    for (const key of [
      "entries",
      "hooks",
      "timers",
      "busHandlers",
      "busWatches",
      "extensions",
      "extensionTimers",
      "extensionScoped",
    ]) {
      assert.equal(now[key], baseline[key], `${key}: ${JSON.stringify({ baseline, now })}`);
    }
    assert.equal(pidOf(), pid, "the host plugin kept its process");
    assert.equal(isAlive(pid), true);
    assert.equal((await t.trigger("py_ext_host", "greet", { name: "Nobody" })).body.error.code, "NAME_BLOCKED");
  });

  test("an extension aimed at a plugin of the other language is failed with the reason; both hosts serve", async () => {
    const view = (await t.request("GET", "/plugins")).body;
    const list: Array<Record<string, unknown>> = view.plugins ?? view;
    const byId = (id: string) => list.find((p) => p.id === id) as Record<string, any>;
    assert.deepEqual(
      { status: byId("py_to_ts").status, reason: byId("py_to_ts").status_reason },
      {
        status: "failed",
        reason:
          "it is written in Python and its host plugin 'ts_host' in TypeScript: an extension loads only into a " +
          "plugin of its own language",
      },
    );
    assert.deepEqual(
      (await t.request("GET", "/plugins/py_ext_host")).body.extensions.find((e: { id: string }) => e.id === "ts_to_py"),
      {
        id: "ts_to_py",
        state: "failed",
        reason:
          "it is written in TypeScript and its host plugin 'py_ext_host' in Python: an extension loads only into a " +
          "plugin of its own language",
      },
    );
    // Enabling it again answers the same, loads nothing, and crashes nothing.
    const enabled = await t.request("POST", "/plugin/py_to_ts/extension/enable");
    assert.equal(enabled.status, 200);
    assert.equal(enabled.body.state, "failed");
    assert.match(enabled.body.reason, /only into a plugin of its own language/);
    const tsView = (await t.request("GET", "/plugins/ts_host")).body;
    assert.equal(tsView.status, "running");
    assert.deepEqual(
      tsView.entries.map((e: { id: string }) => e.id),
      ["ping"],
    );
    assert.equal((await t.trigger("ts_host", "py_hi")).status, 404);
    assert.equal((await t.trigger("py_ext_host", "ts_hi")).status, 404);
    assert.equal((await t.trigger("ts_host", "ping")).status, 200);
  });

  test("POST /plugin/{ext_id}/reload loads its edited code into the running host plugin", async () => {
    const pid = pidOf();
    const file = path.join(root, "py_ext_extra", "__init__.py");
    const source = fs.readFileSync(file, "utf8");
    fs.writeFileSync(file, source.replace('"pings": self.pings,', '"pings": self.pings, "version": 2,'));
    const reloaded = await t.request("POST", "/plugin/py_ext_extra/reload");
    assert.equal(reloaded.status, 200, JSON.stringify(reloaded.body));
    const whoami = await t.trigger("py_ext_host", "extra_whoami");
    assert.deepEqual([whoami.body.data.version, whoami.body.data.pid], [2, pid]);
    assert.deepEqual((await t.trigger("py_ext_host", "extra_shout", { name: "a" })).body.data.message, "HELLO, A!");
  });

  test("a crash of the host plugin loads the extension again in the new process", async () => {
    const pid = pidOf();
    process.kill(pid, "SIGKILL");
    await waitFor(
      () => pidOf() !== undefined && pidOf() !== pid && t.host.getPlugin("py_ext_host")?.status === "running",
      {
        what: "a new process",
        timeoutMs: 15_000,
      },
    );
    await waitFor(async () => (await t.trigger("py_ext_host", "extra_whoami")).status === 200, { what: "re-injected" });
    assert.equal((await t.trigger("py_ext_host", "extra_whoami")).body.data.pid, pidOf());
  });
});

const pyHostCode = (className: string) => `
from plugin.sdk.plugin import NekoPluginBase, Ok, neko_plugin, plugin_entry


@neko_plugin
class ${className}(NekoPluginBase):
    @plugin_entry(id="ping")
    def ping(self, **_):
        return Ok("pong")
`;

const versionedCode = (version: string) => `
from plugin.sdk.extension import NekoExtensionBase, Ok, extension, extension_entry


@extension
class Versioned(NekoExtensionBase):
    @extension_entry(id="version")
    def version(self, **_):
        return Ok({"version": "${version}"})
`;

describe("Python extensions that would break their host plugin's process", { skip: PYTHON_SKIP }, () => {
  let root: string;
  let dataDir: string;
  let t: TestHost;
  const pyManifest = (id: string, className: string, host?: string) =>
    `[plugin]\nid = "${id}"\n${host ? 'type = "extension"\n' : ""}entry = "__init__.py:${className}"\n` +
    (host ? `\n[plugin.host]\nplugin_id = "${host}"\nprefix = "${id}_"\n` : "");

  before(async () => {
    root = makeTempDir();
    dataDir = makeTempDir();
    for (const id of ["py_host_q", "py_host_r", "py_host_m"]) {
      writePlugin(root, { id, manifest: pyManifest(id, "Host"), files: { "__init__.py": pyHostCode("Host") } });
    }
    // Its import never ends: failed after 10 s, and the host plugin starts all the same.
    writePlugin(root, {
      id: "py_hang",
      manifest: pyManifest("py_hang", "Versioned", "py_host_q"),
      files: { "__init__.py": `import time\ntime.sleep(3600)\n${versionedCode("never")}` },
    });
    // Its import kills the process: after two failed starts its host plugin starts without it.
    writePlugin(root, {
      id: "py_kill",
      manifest: pyManifest("py_kill", "Versioned", "py_host_r"),
      files: { "__init__.py": `import os\nos._exit(3)\n${versionedCode("killer")}` },
    });
    // Names py_host_q at first; moved to py_host_m while both run.
    writePlugin(root, {
      id: "py_mover",
      manifest: pyManifest("py_mover", "Versioned", "py_host_q"),
      files: { "__init__.py": versionedCode("moved") },
    });
    t = await startTestHost({
      roots: [root],
      dataDir,
      restartPolicy: { baseDelayMs: 100, maxDelayMs: 400, maxCrashes: 10, windowMs: 60_000 },
    });
  });
  after(async () => {
    await t?.close();
    fs.rmSync(root, { recursive: true, force: true });
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  test("an import that never ends makes the extension failed; its host plugin starts and serves", async () => {
    const q = (await t.request("GET", "/plugins/py_host_q")).body;
    assert.equal(q.status, "running");
    assert.deepEqual(
      q.extensions.find((e: { id: string }) => e.id === "py_hang"),
      { id: "py_hang", state: "failed", reason: "loading its module did not finish within 10s" },
    );
    assert.equal((await t.trigger("py_host_q", "ping")).body.data, "pong");
  });

  test("an import that kills the process is held back after two failed starts; fixed and enabled, it loads", async () => {
    const r = await waitFor(
      async () => {
        const view = (await t.request("GET", "/plugins/py_host_r")).body;
        return view.status === "running" ? view : undefined;
      },
      { timeoutMs: 30_000, what: "py_host_r running without py_kill" },
    );
    const kill = r.extensions.find((e: { id: string }) => e.id === "py_kill");
    assert.equal(kill.state, "failed");
    assert.match(kill.reason, /^held back: its host plugin 'py_host_r' failed to start 2 times in a row/);
    assert.equal((await t.trigger("py_host_r", "ping")).body.data, "pong");
    const file = path.join(root, "py_kill", "__init__.py");
    fs.writeFileSync(file, versionedCode("fixed"));
    const later = new Date(Date.now() + 2000);
    fs.utimesSync(file, later, later);
    const enabled = await t.request("POST", "/plugin/py_kill/extension/enable");
    assert.equal(enabled.body.state, "injected", JSON.stringify(enabled.body));
    assert.deepEqual((await t.trigger("py_host_r", "py_kill_version")).body.data, { version: "fixed" });
  });

  test("an extension moved to another running Python plugin loads there without a restart (no permission model)", async () => {
    assert.equal((await t.trigger("py_host_q", "py_mover_version")).status, 200);
    const pid = t.host.getPlugin("py_host_m")?.pid;
    fs.writeFileSync(path.join(root, "py_mover", "plugin.toml"), pyManifest("py_mover", "Versioned", "py_host_m"));
    const reloaded = await t.request("POST", "/plugin/py_mover/reload");
    assert.equal(reloaded.status, 200, JSON.stringify(reloaded.body));
    await waitFor(async () => (await t.trigger("py_host_m", "py_mover_version")).status === 200, {
      what: "py_mover in py_host_m",
    });
    assert.equal((await t.trigger("py_host_q", "py_mover_version")).status, 404, "gone from py_host_q");
    assert.equal(t.host.getPlugin("py_host_m")?.pid, pid, "py_host_m kept its process");
  });
});
