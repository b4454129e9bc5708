/**
 * A plugin process that cannot load its code says so twice: in a `load_failed` frame, and in one stderr line that
 * starts with this prefix and ends with the error as JSON. The line reaches the host even when the process exits
 * before the socket delivered the frame (under load it can), so the plugin is still refused with its reason.
 */
import type { WireError } from "./messages.ts";

export const LOAD_FAILURE_PREFIX = "neko-plugin: could not load the plugin: ";

export function formatLoadFailureLine(error: WireError): string {
  return `${LOAD_FAILURE_PREFIX}${JSON.stringify(error)}\n`;
}

/** The error of the last load-failure line among `lines`, if there is one. */
export function findLoadFailure(lines: readonly string[]): WireError | undefined {
  for (let i = lines.length - 1; i >= 0; i--) {
    if (!lines[i].startsWith(LOAD_FAILURE_PREFIX)) continue;
    try {
      const error = JSON.parse(lines[i].slice(LOAD_FAILURE_PREFIX.length)) as WireError;
      if (typeof error?.message === "string" && typeof error.code === "string") return error;
    } catch {
      // Not ours after all.
    }
  }
  return undefined;
}
