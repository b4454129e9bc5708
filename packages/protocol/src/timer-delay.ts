/**
 * The one place host timers get their delays from. Node fires a timer whose delay is above 2^31-1 ms (about 24.8
 * days), Infinity or NaN after 1 ms, so a "wait 30 days" deadline would expire at once; every host timer whose delay
 * comes from a caller, a plugin or the options goes through `timerDelay`.
 */
export const MAX_TIMER_DELAY_MS = 2 ** 31 - 1;

/** `ms` cut to what a timer can wait: 0 … MAX_TIMER_DELAY_MS (NaN counts as 0). */
export function timerDelay(ms: number): number {
  if (Number.isNaN(ms)) return 0;
  return Math.min(Math.max(ms, 0), MAX_TIMER_DELAY_MS);
}

/** The longest span of seconds a timer, timeout or interval may have: MAX_TIMER_DELAY_MS in whole seconds. */
export const MAX_SECONDS = 2_147_483;

/** What is wrong with `value` as a span of seconds (undefined when it is fine), naming `what`. */
export function secondsProblem(what: string, value: unknown): string | undefined {
  if (typeof value === "number" && Number.isFinite(value) && value > 0 && value <= MAX_SECONDS) return undefined;
  return `${what} must be above 0 and at most ${MAX_SECONDS} seconds (about 24 days); got ${String(value)}`;
}

/**
 * What is wrong with `value`, read at `key` of a plugin's configuration, as the interval of its timer `timerId`
 * (`seconds: "config:<key>"`); undefined when it is fine. One rule for the plugin's check and the host's (a plugin
 * that is not running).
 */
export function configuredSecondsProblem(timerId: string, key: string, value: unknown): string | undefined {
  const where = `timer '${timerId}': seconds "config:${key}"`;
  if (value === undefined || value === null) return `${where}: the configuration has no key '${key}'`;
  return secondsProblem(where, value);
}
