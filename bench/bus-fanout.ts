/**
 * Bus fan-out, 1 publisher → N subscriber plugins (SPEC §9 "bus fan-out to 10 subscribers"): the publisher emits
 * numbered events stamped with their send time; each subscriber records when its handler ran. Latency is emit →
 * subscriber handler, per delivery; throughput is deliveries per second of wall time. Missing or out-of-order
 * deliveries count as failed. `runBusFanoutBench()` does the whole set-up; `measureBusFanout()` uses a host you
 * already started with the plugins from `writeBusFanoutPlugins()`.
 */
import fs from "node:fs";
import { createSilentLogger, PluginHost, type PluginHostApi } from "@neko/host";
import { makeTempDir, writePlugin } from "../test/support/plugin-fixtures.ts";
import { type LatencySummary, percentile } from "./stats.ts";

export const BUS_FANOUT_EVENT = "bench.fanout";

const publisherCode = `
import { NekoPluginBase, nekoPlugin, pluginEntry, Ok } from "@neko/plugin-sdk/plugin";

@nekoPlugin
export class FanoutPublisher extends NekoPluginBase {
  // intervalMs 0: as fast as the loop goes (yielding after each burst); else one burst per interval, on a fixed schedule.
  @pluginEntry({ id: "publish", timeout: 300 })
  async publish({ count, burst, intervalMs }: { count: number; burst: number; intervalMs: number }) {
    const start = performance.now();
    for (let n = 0; n < count; n++) {
      this.bus.emit("${BUS_FANOUT_EVENT}", { n, sentAt: performance.timeOrigin + performance.now() });
      if ((n + 1) % burst !== 0) continue;
      const wait = intervalMs > 0 ? start + ((n + 1) / burst) * intervalMs - performance.now() : 0;
      await new Promise((resolve) => (wait > 0 ? setTimeout(resolve, wait) : setImmediate(resolve)));
    }
    return Ok(count);
  }
}
`;

const subscriberCode = `
import { NekoPluginBase, nekoPlugin, pluginEntry, Ok } from "@neko/plugin-sdk/plugin";

@nekoPlugin
export class FanoutSubscriber extends NekoPluginBase {
  private subscribed = false;
  private latencies: number[] = [];
  private next = 0;
  private outOfOrder = 0;
  private lastAt = 0;

  @pluginEntry({ id: "subscribe" })
  async subscribe() {
    if (!this.subscribed) {
      this.subscribed = true;
      this.bus.on("${BUS_FANOUT_EVENT}", (event: { n: number; sentAt: number }) => {
        const now = performance.timeOrigin + performance.now();
        this.latencies.push(now - event.sentAt);
        if (event.n < this.next) this.outOfOrder += 1;
        this.next = event.n + 1;
        this.lastAt = now;
      });
    }
    return await this.bus.flush();
  }

  @pluginEntry({ id: "reset" })
  reset() {
    this.latencies = [];
    this.next = 0;
    this.outOfOrder = 0;
    this.lastAt = 0;
    return Ok(null);
  }

  @pluginEntry({ id: "report" })
  report() {
    return Ok({ received: this.latencies.length, outOfOrder: this.outOfOrder, lastAt: this.lastAt, latencies: this.latencies });
  }
}
`;

export interface BusFanoutPlugins {
  publisher: string;
  subscribers: string[];
}

/** Writes the publisher and `subscribers` subscriber plugins into `root`. */
export function writeBusFanoutPlugins(root: string, subscribers = 10): BusFanoutPlugins {
  writePlugin(root, { id: "fanout_pub", className: "FanoutPublisher", code: publisherCode });
  const ids = Array.from({ length: subscribers }, (_, i) => `fanout_sub_${i}`);
  for (const id of ids) writePlugin(root, { id, className: "FanoutSubscriber", code: subscriberCode });
  return { publisher: "fanout_pub", subscribers: ids };
}

/** The bench table's latency summary, plus what was measured. */
export interface BusFanoutSummary extends LatencySummary {
  subscribers: number;
  events: number;
}

export interface MeasureBusFanoutOptions extends BusFanoutPlugins {
  host: PluginHostApi;
  /** Events to publish (default 2000). */
  events?: number;
  /** The publisher yields to its event loop after this many emits (default 10). */
  burst?: number;
  /**
   * Events per second, paced in bursts; omit to publish as fast as possible. Paced runs measure delivery latency;
   * unpaced ones measure saturated throughput (their latency is mostly queueing).
   */
  ratePerSec?: number;
  /** Events published first and not measured (default 200). */
  warmupEvents?: number;
  /**
   * How long to wait for every delivery (default 60 s); it also bounds each call to a plugin (subscribe, reset,
   * report; publish gets it on top of its pacing), so a lost answer fails the measurement naming the call instead
   * of hanging it.
   */
  timeoutMs?: number;
  /** Ctrl-C: stops between rounds and polls. */
  signal?: AbortSignal;
}

export async function measureBusFanout(options: MeasureBusFanoutOptions): Promise<BusFanoutSummary> {
  const { host, publisher, subscribers } = options;
  const events = options.events ?? 2000;
  const burst = options.burst ?? 10;
  const timeoutMs = options.timeoutMs ?? 60_000;
  // Bounded here as well as by the host: a call whose answer never comes (a lost frame, a host that never settles
  // it) fails the measurement after `limitMs`, naming the call, instead of waiting out a test runner's timeout.
  const call = async (pluginId: string, entryId: string, args: object = {}, limitMs = timeoutMs) => {
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`bus fan-out: ${pluginId}:${entryId} did not answer within ${limitMs} ms`)),
        limitMs,
      );
    });
    try {
      const result = await Promise.race([host.callEntry(pluginId, entryId, args, { timeoutMs: limitMs }), expired]);
      if (!result.ok) throw new Error(`${pluginId}:${entryId} failed: ${result.error.code}: ${result.error.message}`);
      return result.value;
    } finally {
      clearTimeout(timer);
    }
  };
  await Promise.all(subscribers.map((id) => call(id, "subscribe")));
  const round = async (count: number) => {
    await Promise.all(subscribers.map((id) => call(id, "reset")));
    const startedAt = performance.timeOrigin + performance.now();
    const intervalMs = options.ratePerSec ? (burst * 1000) / options.ratePerSec : 0;
    const pacingMs = options.ratePerSec ? (count * 1000) / options.ratePerSec : 0;
    await call(publisher, "publish", { count, burst, intervalMs }, timeoutMs + pacingMs);
    const deadline = Date.now() + timeoutMs;
    let reports: Array<{ received: number; outOfOrder: number; lastAt: number; latencies: number[] }> = [];
    for (;;) {
      options.signal?.throwIfAborted();
      reports = (await Promise.all(subscribers.map((id) => call(id, "report")))) as typeof reports;
      if (reports.every((r) => r.received >= count) || Date.now() > deadline) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    return { startedAt, reports };
  };
  const warmup = options.warmupEvents ?? 200;
  if (warmup > 0) await round(warmup);
  const droppedBefore = host.bus.stats().dropped_total;
  const { startedAt, reports } = await round(events);
  const droppedByBus = host.bus.stats().dropped_total - droppedBefore;

  const latencies = reports.flatMap((r) => r.latencies).sort((a, b) => a - b);
  const missing = reports.reduce((sum, r) => sum + Math.max(0, events - r.received), 0);
  const outOfOrder = reports.reduce((sum, r) => sum + r.outOfOrder, 0);
  const lastAt = Math.max(...reports.map((r) => r.lastAt));
  const failures: string[] = [];
  // The bus drops the oldest queued events of a subscriber that falls behind (docs/bus.md, bounded delivery): say so,
  // so a drop by design under overload is told apart from a delivery lost on the way.
  if (missing > 0) {
    const why =
      droppedByBus > 0
        ? ` (the bus dropped ${droppedByBus} of a subscriber past its queue and credit window: docs/bus.md)`
        : "";
    failures.push(`${missing} deliveries never arrived${why}`);
  }
  if (outOfOrder > 0) failures.push(`${outOfOrder} deliveries arrived out of order`);
  return {
    n: latencies.length,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    opsPerSec: lastAt > startedAt ? (latencies.length * 1000) / (lastAt - startedAt) : Number.NaN,
    failed: missing + outOfOrder,
    firstFailure: failures[0] ?? null,
    subscribers: subscribers.length,
    events,
  };
}

/** Writes the plugins to a temp folder, starts a host, measures, and cleans everything up. */
export async function runBusFanoutBench(
  options: Omit<MeasureBusFanoutOptions, "host" | "publisher" | "subscribers"> & { subscribers?: number } = {},
): Promise<BusFanoutSummary> {
  const root = makeTempDir("neko-bench-bus-");
  let host: PluginHost | undefined;
  try {
    const plugins = writeBusFanoutPlugins(root, options.subscribers ?? 10);
    host = await PluginHost.create({ roots: [root], logger: createSilentLogger() });
    await host.startAll();
    options.signal?.throwIfAborted();
    return await measureBusFanout({ ...options, ...plugins, host });
  } finally {
    await host?.stop();
    fs.rmSync(root, { recursive: true, force: true });
  }
}
