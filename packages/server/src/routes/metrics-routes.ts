/**
 * `GET /plugin/metrics` and `GET /plugin/metrics/{id}` (SPEC §5.1, docs/metrics.md): each plugin's process figures
 * (CPU, memory, event-loop lag; null when no process runs) and its calls, errors and latency percentiles per entry,
 * plus an adapter's gateway stage timings. `GET /plugin/metrics/{id}/history`: its latest process samples.
 * `GET /metrics`: the same figures and the host's own in the Prometheus text format, for a scraper.
 */
import type { FastifyInstance } from "fastify";
import type { PluginHostApi } from "@neko/host";
import { ErrorCode } from "@neko/protocol";
import { HttpError } from "../http-errors.ts";
import type { JsonSchema, RouteDoc } from "../openapi/route-doc.ts";
import { QUERY_PARAM_ERRORS, readIntParam } from "../query-params.ts";
import { pluginIdParams } from "./route-schemas.ts";

const nullableNumber = { type: ["number", "null"] };
const latency = { p50_ms: nullableNumber, p95_ms: nullableNumber, p99_ms: nullableNumber, max_ms: nullableNumber };
const pluginMetrics: JsonSchema = {
  type: "object",
  required: ["plugin_id", "pid", "calls", "errors", "entries"],
  description: "process figures are null while no process runs (docs/metrics.md)",
  properties: {
    plugin_id: { type: "string" },
    pid: { type: ["integer", "null"] },
    uptime_s: nullableNumber,
    cpu_percent: nullableNumber,
    rss_bytes: nullableNumber,
    heap_used_bytes: nullableNumber,
    heap_total_bytes: nullableNumber,
    event_loop_lag_ms: nullableNumber,
    event_loop_lag_max_ms: nullableNumber,
    calls: { type: "integer" },
    errors: { type: "integer" },
    restarts: { type: "integer", description: "automatic restarts after a crash since the host first knew the plugin" },
    crashes: { type: "integer" },
    entries: {
      type: "object",
      description: "per entry id: calls, errors and latency percentiles over its latest calls",
      additionalProperties: {
        type: "object",
        properties: {
          calls: { type: "integer" },
          errors: { type: "integer" },
          ...latency,
        },
      },
    },
    gateway: {
      type: "object",
      description:
        "an adapter's gateway pipeline (docs/adapters.md#metrics), once it has served a request: requests by " +
        "outcome (`ok` or the gateway error code) and per stage (normalize, policy, route, invoke, serialize, total) " +
        "the count and latency percentiles over its latest requests",
      properties: {
        requests: { type: "integer" },
        outcomes: { type: "object", additionalProperties: { type: "integer" } },
        stages: {
          type: "object",
          additionalProperties: { type: "object", properties: { count: { type: "integer" }, ...latency } },
        },
      },
    },
  },
  additionalProperties: true,
};

const listDoc: RouteDoc = {
  tag: "observability",
  summary: "Every plugin's CPU, memory, event-loop lag, calls, errors and latency per entry",
  responses: {
    200: {
      description: "one item per plugin the host knows",
      schema: {
        type: "object",
        required: ["plugins"],
        properties: { plugins: { type: "array", items: pluginMetrics } },
      },
    },
  },
};

const oneDoc: RouteDoc = {
  tag: "observability",
  summary: "One plugin's metrics",
  responses: { 200: { description: "the plugin's figures", schema: pluginMetrics } },
  errors: { 404: "`PLUGIN_NOT_FOUND`: no plugin with that id" },
};

const sample: JsonSchema = {
  type: "object",
  required: ["time", "pid", "cpu_percent", "rss_bytes", "heap_used_bytes", "heap_total_bytes", "event_loop_lag_ms"],
  properties: {
    time: { type: "string", format: "date-time", description: "when the process reported it" },
    pid: { type: ["integer", "null"], description: "the process that reported it" },
    cpu_percent: nullableNumber,
    rss_bytes: nullableNumber,
    heap_used_bytes: nullableNumber,
    heap_total_bytes: nullableNumber,
    event_loop_lag_ms: nullableNumber,
    event_loop_lag_max_ms: nullableNumber,
  },
};

const historyDoc: RouteDoc = {
  tag: "observability",
  summary: "One plugin's latest process samples, oldest first",
  description:
    "One sample per heartbeat report of its running process (every `interval_ms`), the fields named as in " +
    "`GET /plugin/metrics/{id}`; the latest `capacity` (120: ten minutes at the default 5 s) are kept across " +
    "restarts and crashes (`pid` tells the processes apart) until the plugin leaves the host (docs/metrics.md#history).",
  query: { limit: { type: "integer", minimum: 1, description: "only the newest this many (at most `capacity`)" } },
  responses: {
    200: {
      description: "the samples kept",
      schema: {
        type: "object",
        required: ["plugin_id", "interval_ms", "capacity", "history", "count", "time"],
        properties: {
          plugin_id: { type: "string" },
          interval_ms: { type: "integer" },
          capacity: { type: "integer" },
          history: { type: "array", items: sample, description: "oldest first" },
          count: { type: "integer", description: "how many `history` holds" },
          time: { type: "string", format: "date-time", description: "when this answer was made" },
        },
      },
    },
  },
  errors: { 400: QUERY_PARAM_ERRORS, 404: "`PLUGIN_NOT_FOUND`: no plugin with that id" },
};

/** The exposition format's media type (version 0.0.4 of the text format). */
const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

const prometheusDoc: RouteDoc = {
  tag: "observability",
  summary: "Every figure of the host and its plugins in the Prometheus text exposition format",
  description:
    "Per-plugin state, restarts, crashes, calls and errors per entry, call latency histograms, memory and " +
    "event-loop lag of each plugin process and of the host, dropped frames, bus deliveries, notifications and " +
    "log lines, uptime and build info. Counters never go down while the host runs (docs/metrics.md#get-metrics).",
  responses: {
    200: {
      description: "one `# HELP` and `# TYPE` line per metric, then its samples",
      contentType: PROMETHEUS_CONTENT_TYPE,
      schema: { type: "string" },
    },
  },
};

export function registerMetricsRoutes(app: FastifyInstance, host: PluginHostApi): void {
  app.get("/metrics", { config: { doc: prometheusDoc } }, async (_req, reply) =>
    reply.type(PROMETHEUS_CONTENT_TYPE).send(host.metrics.prometheus()),
  );

  app.get("/plugin/metrics", { config: { doc: listDoc } }, async () => ({ plugins: host.metrics.list() }));

  app.get<{ Params: { id: string } }>(
    "/plugin/metrics/:id",
    { schema: { params: pluginIdParams }, config: { doc: oneDoc } },
    async (req) => {
      const metrics = host.metrics.get(req.params.id);
      if (!metrics) throw new HttpError(ErrorCode.PluginNotFound, `no plugin with id '${req.params.id}'`);
      return metrics;
    },
  );

  app.get<{ Params: { id: string } }>(
    "/plugin/metrics/:id/history",
    { schema: { params: pluginIdParams }, config: { doc: historyDoc } },
    async (req) => {
      const limit = readIntParam(req.query as Record<string, unknown>, "limit", {
        min: 1,
        max: host.metrics.historyCapacity,
      });
      const history = host.metrics.history(req.params.id, limit);
      if (!history) throw new HttpError(ErrorCode.PluginNotFound, `no plugin with id '${req.params.id}'`);
      return history;
    },
  );
}
