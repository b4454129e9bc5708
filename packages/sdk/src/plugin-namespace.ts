/**
 * The namespace style of the decorators (SPEC §3.1), as the original's `plugin.*`: `@plugin.entry(...)` is
 * `@pluginEntry(...)`, `@plugin.event(...)` is `@onEvent(...)`, `@plugin.customEvent(...)` is `@customEvent(...)`.
 */
import { lifecycle, pluginEntry } from "./decorators.ts";
import { hook } from "./hook-decorators.ts";
import { customEvent, message, onEvent, timerInterval } from "./trigger-decorators.ts";

export const plugin = Object.freeze({
  entry: pluginEntry,
  lifecycle,
  hook,
  timer: timerInterval,
  message,
  event: onEvent,
  customEvent,
});
