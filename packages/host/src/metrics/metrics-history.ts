/**
 * `GET /plugin/metrics/{id}/history` (docs/metrics.md#history): the latest process samples of each plugin, one per
 * heartbeat report, in a bounded ring. Samples outlive the plugin's processes (a crash is when they are wanted; `pid`
 * tells the processes apart) and go when the plugin leaves the host.
 */
import type { Disposable } from "@neko/protocol";
import { type HostContext, releaseWithPlugin } from "../host-context.ts";
import type { ProcessFiguresView } from "./process-figures.ts";

/** Samples kept per plugin: ten minutes at the default 5 s heartbeat. */
export const DEFAULT_METRICS_HISTORY_SAMPLES = 120;

export interface MetricsSample {
  /** ISO time of the report. */
  time: string;
  /** The process that reported it. */
  pid: number | null;
  cpu_percent: number | null;
  rss_bytes: number | null;
  heap_used_bytes: number | null;
  heap_total_bytes: number | null;
  event_loop_lag_ms: number | null;
  event_loop_lag_max_ms: number | null;
}

export interface MetricsHistoryView {
  plugin_id: string;
  /** How often a running process reports (the heartbeat interval): one sample each time. */
  interval_ms: number;
  /** The most samples kept. */
  capacity: number;
  /** The samples, oldest first (the original N.E.K.O.'s field name). */
  history: MetricsSample[];
  /** How many `history` holds. */
  count: number;
  /** When this answer was made (ISO 8601). */
  time: string;
}

export interface MetricsHistoryOptions {
  intervalMs: number;
  capacity?: number;
}

export class MetricsHistory implements Disposable {
  readonly intervalMs: number;
  readonly capacity: number;
  private readonly rings = new Map<string, MetricsSample[]>();
  /** The `sampled_at` of each plugin's last sample taken, so one report is one sample. */
  private readonly lastTaken = new Map<string, string>();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly ctx: HostContext,
    options: MetricsHistoryOptions,
  ) {
    this.intervalMs = options.intervalMs;
    this.capacity = options.capacity ?? DEFAULT_METRICS_HISTORY_SAMPLES;
    // Looked at twice per interval, so no report is missed; a report is taken once (by its time).
    this.timer = setInterval(() => this.take(), Math.max(50, Math.floor(this.intervalMs / 2)));
    this.timer.unref();
  }

  /** Takes the latest report of every running process that has a new one. */
  take(): void {
    for (const pluginId of this.ctx.plugins.ids()) {
      const proc = this.ctx.plugins.process(pluginId);
      if (!proc) continue;
      const figures: ProcessFiguresView = proc.figures;
      if (!figures.sampled_at || this.lastTaken.get(pluginId) === figures.sampled_at) continue;
      let ring = this.rings.get(pluginId);
      if (!ring) {
        if (!releaseWithPlugin(this.ctx, pluginId, "lifetime", () => this.forget(pluginId))) continue;
        ring = [];
        this.rings.set(pluginId, ring);
      }
      this.lastTaken.set(pluginId, figures.sampled_at);
      ring.push({
        time: figures.sampled_at,
        pid: proc.pid ?? null,
        cpu_percent: figures.cpu_percent,
        rss_bytes: figures.rss_bytes,
        heap_used_bytes: figures.heap_used_bytes,
        heap_total_bytes: figures.heap_total_bytes,
        event_loop_lag_ms: figures.event_loop_lag_ms,
        event_loop_lag_max_ms: figures.event_loop_lag_max_ms,
      });
      if (ring.length > this.capacity) ring.splice(0, ring.length - this.capacity);
    }
  }

  /** The newest `limit` samples (all kept by default), oldest first; undefined for a plugin the host does not know. */
  read(pluginId: string, limit?: number): MetricsHistoryView | undefined {
    if (!this.ctx.plugins.state(pluginId)) return undefined;
    this.take();
    const ring = this.rings.get(pluginId) ?? [];
    const samples = limit === undefined ? ring : ring.slice(Math.max(0, ring.length - limit));
    return {
      plugin_id: pluginId,
      interval_ms: this.intervalMs,
      capacity: this.capacity,
      history: [...samples],
      count: samples.length,
      time: new Date().toISOString(),
    };
  }

  private forget(pluginId: string): void {
    this.rings.delete(pluginId);
    this.lastTaken.delete(pluginId);
  }

  debugCounts(): Record<string, number> {
    return { "metricsHistory.plugins": this.rings.size };
  }

  dispose(): void {
    clearInterval(this.timer);
    this.rings.clear();
    this.lastTaken.clear();
  }
}
