/**
 * When to try an external MCP server again: exponential backoff (1 s, 2 s, 4 s … up to a minute), started afresh
 * only after a connection that stayed up for a while, so a server that dies right after each connect is not
 * restarted every second.
 */
export interface BackoffOptions {
  initialMs?: number;
  maxMs?: number;
  factor?: number;
  /** A connection that lasted this long counts as healthy: the next loss waits `initialMs` again. */
  stableAfterMs?: number;
}

export class ReconnectBackoff {
  readonly #initialMs: number;
  readonly #maxMs: number;
  readonly #factor: number;
  readonly #stableAfterMs: number;
  /** Failed attempts and losses since the last healthy connection. */
  #failures = 0;
  #connectedAt: number | undefined;

  constructor(options: BackoffOptions = {}) {
    this.#initialMs = options.initialMs ?? 1_000;
    this.#maxMs = options.maxMs ?? 60_000;
    this.#factor = options.factor ?? 2;
    this.#stableAfterMs = options.stableAfterMs ?? 30_000;
  }

  /** How many waits in a row so far (0 after `reset` or a healthy connection). */
  get failures(): number {
    return this.#failures;
  }

  /** The wait before the next attempt, after a failed attempt or a lost connection at `now`; each call waits longer. */
  next(now: number): number {
    if (this.#connectedAt !== undefined && now - this.#connectedAt >= this.#stableAfterMs) this.#failures = 0;
    this.#connectedAt = undefined;
    const delay = Math.min(this.#maxMs, this.#initialMs * this.#factor ** this.#failures);
    this.#failures += 1;
    return delay;
  }

  connected(now: number): void {
    this.#connectedAt = now;
  }

  /** A connection asked for by hand starts afresh. */
  reset(): void {
    this.#failures = 0;
    this.#connectedAt = undefined;
  }
}
