/**
 * The durations of an entry's latest calls (1024 by default) in a fixed ring of numbers: recording one is a store
 * into a preallocated array, with no allocation, so it costs the call path nothing; percentiles are worked out
 * (sorting a copy) only when someone asks.
 */

export const DEFAULT_LATENCY_WINDOW = 1024;

export interface LatencySummary {
  p50_ms: number | null;
  p95_ms: number | null;
  p99_ms: number | null;
  max_ms: number | null;
}

export class LatencyWindow {
  private readonly samples: Float64Array;
  private next = 0;
  private count = 0;

  constructor(capacity = DEFAULT_LATENCY_WINDOW) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError("capacity must be a whole number ≥ 1");
    this.samples = new Float64Array(capacity);
  }

  get size(): number {
    return this.count;
  }

  record(durationMs: number): void {
    this.samples[this.next] = durationMs;
    this.next = (this.next + 1) % this.samples.length;
    if (this.count < this.samples.length) this.count += 1;
  }

  /** Nearest-rank percentiles and the maximum of the durations in the window; all null while it is empty. */
  summary(): LatencySummary {
    if (this.count === 0) return { p50_ms: null, p95_ms: null, p99_ms: null, max_ms: null };
    const sorted = this.samples.slice(0, this.count).sort();
    const at = (p: number) => round(sorted[Math.max(0, Math.ceil((p / 100) * this.count) - 1)] as number);
    return { p50_ms: at(50), p95_ms: at(95), p99_ms: at(99), max_ms: round(sorted[this.count - 1] as number) };
  }
}

/** Microsecond precision is plenty for a duration measured across two processes. */
function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}
