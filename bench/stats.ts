/** Percentiles and summaries of latency samples, and the unit formatting the bench table uses. */

export interface LatencySummary {
  /** Successful operations measured (warm-up excluded); the percentiles are over these. */
  n: number;
  p50Ms: number;
  p99Ms: number;
  /** Successful operations per second of wall time. */
  opsPerSec: number;
  /** Operations that failed (error, wrong answer, timeout): counted, not timed. */
  failed: number;
  /** What the first failure said, to tell a bench bug from a product bug. */
  firstFailure: string | null;
}

export interface Failures {
  count: number;
  first: string | null;
}

/** Nearest-rank percentile of an ascending array (p in 0..100). */
export function percentile(sortedAsc: readonly number[], p: number): number {
  if (sortedAsc.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sortedAsc.length);
  return sortedAsc[Math.min(sortedAsc.length, Math.max(1, rank)) - 1];
}

export function sortedAscending(values: readonly number[]): number[] {
  return [...values].sort((a, b) => a - b);
}

export function summarize(latenciesMs: readonly number[], elapsedMs: number, failures: Failures): LatencySummary {
  const sorted = sortedAscending(latenciesMs);
  return {
    n: sorted.length,
    p50Ms: percentile(sorted, 50),
    p99Ms: percentile(sorted, 99),
    opsPerSec: elapsedMs > 0 ? (sorted.length * 1000) / elapsedMs : Number.NaN,
    failed: failures.count,
    firstFailure: failures.first,
  };
}

/** Counts a failure, keeping the first message. */
/**
 * The median of several runs of one measurement, field by field (p50, p99 and ops/s each their own median; counts
 * summed): what the alternating rounds of the `transport` group report.
 */
export function medianSummary(runs: readonly LatencySummary[]): LatencySummary {
  const median = (pick: (s: LatencySummary) => number) => {
    const values = sortedAscending(runs.map(pick));
    const mid = values.length >> 1;
    return values.length % 2 === 1 ? values[mid] : (values[mid - 1] + values[mid]) / 2;
  };
  return {
    n: runs.reduce((sum, r) => sum + r.n, 0),
    p50Ms: median((r) => r.p50Ms),
    p99Ms: median((r) => r.p99Ms),
    opsPerSec: median((r) => r.opsPerSec),
    failed: runs.reduce((sum, r) => sum + r.failed, 0),
    firstFailure: runs.find((r) => r.firstFailure !== null)?.firstFailure ?? null,
  };
}

export function recordFailure(failures: Failures, what: unknown): void {
  failures.count += 1;
  failures.first ??= what instanceof Error ? what.message : String(what);
}

/** Milliseconds since `start` (a `process.hrtime.bigint()` reading). */
export function msSince(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e6;
}

/** A duration in the unit that keeps three significant digits readable: µs, ms or s. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return "—";
  if (ms < 1) return `${(ms * 1000).toFixed(ms < 0.01 ? 1 : 0)} µs`;
  if (ms < 1000) return `${ms.toFixed(ms < 10 ? 2 : ms < 100 ? 1 : 0)} ms`;
  return `${(ms / 1000).toFixed(2)} s`;
}

export function formatRate(opsPerSec: number): string {
  if (!Number.isFinite(opsPerSec)) return "—";
  return Math.round(opsPerSec).toLocaleString("en-US");
}

export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes)) return "—";
  return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
}

export function formatRatio(ratio: number): string {
  if (!Number.isFinite(ratio)) return "—";
  return `${ratio.toFixed(ratio < 10 ? 2 : 1)}×`;
}

/** Megabytes (10^6 bytes) per second, three significant digits. */
export function formatMegabytesPerSec(mbPerSec: number): string {
  if (!Number.isFinite(mbPerSec)) return "—";
  return mbPerSec.toFixed(mbPerSec < 10 ? 2 : mbPerSec < 100 ? 1 : 0);
}
