/**
 * When to restart a crashed plugin (SPEC §4.2): exponential backoff 1 s, 2 s, 4 s … up to 30 s; the third crash
 * within five minutes quarantines it until someone starts it by hand.
 */
export interface RestartPolicyOptions {
  baseDelayMs: number;
  maxDelayMs: number;
  maxCrashes: number;
  windowMs: number;
}

export const DEFAULT_RESTART_POLICY: RestartPolicyOptions = {
  baseDelayMs: 1000,
  maxDelayMs: 30_000,
  maxCrashes: 3,
  windowMs: 5 * 60_000,
};

export type RestartDecision = { action: "restart"; delayMs: number } | { action: "quarantine"; crashes: number };

export class RestartPolicy {
  private crashes: number[] = [];

  constructor(private readonly options: RestartPolicyOptions = DEFAULT_RESTART_POLICY) {}

  /** Records a crash at `now` and says what to do about it. */
  onCrash(now: number): RestartDecision {
    this.crashes = this.crashes.filter((t) => now - t < this.options.windowMs);
    this.crashes.push(now);
    if (this.crashes.length >= this.options.maxCrashes) return { action: "quarantine", crashes: this.crashes.length };
    const delayMs = Math.min(this.options.baseDelayMs * 2 ** (this.crashes.length - 1), this.options.maxDelayMs);
    return { action: "restart", delayMs };
  }

  /** A start by hand forgives the past. */
  reset(): void {
    this.crashes = [];
  }
}
