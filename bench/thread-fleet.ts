/**
 * Thread plugins' cost ([plugin_runtime] isolation = "thread"): `count` echo plugins started together as worker threads
 * of one runner process, the runner's idle RSS (in all, and divided by the plugins it hosts), and the cold start of one
 * thread plugin in a runner that is already up (stop, then start until running).
 */
import fs from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { createSilentLogger, PluginHost } from "@neko/host";
import { makeTempDir, writePlugin } from "../test/support/plugin-fixtures.ts";
import { readRssBytes } from "./bench-child.ts";
import { ECHO_ENTRY_ID } from "./bench-payload.ts";
import { measureColdStart } from "./plugin-startup.ts";
import { msSince } from "./stats.ts";

const echoThreadCode = `
import { NekoPluginBase, nekoPlugin, pluginEntry, Ok } from "@neko/plugin-sdk/plugin";

@nekoPlugin
export class EchoPlugin extends NekoPluginBase {
  @pluginEntry({ id: "${ECHO_ENTRY_ID}" })
  echo(args: Record<string, unknown>) {
    return Ok(args);
  }
}
`;

export interface ThreadFleetMeasurement {
  startMs: number;
  running: number;
  /** The runner processes' VmRSS after `idleMs` (one runner normally). */
  runnerRssBytes: number[];
  coldStartMs: number[];
}

export async function measureThreadFleet(options: {
  count: number;
  idleMs: number;
  coldStarts: number;
  signal: AbortSignal;
}): Promise<ThreadFleetMeasurement> {
  const root = makeTempDir("neko-bench-threads-");
  let host: PluginHost | undefined;
  try {
    for (let i = 0; i < options.count; i++) {
      const id = `bench_thread_${String(i).padStart(2, "0")}`;
      const manifest = `[plugin]\nid = "${id}"\nentry = "index.ts:EchoPlugin"\n\n[plugin_runtime]\nisolation = "thread"\n`;
      writePlugin(root, { id, className: "EchoPlugin", manifest, code: echoThreadCode });
    }
    host = await PluginHost.create({ roots: [root], logger: createSilentLogger() });
    const start = process.hrtime.bigint();
    await host.startAll();
    const startMs = msSince(start);
    const running = host.listPlugins().filter((p) => p.status === "running" && p.pid !== null);
    if (running.length === 0)
      throw new Error(`none of the ${options.count} thread plugins is running after startAll()`);
    await sleep(options.idleMs, undefined, { signal: options.signal });
    const runners = [...new Set(running.map((p) => p.pid as number))];
    const runnerRssBytes = runners.flatMap((pid) => readRssBytes(pid) ?? []);
    const coldStartMs = await measureColdStart({
      host,
      pluginId: running[0].id,
      times: options.coldStarts,
      signal: options.signal,
    });
    return { startMs, running: running.length, runnerRssBytes, coldStartMs };
  } finally {
    await host?.stop();
    fs.rmSync(root, { recursive: true, force: true });
  }
}
