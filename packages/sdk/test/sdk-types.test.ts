/**
 * The SDK's types help a plugin author: what the compiler infers from `params`, lifecycle ids, `callEntry<T>` and a
 * store default, and what it refuses.
 *
 * How the checks work: `npm run typecheck` (`tsc -b`) compiles this file. `expectType<Equal<A, B>>()` compiles only
 * when A is exactly B. A line under `// @ts-expect-error` must fail to compile, and a `@ts-expect-error` with no error
 * under it is itself an error, so a check that regressed to `any` (which accepts everything) fails the type check.
 * `@ts-expect-error` takes any error, though, and the type check is not the test suite: the test at the end compiles
 * fixtures/mistyped-plugin with tsc and expects each marked line to fail with its own error code, and no other line.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { test } from "node:test";
import { extension, extensionEntry, lifecycle as extensionLifecycle, NekoExtensionBase } from "../src/extension.ts";
import {
  type ConfigChangeEvent,
  type ConfigChangeMode,
  type JsonValue,
  type LifecycleEvents,
  lifecycle,
  NekoPluginBase,
  nekoPlugin,
  Ok,
  plugin,
  pluginEntry,
  type ReloadEvent,
  type UnfreezeEvent,
  z,
} from "../src/plugin.ts";

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
function expectType<_T extends true>(): void {}

const AddParams = z.object({ by: z.number().default(1), note: z.string().optional() });
type Add = z.infer<typeof AddParams>;

/** Never called: the classes and calls below are here for the compiler. */
async function compileTimeChecks(): Promise<void> {
  @nekoPlugin
  class Typed extends NekoPluginBase {
    // Entries: a decorator cannot type the method's parameter; it checks the annotation against `params`.
    @pluginEntry({ params: AddParams })
    add({ by, note }: Add) {
      expectType<Equal<typeof by, number>>();
      expectType<Equal<typeof note, string | undefined>>();
      return Ok(by);
    }

    // A wider annotation is fine: the handler accepts what `params` gives.
    @plugin.entry({ params: AddParams })
    addLoosely(args: { by?: number }) {
      return Ok(args.by);
    }

    // @ts-expect-error: `by` is a number
    @pluginEntry({ params: AddParams })
    addText(args: { by: string }) {
      return Ok(args.by);
    }

    // @ts-expect-error: the namespace form checks the same way
    @plugin.entry({ params: AddParams })
    addMore(args: Add & { more: string }) {
      return Ok(args.more);
    }

    @pluginEntry({ params: AddParams })
    // @ts-expect-error: unannotated, the parameter is an implicit any
    addUntyped({ by }) {
      return Ok(by);
    }

    // Lifecycle handlers: each parameter is checked against what that lifecycle receives.
    @lifecycle({ id: "startup" })
    onStartup() {
      return Ok("ready");
    }

    @lifecycle({ id: "config_change" })
    onConfigChange({ oldConfig, newConfig, mode }: LifecycleEvents["config_change"]) {
      expectType<Equal<typeof mode, "temporary" | "permanent" | "profile">>();
      expectType<Equal<typeof newConfig, Record<string, unknown>>>();
      return Ok(oldConfig);
    }

    // One handler for both config lifecycles takes the plain ConfigChangeEvent.
    @lifecycle({ id: "config_change" })
    @lifecycle({ id: "reload" })
    onAnyConfig(event: ConfigChangeEvent) {
      expectType<Equal<typeof event.mode, ConfigChangeMode>>();
      return Ok();
    }

    @lifecycle({ id: "reload" })
    onReload(event: ReloadEvent) {
      expectType<Equal<typeof event.mode, "reload">>();
      return Ok();
    }

    @lifecycle({ id: "unfreeze" })
    onUnfreeze({ fields, savedAt }: UnfreezeEvent) {
      expectType<Equal<typeof fields, string[]>>();
      return Ok(savedAt);
    }

    // @ts-expect-error: startup receives nothing
    @lifecycle({ id: "startup" })
    startupWithEvent(event: UnfreezeEvent) {
      return Ok(event);
    }

    // @ts-expect-error: unfreeze receives { fields, savedAt }, not a configuration change
    @lifecycle({ id: "unfreeze" })
    unfreezeAsConfig(event: ConfigChangeEvent) {
      return Ok(event);
    }

    // @ts-expect-error: config_change never has mode "reload"
    @lifecycle({ id: "config_change" })
    configChangeAsReload(event: ReloadEvent) {
      return Ok(event);
    }

    // @ts-expect-error: not a lifecycle
    @lifecycle({ id: "unfrozen" })
    notALifecycle() {}

    async uses() {
      // Dynamic entries: with `params` the handler's args are inferred, no annotation needed.
      this.registerDynamicEntry("dyn_add", ({ by }) => Ok(expectNumber(by)), { params: AddParams });
      // @ts-expect-error: `by` is a number
      this.registerDynamicEntry("dyn_text", (args: { by: string }) => Ok(args), { params: AddParams });
      // Without `params` the handler says what it takes; `this` is the plugin.
      this.registerDynamicEntry("dyn_echo", (args: { text: string }) => {
        const self: Typed = this;
        return Ok({ text: args.text, from: self.pluginId });
      });

      // callEntry<T>: T is the value's type; without it the value is unknown.
      const total = await this.plugins.callEntry<{ total: number }>("counter:add", { by: 1 });
      if (total.ok) expectType<Equal<typeof total.value, { total: number }>>();
      // @ts-expect-error: the value is { total: number }
      if (total.ok) void (total.value satisfies string);
      const any = await this.plugins.callEntry("counter:add");
      if (any.ok) expectType<Equal<typeof any.value, unknown>>();

      // store.get: a default gives its type; without one, T | null (JsonValue unless said).
      const count = await this.store.get("total", 0);
      if (count.ok) expectType<Equal<typeof count.value, number>>();
      const tags = await this.store.get<string[]>("tags", []);
      if (tags.ok) expectType<Equal<typeof tags.value, string[]>>();
      const raw = await this.store.get("total");
      if (raw.ok) expectType<Equal<typeof raw.value, JsonValue | null>>();
      // @ts-expect-error: a number default gives a number
      if (count.ok) void (count.value satisfies string);
      // @ts-expect-error: the default must have the type asked for
      await this.store.get<number>("total", "zero");
    }
  }

  @extension
  class TypedExtension extends NekoExtensionBase {
    @extensionEntry({ params: AddParams })
    add({ by }: Add) {
      return Ok(by);
    }

    // @ts-expect-error: `by` is a number
    @extensionEntry({ params: AddParams })
    addText(args: { by: string }) {
      return Ok(args);
    }

    @extensionLifecycle({ id: "config_change" })
    onConfigChange(event: ConfigChangeEvent) {
      return Ok(event.mode);
    }

    // @ts-expect-error: an extension has no freeze (its plugin does)
    @extensionLifecycle({ id: "freeze" })
    onFreeze() {}
  }
  void [Typed, TypedExtension];
}
void compileTimeChecks;

function expectNumber(value: number): number {
  return value;
}

const fixture = path.join(import.meta.dirname, "fixtures", "mistyped-plugin");
const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");

test("tsc refuses each mistake of the mistyped plugin with its own error, and nothing else", () => {
  const source = fs.readFileSync(path.join(fixture, "index.ts"), "utf8").split("\n");
  const expected: string[] = [];
  source.forEach((line, i) => {
    const marker = /^\s*\/\/ error (TS\d+)/.exec(line);
    if (marker) expected.push(`${i + 2} ${marker[1]}`); // the marker names the line after it (1-based: i + 2)
  });
  assert.ok(expected.length >= 10, "the fixture marks its mistakes");

  const run = spawnSync(process.execPath, [tsc, "-p", ".", "--pretty", "false"], {
    cwd: fixture,
    encoding: "utf8",
  });
  const found = [...run.stdout.matchAll(/^index\.ts\((\d+),\d+\): error (TS\d+)/gm)].map((m) => `${m[1]} ${m[2]}`);
  const otherFiles = run.stdout.split("\n").filter((l) => /error TS/.test(l) && !/^index\.ts\(/.test(l));

  assert.deepEqual(otherFiles, [], "only the fixture's own lines fail");
  assert.deepEqual(found.sort(), expected.sort(), run.stdout);
});
