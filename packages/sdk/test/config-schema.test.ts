/**
 * `static configSchema` (docs/config.md#a-schema-for-the-configuration): the JSON Schema form of a Zod or JSON Schema
 * configSchema, the bounds a schema from a plugin must keep, the check naming the offending key, and
 * `this.config.value`, typed and with defaults.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { z } from "zod";
import {
  compileConfigValidator,
  configSchemaProblem,
  describeConfigSchema,
  HOST_CONFIG_TABLES,
  MAX_CONFIG_SCHEMA_BYTES,
  ownConfig,
} from "../src/config-schema.ts";
import { ValidationError } from "../src/errors.ts";
import { NekoPluginBase } from "../src/plugin-base.ts";
import { PluginConfig } from "../src/plugin-config.ts";
import type { HostBridge } from "../src/runtime/host-client.ts";

const Settings = z.object({
  limits: z.object({
    max: z.number().int().min(1).max(100).default(10).describe("The most items"),
    mode: z.enum(["fast", "safe"]).default("safe"),
  }),
  verbose: z.boolean().default(false),
});

const jsonSchema = {
  type: "object",
  required: ["server"],
  properties: {
    server: {
      type: "object",
      additionalProperties: false,
      required: ["port"],
      properties: {
        port: { type: "integer", minimum: 1, maximum: 65535 },
        host: { type: "string", default: "localhost" },
      },
    },
  },
};

const manifestTables = {
  plugin: { id: "p", entry: "index.ts:P" },
  plugin_runtime: { auto_start: true },
  plugin_state: { persist_mode: "off" },
};

const unusedBridge: HostBridge = {
  request: async () => ({ ok: true, value: null }),
  notify: () => ({ ok: true, value: null }),
  onPush: () => () => undefined,
};

describe("describeConfigSchema", () => {
  test("a Zod schema becomes JSON Schema with its defaults, descriptions, enums and bounds; defaulted keys are optional", () => {
    const json = describeConfigSchema(Settings) as any;
    const max = json.properties.limits.properties.max;
    assert.deepEqual(
      { type: max.type, minimum: max.minimum, maximum: max.maximum, default: max.default },
      { type: "integer", minimum: 1, maximum: 100, default: 10 },
    );
    assert.equal(max.description, "The most items");
    assert.deepEqual(json.properties.limits.properties.mode.enum, ["fast", "safe"]);
    assert.deepEqual(json.required, ["limits"], "verbose has a default, so the file may leave it out");
  });

  test("a JSON Schema object is taken as it is", () => {
    assert.equal(describeConfigSchema(jsonSchema), jsonSchema);
  });

  test("anything else, an oversized, a too deep or an uncompilable schema is refused with the reason", () => {
    assert.throws(() => describeConfigSchema("nope"), /configSchema must be a Zod schema or a JSON Schema object/);
    assert.throws(() => describeConfigSchema([1]), /configSchema must be a Zod schema/);
    let deep: Record<string, unknown> = { type: "string" };
    for (let i = 0; i < 40; i++) deep = { type: "object", properties: { a: deep } };
    assert.throws(() => describeConfigSchema(deep), /configSchema nests deeper than 32 levels/);
    const huge = { type: "object", description: "x".repeat(MAX_CONFIG_SCHEMA_BYTES) };
    assert.throws(() => describeConfigSchema(huge), /configSchema is larger than 65536 bytes/);
    assert.throws(() => describeConfigSchema({ type: "nope" }), /configSchema is not a valid JSON Schema/);
    assert.throws(() => describeConfigSchema({ $async: true, type: "object" }), /not a valid JSON Schema/);
    // Never throws on what a process sent: a cycle is a problem, not an exception.
    const cyclic: Record<string, unknown> = { type: "object" };
    cyclic.self = cyclic;
    assert.match(configSchemaProblem(cyclic) ?? "", /nests deeper|not JSON data/);
    assert.equal(configSchemaProblem(jsonSchema), undefined);
  });
});

describe("compileConfigValidator", () => {
  test("checks only the plugin's own tables: the manifest tables are the host's", () => {
    assert.deepEqual(HOST_CONFIG_TABLES, ["plugin", "plugin_runtime", "plugin_state", "adapter", "entries"]);
    assert.deepEqual(ownConfig({ ...manifestTables, server: { port: 1 } }), { server: { port: 1 } });
    const strict = compileConfigValidator(z.strictObject({ server: z.object({ port: z.number() }) }));
    assert.equal(strict({ ...manifestTables, server: { port: 1 } }).ok, true);
  });

  for (const [form, schema] of [
    [
      "Zod",
      z.object({
        server: z.object({ port: z.number().int().min(1).max(65535), host: z.string().default("localhost") }),
      }),
    ],
    ["JSON Schema", jsonSchema],
  ] as const) {
    test(`${form}: a violation names the key and the problem; a valid configuration gets its defaults`, () => {
      const validate = compileConfigValidator(schema);
      const bad = validate({ ...manifestTables, server: { port: 70000 } });
      assert.equal(bad.ok, false);
      if (bad.ok) return;
      assert.equal(bad.violation.path, "server.port");
      assert.match(
        bad.violation.message,
        /^the configuration does not match the plugin's configSchema: 'server\.port': /,
      );
      assert.match(bad.violation.message, /65535/);
      const missing = validate({ ...manifestTables, server: {} });
      assert.equal(!missing.ok && missing.violation.path, "server.port");
      const good = validate({ ...manifestTables, server: { port: 8080 } });
      assert.deepEqual(good.ok && good.value, { server: { port: 8080, host: "localhost" } });
    });
  }

  test("an unknown key is named itself (additionalProperties, a strict Zod object)", () => {
    const json = compileConfigValidator(jsonSchema)({ server: { port: 1, prot: 2 } });
    assert.equal(!json.ok && json.violation.path, "server.prot");
    assert.match(!json.ok ? json.violation.message : "", /'server\.prot': is not an allowed key/);
    const zod = compileConfigValidator(z.object({ server: z.strictObject({ port: z.number() }) }))({
      server: { port: 1, prot: 2 },
    });
    assert.equal(!zod.ok && zod.violation.path, "server.prot");
  });

  test("a JSON Schema's patterns run in linear time; one that cannot is refused with the reason", () => {
    const evil = compileConfigValidator({ type: "object", properties: { s: { type: "string", pattern: "^(a+)+$" } } });
    const started = Date.now();
    assert.equal(evil({ s: `${"a".repeat(5000)}!` }).ok, false);
    assert.equal(evil({ s: "aaa" }).ok, true);
    assert.ok(Date.now() - started < 1000, "no backtracking");
    const keys = compileConfigValidator({ type: "object", patternProperties: { "^x_(a+)+$": { type: "number" } } });
    assert.equal(keys({ [`x_${"a".repeat(5000)}!`]: "not checked: the key does not match" }).ok, true);
    assert.equal(keys({ x_aa: "checked" }).ok, false);
    assert.match(
      configSchemaProblem({ properties: { s: { pattern: "^(a)\\1$" } } }) ?? "",
      /not a valid JSON Schema: .*Cannot be executed in linear time/,
    );
    assert.match(configSchemaProblem({ properties: { s: { pattern: "^\\p{L}+$" } } }) ?? "", /needs Unicode mode/);
    // Zod's own expression beside a format (lookarounds) is left to the format.
    const email = describeConfigSchema(z.object({ mail: z.email() })) as any;
    assert.deepEqual(email.properties.mail, { type: "string", format: "email" });
    assert.equal(compileConfigValidator(email)({ mail: "nope" }).ok, false);
  });

  test("the JSON Schema form of a Zod schema refuses what the Zod schema refuses (what the host checks with)", () => {
    const viaJson = compileConfigValidator(describeConfigSchema(Settings));
    const viaZod = compileConfigValidator(Settings);
    for (const config of [{ limits: { max: 0 } }, { limits: { mode: "reckless" } }, { limits: {}, verbose: "yes" }]) {
      const a = viaJson(config);
      const b = viaZod(config);
      assert.equal(a.ok, false, JSON.stringify(config));
      assert.equal(b.ok, false, JSON.stringify(config));
      assert.equal(!a.ok && a.violation.path, !b.ok && b.violation.path);
    }
    assert.equal(viaJson({ limits: {} }).ok, true);
  });
});

describe("this.config.value", () => {
  test("the own tables parsed by the class's configSchema, defaults filled in; dump() is still the whole document", () => {
    class Typed extends NekoPluginBase<typeof Settings> {
      static override configSchema = Settings;
    }
    const plugin = new Typed();
    const config = new PluginConfig({ ...manifestTables, limits: { max: 5 } }, unusedBridge, { schema: Settings });
    assert.deepEqual(config.value, { limits: { max: 5, mode: "safe" }, verbose: false });
    assert.equal((config.dump().plugin as { id: string }).id, "p");
    // Constructed by hand, it has no [limits]: the class's schema is what says so.
    assert.throws(() => plugin.config.value, /'limits': /);
  });

  test("without a schema, the own tables as they are; a configuration the schema refuses throws naming the key", () => {
    const free = new PluginConfig({ ...manifestTables, a: { b: 1 } }, unusedBridge);
    assert.deepEqual(free.value, { a: { b: 1 } });
    const bad = new PluginConfig({ limits: { max: 500 } }, unusedBridge, { schema: Settings });
    assert.throws(
      () => bad.value,
      (error: unknown) =>
        error instanceof ValidationError &&
        error.code === "CONFIG_INVALID" &&
        (error.details as { path: string }).path === "limits.max",
    );
  });
});
