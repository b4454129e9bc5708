/**
 * Each plugin's recent log records, behind `GET /plugin/{id}/logs` (docs/logging.md): every line its processes wrote
 * (pino JSON, plain stdout, stderr) and the host's own lines about its state changes. A plugin's records outlive its
 * processes (a crash is when they are wanted) and go when the plugin leaves the host.
 */
import { type Disposable, DisposableStore, Emitter } from "@neko/protocol";
import { type HostContext, releaseWithPlugin } from "../host-context.ts";
import { type LogLevel, type LogRecord, logLevelRank } from "../host-logger.ts";
import { type StateChange, stateChangeLine } from "../supervisor/plugin-state.ts";
import { LogRing } from "./log-ring.ts";

export const DEFAULT_LOG_RECORDS_KEPT = 1000;
export const DEFAULT_LOG_BYTES_KEPT = 1024 * 1024;
export const DEFAULT_LOG_LINES = 100;

export interface LogQuery {
  /** The newest this many matching records (default 100, at most `capacity`). */
  lines?: number;
  /** Only records at this level or above. */
  level?: LogLevel;
  /** Only records whose message contains this, ignoring case. */
  search?: string;
}

export interface LogRecordView {
  /** ISO time: the plugin's own for its pino lines, the host's for anything else. */
  time: string;
  level: string;
  msg: string;
  /** The process that wrote it; null for the host's lines (`source: "host"`). */
  pid: number | null;
  [field: string]: unknown;
}

export interface LogPage {
  plugin_id: string;
  /** Oldest first. */
  records: LogRecordView[];
  /** Records of this plugin pushed out of the buffer so far to stay within its bounds. */
  dropped: number;
}

export interface LogsApi {
  /** The most records kept per plugin: the largest `lines` a query may ask for. */
  readonly capacity: number;
  /** Undefined for a plugin the host does not know. */
  read(pluginId: string, query?: LogQuery): LogPage | undefined;
  /**
   * Each record the plugin writes from now on that `query` keeps (its `lines` is not used), for the log WebSocket;
   * undefined for a plugin the host does not know. Read and follow in one synchronous stretch and none is missed.
   */
  follow(pluginId: string, query: LogQuery, listener: (record: LogRecordView) => void): Disposable | undefined;
}

export interface PluginLogsOptions {
  /** Records kept per plugin (default 1000). */
  capacity?: number;
  /** Their total size per plugin, about as JSON (default 1 MiB). */
  maxBytes?: number;
}

export class PluginLogs implements LogsApi, Disposable {
  readonly capacity: number;
  private readonly maxBytes: number;
  private readonly rings = new Map<string, LogRing>();
  private readonly owned = new DisposableStore();
  private readonly added: Emitter<{ ringId: string; record: LogRecord }>;

  constructor(
    private readonly ctx: HostContext,
    options: PluginLogsOptions = {},
  ) {
    this.capacity = options.capacity ?? DEFAULT_LOG_RECORDS_KEPT;
    this.maxBytes = options.maxBytes ?? DEFAULT_LOG_BYTES_KEPT;
    this.added = this.owned.add(new Emitter((error) => ctx.logger.error({ err: error }, "a log listener failed")));
    this.owned.add(ctx.events.onLog(({ pluginId, record }) => this.add(pluginId, record)));
    this.owned.add(ctx.events.onStateChange(({ pluginId, change }) => this.addStateChange(pluginId, change)));
  }

  /** A line of one of the plugin's processes; dropped for a plugin the host no longer has (a last line after removal). */
  add(pluginId: string, record: LogRecord): void {
    let ring = this.rings.get(pluginId);
    if (!ring) {
      if (!this.ctx.plugins.has(pluginId)) return;
      ring = new LogRing(this.capacity, this.maxBytes);
      this.rings.set(pluginId, ring);
      // The records outlive the plugin's processes (a crash is when they are wanted) and go when it leaves the host.
      if (!releaseWithPlugin(this.ctx, pluginId, "lifetime", () => this.rings.delete(pluginId))) {
        this.rings.delete(pluginId);
        return;
      }
    }
    ring.push(record);
    this.added.fire({ ringId: pluginId, record });
  }

  /** The host's line about a state change of the plugin (`plugin running`, `plugin crashed` with its reason, …). */
  addStateChange(pluginId: string, change: StateChange): void {
    this.add(pluginId, stateChangeRecord(change));
  }

  /** An extension's records are those of its host plugin's process tagged with its id (docs/extensions.md). */
  read(pluginId: string, query: LogQuery = {}): LogPage | undefined {
    const selection = this.select(pluginId, query);
    if (!selection) return undefined;
    const ring = this.rings.get(selection.ringId);
    const records = ring?.newest(Math.min(query.lines ?? DEFAULT_LOG_LINES, this.capacity), selection.wanted) ?? [];
    return { plugin_id: pluginId, records: records.map(recordView), dropped: ring?.dropped ?? 0 };
  }

  follow(pluginId: string, query: LogQuery, listener: (record: LogRecordView) => void): Disposable | undefined {
    const selection = this.select(pluginId, query);
    if (!selection) return undefined;
    return this.added.event(({ ringId, record }) => {
      if (ringId === selection.ringId && selection.wanted(record)) listener(recordView(record));
    });
  }

  /** The ring that holds the plugin's records (its host plugin's, for an extension) and which of them `query` keeps. */
  private select(pluginId: string, query: LogQuery): { ringId: string; wanted: (r: LogRecord) => boolean } | undefined {
    if (!this.ctx.plugins.has(pluginId)) return undefined;
    const manifest = this.ctx.plugins.manifest(pluginId);
    const extensionOf = manifest?.type === "extension" ? manifest.host?.pluginId : undefined;
    const minRank = query.level === undefined ? 0 : logLevelRank(query.level);
    const needle = query.search?.toLowerCase();
    const wanted = (r: LogRecord) =>
      logLevelRank(r.level) >= minRank &&
      (needle === undefined || r.msg.toLowerCase().includes(needle)) &&
      (extensionOf === undefined || r.extension === pluginId);
    return { ringId: extensionOf ?? pluginId, wanted };
  }

  /** Records of the plugin pushed out of its buffer so far (0 for one that never logged). */
  droppedRecords(pluginId: string): number {
    return this.rings.get(pluginId)?.dropped ?? 0;
  }

  debugCounts(): Record<string, number> {
    return { "logs.rings": this.rings.size, "logs.listeners": this.added.size };
  }

  dispose(): void {
    this.owned.dispose();
    this.rings.clear();
  }
}

/** The host's own record of a plugin's state change, as its log buffer and its log file keep it. */
export function stateChangeRecord(change: StateChange): LogRecord {
  const { level, msg, reason } = stateChangeLine(change);
  const record: LogRecord = { time: change.time, level, msg, source: "host", state: change.state };
  if (reason !== undefined) record.reason = reason;
  return record;
}

function recordView(record: LogRecord): LogRecordView {
  const { time, level, msg, pid, ...fields } = record;
  return { time: new Date(time).toISOString(), level, msg, pid: pid ?? null, ...fields };
}
