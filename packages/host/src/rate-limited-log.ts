/**
 * Warnings that a misbehaving peer can cause once per frame, logged at most once per interval per key (plugin and
 * method, say), with how many were left out since: a flood of bad frames cannot flood the log.
 */
import type { HostLogger } from "./host-logger.ts";

/** Keys remembered at most; past that the oldest is forgotten (its next warning is logged at once). */
const MAX_KEYS = 1024;

export class RateLimitedLog {
  private readonly last = new Map<string, { at: number; suppressed: number }>();

  constructor(
    private readonly logger: HostLogger,
    private readonly intervalMs: number,
  ) {}

  warn(key: string, fields: Record<string, unknown>, message: string): void {
    const now = Date.now();
    const seen = this.last.get(key);
    if (seen && now - seen.at < this.intervalMs) {
      seen.suppressed += 1;
      return;
    }
    const suppressed = seen?.suppressed ?? 0;
    this.last.delete(key);
    this.last.set(key, { at: now, suppressed: 0 });
    if (this.last.size > MAX_KEYS) this.last.delete(this.last.keys().next().value as string);
    this.logger.warn(suppressed > 0 ? { ...fields, suppressed } : fields, message);
  }
}
