/**
 * `npm run bench`: measures every figure of SPEC §9 in one run and prints them side by side in one table, each
 * round trip also as a multiple of the raw ZeroMQ floor. Progress goes to stderr; `--json` puts the results as JSON
 * on stdout (and the table on stderr). Every process, socket and temp folder is gone when it returns, even on error
 * or Ctrl-C.
 */
import fs from "node:fs";
import os from "node:os";
import { copyExamplePlugins, makeTempDir } from "../test/support/plugin-fixtures.ts";
import { startTestHost, type TestHost } from "../test/support/test-host.ts";
import { runBusFanoutBench } from "./bus-fanout.ts";
import { measureCrossPluginCalls, writeCallerPlugin } from "./cross-plugin-call.ts";
import { measureEntryCalls } from "./entry-call.ts";
import { writeEchoPlugin } from "./echo-plugin.ts";
import { measureHttpTrigger } from "./http-trigger.ts";
import { measureMcpToolCalls } from "./mcp-tool-call.ts";
import type { LoadPlan, LoadResults } from "./load-loop.ts";
import { measureColdStart, measurePluginFleet } from "./plugin-startup.ts";
import { type BenchRow, type MachineInfo, renderTable, toJson } from "./report-table.ts";
import { formatDuration, formatRate } from "./stats.ts";
import { measureZmqFloor } from "./zmq-floor.ts";

/** Sized so the whole run stays well under a minute on 2 cores. */
const PLAN: LoadPlan = { warmupOps: 1000, sequentialOps: 2000, concurrency: 64, concurrentMs: 3000 };
const COLD_STARTS = 5;
const FLEET_SIZE = 20;
const FLEET_IDLE_MS = 2000;
const ECHO_PLUGIN_ID = "bench_echo";

function progress(message: string): void {
  process.stderr.write(`[bench] ${message}\n`);
}

function roundTripRows(options: { id: string; label: string; results: LoadResults; floor?: boolean }): BenchRow[] {
  const { id, label, floor = false } = options;
  const { sequential, concurrent } = options.results;
  for (const [c, s] of [
    [1, sequential],
    [PLAN.concurrency, concurrent],
  ] as const) {
    const failed = s.failed ? `, ${s.failed} FAILED (${s.firstFailure})` : "";
    progress(
      `  ${label} @${c}: p50 ${formatDuration(s.p50Ms)}, p99 ${formatDuration(s.p99Ms)}, ${formatRate(s.opsPerSec)} ops/s${failed}`,
    );
  }
  return [
    { kind: "round-trip", id: `${id}.c1`, label, floor, concurrency: 1, summary: sequential },
    {
      kind: "round-trip",
      id: `${id}.c${PLAN.concurrency}`,
      label,
      floor,
      concurrency: PLAN.concurrency,
      summary: concurrent,
    },
  ];
}

/** One host and HTTP server on port 0 with the echo plugin running; stopped and removed after `use`. */
async function withEchoHost<T>(use: (t: TestHost) => Promise<T>): Promise<T> {
  const root = makeTempDir("neko-bench-echo-");
  let t: TestHost | undefined;
  try {
    writeEchoPlugin(root, ECHO_PLUGIN_ID);
    writeCallerPlugin(root, ECHO_PLUGIN_ID);
    // The MCP adapter, for the MCP tool call row.
    copyExamplePlugins(root, ["mcp_adapter"]);
    t = await startTestHost({ roots: [root] });
    const echo = t.host.getPlugin(ECHO_PLUGIN_ID);
    if (echo?.status !== "running") throw new Error(`the echo plugin did not start: ${echo?.status_reason}`);
    return await use(t);
  } finally {
    await t?.close();
    fs.rmSync(root, { recursive: true, force: true });
  }
}

async function measureAll(signal: AbortSignal): Promise<BenchRow[]> {
  progress(
    `floor: ZeroMQ round trip to a child process (${PLAN.sequentialOps} sequential, ${PLAN.concurrentMs / 1000} s at ${PLAN.concurrency})`,
  );
  const floorResults = await measureZmqFloor({ plan: PLAN, signal });
  const floor = roundTripRows({
    id: "floor",
    label: "floor: raw ZeroMQ DEALER⇄ROUTER",
    results: floorResults,
    floor: true,
  });

  const { entry, cross, http, mcp, coldStart } = await withEchoHost(async (t) => {
    progress("entry call: PluginHost.callEntry → echo plugin");
    const entryResults = await measureEntryCalls({ host: t.host, pluginId: ECHO_PLUGIN_ID, plan: PLAN, signal });
    const entry = roundTripRows({ id: "entry_call", label: "entry call host → plugin", results: entryResults });
    progress("cross-plugin call: this.plugins.callEntry from a caller plugin → echo plugin");
    const crossResults = await measureCrossPluginCalls({ host: t.host, plan: PLAN, signal });
    const cross = roundTripRows({ id: "cross_plugin_call", label: "cross-plugin call A → B", results: crossResults });
    progress("HTTP: POST /plugin/trigger with autocannon");
    const httpResults = await measureHttpTrigger({ url: t.url, pluginId: ECHO_PLUGIN_ID, plan: PLAN, signal });
    const http = roundTripRows({ id: "http_trigger", label: "POST /plugin/trigger (HTTP)", results: httpResults });
    progress("MCP: tools/call over Streamable HTTP (/mcp) with the official client → mcp_adapter → echo plugin");
    const mcpResults = await measureMcpToolCalls({ url: t.url, pluginId: ECHO_PLUGIN_ID, plan: PLAN, signal });
    const mcp = roundTripRows({ id: "mcp_tool_call", label: "MCP tool call (Streamable HTTP)", results: mcpResults });
    progress(`cold start: stop + start the echo plugin ${COLD_STARTS} times`);
    const coldStart = await measureColdStart({ host: t.host, pluginId: ECHO_PLUGIN_ID, times: COLD_STARTS, signal });
    return { entry, cross, http, mcp, coldStart };
  });

  progress(`fleet: start ${FLEET_SIZE} plugins at once, then read their idle RSS`);
  const fleet = await measurePluginFleet({ count: FLEET_SIZE, idleMs: FLEET_IDLE_MS, signal });
  progress(`  started in ${formatDuration(fleet.startMs)}`);
  if (fleet.running < FLEET_SIZE)
    progress(`  only ${fleet.running} of ${FLEET_SIZE} plugins started: the rows below count those`);

  progress("bus fan-out: 1 publisher → 10 subscriber plugins, paced at 1000 events/s, then flat out");
  const paced = await runBusFanoutBench({ events: 2000, ratePerSec: 1000, signal });
  const flatOut = await runBusFanoutBench({ events: 5000, signal });
  // Paced: delivery latency, compared with one round trip. Flat out: deliveries per second, compared with the
  // floor's round trips per second with many in flight.
  const busFanout: BenchRow[] = [
    {
      kind: "round-trip",
      id: "bus_fanout.paced",
      label: "bus fan-out 1 → 10 (1000 ev/s)",
      floor: false,
      concurrency: 1,
      summary: paced,
    },
    {
      kind: "round-trip",
      id: "bus_fanout.max",
      label: "bus fan-out 1 → 10 (flat out)",
      floor: false,
      concurrency: PLAN.concurrency,
      summary: flatOut,
    },
  ];

  // In SPEC §9 order. A feature that lands replaces its "pending" row with its measurement here.
  return [
    ...floor,
    ...entry,
    ...cross,
    ...http,
    ...mcp,
    { kind: "startup", id: "cold_start", label: "cold start: spawn → ready", samplesMs: coldStart },
    {
      kind: "startup",
      id: "fleet_start",
      label:
        fleet.running === FLEET_SIZE
          ? `start ${FLEET_SIZE} plugins (startAll)`
          : `start ${FLEET_SIZE} plugins (${FLEET_SIZE - fleet.running} failed)`,
      samplesMs: [fleet.startMs],
    },
    { kind: "memory", id: "idle_rss", label: "idle RSS per plugin (VmRSS)", samplesBytes: fleet.rssBytes },
    {
      kind: "memory",
      id: "idle_rss_children",
      label: "  + its child processes",
      samplesBytes: fleet.childRssBytes,
    },
    ...busFanout,
  ];
}

function machineInfo(loadAverageAtStart: number): MachineInfo {
  const cpus = os.cpus();
  return {
    cpus: cpus.length,
    cpuModel: cpus[0]?.model.trim() ?? "unknown CPU",
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    loadAverageAtStart,
  };
}

async function main(interrupt: AbortSignal): Promise<void> {
  const args = process.argv.slice(2);
  const unknown = args.filter((a) => a !== "--json");
  if (unknown.length > 0)
    throw new Error(`unknown argument(s): ${unknown.join(" ")} (usage: npm run bench [-- --json])`);
  const json = args.includes("--json");

  const loadAverageAtStart = os.loadavg()[0];
  const started = performance.now();
  const rows = await measureAll(interrupt);
  progress(`done in ${formatDuration(performance.now() - started)}`);

  const machine = machineInfo(loadAverageAtStart);
  const table = renderTable(rows, machine);
  if (json) {
    process.stderr.write(`\n${table}\n`);
    process.stdout.write(`${JSON.stringify(toJson(rows, machine), null, 2)}\n`);
  } else {
    process.stdout.write(`\n${table}\n`);
  }
}

// Ctrl-C aborts the measurement in progress; the finally blocks on the way out stop and remove what it started.
const interrupt = new AbortController();
process.once("SIGINT", () => {
  progress("interrupted: cleaning up");
  interrupt.abort(new Error("interrupted"));
});
try {
  await main(interrupt.signal);
} catch (error) {
  if (interrupt.signal.aborted) {
    progress("interrupted: nothing left running");
    process.exitCode = 130;
  } else {
    progress(`failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    process.exitCode = 1;
  }
}
