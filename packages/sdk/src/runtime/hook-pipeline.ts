/**
 * The one hook pipeline every entry call goes through (SPEC §3.3), static and dynamic entries alike. It holds hook
 * records from any number of sources (the plugin class, its routers, injected extensions) and runs, for one call:
 * before hooks → around hooks (outermost = lowest priority) wrapping the entry or the replace hook standing in for it
 * → after hooks. A hook that throws or returns something it may not ends the call with `HOOK_FAILED`; it never
 * crashes the plugin.
 */
import { Emitter, ErrorCode, type Event, type WireResult } from "@neko/protocol";
import type { EntryContext } from "../entry-context.ts";
import { SdkError, ValidationError } from "../errors.ts";
import type { HookArgs } from "../hook-context.ts";
import { compileHookCondition, type HookCondition } from "../hook-condition.ts";
import type { HookMeta, HookTiming } from "../plugin-metadata.ts";
import { isResult, type Result } from "../result.ts";
import { errResult, normalizeResult, toResult } from "../wire-result.ts";

export type HookHandler = (context: any, entry: EntryContext) => unknown;

export interface HookRecord {
  id: string;
  /** Where the hook comes from: `plugin`, `extension:<id>`, … (shown in errors and listings). */
  source: string;
  timing: HookTiming;
  /** An entry id, or "*". */
  target: string;
  priority: number;
  condition?: HookCondition;
  handler: HookHandler;
}

export interface HookDescriptor {
  id: string;
  source: string;
  timing: HookTiming;
  target: string;
  priority: number;
  condition: string | null;
}

export interface HookCall {
  entryId: string;
  /** Already validated. */
  args: HookArgs;
  entry: EntryContext;
  /** Runs the entry's own handler. */
  invoke(args: HookArgs): Promise<WireResult>;
  /** Checks args that a hook supplied (the entry's validator); without it they are taken as they are. */
  validate?(args: unknown): Result<HookArgs, ValidationError>;
}

export class HookPipeline {
  /** In registration order; the sort by priority is stable, so equal priorities keep it. */
  private records: HookRecord[] = [];
  /** The hooks of each entry called so far, sorted; forgotten whenever hooks are added or removed. */
  private readonly byEntry = new Map<string, HookRecord[]>();
  private readonly changes = new Emitter<void>();
  /** Called whenever hooks are added or removed (the runtime tells the host, so `/plugins` lists them). */
  readonly onChange: Event<void> = this.changes.event;

  /** A record from decorator metadata (the condition is compiled here). */
  static record(meta: HookMeta, handler: HookHandler, source: string): HookRecord {
    return {
      id: meta.id,
      source,
      timing: meta.timing,
      target: meta.target,
      priority: meta.priority,
      condition: meta.condition === undefined ? undefined : compileHookCondition(meta.condition),
      handler,
    };
  }

  /**
   * Adds hooks (from one source); the returned function removes exactly those again. `first` puts them before the
   * hooks already there, so among equal priorities they run first: the plugin class's own hooks use it, because a
   * router included in the constructor adds its hooks before the runtime adds the class's.
   */
  add(records: HookRecord[], options: { first?: boolean } = {}): () => void {
    const added = [...records];
    if (added.length === 0) return () => undefined;
    this.records = options.first ? [...added, ...this.records] : [...this.records, ...added];
    this.changed();
    return () => {
      this.records = this.records.filter((r) => !added.includes(r));
      this.changed();
    };
  }

  private changed(): void {
    this.byEntry.clear();
    this.changes.fire();
  }

  list(): HookDescriptor[] {
    return this.records.map((r) => ({
      id: r.id,
      source: r.source,
      timing: r.timing,
      target: r.target,
      priority: r.priority,
      condition: r.condition?.source ?? null,
    }));
  }

  /** Whether any hook targets entry `entryId` (when none does, a call goes straight to its handler). */
  targets(entryId: string): boolean {
    return this.hooksOf(entryId).length > 0;
  }

  private hooksOf(entryId: string): HookRecord[] {
    let hooks = this.byEntry.get(entryId);
    if (!hooks) {
      hooks = this.records.filter((r) => r.target === "*" || r.target === entryId).sort(byPriority);
      this.byEntry.set(entryId, hooks);
    }
    return hooks;
  }

  /** Runs one call through the hooks that target its entry. Never rejects. */
  async run(call: HookCall): Promise<WireResult> {
    const hooks = this.hooksOf(call.entryId);
    if (hooks.length === 0) return call.invoke(call.args);
    const byTiming = (timing: HookTiming) => hooks.filter((h) => h.timing === timing);
    const holds = (hook: HookRecord, args: HookArgs) =>
      !hook.condition || hook.condition.evaluate({ args, entryId: call.entryId });

    let args = call.args;
    for (const hook of byTiming("before")) {
      if (!holds(hook, args)) continue;
      const outcome = await runHook(hook, { entryId: call.entryId, args }, call.entry);
      if (!outcome.ok) return outcome.result;
      const value = outcome.value;
      if (isResult(value) && !value.ok) return normalizeResult(value);
      const replacement = isResult(value) && value.ok ? value.value : value;
      if (replacement === undefined || replacement === null) continue;
      if (!isArgsObject(replacement)) {
        return hookFailure(hook, `must return nothing, a new args object or an Err (it returned ${kind(replacement)})`);
      }
      const checked = checkArgs(call, replacement, `before hook '${hook.id}' returned`);
      if (!checked.ok) return checked.result;
      args = checked.args;
    }

    const innermost = async (inner: HookArgs): Promise<WireResult> => {
      const replace = byTiming("replace").find((h) => holds(h, inner));
      if (!replace) return call.invoke(inner);
      const outcome = await runHook(replace, { entryId: call.entryId, args: inner }, call.entry);
      return outcome.ok ? normalizeResult(outcome.value) : outcome.result;
    };
    const arounds = byTiming("around");
    const chain = async (index: number, current: HookArgs): Promise<WireResult> => {
      const hook = arounds[index];
      if (!hook) return innermost(current);
      if (!holds(hook, current)) return chain(index + 1, current);
      let last: WireResult | undefined;
      const proceed = async (next: HookArgs = current) => {
        last = await proceedWith(next);
        return toResult(last);
      };
      const proceedWith = async (next: HookArgs): Promise<WireResult> => {
        if (next === current) return chain(index + 1, current);
        if (!isArgsObject(next)) return hookFailure(hook, `passed ${kind(next)} to proceed(); it takes an args object`);
        const checked = checkArgs(call, next, `around hook '${hook.id}' passed proceed()`);
        return checked.ok ? chain(index + 1, checked.args) : checked.result;
      };
      const outcome = await runHook(hook, { entryId: call.entryId, args: current, proceed }, call.entry);
      if (!outcome.ok) return outcome.result;
      // An around hook that awaited proceed() but returned nothing keeps what proceed() gave.
      if (outcome.value === undefined && last) return last;
      return normalizeResult(outcome.value);
    };
    let result = await chain(0, args);

    for (const hook of byTiming("after")) {
      if (!holds(hook, args)) continue;
      const outcome = await runHook(hook, { entryId: call.entryId, args, result: toResult(result) }, call.entry);
      if (!outcome.ok) return outcome.result;
      if (outcome.value !== undefined) result = normalizeResult(outcome.value);
    }
    return result;
  }
}

type HookOutcome = { ok: true; value: unknown } | { ok: false; result: WireResult };

const EXTENSION_SOURCE = "extension:";

/**
 * Lower priority first. At equal priority the plugin's own hooks and its routers' keep their registration order and
 * come before the extensions', which follow in the order of their ids: an extension enabled again does not move.
 */
function byPriority(a: HookRecord, b: HookRecord): number {
  if (a.priority !== b.priority) return a.priority - b.priority;
  const aExtension = a.source.startsWith(EXTENSION_SOURCE);
  const bExtension = b.source.startsWith(EXTENSION_SOURCE);
  if (aExtension !== bExtension) return aExtension ? 1 : -1;
  if (!aExtension || a.source === b.source) return 0;
  return a.source < b.source ? -1 : 1;
}

async function runHook(hook: HookRecord, context: object, entry: EntryContext): Promise<HookOutcome> {
  try {
    return { ok: true, value: await hook.handler(context, entry) };
  } catch (error) {
    return { ok: false, result: hookFailure(hook, `threw: ${(error as Error)?.message ?? String(error)}`) };
  }
}

function checkArgs(
  call: HookCall,
  args: HookArgs,
  what: string,
): { ok: true; args: HookArgs } | { ok: false; result: WireResult } {
  if (!call.validate) return { ok: true, args };
  const checked = call.validate(args);
  if (checked.ok) return { ok: true, args: checked.value };
  const error = new ValidationError(`${what} ${checked.error.message}`, { details: checked.error.details });
  return { ok: false, result: errResult(error) };
}

function hookFailure(hook: HookRecord, what: string): WireResult {
  const source = hook.source === "plugin" ? "" : ` (from ${hook.source})`;
  return errResult(
    new SdkError(`${hook.timing} hook '${hook.id}'${source} ${what}`, {
      code: ErrorCode.HookFailed,
      details: { hook: hook.id, timing: hook.timing, source: hook.source },
    }),
  );
}

function isArgsObject(value: unknown): value is HookArgs {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function kind(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  return `a ${typeof value}`;
}
