/** The one check that a value from a peer is a `WireResult`: a sentence naming what is wrong, or undefined. */
import type { WireResult } from "./messages.ts";

const isTable = (v: unknown) => typeof v === "object" && v !== null && !Array.isArray(v);

export function resultProblem(result: unknown): string | undefined {
  if (!isTable(result)) return "a result must be { ok: true, value } or { ok: false, error }";
  const r = result as Partial<WireResult> & { error?: unknown };
  if (r.ok === true) return undefined;
  if (r.ok !== false) return "a result's 'ok' must be true or false";
  const error = r.error as Record<string, unknown> | undefined;
  if (
    !isTable(error) ||
    typeof error?.code !== "string" ||
    typeof error?.message !== "string" ||
    typeof error?.name !== "string"
  ) {
    return "a failed result's 'error' must have string 'name', 'code' and 'message'";
  }
  return undefined;
}
