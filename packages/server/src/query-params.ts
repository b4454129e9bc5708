/**
 * Query-string numbers, read with errors that name the parameter. (The server's validator does not coerce types,
 * and query values are always strings.)
 */
import { ErrorCode } from "@neko/protocol";
import { HttpError } from "./http-errors.ts";

/** The 400 the readers below give, as a route's doc lists it. */
export const QUERY_PARAM_ERRORS =
  "`VALIDATION_ERROR`: a query parameter is out of range, not a whole number, or given more than once";

export function readIntParam(
  query: Record<string, unknown>,
  name: string,
  range: { min: number; max?: number },
): number | undefined {
  const raw = query[name];
  if (raw === undefined || raw === "") return undefined;
  const value = typeof raw === "string" && /^-?\d+$/.test(raw) ? Number(raw) : Number.NaN;
  const { min, max } = range;
  if (!Number.isSafeInteger(value) || value < min || (max !== undefined && value > max)) {
    const bounds = max === undefined ? `≥ ${min}` : `from ${min} to ${max}`;
    throw new HttpError(ErrorCode.Validation, `'${name}' must be a whole number ${bounds} (got '${String(raw)}')`, {
      field: name,
    });
  }
  return value;
}

export function readStringParam(query: Record<string, unknown>, name: string): string | undefined {
  const raw = query[name];
  if (raw === undefined || raw === "") return undefined;
  if (typeof raw !== "string") {
    throw new HttpError(ErrorCode.Validation, `'${name}' must be given once, as a string`, { field: name });
  }
  return raw;
}
