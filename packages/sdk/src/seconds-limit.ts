/** Time spans in seconds (entry, event and call timeouts, timer intervals): one rule for all of them. */

import { MAX_SECONDS, secondsProblem } from "@neko/protocol";

// The rule lives in the protocol package, so the host checks the same one (a stopped plugin's configured intervals).
export { MAX_SECONDS, secondsProblem };

/** Throws a TypeError naming `what` unless `value` is a usable span of seconds. */
export function assertSeconds(what: string, value: unknown): asserts value is number {
  const problem = secondsProblem(what, value);
  if (problem) throw new TypeError(problem);
}

/** `seconds` may name a configuration key instead of a number: `"config:<dotted path>"` (timers). */
export const CONFIG_SECONDS_PREFIX = "config:";

/** The key of `"config:<path>"`; undefined for a number; a TypeError for any other string. */
export function configKeyOf(what: string, seconds: unknown): string | undefined {
  if (typeof seconds !== "string") return undefined;
  const key = seconds.startsWith(CONFIG_SECONDS_PREFIX) ? seconds.slice(CONFIG_SECONDS_PREFIX.length) : "";
  if (!/^[^.\s]+(\.[^.\s]+)*$/.test(key)) {
    throw new TypeError(
      `${what} must be a number or "config:<key>" (such as "config:check.interval"); got '${seconds}'`,
    );
  }
  return key;
}
