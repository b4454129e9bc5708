/**
 * `GET /metrics` over a real plugin process: the text passes a strict Prometheus parser, and its counters follow what
 * really happened — calls_total grows by exactly the calls made, errors by the Errs, a crash adds one restart and one
 * crash and resets nothing, process figures appear once the plugin has reported them.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import { after, before, describe, test } from "node:test";
import { Dealer } from "zeromq";
import { makeTempDir, waitFor, writePlugin } from "../support/plugin-fixtures.ts";
import { type Exposition, parsePrometheusText } from "../support/prometheus-parser.ts";
import { startTestHost, type TestHost } from "../support/test-host.ts";

const counterCode = `
import { NekoPluginBase, nekoPlugin, pluginEntry, Ok, Err, SdkError } from "@neko/plugin-sdk/plugin";

@nekoPlugin
export class Counter extends NekoPluginBase {
  private n = 0;

  @pluginEntry({ id: "add" })
  add() {
    this.n += 1;
    return Ok(this.n);
  }

  @pluginEntry({ id: "refuse" })
  refuse() {
    return Err(new SdkError("refused on purpose", "REFUSED"));
  }

  @pluginEntry({ id: "crash" })
  crash() {
    setTimeout(() => process.exit(3), 10);
    return Ok("bye");
  }
}
`;

describe("GET /metrics", () => {
  let root: string;
  let t: TestHost;
  const scrape = async (): Promise<Exposition> => {
    const res = await fetch(`${t.url}/metrics`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("content-type"), "text/plain; version=0.0.4; charset=utf-8");
    return parsePrometheusText(await res.text());
  };
  const of = (entry: string) => ({ plugin: "counter", entry });
  const pidOf = async () => (await t.request("GET", "/plugins/counter")).body.pid as number | null;

  before(async () => {
    root = makeTempDir();
    writePlugin(root, { id: "counter", className: "Counter", code: counterCode });
    t = await startTestHost({
      roots: [root],
      heartbeatIntervalMs: 300,
      restartPolicy: { baseDelayMs: 100, maxDelayMs: 100, maxCrashes: 5, windowMs: 60_000 },
    });
  });
  after(async () => {
    await t.close();
    fs.rmSync(root, { recursive: true, force: true });
  });

  test("a fresh host: every family has HELP and TYPE, the plugin is running, nothing counted yet", async () => {
    const m = await scrape();
    assert.equal(m.value("neko_plugin_state", { plugin: "counter", state: "running" }), 1);
    assert.equal(m.value("neko_plugin_state", { plugin: "counter", state: "crashed" }), 0);
    assert.equal(m.value("neko_plugin_restarts_total", { plugin: "counter" }), 0);
    assert.equal(m.value("neko_plugin_calls_total", of("add")), undefined);
    assert.equal(m.value("neko_build_info", m.samples("neko_build_info")[0]?.labels), 1);
    assert.equal(m.samples("neko_build_info")[0]?.labels.protocol_version, "1");
    assert.ok((m.value("neko_host_resident_memory_bytes") ?? 0) > 10 * 1024 * 1024, "the host's RSS, in bytes");
    assert.ok((m.value("neko_host_uptime_seconds") ?? -1) >= 0);
    for (const name of [
      "neko_transport_frames_dropped_total",
      "neko_transport_connections_refused_total",
      "neko_notifications_dropped_total",
      "neko_bus_deliveries_dropped_total",
      "neko_log_file_lines_dropped_total",
    ])
      assert.equal(m.value(name), 0, name);
    for (const family of [
      "neko_plugin_calls_total",
      "neko_plugin_call_duration_seconds",
      "neko_host_event_loop_lag_seconds",
    ])
      assert.ok(m.families.has(family), `${family} is described even before it has samples`);
  });

  test("calls and errors grow by exactly the calls made; the histogram counts each one", async () => {
    const before = await scrape();
    for (let i = 0; i < 7; i++) assert.equal((await t.trigger("counter", "add")).status, 200);
    for (let i = 0; i < 3; i++) assert.equal((await t.trigger("counter", "refuse")).status, 422);
    const m = await scrape();
    const grew = (name: string, labels: Record<string, string>) =>
      (m.value(name, labels) ?? 0) - (before.value(name, labels) ?? 0);
    assert.equal(grew("neko_plugin_calls_total", of("add")), 7);
    assert.equal(grew("neko_plugin_call_errors_total", of("add")), 0);
    assert.equal(grew("neko_plugin_calls_total", of("refuse")), 3);
    assert.equal(grew("neko_plugin_call_errors_total", of("refuse")), 3);
    assert.equal(
      m.value("neko_plugin_call_duration_seconds_count", of("add")),
      m.value("neko_plugin_calls_total", of("add")),
    );
    assert.equal(m.value("neko_plugin_call_duration_seconds_bucket", { ...of("add"), le: "+Inf" }), 7);
    const sum = m.value("neko_plugin_call_duration_seconds_sum", of("add")) ?? 0;
    assert.ok(sum > 0 && sum < 7 * 30, `the sum is in seconds (${sum})`);
  });

  test("a crash: one restart and one crash more, the plugin running again, and no counter reset", async () => {
    const before = await scrape();
    const oldPid = await pidOf();
    assert.equal((await t.trigger("counter", "crash")).status, 200);
    await waitFor(
      async () => {
        const pid = await pidOf();
        return pid !== null && pid !== oldPid && (await t.request("GET", "/plugins/counter")).body.status === "running";
      },
      { what: "the restarted plugin" },
    );
    assert.equal((await t.trigger("counter", "add")).body.data, 1, "a new process: its own count starts again");
    const m = await scrape();
    assert.equal(m.value("neko_plugin_restarts_total", { plugin: "counter" }), 1);
    assert.equal(m.value("neko_plugin_crashes_total", { plugin: "counter" }), 1);
    assert.equal(m.value("neko_plugin_state", { plugin: "counter", state: "running" }), 1);
    const addCalls = before.value("neko_plugin_calls_total", of("add")) ?? 0;
    assert.equal(
      m.value("neko_plugin_calls_total", of("add")),
      addCalls + 1,
      "the host's total went on from where it was",
    );
    assert.equal(
      m.value("neko_plugin_call_errors_total", of("refuse")),
      before.value("neko_plugin_call_errors_total", of("refuse")),
    );
  });

  test("the running process's figures appear once it has reported them", async () => {
    // The first report carries memory; the event-loop delay needs an interval with samples in it.
    const m = await waitFor(
      async () => {
        const scraped = await scrape();
        const reported = ["neko_plugin_resident_memory_bytes", "neko_plugin_event_loop_lag_seconds"].every(
          (name) => scraped.value(name, { plugin: "counter" }) !== undefined,
        );
        return reported ? scraped : undefined;
      },
      { what: "the plugin's reports" },
    );
    assert.ok((m.value("neko_plugin_resident_memory_bytes", { plugin: "counter" }) ?? 0) > 10 * 1024 * 1024);
    assert.ok((m.value("neko_plugin_heap_used_bytes", { plugin: "counter" }) ?? 0) > 0);
    const lag = m.value("neko_plugin_event_loop_lag_seconds", { plugin: "counter" });
    assert.ok(lag !== undefined && lag >= 0 && lag < 10, `lag in seconds (${lag})`);
    assert.ok((m.value("neko_plugin_uptime_seconds", { plugin: "counter" }) ?? -1) >= 0);
  });

  test("a connection the plugin socket refuses is counted, next to the dropped frames, and drops no frame", async () => {
    const before = await scrape();
    const refusedBefore = before.value("neko_transport_connections_refused_total") ?? -1;
    assert.equal(refusedBefore, t.host.info().refused_connections, "the same count as /server/info");
    // A peer the host did not launch: no CURVE keys, so its handshake is refused before any frame.
    const intruder = new Dealer({ linger: 0 });
    intruder.connect(t.host.endpoint);
    try {
      void intruder.send(Buffer.from("not a frame")).catch(() => undefined);
      await waitFor(() => t.host.info().refused_connections > refusedBefore, { what: "the connection to be refused" });
    } finally {
      intruder.close();
    }
    const m = await scrape();
    const refused = m.value("neko_transport_connections_refused_total") ?? 0;
    assert.ok(refused > refusedBefore, `the counter grew (${refusedBefore} → ${refused})`);
    assert.ok(refused <= t.host.info().refused_connections, "it never runs ahead of the host's own count");
    assert.equal(m.families.get("neko_transport_connections_refused_total")?.type, "counter");
    assert.equal(
      m.value("neko_transport_frames_dropped_total"),
      before.value("neko_transport_frames_dropped_total"),
      "no frame of it even arrived to be dropped",
    );
  });
});
