/**
 * What a plugin process reports of itself with each heartbeat `pong` (docs/metrics.md): memory, cumulative CPU time,
 * and the event-loop delay since the previous pong, from `perf_hooks.monitorEventLoopDelay` (a libuv timer sampling
 * every few ms; nothing runs per call).
 */
import { type IntervalHistogram, monitorEventLoopDelay } from "node:perf_hooks";
import type { ProcessStats } from "@neko/protocol";

/** The histogram's timer fires every this many ms; each sample is this plus the delay, so it is taken off. */
const RESOLUTION_MS = 10;

export class ProcessStatsSampler {
  private readonly loopDelay: IntervalHistogram = monitorEventLoopDelay({ resolution: RESOLUTION_MS });

  constructor() {
    this.loopDelay.enable();
  }

  /** The figures now, and the event-loop delay since the previous sample (the histogram starts over). */
  sample(): ProcessStats {
    const memory = process.memoryUsage();
    const cpu = process.cpuUsage();
    const stats: ProcessStats = {
      rssBytes: memory.rss,
      heapUsedBytes: memory.heapUsed,
      heapTotalBytes: memory.heapTotal,
      cpuUserUs: cpu.user,
      cpuSystemUs: cpu.system,
      uptimeMs: Math.round(process.uptime() * 1000),
    };
    if (this.loopDelay.count > 0) {
      stats.loopLagP50Ms = lagMs(this.loopDelay.percentile(50));
      stats.loopLagMaxMs = lagMs(this.loopDelay.max);
    }
    this.loopDelay.reset();
    return stats;
  }

  dispose(): void {
    this.loopDelay.disable();
  }
}

function lagMs(sampleNs: number): number {
  return Math.max(0, Math.round((sampleNs / 1e6 - RESOLUTION_MS) * 1000) / 1000);
}
