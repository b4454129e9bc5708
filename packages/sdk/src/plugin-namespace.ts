/** The namespace style of the decorators (SPEC §3.1): `@plugin.entry(...)` is `@pluginEntry(...)`, and so on. */
import { lifecycle, pluginEntry } from "./decorators.ts";
import { hook } from "./hook-decorators.ts";
import { message, timerInterval } from "./trigger-decorators.ts";

export const plugin = Object.freeze({
  entry: pluginEntry,
  lifecycle,
  hook,
  timer: timerInterval,
  message,
});
