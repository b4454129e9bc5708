/**
 * The entry call a piece of plugin code runs inside, kept across awaits with AsyncLocalStorage: cross-plugin
 * calls read the call chain and deadline from it, run reporting reads the run id.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import type { CancelToken } from "@neko/protocol";

export interface CallScope {
  callId: string;
  entryId: string;
  /** Plugin ids of the calls this one is nested in, outermost first, ending with this plugin. */
  chain: string[];
  deadline: number;
  /** Aborted when the call is canceled, times out or the plugin shuts down; made on first read (it costs µs). */
  readonly signal: AbortSignal;
  /**
   * Canceled with `signal`, without making it: what the calls the handler makes to the host listen to (a cross-plugin
   * call is canceled with the call it is made from).
   */
  readonly cancel?: CancelToken;
  runId?: string;
}

const storage = new AsyncLocalStorage<CallScope>();

/** Runs `fn(...args)` inside `scope` (the arguments passed on, so a caller on a hot path makes no closure for them). */
export function runInCallScope<A extends unknown[], T>(scope: CallScope, fn: (...args: A) => T, ...args: A): T {
  return storage.run(scope, fn, ...args);
}

/** The entry call the caller runs inside, or undefined outside any (a timer, startup, …). */
export function currentCallScope(): CallScope | undefined {
  return storage.getStore();
}
