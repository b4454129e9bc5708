/**
 * `GatewayError`: how the gateway pipeline says no (SPEC §3.7, docs/adapters.md#error-codes). Its `code` is one of a
 * few stable values an adapter maps to its protocol's errors; what the plugin or the stage said in detail goes in
 * `details`.
 */
import type { GatewayErrorCodeName } from "@neko/protocol";

/** The stable codes. A stage's refusal carries its stage's code; a stage that throws gives `internal_error`. */
export const GatewayErrorCode = {
  /** The normalizer could not read the request (no action, args that are not an object, a bad target). */
  InvalidRequest: "invalid_request",
  /** The policy refused it: a denied or not allowed plugin, args over the size limit, the rate limit. */
  PolicyDenied: "policy_denied",
  /** No route for it: no rule, target or handler matches, or a broadcast reaches no plugin. */
  RouteFailed: "route_failed",
  /** The call failed: the entry's `Err`, a stopped or missing target, a timeout, a cancel. */
  InvokeFailed: "invoke_failed",
  /** A bug: a stage threw, or the result could not be serialized. */
  InternalError: "internal_error",
} as const satisfies Record<string, GatewayErrorCodeName>;

export type GatewayErrorCode = (typeof GatewayErrorCode)[keyof typeof GatewayErrorCode];

const CODES: ReadonlySet<string> = new Set(Object.values(GatewayErrorCode));

export function isGatewayErrorCode(code: unknown): code is GatewayErrorCode {
  return typeof code === "string" && CODES.has(code);
}

export interface GatewayError {
  code: GatewayErrorCode;
  message: string;
  /** Whether the same request may succeed if sent again later (rate limit, timeout, a target restarting). */
  retryable: boolean;
  /** What the stage knows: the plugin's error `{ code, message, details }`, the limit that was hit, the stage. */
  details?: Record<string, unknown>;
}

/** A `GatewayError`; `retryable` defaults to false. */
export function gatewayError(
  code: GatewayErrorCode,
  message: string,
  options: { retryable?: boolean; details?: Record<string, unknown> } = {},
): GatewayError {
  const error: GatewayError = { code, message, retryable: options.retryable ?? false };
  if (options.details !== undefined) error.details = options.details;
  return error;
}
