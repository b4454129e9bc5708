/**
 * `npm run bench`: measures every figure of SPEC §9 and the references each is judged against (the ZeroMQ floor,
 * Moleculer, a bare Fastify route, bare `fork`s) in one run and prints them side by side in one table, each row with
 * its ratios to its reference. Progress goes to stderr; `--json` puts the results as JSON on stdout (and the table on
 * stderr); `--only <group>,…` runs some measurements only. Every process, socket and temp folder is gone when it
 * returns, even on error or Ctrl-C.
 */
import fs from "node:fs";
import os from "node:os";
import { copyExamplePlugins, makeTempDir } from "../test/support/plugin-fixtures.ts";
import { startTestHost, type TestHost } from "../test/support/test-host.ts";
import { BENCH_GROUPS, type BenchGroup, parseBenchArgs } from "./bench-args.ts";
import { payloadName } from "./bench-payload.ts";
import { runBusFanoutBench } from "./bus-fanout.ts";
import { measureCrossPluginCalls, writeCallerPlugin } from "./cross-plugin-call.ts";
import { measureEntryCalls } from "./entry-call.ts";
import { writeEchoPlugin } from "./echo-plugin.ts";
import { measureFastifyEcho } from "./fastify-echo.ts";
import { measureForkFloors } from "./fork-floor.ts";
import { measureHttpTrigger } from "./http-trigger.ts";
import type { LoadPlan, LoadResults } from "./load-loop.ts";
import { measureMcpToolCalls } from "./mcp-tool-call.ts";
import { measureMoleculer } from "./moleculer-echo.ts";
import { measurePayloadCalls } from "./payload-calls.ts";
import { measureColdStart, measurePluginFleet } from "./plugin-startup.ts";
import { measureThreadFleet } from "./thread-fleet.ts";
import { type BenchRow, type MachineInfo, renderTable, toJson } from "./report-table.ts";
import { formatDuration, formatRate, type LatencySummary, medianSummary } from "./stats.ts";
import { measureZmqFloor } from "./zmq-floor.ts";

/** Sized so the whole run stays around two minutes on 2 cores. */
const PLAN: LoadPlan = { warmupOps: 1000, sequentialOps: 2000, concurrency: 64, concurrentMs: 3000 };
/**
 * The `transport` group measures each local transport this many times, in the order pipe, zmq / zmq, pipe / … (ABBA),
 * so neither always runs first or last while the machine's load drifts, and reports each field's median.
 */
const TRANSPORT_ROUNDS = 4;
const COLD_STARTS = 5;
const FLEET_SIZE = 20;
const BIG_FLEET_SIZE = 50;
const IDLE_MS = 2000;
const ECHO_PLUGIN_ID = "bench_echo";

/**
 * The groups run while the echo host is up (one host serves them all). The bare Fastify echo needs none, but runs
 * beside the same idle host and plugins as the trigger row it is compared with.
 */
const HOST_GROUPS: readonly BenchGroup[] = [
  "entry",
  "transport",
  "cross",
  "fastify",
  "http",
  "mcp",
  "payload",
  "cold-start",
];

function progress(message: string): void {
  process.stderr.write(`[bench] ${message}\n`);
}

/**
 * The two rows of a measurement at concurrency 1 and `PLAN.concurrency`; `ref` names the measurement each is
 * compared with, at the same concurrency.
 */
function roundTripRows(options: {
  id: string;
  label: string;
  short?: string;
  ref?: string;
  results: LoadResults;
}): BenchRow[] {
  const { id, label, short, ref } = options;
  const { sequential, concurrent } = options.results;
  return (
    [
      [1, sequential],
      [PLAN.concurrency, concurrent],
    ] as const
  ).map(([concurrency, summary]) => {
    const failed = summary.failed ? `, ${summary.failed} FAILED (${summary.firstFailure})` : "";
    progress(
      `  ${label} @${concurrency}: p50 ${formatDuration(summary.p50Ms)}, p99 ${formatDuration(summary.p99Ms)}, ${formatRate(summary.opsPerSec)} ops/s${failed}`,
    );
    return {
      kind: "round-trip",
      id: `${id}.c${concurrency}`,
      label,
      short,
      ref: ref && `${ref}.c${concurrency}`,
      concurrency,
      summary,
    };
  });
}

/** One host and HTTP server on port 0 with the echo plugin running; stopped and removed after `use`. */
async function withEchoHost<T>(use: (t: TestHost) => Promise<T>): Promise<T> {
  const root = makeTempDir("neko-bench-echo-");
  let t: TestHost | undefined;
  try {
    writeEchoPlugin(root, ECHO_PLUGIN_ID);
    // The same echo on each local transport, named in its manifest: the "transport" rows compare them in one run.
    writeEchoPlugin(root, `${ECHO_PLUGIN_ID}_pipe`, "pipe");
    writeEchoPlugin(root, `${ECHO_PLUGIN_ID}_zmq`, "zmq");
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

/** The rows of the measurements in `groups`; a row whose reference was not measured shows no ratio. */
async function measureAll(groups: ReadonlySet<BenchGroup>, signal: AbortSignal): Promise<BenchRow[]> {
  const rows: Partial<Record<BenchGroup, BenchRow[]>> = {};
  // A measurement that fails (a machine too loaded to start the fleet in time…) leaves a row saying why, and the
  // others still run; the run then exits with status 1.
  const run = async (group: BenchGroup, measure: () => Promise<BenchRow[]>) => {
    if (!groups.has(group)) return;
    try {
      rows[group] = await measure();
    } catch (error) {
      if (signal.aborted) throw error;
      const message = error instanceof Error ? error.message : String(error);
      progress(`  ${group} FAILED: ${message}`);
      process.exitCode = 1;
      rows[group] = [{ kind: "pending", id: group, label: `${group} (failed)`, note: message }];
    }
  };

  await run("floor", async () => {
    progress(
      `floor: ZeroMQ round trip to a child process (${PLAN.sequentialOps} sequential, ${PLAN.concurrentMs / 1000} s at ${PLAN.concurrency})`,
    );
    const results = await measureZmqFloor({ plan: PLAN, signal });
    return roundTripRows({ id: "floor", label: "floor: raw ZeroMQ DEALER⇄ROUTER", short: "ZeroMQ floor", results });
  });
  await run("moleculer", async () => {
    progress("Moleculer: two brokers in two processes, TCP transporter, an echo action");
    const results = await measureMoleculer({ plan: PLAN, signal });
    return roundTripRows({
      id: "moleculer",
      label: "Moleculer 2 brokers, TCP",
      short: "Moleculer",
      ref: "floor",
      results,
    });
  });

  if (HOST_GROUPS.some((g) => groups.has(g))) {
    await withEchoHost(async (t) => {
      await run("entry", async () => {
        progress("entry call: PluginHost.callEntry → echo plugin");
        const results = await measureEntryCalls({ host: t.host, pluginId: ECHO_PLUGIN_ID, plan: PLAN, signal });
        return roundTripRows({
          id: "entry_call",
          label: "entry call host → plugin",
          short: "entry call",
          ref: "moleculer",
          results,
        });
      });
      await run("transport", async () => {
        progress(
          `entry call per local transport: the same echo plugin on the pipe transport and on ZeroMQ, ${TRANSPORT_ROUNDS} rounds in ABBA order, medians`,
        );
        const runs: Record<"pipe" | "zmq", LoadResults[]> = { pipe: [], zmq: [] };
        for (let round = 0; round < TRANSPORT_ROUNDS; round++) {
          const order = round % 2 === 0 ? (["pipe", "zmq"] as const) : (["zmq", "pipe"] as const);
          for (const transport of order) {
            const results = await measureEntryCalls({
              host: t.host,
              pluginId: `${ECHO_PLUGIN_ID}_${transport}`,
              plan: PLAN,
              signal,
            });
            const line = (at: number, r: LatencySummary) =>
              `@${at} p50 ${formatDuration(r.p50Ms)} ${formatRate(r.opsPerSec)} ops/s`;
            progress(
              `  round ${round + 1} ${transport}: ${line(1, results.sequential)}, ${line(PLAN.concurrency, results.concurrent)}`,
            );
            runs[transport].push(results);
          }
        }
        return (["pipe", "zmq"] as const).flatMap((transport) =>
          roundTripRows({
            id: `entry_call_${transport}`,
            label: `entry call (${transport}), median of ${TRANSPORT_ROUNDS}`,
            ref: "moleculer",
            results: {
              sequential: medianSummary(runs[transport].map((r) => r.sequential)),
              concurrent: medianSummary(runs[transport].map((r) => r.concurrent)),
            },
          }),
        );
      });
      await run("cross", async () => {
        progress("cross-plugin call: this.plugins.callEntry from a caller plugin → echo plugin");
        const results = await measureCrossPluginCalls({ host: t.host, plan: PLAN, signal });
        return roundTripRows({ id: "cross_plugin_call", label: "cross-plugin call A → B", ref: "entry_call", results });
      });
      await run("fastify", async () => {
        progress("HTTP reference: a bare Fastify echo route with autocannon");
        const results = await measureFastifyEcho({ plan: PLAN, signal });
        return roundTripRows({ id: "fastify_echo", label: "bare Fastify echo (HTTP)", short: "bare Fastify", results });
      });
      await run("http", async () => {
        progress("HTTP: POST /plugin/trigger with autocannon");
        const results = await measureHttpTrigger({ url: t.url, pluginId: ECHO_PLUGIN_ID, plan: PLAN, signal });
        return roundTripRows({
          id: "http_trigger",
          label: "POST /plugin/trigger (HTTP)",
          short: "/plugin/trigger",
          ref: "fastify_echo",
          results,
        });
      });
      await run("mcp", async () => {
        progress("MCP: tools/call over Streamable HTTP (/mcp) with the official client → mcp_adapter → echo plugin");
        const results = await measureMcpToolCalls({ url: t.url, pluginId: ECHO_PLUGIN_ID, plan: PLAN, signal });
        return roundTripRows({
          id: "mcp_tool_call",
          label: "MCP tool call (Streamable HTTP)",
          ref: "http_trigger",
          results,
        });
      });
      await run("payload", async () => {
        progress("payloads: entry calls and the ZeroMQ floor with 1 KiB, 64 KiB and 1 MiB of args, one at a time");
        const results = await measurePayloadCalls({ host: t.host, pluginId: ECHO_PLUGIN_ID, signal });
        return results.flatMap(({ bytes, floor, entry }): BenchRow[] => {
          const name = payloadName(bytes);
          const id = `payload_${bytes}`;
          progress(`  ${name}: floor ${formatDuration(floor.p50Ms)}, entry call ${formatDuration(entry.p50Ms)} p50`);
          return [
            {
              kind: "round-trip",
              id: `floor_${id}`,
              label: `floor: ZeroMQ, ${name} args`,
              short: `floor ${name}`,
              concurrency: 1,
              summary: floor,
              payloadBytes: bytes,
            },
            {
              kind: "round-trip",
              id: `entry_call_${id}`,
              label: `entry call, ${name} args`,
              ref: `floor_${id}`,
              concurrency: 1,
              summary: entry,
              payloadBytes: bytes,
            },
          ];
        });
      });
      await run("cold-start", async () => {
        progress(`cold start: stop + start the echo plugin ${COLD_STARTS} times`);
        const samplesMs = await measureColdStart({
          host: t.host,
          pluginId: ECHO_PLUGIN_ID,
          times: COLD_STARTS,
          signal,
        });
        return [{ kind: "startup", id: "cold_start", label: "cold start: spawn → ready", ref: "fork_bare", samplesMs }];
      });
    });
  }

  await run("fork", async () => {
    progress(`fork floors: ${COLD_STARTS} bare node children, ${COLD_STARTS} holding the runtime's dependencies`);
    const { bare, deps } = await measureForkFloors({ times: COLD_STARTS, idleMs: IDLE_MS, signal });
    return [
      {
        kind: "startup",
        id: "fork_bare",
        label: "bare fork: spawn → ready",
        short: "bare fork",
        samplesMs: bare.startMs,
      },
      {
        kind: "startup",
        id: "fork_deps",
        label: "fork + runtime deps: spawn → ready",
        short: "fork + deps",
        ref: "fork_bare",
        samplesMs: deps.startMs,
      },
      {
        kind: "memory",
        id: "rss_bare",
        label: "idle RSS, bare Node child",
        short: "bare Node",
        samplesBytes: bare.rssBytes,
      },
      {
        kind: "memory",
        id: "rss_deps",
        label: "idle RSS, Node + runtime deps",
        short: "Node + deps",
        ref: "rss_bare",
        samplesBytes: deps.rssBytes,
      },
    ];
  });

  const fleetRows = async (count: number, id: string): Promise<BenchRow[]> => {
    progress(`fleet: start ${count} plugins at once, then read their idle RSS`);
    const fleet = await measurePluginFleet({ count, idleMs: IDLE_MS, signal });
    progress(`  started in ${formatDuration(fleet.startMs)}; again in a new host: ${formatDuration(fleet.restartMs)}`);
    const failed = count - fleet.running;
    const failedAgain = count - fleet.restartRunning;
    if (failed > 0) progress(`  only ${fleet.running} of ${count} plugins started: the rows below count those`);
    const started = failed === 0 ? `start ${count} plugins (startAll)` : `start ${count} plugins (${failed} failed)`;
    return [
      { kind: "startup", id: `${id}_start`, label: started, samplesMs: [fleet.startMs] },
      {
        kind: "startup",
        id: `${id}_restart`,
        label: failedAgain === 0 ? `  again, links reused (new host)` : `  again, links reused (${failedAgain} failed)`,
        samplesMs: [fleet.restartMs],
      },
      {
        kind: "memory",
        id: `${id}_rss`,
        label: `idle RSS per plugin, ${count} plugins`,
        ref: "rss_deps",
        samplesBytes: fleet.rssBytes,
      },
      {
        kind: "memory",
        id: `${id}_rss_children`,
        label: "  + its child processes",
        samplesBytes: fleet.childRssBytes,
      },
      {
        kind: "memory",
        id: `${id}_rss_total`,
        label: `idle RSS, all ${count} plugins`,
        samplesBytes: fleet.rssBytes.length ? [fleet.rssBytes.reduce((a, b) => a + b, 0)] : [],
      },
    ];
  };
  await run("fleet", () => fleetRows(FLEET_SIZE, "fleet"));
  await run("fleet50", () => fleetRows(BIG_FLEET_SIZE, "fleet50"));
  await run("thread", async () => {
    progress(`thread: start ${FLEET_SIZE} thread plugins at once, read their runner's idle RSS, then cold starts`);
    const fleet = await measureThreadFleet({ count: FLEET_SIZE, idleMs: IDLE_MS, coldStarts: COLD_STARTS, signal });
    const { running } = fleet;
    const failed = FLEET_SIZE - running;
    const total = fleet.runnerRssBytes.reduce((a, b) => a + b, 0);
    return [
      {
        kind: "startup",
        id: "thread_cold_start",
        label: "cold start, thread plugin (runner up)",
        ref: "cold_start",
        samplesMs: fleet.coldStartMs,
      },
      {
        kind: "startup",
        id: "thread_start",
        label: `start ${FLEET_SIZE} thread plugins${failed ? ` (${failed} failed)` : " (startAll)"}`,
        ref: "fleet_start",
        samplesMs: [fleet.startMs],
      },
      {
        kind: "memory",
        id: "thread_rss",
        label: `idle RSS per plugin, ${running} thread plugins`,
        ref: "fleet_rss",
        samplesBytes: fleet.runnerRssBytes.length ? [total / running] : [],
      },
      {
        kind: "memory",
        id: "thread_rss_total",
        label: `idle RSS, thread runner(s) with ${running} plugins`,
        ref: "fleet_rss_total",
        samplesBytes: fleet.runnerRssBytes.length ? [total] : [],
      },
    ];
  });

  await run("bus", async () => {
    progress("bus fan-out: 1 publisher → 10 subscriber plugins, paced at 1000 events/s, then flat out");
    const paced = await runBusFanoutBench({ events: 2000, ratePerSec: 1000, signal });
    const flatOut = await runBusFanoutBench({ events: 5000, signal });
    // Paced: delivery latency, compared with one round trip. Flat out: deliveries per second, compared with the
    // floor's round trips per second with many in flight.
    return [
      {
        kind: "round-trip",
        id: "bus_fanout.paced",
        label: "bus fan-out 1 → 10 (1000 ev/s)",
        ref: "floor.c1",
        concurrency: 1,
        summary: paced,
      },
      {
        kind: "round-trip",
        id: "bus_fanout.max",
        label: "bus fan-out 1 → 10 (flat out)",
        ref: `floor.c${PLAN.concurrency}`,
        concurrency: PLAN.concurrency,
        summary: flatOut,
      },
    ];
  });

  // Round trips, then start-up, then memory, then the bus; each reference above the rows compared with it.
  const display: BenchGroup[] = [...BENCH_GROUPS.filter((g) => g !== "fork" && g !== "cold-start")];
  display.splice(display.indexOf("fleet"), 0, "fork", "cold-start");
  const section = (row: BenchRow) =>
    row.id.startsWith("bus_") ? 3 : row.kind === "round-trip" ? 0 : row.kind === "startup" ? 1 : 2;
  return display.flatMap((g) => rows[g] ?? []).sort((a, b) => section(a) - section(b));
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
  const args = parseBenchArgs(process.argv.slice(2));
  if (typeof args === "string") throw new Error(args);
  const { json, groups } = args;

  const loadAverageAtStart = os.loadavg()[0];
  const started = performance.now();
  const rows = await measureAll(groups, interrupt);
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
