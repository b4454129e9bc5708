/**
 * A plugin's `static configSchema` end to end (SPEC §3.4, docs/config.md#a-schema-for-the-configuration): real plugin
 * processes and the real HTTP server. The configuration is checked at start and on every write path — a violation is
 * refused naming the key while plugin.toml and the running plugin keep the old configuration — and the schema is
 * served for the manager page's form, also while the plugin is stopped. A plugin that sends a huge or malformed
 * schema is refused, and the host goes on.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { makeTempDir, waitFor, writePlugin } from "../support/plugin-fixtures.ts";
import { startTestHost, type TestHost } from "../support/test-host.ts";

const zodCode = `
import { NekoPluginBase, nekoPlugin, Ok, pluginEntry, z } from "@neko/plugin-sdk/plugin";

const Settings = z.object({
  limits: z.object({
    max: z.number().int().min(1).max(100).default(10).describe("The most items kept"),
    mode: z.enum(["fast", "safe"]).default("safe").describe("How carefully"),
  }),
  greeting: z.string().default("hi").describe("What it says first"),
  verbose: z.boolean().default(false),
});

@nekoPlugin
export class ZodCfg extends NekoPluginBase<typeof Settings> {
  static override configSchema = Settings;

  @pluginEntry({ id: "read" })
  read() {
    const value = this.config.value;
    // Typed reads: these compile only because value is z.infer of the schema.
    const max: number = value.limits.max;
    const mode: "fast" | "safe" = value.limits.mode;
    return Ok({ value, max, mode, config: this.config.dump() });
  }

  @pluginEntry({ id: "write" })
  async write({ path, value, mode }: { path: string; value: unknown; mode?: "permanent" | "temporary" }) {
    const written = await this.config.set(path, value, { mode });
    return written.ok ? Ok({ written: true }) : Ok({ written: false, code: written.error.code, message: written.error.message });
  }
}
`;

const zodManifest = (id: string, max: number) => `# a comment that must survive
[plugin]
id = "${id}"
entry = "index.ts:ZodCfg"

[limits]
max = ${max}
mode = "safe"
`;

const jsonCode = `
import { NekoPluginBase, nekoPlugin, Ok, pluginEntry } from "@neko/plugin-sdk/plugin";

@nekoPlugin
export class JsonCfg extends NekoPluginBase {
  static override configSchema = {
    type: "object",
    required: ["server"],
    properties: {
      server: {
        type: "object",
        required: ["port"],
        additionalProperties: false,
        properties: {
          port: { type: "integer", minimum: 1, maximum: 65535, description: "The port to listen on" },
          host: { type: "string", default: "localhost" },
        },
      },
    },
  };

  @pluginEntry({ id: "read" })
  read() {
    return Ok({ value: this.config.value, config: this.config.dump() });
  }
}
`;

const jsonManifest = `[plugin]
id = "jcfg"
entry = "index.ts:JsonCfg"

[server]
port = 8080
`;

/** A plugin that goes around the SDK's own checks and says hello with whatever schema \`SCHEMA\` builds. */
const hostileCode = (schema: string) => `
import { NekoPluginBase, nekoPlugin, Ok, pluginEntry } from "@neko/plugin-sdk/plugin";
import { PluginRuntime } from "@neko/plugin-sdk/runtime";

const hello = PluginRuntime.prototype.hello;
PluginRuntime.prototype.hello = function (options) {
  return { ...hello.call(this, options), configSchema: (${schema})() };
};

@nekoPlugin
export class Hostile extends NekoPluginBase {
  @pluginEntry({ id: "ping" })
  ping() {
    return Ok("pong");
  }
}
`;

/** Each hostile plugin's schema, and what the refusal says of it. */
const HOSTILE_SCHEMAS: Record<string, { schema: string; problem: RegExp }> = {
  hostile_huge: {
    // About 1 MB of properties.
    schema: `() => ({ type: "object", properties: Object.fromEntries(Array.from({ length: 20000 }, (_, i) => ["key_" + i, { type: "string", description: "x".repeat(30) }])) })`,
    problem: /configSchema is larger than 65536 bytes/,
  },
  hostile_ref: {
    // References fan out: a 2 KB schema of $refs to $refs can cost the host seconds per check.
    schema: `() => ({ $defs: { d: { type: "string" } }, type: "object", properties: { a: { $ref: "#/$defs/d" } } })`,
    problem: /configSchema uses \$ref: a config schema is written out in full/,
  },
  hostile_patterns: {
    schema: `() => ({ type: "object", properties: { a: { type: "string", pattern: "^(?:" + "ab|".repeat(500) + "c)*$" } } })`,
    problem: /configSchema has patterns of 1508 characters together, more than 1024/,
  },
  hostile_deep: {
    schema: `() => { let s = { type: "string" }; for (let i = 0; i < 200; i++) s = { type: "object", properties: { a: s } }; return s; }`,
    problem: /configSchema nests deeper than 32 levels/,
  },
  hostile_malformed: {
    schema: `() => ({ type: "object", properties: { a: { type: "no-such-type" } } })`,
    problem: /configSchema is not a valid JSON Schema/,
  },
  hostile_not_object: {
    schema: `() => "a string"`,
    problem: /configSchema must be a Zod schema or a JSON Schema object/,
  },
};

/** A pattern that backtracks for ever on "aaa…!" in a backtracking engine; the host runs patterns in linear time. */
const CATASTROPHIC_PATTERN = `() => ({ type: "object", properties: { t: { type: "object", properties: { s: { type: "string", pattern: "^(a+)+$" } } } } })`;

describe("configSchema", () => {
  let root: string;
  let dataDir: string;
  let t: TestHost;
  const fileOf = (id: string) => path.join(root, id, "plugin.toml");
  const fileText = (id: string) => fs.readFileSync(fileOf(id), "utf8");
  const pluginSees = async (id: string) => (await t.trigger(id, "read")).body.data;

  before(async () => {
    root = makeTempDir();
    dataDir = makeTempDir("neko-data-");
    writePlugin(root, {
      id: "zcfg",
      className: "ZodCfg",
      manifest: `${zodManifest("zcfg", 10)}\n[plugin.config_profiles]\nfiles = { big = "profiles/big.toml", small = "profiles/small.toml" }\n`,
      code: zodCode,
      files: { "profiles/big.toml": "[limits]\nmax = 500\n", "profiles/small.toml": "[limits]\nmax = 3\n" },
    });
    writePlugin(root, { id: "zbad", className: "ZodCfg", manifest: zodManifest("zbad", 1000), code: zodCode });
    writePlugin(root, { id: "jcfg", className: "JsonCfg", manifest: jsonManifest, code: jsonCode });
    writePlugin(root, {
      id: "free",
      className: "Free",
      code: `import { NekoPluginBase, nekoPlugin } from "@neko/plugin-sdk/plugin";\n@nekoPlugin\nexport class Free extends NekoPluginBase {}\n`,
    });
    // Started by hand, one at a time, by their tests: fewer processes starting at once on a loaded machine.
    const byHand = (id: string, extra = "") =>
      `[plugin]\nid = "${id}"\nentry = "index.ts:Hostile"\n\n[plugin_runtime]\nauto_start = false\n${extra}`;
    for (const [id, { schema }] of Object.entries(HOSTILE_SCHEMAS)) {
      writePlugin(root, { id, className: "Hostile", manifest: byHand(id), code: hostileCode(schema) });
    }
    writePlugin(root, {
      id: "hostile_pattern",
      className: "Hostile",
      manifest: byHand("hostile_pattern", `\n[t]\ns = "${"a".repeat(64)}!"\n`),
      code: hostileCode(CATASTROPHIC_PATTERN),
    });
    t = await startTestHost({ roots: [root], dataDir });
    // startAll has tried each once; on a loaded machine a slow handshake may still be retrying.
    const settled = { zcfg: "running", jcfg: "running", free: "running", zbad: "refused" };
    for (const [id, state] of Object.entries(settled)) {
      await waitFor(async () => (await t.request("GET", `/plugins/${id}`)).body.status === state, {
        timeoutMs: 90_000,
        what: `${id} ${state}`,
      });
    }
  });
  after(async () => {
    await t?.close();
    fs.rmSync(root, { recursive: true, force: true });
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  test("the plugin reads its own tables typed, with the schema's defaults filled in", async () => {
    const seen = await pluginSees("zcfg");
    assert.deepEqual(seen.value, { limits: { max: 10, mode: "safe" }, greeting: "hi", verbose: false });
    assert.equal(seen.config.plugin.id, "zcfg", "dump() is still the whole effective configuration");
    const json = await pluginSees("jcfg");
    assert.deepEqual(json.value, { server: { port: 8080, host: "localhost" } });
  });

  test("GET config/schema serves the JSON Schema with its defaults, descriptions, enums and bounds", async () => {
    const res = await t.request("GET", "/plugin/zcfg/config/schema");
    assert.equal(res.status, 200);
    assert.equal(res.body.plugin_id, "zcfg");
    const { limits, greeting, verbose } = res.body.schema.properties;
    assert.equal(limits.properties.max.minimum, 1);
    assert.equal(limits.properties.max.maximum, 100);
    assert.equal(limits.properties.max.default, 10);
    assert.equal(limits.properties.max.description, "The most items kept");
    assert.deepEqual(limits.properties.mode.enum, ["fast", "safe"]);
    assert.equal(greeting.default, "hi");
    assert.equal(greeting.description, "What it says first");
    assert.equal(verbose.type, "boolean");
    assert.equal(res.body.schema.properties.plugin, undefined, "the manifest tables are the host's, not the schema's");

    const json = await t.request("GET", "/plugin/jcfg/config/schema");
    assert.equal(json.body.schema.properties.server.properties.port.maximum, 65535);
    assert.equal(json.body.schema.properties.server.properties.host.default, "localhost");

    const free = await t.request("GET", "/plugin/free/config/schema");
    assert.deepEqual(free.body, { plugin_id: "free", schema: null }, "no schema: free-form configuration");
    const unknown = await t.request("GET", "/plugin/nobody/config/schema");
    assert.equal(unknown.status, 404);
    assert.equal(unknown.body.error.code, "PLUGIN_NOT_FOUND");
  });

  test("a configuration the schema refuses refuses the start, naming the key; fixed, the plugin starts", async () => {
    const listed = (await t.request("GET", "/plugins/zbad")).body;
    assert.equal(listed.status, "refused");
    assert.match(listed.status_reason, /cannot start: the configuration does not match .*'limits\.max'/);
    const start = await t.request("POST", "/plugin/zbad/start");
    assert.equal(start.status, 400, JSON.stringify(start.body));
    assert.equal(start.body.error.code, "CONFIG_INVALID");
    assert.match(start.body.error.message, /'limits\.max': .*100/);
    assert.equal(start.body.error.details.path, "limits.max");

    // The schema is known though the plugin never ran: its form can be drawn and writes are checked.
    const schema = await t.request("GET", "/plugin/zbad/config/schema");
    assert.equal(schema.body.schema.properties.limits.properties.max.maximum, 100);
    const before = fileText("zbad");
    const stillBad = await t.request("POST", "/plugin/zbad/config/hot-update", {
      config: { limits: { max: 101 } },
      mode: "permanent",
    });
    assert.equal(stillBad.status, 400);
    assert.match(stillBad.body.error.message, /'limits\.max'/);
    assert.equal(fileText("zbad"), before);
    const fixed = await t.request("POST", "/plugin/zbad/config/hot-update", {
      config: { limits: { max: 50 } },
      mode: "permanent",
    });
    assert.equal(fixed.status, 200, JSON.stringify(fixed.body));
    assert.equal(fixed.body.applied, false);
    assert.equal((await t.request("POST", "/plugin/zbad/start")).status, 200);
    assert.equal((await pluginSees("zbad")).value.limits.max, 50);
  });

  test("every write path refuses a violation with 400 naming the key; the file and the running plugin keep the old configuration", async () => {
    const before = fileText("zcfg");
    const seenBefore = await pluginSees("zcfg");
    const refusals: Array<{ what: string; send: () => Promise<{ status: number; body: any }>; key: RegExp }> = [
      {
        what: "PUT config",
        send: async () => {
          const { config } = (await t.request("GET", "/plugin/zcfg/config")).body;
          return t.request("PUT", "/plugin/zcfg/config", { config: { ...config, limits: { max: 0, mode: "safe" } } });
        },
        key: /'limits\.max'/,
      },
      {
        what: "PUT config/toml",
        send: () =>
          t.request("PUT", "/plugin/zcfg/config/toml", { toml: before.replace('mode = "safe"', 'mode = "reckless"') }),
        key: /'limits\.mode'/,
      },
      {
        what: "temporary hot update",
        send: () =>
          t.request("POST", "/plugin/zcfg/config/hot-update", { config: { verbose: "yes" }, mode: "temporary" }),
        key: /'verbose'/,
      },
      {
        what: "permanent hot update",
        send: () =>
          t.request("POST", "/plugin/zcfg/config/hot-update", { config: { greeting: 42 }, mode: "permanent" }),
        key: /'greeting'/,
      },
      {
        what: "profile switch",
        send: () => t.request("PUT", "/plugin/zcfg/config/profiles/active", { name: "big" }),
        key: /'limits\.max'/,
      },
    ];
    for (const { what, send, key } of refusals) {
      const res = await send();
      assert.equal(res.status, 400, `${what}: ${JSON.stringify(res.body)}`);
      assert.equal(res.body.error.code, "CONFIG_INVALID", what);
      assert.match(res.body.error.message, key, what);
      assert.equal(fileText("zcfg"), before, `${what}: plugin.toml unchanged`);
      assert.deepEqual(await pluginSees("zcfg"), seenBefore, `${what}: the running plugin unchanged`);
    }

    // The plugin's own this.config.set: refused the same way, its Result says why.
    const own = (await t.trigger("zcfg", "write", { path: "limits.max", value: 1000 })).body.data;
    assert.equal(own.written, false);
    assert.equal(own.code, "CONFIG_INVALID");
    assert.match(own.message, /'limits\.max'/);
    assert.equal(fileText("zcfg"), before);
    assert.deepEqual(await pluginSees("zcfg"), seenBefore);

    const json = await t.request("POST", "/plugin/jcfg/config/hot-update", {
      config: { server: { port: 70000 } },
      mode: "temporary",
    });
    assert.equal(json.status, 400);
    assert.match(json.body.error.message, /'server\.port': must be <= 65535/);
    const extra = await t.request("POST", "/plugin/jcfg/config/hot-update", {
      config: { server: { prot: 1 } },
      mode: "temporary",
    });
    assert.equal(extra.status, 400);
    assert.match(extra.body.error.message, /'server\.prot': is not an allowed key/);
  });

  test("a valid write goes through every path, and the manifest tables stay outside the schema", async () => {
    const ok = await t.request("POST", "/plugin/zcfg/config/hot-update", {
      config: { limits: { max: 42 }, plugin: { name: "Renamed" } },
      mode: "permanent",
    });
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    assert.match(fileText("zcfg"), /^max = 42$/m);
    assert.match(fileText("zcfg"), /^# a comment that must survive$/m);
    assert.equal((await pluginSees("zcfg")).value.limits.max, 42);

    const own = (await t.trigger("zcfg", "write", { path: "limits.mode", value: "fast" })).body.data;
    assert.equal(own.written, true);
    assert.equal((await pluginSees("zcfg")).value.limits.mode, "fast");

    const profile = await t.request("PUT", "/plugin/zcfg/config/profiles/active", { name: "small" });
    assert.equal(profile.status, 200, JSON.stringify(profile.body));
    assert.equal((await pluginSees("zcfg")).value.limits.max, 3);
    assert.equal((await t.request("PUT", "/plugin/zcfg/config/profiles/active", { name: null })).status, 200);
  });

  test("the schema of a stopped plugin still guards its writes", async () => {
    assert.equal((await t.request("POST", "/plugin/jcfg/stop")).status, 200);
    const before = fileText("jcfg");
    const res = await t.request("PUT", "/plugin/jcfg/config/toml", {
      toml: before.replace("port = 8080", 'port = "x"'),
    });
    assert.equal(res.status, 400);
    assert.match(res.body.error.message, /'server\.port': must be integer/);
    assert.equal(fileText("jcfg"), before);
    assert.ok(fs.existsSync(path.join(dataDir, "config-schemas", "jcfg.json")), "kept for the next host too");
    assert.equal((await t.request("POST", "/plugin/jcfg/start")).status, 200);
  });

  test("a permanent write is checked as the next start reads it: a temporary change in force does not hide it", async () => {
    const temporary = await t.request("POST", "/plugin/zcfg/config/hot-update", {
      config: { limits: { max: 5 } },
      mode: "temporary",
    });
    assert.equal(temporary.status, 200, JSON.stringify(temporary.body));
    const before = fileText("zcfg");
    const res = await t.request("PUT", "/plugin/zcfg/config/toml", {
      toml: before.replace(/^max = \d+$/m, "max = 1000"),
    });
    assert.equal(res.status, 400, JSON.stringify(res.body));
    assert.match(res.body.error.message, /'limits\.max'/);
    assert.equal(fileText("zcfg"), before);
    // The temporary change goes with a reload of the files.
    assert.equal((await t.request("POST", "/plugin/zcfg/reload?mode=config")).status, 200);
  });

  test("a write that leaves the plugin's own tables as they are is not refused for them: the repair of a manifest table", async () => {
    assert.equal((await t.request("POST", "/plugin/zcfg/stop")).status, 200);
    const good = fileText("zcfg");
    // Edited by hand into a configuration the kept schema refuses.
    fs.writeFileSync(fileOf("zcfg"), good.replace(/^max = \d+$/m, "max = 1000"));
    try {
      const manifestOnly = await t.request("POST", "/plugin/zcfg/config/hot-update", {
        config: { plugin: { description: "repaired by hand" } },
        mode: "permanent",
      });
      assert.equal(manifestOnly.status, 200, JSON.stringify(manifestOnly.body));
      assert.match(fileText("zcfg"), /repaired by hand/);
      const stillBad = await t.request("POST", "/plugin/zcfg/config/hot-update", {
        config: { limits: { max: 999 } },
        mode: "permanent",
      });
      assert.equal(stillBad.status, 400);
      assert.match(stillBad.body.error.message, /'limits\.max'/);
    } finally {
      fs.writeFileSync(fileOf("zcfg"), good);
    }
    assert.equal((await t.request("POST", "/plugin/zcfg/start")).status, 200);
  });

  test("a huge, deep or malformed schema from a plugin is refused at its hello, and the host goes on", async () => {
    for (const [id, { problem }] of Object.entries(HOSTILE_SCHEMAS)) {
      const start = await t.request("POST", `/plugin/${id}/start`);
      assert.equal(start.status, 502, id);
      assert.equal(start.body.error.code, "HANDSHAKE_FAILED", `${id}: ${JSON.stringify(start.body)}`);
      assert.match(start.body.error.message, problem, id);
      const listed = (await t.request("GET", `/plugins/${id}`)).body;
      assert.equal(listed.status, "refused", `${id}: ${JSON.stringify(listed)}`);
      assert.match(listed.status_reason, problem, id);
      const schema = await t.request("GET", `/plugin/${id}/config/schema`);
      assert.equal(schema.body.schema, null, `${id}: nothing of it is kept`);
    }
    assert.equal((await t.request("GET", "/health")).status, 200);
    assert.equal((await pluginSees("zcfg")).value.limits.max, 42, "the other plugins go on");
  });

  test("a pattern that would backtrack for ever is checked in linear time: the host answers at once", async () => {
    const start = await t.request("POST", "/plugin/hostile_pattern/start");
    assert.equal(start.status, 400, JSON.stringify(start.body));
    assert.match(start.body.error.message, /'t\.s': must match pattern/);
    assert.equal((await t.request("GET", "/plugins/hostile_pattern")).body.status, "refused");
    const started = Date.now();
    const write = await t.request("POST", "/plugin/hostile_pattern/config/hot-update", {
      config: { t: { s: `${"a".repeat(100)}!` } },
      mode: "permanent",
    });
    assert.equal(write.status, 400);
    assert.match(write.body.error.message, /'t\.s': must match pattern/);
    assert.ok(Date.now() - started < 2000, "no backtracking");
  });

  test("a reload whose new code's schema refuses the configuration leaves the old version serving, with its schema", async () => {
    const before = (await t.trigger("zcfg", "read")).body.data;
    assert.equal(before.value.limits.max, 42);
    fs.writeFileSync(path.join(root, "zcfg", "index.ts"), zodCode.replace(".max(100)", ".max(20)"));
    const reload = await t.request("POST", "/plugin/zcfg/reload");
    assert.equal(reload.status, 400, JSON.stringify(reload.body));
    assert.equal(reload.body.error.code, "CONFIG_INVALID");
    assert.match(reload.body.error.message, /running version keeps serving: .*'limits\.max': .*20/);
    assert.equal((await t.request("GET", "/plugins/zcfg")).body.status, "running");
    assert.deepEqual((await t.trigger("zcfg", "read")).body.data, before);
    const schema = (await t.request("GET", "/plugin/zcfg/config/schema")).body.schema;
    assert.equal(schema.properties.limits.properties.max.maximum, 100, "the schema of the code that runs");
  });
});
