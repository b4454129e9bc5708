/**
 * What the compiler makes of `static configSchema` (docs/config.md#a-schema-for-the-configuration): `this.config.value`
 * typed by a Zod schema's output, or by a record type the plugin names; a record without either; and every plugin
 * class still a `NekoPluginBase`. Checked by `tsc -b` (see sdk-types.test.ts for how `expectType` and
 * `@ts-expect-error` work); the test below only runs the schema the types come from.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  type ConfigOf,
  type ConfigRecord,
  NekoPluginBase,
  nekoPlugin,
  Ok,
  type PluginRouter,
  pluginEntry,
  z,
} from "../src/plugin.ts";

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
function expectType<_T extends true>(): void {}

const Settings = z.object({
  limits: z.object({ max: z.number().int().max(100).default(10), mode: z.enum(["fast", "safe"]).default("safe") }),
  greeting: z.string().optional(),
});

/** Never called: the classes below are here for the compiler. */
function compileTimeChecks(): void {
  @nekoPlugin
  class ZodTyped extends NekoPluginBase<typeof Settings> {
    static override configSchema = Settings;

    @pluginEntry({ id: "read" })
    read() {
      const { limits, greeting } = this.config.value;
      expectType<Equal<typeof limits.max, number>>();
      expectType<Equal<typeof limits.mode, "fast" | "safe">>();
      expectType<Equal<typeof greeting, string | undefined>>();
      // @ts-expect-error: max is a number
      void (limits.max satisfies string);
      // @ts-expect-error: no such table in the schema
      void this.config.value.nope;
      // dump() stays the whole document, untyped.
      expectType<Equal<ReturnType<typeof this.config.dump>, ConfigRecord>>();
      return Ok(limits.max);
    }
  }

  @nekoPlugin
  class RecordTyped extends NekoPluginBase<{ server: { port: number } }> {
    static override configSchema = { type: "object", properties: { server: { type: "object" } } };

    read() {
      expectType<Equal<typeof this.config.value.server.port, number>>();
    }
  }

  @nekoPlugin
  class Untyped extends NekoPluginBase {
    read() {
      expectType<Equal<typeof this.config.value, Record<string, unknown>>>();
    }
  }

  // @ts-expect-error: a configSchema is a Zod schema or a JSON Schema object
  class NotASchema extends NekoPluginBase {
    static override configSchema = "limits";
  }

  // Every typed plugin is still a NekoPluginBase (routers, extensions and the runtime take that).
  const plugins: NekoPluginBase[] = [new ZodTyped(), new RecordTyped(), new Untyped()];
  const router = undefined as unknown as PluginRouter<ZodTyped>;
  expectType<Equal<ConfigOf<typeof Settings>, z.output<typeof Settings>>>();
  expectType<Equal<ConfigOf<{ a: number }>, { a: number }>>();
  void [plugins, router, NotASchema];
}
void compileTimeChecks;

test("the schema the types come from parses as they say", () => {
  assert.deepEqual(Settings.parse({ limits: {} }), { limits: { max: 10, mode: "safe" } });
});
