/**
 * The decorators an extension class uses (SPEC §3.6): `@extension` marks it, `@extensionEntry` declares an entry (the
 * options of `@pluginEntry`), `@extensionHook` a hook on the host plugin's entries (the options of `@hook`). Like the
 * plugin's decorators they only record metadata; runtime/extension-mounts.ts reads it when the extension is loaded.
 */
import type { z } from "zod";
import { lifecycle, markClass, pluginEntry } from "./decorators.ts";
import type { EntryContext } from "./entry-context.ts";
import type { AfterHookContext, AroundHookContext, BeforeHookContext, ReplaceHookContext } from "./hook-context.ts";
import { hook, type HookOptions } from "./hook-decorators.ts";
import type { LifecycleHandler } from "./lifecycle-events.ts";
import type { EntryOptions, HookTiming, LifecycleId } from "./plugin-metadata.ts";

type Method<A = never> = (this: unknown, args: A, ctx: EntryContext) => unknown;

/** Marks the class as an extension; the runtime refuses a class without it. Checks entry ids are unique. */
export function extension<C extends abstract new (...args: never[]) => unknown>(
  _cls: C,
  context: ClassDecoratorContext<C>,
): void {
  markClass("@extension", context);
}

/**
 * Declares an entry of the extension; under the host plugin its id is `<prefix><id>`. The options are those of
 * `@pluginEntry`: `params` (Zod) types the args, `inputSchema` is plain JSON Schema, `timeout` in seconds.
 */
export function extensionEntry<S extends z.ZodType>(
  options: EntryOptions & { params: S },
): (method: Method<z.output<S>>, context: ClassMethodDecoratorContext) => void;
export function extensionEntry(
  options?: EntryOptions,
): (method: Method<any>, context: ClassMethodDecoratorContext) => void;
export function extensionEntry(options: EntryOptions = {}) {
  return pluginEntry(options);
}

/**
 * The lifecycles an extension may declare: it comes and goes with its host plugin's process, or by itself, and its
 * own configuration may change; freezing is the plugin's.
 */
export const EXTENSION_LIFECYCLES = ["startup", "shutdown", "config_change", "reload"] as const satisfies LifecycleId[];
export type ExtensionLifecycleId = (typeof EXTENSION_LIFECYCLES)[number];

/**
 * `@lifecycle` as `@neko/plugin-sdk/extension` exports it: `freeze` and `unfreeze` (which the loader would refuse) do
 * not compile, and the handler's parameter is checked as in a plugin.
 */
export function extensionLifecycle<I extends ExtensionLifecycleId>(options: {
  id: I;
}): (method: LifecycleHandler<I>, context: ClassMethodDecoratorContext) => void {
  return lifecycle(options);
}

interface HookContextByTiming {
  before: BeforeHookContext;
  after: AfterHookContext;
  around: AroundHookContext;
  replace: ReplaceHookContext;
}

/**
 * A hook in the host plugin's chain (SPEC §3.3): `target` is an entry id of the host plugin, one of the extension's
 * own entry ids (as declared, without the prefix), or `"*"` for every entry of the host plugin; `timing` is `before`,
 * `after`, `around` or `replace`; lower `priority` runs first.
 */
export function extensionHook<T extends HookTiming>(
  options: HookOptions & { timing: T },
): (
  method: (this: any, context: HookContextByTiming[T], entry: EntryContext) => unknown,
  context: ClassMethodDecoratorContext,
) => void {
  if (typeof options !== "object" || options === null) {
    throw new TypeError("@extensionHook takes { target, timing, priority, condition }");
  }
  return hook(options);
}
