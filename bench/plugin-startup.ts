/**
 * What plugins cost before they do anything: one plugin's cold start (spawn → ready), a fleet started together
 * with `startAll()`, and each idle plugin process's resident memory.
 */
import fs from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { createSilentLogger, PluginHost, type PluginHostApi } from "@neko/host";
import type { WireResult } from "@neko/protocol";
import { descendantPids, makeTempDir } from "../test/support/plugin-fixtures.ts";
import { readRssBytes } from "./bench-child.ts";
import { writeEchoPlugin } from "./echo-plugin.ts";
import { msSince } from "./stats.ts";

/** Stops then starts the (running) plugin `times` times; each sample is `startPlugin` until it reports running. */
export async function measureColdStart(options: {
  host: PluginHostApi;
  pluginId: string;
  times: number;
  signal: AbortSignal;
}): Promise<number[]> {
  const { host, pluginId } = options;
  const samples: number[] = [];
  for (let i = 0; i < options.times; i++) {
    options.signal.throwIfAborted();
    expectOk(await host.stopPlugin(pluginId), `stop ${pluginId}`);
    const start = process.hrtime.bigint();
    expectOk(await host.startPlugin(pluginId), `start ${pluginId}`);
    samples.push(msSince(start));
  }
  return samples;
}

export interface FleetMeasurement {
  /** Wall time of `startAll()` for the whole fleet. */
  startMs: number;
  /** How many of the fleet's plugins were running after `startAll()`. */
  running: number;
  /**
   * Wall time of `startAll()` in a second host on the same folders, started after the first one stopped: a server
   * restarted by its user, with every plugin's link already in the compile cache. The first start builds them.
   */
  restartMs: number;
  /** How many were running after that second `startAll()`. */
  restartRunning: number;
  /** VmRSS of each plugin process after `idleMs`; empty where /proc is not available. */
  rssBytes: number[];
  /**
   * For each plugin, the summed VmRSS of the processes it started. None normally: a plugin process compiles TypeScript
   * only when the host's compile cache misses, and then runs an esbuild service for a moment.
   */
  childRssBytes: number[];
}

/**
 * Starts `count` echo plugins in a fresh host, lets them idle, reads their memory, and stops them all; then starts them
 * again in a second host (their links reused) and stops that one.
 */
export async function measurePluginFleet(options: {
  count: number;
  idleMs: number;
  signal: AbortSignal;
}): Promise<FleetMeasurement> {
  const root = makeTempDir("neko-bench-fleet-");
  let host: PluginHost | undefined;
  try {
    for (let i = 0; i < options.count; i++) writeEchoPlugin(root, `bench_fleet_${String(i).padStart(2, "0")}`);
    host = await PluginHost.create({ roots: [root], logger: createSilentLogger() });
    const start = process.hrtime.bigint();
    await host.startAll();
    const startMs = msSince(start);
    const pids = host.listPlugins().flatMap((p) => (p.status === "running" && p.pid !== null ? [p.pid] : []));
    // A machine too loaded to start them all in time still gets figures for those that did, with the count.
    const running = pids.length;
    if (running === 0) {
      const first = host.listPlugins()[0];
      throw new Error(
        `none of the ${options.count} fleet plugins is running after startAll() (the first: ${first?.status}, ${first?.status_reason})`,
      );
    }
    await sleep(options.idleMs, undefined, { signal: options.signal });
    const rssBytes = pids.flatMap((pid) => readRssBytes(pid) ?? []);
    const childRssBytes = rssBytes.length
      ? pids.map((pid) => descendantPids(pid).reduce((sum, child) => sum + (readRssBytes(child) ?? 0), 0))
      : [];
    await host.stop();
    host = await PluginHost.create({ roots: [root], logger: createSilentLogger() });
    const again = process.hrtime.bigint();
    await host.startAll();
    const restartMs = msSince(again);
    const restartRunning = host.listPlugins().filter((p) => p.status === "running").length;
    return { startMs, running, rssBytes, childRssBytes, restartMs, restartRunning };
  } finally {
    await host?.stop();
    fs.rmSync(root, { recursive: true, force: true });
  }
}

function expectOk(result: WireResult, what: string): void {
  if (!result.ok) throw new Error(`${what} failed: ${result.error.code}: ${result.error.message}`);
}
