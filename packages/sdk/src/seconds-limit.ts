/** Time spans in seconds (entry, event and call timeouts, timer intervals): one rule for all of them. */

/** The longest delay a Node timer can wait (2^31-1 ms, about 24.8 days); a longer one fires at once. */
export const MAX_SECONDS = 2_147_483;

/** What is wrong with `value` as a span of seconds (undefined when it is fine), naming `what`. */
export function secondsProblem(what: string, value: unknown): string | undefined {
  if (typeof value === "number" && Number.isFinite(value) && value > 0 && value <= MAX_SECONDS) return undefined;
  return `${what} must be above 0 and at most ${MAX_SECONDS} seconds (about 24 days); got ${String(value)}`;
}

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
