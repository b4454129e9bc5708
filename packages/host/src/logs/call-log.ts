/**
 * One host log line per finished entry call (docs/logging.md#one-line-per-call): `info` when it answered, Ok or a
 * plugin's own Err; `warn` when it timed out, crashed or was refused. Off with `NEKO_LOG_CALLS=0`.
 */
import { ErrorCode, type WireResult } from "@neko/protocol";
import type { HostFeature } from "../host-context.ts";
import type { FinishedCall } from "../supervisor/plugin-supervisor.ts";

/** The outcomes an operator should see even at `NEKO_LOG_LEVEL=warn`: the call never got a real answer. */
const WARN_CODES: ReadonlySet<string> = new Set([
  ErrorCode.Timeout,
  ErrorCode.PluginCrashed,
  ErrorCode.PluginNotRunning,
  ErrorCode.PluginUnreachable,
  ErrorCode.PluginRefused,
  ErrorCode.EntryDisabled,
  ErrorCode.PermissionDenied,
]);

/** `ok`, or the error's code. */
function callOutcome(result: WireResult): string {
  return result.ok ? "ok" : result.error.code;
}

export const callLog: HostFeature = ({ logger, events }) =>
  events.onCall((call: FinishedCall) => {
    const outcome = callOutcome(call.result);
    const level = WARN_CODES.has(outcome) ? "warn" : "info";
    // On every call's path: nothing is built when the level is off.
    if (!logger.isLevelEnabled(level)) return;
    const ms = Math.round(call.durationMs * 10) / 10;
    const run = call.runId ? ` (run ${call.runId})` : "";
    const why = call.result.ok ? "" : `: ${oneLine(call.result.error.message, 300)}`;
    logger[level](
      { plugin: call.pluginId, call: { entry: call.entryId, outcome, ms, run_id: call.runId ?? null } },
      `call ${call.pluginId}:${oneLine(call.entryId, 160)} ${oneLine(outcome, 80)} in ${ms} ms${run}${why}`,
    );
  });

/**
 * Text from a caller or a plugin, as it may go in a one-line message: control characters (a newline would forge a
 * log line on a terminal) shown escaped, and at most `max` characters. The fields beside keep the full values.
 */
function oneLine(text: string, max: number): string {
  const shown = text.replace(
    // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it escapes
    /[\u0000-\u001f\u007f-\u009f]/g,
    (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`,
  );
  return shown.length > max ? `${shown.slice(0, max - 1)}…` : shown;
}

/** Whether the host logs each call: yes unless `NEKO_LOG_CALLS` is `0`, `false` or `off`. */
export function callLogEnabled(env: NodeJS.ProcessEnv = process.env): boolean {
  return !["0", "false", "off"].includes((env.NEKO_LOG_CALLS ?? "").toLowerCase());
}
