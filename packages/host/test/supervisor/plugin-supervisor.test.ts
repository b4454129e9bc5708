/**
 * The supervisor in-process: scripted plugins over a `MemoryHostTransport` (test/support), no processes or sockets.
 * Handshake, crashes, deadlines, cancels, heartbeats, stops and the restart policy, each with the timing shrunk so
 * the whole file runs in about a second. The same behaviour through real processes is in test/e2e.
 */
import assert from "node:assert/strict";
import { afterEach, describe, test } from "node:test";
import { Canceler, type WireResult } from "@neko/protocol";
import { createSilentLogger } from "../../src/host-logger.ts";
import { HostServices } from "../../src/host-services.ts";
import { parseManifest } from "../../src/manifest/plugin-manifest.ts";
import { type PluginStateChange, PluginSupervisor } from "../../src/supervisor/plugin-supervisor.ts";
import type { PluginState } from "../../src/supervisor/plugin-state.ts";
import { MemoryHostTransport } from "../../src/transport/memory-host-transport.ts";
import { hangs, MemoryPluginLauncher, type PluginScript } from "../support/memory-plugin-launcher.ts";

const codeOf = (result: WireResult) => (result.ok ? "ok" : result.error.code);

function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  return Promise.race([
    promise,
    new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`${what} did not settle within ${ms} ms`)), ms)),
  ]);
}

async function until(check: () => boolean, what: string, ms = 2000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

const supervisors: PluginSupervisor[] = [];
afterEach(async () => {
  for (const s of supervisors.splice(0)) {
    await s.stopAll();
    s.dispose();
  }
});

function setup(scripts: Record<string, PluginScript>, options: { heartbeatIntervalMs?: number } = {}) {
  const transport = new MemoryHostTransport();
  const launcher = new MemoryPluginLauncher(transport, (request) => scripts[request.pluginId] ?? {});
  const logger = createSilentLogger();
  const services = new HostServices(logger);
  const supervisor = new PluginSupervisor({
    transport,
    services,
    launcher,
    logger,
    handshakeTimeoutMs: 200,
    startupTimeoutMs: 200,
    stopGraceMs: 100,
    heartbeatIntervalMs: options.heartbeatIntervalMs ?? 60_000,
    restartPolicy: { baseDelayMs: 20, maxDelayMs: 20, maxCrashes: 3, windowMs: 60_000 },
  });
  supervisors.push(supervisor);
  const states: Record<string, PluginState[]> = {};
  supervisor.onStateChange(({ pluginId, change }: PluginStateChange) => {
    states[pluginId] ??= [];
    states[pluginId].push(change.state);
  });
  for (const id of Object.keys(scripts)) {
    const parsed = parseManifest(`[plugin]\nid = "${id}"\nentry = "index.ts:P"\n`, { file: "plugin.toml" });
    assert.ok(parsed.ok);
    supervisor.add({
      id,
      dir: `/plugins/${id}`,
      manifest: parsed.manifest,
      entryModulePath: `/plugins/${id}/index.ts`,
    });
  }
  return { supervisor, launcher, transport, services, states };
}

describe("supervisor over the memory transport", () => {
  test("a handshake with the secret and a ready make the plugin running; its entries come from the hello", async () => {
    const { supervisor, launcher, states } = setup({ p: { entries: { echo: (args) => args } } });
    assert.equal(codeOf(await supervisor.start("p")), "ok");
    assert.equal(supervisor.status("p")?.state, "running");
    assert.deepEqual(
      supervisor.status("p")?.entries?.map((e) => e.id),
      ["echo"],
    );
    assert.deepEqual(await supervisor.call("p", "echo", { n: 1 }), { ok: true, value: { n: 1 } });
    assert.deepEqual(
      launcher
        .latest("p")
        ?.received.map((m) => m.type)
        .slice(0, 2),
      ["welcome", "ping"],
    );
    assert.deepEqual(states.p, ["starting", "running"]);
  });

  test("a hello with another secret is dropped and counted; the start fails when the handshake never comes", async () => {
    const { supervisor } = setup({ p: { hello: { secret: "f".repeat(48) } } });
    const result = await within(1000, "start", supervisor.start("p"));
    assert.equal(codeOf(result), "HANDSHAKE_FAILED");
    assert.equal(supervisor.droppedFrames, 1);
    assert.equal(supervisor.status("p")?.state, "crashed", "a start that timed out counts as a crash");
  });

  test("a frame from a connection that never said hello reaches nothing, whatever it claims", async () => {
    const { supervisor, transport } = setup({ p: { entries: { echo: (args) => args } } });
    await supervisor.start("p");
    const intruder = transport.connect();
    intruder.send({ type: "result", id: "x", result: { ok: true, value: "forged" } });
    intruder.sendRaw(Buffer.from("not msgpack at all"));
    await until(() => supervisor.droppedFrames >= 2, "the frames to be dropped");
    assert.deepEqual(await supervisor.call("p", "echo", "real"), { ok: true, value: "real" });
  });

  test("a startup Err fails the start with STARTUP_FAILED naming the hook and its error; the plugin is restarted by the policy", async () => {
    const refused: WireResult = { ok: false, error: { name: "SdkError", code: "NOPE", message: "not today" } };
    const { supervisor, launcher } = setup({ p: { ready: refused } });
    const result = await supervisor.start("p");
    assert.deepEqual(result, {
      ok: false,
      error: {
        name: "SdkError",
        code: "STARTUP_FAILED",
        message: "plugin 'p' failed to start: its startup hook failed with NOPE: not today",
        details: { plugin: "p", hook: "startup", cause: { code: "NOPE", message: "not today" } },
      },
    });
    await until(() => launcher.launched.length >= 2, "the restart");
  });

  test("a crash mid-call fails the call at once with PLUGIN_CRASHED, then the plugin restarts with backoff", async () => {
    const { supervisor, launcher, states } = setup({ p: { entries: { wait: hangs } } });
    await supervisor.start("p");
    const first = launcher.latest("p");
    const pending = supervisor.call("p", "wait", {});
    await until(() => first?.received.some((m) => m.type === "call") ?? false, "the call to arrive");
    first?.exit(3);
    const result = await within(500, "the call", pending);
    assert.equal(codeOf(result), "PLUGIN_CRASHED");
    assert.match(result.ok ? "" : result.error.message, /crashed during the call \(exit code 3\)/);
    await until(() => supervisor.status("p")?.state === "running" && launcher.launched.length === 2, "the restart");
    assert.deepEqual(states.p, ["starting", "running", "crashed", "starting", "running"]);
    const crash = supervisor.status("p")?.history.find((h) => h.state === "crashed");
    assert.match(crash?.reason ?? "", /^exited with code 3; restarting in 0.02s$/);
  });

  test("the third crash within the window quarantines the plugin; only a start by hand brings it back", async () => {
    const { supervisor, launcher } = setup({ p: {} });
    await supervisor.start("p");
    for (let crash = 1; crash <= 3; crash++) {
      await until(() => supervisor.status("p")?.state === "running", `running before crash ${crash}`);
      const child = launcher.latest("p");
      child?.exit(1);
      await until(() => child?.exited !== undefined && supervisor.status("p")?.state !== "running", `crash ${crash}`);
    }
    await until(() => supervisor.status("p")?.state === "quarantined", "the quarantine");
    const launched = launcher.launched.length;
    await new Promise((r) => setTimeout(r, 80));
    assert.equal(launcher.launched.length, launched, "no restart after quarantine");
    assert.equal(supervisor.isUp("p"), false);
    assert.equal(codeOf(await supervisor.start("p")), "ok");
    assert.equal(supervisor.status("p")?.state, "running");
  });

  test("a call past its deadline is TIMEOUT, and the plugin is told to cancel it", async () => {
    const { supervisor, launcher } = setup({ p: { entries: { wait: hangs }, timeouts: { wait: 0.05 } } });
    await supervisor.start("p");
    // The plugin answers CANCELED once told; an entry that ignores its deadline gets the host's own TIMEOUT.
    const result = await within(1000, "the call", supervisor.call("p", "wait", {}));
    const child = launcher.latest("p");
    const call = child?.received.find((m) => m.type === "call");
    assert.ok(call?.type === "call");
    assert.equal(call.timeoutMs, 50);
    assert.equal(codeOf(result), "TIMEOUT");
    assert.match(result.ok ? "" : result.error.message, /entry 'p:wait' timed out after 0.05s/);
    await until(() => child?.received.some((m) => m.type === "cancel" && m.id === call.id) ?? false, "the cancel");
  });

  test("a canceled call sends cancel and ends with the plugin's CANCELED; a call canceled before it is sent is never sent", async () => {
    const { supervisor, launcher } = setup({ p: { entries: { wait: hangs } } });
    await supervisor.start("p");
    const canceler = new Canceler();
    const pending = supervisor.call("p", "wait", {}, { cancel: canceler });
    const child = launcher.latest("p");
    await until(() => child?.received.some((m) => m.type === "call") ?? false, "the call to arrive");
    canceler.cancel();
    assert.equal(codeOf(await within(500, "the call", pending)), "CANCELED");
    assert.ok(child?.received.some((m) => m.type === "cancel"));
    const calls = child?.received.filter((m) => m.type === "call").length;
    const early = new Canceler();
    early.cancel();
    const never = await supervisor.call("p", "wait", {}, { cancel: early });
    assert.equal(codeOf(never), "CANCELED");
    assert.equal(child?.received.filter((m) => m.type === "call").length, calls, "nothing was sent");
  });

  test("a plugin that stops answering pings is killed as unresponsive and restarted", async () => {
    const { supervisor, launcher } = setup({ p: { pong: false } }, { heartbeatIntervalMs: 20 });
    await supervisor.start("p");
    const first = launcher.latest("p");
    await until(() => first?.exited !== undefined, "the kill", 1000);
    assert.equal(first?.exited?.signal, "SIGKILL");
    await until(() => (supervisor.status("p")?.history ?? []).some((h) => h.state === "crashed"), "the crash");
    const crash = supervisor.status("p")?.history.find((h) => h.state === "crashed");
    assert.match(crash?.reason ?? "", /^unresponsive: no heartbeat for/);
  });

  test("a stop runs shutdown; a plugin that ignores it is killed after the grace period; its calls end", async () => {
    const { supervisor, launcher } = setup({ polite: {}, stubborn: { shutdown: "ignore", entries: { wait: hangs } } });
    await supervisor.start("polite");
    await supervisor.start("stubborn");
    const polite = await supervisor.stop("polite");
    assert.deepEqual(polite, { ok: true, value: { forced: false, forced_reason: null, shutdown_error: null } });
    assert.equal(launcher.latest("polite")?.exited?.code, 0);
    const pending = supervisor.call("stubborn", "wait", {});
    const stopped = await within(1000, "stop", supervisor.stop("stubborn"));
    assert.equal(stopped.ok && (stopped.value as { forced: boolean }).forced, true);
    assert.equal(launcher.latest("stubborn")?.exited?.signal, "SIGKILL");
    assert.equal(codeOf(await pending), "PLUGIN_NOT_RUNNING", "a stop is not a crash");
    assert.equal(supervisor.status("stubborn")?.state, "stopped");
  });

  test("a request of the plugin is served by the host services; its cancel and the plugin's exit stop the work", async () => {
    const { supervisor, launcher, services } = setup({ p: {} });
    let aborted = 0;
    services.handle("bus.flush", (_params, { cancel }) => {
      return new Promise((resolve) => {
        cancel?.onCancel(() => {
          aborted += 1;
          resolve({ ok: true, value: null });
        });
      });
    });
    await supervisor.start("p");
    const child = launcher.latest("p");
    assert.ok(child);
    void child.ask("bus.flush", {});
    await until(() => supervisor.debugCounts().requestsServed === 1, "the request to be served");
    child.send({ type: "notify", method: "request.cancel", params: { id: "r1" } });
    await until(() => aborted === 1, "the cancel");
    void child.ask("bus.flush", {});
    await until(() => supervisor.debugCounts().requestsServed === 1, "the second request");
    child.exit(1);
    await until(() => aborted === 2, "the exit to stop it");
    await until(() => supervisor.status("p")?.state === "running" && launcher.launched.length === 2, "the restart");
    const unknown = await launcher.latest("p")?.ask("no.such.service", {});
    assert.deepEqual(unknown, {
      ok: false,
      error: { name: "NotFoundError", code: "NOT_FOUND", message: "the host has no service 'no.such.service'" },
    });
    const bad = await launcher.latest("p")?.ask("bus.flush", 5);
    assert.equal(bad?.ok ? "" : bad?.error.code, "VALIDATION_ERROR", "params are checked against the contract");
    assert.match(bad?.ok ? "" : (bad?.error.message ?? ""), /^bus\.flush: /);
  });

  test("a launcher whose preparation throws: the plugin is refused with the reason, never left starting", async () => {
    const { supervisor, launcher, states } = setup({ p: {} });
    let prepared = 0;
    launcher.prepare = async () => {
      prepared += 1;
      throw new Error("spawn ENOTDIR");
    };
    for (const attempt of [1, 2]) {
      const result = await supervisor.start("p");
      assert.equal(codeOf(result), "PLUGIN_LOAD_FAILED", `start ${attempt}`);
      assert.equal(result.ok ? "" : result.error.message, "could not prepare the launch: spawn ENOTDIR");
      assert.equal(supervisor.status("p")?.state, "refused");
      assert.equal(supervisor.status("p")?.reason, "could not prepare the launch: spawn ENOTDIR");
    }
    assert.equal(prepared, 2);
    assert.equal(launcher.launched.length, 0, "nothing was launched");
    assert.deepEqual(states.p, ["starting", "refused", "starting", "refused"]);
  });

  test("a stop while the launch is being prepared ends the start there: nothing launched, stopped", async () => {
    const { supervisor, launcher, states } = setup({ p: {} });
    let release!: () => void;
    let preparing!: () => void;
    const began = new Promise<void>((resolve) => {
      preparing = resolve;
    });
    launcher.prepare = () => {
      preparing();
      return new Promise<void>((resolve) => {
        release = resolve;
      });
    };
    const start = supervisor.start("p");
    await began;
    const stop = supervisor.stop("p");
    release();
    const started = await start;
    assert.equal(codeOf(started), "PLUGIN_NOT_RUNNING");
    assert.equal(started.ok ? "" : started.error.message, "plugin 'p' was stopped before its process was launched");
    assert.equal(codeOf(await stop), "ok");
    assert.equal(launcher.launched.length, 0, "no process was launched");
    assert.equal(supervisor.status("p")?.state, "stopped");
    assert.deepEqual(states.p, ["starting", "stopped"]);

    // The stop is done: the next start launches.
    launcher.prepare = async () => undefined;
    assert.equal(codeOf(await supervisor.start("p")), "ok");
    assert.equal(launcher.launched.length, 1);
  });

  test("the handshake's time limit starts once the process runs, not while its launch is prepared elsewhere", async () => {
    // The handshake limit is 200 ms here; the worker-side preparation (a Python probe) takes 500 ms.
    const { supervisor, launcher } = setup({ p: { startsAfterMs: 500, entries: { echo: (args) => args } } });
    const started = Date.now();
    const result = await supervisor.start("p");
    assert.equal(codeOf(result), "ok", JSON.stringify(result));
    assert.ok(Date.now() - started >= 450, "it waited for the process to run");
    assert.equal(launcher.launched.length, 1);
    assert.equal(supervisor.status("p")?.state, "running");
  });
});
