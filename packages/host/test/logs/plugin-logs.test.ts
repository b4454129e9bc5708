import assert from "node:assert/strict";
import { test } from "node:test";
import type { LogRecord } from "../../src/host-logger.ts";
import { PluginLogs } from "../../src/logs/plugin-logs.ts";
import { fakeHostContext } from "../support/fake-host-context.ts";

function logs(known = ["a", "b"], capacity = 1000) {
  const fake = fakeHostContext(Object.fromEntries(known.map((id) => [id, {}])));
  return Object.assign(new PluginLogs(fake.ctx, { capacity }), { fake });
}
const line = (msg: string, level = "info", extra: Partial<LogRecord> = {}): LogRecord => ({
  time: Date.UTC(2026, 0, 2, 3, 4, 5),
  level,
  msg,
  pid: 42,
  ...extra,
});

test("records come back newest last, as { time (ISO), level, msg, pid, ...fields }", () => {
  const store = logs();
  store.add("a", line("first", "info", { n: 1 }));
  store.add("a", line("second", "warn", { stream: "stderr" }));
  store.add("b", line("other plugin"));
  assert.deepEqual(store.read("a"), {
    plugin_id: "a",
    records: [
      { time: "2026-01-02T03:04:05.000Z", level: "info", msg: "first", pid: 42, n: 1 },
      { time: "2026-01-02T03:04:05.000Z", level: "warn", msg: "second", pid: 42, stream: "stderr" },
    ],
    dropped: 0,
  });
  assert.deepEqual(
    store.read("b")?.records.map((r) => r.msg),
    ["other plugin"],
  );
});

test("level is a minimum, search a case-insensitive substring of msg, lines the newest that match", () => {
  const store = logs();
  for (const [msg, level] of [
    ["Disk almost full", "warn"],
    ["debugging detail", "debug"],
    ["disk FAILED", "error"],
    ["all good", "info"],
    ["disk check", "info"],
    ["the end", "fatal"],
    ["a plugin's own level", "notice"],
  ]) {
    store.add("a", line(msg as string, level as string));
  }
  const read = (query: Parameters<PluginLogs["read"]>[1]) => store.read("a", query)?.records.map((r) => r.msg);
  assert.deepEqual(read({ level: "warn" }), ["Disk almost full", "disk FAILED", "the end"]);
  assert.deepEqual(read({ level: "error" }), ["disk FAILED", "the end"]);
  assert.deepEqual(read({ level: "info" })?.length, 6, "only debug is left out; an unknown level counts as info");
  assert.deepEqual(read({ search: "DISK" }), ["Disk almost full", "disk FAILED", "disk check"]);
  assert.deepEqual(read({ search: "disk", level: "warn" }), ["Disk almost full", "disk FAILED"]);
  assert.deepEqual(read({ search: "disk", lines: 2 }), ["disk FAILED", "disk check"]);
  assert.deepEqual(read({ search: "nothing like it" }), []);
});

test("lines defaults to 100 and never passes the capacity", () => {
  const store = logs(["a"], 150);
  for (let i = 0; i < 200; i++) store.add("a", line(`line ${i}`));
  assert.equal(store.read("a")?.records.length, 100);
  assert.equal(store.read("a", { lines: 1000 })?.records.length, 150);
  assert.equal(store.read("a")?.records.at(-1)?.msg, "line 199");
  assert.equal(store.read("a")?.dropped, 50);
});

test("state changes are the host's records: pid null, source host, problem states at warn with their reason", () => {
  const store = logs();
  store.addStateChange("a", { time: 5, state: "running" });
  store.addStateChange("a", { time: 6, state: "crashed", reason: "exited with code 1; restarting in 1s" });
  store.addStateChange("a", { time: 7, state: "stopped", reason: "by hand" });
  assert.deepEqual(store.read("a")?.records, [
    {
      time: new Date(5).toISOString(),
      level: "info",
      msg: "plugin running",
      pid: null,
      source: "host",
      state: "running",
    },
    {
      time: new Date(6).toISOString(),
      level: "warn",
      msg: "plugin crashed",
      pid: null,
      source: "host",
      state: "crashed",
      reason: "exited with code 1; restarting in 1s",
    },
    {
      time: new Date(7).toISOString(),
      level: "info",
      msg: "plugin stopped: by hand",
      pid: null,
      source: "host",
      state: "stopped",
    },
  ]);
});

test("an unknown plugin has no page; a forgotten one loses its records, and late lines for it are dropped", () => {
  const store = logs(["a"]);
  assert.equal(store.read("nope"), undefined);
  assert.deepEqual(store.read("a"), { plugin_id: "a", records: [], dropped: 0 }, "known but silent: empty");
  store.add("a", line("before"));
  store.fake.remove("a");
  store.add("a", line("after removal"));
  assert.equal(store.read("a"), undefined);
  store.fake.add("a");
  assert.deepEqual(store.read("a")?.records, [], "nothing of it was kept");
});

test("a log line's fields are bounded in depth and size: a hostile line cannot blow the stack or the memory bound", async () => {
  const { parsePluginLogLine } = await import("../../src/host-logger.ts");
  let deep = "0";
  for (let i = 0; i < 30_000; i++) deep = `[${deep}]`;
  const record = parsePluginLogLine(`{"level":30,"msg":"deep","x":${deep},"ok":{"a":[1,2]}}`);
  assert.equal(record.msg, "deep");
  assert.deepEqual(record.ok, { a: [1, 2] }, "ordinary fields are kept as they are");
  assert.doesNotThrow(() => JSON.stringify(record), "the record serializes");
  assert.match(JSON.stringify(record.x), /omitted: nested too deep/);
  const wide = parsePluginLogLine(`{"msg":"wide","a":[${Array.from({ length: 21_000 }, () => "{}").join(",")}]}`);
  const a = wide.a as unknown[];
  assert.equal(a.length, 257, "256 items and a marker");
  assert.equal(a[256], "[20744 more omitted]");
  assert.ok(a.filter((item) => typeof item === "object").length <= 256);
});

test("follow sends each new record of the plugin that the query keeps, until disposed; undefined for an unknown one", () => {
  const store = logs();
  store.add("a", line("before"));
  const seen: string[] = [];
  const following = store.follow("a", { level: "warn", search: "disk" }, (r) => seen.push(`${r.level} ${r.msg}`));
  assert.ok(following);
  store.add("a", line("disk info", "info"));
  store.add("a", line("disk warning", "warn"));
  store.add("b", line("disk warning of another plugin", "warn"));
  store.add("a", line("other warning", "warn"));
  store.add("a", line("disk error", "error"));
  following.dispose();
  store.add("a", line("disk error after", "error"));
  assert.deepEqual(seen, ["warn disk warning", "error disk error"]);
  assert.equal(store.debugCounts()["logs.listeners"], 0);
  assert.equal(
    store.follow("nobody", {}, () => assert.fail("no records")),
    undefined,
  );
});
