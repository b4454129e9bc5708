/**
 * What a plugin process says about itself is checked before the host relies on it. A scripted runner
 * (fixtures/scripted-plugin-runner.mjs) plays the plugin over the real socket and sends what the SDK never would.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, describe, test } from "node:test";
import { createSilentLogger } from "../../src/host-logger.ts";
import { HostServices } from "../../src/host-services.ts";
import { parseManifest } from "../../src/manifest/plugin-manifest.ts";
import { type FinishedCall, PluginSupervisor } from "../../src/supervisor/plugin-supervisor.ts";
import { ZmqHostTransport } from "../../src/transport/zmq-host-transport.ts";

const runnerPath = path.join(path.dirname(fileURLToPath(import.meta.url)), "fixtures", "scripted-plugin-runner.mjs");

describe("frames from a plugin process", () => {
  let dir: string;
  let transport: ZmqHostTransport;
  let supervisor: PluginSupervisor;

  const add = (id: string) => {
    const parsed = parseManifest(`[plugin]\nid = "${id}"\nentry = "index.mjs:Scripted"\n`, { file: "plugin.toml" });
    assert.ok(parsed.ok);
    const pluginDir = path.join(dir, id);
    fs.mkdirSync(pluginDir, { recursive: true });
    supervisor.add({
      id,
      dir: pluginDir,
      manifest: parsed.manifest,
      entryModulePath: path.join(pluginDir, "index.mjs"),
    });
  };
  const errorOf = (result: { ok: boolean; error?: { code: string; message: string } }) =>
    result.ok ? "ok" : `${result.error?.code}: ${result.error?.message}`;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "neko-frames-"));
    const logger = createSilentLogger();
    transport = await ZmqHostTransport.bind(`ipc://${path.join(dir, "host.sock")}`, { logger });
    supervisor = new PluginSupervisor({
      transport,
      services: new HostServices(logger),
      runnerPath,
      logger,
      handshakeTimeoutMs: 5000,
      startupTimeoutMs: 5000,
      stopGraceMs: 1000,
      restartPolicy: { baseDelayMs: 50, maxDelayMs: 50, maxCrashes: 3, windowMs: 60_000 },
      // Pongs (and their stats) come quickly; still three missed intervals (1.5 s) before a kill.
      heartbeatIntervalMs: 500,
    });
  });
  after(async () => {
    await supervisor.stopAll();
    await transport.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test("a hello in another protocol version refuses the plugin with the reason; it is not restarted", async () => {
    add("protocol_99");
    const result = await supervisor.start("protocol_99");
    assert.match(errorOf(result), /^HANDSHAKE_FAILED: the plugin speaks protocol 99; this host speaks 1$/);
    await new Promise((r) => setTimeout(r, 300));
    const status = supervisor.status("protocol_99");
    assert.equal(status?.state, "refused");
    assert.match(status?.reason ?? "", /protocol 99/);
    assert.ok(!status?.history.some((h) => h.state === "crashed" || h.state === "quarantined"), "never a crash");
  });

  test("a hello with malformed descriptor lists refuses the plugin, naming the problem", async () => {
    const cases: Array<[string, RegExp]> = [
      ["entries_not_a_list", /'entries' must be an array \(got 5\)/],
      ["entry_without_id", /entries\[0\]\.id must be a non-empty string \(got 7\)/],
      ["events_not_a_list", /'events' must be an array/],
      ["month_timeout", /entries\[0\] \('slow'\) has an invalid 'timeout' \(2592000\): it must be a number of seconds/],
      ["infinite_timeout", /entries\[0\] \('forever'\) has an invalid 'timeout' \(Infinity\)/],
      ["persist_as_text", /entries\[0\] \('save'\) has an invalid 'persist' \('yes'\)/],
      ["extensions_not_a_list", /'extensions' must be an array/],
      ["extension_bad_state", /extensions\[0\] has state "running" \(injected or failed\)/],
      ["extension_id_as_number", /entries\[0\] \('x'\) has an invalid 'extensionId' \(5\)/],
      ["huge_metadata", /entries\[1\] \('big'\): its 'metadata' is 70011 bytes as JSON: at most 65536 are allowed/],
      ["deep_schema", /entries\[0\] \('deep'\): its 'inputSchema' nests deeper than 64 levels/],
      ["huge_event_schema", /events\[0\] \('e'\): its 'inputSchema' is 70013 bytes as JSON/],
    ];
    for (const [id, reason] of cases) {
      add(id);
      const result = await supervisor.start(id);
      assert.match(errorOf(result), /^HANDSHAKE_FAILED: the plugin's hello is malformed: /, id);
      assert.match(errorOf(result), reason, id);
      assert.equal(supervisor.status(id)?.state, "refused", id);
    }
  });

  test("a load failure seen only on stderr (the frame lost to the exit) still refuses the plugin with its reason", async () => {
    add("load_failed_stderr_only");
    const result = await supervisor.start("load_failed_stderr_only");
    assert.equal(errorOf(result), "PLUGIN_LOAD_FAILED: index.mjs does not export a class named 'X'");
    const status = supervisor.status("load_failed_stderr_only");
    assert.equal(status?.state, "refused");
    assert.ok(!status?.history.some((h) => h.state === "crashed"), "never counted as a crash");
  });

  test("a ready frame without a result fails the start with the reason instead of throwing", async () => {
    add("bad_ready");
    const result = await supervisor.start("bad_ready");
    assert.match(errorOf(result), /ready with a malformed result/);
    assert.notEqual(supervisor.status("bad_ready")?.state, "running");
    await supervisor.stop("bad_ready");
  });

  test("a plugin's report of an autoStart entry it ran is a finished call; a report that is not one is dropped", async () => {
    const calls: FinishedCall[] = [];
    const subscription = supervisor.onCall((call) => calls.push(call));
    try {
      add("auto_reporter");
      assert.equal(errorOf(await supervisor.start("auto_reporter")), "ok");
      for (let i = 0; i < 200 && calls.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
      // The bad reports were sent first: once the good one is in, they have been dealt with.
      assert.deepEqual(calls, [
        {
          pluginId: "auto_reporter",
          entryId: "warm",
          runId: undefined,
          result: { ok: true, value: "warm" },
          durationMs: 12,
        },
      ]);
    } finally {
      subscription.dispose();
    }
  });

  test("malformed entries_changed and result frames are dropped; the plugin's entries and calls go on", async () => {
    add("scripted");
    assert.equal(errorOf(await supervisor.start("scripted")), "ok");
    const broken = await supervisor.call("scripted", "break", {});
    assert.deepEqual(broken, { ok: true, value: "pong" }, "the malformed result was skipped for the real one");
    assert.deepEqual(
      supervisor.status("scripted")?.entries?.map((e) => e.id),
      ["ping", "break"],
    );
    assert.deepEqual(supervisor.status("scripted")?.hello?.hooks, [], "the hooks of the hello stay too");
    assert.deepEqual(await supervisor.call("scripted", "ping", {}), { ok: true, value: "pong" });
  });

  test("a pong's stats become the process figures; bad stats are dropped and a bare pong still counts", async () => {
    for (const id of ["stats_reporter", "bad_stats", "bare_pong"]) {
      add(id);
      assert.equal(errorOf(await supervisor.start(id)), "ok", id);
    }
    const figures = (id: string) => supervisor.status(id)?.process?.figures;
    for (let i = 0; i < 500 && (figures("stats_reporter")?.rss_bytes ?? 0) < 1003; i++) {
      await new Promise((r) => setTimeout(r, 10));
    }
    const reported = figures("stats_reporter");
    assert.ok((reported?.rss_bytes ?? 0) >= 1003, "three pongs with stats arrived");
    assert.equal(reported?.cpu_percent, 50);
    assert.equal(reported?.heap_used_bytes, 10);
    assert.equal(reported?.heap_total_bytes, 20);
    assert.equal(reported?.event_loop_lag_ms, 1.5);
    assert.equal(reported?.event_loop_lag_max_ms, 4);
    assert.ok(reported?.sampled_at);
    // Started right after it, at the same interval, the others have answered a ping or two by now.
    for (const id of ["bad_stats", "bare_pong"]) {
      assert.equal(supervisor.status(id)?.state, "running", `${id} is alive: its pongs count`);
      assert.equal(figures(id)?.rss_bytes, null, id);
      assert.equal(figures(id)?.cpu_percent, null, id);
    }
    for (const id of ["stats_reporter", "bad_stats", "bare_pong"]) await supervisor.stop(id);
  });
});
