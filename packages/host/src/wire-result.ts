/**
 * The host's ways of ending with a `WireResult`: builders for the failures every feature answers with, and a promise
 * settled by its first answer (a handshake, a startup, a run's outcome).
 */
import { ErrorCode, type WireError, type WireResult } from "@neko/protocol";

export type WireFailure = Extract<WireResult, { ok: false }>;

export function failure(code: ErrorCode, message: string, name = "SdkError", details?: unknown): WireFailure {
  const error: WireError = { name, code, message };
  if (details !== undefined) error.details = details;
  return { ok: false, error };
}

/** A `ValidationError`; `field` names the bad input when there is one. */
export function validationFailure(message: string, field?: string): WireFailure {
  return failure(ErrorCode.Validation, message, "ValidationError", field === undefined ? undefined : { field });
}

export function pluginNotFound(id: string): WireFailure {
  return failure(ErrorCode.PluginNotFound, `no plugin with id '${id}'`, "NotFoundError");
}

/** A promise settled by the first call to `settle`; later calls are ignored. */
export function settleOnce<T>(): { promise: Promise<T>; settle: (value: T) => void } {
  let resolve!: (value: T) => void;
  let done = false;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return {
    promise,
    settle: (value) => {
      if (done) return;
      done = true;
      resolve(value);
    },
  };
}
