/**
 * How the contract between host and plugin is written down: a map from method name to the Zod schema of its params
 * and the type of its result. Senders and handlers are generic over such a map (`request<K>()`, `handle<K>()`), so a
 * renamed method or a changed field is a compile error on both sides; `checkParams` checks untrusted params against
 * the schema once, at the receiving boundary, and names the first bad field.
 */
import { z } from "../lazy-zod.mjs";
import { ErrorCode } from "../error-codes.ts";
import type { WireError } from "../messages.ts";

/** One method: the schema its params must pass, and (as a type only) what an `Ok` answer carries. */
export interface MethodSpec<P extends z.ZodType = z.ZodType, R = unknown> {
  readonly params: P;
  readonly result: R;
  /**
   * A hand-written check for a method on a hot path (a bus event, an ack): the params as the schema would give them,
   * or undefined to let the schema decide and word the error. It must never accept what the schema refuses; a test
   * holds each one to its schema (packages/protocol/test/fast-checks.test.ts).
   */
  readonly fast?: (params: unknown) => z.output<P> | undefined;
}

export type MethodMap = Record<string, MethodSpec>;

/** A map written with each method's schema behind a function: `{ "a.b": { params: () => z.object(…), result } }`. */
type LazySpecs = Record<string, { params: () => z.ZodType; result: unknown; fast?: (params: unknown) => unknown }>;
/** Each `fast` check must give what its schema gives. */
type FastMatches<M extends LazySpecs> = {
  [K in keyof M]: { fast?: (params: unknown) => z.output<ReturnType<M[K]["params"]>> | undefined };
};

/**
 * Builds a method map whose schemas are made on first use, not at import: a plugin process checks only the few
 * messages the host sends it, and need not pay (in startup time and memory) for the schemas the host checks.
 */
export function methodMap<M extends LazySpecs>(
  specs: M & FastMatches<M>,
): { [K in keyof M]: MethodSpec<ReturnType<M[K]["params"]>, M[K]["result"]> } {
  const map: Record<string, MethodSpec> = {};
  for (const [method, spec] of Object.entries(specs)) {
    let params: z.ZodType | undefined;
    map[method] = {
      get params() {
        params ??= spec.params();
        return params;
      },
      result: spec.result,
      fast: spec.fast as MethodSpec["fast"],
    };
  }
  return map as { [K in keyof M]: MethodSpec<ReturnType<M[K]["params"]>, M[K]["result"]> };
}

/** The result type of a method, written as a value: `{ params: z.object({}), result: returns<SystemInfo>() }`. */
export function returns<R>(): R {
  return undefined as R;
}

export type MethodName<M extends MethodMap> = keyof M & string;
/** What a sender passes (defaults may be left out). */
export type ParamsIn<M extends MethodMap, K extends keyof M> = z.input<M[K]["params"]>;
/** What a handler receives, after the check (defaults filled in). */
export type ParamsOut<M extends MethodMap, K extends keyof M> = z.output<M[K]["params"]>;
export type ResultOf<M extends MethodMap, K extends keyof M> = M[K]["result"];

/** A typed `WireResult`: what a handler of a method may answer. */
export type Answer<R> = { ok: true; value: R } | { ok: false; error: WireError };

let english: ((issue: z.core.$ZodRawIssue) => unknown) | undefined;

/**
 * Params from the peer, checked against their schema. A schema's own messages (written as whole sentences) are kept;
 * Zod's default ones get `<label>: '<path>':` in front. The failure is a `ValidationError` with `details.field`.
 */
export function checkParams<S extends z.ZodType>(
  schema: S,
  params: unknown,
  label: string,
): { ok: true; value: z.output<S> } | { ok: false; error: WireError } {
  // Without options Zod takes its compiled fast path (ten times faster on a call's params); the messages are worded
  // on a second pass, only for params that failed.
  const fast = schema.safeParse(params);
  if (fast.success) return { ok: true, value: fast.data };
  const parsed = schema.safeParse(params, {
    error: (issue) => {
      const field = pathOf(issue.path ?? [], issue).join(".");
      // A missing required key: Zod's own words ("expected nonoptional") say nothing to a plugin author.
      if (issue.code === "invalid_type" && issue.expected === "nonoptional") return `${label}: '${field}' is required`;
      english ??= z.locales.en().localeError as (issue: z.core.$ZodRawIssue) => unknown;
      const base = english(issue) as string | { message?: string } | undefined;
      const text = typeof base === "string" ? base : (base?.message ?? "invalid");
      return `${label}: ${field ? `'${field}': ` : ""}${text}`;
    },
  });
  if (parsed.success) return { ok: true, value: parsed.data };
  const issue = parsed.error.issues[0];
  // The innermost key names the field, as a person reads it ('url', not 'item.url').
  const field = pathOf(issue.path, issue).at(-1);
  const error: WireError = { name: "ValidationError", code: ErrorCode.Validation, message: issue.message };
  if (field) error.details = { field };
  return { ok: false, error };
}

/** `checkParams` against a method's spec: its `fast` check first, when it has one. */
export function checkMethodParams<S extends z.ZodType>(
  spec: MethodSpec<S>,
  params: unknown,
  label: string,
): { ok: true; value: z.output<S> } | { ok: false; error: WireError } {
  const fast = spec.fast?.(params);
  if (fast !== undefined) return { ok: true, value: fast };
  return checkParams(spec.params, params, label);
}

/** The path of the field an issue is about; for unknown keys, the first unknown key. */
function pathOf(path: readonly PropertyKey[], issue: { code?: string; keys?: string[] }): string[] {
  const keys = issue.code === "unrecognized_keys" && issue.keys?.length ? [...path, issue.keys[0]] : path;
  return keys.map(String);
}
