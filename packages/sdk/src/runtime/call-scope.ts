/**
 * The entry call a piece of plugin code runs inside, kept across awaits with AsyncLocalStorage: cross-plugin
 * calls read the call chain and deadline from it, run reporting reads the run id.
 */
import { AsyncLocalStorage } from "node:async_hooks";

export interface CallScope {
  callId: string;
  entryId: string;
  /** Plugin ids of the calls this one is nested in, outermost first, ending with this plugin. */
  chain: string[];
  deadline: number;
  /** Aborted when the call is canceled, times out or the plugin shuts down; made on first read (it costs µs). */
  readonly signal: AbortSignal;
  runId?: string;
}

const storage = new AsyncLocalStorage<CallScope>();

export function runInCallScope<T>(scope: CallScope, fn: () => T): T {
  return storage.run(scope, fn);
}

/** The entry call the caller runs inside, or undefined outside any (a timer, startup, …). */
export function currentCallScope(): CallScope | undefined {
  return storage.getStore();
}
