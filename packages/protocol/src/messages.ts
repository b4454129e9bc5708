/**
 * The wire protocol between the host and a plugin process: every message type, as a discriminated union.
 * Both sides import these types; nothing here depends on the host or the SDK. Documented in docs/wire-protocol.md.
 */

/** Bumped on any incompatible change; the host refuses a hello with another major version. */
export const PROTOCOL_VERSION = 1;

/** An error as it crosses the process boundary: the class name survives so the receiver can rebuild it. */
export interface WireError {
  name: string;
  code: string;
  message: string;
  details?: unknown;
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
  enabled: boolean;
  dynamic: boolean;
  metadata: Record<string, unknown> | null;
}

export interface HelloMessage {
  type: "hello";
  protocol: number;
  pluginId: string;
  secret: string;
  sdkVersion: string;
  pid: number;
  entries: EntryDescriptor[];
  events: Array<{ id: string; eventType: string; kind: string }>;
  hooks: Array<{ id: string; target: string; timing: string; priority: number }>;
  timers: Array<{ id: string; seconds: number }>;
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
}

export interface EntriesChangedMessage {
  type: "entries_changed";
  entries: EntryDescriptor[];
}

export type PluginToHost =
  | HelloMessage
  | LoadFailedMessage
  | ReadyMessage
  | ResultMessage
  | PongMessage
  | EntriesChangedMessage;

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

export type HostToPlugin = WelcomeMessage | CallMessage | CancelMessage | ShutdownMessage | PingMessage;

export type AnyMessage = PluginToHost | HostToPlugin;
