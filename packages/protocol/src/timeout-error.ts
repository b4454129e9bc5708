/**
 * The one shape of a timeout, wherever it fires (docs/wire-protocol.md#timeouts): code `TIMEOUT`, class
 * `TimeoutError`, the message `<kind> '<plugin>:<entry>' timed out after <seconds>s` and
 * `details: { plugin, entry, timeoutMs, firedBy }`.
 */
import { ErrorCode } from "./error-codes.ts";
import type { WireError } from "./messages.ts";

/**
 * Who ran out of time: the plugin's runtime (its entry's `timeout`), the host (its own timer for the call: a plugin
 * that does not answer, a busy loop), or the calling plugin's SDK (the caller's deadline passed first).
 */
export type TimeoutFiredBy = "plugin" | "host" | "caller";

export interface TimeoutDetails {
  plugin: string;
  /** The entry id, or `<eventType>:<eventId>` for an event handler. */
  entry: string;
  timeoutMs: number;
  firedBy: TimeoutFiredBy;
}

export function timeoutError(details: TimeoutDetails, kind: "entry" | "event" = "entry"): WireError {
  const seconds = Number((details.timeoutMs / 1000).toFixed(3));
  return {
    name: "TimeoutError",
    code: ErrorCode.Timeout,
    message: `${kind} '${details.plugin}:${details.entry}' timed out after ${seconds}s`,
    details: { ...details },
  };
}
