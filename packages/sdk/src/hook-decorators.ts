/**
 * The hook decorators (SPEC §3.3): `@hook({ target, timing, priority, condition })` and its four shorthands. They only
 * record metadata; the runtime's hook pipeline runs them. A malformed condition fails here, when the class is defined.
 */
import type { EntryContext } from "./entry-context.ts";
import type { AfterHookContext, AroundHookContext, BeforeHookContext, ReplaceHookContext } from "./hook-context.ts";
import { compileHookCondition, HookConditionError } from "./hook-condition.ts";
import { assertInstanceMethod, HOOK_TIMINGS, type HookTiming, ownMetadata } from "./plugin-metadata.ts";

export interface HookOptions {
  /** Names the hook in errors and in the hello; default: the method name. */
  id?: string;
  /** An entry id, or "*" (default) for every entry. */
  target?: string;
  /** Lower runs first (outermost for around). Default 0. */
  priority?: number;
  /** An expression over `args` and `entryId`, e.g. `"args.mode == 'fast'"`; the hook is skipped when it is false. */
  condition?: string;
}

type HookMethod<C> = (this: any, context: C, entry: EntryContext) => unknown;
type HookDecorator<C> = (method: HookMethod<C>, context: ClassMethodDecoratorContext) => void;

interface HookContextByTiming {
  before: BeforeHookContext;
  after: AfterHookContext;
  around: AroundHookContext;
  replace: ReplaceHookContext;
}

const TARGET = /^(\*|[a-zA-Z0-9_.:-]{1,128})$/;

/** The generic form: `timing` is `before`, `after`, `around` or `replace`. */
export function hook<T extends HookTiming>(
  options: HookOptions & { timing: T },
): HookDecorator<HookContextByTiming[T]> {
  return (_method, context) => recordHook(`@hook`, options, context);
}

export function beforeEntry(method: HookMethod<BeforeHookContext>, context: ClassMethodDecoratorContext): void;
export function beforeEntry(options?: HookOptions): HookDecorator<BeforeHookContext>;
export function beforeEntry(
  first?: HookOptions | HookMethod<BeforeHookContext>,
  context?: ClassMethodDecoratorContext,
): any {
  return timed("before", "@beforeEntry", first, context);
}

export function afterEntry(method: HookMethod<AfterHookContext>, context: ClassMethodDecoratorContext): void;
export function afterEntry(options?: HookOptions): HookDecorator<AfterHookContext>;
export function afterEntry(
  first?: HookOptions | HookMethod<AfterHookContext>,
  context?: ClassMethodDecoratorContext,
): any {
  return timed("after", "@afterEntry", first, context);
}

export function aroundEntry(method: HookMethod<AroundHookContext>, context: ClassMethodDecoratorContext): void;
export function aroundEntry(options?: HookOptions): HookDecorator<AroundHookContext>;
export function aroundEntry(
  first?: HookOptions | HookMethod<AroundHookContext>,
  context?: ClassMethodDecoratorContext,
): any {
  return timed("around", "@aroundEntry", first, context);
}

export function replaceEntry(method: HookMethod<ReplaceHookContext>, context: ClassMethodDecoratorContext): void;
export function replaceEntry(options?: HookOptions): HookDecorator<ReplaceHookContext>;
export function replaceEntry(
  first?: HookOptions | HookMethod<ReplaceHookContext>,
  context?: ClassMethodDecoratorContext,
): any {
  return timed("replace", "@replaceEntry", first, context);
}

/** The shorthands work both bare (`@beforeEntry`) and called (`@beforeEntry({ target: "save" })`). */
function timed(
  timing: HookTiming,
  name: string,
  first: HookOptions | ((...args: any[]) => unknown) | undefined,
  context: ClassMethodDecoratorContext | undefined,
) {
  if (typeof first === "function") {
    recordHook(name, { timing }, context!);
    return undefined;
  }
  const options = first ?? {};
  return (_method: unknown, ctx: ClassMethodDecoratorContext) => recordHook(name, { ...options, timing }, ctx);
}

function recordHook(name: string, options: HookOptions & { timing: HookTiming }, context: ClassMethodDecoratorContext) {
  assertInstanceMethod(name, context);
  const id = options.id ?? String(context.name);
  const where = `${name} '${id}'`;
  if (!HOOK_TIMINGS.includes(options.timing)) {
    throw new TypeError(`${where}: timing must be one of ${HOOK_TIMINGS.join(", ")} (got '${String(options.timing)}')`);
  }
  const target = options.target ?? "*";
  if (typeof target !== "string" || !TARGET.test(target)) {
    throw new TypeError(`${where}: target must be an entry id or "*" (got ${JSON.stringify(target)})`);
  }
  const priority = options.priority ?? 0;
  if (typeof priority !== "number" || !Number.isFinite(priority)) {
    throw new TypeError(`${where}: priority must be a finite number (got ${String(priority)})`);
  }
  if (options.condition !== undefined) {
    try {
      compileHookCondition(options.condition);
    } catch (error) {
      if (error instanceof HookConditionError) {
        throw new HookConditionError(`${where}: invalid condition: ${error.reason}`, error.position, error.source);
      }
      throw new TypeError(`${where}: ${(error as Error).message}`);
    }
  }
  const own = ownMetadata(context.metadata);
  if (own.hooks.some((h) => h.id === id)) throw new TypeError(`${where}: hook id '${id}' is declared twice`);
  own.hooks.push({
    id,
    timing: options.timing,
    target,
    priority,
    condition: options.condition,
    methodName: context.name,
  });
}
