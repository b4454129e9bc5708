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
