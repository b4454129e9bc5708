/**
 * Each plugin's figures, behind `GET /plugin/metrics` (docs/metrics.md): what its running process reports of itself
 * with each heartbeat (CPU, memory, event-loop lag), and what the host saw of its calls (counts, errors, and latency
 * percentiles per entry). Call figures outlive the plugin's processes and go when the plugin leaves the host.
 */
import { type Disposable, ErrorCode } from "@neko/protocol";
import { type HostContext, releaseWithPlugin } from "../host-context.ts";
import type { FinishedCall } from "../supervisor/plugin-supervisor.ts";
import type { PluginState } from "../supervisor/plugin-state.ts";
import { LatencyWindow, type LatencySummary } from "./latency-window.ts";
import { NO_PROCESS_FIGURES, type ProcessFiguresView } from "./process-figures.ts";

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
  entries: Record<string, EntryMetricsView>;
}

export interface MetricsApi {
  list(): PluginMetricsView[];
  /** Undefined for a plugin the host does not know. */
  get(pluginId: string): PluginMetricsView | undefined;
}

interface EntryCalls {
  calls: number;
  errors: number;
  latency: LatencyWindow;
  /** Which record() call touched it last: the least recent is the one to let go when the table is full. */
  lastCall: number;
}

interface PluginCalls {
  calls: number;
  errors: number;
  entries: Map<string, EntryCalls>;
}

export class PluginMetrics implements MetricsApi, Disposable {
  private readonly calls = new Map<string, PluginCalls>();
  private callCounter = 0;
  private readonly subscription: Disposable;

  constructor(private readonly ctx: HostContext) {
    this.subscription = ctx.events.onCall((call) => this.record(call));
  }

  /** On the call path: counts and one number into the entry's window; allocates only for a plugin's first call. */
  private record(call: FinishedCall): void {
    const failed = !call.result.ok;
    if (!call.result.ok && NOT_REACHED.has(call.result.error.code)) return;
    let plugin = this.calls.get(call.pluginId);
    if (!plugin) {
      const { pluginId } = call;
      plugin = { calls: 0, errors: 0, entries: new Map() };
      // Call figures outlive the plugin's processes and go when it leaves the host.
      if (!releaseWithPlugin(this.ctx, pluginId, "lifetime", () => this.calls.delete(pluginId))) return;
      this.calls.set(pluginId, plugin);
    }
    plugin.calls += 1;
    if (failed) plugin.errors += 1;
    let entry = plugin.entries.get(call.entryId);
    if (!entry) {
      // Dynamic entries come and go: the one called least recently makes room (so a live entry is always tracked).
      if (plugin.entries.size >= MAX_ENTRIES_TRACKED) plugin.entries.delete(leastRecent(plugin.entries));
      entry = { calls: 0, errors: 0, latency: new LatencyWindow(), lastCall: 0 };
      plugin.entries.set(call.entryId, entry);
    }
    entry.calls += 1;
    entry.lastCall = ++this.callCounter;
    if (failed) entry.errors += 1;
    const duration = call.durationMs;
    entry.latency.record(duration >= 0 && duration <= MAX_DURATION_MS ? duration : MAX_DURATION_MS);
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
      entries,
    };
  }

  debugCounts(): Record<string, number> {
    return { "metrics.plugins": this.calls.size };
  }

  dispose(): void {
    this.subscription.dispose();
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
