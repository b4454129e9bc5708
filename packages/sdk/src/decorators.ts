/** The decorators a plugin class uses (SPEC §3.1). TC39 standard decorators; they only record metadata. */
import {
  assertInstanceMethod,
  entryIdDeclaredTwice,
  LIFECYCLE_IDS,
  type EntryOptions,
  type LifecycleId,
  ownMetadata,
} from "./plugin-metadata.ts";
import type { z } from "zod";
import type { EntryContext } from "./entry-context.ts";
import type { LifecycleHandler } from "./lifecycle-events.ts";

type Method<A = never> = (this: unknown, args: A, ctx: EntryContext) => unknown;

/** Marks the class as a plugin; the runner refuses a class without it. Checks entry ids are unique. */
export function nekoPlugin<C extends abstract new (...args: never[]) => unknown>(
  _cls: C,
  context: ClassDecoratorContext<C>,
): void {
  markClass("@nekoPlugin", context);
}

/** What a class decorator (`@nekoPlugin`, `@extension`) records: the mark the loader looks for, after a check. */
export function markClass(decorator: string, context: ClassDecoratorContext): void {
  const own = ownMetadata(context.metadata);
  own.marked = true;
  const twice = entryIdDeclaredTwice(own);
  if (twice !== undefined) {
    throw new TypeError(`${decorator} ${String(context.name)}: entry id '${twice}' is declared twice`);
  }
}

/**
 * Declares an entry. `params` (Zod) types the args: a decorator cannot give a method's parameter its type, so annotate
 * it (`z.infer<typeof Params>`) and the compiler checks the annotation against `params`. `inputSchema` is plain JSON
 * Schema and checks nothing at compile time.
 */
export function pluginEntry<S extends z.ZodType>(
  options: EntryOptions & { params: S },
): (method: Method<z.output<S>>, context: ClassMethodDecoratorContext) => void;
export function pluginEntry(
  options?: EntryOptions,
): (method: Method<any>, context: ClassMethodDecoratorContext) => void;
export function pluginEntry(options: EntryOptions = {}) {
  return (_method: Method<any>, context: ClassMethodDecoratorContext): void => {
    assertInstanceMethod("@pluginEntry", context);
    const id = options.id ?? String(context.name);
    ownMetadata(context.metadata).entries.push({ ...options, id, methodName: context.name });
  };
}

/**
 * Declares a lifecycle handler: `startup`, `shutdown`, `reload`, `freeze`, `unfreeze` or `config_change`. The compiler
 * checks the handler's parameter against what that lifecycle receives (`LifecycleEvents`: `ConfigChangeEvent`, …).
 */
export function lifecycle<I extends LifecycleId>(options: {
  id: I;
}): (method: LifecycleHandler<I>, context: ClassMethodDecoratorContext) => void {
  if (!LIFECYCLE_IDS.includes(options.id)) {
    throw new TypeError(`@lifecycle id must be one of ${LIFECYCLE_IDS.join(", ")} (got '${options.id}')`);
  }
  return (_method, context): void => {
    assertInstanceMethod("@lifecycle", context);
    ownMetadata(context.metadata).lifecycles.push({ id: options.id, methodName: context.name });
  };
}
