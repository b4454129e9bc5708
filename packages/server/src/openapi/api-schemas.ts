/**
 * The shared schemas of the OpenAPI document (`components.schemas`): the error body and the objects several routes
 * answer with. They describe the host's views (`PluginView`, `RunView`, …); the e2e tests check real answers against
 * them. Fastify never sees them, so they cannot change what a route sends.
 */
import { HOT_UPDATE_MODES, type MessageView, type PluginState, RUN_STATES } from "@neko/host";
import { BUS_NAMESPACES, EXTENSION_STATES } from "@neko/protocol";
import { type JsonSchema, schemaRef } from "./route-doc.ts";

/** Every plugin state; a `Record` so a new state cannot be forgotten here. */
const PLUGIN_STATES: Record<PluginState, true> = {
  stopped: true,
  starting: true,
  running: true,
  stopping: true,
  frozen: true,
  crashed: true,
  quarantined: true,
  disabled: true,
  refused: true,
  unreachable: true,
};

const MESSAGE_TYPES: Record<MessageView["message_type"], true> = {
  text: true,
  url: true,
  binary: true,
  binary_url: true,
};

const str = { type: "string" } as const;
const nullableStr = { type: ["string", "null"] } as const;
const int = { type: "integer" } as const;
const bool = { type: "boolean" } as const;
const isoTime = { type: "string", format: "date-time" } as const;
const anyValue = (description: string): JsonSchema => ({ description });
const nullOr = (schema: JsonSchema): JsonSchema => ({ anyOf: [schema, { type: "null" }] });

function object(properties: Record<string, JsonSchema>, description?: string): JsonSchema {
  return { type: "object", required: Object.keys(properties), properties, ...(description && { description }) };
}

/** A plugin's state, or an extension's (`injected`, `pending`, `disabled`, `failed`). */
const pluginStatus = { type: "string", enum: [...Object.keys(PLUGIN_STATES), ...EXTENSION_STATES] } as const;
const extensionStatus = { type: "string", enum: [...EXTENSION_STATES] } as const;

const entry = object({
  id: str,
  name: str,
  description: str,
  input_schema: { type: ["object", "null"], description: "the entry's JSON Schema; null when it has none" },
  kind: str,
  timeout: { type: "number", description: "seconds" },
  llm_result_fields: { type: ["array", "null"], items: str },
  auto_start: bool,
  persist: { type: ["boolean", "null"] },
  enabled: { type: "boolean", description: "false after this.disableEntry: calls answer 409 ENTRY_DISABLED" },
  dynamic: bool,
  metadata: {
    type: ["object", "null"],
    description: "the entry's metadata as the plugin declared it (a Python plugin's quick_action, ui_action, llm_tool)",
  },
  extension_id: {
    type: ["string", "null"],
    description: "the extension that brought the entry; null for the plugin's own",
  },
});

const plugin = object(
  {
    id: str,
    name: str,
    description: str,
    version: str,
    type: str,
    author: { type: ["object", "null"], properties: { name: str, email: str } },
    status: pluginStatus,
    status_reason: nullableStr,
    pid: { type: ["integer", "null"], description: "on the plugin's machine (a thread plugin's: its runner's)" },
    isolation: {
      type: "string",
      enum: ["process", "thread"],
      description: "[plugin_runtime] isolation: a process of its own, or a worker thread in the shared runner",
    },
    thread_id: { type: ["integer", "null"], description: "a running thread plugin's thread id in its runner" },
    machine: {
      type: "string",
      description: "'local', or the name of the remote worker the plugin runs on (docs/workers.md)",
    },
    dir: str,
    manifest_path: str,
    entries: { type: "array", items: schemaRef("Entry") },
    timers: {
      type: "array",
      items: object({ id: str, name: str, seconds: { type: "number" }, auto_start: bool }),
    },
    events: {
      type: "array",
      items: object({
        id: str,
        event_type: str,
        kind: str,
        trigger_method: nullableStr,
        name: str,
        description: str,
      }),
    },
    hooks: {
      type: "array",
      items: object({
        id: str,
        timing: str,
        target: str,
        priority: { type: "number" },
        condition: nullableStr,
        source: str,
      }),
    },
    message_handlers: { type: "array", items: object({ id: str, source: nullableStr, auto_start: bool }) },
    extensions: {
      type: "array",
      description: "the plugin's extensions (docs/extensions.md); empty for an extension",
      items: object({ id: str, state: extensionStatus, reason: nullableStr }),
    },
    host_plugin_id: { type: ["string", "null"], description: "for an extension: the plugin it extends" },
    prefix: { type: ["string", "null"], description: "for an extension: the prefix of its entry ids in its host" },
    ui: {
      type: ["object", "null"],
      properties: { path: str, dir: str },
      description: "the static UI the running plugin serves",
    },
    errors: { type: "array", items: str, description: "why the plugin is refused" },
    warnings: { type: "array", items: str },
  },
  "A plugin as GET /plugins lists it (docs/http-api.md#get-plugins)",
);

const pluginDetail = {
  allOf: [
    schemaRef("Plugin"),
    object({
      history: {
        type: "array",
        items: {
          type: "object",
          required: ["time", "state"],
          properties: {
            time: { type: "integer", description: "ms since the epoch" },
            state: pluginStatus,
            reason: str,
          },
        },
      },
      last_exit: {
        type: ["object", "null"],
        properties: { code: { type: ["integer", "null"] }, signal: nullableStr, stderr: { type: "array", items: str } },
      },
      sdk_version: nullableStr,
    }),
  ],
};

const run = object({
  run_id: str,
  kind: { type: "string", enum: ["run", "trigger"] },
  plugin_id: str,
  entry_id: str,
  task_id: { type: ["string", "null"], description: "as given to POST /runs" },
  trace_id: { type: ["string", "null"], description: "as given to POST /runs" },
  idempotency_key: { type: ["string", "null"], description: "as given to POST /runs" },
  status: { type: "string", enum: [...RUN_STATES] },
  progress: { type: ["number", "null"], description: "percent, 0–100; 100 once the run has succeeded" },
  stage: nullableStr,
  message: nullableStr,
  step: { type: ["integer", "null"], description: "step `step` of `step_total`, as the entry reports it" },
  step_total: { type: ["integer", "null"] },
  eta_seconds: { type: ["number", "null"], description: "seconds still to go, as the entry estimates them" },
  result: anyValue("the entry's value once it succeeded"),
  reply: anyValue("what the entry passed to this.finish"),
  error: nullOr(schemaRef("Error")),
  created_at: isoTime,
  started_at: { type: ["string", "null"], format: "date-time" },
  finished_at: { type: ["string", "null"], format: "date-time" },
  updated_at: isoTime,
  exports: { type: "integer", description: "how many items the run exported" },
});

const startedRun = object({
  run_id: str,
  status: { type: "string", enum: [...RUN_STATES] },
  run_token: { type: ["string", "null"], description: "a bearer secret that opens this run's own routes" },
  deduplicated: { type: "boolean", description: "true when an earlier request with this idempotency_key made it" },
});

const message = object({
  id: { type: "integer", description: "the message's cursor" },
  plugin_id: nullableStr,
  source: str,
  message_type: { type: "string", enum: Object.keys(MESSAGE_TYPES) },
  description: str,
  priority: { type: "integer", minimum: 0, maximum: 10 },
  content: nullableStr,
  binary_data: { type: ["string", "null"], description: "base64" },
  binary_url: nullableStr,
  metadata: { type: "object" },
  time: isoTime,
});

const busRecord = object({
  id: { type: "integer", description: "grows by one per record in its namespace" },
  namespace: { type: "string", enum: [...BUS_NAMESPACES] },
  type: str,
  ts: { type: "integer", description: "ms since the epoch" },
  pluginId: nullableStr,
  source: str,
  priority: int,
  data: anyValue("the event payload, message fields, lifecycle change, …"),
});

const namespaceStats = object({
  size: int,
  capacity: int,
  revision: int,
  evicted: int,
  latest_id: int,
  bytes: int,
  max_bytes: int,
});

const configWrite = object(
  {
    success: { type: "boolean", enum: [true] },
    plugin_id: str,
    mode: { type: "string", enum: [...HOT_UPDATE_MODES, "profile"] },
    config: { type: "object", description: "the new effective configuration" },
    profile: nullableStr,
    applied: { type: "boolean", description: "false: the plugin is not running and starts with it next time" },
  },
  "The answer to a configuration write",
);

const lifecycleResult = {
  ...object({
    success: { type: "boolean", enum: [true] },
    plugin_id: str,
    action: { type: "string", enum: ["start", "stop", "reload", "freeze", "unfreeze"] },
    status: { ...pluginStatus, description: "the plugin's state after the action" },
    pid: { type: ["integer", "null"] },
  }),
  description:
    "The answer to a lifecycle action, plus what the action reports (stop: forced, forced_reason, shutdown_error; " +
    "freeze: fields, file; reload?mode=config: mode, config, profile, applied)",
  additionalProperties: true,
};

const extensionResult = object(
  {
    success: { type: "boolean", enum: [true] },
    extension_id: str,
    host_plugin_id: str,
    state: { ...extensionStatus, description: "the extension's state after the action" },
    reason: nullableStr,
    enabled: { type: "boolean", description: "whether it is enabled from now on (the choice survives restarts)" },
  },
  "The answer to POST /plugin/{ext_id}/extension/enable or /disable (docs/extensions.md)",
);

export const API_SCHEMAS: Record<string, JsonSchema> = {
  Error: object(
    {
      code: { type: "string", description: "a stable upper-case code; a plugin's own codes pass through" },
      message: { type: "string", description: "one plain sentence" },
      details: anyValue("structured data, or null"),
    },
    "docs/http-api.md#status-codes lists the codes and their statuses",
  ),
  ErrorBody: { ...object({ error: schemaRef("Error") }, "Every error answer"), additionalProperties: false },
  TriggerResult: {
    type: "object",
    required: ["success", "plugin_id", "run_id", "data", "error"],
    description: "The answer to POST /plugin/trigger: entry_id for an entry, event_type and event_id for an event",
    properties: {
      success: bool,
      plugin_id: str,
      entry_id: str,
      event_type: str,
      event_id: str,
      run_id: { type: ["string", "null"], description: "null for an event handler, or when no run was made" },
      data: anyValue("the entry's value; null on failure"),
      error: nullOr(schemaRef("Error")),
    },
  },
  Entry: entry,
  Plugin: plugin,
  PluginDetail: pluginDetail,
  LifecycleResult: lifecycleResult,
  ExtensionResult: extensionResult,
  Run: run,
  StartedRun: startedRun,
  Message: message,
  BusRecord: busRecord,
  BusNamespaceStats: namespaceStats,
  ConfigWrite: configWrite,
};
