/**
 * The rest of the original N.E.K.O. SDK's names in a Python plugin, through a real host and real processes
 * (docs/python-plugins.md): test/python-plugins/py_original_names imports `llm_tool`, `LlmToolMeta`, `quick_action`,
 * `ui`, `PluginI18n`, `tr`, `PluginSettings`, `SettingsField`, `EntryKind`, `NEKO_PLUGIN_META_ATTR`, `NEKO_PLUGIN_TAG`
 * and `plugin.sdk.plugin.settings`, as an original plugin does, and uses the folders, list actions, entry and router
 * methods. Entries declared without `input_schema` get one inferred from the handler's signature, as in the original.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, describe, test } from "node:test";
import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import { copyExamplePlugins, makeTempDir, waitFor, writePlugin } from "../support/plugin-fixtures.ts";
import { PYTHON_SKIP } from "../support/python.ts";
import { startTestHost, type TestHost } from "../support/test-host.ts";

const FIXTURE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../python-plugins/py_original_names");
const ID = "py_original_names";

interface Listed {
  id: string;
  name: string;
  description: string;
  input_schema: unknown;
  kind: string;
  timeout: number;
  enabled: boolean;
  dynamic: boolean;
  metadata: Record<string, unknown> | null;
}

describe("the original SDK's remaining names in a Python plugin", { skip: PYTHON_SKIP }, () => {
  let root: string;
  let t: TestHost;

  before(async () => {
    root = makeTempDir();
    fs.cpSync(FIXTURE, path.join(root, ID), { recursive: true });
    const bad = (id: string, body: string) =>
      writePlugin(root, {
        id,
        manifest: `[plugin]\nid = "${id}"\nentry = "plugins.${id}:Bad"\n`,
        files: { "__init__.py": `from plugin.sdk.plugin import *\n\nclass Bad(NekoPluginBase):\n${body}` },
      });
    bad("py_bad_tool_name", `    @llm_tool(name="no spaces allowed")\n    def x(self, **_):\n        return 1\n`);
    bad("py_bad_tool_params", `    @llm_tool(parameters=["city"])\n    def x(self, **_):\n        return 1\n`);
    bad(
      "py_bad_quick",
      `    @quick_action(priority="high")\n    @plugin_entry(id="x")\n    def x(self):\n        return 1\n`,
    );
    bad(
      "py_bad_schema_and_params",
      `    @plugin_entry(id="x", input_schema={"type": "object"}, params={"type": "object"})\n    def x(self):\n        return 1\n`,
    );
    writePlugin(root, {
      id: "py_i18n_escape",
      manifest: `[plugin]\nid = "py_i18n_escape"\nentry = "plugins.py_i18n_escape:P"\n\n[plugin.i18n]\nlocales_dir = "../py_original_names/i18n"\n`,
      files: {
        "__init__.py": `from plugin.sdk.plugin import *\n\nclass P(NekoPluginBase):\n    @plugin_entry(id="t")\n    def t(self):\n        return Ok({"greet": self.i18n.t("greet", locale="en"), "locales": sorted(self.i18n.messages)})\n`,
      },
    });
    t = await startTestHost({ roots: [root] });
  });
  after(async () => {
    await t?.close();
    fs.rmSync(root, { recursive: true, force: true });
  });

  const call = async (entry: string, args: object = {}, plugin = ID) => {
    const answer = await t.trigger(plugin, entry, args);
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    return answer.body.data;
  };
  const entries = async (): Promise<Listed[]> => {
    const detail = (await t.request("GET", `/plugins/${ID}`)).body;
    assert.equal(detail.status, "running", JSON.stringify(detail));
    return detail.entries ?? detail.plugin?.entries;
  };
  const entry = async (id: string) => (await entries()).find((e) => e.id === id);

  test("an entry without input_schema gets one from its signature; unknown names are refused unless it takes **kwargs", async () => {
    const add = await entry("add");
    assert.deepEqual(add?.input_schema, {
      type: "object",
      properties: {
        a: { type: "integer" },
        b: { type: "integer", default: 2 },
        note: { type: ["string", "null"], default: null },
      },
      required: ["a"],
    });
    assert.equal(add?.kind, "service");
    assert.deepEqual(await call("add", { a: 1 }), { sum: 3, note: null });
    assert.deepEqual(await call("add", { a: 1, b: 5, note: "n" }), { sum: 6, note: "n" });

    const missing = await t.trigger(ID, "add", {});
    assert.equal(missing.status, 400);
    assert.equal(missing.body.error.code, "VALIDATION_ERROR");
    assert.match(missing.body.error.message, /a: is required/);
    const typed = await t.trigger(ID, "add", { a: "one" });
    assert.equal(typed.status, 400);
    assert.match(typed.body.error.message, /a: must be integer/);
    const unknown = await t.trigger(ID, "add", { a: 1, nots: "x" });
    assert.equal(unknown.status, 400);
    assert.match(unknown.body.error.message, /nots: is not an allowed argument; did you mean 'note'\?/);

    // `**_` in the signature: any name is let through, as the original's handler takes it.
    assert.deepEqual((await entry("loose"))?.input_schema, {
      type: "object",
      properties: { word: { type: "string", default: "x" } },
    });
    assert.deepEqual(await call("loose", { word: "w", extra: 1 }), { word: "w" });
  });

  test("@llm_tool: a dynamic entry __llm_tool__<name> with the tool's parameters and timeout, callable; stacked with @plugin_entry both exist", async () => {
    const tool = await entry("__llm_tool__get_weather");
    assert.ok(tool, "the tool's entry is listed");
    assert.equal(tool.dynamic, true);
    assert.equal(tool.name, "get_weather");
    assert.equal(tool.description, "Weather of a city");
    assert.equal(tool.timeout, 5);
    assert.deepEqual(tool.input_schema, {
      type: "object",
      properties: { city: { type: "string" } },
      required: ["city"],
    });
    assert.deepEqual(tool.metadata, { llm_tool: { name: "get_weather", role: null, reply_tail: false } });
    assert.deepEqual(await call("__llm_tool__get_weather", { city: "Paris" }), { city: "Paris", temp_c: 21 });
    const noCity = await t.trigger(ID, "__llm_tool__get_weather", {});
    assert.equal(noCity.status, 400);
    assert.match(noCity.body.error.message, /city: is required/);

    assert.ok(await entry("shout"));
    assert.ok(await entry("__llm_tool__shout"));
    assert.equal(await call("__llm_tool__shout", { text: "hi" }), "HI");
    const stray = await t.trigger(ID, "__llm_tool__shout", { text: "hi", txt: "x" });
    assert.equal(stray.status, 400, "a handler without **kwargs refuses a name its parameters lack");

    const listed = await call("tools");
    assert.equal(listed.meta_is, true);
    assert.deepEqual(
      listed.tools.map((x: { name: string }) => x.name),
      ["get_weather", "shout"],
    );
    assert.deepEqual(listed.tools[0], {
      name: "get_weather",
      description: "Weather of a city",
      parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
      timeout_seconds: 5,
      role: null,
    });
  });

  test("register_llm_tool / unregister_llm_tool change /plugins at once; bad names, duplicates and timeouts raise", async () => {
    await call("tools", { action: "add", name: "made" });
    const made = await entry("__llm_tool__made");
    assert.equal(made?.description, "made at run time");
    assert.deepEqual(made?.input_schema, { type: "object", properties: {} });
    assert.deepEqual(await call("__llm_tool__made", { anything: 1 }), { made: "made", got: { anything: 1 } });
    assert.deepEqual(await call("tools", { action: "remove", name: "made" }), {
      removed: true,
      tools: ["get_weather", "shout"],
    });
    assert.equal(await entry("__llm_tool__made"), undefined);
    assert.equal((await t.trigger(ID, "__llm_tool__made", {})).status, 404);
    assert.deepEqual(await call("tools", { action: "remove", name: "made" }), {
      removed: false,
      tools: ["get_weather", "shout"],
    });
    assert.deepEqual(await call("tools", { action: "bad" }), {
      name: "ValueError: LLM tool name 'bad name!' must match ^[A-Za-z0-9_.\\-]{1,64}$",
      dup: "EntryConflictError: duplicate LLM tool name: 'get_weather'",
      timeout: "ValueError: @llm_tool timeout must be > 0, got 0",
    });
  });

  test("quick_action and ui.action are in the entry's metadata, in either decorator order", async () => {
    assert.deepEqual((await entry("quick"))?.metadata, { quick_action: { icon: "bolt", priority: 5 } });
    assert.deepEqual((await entry("quick_kw"))?.metadata, {
      quick_action: { icon: null, priority: 0 },
      ui_action: {
        id: null,
        label: "Run it",
        icon: null,
        tone: "primary",
        group: null,
        order: 2,
        confirm: false,
        refresh_context: true,
      },
    });
    assert.equal(await call("quick"), "quick");
  });

  test("list actions are kept by the plugin: set, register (replacing by id), clear; a bad one raises", async () => {
    assert.deepEqual(await call("list_actions"), []);
    assert.deepEqual(await call("list_actions", { step: "set" }), [
      { id: "open", label: "Open" },
      { id: "close", label: "Close" },
    ]);
    assert.deepEqual(await call("list_actions", { step: "register" }), [
      { id: "close", label: "Close" },
      { id: "open", label: "Open again" },
    ]);
    assert.deepEqual(await call("list_actions", { step: "bad" }), [
      "ValueError: list action at index 0 must define a non-empty 'id'",
      "TypeError: list action at index 0 must be a mapping",
    ]);
    assert.deepEqual(await call("list_actions"), [
      { id: "close", label: "Close" },
      { id: "open", label: "Open again" },
    ]);
    assert.deepEqual(await call("list_actions", { step: "clear" }), []);
  });

  test("self.i18n reads i18n/<locale>.json with [plugin.i18n] default_locale; tr() references resolve later", async () => {
    assert.deepEqual(await call("i18n", { locale: "en" }), {
      greet: "Hello, Neko!",
      only_en: "English only",
      bye: "Bye Neko",
      missing: "fallback N",
      ref: { $i18n: "greet", default: "Hi", params: { name: "Neko" } },
      resolved: { title: "Hello, Neko!", items: ["English only"] },
      locales: ["en", "zh-CN"],
      default_locale: "zh-CN",
      standalone: "v",
    });
    const zh = await call("i18n", { locale: "zh" });
    assert.equal(zh.greet, "你好，Neko！");
    assert.equal(zh.only_en, "English only", "a key the locale lacks falls back to en");
    assert.equal((await call("i18n", {})).greet, "你好，Neko！", "no locale: the default locale");
    assert.equal((await call("i18n", { locale: "fr-FR" })).greet, "你好，Neko！");
  });

  test("a locales_dir that leaves the plugin's folder is not read", async () => {
    assert.deepEqual(await call("t", {}, "py_i18n_escape"), { greet: "greet", locales: [] });
  });

  test("PluginSettings: create_settings_safe takes the [settings] section, a bad value falls back to its default", async () => {
    assert.deepEqual(await call("settings"), {
      values: { interval: 30, label: "from toml", retries: 3 },
      hot: ["interval"],
      schema: {
        type: "integer",
        title: "Interval",
        description: "seconds between scans",
        minimum: 5,
        maximum: 3600,
        default: 30,
        hot: true,
      },
      bad: "1 validation error(s) for NamesSettings: interval: Input should be a valid integer",
    });
  });

  test("storage_dir, cache_path, runtime_config_path are under the plugin's data/ folder; cache_path refuses ..", async () => {
    const dir = path.join(root, ID);
    const real = fs.realpathSync(dir);
    const paths = await call("paths");
    assert.deepEqual(paths, {
      plugin_dir: dir,
      storage_dir: path.join(real, "data", "storage"),
      storage_exists: true,
      runtime_config_path: path.join(real, "data", "runtime_config.toml"),
      cache: path.join(real, "data", "cache", "x"),
      cache_root: path.join(real, "data", "cache"),
      data: path.join(real, "data"),
      tag: true,
      meta_attr: "__neko_plugin_meta__",
    });
    assert.ok(fs.statSync(path.join(real, "data", "cache")).isDirectory());
    assert.equal(fs.existsSync(path.join(real, "data", "runtime_config.toml")), false);
    assert.equal(
      (await call("paths", { part: "../../escape" })).cache,
      "ValueError: cache_path: '../../escape' leaves the plugin's cache folder",
    );
    fs.mkdirSync(path.join(root, "outside"));
    fs.symlinkSync(path.join(root, "outside"), path.join(real, "data", "cache", "link"));
    assert.match((await call("paths", { part: "link/x" })).cache, /^ValueError: cache_path: 'link\/x' leaves/);
  });

  test("is_entry_enabled, collect_entries, enable/disable, get_static_ui_config", async () => {
    assert.deepEqual(await call("entries"), {
      enabled_add: true,
      unknown: null,
      add_schema: {
        type: "object",
        properties: {
          a: { type: "integer" },
          b: { type: "integer", default: 2 },
          note: { type: ["string", "null"], default: null },
        },
        required: ["a"],
      },
      add_kind: "service",
      has_tool: true,
      static_ui_before: null,
    });
    assert.deepEqual(await call("toggle", { entry: "add", enabled: false }), {
      changed: true,
      enabled: false,
      collected: false,
    });
    assert.equal((await entry("add"))?.enabled, false);
    assert.deepEqual(await call("toggle", { entry: "add", enabled: true }), {
      changed: true,
      enabled: true,
      collected: true,
    });
    const ui = await call("static_ui");
    assert.deepEqual(ui, {
      registered: true,
      config: {
        enabled: true,
        directory: path.join(root, ID, "static"),
        index_file: "index.html",
        cache_control: "no-cache",
        plugin_id: ID,
      },
    });
  });

  test("PluginRouter: accessors, add_entry / remove_entry / list_entries / entry_ids, on_mount / on_unmount", async () => {
    assert.deepEqual(await call("router"), {
      bound: true,
      entry_ids: ["tools_echo"],
      listed: ["tools_echo"],
      ctx: true,
      config: true,
      plugins: true,
      store: true,
      db: true,
      mounted: 1,
      plugin_id: ID,
    });
    assert.deepEqual(await call("tools_echo", { text: "e" }), { text: "e", plugin_id: ID });

    assert.deepEqual(await call("router", { step: "add" }), {
      added: true,
      again: "EntryConflictError",
      again_msg: "duplicate entry id: 'tools_double'",
      empty: "entry_id must be non-empty",
      clash: "duplicate entry id: 'tools_echo'",
    });
    const double = await entry("tools_double");
    assert.equal(double?.dynamic, true);
    assert.equal(double?.description, "doubles n");
    assert.equal(await call("tools_double", { n: 21 }), 42);
    assert.equal((await t.trigger(ID, "tools_double", { n: "x" })).status, 400);
    assert.deepEqual((await call("router")).entry_ids, ["tools_echo", "tools_double"]);

    // Excluded with its added entry, then included again: the added entry comes back with it.
    assert.deepEqual(await call("router", { step: "exclude" }), {
      excluded: true,
      bound: false,
      ctx: true,
      unmounted: 1,
    });
    assert.equal(await entry("tools_double"), undefined);
    assert.equal(await entry("tools_echo"), undefined);
    assert.deepEqual(await call("router", { step: "include" }), { bound: true, mounted: 2 });
    assert.equal(await call("tools_double", { n: 2 }), 4);

    assert.deepEqual(await call("router", { step: "remove" }), { removed: true, missing: false });
    assert.equal(await entry("tools_double"), undefined);
    assert.equal((await t.trigger(ID, "tools_double", { n: 1 })).status, 404);
  });

  test("bad declarations refuse the plugin naming the problem, and the host goes on", async () => {
    const reason = async (id: string) => {
      const detail = (await t.request("GET", `/plugins/${id}`)).body;
      assert.equal(detail.status, "refused", JSON.stringify(detail));
      return detail.status_reason as string;
    };
    assert.match(await reason("py_bad_tool_name"), /LLM tool name 'no spaces allowed' must match/);
    assert.match(await reason("py_bad_tool_params"), /@llm_tool parameters must be a dict, got list/);
    assert.match(await reason("py_bad_quick"), /quick_action priority must be a whole number, not 'high'/);
    assert.match(await reason("py_bad_schema_and_params"), /input_schema and params are mutually exclusive/);
    assert.equal((await entries()).length > 0, true);
  });
});

describe("an @llm_tool is an MCP tool of the MCP adapter", { skip: PYTHON_SKIP }, () => {
  let root: string;
  let dataDir: string;
  let t: TestHost;
  let client: Client;

  before(async () => {
    root = makeTempDir("neko-pymcp-");
    dataDir = makeTempDir("neko-pymcp-data-");
    copyExamplePlugins(root, ["mcp_adapter"]);
    fs.cpSync(FIXTURE, path.join(root, ID), { recursive: true });
    t = await startTestHost({ roots: [root], dataDir });
    await waitFor(async () => (await t.request("GET", "/plugins/mcp_adapter")).body.status === "running", {
      what: "mcp_adapter running",
      timeoutMs: 30_000,
    });
    client = new Client({ name: "neko-test", version: "1.0.0" });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${t.url}/mcp`)));
  });
  after(async () => {
    await client?.close().catch(() => undefined);
    await t?.close();
    fs.rmSync(root, { recursive: true, force: true });
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  test("listed with the tool's parameters and called with structured arguments; an inferred schema is a tool's too", async () => {
    const tools = await waitFor(
      async () => {
        const listed = (await client.listTools()).tools;
        return listed.some((tool) => tool.name === `${ID}____llm_tool__get_weather`) ? listed : undefined;
      },
      { what: "the LLM tool among the MCP tools" },
    );
    const weather = tools.find((tool) => tool.name === `${ID}____llm_tool__get_weather`);
    assert.equal(weather?.description, "Weather of a city");
    assert.deepEqual(weather?.inputSchema.properties, { city: { type: "string" } });
    assert.deepEqual(weather?.inputSchema.required, ["city"]);
    const called = await client.callTool({ name: `${ID}____llm_tool__get_weather`, arguments: { city: "Oslo" } });
    assert.equal(called.isError, undefined, JSON.stringify(called));
    assert.deepEqual(called.structuredContent, { city: "Oslo", temp_c: 21 });

    const add = tools.find((tool) => tool.name === `${ID}__add`);
    assert.deepEqual(add?.inputSchema.required, ["a"]);
    const summed = await client.callTool({ name: `${ID}__add`, arguments: { a: 40 } });
    assert.deepEqual(summed.structuredContent, { sum: 42, note: null });
  });
});
