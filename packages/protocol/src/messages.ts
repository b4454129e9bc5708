/**
 * The wire protocol between the host and a plugin process: every message type, as a discriminated union.
 * Both sides import these types; nothing here depends on the host or the SDK. Documented in docs/wire-protocol.md.
 */

import type { ExtensionStatus } from "./extension-spec.ts";

/** Bumped on any incompatible change; the host refuses a hello with another major version. */
export const PROTOCOL_VERSION = 1;

/** An error as it crosses the process boundary: the class name survives so the receiver can rebuild it. */
export interface WireError {
  name: string;
  code: string;
  message: string;
  details?: unknown;
  /**
   * Set by the host on a failure it delivers to a plugin's cross-plugin call: a token naming that failure. An entry
   * that answers with it (or with an error caused by it) carries it back, and the host names the failing call in its
   * answer (docs/cross-plugin-calls.md#errors-passed-on). The host trusts only the tokens it gave that plugin.
   */
  upstream?: string;
}

export type WireResult = { ok: true; value: unknown } | { ok: false; error: WireError };

/** What a plugin tells the host about one entry. */
export interface EntryDescriptor {
  id: string;
  name: string;
  description: string;
  inputSchema: Record<string, unknown> | null;
  kind: string;
  /** Seconds. */
  timeout: number;
  llmResultFields: string[] | null;
  /**
   * The plugin calls it once with `{}` after `startup` (and at registration, for a dynamic entry added later).
   * Optional on the wire, like `persist`, so plugins written before these fields still start: absent is `false`.
   */
  autoStart?: boolean;
  /** Whether a call saves the `static freezable` fields; `null` (or absent) follows `[plugin_state].persist_mode`. */
  persist?: boolean | null;
  enabled: boolean;
  dynamic: boolean;
  metadata: Record<string, unknown> | null;
  /** The extension whose entry this is (SPEC §3.6); absent or null for the plugin's own entries. */
  extensionId?: string | null;
}

export interface HelloMessage {
  type: "hello";
  protocol: number;
  pluginId: string;
  secret: string;
  sdkVersion: string;
  pid: number;
  entries: EntryDescriptor[];
  events: Array<{
    id: string;
    eventType: string;
    kind: string;
    triggerMethod?: string;
    name?: string;
    description?: string;
    /** Seconds. */
    timeout?: number;
  }>;
  hooks: Array<{
    id: string;
    target: string;
    timing: string;
    priority: number;
    source?: string;
    condition?: string | null;
  }>;
  /** `secondsFrom`: the configuration key the interval is read from (`seconds: "config:<key>"`), when it is. */
  timers: Array<{ id: string; seconds: number; name?: string; autoStart?: boolean; secondsFrom?: string }>;
  /** `@message` handlers. */
  messages?: Array<{ id: string; source: string | null; autoStart: boolean }>;
  /** The extensions the host asked the process to load, and how each went (absent: none asked). */
  extensions?: ExtensionStatus[];
  /**
   * The JSON Schema of the plugin's own configuration tables (its `static configSchema`; docs/config.md); absent or
   * null: free-form configuration.
   */
  configSchema?: Record<string, unknown> | null;
}

/** Sent instead of hello when the plugin's code cannot be loaded; authenticated by the same secret. */
export interface LoadFailedMessage {
  type: "load_failed";
  protocol: number;
  pluginId: string;
  secret: string;
  error: WireError;
}

export interface ReadyMessage {
  type: "ready";
  /** The startup lifecycle's result; an Err means the plugin refused to start. */
  startup: WireResult;
}

export interface ResultMessage {
  type: "result";
  id: string;
  result: WireResult;
}

export interface PongMessage {
  type: "pong";
  id: string;
  /** Optional, so a plugin that sends a bare pong still works: the host then has no process figures for it. */
  stats?: ProcessStats;
}

/**
 * What a plugin process reports of itself with each `pong`, for `GET /plugin/metrics`. CPU times are cumulative since
 * the process began, so the host can work out CPU use between any two pongs, even with one lost in between.
 */
export interface ProcessStats {
  rssBytes: number;
  heapUsedBytes: number;
  heapTotalBytes: number;
  /** `process.cpuUsage()`, microseconds. */
  cpuUserUs: number;
  cpuSystemUs: number;
  /** `process.uptime()` in ms: the clock the CPU times are divided by. */
  uptimeMs: number;
  /** Event-loop delay beyond the sampling resolution since the previous pong; absent when nothing was sampled. */
  loopLagP50Ms?: number;
  loopLagMaxMs?: number;
}

/** The plugin's entries or hooks changed (a dynamic entry, a router included or excluded, …): both lists, whole. */
export interface EntriesChangedMessage {
  type: "entries_changed";
  entries: EntryDescriptor[];
  /** Absent from plugins older than routers: the hooks of the hello stay in force. */
  hooks?: HelloMessage["hooks"];
  /** The extensions it holds now; absent: as before. */
  extensions?: ExtensionStatus[];
  /** Its timers now (an accepted configuration change may change a configured interval); absent: as before. */
  timers?: HelloMessage["timers"];
}

/** A plugin asks the host for a service (cross-plugin call, bus, memory, …); answered by `response`. */
export interface RequestMessage {
  type: "request";
  id: string;
  method: string;
  params: unknown;
  /** Absolute deadline, ms since the epoch; the host answers TIMEOUT after it. */
  deadline: number;
}

/** A plugin tells the host something that needs no answer (status report, bus emit, …). */
export interface NotifyMessage {
  type: "notify";
  method: string;
  params: unknown;
}

export type PluginToHost =
  | HelloMessage
  | LoadFailedMessage
  | ReadyMessage
  | ResultMessage
  | PongMessage
  | EntriesChangedMessage
  | RequestMessage
  | NotifyMessage;

export interface WelcomeMessage {
  type: "welcome";
}

export interface CallMessage {
  type: "call";
  id: string;
  entryId: string;
  args: unknown;
  /** Absolute deadline, ms since the epoch; the plugin never runs past it. */
  deadline: number;
  /** The time budget the deadline came from, for error messages. */
  timeoutMs: number;
  /** Plugin ids of the calls this one is nested in, outermost first (cross-plugin calls). */
  chain?: string[];
  /** Set when the call runs as part of a run (`POST /runs`). */
  runId?: string;
}

export interface CancelMessage {
  type: "cancel";
  id: string;
}

export interface ShutdownMessage {
  type: "shutdown";
  id: string;
}

export interface PingMessage {
  type: "ping";
  id: string;
}

/** The host asks the plugin runtime to do something other than an entry call; answered by `result`. */
export interface ControlMessage {
  type: "control";
  id: string;
  op: string;
  payload: unknown;
  deadline: number;
}

export interface ResponseMessage {
  type: "response";
  id: string;
  result: WireResult;
}

/** The host pushes something the plugin subscribed to (bus events, …); no answer. */
export interface PushMessage {
  type: "push";
  topic: string;
  payload: unknown;
}

export type HostToPlugin =
  | WelcomeMessage
  | CallMessage
  | CancelMessage
  | ShutdownMessage
  | PingMessage
  | ControlMessage
  | ResponseMessage
  | PushMessage;

export type AnyMessage = PluginToHost | HostToPlugin;
