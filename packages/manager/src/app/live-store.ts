/**
 * What the page knows and keeps current: the plugin list (`GET /plugins`, read again when a state change may have
 * changed it), and everything `WS /ws/admin` pushes — states, runs, bus records, metrics — kept in bounded rings (one
 * per bus namespace, so a flood of events never pushes the messages out). No polling: the socket says when something
 * changed, and reconnects with a growing delay when it drops. Views redraw at most once per frame.
 */
import type { AdminMessage, BusRecord, PluginInfo, PluginMetrics, RunInfo, ServerInfo } from "./api-types.ts";
import { api, errorText, openSocket } from "./server-api.ts";

export type Connection = "connecting" | "open" | "lost";

export interface MetricsSample {
  time: number;
  cpu: number | null;
  rss: number | null;
}

export interface CrashNote {
  pluginId: string;
  reason: string | null;
  time: string;
}

const MAX_RECORDS_PER_NAMESPACE = 500;
const MAX_RUNS = 200;
const MAX_SAMPLES = 60;
const MAX_CRASHES = 20;
/** A burst of state changes reads the plugin list once, at most this long after the first of them. */
const REFRESH_DELAY_MS = 150;
export const ENDED_RUN_STATES: ReadonlySet<string> = new Set(["succeeded", "failed", "canceled", "timeout"]);

export class LiveStore {
  connection: Connection = "connecting";
  server: ServerInfo | null = null;
  plugins: PluginInfo[] = [];
  pluginsError: string | null = null;
  pluginsLoaded = false;
  metrics = new Map<string, PluginMetrics>();
  samples = new Map<string, MetricsSample[]>();
  runs = new Map<string, RunInfo>();
  crashes: CrashNote[] = [];

  readonly #bus = new Map<string, BusRecord[]>();
  readonly #listeners = new Set<() => void>();
  #socket: WebSocket | null = null;
  #retryMs = 500;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  #refreshTimer: ReturnType<typeof setTimeout> | undefined;
  /** Numbers the reads of the plugin list: an answer older than the last one applied is dropped. */
  #refreshSeq = 0;
  #appliedSeq = 0;
  #redrawScheduled = false;

  subscribe(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  start(): void {
    this.#connect();
    void this.refreshPlugins();
  }

  /** Connect again now (after the token was given). */
  restart(): void {
    const socket = this.#socket;
    this.#socket = null;
    socket?.close();
    clearTimeout(this.#retryTimer);
    this.#retryMs = 500;
    this.start();
  }

  plugin(id: string): PluginInfo | undefined {
    return this.plugins.find((p) => p.id === id);
  }

  /** The bus records kept of these namespaces (all when none is named), oldest first. */
  records(namespaces?: readonly string[]): BusRecord[] {
    const chosen = namespaces ?? [...this.#bus.keys()];
    const out = chosen.flatMap((ns) => this.#bus.get(ns) ?? []);
    return chosen.length > 1 ? out.sort((a, b) => a.ts - b.ts || a.id - b.id) : out;
  }

  async refreshPlugins(): Promise<void> {
    const seq = ++this.#refreshSeq;
    try {
      const { plugins } = await api<{ plugins: PluginInfo[] }>("GET", "/plugins");
      if (seq < this.#appliedSeq) return;
      this.#appliedSeq = seq;
      this.plugins = plugins;
      this.pluginsError = null;
    } catch (error) {
      if (seq < this.#appliedSeq) return;
      this.pluginsError = errorText(error);
    }
    this.pluginsLoaded = true;
    this.#changed();
  }

  /** Records read with `GET /bus/{namespace}`, merged with those the socket brought (by id). */
  mergeBus(namespace: string, records: readonly BusRecord[]): void {
    const kept = this.#bus.get(namespace) ?? [];
    const seen = new Set(kept.map((r) => r.id));
    const added = records.filter((r) => !seen.has(r.id));
    if (added.length === 0) return;
    const merged = [...kept, ...added].sort((a, b) => a.id - b.id);
    this.#bus.set(namespace, merged.slice(-MAX_RECORDS_PER_NAMESPACE));
    this.#changed();
  }

  /** A run the page started or read itself. */
  noteRun(run: RunInfo): void {
    this.#keepRun(run);
    this.#changed();
  }

  #connect(): void {
    const socket = openSocket("/ws/admin");
    this.#socket = socket;
    if (!socket) {
      this.#lost();
      return;
    }
    socket.onopen = () => {
      this.#retryMs = 500;
    };
    socket.onmessage = (event) => {
      if (this.#socket !== socket) return;
      let message: AdminMessage;
      try {
        message = JSON.parse(String(event.data)) as AdminMessage;
      } catch {
        return;
      }
      this.#receive(message);
    };
    socket.onclose = () => {
      if (this.#socket !== socket) return;
      this.#socket = null;
      this.#lost();
    };
  }

  #lost(): void {
    this.connection = "lost";
    this.#changed();
    clearTimeout(this.#retryTimer);
    this.#retryTimer = setTimeout(() => this.#connect(), this.#retryMs);
    this.#retryMs = Math.min(this.#retryMs * 2, 10_000);
  }

  #receive(message: AdminMessage): void {
    switch (message.type) {
      case "hello":
        this.connection = "open";
        this.server = message.server;
        for (const p of message.plugins) this.#setState(p.id, p.status, p.status_reason);
        // What changed while the socket was down: the plugin list, and the runs the page still shows as going.
        this.#refreshSoon();
        this.#rereadUnfinishedRuns();
        break;
      case "status":
        this.#setState(message.plugin_id, message.status, message.reason);
        if (message.status === "crashed" || message.status === "quarantined") {
          this.crashes = [
            { pluginId: message.plugin_id, reason: message.reason, time: message.time },
            ...this.crashes,
          ].slice(0, MAX_CRASHES);
        }
        // Entries, pid and UI come with the plugin's next listing.
        if (message.status !== "stopping") this.#refreshSoon();
        break;
      case "run":
        this.#keepRun(message.run);
        break;
      case "bus": {
        const ring = this.#bus.get(message.namespace) ?? [];
        ring.push(message.record);
        if (ring.length > MAX_RECORDS_PER_NAMESPACE) ring.splice(0, ring.length - MAX_RECORDS_PER_NAMESPACE);
        this.#bus.set(message.namespace, ring);
        break;
      }
      case "bus_delete": {
        const ring = this.#bus.get(message.namespace);
        if (!ring) return;
        const gone = new Set(message.ids);
        this.#bus.set(
          message.namespace,
          ring.filter((r) => !gone.has(r.id)),
        );
        break;
      }
      case "metrics": {
        const now = Date.now();
        for (const m of message.plugins) {
          this.metrics.set(m.plugin_id, m);
          const samples = this.samples.get(m.plugin_id) ?? [];
          samples.push({ time: now, cpu: m.cpu_percent, rss: m.rss_bytes });
          if (samples.length > MAX_SAMPLES) samples.shift();
          this.samples.set(m.plugin_id, samples);
        }
        break;
      }
      default:
        return;
    }
    this.#changed();
  }

  #setState(id: string, status: string, reason: string | null): void {
    const plugin = this.plugin(id);
    if (!plugin) return; // the next listing brings it
    plugin.status = status;
    plugin.status_reason = reason;
    if (status !== "running") plugin.pid = null;
  }

  #keepRun(run: RunInfo): void {
    this.runs.delete(run.run_id);
    this.runs.set(run.run_id, run);
    if (this.runs.size > MAX_RUNS) this.runs.delete(this.runs.keys().next().value as string);
  }

  #rereadUnfinishedRuns(): void {
    for (const run of this.runs.values()) {
      if (ENDED_RUN_STATES.has(run.status)) continue;
      api<RunInfo>("GET", `/runs/${encodeURIComponent(run.run_id)}`).then(
        (fresh) => this.noteRun(fresh),
        () => {},
      );
    }
  }

  #refreshSoon(): void {
    // Not pushed back by each new change: a steady stream of changes still reads the list every REFRESH_DELAY_MS.
    if (this.#refreshTimer !== undefined) return;
    this.#refreshTimer = setTimeout(() => {
      this.#refreshTimer = undefined;
      void this.refreshPlugins();
    }, REFRESH_DELAY_MS);
  }

  #changed(): void {
    if (this.#redrawScheduled) return;
    this.#redrawScheduled = true;
    requestAnimationFrame(() => {
      this.#redrawScheduled = false;
      for (const listener of this.#listeners) listener();
    });
  }
}

export const live = new LiveStore();
