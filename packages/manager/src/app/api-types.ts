/**
 * The shapes of the answers the page reads, as docs/http-api.md describes them; only the fields it shows. The page
 * is a client of the HTTP API like any other, so it does not import the server's types.
 */

export type JsonSchema = {
  type?: string | string[];
  title?: string;
  description?: string;
  default?: unknown;
  enum?: unknown[];
  const?: unknown;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  format?: string;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  additionalProperties?: boolean | JsonSchema;
};

export interface EntryInfo {
  id: string;
  name: string;
  description: string;
  input_schema: JsonSchema | null;
  kind: string;
  timeout: number | null;
  enabled: boolean;
  dynamic: boolean;
}

export interface PluginInfo {
  id: string;
  name: string;
  description: string;
  version: string;
  type: string;
  author: string | null;
  status: string;
  status_reason: string | null;
  pid: number | null;
  dir: string;
  entries: EntryInfo[];
  extensions: { id: string; state: string; reason: string | null }[];
  host_plugin_id: string | null;
  ui: { path: string; dir: string } | null;
  errors: string[];
  warnings: string[];
}

export interface PluginDetail extends PluginInfo {
  history: { time: number; state: string; reason?: string }[];
  last_exit: { code: number | null; signal: string | null; stderr: string[] } | null;
  sdk_version: string | null;
}

export interface EntryMetrics {
  calls: number;
  errors: number;
  p50_ms: number | null;
  p95_ms: number | null;
  p99_ms: number | null;
  max_ms: number | null;
}

export interface PluginMetrics {
  plugin_id: string;
  cpu_percent: number | null;
  rss_bytes: number | null;
  heap_used_bytes: number | null;
  event_loop_lag_ms: number | null;
  calls: number;
  errors: number;
  entries: Record<string, EntryMetrics>;
}

export interface ServerInfo {
  host_version: string;
  sdk_version: string;
  node_version: string;
  platform: string;
  uptime_s: number;
  server?: { started_at: string };
}

export interface RunInfo {
  run_id: string;
  kind: string;
  plugin_id: string;
  entry_id: string;
  status: string;
  progress: number | null;
  stage: string | null;
  message: string | null;
  result: unknown;
  error: { code: string; message: string; details: unknown } | null;
  created_at: string;
  finished_at: string | null;
}

export interface BusRecord {
  id: number;
  namespace: string;
  type: string;
  ts: number;
  pluginId: string | null;
  source: string;
  priority: number;
  data: unknown;
}

export interface LogRecord {
  time: string;
  level: string;
  msg: string;
  [field: string]: unknown;
}

export type AdminMessage =
  | { type: "hello"; server: ServerInfo; plugins: { id: string; status: string; status_reason: string | null }[] }
  | { type: "status"; plugin_id: string; status: string; reason: string | null; time: string }
  | { type: "run"; run: RunInfo }
  | { type: "bus"; namespace: string; record: BusRecord }
  | { type: "bus_delete"; namespace: string; ids: number[] }
  | { type: "metrics"; plugins: PluginMetrics[] }
  | { type: "error"; error: { code: string; message: string } };
