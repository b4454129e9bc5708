/**
 * A plugin process the OS cannot start: the start fails with the reason, never rejects and never hangs, and the
 * plugin's next operation is not stuck behind it. The scripted runner (fixtures/) stands in for the SDK's.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, describe, test } from "node:test";
import type { WireResult } from "@neko/protocol";
import { createSilentLogger } from "../../src/host-logger.ts";
import { HostServices } from "../../src/host-services.ts";
import { parseManifest } from "../../src/manifest/plugin-manifest.ts";
import { PluginSupervisor } from "../../src/supervisor/plugin-supervisor.ts";
import { ZmqHostTransport } from "../../src/transport/zmq-host-transport.ts";

const runnerPath = path.join(path.dirname(fileURLToPath(import.meta.url)), "fixtures", "scripted-plugin-runner.mjs");

/** The operation's result, or a failure of the test when it does not settle in time. */
function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  return Promise.race([
    promise,
    new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`${what} did not settle within ${ms} ms`)), ms)),
  ]);
}

describe("launching a plugin process", () => {
  let dir: string;
  let runDir: string;
  let transport: ZmqHostTransport;
  let supervisor: PluginSupervisor;

  const add = (id: string, pluginDir = path.join(dir, id)) => {
    const parsed = parseManifest(`[plugin]\nid = "${id}"\nentry = "index.mjs:Scripted"\n`, { file: "plugin.toml" });
    assert.ok(parsed.ok);
    supervisor.add({
      id,
      dir: pluginDir,
      manifest: parsed.manifest,
      entryModulePath: path.join(pluginDir, "index.mjs"),
    });
  };
  const message = (result: WireResult) => (result.ok ? "ok" : `${result.error.code}: ${result.error.message}`);

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "neko-launch-"));
    runDir = path.join(dir, "run");
    fs.mkdirSync(runDir);
    const logger = createSilentLogger();
    transport = await ZmqHostTransport.bind(`ipc://${path.join(runDir, "host.sock")}`, { logger });
    supervisor = new PluginSupervisor({
      transport,
      services: new HostServices(logger),
      runnerPath,
      logger,
      handshakeTimeoutMs: 2000,
      stopGraceMs: 1000,
      restartPolicy: { baseDelayMs: 100, maxDelayMs: 100, maxCrashes: 5, windowMs: 60_000 },
    });
  });
  after(async () => {
    await supervisor.stopAll();
    await transport.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test("a process that never starts (ENOENT: its folder is gone) fails the start at once; a stop is not stuck", async () => {
    add("vanished", path.join(dir, "no-such-folder"));
    const result = await within(1500, "start", supervisor.start("vanished"));
    assert.match(message(result), /^PLUGIN_CRASHED: could not launch the plugin process: spawn .* ENOENT$/);
    assert.notEqual(supervisor.status("vanished")?.state, "starting");
    assert.equal(message(await within(1500, "stop", supervisor.stop("vanished"))), "ok");
    assert.equal(supervisor.status("vanished")?.state, "stopped");
  });

  test("a spawn that throws (E2BIG) fails the start with the reason instead of rejecting; a retry can succeed", async () => {
    fs.mkdirSync(path.join(dir, "crowded"));
    add("crowded");
    // One environment string above Linux's 128 KiB cap makes spawn throw E2BIG.
    process.env.NEKO_TEST_OVERSIZED = "x".repeat(200 * 1024);
    let result: WireResult;
    try {
      result = await within(1500, "start", supervisor.start("crowded"));
    } finally {
      delete process.env.NEKO_TEST_OVERSIZED;
    }
    assert.match(message(result), /^PLUGIN_CRASHED: could not launch the plugin process: spawn E2BIG$/);
    assert.equal(supervisor.status("crowded")?.state, "crashed");
    const deadline = Date.now() + 5000;
    while (supervisor.status("crowded")?.state !== "running" && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 25));
    }
    assert.equal(supervisor.status("crowded")?.state, "running", "the automatic restart launched it");
    await supervisor.stop("crowded");
    // What a launch hands the process goes through its bootstrap descriptor: nothing is written to the run folder.
    assert.deepEqual(fs.readdirSync(runDir), ["host.sock"]);
  });
});
