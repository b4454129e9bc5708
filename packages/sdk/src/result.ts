// biome-ignore-all lint/suspicious/noRedeclare: Ok and Err are both a type and its constructor, as in SPEC §3.1.
/** Result: a plain discriminated union, so it survives msgpack and JSON unchanged (SPEC §3.1). */
import { SdkError } from "./errors.ts";

export type Ok<T> = { readonly ok: true; readonly value: T };
export type Err<E = SdkError> = { readonly ok: false; readonly error: E };
export type Result<T, E = SdkError> = Ok<T> | Err<E>;

export function Ok<T>(value: T): Ok<T>;
export function Ok(): Ok<undefined>;
export function Ok<T>(value?: T): Ok<T | undefined> {
  return { ok: true, value };
}

/** A string becomes an `SdkError` with that message. */
export function Err(error: string): Err<SdkError>;
export function Err<E>(error: E): Err<E>;
export function Err<E>(error: E | string): Err<E | SdkError> {
  return { ok: false, error: typeof error === "string" ? new SdkError(error) : error };
}

export function isOk<T, E>(result: Result<T, E>): result is Ok<T> {
  return result.ok;
}

export function isErr<T, E>(result: Result<T, E>): result is Err<E> {
  return !result.ok;
}

/** The value, or throws the error (an `Error` as is, anything else wrapped in an `SdkError`). */
export function unwrap<T, E>(result: Result<T, E>): T {
  if (result.ok) return result.value;
  const error: unknown = result.error;
  if (error instanceof Error) throw error;
  throw new SdkError(String(error), { details: error });
}

export function unwrapOr<T, E, F>(result: Result<T, E>, fallback: F): T | F {
  return result.ok ? result.value : fallback;
}

/** True for anything shaped like a Result, including one rebuilt from the wire. */
export function isResult(value: unknown): value is Result<unknown, unknown> {
  if (typeof value !== "object" || value === null) return false;
  const v = value as { ok?: unknown };
  return (v.ok === true && "value" in v) || (v.ok === false && "error" in v);
}
