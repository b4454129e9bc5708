/**
 * The host process's own figures for `GET /metrics`: memory read when asked, and the event-loop delay measured by
 * `perf_hooks.monitorEventLoopDelay` over windows of 10 s (the last finished window is shown, so a reading does not
 * depend on how often, or by how many, it is scraped).
 */
import { monitorEventLoopDelay, type IntervalHistogram } from "node:perf_hooks";
import type { Disposable } from "@neko/protocol";

export const EVENT_LOOP_WINDOW_MS = 10_000;
/** The sampling timer's period; its own delay is not lag, so it is subtracted. */
const RESOLUTION_MS = 10;

export interface HostProcessView {
  rssBytes: number;
  heapUsedBytes: number;
  heapTotalBytes: number;
  /** Median and largest event-loop delay over the last finished window (the current one before the first ends). */
  loopLagP50Ms: number;
  loopLagMaxMs: number;
}

export class HostProcessFigures implements Disposable {
  private readonly delay: IntervalHistogram;
  private readonly window: NodeJS.Timeout;
  private last: { p50: number; max: number } | undefined;

  constructor(windowMs = EVENT_LOOP_WINDOW_MS) {
    this.delay = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
    this.delay.enable();
    this.window = setInterval(() => {
      this.last = this.read();
      this.delay.reset();
    }, windowMs);
    this.window.unref();
  }

  private read(): { p50: number; max: number } {
    // Nanoseconds, with the timer's own period in them; an empty histogram reads NaN / 0.
    const lag = (ns: number) => (Number.isFinite(ns) ? Math.max(0, ns / 1e6 - RESOLUTION_MS) : 0);
    return { p50: lag(this.delay.percentile(50)), max: lag(this.delay.max) };
  }

  view(): HostProcessView {
    const memory = process.memoryUsage();
    const lag = this.last ?? this.read();
    return {
      rssBytes: memory.rss,
      heapUsedBytes: memory.heapUsed,
      heapTotalBytes: memory.heapTotal,
      loopLagP50Ms: lag.p50,
      loopLagMaxMs: lag.max,
    };
  }

  dispose(): void {
    clearInterval(this.window);
    this.delay.disable();
  }
}
