/**
 * What the page knows and keeps current: the plugin list (`GET /plugins`, read again when a state change may have
 * changed it), and everything `WS /ws/admin` pushes — states, runs, bus records, metrics — kept in bounded rings. No
 * polling: the socket says when something changed, and reconnects with a growing delay when it drops.
 */
import type { AdminMessage, BusRecord, PluginInfo, PluginMetrics, RunInfo, ServerInfo } from "./api-types.ts";
import { ApiError, api, openSocket } from "./server-api.ts";

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

const MAX_BUS = 500;
const MAX_RUNS = 200;
const MAX_SAMPLES = 60;
const MAX_CRASHES = 20;

export class LiveStore {
  connection: Connection = "connecting";
  server: ServerInfo | null = null;
  plugins: PluginInfo[] = [];
  pluginsError: string | null = null;
  pluginsLoaded = false;
  metrics = new Map<string, PluginMetrics>();
  samples = new Map<string, MetricsSample[]>();
  runs = new Map<string, RunInfo>();
  bus: BusRecord[] = [];
  crashes: CrashNote[] = [];
  /** Grows with every change; views compare it to know that they should draw again. */
  revision = 0;

  readonly #listeners = new Set<() => void>();
  #socket: WebSocket | null = null;
  #retryMs = 500;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  #refreshTimer: ReturnType<typeof setTimeout> | undefined;
  #notifyScheduled = false;
  #stopped = false;

  subscribe(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  start(): void {
    this.#stopped = false;
    this.#connect();
    void this.refreshPlugins();
  }

  /** Connect again now (after the token was given). */
  restart(): void {
    this.#socket?.close();
    clearTimeout(this.#retryTimer);
    this.#retryMs = 500;
    this.start();
  }

  plugin(id: string): PluginInfo | undefined {
    return this.plugins.find((p) => p.id === id);
  }

  async refreshPlugins(): Promise<void> {
    try {
      const { plugins } = await api<{ plugins: PluginInfo[] }>("GET", "/plugins");
      this.plugins = plugins;
      this.pluginsError = null;
    } catch (error) {
      this.pluginsError = error instanceof ApiError ? error.message : String(error);
    }
    this.pluginsLoaded = true;
    this.#changed();
  }

  /** Records read with `GET /bus/{namespace}`, merged with those the socket brought (by namespace and id). */
  mergeBus(records: readonly BusRecord[]): void {
    const seen = new Set(this.bus.map((r) => `${r.namespace}:${r.id}`));
    const added = records.filter((r) => !seen.has(`${r.namespace}:${r.id}`));
    if (added.length === 0) return;
    this.bus = [...added, ...this.bus].sort((a, b) => a.ts - b.ts || a.id - b.id).slice(-MAX_BUS);
    this.#changed();
  }

  /** A run the page started itself, shown before the socket reports it. */
  noteRun(run: RunInfo): void {
    this.#keepRun(run);
    this.#changed();
  }

  #connect(): void {
    if (this.#stopped) return;
    this.connection = this.connection === "open" ? "lost" : this.connection;
    const socket = openSocket("/ws/admin");
    this.#socket = socket;
    socket.onopen = () => {
      this.#retryMs = 500;
    };
    socket.onmessage = (event) => {
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
      this.connection = "lost";
      this.#changed();
      this.#retryTimer = setTimeout(() => this.#connect(), this.#retryMs);
      this.#retryMs = Math.min(this.#retryMs * 2, 10_000);
    };
  }

  #receive(message: AdminMessage): void {
    switch (message.type) {
      case "hello":
        this.connection = "open";
        this.server = message.server;
        for (const p of message.plugins) this.#setState(p.id, p.status, p.status_reason);
        // Whatever changed while the socket was down (a plugin added, entries) is read again.
        this.#refreshSoon();
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
      case "bus":
        this.bus.push(message.record);
        if (this.bus.length > MAX_BUS) this.bus.splice(0, this.bus.length - MAX_BUS);
        break;
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
    if (!plugin) return;
    plugin.status = status;
    plugin.status_reason = reason;
    if (status !== "running") plugin.pid = null;
  }

  #keepRun(run: RunInfo): void {
    this.runs.delete(run.run_id);
    this.runs.set(run.run_id, run);
    if (this.runs.size > MAX_RUNS) this.runs.delete(this.runs.keys().next().value as string);
  }

  #refreshSoon(): void {
    clearTimeout(this.#refreshTimer);
    this.#refreshTimer = setTimeout(() => void this.refreshPlugins(), 150);
  }

  #changed(): void {
    this.revision += 1;
    if (this.#notifyScheduled) return;
    this.#notifyScheduled = true;
    // One redraw per burst of messages.
    queueMicrotask(() => {
      this.#notifyScheduled = false;
      for (const listener of this.#listeners) listener();
    });
  }
}

export const live = new LiveStore();
