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
