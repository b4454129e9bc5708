/**
 * The floors of a plugin process's start and memory: `node` started with an IPC channel, as the host starts a
 * plugin, running a script that says "ready" at once (bare), or after importing only the packages a plugin process
 * loads today (its dependencies). Cold start is spawn → "ready"; memory is each child's VmRSS after idling.
 */
import type { ChildProcess } from "node:child_process";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { BENCH_DIR, firstMessage, readRssBytes, spawnBenchChild, stopChild } from "./bench-child.ts";
import { msSince } from "./stats.ts";

const childScript = path.join(BENCH_DIR, "fork-floor-child.mjs");

/**
 * The npm packages the SDK runtime and `@neko/protocol` depend on to start a plugin, as issue 15 set the floor (found by
 * logging a resolve hook's node_modules hits while importing `plugin-main.ts`, before zod, ajv, pino and zeromq became
 * lazy: a plugin process now loads fewer of them). better-sqlite3, the MCP SDK and esbuild load on first use only.
 */
export const PLUGIN_RUNTIME_DEPENDENCIES = [
  "msgpackr",
  "zeromq",
  "zod",
  "ajv",
  "ajv/dist/2020.js",
  "ajv-formats",
  "pino",
] as const;

export interface ForkFloor {
  /** spawn → "ready" of each start, one after the other. */
  startMs: number[];
  /** VmRSS of each child after idling; empty where /proc is not available. */
  rssBytes: number[];
}

/** Starts `times` bare children and `times` children holding the dependencies, lets them idle, reads their RSS. */
export async function measureForkFloors(options: {
  times: number;
  idleMs: number;
  signal: AbortSignal;
}): Promise<{ bare: ForkFloor; deps: ForkFloor }> {
  const children: ChildProcess[] = [];
  try {
    const startAll = async (imports: readonly string[]) => {
      const startMs: number[] = [];
      const pids: number[] = [];
      for (let i = 0; i < options.times; i++) {
        options.signal.throwIfAborted();
        const start = process.hrtime.bigint();
        const child = spawnBenchChild(childScript, [...imports]);
        children.push(child);
        await firstMessage(child, "a fork floor child");
        startMs.push(msSince(start));
        if (child.pid !== undefined) pids.push(child.pid);
      }
      return { startMs, pids };
    };
    const bare = await startAll([]);
    const deps = await startAll(PLUGIN_RUNTIME_DEPENDENCIES);
    await sleep(options.idleMs, undefined, { signal: options.signal });
    const rss = (pids: number[]) => pids.flatMap((pid) => readRssBytes(pid) ?? []);
    return {
      bare: { startMs: bare.startMs, rssBytes: rss(bare.pids) },
      deps: { startMs: deps.startMs, rssBytes: rss(deps.pids) },
    };
  } finally {
    await Promise.all(children.map(stopChild));
  }
}
