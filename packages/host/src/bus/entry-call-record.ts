/**
 * The `entry_call` record the bus's `events` namespace gets for every finished call (docs/bus.md), with its size
 * counted by hand: it is made once per call, so the generic walk of `payloadBytes` (a Set, a stack, the entries of
 * the object) is skipped for a shape known in advance. The count is exactly `payloadBytes(data)` (tested).
 */
import { Buffer } from "node:buffer";
import type { FinishedCall } from "../supervisor/plugin-supervisor.ts";

/** A plugin's own error code is any string: kept short, so one record cannot crowd the namespace out. */
export const MAX_ERROR_CODE_LENGTH = 128;

export interface EntryCallData {
  entryId: string;
  ok: boolean;
  errorCode: string | null;
  durationMs: number;
  runId: string | null;
}

/**
 * `payloadBytes` of an object with these five keys, keys and object included: 2 for the object, then per key its
 * UTF-8 length + 4 ("entryId" 11, "ok" 6, "errorCode" 13, "durationMs" 14, "runId" 9).
 */
const FIXED_BYTES = 2 + 11 + 6 + 13 + 14 + 9;

/** `payloadBytes` of a string (its UTF-8 length + 2) or of null (4). */
function stringBytes(value: string | null): number {
  return value === null ? 4 : Buffer.byteLength(value) + 2;
}

export function entryCallRecord(call: FinishedCall): { data: EntryCallData; dataBytes: number } {
  const { result } = call;
  const data: EntryCallData = {
    entryId: call.entryId,
    ok: result.ok,
    errorCode: result.ok ? null : result.error.code.slice(0, MAX_ERROR_CODE_LENGTH),
    durationMs: Math.round(call.durationMs * 1000) / 1000,
    runId: call.runId ?? null,
  };
  // A boolean 5, a number 8.
  const dataBytes =
    FIXED_BYTES + stringBytes(data.entryId) + 5 + stringBytes(data.errorCode) + 8 + stringBytes(data.runId);
  return { data, dataBytes };
}
