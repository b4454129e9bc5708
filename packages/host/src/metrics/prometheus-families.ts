/**
 * What `GET /metrics` shows, as Prometheus families built from one snapshot of the host (docs/metrics.md#get-metrics):
 * a pure function, so the names, labels and units are checked without a host. Counters here only ever grow while the
 * host runs: a plugin's counts are kept in the host across its restarts, and go only when it leaves the host.
 */
import { PLUGIN_STATES, type PluginState } from "../supervisor/plugin-state.ts";
import type { GatewaySnapshot } from "./gateway-stage-figures.ts";
import type { HistogramSnapshot } from "./latency-histogram.ts";
import type { HostProcessView } from "./host-process-figures.ts";
import type { MetricFamily, MetricSample } from "./prometheus-text.ts";
import { formatValue } from "./prometheus-text.ts";
import type { ProcessFiguresView } from "./process-figures.ts";

export interface EntrySnapshot {
  entryId: string;
  calls: number;
  errors: number;
  latency: HistogramSnapshot;
}

export interface PluginSnapshot {
  pluginId: string;
  state: PluginState;
  restarts: number;
  crashes: number;
  logRecordsDropped: number;
  entries: EntrySnapshot[];
  /** Undefined while no process runs. */
  process: { uptimeSeconds: number; figures: ProcessFiguresView } | undefined;
  /** An adapter's gateway; undefined until its first report. */
  gateway: GatewaySnapshot | undefined;
}

export interface HostSnapshot {
  build: { hostVersion: string; sdkVersion: string; protocolVersion: number; nodeVersion: string; platform: string };
  startedAtMs: number;
  nowMs: number;
  process: HostProcessView;
  droppedFrames: number;
  refusedConnections: number;
  droppedNotifications: number;
  bus: { published: number; droppedDeliveries: number; evicted: Record<string, number> };
  logFileLinesDropped: number;
  plugins: PluginSnapshot[];
}

const MS = 1 / 1000;

export function prometheusFamilies(host: HostSnapshot): MetricFamily[] {
  const families: MetricFamily[] = [];
  const add = (name: string, type: MetricFamily["type"], help: string, samples: MetricSample[]): void => {
    families.push({ name, type, help, samples });
  };
  const one = (name: string, value: number, labels?: Record<string, string>): MetricSample => ({ name, value, labels });

  const { build } = host;
  add("neko_build_info", "gauge", "Versions of this host; always 1.", [
    one("neko_build_info", 1, {
      host_version: build.hostVersion,
      sdk_version: build.sdkVersion,
      protocol_version: String(build.protocolVersion),
      node_version: build.nodeVersion,
      platform: build.platform,
    }),
  ]);
  add("neko_host_start_time_seconds", "gauge", "When the host started, in seconds since the epoch.", [
    one("neko_host_start_time_seconds", host.startedAtMs * MS),
  ]);
  add("neko_host_uptime_seconds", "gauge", "Seconds since the host started.", [
    one("neko_host_uptime_seconds", Math.max(0, host.nowMs - host.startedAtMs) * MS),
  ]);
  const hostProcess = host.process;
  add("neko_host_resident_memory_bytes", "gauge", "Resident set size of the host process.", [
    one("neko_host_resident_memory_bytes", hostProcess.rssBytes),
  ]);
  add("neko_host_heap_used_bytes", "gauge", "JavaScript heap in use in the host process.", [
    one("neko_host_heap_used_bytes", hostProcess.heapUsedBytes),
  ]);
  add("neko_host_heap_total_bytes", "gauge", "JavaScript heap reserved by the host process.", [
    one("neko_host_heap_total_bytes", hostProcess.heapTotalBytes),
  ]);
  add("neko_host_event_loop_lag_seconds", "gauge", "Median event-loop delay of the host over the last 10 s window.", [
    one("neko_host_event_loop_lag_seconds", hostProcess.loopLagP50Ms * MS),
  ]);
  add(
    "neko_host_event_loop_lag_max_seconds",
    "gauge",
    "Largest event-loop delay of the host over the last 10 s window.",
    [one("neko_host_event_loop_lag_max_seconds", hostProcess.loopLagMaxMs * MS)],
  );
  add(
    "neko_transport_frames_dropped_total",
    "counter",
    "Frames dropped by the host: from an admitted peer before its handshake, or from a peer it did not expect.",
    [one("neko_transport_frames_dropped_total", host.droppedFrames)],
  );
  add(
    "neko_transport_connections_refused_total",
    "counter",
    "Connections to the plugin socket refused before any frame: no admission, a used one, or another process's.",
    [one("neko_transport_connections_refused_total", host.refusedConnections)],
  );
  add(
    "neko_notifications_dropped_total",
    "counter",
    "Notifications from plugins dropped for an unknown method or bad params.",
    [one("neko_notifications_dropped_total", host.droppedNotifications)],
  );
  add("neko_bus_events_published_total", "counter", "Events published on the bus.", [
    one("neko_bus_events_published_total", host.bus.published),
  ]);
  add(
    "neko_bus_deliveries_dropped_total",
    "counter",
    "Bus deliveries dropped: a subscriber's queue was full, or a batch could not be sent to it.",
    [one("neko_bus_deliveries_dropped_total", host.bus.droppedDeliveries)],
  );
  add(
    "neko_bus_records_evicted_total",
    "counter",
    "Records pushed out of a bus namespace to stay within its bounds (messages: the message queue).",
    Object.entries(host.bus.evicted).map(([namespace, n]) => one("neko_bus_records_evicted_total", n, { namespace })),
  );
  add(
    "neko_log_file_lines_dropped_total",
    "counter",
    "Log lines not written to the log files because the disk could not keep up.",
    [one("neko_log_file_lines_dropped_total", host.logFileLinesDropped)],
  );

  const plugins = host.plugins;
  add(
    "neko_plugin_state",
    "gauge",
    "1 for the plugin's current state, 0 for every other state.",
    plugins.flatMap((p) =>
      PLUGIN_STATES.map((state) => one("neko_plugin_state", state === p.state ? 1 : 0, { plugin: p.pluginId, state })),
    ),
  );
  add(
    "neko_plugin_restarts_total",
    "counter",
    "Automatic restarts of the plugin after a crash.",
    plugins.map((p) => one("neko_plugin_restarts_total", p.restarts, { plugin: p.pluginId })),
  );
  add(
    "neko_plugin_crashes_total",
    "counter",
    "Times the plugin crashed (its process exited unasked, or its start failed).",
    plugins.map((p) => one("neko_plugin_crashes_total", p.crashes, { plugin: p.pluginId })),
  );
  add(
    "neko_plugin_log_records_dropped_total",
    "counter",
    "Log records pushed out of the plugin's in-memory buffer (GET /plugin/{id}/logs).",
    plugins.map((p) => one("neko_plugin_log_records_dropped_total", p.logRecordsDropped, { plugin: p.pluginId })),
  );

  const entries = plugins.flatMap((p) =>
    p.entries.map((e) => ({ labels: { plugin: p.pluginId, entry: e.entryId }, e })),
  );
  add(
    "neko_plugin_calls_total",
    "counter",
    "Entry calls that reached the plugin.",
    entries.map(({ labels, e }) => one("neko_plugin_calls_total", e.calls, labels)),
  );
  add(
    "neko_plugin_call_errors_total",
    "counter",
    "Entry calls that ended in Err (returned, thrown, timed out, crashed).",
    entries.map(({ labels, e }) => one("neko_plugin_call_errors_total", e.errors, labels)),
  );
  add(
    "neko_plugin_call_duration_seconds",
    "histogram",
    "Duration of entry calls as the host measured them.",
    entries.flatMap(({ labels, e }) => histogramSamples("neko_plugin_call_duration_seconds", labels, e.latency)),
  );

  const gateways = plugins.flatMap((p) => (p.gateway ? [{ plugin: p.pluginId, gateway: p.gateway }] : []));
  add(
    "neko_gateway_requests_total",
    "counter",
    "Requests through an adapter's gateway pipeline, by outcome (ok or the gateway error code).",
    gateways.flatMap(({ plugin, gateway }) =>
      Object.entries(gateway.outcomes).map(([outcome, n]) =>
        one("neko_gateway_requests_total", n, { plugin, outcome }),
      ),
    ),
  );
  add(
    "neko_gateway_stage_duration_seconds",
    "histogram",
    "Duration of each stage of an adapter's gateway pipeline (stage total: the whole request).",
    gateways.flatMap(({ plugin, gateway }) =>
      gateway.stages.flatMap(({ stage, latency }) =>
        histogramSamples("neko_gateway_stage_duration_seconds", { plugin, stage }, latency),
      ),
    ),
  );

  const running = plugins.flatMap((p) => (p.process ? [{ plugin: p.pluginId, ...p.process }] : []));
  const figure = (name: string, help: string, pick: (f: ProcessFiguresView) => number | null, scale = 1): void =>
    add(
      name,
      "gauge",
      `${help} Absent while no process runs or before its first report.`,
      running.flatMap(({ plugin, figures }) => {
        const value = pick(figures);
        return value === null ? [] : [one(name, value * scale, { plugin })];
      }),
    );
  add(
    "neko_plugin_uptime_seconds",
    "gauge",
    "Seconds since the plugin's running process was started. Absent while no process runs.",
    running.map(({ plugin, uptimeSeconds }) => one("neko_plugin_uptime_seconds", uptimeSeconds, { plugin })),
  );
  figure("neko_plugin_resident_memory_bytes", "Resident set size of the plugin's process.", (f) => f.rss_bytes);
  figure("neko_plugin_heap_used_bytes", "JavaScript heap in use in the plugin's process.", (f) => f.heap_used_bytes);
  figure(
    "neko_plugin_heap_total_bytes",
    "JavaScript heap reserved by the plugin's process.",
    (f) => f.heap_total_bytes,
  );
  figure(
    "neko_plugin_cpu_percent",
    "CPU time over wall time between the plugin's last two reports, in percent.",
    (f) => f.cpu_percent,
  );
  figure(
    "neko_plugin_event_loop_lag_seconds",
    "Median event-loop delay of the plugin's process over its last report's interval.",
    (f) => f.event_loop_lag_ms,
    MS,
  );
  figure(
    "neko_plugin_event_loop_lag_max_seconds",
    "Largest event-loop delay of the plugin's process over its last report's interval.",
    (f) => f.event_loop_lag_max_ms,
    MS,
  );
  return families;
}

function histogramSamples(name: string, labels: Record<string, string>, h: HistogramSnapshot): MetricSample[] {
  const buckets = h.cumulative.map((value, i) => ({
    name: `${name}_bucket`,
    labels: { ...labels, le: i < h.bounds.length ? formatValue(h.bounds[i] as number) : "+Inf" },
    value,
  }));
  return [
    ...buckets,
    { name: `${name}_sum`, labels, value: h.sumSeconds },
    { name: `${name}_count`, labels, value: h.count },
  ];
}
