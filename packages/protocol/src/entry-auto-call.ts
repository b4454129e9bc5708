/**
 * `entry.auto_called`: a plugin ran one of its `autoStart` entries by itself (SPEC §3.1) and tells the host, which
 * treats it like a call it sent and answered (call listeners, the bus's `entry_call` records).
 */
import type { WireResult } from "./messages.ts";

export const ENTRY_AUTO_CALLED_METHOD = "entry.auto_called";

export interface EntryAutoCalledParams {
  entryId: string;
  result: WireResult;
  durationMs: number;
}
