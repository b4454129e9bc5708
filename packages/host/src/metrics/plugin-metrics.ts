/**
 * Each plugin's figures, behind `GET /plugin/metrics` and `GET /metrics` (docs/metrics.md): what its running process
 * reports of itself with each heartbeat (CPU, memory, event-loop lag), what the host saw of its calls (counts, errors,
 * latency percentiles and a latency histogram per entry) and of its lifecycle (restarts, crashes). Call and lifecycle
 * figures outlive the plugin's processes, so counters never go down across a restart, and go when the plugin leaves
 * the host. An adapter's gateway adds its per-stage timings (`adapter.stage_timings` reports, docs/adapters.md#metrics).
 * `prometheus()` adds the host's own figures and drop counts.
 */
import { type Disposable, ErrorCode, PROTOCOL_VERSION } from "@neko/protocol";
import { type HostContext, releaseWithPlugin } from "../host-context.ts";
import type { FinishedCall, PluginStateChange } from "../supervisor/plugin-supervisor.ts";
import type { PluginState } from "../supervisor/plugin-state.ts";
import { GatewayStageFigures, type GatewayMetricsView } from "./gateway-stage-figures.ts";
import { HostProcessFigures } from "./host-process-figures.ts";
import { LatencyHistogram } from "./latency-histogram.ts";
import { LatencyWindow, type LatencySummary } from "./latency-window.ts";
import { MetricsHistory, type MetricsHistoryView } from "./metrics-history.ts";
import { NO_PROCESS_FIGURES, type ProcessFiguresView } from "./process-figures.ts";
import { type HostSnapshot, type PluginSnapshot, prometheusFamilies } from "./prometheus-families.ts";
import { renderPrometheusText } from "./prometheus-text.ts";

/** Entries tracked per plugin; a further one takes the place of the one called least recently (dynamic entries). */
export const MAX_ENTRIES_TRACKED = 256;

/** A call that failed with one of these never reached the plugin's code, so it is not one of its calls. */
const NOT_REACHED = new Set<string>([
  ErrorCode.PluginNotFound,
  ErrorCode.PluginNotRunning,
  ErrorCode.EntryNotFound,
  ErrorCode.EntryDisabled,
]);
/** Longer durations (a clock jump, a bad report) are recorded as this, so percentiles stay finite. */
const MAX_DURATION_MS = 24 * 3600 * 1000;

export interface EntryMetricsView extends LatencySummary {
  calls: number;
  errors: number;
}

export interface PluginMetricsView extends ProcessFiguresView {
  plugin_id: string;
  status: PluginState;
  /** The running process; null (like every process figure) when none runs. */
  pid: number | null;
  uptime_s: number | null;
  calls: number;
  errors: number;
  /** Automatic restarts after a crash, and crashes, since the host first knew the plugin. */
  restarts: number;
  crashes: number;
  entries: Record<string, EntryMetricsView>;
  /** An adapter's gateway pipeline: requests by outcome and per-stage latency; absent until its first report. */
  gateway?: GatewayMetricsView;
}

export interface MetricsApi {
  list(): PluginMetricsView[];
  /** Undefined for a plugin the host does not know. */
  get(pluginId: string): PluginMetricsView | undefined;
  /**
   * The plugin's latest process samples, one per heartbeat report, oldest first (`limit`: the newest that many);
   * undefined for a plugin the host does not know.
   */
  history(pluginId: string, limit?: number): MetricsHistoryView | undefined;
  /** The most samples `history` keeps per plugin. */
  readonly historyCapacity: number;
  /** Every figure of the host and its plugins in the Prometheus text format (`GET /metrics`). */
  prometheus(): string;
}

/** What the host counts elsewhere, read when `GET /metrics` is asked for; each defaults to none. */
export interface MetricsSources {
  build?: { hostVersion: string; sdkVersion: string };
  droppedFrames?: () => number;
  /** Connection attempts the plugin socket refused. */
  refusedConnections?: () => number;
  bus?: () => { published: number; dropped_total: number; namespaces: Record<string, { evicted: number }> };
  /** Records pushed out of a plugin's log buffer. */
  logRecordsDropped?: (pluginId: string) => number;
  /** Lines the log files could not take. */
  logFileLinesDropped?: () => number;
  /** How often plugin processes report their figures (the heartbeat interval; default 5 s), and samples kept. */
  history?: { intervalMs: number; capacity?: number };
}

interface EntryCalls {
  calls: number;
  errors: number;
  latency: LatencyWindow;
  histogram: LatencyHistogram;
  /** Which record() call touched it last: the least recent is the one to let go when the table is full. */
  lastCall: number;
}

interface PluginCalls {
  calls: number;
  errors: number;
  restarts: number;
  crashes: number;
  /** The state before the latest change: a move to `starting` from `crashed` is a restart. */
  state: PluginState | undefined;
  entries: Map<string, EntryCalls>;
  /** Made on the plugin's first `adapter.stage_timings` report. */
  gateway: GatewayStageFigures | undefined;
}

export class PluginMetrics implements MetricsApi, Disposable {
  private readonly calls = new Map<string, PluginCalls>();
  private callCounter = 0;
  private readonly subscriptions: Disposable[];
  private readonly hostProcess = new HostProcessFigures();
  private readonly startedAt = Date.now();
  private readonly samples: MetricsHistory;

  constructor(
    private readonly ctx: HostContext,
    private readonly sources: MetricsSources = {},
  ) {
    this.samples = new MetricsHistory(ctx, sources.history ?? { intervalMs: 5000 });
    this.subscriptions = [
      ctx.events.onCall((call) => this.record(call)),
      ctx.events.onStateChange((change) => this.recordState(change)),
      ctx.services.onNotify("adapter.stage_timings", (report, { pluginId }) => {
        const plugin = this.figuresOf(pluginId);
        if (!plugin) return;
        plugin.gateway ??= new GatewayStageFigures();
        plugin.gateway.record(report);
      }),
    ];
  }

  /** The plugin's figures, made on its first call or state change; undefined for a plugin the host does not supervise. */
  private figuresOf(pluginId: string): PluginCalls | undefined {
    let plugin = this.calls.get(pluginId);
    if (!plugin) {
      plugin = {
        calls: 0,
        errors: 0,
        restarts: 0,
        crashes: 0,
        state: undefined,
        entries: new Map(),
        gateway: undefined,
      };
      // Call figures outlive the plugin's processes and go when it leaves the host.
      if (!releaseWithPlugin(this.ctx, pluginId, "lifetime", () => this.calls.delete(pluginId))) return undefined;
      this.calls.set(pluginId, plugin);
    }
    return plugin;
  }

  private recordState({ pluginId, change }: PluginStateChange): void {
    const plugin = this.figuresOf(pluginId);
    if (!plugin) return;
    if (change.state === "crashed" || change.state === "quarantined") plugin.crashes += 1;
    if (change.state === "starting" && plugin.state === "crashed") plugin.restarts += 1;
    plugin.state = change.state;
  }

  /** On the call path: counts and one number into the entry's window and histogram. */
  private record(call: FinishedCall): void {
    const failed = !call.result.ok;
    if (!call.result.ok && NOT_REACHED.has(call.result.error.code)) return;
    const plugin = this.figuresOf(call.pluginId);
    if (!plugin) return;
    plugin.calls += 1;
    if (failed) plugin.errors += 1;
    let entry = plugin.entries.get(call.entryId);
    if (!entry) {
      // Dynamic entries come and go: the one called least recently makes room (so a live entry is always tracked).
      if (plugin.entries.size >= MAX_ENTRIES_TRACKED) plugin.entries.delete(leastRecent(plugin.entries));
      entry = { calls: 0, errors: 0, latency: new LatencyWindow(), histogram: new LatencyHistogram(), lastCall: 0 };
      plugin.entries.set(call.entryId, entry);
    }
    entry.calls += 1;
    entry.lastCall = ++this.callCounter;
    if (failed) entry.errors += 1;
    const duration = call.durationMs >= 0 && call.durationMs <= MAX_DURATION_MS ? call.durationMs : MAX_DURATION_MS;
    entry.latency.record(duration);
    entry.histogram.record(duration);
  }

  list(): PluginMetricsView[] {
    return this.ctx.plugins.ids().flatMap((id) => this.get(id) ?? []);
  }

  get(pluginId: string): PluginMetricsView | undefined {
    const status = this.ctx.plugins.state(pluginId);
    if (!status) return undefined;
    const proc = this.ctx.plugins.process(pluginId);
    const calls = this.calls.get(pluginId);
    // fromEntries defines each key as its own property, so an entry called `__proto__` is listed like any other.
    const entries: Record<string, EntryMetricsView> = Object.fromEntries(
      [...(calls?.entries ?? [])].map(([id, e]) => [id, { calls: e.calls, errors: e.errors, ...e.latency.summary() }]),
    );
    return {
      plugin_id: pluginId,
      status,
      pid: proc?.pid ?? null,
      uptime_s: proc ? Math.round((Date.now() - proc.startedAt) / 1000) : null,
      ...(proc?.figures ?? NO_PROCESS_FIGURES),
      calls: calls?.calls ?? 0,
      errors: calls?.errors ?? 0,
      restarts: calls?.restarts ?? 0,
      crashes: calls?.crashes ?? 0,
      entries,
      ...(calls?.gateway && { gateway: calls.gateway.view() }),
    };
  }

  history(pluginId: string, limit?: number): MetricsHistoryView | undefined {
    return this.samples.read(pluginId, limit);
  }

  get historyCapacity(): number {
    return this.samples.capacity;
  }

  prometheus(): string {
    return renderPrometheusText(prometheusFamilies(this.snapshot()));
  }

  private snapshot(): HostSnapshot {
    const { sources } = this;
    const now = Date.now();
    const plugins: PluginSnapshot[] = this.ctx.plugins.ids().flatMap((pluginId) => {
      const state = this.ctx.plugins.state(pluginId);
      if (!state) return [];
      const figures = this.calls.get(pluginId);
      const proc = this.ctx.plugins.process(pluginId);
      return [
        {
          pluginId,
          state,
          restarts: figures?.restarts ?? 0,
          crashes: figures?.crashes ?? 0,
          logRecordsDropped: sources.logRecordsDropped?.(pluginId) ?? 0,
          entries: [...(figures?.entries ?? [])].map(([entryId, e]) => ({
            entryId,
            calls: e.calls,
            errors: e.errors,
            latency: e.histogram.snapshot(),
          })),
          gateway: figures?.gateway?.snapshot(),
          process: proc && {
            uptimeSeconds: Math.max(0, now - proc.startedAt) / 1000,
            figures: proc.figures,
          },
        },
      ];
    });
    const bus = sources.bus?.();
    return {
      build: {
        hostVersion: sources.build?.hostVersion ?? "unknown",
        sdkVersion: sources.build?.sdkVersion ?? "unknown",
        protocolVersion: PROTOCOL_VERSION,
        nodeVersion: process.version,
        platform: `${process.platform}-${process.arch}`,
      },
      startedAtMs: this.startedAt,
      nowMs: now,
      process: this.hostProcess.view(),
      droppedFrames: sources.droppedFrames?.() ?? 0,
      refusedConnections: sources.refusedConnections?.() ?? 0,
      droppedNotifications: this.ctx.services.droppedNotifications,
      bus: {
        published: bus?.published ?? 0,
        droppedDeliveries: bus?.dropped_total ?? 0,
        evicted: Object.fromEntries(Object.entries(bus?.namespaces ?? {}).map(([name, n]) => [name, n.evicted])),
      },
      logFileLinesDropped: sources.logFileLinesDropped?.() ?? 0,
      plugins,
    };
  }

  debugCounts(): Record<string, number> {
    return { "metrics.plugins": this.calls.size, ...this.samples.debugCounts() };
  }

  dispose(): void {
    for (const subscription of this.subscriptions) subscription.dispose();
    this.hostProcess.dispose();
    this.samples.dispose();
    this.calls.clear();
  }
}

function leastRecent(entries: Map<string, EntryCalls>): string {
  let oldest: string | undefined;
  let oldestCall = Number.POSITIVE_INFINITY;
  for (const [id, entry] of entries) {
    if (entry.lastCall < oldestCall) {
      oldest = id;
      oldestCall = entry.lastCall;
    }
  }
  return oldest as string;
}
