/**
 * The launch gate (launch-gate.ts): how many plugin processes boot at once. The gate itself, then a burst of real
 * processes (the scripted runner, each burning 200 ms of CPU before its hello and noting how many it saw booting).
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { Emitter, type WireResult } from "@neko/protocol";
import { createSilentLogger } from "../../src/host-logger.ts";
import { HostServices } from "../../src/host-services.ts";
import { parseManifest } from "../../src/manifest/plugin-manifest.ts";
import { LaunchGate, launchConcurrency } from "../../src/supervisor/launch-gate.ts";
import { NodePluginLauncher } from "../../src/supervisor/node-plugin-launcher.ts";
import type { ChildExit, ChildLine, PluginChild, PluginLauncher } from "../../src/supervisor/plugin-launcher.ts";
import { PluginSupervisor } from "../../src/supervisor/plugin-supervisor.ts";
import { ZmqHostTransport } from "../../src/transport/zmq-host-transport.ts";

const runnerPath = path.join(path.dirname(fileURLToPath(import.meta.url)), "fixtures", "scripted-plugin-runner.mjs");

describe("the launch gate", () => {
  test("at most `size` slots are out; the next waiter gets the one given back, in order; a slot given back twice counts once", async () => {
    const gate = new LaunchGate(2);
    const a = await gate.acquire(() => false);
    const b = await gate.acquire(() => false);
    const order: string[] = [];
    const c = gate
      .acquire(() => false)
      .then((slot) => {
        order.push("c");
        return slot;
      });
    const d = gate
      .acquire(() => false)
      .then((slot) => {
        order.push("d");
        return slot;
      });
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(gate.counts, { booting: 2, waiting: 2 });
    a?.();
    a?.();
    const slotC = await c;
    assert.deepEqual(order, ["c"]);
    assert.deepEqual(gate.counts, { booting: 2, waiting: 1 });
    b?.();
    const slotD = await d;
    assert.deepEqual(order, ["c", "d"]);
    slotC?.();
    slotD?.();
    assert.deepEqual(gate.counts, { booting: 0, waiting: 0 });
  });

  test("a wait abandoned (a stop) ends with no slot at the next recheck, and takes none from the others", async () => {
    const gate = new LaunchGate(1);
    const held = await gate.acquire(() => false);
    let stopped = false;
    const abandoned = gate.acquire(() => stopped);
    const kept = gate.acquire(() => false);
    stopped = true;
    gate.recheck();
    assert.equal(await abandoned, undefined);
    assert.equal(await gate.acquire(() => true), undefined, "already abandoned: no wait");
    held?.();
    assert.equal(typeof (await kept), "function");
    assert.deepEqual(gate.counts, { booting: 1, waiting: 0 });
  });

  test("a slot not given back within lendAfterMs is lent to the next waiter; its late release counts for nothing", async () => {
    const gate = new LaunchGate(1, { lendAfterMs: 200 });
    const stuck = await gate.acquire(() => false);
    const started = Date.now();
    // The gate's timer does not hold the process open (a host's handshake timer does).
    const alive = setTimeout(() => undefined, 5000);
    const next = await gate.acquire(() => false);
    clearTimeout(alive);
    assert.ok(Date.now() - started >= 150, "lent only after the lend time");
    assert.deepEqual(gate.counts, { booting: 1, waiting: 0 });
    stuck?.();
    assert.deepEqual(gate.counts, { booting: 1, waiting: 0 }, "the lent slot's release is not counted twice");
    next?.();
    assert.deepEqual(gate.counts, { booting: 0, waiting: 0 });
  });

  test("its size: the environment, else the option, else the machine's parallelism (at least 2); 0 is no limit", () => {
    const machine = Math.max(2, os.availableParallelism());
    assert.deepEqual(launchConcurrency(undefined, {}), { size: machine });
    assert.deepEqual(launchConcurrency(3, {}), { size: 3 });
    assert.deepEqual(launchConcurrency(0, {}), { size: Number.POSITIVE_INFINITY });
    assert.deepEqual(launchConcurrency(3, { NEKO_PLUGIN_LAUNCH_CONCURRENCY: "5" }), { size: 5 });
    assert.deepEqual(launchConcurrency(3, { NEKO_PLUGIN_LAUNCH_CONCURRENCY: "0" }), { size: Number.POSITIVE_INFINITY });
    assert.deepEqual(launchConcurrency(3, { NEKO_PLUGIN_LAUNCH_CONCURRENCY: "lots" }), {
      size: 3,
      problem: "NEKO_PLUGIN_LAUNCH_CONCURRENCY must be a whole number (0: no limit), not 'lots'",
    });
    assert.throws(() => new LaunchGate(0), /at least 1, not 0/);
  });
});

describe("a burst of starts through the gate", () => {
  let dir: string;
  let transport: ZmqHostTransport;
  let supervisor: PluginSupervisor;
  const COUNT = 40;
  const GATE = 2;

  const add = (id: string) => {
    const pluginDir = path.join(dir, id);
    fs.mkdirSync(pluginDir, { recursive: true });
    // Without the permission model: the census is a folder shared by all of them.
    const toml = `[plugin]\nid = "${id}"\nentry = "index.mjs:Scripted"\n\n[plugin_runtime]\npermissions = false\n`;
    const parsed = parseManifest(toml, { file: "plugin.toml" });
    assert.ok(parsed.ok);
    supervisor.add({
      id,
      dir: pluginDir,
      manifest: parsed.manifest,
      entryModulePath: path.join(pluginDir, "index.mjs"),
    });
  };
  const message = (result: WireResult) => (result.ok ? "ok" : `${result.error.code}: ${result.error.message}`);
  const lines = (file: string) =>
    fs.existsSync(path.join(dir, file)) ? fs.readFileSync(path.join(dir, file), "utf8").trim().split("\n") : [];

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "neko-gate-"));
    fs.mkdirSync(path.join(dir, "census"));
    fs.mkdirSync(path.join(dir, "run"));
    const logger = createSilentLogger();
    transport = await ZmqHostTransport.bind(`ipc://${path.join(dir, "run", "host.sock")}`, { logger });
    supervisor = new PluginSupervisor({
      transport,
      services: new HostServices(logger),
      runnerPath,
      logger,
      // 40 processes booting at once need 40 × (150 ms + Node's own start, ~0.4 s in all) of CPU: about 8 s on 2 cores,
      // so most would miss 7 s (NEKO_PLUGIN_LAUNCH_CONCURRENCY=0 shows it). Two at a time, each has its hello out in
      // well under 7 s, even on a machine loaded 5 times over.
      handshakeTimeoutMs: 7000,
      stopGraceMs: 1000,
      // Held until hello, however slow a boot is on a loaded machine (lending is tested below).
      launchSlotLendMs: 120_000,
      launchConcurrency: process.env.NEKO_PLUGIN_LAUNCH_CONCURRENCY === undefined ? GATE : undefined,
      restartPolicy: { baseDelayMs: 60_000, maxDelayMs: 60_000, maxCrashes: 1, windowMs: 60_000 },
    });
  });
  after(async () => {
    await supervisor.stopAll();
    await transport.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test(`${COUNT} plugins started at once all run; never more than ${GATE} boot together; each waits as 'starting'`, async () => {
    const ids = Array.from({ length: COUNT }, (_, i) => `census_${String(i).padStart(2, "0")}`);
    for (const id of ids) add(id);
    const starts = ids.map((id) => supervisor.start(id, { manual: false }));
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(supervisor.status(ids[COUNT - 1])?.state, "starting", "waiting for a slot is 'starting'");
    const results = await Promise.all(starts);
    assert.deepEqual(
      results.map(message),
      ids.map(() => "ok"),
    );
    assert.deepEqual(
      ids.map((id) => supervisor.status(id)?.state),
      ids.map(() => "running"),
    );
    const seen = lines("seen").map(Number);
    assert.equal(seen.length, COUNT);
    assert.ok(Math.max(...seen) <= GATE, `at most ${GATE} booting at once, saw ${Math.max(...seen)}`);
    assert.equal(Math.max(...seen), GATE, "and the gate is used to its size");
    await Promise.all(ids.map((id) => supervisor.stop(id)));
  });

  test("a stop while the start waits for a slot: that start launches nothing and ends 'stopped'", async () => {
    fs.rmSync(path.join(dir, "launched"), { force: true });
    const ids = ["census_a", "census_b", "census_c"];
    for (const id of ids) add(id);
    const starts = ids.map((id) => supervisor.start(id, { manual: false }));
    // census_a and census_b boot; census_c waits for a slot, and is stopped meanwhile.
    await new Promise((resolve) => setTimeout(resolve, 20));
    const stop = supervisor.stop("census_c");
    const [a, b, c] = await Promise.all(starts);
    assert.equal(message(a), "ok");
    assert.equal(message(b), "ok");
    assert.equal(message(c), "PLUGIN_NOT_RUNNING: plugin 'census_c' was stopped before its process was launched");
    assert.equal(message(await stop), "ok");
    assert.equal(supervisor.status("census_c")?.state, "stopped");
    assert.deepEqual(lines("launched").sort(), ["census_a", "census_b"]);
    // A start by hand afterwards launches it.
    assert.equal(message(await supervisor.start("census_c")), "ok");
    assert.deepEqual(lines("launched").sort(), ["census_a", "census_b", "census_c"]);
  });
});

describe("launches that boot nothing here, or hang, do not hold the gate", () => {
  let dir: string;
  let transport: ZmqHostTransport;
  const supervisors: PluginSupervisor[] = [];
  const remote = new Set<string>();

  /** A remote worker's launch that never starts (the worker never says `launched`); a kill ends it. */
  const remoteChild = (): PluginChild => {
    const exits = new Emitter<ChildExit>();
    const lines = new Emitter<ChildLine>();
    let exited = false;
    return {
      pid: undefined,
      onLine: lines.event,
      onExit: exits.event,
      started: new Promise<void>((resolve) => exits.event(() => resolve())),
      outputDone: async () => undefined,
      kill: () => {
        if (exited) return;
        exited = true;
        setImmediate(() => exits.fire({ code: null, signal: "SIGKILL" }));
      },
    };
  };

  const supervisorWith = (lendMs: number) => {
    const logger = createSilentLogger();
    const local = new NodePluginLauncher({ runnerPath, logger });
    const launcher: PluginLauncher = {
      runsHere: (id) => !remote.has(id),
      launch: (request) => (remote.has(request.pluginId) ? remoteChild() : local.launch(request)),
    };
    const supervisor = new PluginSupervisor({
      transport,
      services: new HostServices(logger),
      launcher,
      logger,
      handshakeTimeoutMs: 60_000,
      stopGraceMs: 1000,
      launchConcurrency: 1,
      launchSlotLendMs: lendMs,
      restartPolicy: { baseDelayMs: 60_000, maxDelayMs: 60_000, maxCrashes: 1, windowMs: 60_000 },
    });
    supervisors.push(supervisor);
    return supervisor;
  };
  const add = (supervisor: PluginSupervisor, id: string) => {
    const pluginDir = path.join(dir, id);
    fs.mkdirSync(pluginDir, { recursive: true });
    const toml = `[plugin]\nid = "${id}"\nentry = "index.mjs:Scripted"\n\n[plugin_runtime]\npermissions = false\n`;
    const parsed = parseManifest(toml, { file: "plugin.toml" });
    assert.ok(parsed.ok);
    supervisor.add({
      id,
      dir: pluginDir,
      manifest: parsed.manifest,
      entryModulePath: path.join(pluginDir, "index.mjs"),
    });
  };
  /** Which of `a` and `b` settles first. */
  const first = (a: Promise<unknown>, b: Promise<unknown>) =>
    Promise.race([a.then(() => "a" as const), b.then(() => "b" as const)]);

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "neko-gate-lend-"));
    fs.mkdirSync(path.join(dir, "census"));
    fs.mkdirSync(path.join(dir, "run"));
    transport = await ZmqHostTransport.bind(`ipc://${path.join(dir, "run", "host.sock")}`, {
      logger: createSilentLogger(),
    });
  });
  after(async () => {
    for (const supervisor of supervisors) await supervisor.stopAll();
    await transport.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test("a remote launch takes no slot: a local start is not held behind a worker that never says it launched", async () => {
    // No lending: only staying out of the gate lets the local start through before the remote one's 30 s.
    const supervisor = supervisorWith(120_000);
    remote.add("far_away");
    add(supervisor, "far_away");
    add(supervisor, "census_near");
    const far = supervisor.start("far_away", { manual: false });
    await new Promise((resolve) => setTimeout(resolve, 50));
    const near = supervisor.start("census_near", { manual: false });
    assert.equal(await first(near, far), "a", "the local start finished while the remote one still waits");
    assert.equal((await near).ok, true);
    assert.equal(supervisor.status("census_near")?.state, "running");
    assert.equal(supervisor.status("far_away")?.state, "starting");
    await supervisor.stop("far_away");
    await far;
    await supervisor.stop("census_near");
  });

  test("a boot that hangs holds its slot only the lend time: the next start runs while the hung one's handshake waits", async () => {
    const supervisor = supervisorWith(500);
    add(supervisor, "stuck_boot");
    add(supervisor, "census_next");
    const stuck = supervisor.start("stuck_boot", { manual: false });
    await waitUntil(() => fs.existsSync(path.join(dir, "launched")));
    const next = supervisor.start("census_next", { manual: false });
    assert.equal(await first(next, stuck), "a", "the next start finished while the hung boot's handshake still waits");
    assert.equal((await next).ok, true);
    assert.equal(supervisor.status("stuck_boot")?.state, "starting");
    await supervisor.stop("stuck_boot");
    await stuck;
    await supervisor.stop("census_next");
  });
});

async function waitUntil(probe: () => boolean): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error("timed out");
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
