import assert from "node:assert/strict";
import { test } from "node:test";
import type { WireResult } from "@neko/protocol";
import { MAX_ENTRIES_TRACKED, PluginMetrics } from "../../src/metrics/plugin-metrics.ts";
import { NO_PROCESS_FIGURES } from "../../src/metrics/process-figures.ts";
import { type FakePlugin, fakeHostContext } from "../support/fake-host-context.ts";

type PluginProcessView = { status: FakePlugin["state"]; process: FakePlugin["process"] };

function metrics(known: Record<string, PluginProcessView>) {
  const fake = fakeHostContext(
    Object.fromEntries(Object.entries(known).map(([id, v]) => [id, { state: v.status, process: v.process }])),
  );
  const m = new PluginMetrics(fake.ctx);
  const call = (pluginId: string, entryId: string, durationMs: number, result: WireResult = { ok: true, value: 1 }) =>
    fake.call({ pluginId, entryId, runId: undefined, result, durationMs });
  return { m, call, fake };
}
const err = (code: string): WireResult => ({ ok: false, error: { name: "SdkError", code, message: "m" } });
const stopped: PluginProcessView = { status: "stopped", process: undefined };

test("calls and errors per plugin and per entry, with latency percentiles", () => {
  const { m, call } = metrics({ a: stopped });
  for (let ms = 1; ms <= 100; ms++) call("a", "work", ms);
  call("a", "fail", 3, err("ENTRY_FAILED"));
  call("a", "fail", 5, err("TIMEOUT"));
  const view = m.get("a");
  assert.equal(view?.calls, 102);
  assert.equal(view?.errors, 2);
  assert.deepEqual(view?.entries, {
    work: { calls: 100, errors: 0, p50_ms: 50, p95_ms: 95, p99_ms: 99, max_ms: 100 },
    fail: { calls: 2, errors: 2, p50_ms: 3, p95_ms: 5, p99_ms: 5, max_ms: 5 },
  });
});

test("calls that never reached the plugin, and calls of unknown plugins, are not counted", () => {
  const { m, call } = metrics({ a: stopped });
  call("a", "nope", 1, err("ENTRY_NOT_FOUND"));
  call("a", "work", 1, err("PLUGIN_NOT_RUNNING"));
  call("ghost", "work", 1);
  assert.equal(m.get("a")?.calls, 0);
  assert.deepEqual(m.get("a")?.entries, {});
  assert.equal(m.get("ghost"), undefined);
});

test("a plugin with a process shows its pid, uptime and figures; one without has nulls", () => {
  const figures = { ...NO_PROCESS_FIGURES, rss_bytes: 1234, cpu_percent: 2.5 };
  const { m } = metrics({
    up: { status: "running", process: { pid: 99, startedAt: Date.now() - 3000, figures } },
    down: stopped,
  });
  const up = m.get("up");
  assert.equal(up?.pid, 99);
  assert.equal(up?.rss_bytes, 1234);
  assert.equal(up?.cpu_percent, 2.5);
  assert.ok(up && up.uptime_s !== null && up.uptime_s >= 3);
  assert.deepEqual(m.get("down"), {
    plugin_id: "down",
    status: "stopped",
    pid: null,
    uptime_s: null,
    ...NO_PROCESS_FIGURES,
    calls: 0,
    errors: 0,
    restarts: 0,
    crashes: 0,
    entries: {},
  });
  assert.deepEqual(
    m.list().map((v) => v.plugin_id),
    ["up", "down"],
  );
});

test("past the tracked limit a new entry takes the place of the least recently called one (any id is an entry)", () => {
  const { m, call, fake } = metrics({ a: stopped });
  call("a", "e0", 1);
  call("a", "__proto__", 1);
  for (let i = 1; i < MAX_ENTRIES_TRACKED; i++) call("a", `e${i}`, 1);
  assert.equal(m.get("a")?.calls, MAX_ENTRIES_TRACKED + 1, "every call counts in the totals");
  const entries = m.get("a")?.entries ?? {};
  assert.equal(Object.keys(entries).length, MAX_ENTRIES_TRACKED);
  assert.ok(!Object.hasOwn(entries, "e0"), "the least recently called entry made room");
  assert.ok(Object.hasOwn(entries, `e${MAX_ENTRIES_TRACKED - 1}`), "the newest entry is tracked");
  assert.ok(Object.hasOwn(entries, "__proto__"), "an entry called __proto__ is listed as one");
  assert.equal(Object.getPrototypeOf(entries), Object.prototype);
  call("a", "late", 1e12);
  assert.equal(m.get("a")?.entries.late?.max_ms, 24 * 3600 * 1000, "an absurd duration is capped, not Infinity");
  fake.remove("a");
  fake.add("a");
  assert.equal(m.get("a")?.calls, 0);
});

test("crashes and the restarts after them are counted, and survive the plugin's runs; a start by hand is not a restart", () => {
  const { m, call, fake } = metrics({ a: stopped });
  for (const state of ["starting", "running"] as const) fake.setState("a", state);
  call("a", "work", 2);
  fake.setState("a", "crashed");
  fake.setState("a", "starting");
  fake.setState("a", "running");
  call("a", "work", 2);
  fake.setState("a", "quarantined");
  fake.setState("a", "starting");
  fake.setState("a", "running");
  const view = m.get("a");
  assert.deepEqual([view?.crashes, view?.restarts, view?.calls], [2, 1, 2]);
  m.dispose();
});

test("prometheus(): state, restarts, counters and a histogram per entry, process figures only for a running process", () => {
  const figures = { ...NO_PROCESS_FIGURES, rss_bytes: 5000, event_loop_lag_ms: 2, heap_used_bytes: null };
  const { m, call, fake } = metrics({
    a: { status: "running", process: { pid: 7, startedAt: Date.now(), figures } },
    'q"uote': stopped,
  });
  call("a", "work", 0.2);
  call("a", "work", 3);
  call("a", "work", 70_000, err("TIMEOUT"));
  fake.setState('q"uote', "starting");
  fake.setState('q"uote', "crashed");
  fake.setState('q"uote', "starting");
  const lines = m.prometheus().split("\n");
  const has = (line: string) => assert.ok(lines.includes(line), `missing: ${line}`);
  has('neko_plugin_state{plugin="a",state="running"} 1');
  has('neko_plugin_state{plugin="a",state="stopped"} 0');
  has('neko_plugin_state{plugin="q\\"uote",state="starting"} 1');
  has('neko_plugin_restarts_total{plugin="q\\"uote"} 1');
  has('neko_plugin_crashes_total{plugin="q\\"uote"} 1');
  has('neko_plugin_calls_total{plugin="a",entry="work"} 3');
  has('neko_plugin_call_errors_total{plugin="a",entry="work"} 1');
  has('neko_plugin_call_duration_seconds_bucket{plugin="a",entry="work",le="0.0005"} 1');
  has('neko_plugin_call_duration_seconds_bucket{plugin="a",entry="work",le="0.005"} 2');
  has('neko_plugin_call_duration_seconds_bucket{plugin="a",entry="work",le="60"} 2');
  has('neko_plugin_call_duration_seconds_bucket{plugin="a",entry="work",le="+Inf"} 3');
  has('neko_plugin_call_duration_seconds_count{plugin="a",entry="work"} 3');
  has('neko_plugin_resident_memory_bytes{plugin="a"} 5000');
  has('neko_plugin_event_loop_lag_seconds{plugin="a"} 0.002');
  assert.ok(!lines.some((l) => l.startsWith("neko_plugin_heap_used_bytes{")), "a figure not reported is absent");
  assert.ok(!lines.some((l) => l.startsWith('neko_plugin_resident_memory_bytes{plugin="q')), "no process, no figures");
  assert.equal(lines.filter((l) => l.startsWith("neko_plugin_state{")).length, 2 * 10, "every state of each plugin");
  assert.ok(lines.some((l) => /^neko_host_resident_memory_bytes \d+$/.test(l)));
  assert.ok(lines.some((l) => /^neko_build_info\{host_version="unknown",.*protocol_version="1",/.test(l)));
  m.dispose();
});

test("prometheus(): the host's drop counts come from their sources, and bad notifications are counted", () => {
  const fake = fakeHostContext({});
  const m = new PluginMetrics(fake.ctx, {
    build: { hostVersion: "9.9.9", sdkVersion: "8.8.8" },
    droppedFrames: () => 4,
    refusedConnections: () => 5,
    bus: () => ({ published: 10, dropped_total: 3, namespaces: { events: { evicted: 2 }, messages: { evicted: 1 } } }),
    logFileLinesDropped: () => 6,
  });
  fake.services.notify("no.such.method", {}, { pluginId: "p" });
  fake.services.notify("no.such.method", {}, { pluginId: "p" });
  const lines = m.prometheus().split("\n");
  for (const line of [
    "neko_transport_frames_dropped_total 4",
    "neko_transport_connections_refused_total 5",
    "neko_notifications_dropped_total 2",
    "neko_bus_events_published_total 10",
    "neko_bus_deliveries_dropped_total 3",
    'neko_bus_records_evicted_total{namespace="events"} 2',
    'neko_bus_records_evicted_total{namespace="messages"} 1',
    "neko_log_file_lines_dropped_total 6",
  ])
    assert.ok(lines.includes(line), `missing: ${line}`);
  assert.ok(lines.some((l) => l.startsWith('neko_build_info{host_version="9.9.9",sdk_version="8.8.8",')));
  m.dispose();
});

test("an adapter's gateway reports: requests by outcome and latency per stage, in the view and in prometheus()", () => {
  const { m, fake } = metrics({ gw: { status: "running", process: undefined }, plain: stopped });
  assert.equal(m.get("gw")?.gateway, undefined, "no gateway figures before the first report");
  const report = (params: unknown) => fake.services.notify("adapter.stage_timings", params, { pluginId: "gw" });
  report({
    stages: { normalize: [1, 2], policy: [3, 4], route: [5, 6], invoke: [10, 20], serialize: [1, 1], total: [20, 33] },
    outcomes: { ok: 2 },
  });
  report({ stages: { normalize: [2], policy: [0.5], serialize: [1], total: [4] }, outcomes: { policy_denied: 1 } });
  report({ stages: { total: [1] }, outcomes: { bogus: 1 } });
  assert.equal(fake.services.droppedNotifications, 1, "an unknown outcome is refused with the whole report");
  assert.deepEqual(m.get("gw")?.gateway, {
    requests: 3,
    outcomes: { ok: 2, policy_denied: 1 },
    stages: {
      normalize: { count: 3, p50_ms: 2, p95_ms: 2, p99_ms: 2, max_ms: 2 },
      policy: { count: 3, p50_ms: 3, p95_ms: 4, p99_ms: 4, max_ms: 4 },
      route: { count: 2, p50_ms: 5, p95_ms: 6, p99_ms: 6, max_ms: 6 },
      invoke: { count: 2, p50_ms: 10, p95_ms: 20, p99_ms: 20, max_ms: 20 },
      serialize: { count: 3, p50_ms: 1, p95_ms: 1, p99_ms: 1, max_ms: 1 },
      total: { count: 3, p50_ms: 20, p95_ms: 33, p99_ms: 33, max_ms: 33 },
    },
  });
  assert.equal(m.get("plain")?.gateway, undefined);
  const lines = m.prometheus().split("\n");
  assert.ok(lines.includes('neko_gateway_requests_total{plugin="gw",outcome="ok"} 2'), "ok counter");
  assert.ok(lines.includes('neko_gateway_requests_total{plugin="gw",outcome="policy_denied"} 1'), "denied counter");
  assert.ok(lines.includes('neko_gateway_stage_duration_seconds_count{plugin="gw",stage="invoke"} 2'));
  assert.ok(lines.includes('neko_gateway_stage_duration_seconds_bucket{plugin="gw",stage="total",le="+Inf"} 3'));
  assert.ok(!lines.some((l) => l.includes('plugin="plain"') && l.startsWith("neko_gateway")));
});
