/** Converting between wire results (plain data) and SDK Results (errors as SDK classes). */
import type { WireError, WireResult } from "@neko/protocol";
import { fromWireError, type SdkError, toWireError } from "./errors.ts";
import { Err, isResult, Ok, type Result } from "./result.ts";

/** A wire result as an SDK Result, with the error rebuilt as its SDK class. */
export function toResult<T>(result: { ok: true; value: T } | { ok: false; error: WireError }): Result<T, SdkError> {
  return result.ok ? Ok(result.value as T) : Err(fromWireError(result.error));
}

/** A handler's return value as a wire result: a Result as is, a plain value as Ok. */
export function normalizeResult(value: unknown): WireResult {
  if (isResult(value)) {
    return value.ok ? { ok: true, value: value.value ?? null } : { ok: false, error: toWireError(value.error) };
  }
  return { ok: true, value: value ?? null };
}

export function errResult(error: unknown): { ok: false; error: WireError } {
  return { ok: false, error: toWireError(error) };
}
