/**
 * The latest figures a plugin process reported of itself (its `pong` stats): memory, event-loop lag, and CPU use
 * worked out from the cumulative CPU times of two reports. One per process; a new process starts with none.
 */
import type { ProcessStats } from "@neko/protocol";

export interface ProcessFiguresView {
  /** CPU time over wall time between the last two reports (the first: since the process began); above 100 with threads. */
  cpu_percent: number | null;
  rss_bytes: number | null;
  heap_used_bytes: number | null;
  heap_total_bytes: number | null;
  /** Median event-loop delay over the last report's interval. */
  event_loop_lag_ms: number | null;
  event_loop_lag_max_ms: number | null;
  /** ISO time of the last report. */
  sampled_at: string | null;
}

export const NO_PROCESS_FIGURES: ProcessFiguresView = {
  cpu_percent: null,
  rss_bytes: null,
  heap_used_bytes: null,
  heap_total_bytes: null,
  event_loop_lag_ms: null,
  event_loop_lag_max_ms: null,
  sampled_at: null,
};

export class ProcessFigures {
  /** Only what the next report needs: a report may carry anything else, and is not kept. */
  private last: { cpuUs: number; uptimeMs: number } | undefined;
  private current: ProcessFiguresView = NO_PROCESS_FIGURES;

  /**
   * Takes a report (already checked: `statsProblem`). A thread plugin's (`thread`) CPU time and resident memory are
   * its runner's, the whole process's: they are null, not passed off as the plugin's. Its heap and event-loop figures
   * are its own isolate's (docs/metrics.md).
   */
  update(stats: ProcessStats, now = Date.now(), options: { thread?: boolean } = {}): void {
    const cpuUs = amount(stats.cpuUserUs) + amount(stats.cpuSystemUs);
    const uptimeMs = amount(stats.uptimeMs);
    const wallUs = (uptimeMs - (this.last?.uptimeMs ?? 0)) * 1000;
    const cpuPercent = wallUs > 0 ? round((Math.max(0, cpuUs - (this.last?.cpuUs ?? 0)) / wallUs) * 100, 1) : null;
    this.last = { cpuUs, uptimeMs };
    const thread = options.thread === true;
    this.current = {
      cpu_percent: thread ? null : (cpuPercent ?? this.current.cpu_percent),
      rss_bytes: thread ? null : amount(stats.rssBytes),
      heap_used_bytes: amount(stats.heapUsedBytes),
      heap_total_bytes: amount(stats.heapTotalBytes),
      // An interval without a sample (shorter than the plugin's sampling resolution) keeps the figures before it.
      event_loop_lag_ms: stats.loopLagP50Ms ?? this.current.event_loop_lag_ms,
      event_loop_lag_max_ms: stats.loopLagMaxMs ?? this.current.event_loop_lag_max_ms,
      sampled_at: new Date(now).toISOString(),
    };
  }

  view(): ProcessFiguresView {
    return this.current;
  }
}

/** A reported amount as a safe whole-number-sized figure: sums of two stay finite, a negative one is 0. */
function amount(value: number): number {
  return Math.min(Math.max(value, 0), Number.MAX_SAFE_INTEGER);
}

function round(value: number, digits: number): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}
