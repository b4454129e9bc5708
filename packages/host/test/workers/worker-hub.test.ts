/**
 * The worker hub and a real PluginWorker over loopback TCP with CURVE: a worker that never confirms a kill does not
 * hold the host, a launch the worker cannot make comes back as a launch failure, and a worker that lost its host
 * answers for processes it no longer runs.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, test } from "node:test";
import { pack } from "msgpackr";
import { Dealer } from "zeromq";
import { createSilentLogger } from "../../src/host-logger.ts";
import { PLUGIN_RUNNER_PATH } from "../../src/plugin-host.ts";
import type { ChildExit, LaunchRequest } from "../../src/supervisor/plugin-launcher.ts";
import { makeKeyPair } from "../../src/workers/key-file.ts";
import { PluginWorker } from "../../src/workers/plugin-worker.ts";
import { WorkerHub } from "../../src/workers/worker-hub.ts";
import { helloProof } from "../../src/workers/worker-proof.ts";

const hostKeys = makeKeyPair();
const workerKeys = makeKeyPair();
const closers: Array<() => Promise<unknown>> = [];
after(async () => {
  for (const close of closers.reverse()) await close();
});

async function hub(killConfirmMs = 300): Promise<WorkerHub> {
  const made = await WorkerHub.bind({
    endpoint: "tcp://127.0.0.1:0",
    keys: hostKeys,
    authorizedKeys: [workerKeys.publicKey],
    logger: createSilentLogger(),
    killConfirmMs,
  });
  closers.push(() => made.close());
  return made;
}

function request(pluginId: string, peer: string): LaunchRequest {
  return {
    pluginId,
    pluginDir: "/nowhere",
    entryModule: "/nowhere/index.ts",
    className: "X",
    secret: "s".repeat(48),
    connection: { endpoint: "tcp://x", routingId: peer, curve: null },
    context: {},
    maxHeapMb: 64,
  };
}

/** A real PluginWorker for the plugins under `dir`, connected to `h` (stopped after the test). */
async function startWorker(h: WorkerHub, name: string, dir: string): Promise<void> {
  const up = waitUp(h, name);
  const worker = await PluginWorker.start({
    connect: h.endpoint,
    serverKey: hostKeys.publicKey,
    keys: workerKeys,
    roots: [dir],
    name,
    logger: createSilentLogger(),
    runnerPath: PLUGIN_RUNNER_PATH,
  });
  closers.push(() => worker.stop());
  await up;
}

function waitUp(h: WorkerHub, name: string): Promise<void> {
  return new Promise((resolve) => {
    if (h.isConnected(name)) resolve();
    else h.onWorkerUp((up) => up.name === name && resolve());
  });
}

test("a worker that never confirms a kill does not hold the host: the process ends as unreachable", async () => {
  const h = await hub(300);
  // A worker that says a proper hello and then ignores launches and kills.
  const routingId = "silent-worker-0001";
  const socket = new Dealer({
    linger: 0,
    routingId,
    curveServerKey: hostKeys.publicKey,
    curvePublicKey: workerKeys.publicKey,
    curveSecretKey: workerKeys.secretKey,
  });
  closers.push(async () => socket.close());
  socket.connect(h.endpoint);
  const epoch = "epoch-silent";
  const proof = helloProof(workerKeys, hostKeys.publicKey, { name: "silent", routingId, epoch });
  const up = waitUp(h, "silent");
  await socket.send([
    "hello",
    pack({
      protocol: 1,
      name: "silent",
      publicKey: workerKeys.publicKey,
      epoch,
      proof,
      sdkVersion: "0.1.0",
      plugins: [],
    }),
  ]);
  await up;
  const admission = h.admit("silent");
  const child = h.launch("silent", request("p", admission.peer));
  const exited = new Promise<ChildExit>((resolve) => child.onExit(resolve));
  const started = Date.now();
  child.kill("SIGTERM");
  const exit = await exited;
  assert.match(exit.unreachable ?? "", /worker 'silent' did not confirm that the process stopped/);
  assert.ok(Date.now() - started >= 250, "it waited for the confirmation first");
  await child.outputDone();
});

test("a launch the worker cannot make, and a worker that is not connected, end the child with the reason", async () => {
  const h = await hub();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "neko-hub-test-"));
  closers.push(async () => fs.rmSync(dir, { recursive: true, force: true }));
  await startWorker(h, "real", dir);
  const unknown = h.launch("real", request("nope", h.admit("real").peer));
  const exit = await new Promise<ChildExit>((resolve) => unknown.onExit(resolve));
  assert.match(exit.launchFailure ?? "", /plugin 'nope' is not one this worker runs/);

  const absent = h.launch("elsewhere", request("p", h.admit("elsewhere").peer));
  const gone = await new Promise<ChildExit>((resolve) => absent.onExit(resolve));
  assert.equal(gone.unreachable, "worker 'elsewhere' is not connected");
  assert.deepEqual(
    h.workers().map((w) => w.name),
    ["real"],
  );
});

test("a launch whose heap limit is not a whole number of MiB gets the worker's manifest's, never a flag Node refuses", async () => {
  const h = await hub();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "neko-hub-heap-"));
  closers.push(async () => fs.rmSync(dir, { recursive: true, force: true }));
  const pluginDir = path.join(dir, "heapy");
  fs.mkdirSync(pluginDir);
  fs.writeFileSync(
    path.join(pluginDir, "plugin.toml"),
    '[plugin]\nid = "heapy"\nentry = "index.ts:Heapy"\n\n[plugin.permissions]\nmax_heap_mb = 96\n',
  );
  fs.writeFileSync(
    path.join(pluginDir, "index.ts"),
    'import { NekoPluginBase, nekoPlugin } from "@neko/plugin-sdk/plugin";\n@nekoPlugin\nexport class Heapy extends NekoPluginBase {}\n',
  );
  await startWorker(h, "heapy-worker", dir);
  for (const maxHeapMb of [-5, 1.5, Number.NaN]) {
    const admission = h.admit("heapy-worker");
    const child = h.launch("heapy-worker", {
      ...request("heapy", admission.peer),
      pluginDir,
      entryModule: path.join(pluginDir, "index.ts"),
      className: "Heapy",
      maxHeapMb,
    });
    const exited = new Promise<ChildExit>((resolve) => child.onExit(resolve));
    const deadline = Date.now() + 10_000;
    while (child.pid === undefined && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.ok(child.pid !== undefined, `the worker launched a process for maxHeapMb ${maxHeapMb}`);
    const argv = fs.readFileSync(`/proc/${child.pid}/cmdline`, "utf8").split("\0");
    assert.deepEqual(
      argv.filter((arg) => arg.startsWith("--max-old-space-size")),
      ["--max-old-space-size=96"],
      String(maxHeapMb),
    );
    child.kill("SIGKILL");
    await exited;
    admission.dispose();
  }
});
