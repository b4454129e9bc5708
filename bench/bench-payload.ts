/** The small payload every round-trip row carries, so the floor moves the same bytes as a real entry call. */
import type { CallMessage, ResultMessage } from "@neko/protocol";

export const ECHO_ENTRY_ID = "echo";

/** The args of every call; the echo entry (and the floor's echo peer) send them back as the result value. */
export const BENCH_ARGS: Record<string, unknown> = { text: "hello, neko", n: 42, tags: ["a", "b"] };

/**
 * The deadline of every bench call. Short on purpose: a call whose frame is lost costs its worker this long, not
 * an entry's default 30 s, and shows up in the `failed` column.
 */
export const BENCH_CALL_TIMEOUT_MS = 1000;

/** The frame the host sends for an entry call (see `PluginSupervisor.call`). */
export function benchCallMessage(id: string, args: Record<string, unknown> = BENCH_ARGS): CallMessage {
  const timeoutMs = BENCH_CALL_TIMEOUT_MS;
  return { type: "call", id, entryId: ECHO_ENTRY_ID, args, deadline: Date.now() + timeoutMs, timeoutMs };
}

/** The payload sizes of the payload rows: 1 KiB, 64 KiB, 1 MiB. */
export const PAYLOAD_SIZES = [1024, 64 * 1024, 1024 * 1024] as const;

/** Args carrying `bytes` bytes: one ASCII string of that length (msgpack adds a few bytes of framing around it). */
export function payloadArgs(bytes: number): Record<string, unknown> {
  return { data: "x".repeat(bytes) };
}

/** "1 KiB", "64 KiB", "1 MiB". */
export function payloadName(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${bytes / (1024 * 1024)} MiB` : `${bytes / 1024} KiB`;
}

/** The frame a plugin answers it with (see `PluginRuntime`). */
export function benchResultMessage(call: { id: string; args: unknown }): ResultMessage {
  return { type: "result", id: call.id, result: { ok: true, value: call.args } };
}
