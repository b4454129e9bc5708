/**
 * Call durations counted into fixed buckets, for the Prometheus histogram of `GET /metrics` (docs/metrics.md): unlike
 * the percentile window beside it, counts add up over every call and can be summed across entries and hosts.
 * Recording is a short scan and two additions into preallocated arrays; the cumulative counts are made when read.
 */

/** Upper bounds in seconds: sub-millisecond local calls up to the 30 s default entry timeout and beyond. */
export const LATENCY_BUCKETS_SECONDS: readonly number[] = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60,
];

export interface HistogramSnapshot {
  /** Upper bounds in seconds, ascending; the implicit last bucket is `+Inf`. */
  bounds: readonly number[];
  /** Cumulative: `cumulative[i]` calls took at most `bounds[i]`; one more item than `bounds`, for `+Inf` (= count). */
  cumulative: number[];
  sumSeconds: number;
  count: number;
}

export class LatencyHistogram {
  /** Per bucket, not cumulative; the last one is `+Inf`. */
  private readonly counts: Float64Array;
  private sumSeconds = 0;
  private count = 0;

  constructor(private readonly bounds: readonly number[] = LATENCY_BUCKETS_SECONDS) {
    this.counts = new Float64Array(bounds.length + 1);
  }

  record(durationMs: number): void {
    const seconds = durationMs / 1000;
    let i = 0;
    while (i < this.bounds.length && seconds > (this.bounds[i] as number)) i += 1;
    this.counts[i] = (this.counts[i] as number) + 1;
    this.sumSeconds += seconds;
    this.count += 1;
  }

  snapshot(): HistogramSnapshot {
    const cumulative: number[] = [];
    let running = 0;
    for (const n of this.counts) {
      running += n;
      cumulative.push(running);
    }
    return { bounds: this.bounds, cumulative, sumSeconds: this.sumSeconds, count: this.count };
  }
}
