/**
 * Extensions through real processes and the HTTP API (SPEC §3.6): loaded into their host plugin's process, their
 * entries and hooks in its chain by priority, enabled and disabled without a restart and without leaving anything
 * behind, broken ones reported while the host serves, back after a crash, and the choice kept across a restart.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { isAlive, makeTempDir, waitFor, writePlugin } from "../support/plugin-fixtures.ts";
import { startTestHost, type TestHost } from "../support/test-host.ts";

const hostCode = `
import { NekoPluginBase, nekoPlugin, Ok, pluginEntry, z } from "@neko/plugin-sdk/plugin";

@nekoPlugin
export class HostPlugin extends NekoPluginBase {
  greeted = 0;

  /** Public surface an extension reaches through this.host. */
  shared() {
    return { greeted: this.greeted, pid: process.pid };
  }

  @pluginEntry({ id: "greet", params: z.object({ name: z.string().default("World") }) })
  greet({ name }: { name: string }) {
    this.greeted += 1;
    return Ok({ message: "Hello, " + name, trail: [] as string[] });
  }

  @pluginEntry({ id: "crash" })
  crash() {
    setTimeout(() => process.exit(3), 10);
    return Ok({ crashing: true });
  }
}
`;

const extACode = `
import {
  Err, extension, extensionEntry, extensionHook, lifecycle, NekoExtensionBase, Ok, timerInterval, z,
} from "@neko/plugin-sdk/extension";

@extension
export class ExtA extends NekoExtensionBase<any> {
  pings = 0;
  ticks = 0;

  @lifecycle({ id: "startup" })
  startup() {
    this.bus.on("ext_a.ping", () => { this.pings += 1; });
    const raw = setInterval(() => undefined, 60_000);
    this.onDispose(() => clearInterval(raw));
  }

  @extensionEntry({ id: "whoami", description: "Where the extension runs" })
  whoami() {
    return Ok({
      pid: process.pid,
      extensionId: this.extensionId,
      hostId: this.hostId,
      value: this.config.get("a.value"),
      hostShared: this.host.shared(),
    });
  }

  @extensionEntry({ id: "echo", params: z.object({ text: z.string() }) })
  echo({ text }: { text: string }) {
    return Ok({ text });
  }

  @extensionEntry({ id: "remember", params: z.object({ value: z.number() }) })
  async remember({ value }: { value: number }) {
    const saved = await this.store.set("value", value);
    return saved.ok ? Ok({ file: this.store.file }) : saved;
  }

  @extensionEntry({ id: "set_value", params: z.object({ value: z.string(), mode: z.enum(["permanent", "temporary"]) }) })
  setValue({ value, mode }: { value: string; mode: "permanent" | "temporary" }) {
    return this.config.set("a.value", value, { mode });
  }

  @extensionEntry({ id: "move_me", params: z.object({ patch: z.record(z.string(), z.unknown()) }) })
  moveMe({ patch }: { patch: Record<string, unknown> }) {
    return this.config.update(patch);
  }

  @extensionEntry({ id: "slow_store", params: z.object({ ms: z.number() }) })
  async slowStore({ ms }: { ms: number }) {
    await new Promise((r) => setTimeout(r, ms));
    const saved = await this.store.set("slow", ms);
    return saved.ok ? Ok({ saved: true }) : saved;
  }

  @extensionEntry({ id: "ticks" })
  ticksSoFar() {
    return Ok({ ticks: this.ticks, pings: this.pings });
  }

  @lifecycle({ id: "config_change" })
  configChange({ newConfig }: { newConfig: { a?: { value?: string } } }) {
    if (newConfig.a?.value === "refuse me") return Err("CONFIG_REFUSED_BY_EXT: not that value");
  }

  @timerInterval({ id: "tick", seconds: 0.05 })
  tick() {
    this.ticks += 1;
  }

  @extensionHook({ target: "greet", timing: "before", priority: 1 })
  guard({ args }: { args: { name?: string } }) {
    if (args.name === "forbidden") return Err("ACCESS_DENIED: not that name");
  }

  @extensionHook({ target: "echo", timing: "before" })
  loud({ args }: { args: { text: string } }) {
    return { text: args.text + "!" };
  }

  @extensionHook({ target: "greet", timing: "after", priority: 10 })
  markA({ result }: { result: any }) {
    if (!result.ok) return undefined;
    return Ok({ ...result.value, trail: [...result.value.trail, "a"] });
  }
}
`;

const extBCode = `
import { extension, extensionEntry, extensionHook, NekoExtensionBase, Ok } from "@neko/plugin-sdk/extension";

@extension
export class ExtB extends NekoExtensionBase {
  @extensionEntry({ id: "hello" })
  hello() {
    return Ok({ from: "b" });
  }

  @extensionHook({ target: "greet", timing: "after", priority: 1 })
  markB({ result }: { result: any }) {
    if (!result.ok) return undefined;
    return Ok({ ...result.value, trail: [...result.value.trail, "b"] });
  }
}
`;

function extensionManifest(id: string, options: { host?: string; prefix?: string; extra?: string } = {}): string {
  return [
    "[plugin]",
    `id = "${id}"`,
    'type = "extension"',
    'entry = "index.ts:Ext"',
    "[plugin.host]",
    `plugin_id = "${options.host ?? "host_p"}"`,
    `prefix = "${options.prefix ?? `${id}_`}"`,
    options.extra ?? "",
    "",
  ].join("\n");
}

const goodClass = (body: string) => `
import { extension, extensionEntry, NekoExtensionBase, Ok } from "@neko/plugin-sdk/extension";
@extension
export class Ext extends NekoExtensionBase {
${body}
}
`;

/** The broken extensions of host_p, and a word of the reason each one must be reported with. */
const BROKEN: Array<{ id: string; manifest?: string; code: string; reason: RegExp }> = [
  { id: "ext_syntax", code: "export class Ext {{{ nope", reason: /importing index\.ts failed/ },
  {
    id: "ext_throws",
    code: goodClass(`  constructor() { super(); throw new Error("boom in the constructor"); }
  @extensionEntry({ id: "x" }) x() { return Ok(1); }`),
    reason: /constructor threw: boom in the constructor/,
  },
  {
    id: "ext_clash_host",
    manifest: extensionManifest("ext_clash_host", { prefix: "" }),
    code: goodClass(`  @extensionEntry({ id: "greet" }) greet() { return Ok("mine"); }`),
    reason: /entry id 'greet' is already taken by a @pluginEntry method/,
  },
  {
    id: "ext_clash_ext",
    manifest: extensionManifest("ext_clash_ext", { prefix: "a_" }),
    code: goodClass(`  @extensionEntry({ id: "whoami" }) whoami() { return Ok("mine"); }`),
    reason: /entry id 'a_whoami' is already taken by an entry of extension 'ext_a'/,
  },
  {
    id: "ext_schema",
    code: goodClass(
      `  @extensionEntry({ id: "bad", inputSchema: { type: "object", properties: { x: { type: "nonsense" } } } })
  bad() { return Ok(1); }`,
    ),
    reason: /entry 'ext_schema_bad': schema is invalid/,
  },
  {
    id: "ext_not_decorated",
    code: `import { NekoExtensionBase } from "@neko/plugin-sdk/extension";\nexport class Ext extends NekoExtensionBase {}\n`,
    reason: /not decorated with @extension/,
  },
];

describe("extensions in a running host plugin", () => {
  let root: string;
  let dataDir: string;
  let t: TestHost;

  before(async () => {
    root = makeTempDir("neko-ext-");
    dataDir = makeTempDir("neko-ext-data-");
    writePlugin(root, { id: "host_p", className: "HostPlugin", code: hostCode });
    writePlugin(root, {
      id: "ext_a",
      manifest: extensionManifest("ext_a", { prefix: "a_", extra: '[a]\nvalue = "from ext_a.toml"' }).replace(
        "index.ts:Ext",
        "index.ts:ExtA",
      ),
      code: extACode,
    });
    writePlugin(root, {
      id: "ext_b",
      manifest: extensionManifest("ext_b", { prefix: "b_" }).replace("index.ts:Ext", "index.ts:ExtB"),
      code: extBCode,
    });
    for (const broken of BROKEN) {
      writePlugin(root, {
        id: broken.id,
        manifest: broken.manifest ?? extensionManifest(broken.id),
        code: broken.code,
      });
    }
    writePlugin(root, {
      id: "ext_orphan",
      manifest: extensionManifest("ext_orphan", { host: "missing_host" }),
      code: goodClass(`  @extensionEntry({ id: "x" }) x() { return Ok(1); }`),
    });
    t = await startTestHost({ roots: [root], dataDir });
  });

  after(async () => {
    await t?.close();
    fs.rmSync(root, { recursive: true, force: true });
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  const hostView = async () => (await t.request("GET", "/plugins/host_p")).body;
  const stateOf = async (id: string) => {
    const view = await hostView();
    return view.extensions.find((e: { id: string }) => e.id === id);
  };

  test("the host plugin runs with its extensions injected, and lists each with its state", async () => {
    const view = await hostView();
    assert.equal(view.status, "running");
    const states = Object.fromEntries(view.extensions.map((e: { id: string; state: string }) => [e.id, e.state]));
    assert.equal(states.ext_a, "injected");
    assert.equal(states.ext_b, "injected");
    for (const broken of BROKEN) assert.equal(states[broken.id], "failed", broken.id);
    assert.equal(states.ext_orphan, undefined, "an extension of another plugin is not listed here");
    const entries = Object.fromEntries(
      view.entries.map((e: { id: string; extension_id: string }) => [e.id, e.extension_id]),
    );
    assert.deepEqual(entries, {
      greet: null,
      crash: null,
      a_whoami: "ext_a",
      a_echo: "ext_a",
      a_remember: "ext_a",
      a_set_value: "ext_a",
      a_move_me: "ext_a",
      a_slow_store: "ext_a",
      a_ticks: "ext_a",
      b_hello: "ext_b",
    });
    const hookSources = view.hooks.map((h: { id: string; source: string }) => `${h.id}@${h.source}`).sort();
    assert.deepEqual(hookSources, [
      "guard@extension:ext_a",
      "loud@extension:ext_a",
      "markA@extension:ext_a",
      "markB@extension:ext_b",
    ]);
  });

  test("each broken extension is failed with its reason, and the host plugin serves", async () => {
    const view = await hostView();
    for (const broken of BROKEN) {
      const listed = view.extensions.find((e: { id: string }) => e.id === broken.id);
      assert.match(listed.reason, broken.reason, broken.id);
      const own = (await t.request("GET", `/plugins/${broken.id}`)).body;
      assert.equal(own.type, "extension");
      assert.equal(own.status, "failed");
      assert.match(own.status_reason, broken.reason);
    }
    const greet = await t.trigger("host_p", "greet", { name: "still here" });
    assert.equal(greet.status, 200);
    assert.equal(greet.body.data.message, "Hello, still here");
  });

  test("an extension entry is callable as host:<prefix><id> and runs in the host plugin's process", async () => {
    const view = await hostView();
    const { status, body } = await t.trigger("host_p", "a_whoami");
    assert.equal(status, 200);
    assert.equal(body.data.pid, view.pid);
    assert.equal(body.data.extensionId, "ext_a");
    assert.equal(body.data.hostId, "host_p");
    assert.equal(body.data.value, "from ext_a.toml", "this.config reads the extension's own manifest");
    assert.equal(body.data.hostShared.pid, view.pid);
    const own = (await t.request("GET", "/plugins/ext_a")).body;
    assert.equal(own.type, "extension");
    assert.equal(own.status, "injected");
    assert.equal(own.host_plugin_id, "host_p");
    assert.equal(own.prefix, "a_");
    assert.equal(own.pid, null, "an extension has no process of its own");
  });

  test("an extension's log records are its host plugin's, tagged with its id, and GET /plugin/{ext}/logs has them", async () => {
    const { status, body } = await t.request("GET", "/plugin/ext_a/logs?lines=50");
    assert.equal(status, 200);
    assert.equal(body.plugin_id, "ext_a");
    assert.ok(body.records.length > 0);
    assert.ok(body.records.every((r: { extension?: string }) => r.extension === "ext_a"));
    assert.ok(body.records.some((r: { msg: string }) => r.msg === "extension 'ext_a' injected"));
    const host = (await t.request("GET", "/plugin/host_p/logs?lines=200")).body;
    assert.ok(
      host.records.some(
        (r: { extension?: string; msg: string }) => r.extension === "ext_throws" && /not loaded/.test(r.msg),
      ),
    );
  });

  test("the extension's store is its own file, under its own folder", async () => {
    const { status, body } = await t.trigger("host_p", "a_remember", { value: 42 });
    assert.equal(status, 200, JSON.stringify(body));
    assert.equal(body.data.file, path.join(root, "ext_a", "data", "store.sqlite"));
    assert.ok(fs.existsSync(path.join(root, "ext_a", "data", "store.sqlite")));
    assert.equal(fs.existsSync(path.join(root, "host_p", "data", "store.sqlite")), false);
  });

  test("a before hook of one extension aborts a host entry; after hooks of two change its result in priority order", async () => {
    const refused = await t.trigger("host_p", "greet", { name: "forbidden" });
    assert.equal(refused.status, 422);
    assert.match(refused.body.error.message, /ACCESS_DENIED/);
    const greeted = await t.trigger("host_p", "greet", { name: "Neko" });
    assert.equal(greeted.status, 200);
    // markB has priority 1, markA 10: lower runs first.
    assert.deepEqual(greeted.body.data.trail, ["b", "a"]);
    // A hook on the extension's own entry, by its declared id.
    const echoed = await t.trigger("host_p", "a_echo", { text: "hi" });
    assert.equal(echoed.body.data.text, "hi!");
  });

  test("an extension writes its own configuration (its plugin.toml), and only permanently", async () => {
    const written = await t.trigger("host_p", "a_set_value", { value: "written", mode: "permanent" });
    assert.equal(written.status, 200, JSON.stringify(written.body));
    assert.equal(written.body.data.a.value, "written");
    assert.match(fs.readFileSync(path.join(root, "ext_a", "plugin.toml"), "utf8"), /value = "written"/);
    assert.doesNotMatch(fs.readFileSync(path.join(root, "host_p", "plugin.toml"), "utf8"), /written/);
    assert.equal((await t.trigger("host_p", "a_whoami")).body.data.value, "written");
    const temporary = await t.trigger("host_p", "a_set_value", { value: "t", mode: "temporary" });
    assert.equal(temporary.status, 400);
    assert.equal(temporary.body.error.code, "CONFIG_INVALID");
    assert.match(temporary.body.error.message, /mode must be 'permanent'/);
  });

  test("reloading an extension loads it again from disk into the running host plugin", async () => {
    const pid = (await hostView()).pid;
    const file = path.join(root, "ext_a", "plugin.toml");
    fs.writeFileSync(file, fs.readFileSync(file, "utf8").replace('value = "written"', 'value = "edited on disk"'));
    const reloaded = await t.request("POST", "/plugin/ext_a/reload");
    assert.equal(reloaded.status, 200, JSON.stringify(reloaded.body));
    assert.equal(reloaded.body.status, "injected");
    assert.equal((await hostView()).pid, pid);
    assert.equal((await t.trigger("host_p", "a_whoami")).body.data.value, "edited on disk");
  });

  test("an extension cannot change its own host, type or enabled flag, nor its host plugin's permissions", async () => {
    const file = path.join(root, "ext_a", "plugin.toml");
    const before = fs.readFileSync(file, "utf8");
    for (const patch of [
      { plugin: { host: { plugin_id: "elsewhere" } } },
      { plugin: { type: "plugin" } },
      { plugin_runtime: { enabled: false } },
      { plugin: { permissions: { child_process: true } } },
    ]) {
      const refused = await t.trigger("host_p", "a_move_me", { patch });
      assert.equal(refused.status, 403, JSON.stringify(refused.body));
      assert.equal(refused.body.error.code, "CONFIG_PROTECTED_FIELD", JSON.stringify(patch));
    }
    assert.equal(fs.readFileSync(file, "utf8"), before);
  });

  test("a call in flight finishes before the extension goes, and leaves no store handle behind", async () => {
    const pid = (await hostView()).pid;
    const storeHandles = () =>
      fs.readdirSync(`/proc/${pid}/fd`).filter((fd) => {
        try {
          return fs.readlinkSync(`/proc/${pid}/fd/${fd}`).endsWith(path.join("ext_a", "data", "store.sqlite"));
        } catch {
          return false;
        }
      }).length;
    for (let i = 0; i < 3; i++) {
      const call = t.trigger("host_p", "a_slow_store", { ms: 300 });
      await new Promise((r) => setTimeout(r, 80));
      const disabled = await t.request("POST", "/plugin/ext_a/extension/disable");
      assert.equal(disabled.body.state, "disabled");
      const answered = await call;
      assert.equal(answered.status, 200, JSON.stringify(answered.body));
      assert.equal((await t.request("POST", "/plugin/ext_a/extension/enable")).body.state, "injected");
    }
    assert.equal(storeHandles(), 0, "the disabled instances closed their store");
  });

  test("a configuration change through the API reaches the injected extension; its config_change may refuse it", async () => {
    const file = path.join(root, "ext_a", "plugin.toml");
    const changed = await t.request("POST", "/plugin/ext_a/config/hot-update", {
      config: { a: { value: "via the API" } },
      mode: "permanent",
    });
    assert.equal(changed.status, 200, JSON.stringify(changed.body));
    assert.equal((await t.trigger("host_p", "a_whoami")).body.data.value, "via the API");
    const before = fs.readFileSync(file, "utf8");
    const refused = await t.request("POST", "/plugin/ext_a/config/hot-update", {
      config: { a: { value: "refuse me" } },
      mode: "permanent",
    });
    assert.equal(refused.status, 409);
    assert.equal(refused.body.error.code, "CONFIG_CHANGE_REFUSED");
    assert.match(refused.body.error.message, /CONFIG_REFUSED_BY_EXT/);
    assert.equal(fs.readFileSync(file, "utf8"), before, "a refused change is not written");
    assert.equal((await t.trigger("host_p", "a_whoami")).body.data.value, "via the API");
  });

  test("timers and bus handlers of an extension run in the host plugin's process", async () => {
    t.host.bus.emit("ext_a.ping", { n: 1 });
    const seen = await waitFor(
      async () => {
        const { body } = await t.trigger("host_p", "a_ticks");
        return body.data.ticks >= 2 && body.data.pings >= 1 ? body.data : undefined;
      },
      { what: "ticks and a ping" },
    );
    assert.ok(seen.ticks >= 2);
  });

  test("starting an extension alone is refused, naming its host; the routes refuse unknown and non-extension ids", async () => {
    const started = await t.request("POST", "/plugin/ext_a/start");
    assert.equal(started.status, 409);
    assert.equal(started.body.error.code, "EXTENSION_CANNOT_START_INDEPENDENT");
    assert.match(started.body.error.message, /host_p/);
    const unknown = await t.request("POST", "/plugin/nope/extension/enable");
    assert.equal(unknown.status, 404);
    assert.equal(unknown.body.error.code, "PLUGIN_NOT_FOUND");
    const plugin = await t.request("POST", "/plugin/host_p/extension/disable");
    assert.equal(plugin.status, 409);
    assert.equal(plugin.body.error.code, "NOT_AN_EXTENSION");
    const called = await t.trigger("ext_a", "whoami");
    assert.equal(called.status, 409);
    assert.match(called.body.error.message, /host_p:a_<entry>/);
  });

  test("an extension whose host plugin is missing is listed pending, with that reason", async () => {
    const own = (await t.request("GET", "/plugins/ext_orphan")).body;
    assert.equal(own.status, "pending");
    assert.match(own.status_reason, /missing_host' is not installed/);
  });

  test("disable and enable change the running host plugin without restarting it", async () => {
    const pid = (await hostView()).pid;
    const disabled = await t.request("POST", "/plugin/ext_a/extension/disable");
    assert.equal(disabled.status, 200);
    assert.equal(disabled.body.state, "disabled");
    assert.equal(disabled.body.enabled, false);
    let view = await hostView();
    assert.equal(view.pid, pid);
    assert.equal(
      view.entries.some((e: { id: string }) => e.id.startsWith("a_")),
      false,
    );
    assert.equal(
      view.hooks.some((h: { source: string }) => h.source === "extension:ext_a"),
      false,
    );
    const gone = await t.trigger("host_p", "a_whoami");
    assert.equal(gone.status, 404);
    assert.equal((await t.trigger("host_p", "greet", { name: "forbidden" })).status, 200, "its guard is gone");

    const enabled = await t.request("POST", "/plugin/ext_a/extension/enable", {});
    assert.equal(enabled.status, 200);
    assert.equal(enabled.body.state, "injected");
    view = await hostView();
    assert.equal(view.pid, pid);
    assert.equal((await t.trigger("host_p", "a_whoami")).body.data.pid, pid);
    assert.equal((await t.trigger("host_p", "greet", { name: "forbidden" })).status, 422, "its guard is back");
    assert.equal(isAlive(pid), true);
  });

  test("20 disable/enable cycles leave the host plugin's entries, hooks, timers and listeners at the baseline", async () => {
    const counts = async () => {
      const answer = await t.host.runtimeCounts("host_p");
      assert.ok(answer.ok, JSON.stringify(answer));
      return answer.value as Record<string, number>;
    };
    // The metrics history keeps a ring per plugin from its first heartbeat report on; wait for it, so a report landing
    // during the cycles is not counted as something they left behind.
    await waitFor(
      async () => {
        const res = await t.request("GET", "/plugin/metrics/host_p/history");
        return res.body.count >= 1 ? true : undefined;
      },
      { what: "host_p's first metrics sample", timeoutMs: 15_000 },
    );
    const baseline = await counts();
    const hostBaseline = t.host.debugCounts();
    assert.ok(baseline.busHandlers >= 1 && baseline.extensionTimers >= 1, JSON.stringify(baseline));
    for (let i = 0; i < 20; i++) {
      assert.equal((await t.request("POST", "/plugin/ext_a/extension/disable")).body.state, "disabled");
      if (i === 0) {
        const without = await counts();
        assert.equal(without.busHandlers, baseline.busHandlers - 1, "its bus handler went");
        assert.equal(without.extensionTimers, 0, "its timer stopped");
        assert.ok(without.activeTimeouts <= baseline.activeTimeouts - 2, "its timer and its raw interval are cleared");
      }
      assert.equal((await t.request("POST", "/plugin/ext_a/extension/enable")).body.state, "injected");
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
    assert.ok(now.activeTimeouts <= baseline.activeTimeouts, JSON.stringify({ baseline, now }));
    assert.deepEqual(t.host.debugCounts(), hostBaseline);
    assert.equal((await t.trigger("host_p", "a_whoami")).status, 200);
  });

  test("the host plugin crashing comes back with its extensions", async () => {
    const before = await hostView();
    assert.equal((await t.trigger("host_p", "crash")).status, 200);
    const back = await waitFor(
      async () => {
        const view = await hostView();
        return view.status === "running" && view.pid !== before.pid ? view : undefined;
      },
      { timeoutMs: 20_000, what: "host_p to restart" },
    );
    assert.equal((await stateOf("ext_a"))?.state, "injected");
    assert.equal((await stateOf("ext_b"))?.state, "injected");
    const whoami = await t.trigger("host_p", "a_whoami");
    assert.equal(whoami.body.data.pid, back.pid);
    assert.deepEqual((await t.trigger("host_p", "greet", { name: "x" })).body.data.trail, ["b", "a"]);
  });

  test("a choice made through the API survives a server restart", async () => {
    assert.equal((await t.request("POST", "/plugin/ext_b/extension/disable")).status, 200);
    assert.equal((await stateOf("ext_b"))?.state, "disabled");
    await t.close();
    t = await startTestHost({ roots: [root], dataDir });
    const view = await hostView();
    assert.equal(view.status, "running");
    assert.equal((await stateOf("ext_b"))?.state, "disabled");
    assert.equal((await stateOf("ext_a"))?.state, "injected");
    assert.equal(
      view.entries.some((e: { id: string }) => e.id === "b_hello"),
      false,
    );
    const manifest = fs.readFileSync(path.join(root, "ext_b", "plugin.toml"), "utf8");
    assert.doesNotMatch(manifest, /enabled/, "the manifest is left alone");
    assert.equal((await t.request("POST", "/plugin/ext_b/extension/enable")).body.state, "injected");
    assert.equal((await t.trigger("host_p", "b_hello")).body.data.from, "b");
  });

  test("write_manifest: the choice goes to the extension's plugin.toml instead", async () => {
    const file = path.join(root, "ext_b", "plugin.toml");
    const disabled = await t.request("POST", "/plugin/ext_b/extension/disable", { write_manifest: true });
    assert.equal(disabled.status, 200, JSON.stringify(disabled.body));
    assert.equal(disabled.body.state, "disabled");
    assert.match(disabled.body.reason, /\[plugin_runtime\] enabled = false/);
    assert.match(fs.readFileSync(file, "utf8"), /enabled = false/);
    const choices = JSON.parse(fs.readFileSync(path.join(dataDir, "extensions.json"), "utf8"));
    assert.equal(choices.extensions.ext_b, undefined, "no choice stands over the manifest");
    const enabled = await t.request("POST", "/plugin/ext_b/extension/enable", { write_manifest: true });
    assert.equal(enabled.body.state, "injected");
    assert.match(fs.readFileSync(file, "utf8"), /enabled = true/);
    const bad = await t.request("POST", "/plugin/ext_b/extension/enable", { write_manifest: "yes" });
    assert.equal(bad.status, 400);
  });
});

const simpleHost = (className: string) => `
import { NekoPluginBase, nekoPlugin, Ok, pluginEntry } from "@neko/plugin-sdk/plugin";
@nekoPlugin
export class ${className} extends NekoPluginBase {
  @pluginEntry({ id: "ping" })
  ping() { return Ok("pong"); }
}
`;

const versionedExtension = (version: string) => `
import { extension, extensionEntry, NekoExtensionBase, Ok } from "@neko/plugin-sdk/extension";
@extension
export class Ext extends NekoExtensionBase {
  @extensionEntry({ id: "version" })
  version() { return Ok({ version: "${version}", host: this.hostId }); }
}
`;

describe("extensions that change on disk, move, go away or hang", () => {
  let root: string;
  let dataDir: string;
  let t: TestHost;

  before(async () => {
    root = makeTempDir("neko-ext-move-");
    dataDir = makeTempDir("neko-ext-move-data-");
    writePlugin(root, { id: "host_p", className: "HostP", code: simpleHost("HostP") });
    writePlugin(root, { id: "host_q", className: "HostQ", code: simpleHost("HostQ") });
    // Where ext_m moves to: a host plugin of its own, since every start of host_q waits 10 s for ext_hang.
    writePlugin(root, { id: "host_s", className: "HostS", code: simpleHost("HostS") });
    writePlugin(root, {
      id: "ext_m",
      manifest: extensionManifest("ext_m", { prefix: "m_" }),
      code: versionedExtension("1"),
    });
    writePlugin(root, {
      id: "ext_gone",
      manifest: extensionManifest("ext_gone", { prefix: "g_" }),
      code: versionedExtension("g"),
    });
    writePlugin(root, { id: "host_r", className: "HostR", code: simpleHost("HostR") });
    // Kills its plugin's process as it loads: after two failed starts the plugin starts without it.
    writePlugin(root, {
      id: "ext_kill",
      manifest: extensionManifest("ext_kill", { host: "host_r" }),
      code: `process.exit(7);\n${versionedExtension("kill")}`,
    });
    // Refused for its SDK range: never loaded, not even by hand.
    writePlugin(root, {
      id: "ext_refused",
      manifest: extensionManifest("ext_refused", { extra: '[plugin.sdk]\nconflicts = ">=0.0.1"' }),
      code: versionedExtension("refused"),
    });
    // Refuses every configuration change: it still cannot keep itself from being disabled.
    writePlugin(root, {
      id: "ext_stubborn",
      manifest: extensionManifest("ext_stubborn"),
      code: `
import { Err, extension, extensionEntry, lifecycle, NekoExtensionBase, Ok } from "@neko/plugin-sdk/extension";
@extension
export class Ext extends NekoExtensionBase {
  @lifecycle({ id: "config_change" })
  refuse() { return Err("no changes, ever"); }
  @extensionEntry({ id: "here" })
  here() { return Ok(true); }
}
`,
    });
    // A module whose loading never ends: the host plugin must start all the same.
    writePlugin(root, {
      id: "ext_hang",
      manifest: extensionManifest("ext_hang", { host: "host_q" }),
      code: `await new Promise(() => undefined);\n${versionedExtension("never")}`,
    });
    t = await startTestHost({ roots: [root], dataDir });
  });

  after(async () => {
    await t?.close();
    fs.rmSync(root, { recursive: true, force: true });
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  const extensionsOf = async (id: string) =>
    Object.fromEntries(
      (await t.request("GET", `/plugins/${id}`)).body.extensions.map((e: { id: string; state: string }) => [
        e.id,
        e.state,
      ]),
    );

  test("a module that never finishes loading makes its extension failed; its host plugin starts and serves", async () => {
    const q = (await t.request("GET", "/plugins/host_q")).body;
    assert.equal(q.status, "running");
    const hang = q.extensions.find((e: { id: string }) => e.id === "ext_hang");
    assert.equal(hang.state, "failed");
    assert.match(hang.reason, /loading its module did not finish within 10s/);
    assert.equal((await t.trigger("host_q", "ping")).body.data, "pong");
  });

  test("a plugin whose starts with its extensions keep dying starts without them; enabling one by hand retries it", async () => {
    const r = await waitFor(
      async () => {
        const view = (await t.request("GET", "/plugins/host_r")).body;
        return view.status === "running" ? view : undefined;
      },
      { timeoutMs: 30_000, what: "host_r running without ext_kill" },
    );
    const kill = r.extensions.find((e: { id: string }) => e.id === "ext_kill");
    assert.equal(kill.state, "failed");
    assert.match(kill.reason, /held back: its host plugin 'host_r' failed to start 2 times in a row/);
    assert.equal((await t.trigger("host_r", "ping")).body.data, "pong");
    // Fixed on disk, then enabled by hand: loaded into the running plugin.
    const file = path.join(root, "ext_kill", "index.ts");
    fs.writeFileSync(file, versionedExtension("fixed"));
    const later = new Date(Date.now() + 2000);
    fs.utimesSync(file, later, later);
    const enabled = await t.request("POST", "/plugin/ext_kill/extension/enable");
    assert.equal(enabled.body.state, "injected", JSON.stringify(enabled.body));
    assert.equal((await t.trigger("host_r", "ext_kill_version")).body.data.version, "fixed");
  });

  test("enabling an extension whose manifest is refused answers failed, and loads nothing", async () => {
    const enabled = await t.request("POST", "/plugin/ext_refused/extension/enable");
    assert.equal(enabled.status, 200);
    assert.equal(enabled.body.state, "failed");
    assert.match(enabled.body.reason, /SDK/);
    assert.equal((await t.trigger("host_p", "ext_refused_version")).status, 404);
  });

  test("an extension that refuses every configuration change is still disabled, in its manifest when asked", async () => {
    assert.equal((await t.trigger("host_p", "ext_stubborn_here")).status, 200);
    const disabled = await t.request("POST", "/plugin/ext_stubborn/extension/disable", { write_manifest: true });
    assert.equal(disabled.status, 200, JSON.stringify(disabled.body));
    assert.equal(disabled.body.state, "disabled");
    assert.match(fs.readFileSync(path.join(root, "ext_stubborn", "plugin.toml"), "utf8"), /enabled = false/);
    assert.equal((await t.trigger("host_p", "ext_stubborn_here")).status, 404);
  });

  test("edited code is loaded again by a reload, into the same process, under the permission model", async () => {
    const pid = (await t.request("GET", "/plugins/host_p")).body.pid;
    assert.equal((await t.trigger("host_p", "m_version")).body.data.version, "1");
    const file = path.join(root, "ext_m", "index.ts");
    fs.writeFileSync(file, versionedExtension("2"));
    // A later modification time, whatever the file system's clock resolution.
    const later = new Date(Date.now() + 2000);
    fs.utimesSync(file, later, later);
    const reloaded = await t.request("POST", "/plugin/ext_m/reload");
    assert.equal(reloaded.status, 200, JSON.stringify(reloaded.body));
    assert.equal(reloaded.body.status, "injected");
    const answer = await t.trigger("host_p", "m_version");
    assert.equal(answer.body.data.version, "2", JSON.stringify(answer.body));
    assert.equal((await t.request("GET", "/plugins/host_p")).body.pid, pid);
  });

  test("an extension moved to another plugin through the API leaves the first and loads into the second", async () => {
    const file = path.join(root, "ext_m", "plugin.toml");
    const toml = fs.readFileSync(file, "utf8").replace('plugin_id = "host_p"', 'plugin_id = "host_s"');
    const moved = await t.request("PUT", "/plugin/ext_m/config/toml", { toml });
    assert.equal(moved.status, 200, JSON.stringify(moved.body));
    // host_s's process was launched before ext_m named it: under the permission model it cannot read ext_m's folder.
    const refused = await waitFor(
      async () => {
        const listed = (await t.request("GET", "/plugins/host_s")).body.extensions;
        return listed.find((e: { id: string; state: string }) => e.id === "ext_m" && e.state === "failed");
      },
      { what: "ext_m failed in host_s" },
    );
    assert.match(refused.reason, /restart it \(POST \/plugin\/host_s\/reload\)/);
    assert.equal((await extensionsOf("host_p")).ext_m, undefined);
    assert.equal((await t.request("POST", "/plugin/host_s/reload")).status, 200);
    assert.equal((await extensionsOf("host_s")).ext_m, "injected");
    await waitFor(async () => ((await t.trigger("host_p", "m_version")).status === 404 ? true : undefined), {
      what: "m_version gone from host_p",
    });
    const there = await t.trigger("host_s", "m_version");
    assert.equal(there.body.data.host, "host_s");
  });

  test("an extension whose folder is deleted is taken out of its running host plugin by a reload", async () => {
    assert.equal((await t.trigger("host_p", "g_version")).status, 200);
    fs.rmSync(path.join(root, "ext_gone"), { recursive: true, force: true });
    const reloaded = await t.request("POST", "/plugin/ext_gone/reload");
    assert.equal(reloaded.status, 404);
    await waitFor(async () => ((await t.trigger("host_p", "g_version")).status === 404 ? true : undefined), {
      what: "g_version gone",
    });
    assert.equal((await t.request("GET", "/plugins/ext_gone")).status, 404);
  });
});
