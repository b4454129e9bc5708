/** What each kind of hook receives as its first argument (SPEC §3.3); the second is the entry's `EntryContext`. */
import type { SdkError } from "./errors.ts";
import type { Result } from "./result.ts";

export type HookArgs = Record<string, unknown>;

/** Return nothing to continue, a new args object to replace the arguments, or an `Err` to abort the call. */
export interface BeforeHookContext {
  entryId: string;
  args: HookArgs;
}

/** Return nothing to keep `result`, or a value / `Result` to replace it. */
export interface AfterHookContext {
  entryId: string;
  args: HookArgs;
  result: Result<unknown, SdkError>;
}

/** `await proceed(args)` runs the rest of the chain (inner around hooks, then the entry) and gives its result. */
export interface AroundHookContext {
  entryId: string;
  args: HookArgs;
  proceed(args?: HookArgs): Promise<Result<unknown, SdkError>>;
}

/** Returns the result instead of the entry. */
export interface ReplaceHookContext {
  entryId: string;
  args: HookArgs;
}
