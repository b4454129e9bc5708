/**
 * The "cross-plugin call A → B" row of `npm run bench` (SPEC §9): two real plugin processes under a real host;
 * plugin A times `this.plugins.callEntry("b:echo")` inside its own process, so the figure is A → host → B → host → A
 * and nothing else. `benchCrossPluginCall()` is what bench/run.ts calls; run this file alone to print the row.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { createSilentLogger, PluginHost } from "@neko/host";

export interface CrossPluginCallFigures {
  /** Sequential calls: one at a time. */
  calls: number;
  p50Ms: number;
  p99Ms: number;
  /** Calls per second at `concurrency` calls in flight. */
  throughputPerSecond: number;
  concurrency: number;
}

const pluginCode = (className: string) => `
import { NekoPluginBase, nekoPlugin, pluginEntry, Ok } from "@neko/plugin-sdk/plugin";
import { performance } from "node:perf_hooks";

@nekoPlugin
export class ${className} extends NekoPluginBase {
  @pluginEntry({ id: "echo" })
  echo(args: unknown) {
    return Ok(args);
  }

  @pluginEntry({ id: "sequential", timeout: 600 })
  async sequential({ n }: { n: number }) {
    const samples: number[] = [];
    for (let i = 0; i < n; i++) {
      const t0 = performance.now();
      const r = await this.plugins.callEntry("b:echo", { i });
      samples.push(performance.now() - t0);
      if (!r.ok) return r;
    }
    return Ok(samples);
  }

  @pluginEntry({ id: "concurrent", timeout: 600 })
  async concurrent({ n, concurrency }: { n: number; concurrency: number }) {
    let next = 0;
    const t0 = performance.now();
    const worker = async () => {
      while (next < n) {
        next += 1;
        const r = await this.plugins.callEntry("b:echo", { i: next });
        if (!r.ok) throw r.error;
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    return Ok({ elapsedMs: performance.now() - t0 });
  }
}
`;

export async function benchCrossPluginCall(
  options: { calls?: number; warmup?: number; concurrency?: number } = {},
): Promise<CrossPluginCallFigures> {
  const calls = options.calls ?? 2000;
  const warmup = options.warmup ?? 200;
  const concurrency = options.concurrency ?? 64;
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "neko-bench-calls-"));
  for (const [id, className] of [
    ["a", "BenchCaller"],
    ["b", "BenchTarget"],
  ]) {
    fs.mkdirSync(path.join(root, id));
    fs.writeFileSync(path.join(root, id, "plugin.toml"), `[plugin]\nid = "${id}"\nentry = "index.ts:${className}"\n`);
    fs.writeFileSync(path.join(root, id, "index.ts"), pluginCode(className));
  }
  const host = await PluginHost.create({ roots: [root], logger: createSilentLogger(), dataDir: root });
  try {
    await host.startAll();
    await run(host, "sequential", { n: warmup });
    const samples = (await run(host, "sequential", { n: calls })) as number[];
    const { elapsedMs } = (await run(host, "concurrent", { n: calls, concurrency })) as { elapsedMs: number };
    samples.sort((x, y) => x - y);
    return {
      calls,
      p50Ms: percentile(samples, 0.5),
      p99Ms: percentile(samples, 0.99),
      throughputPerSecond: Math.round((calls / elapsedMs) * 1000),
      concurrency,
    };
  } finally {
    await host.stop();
    fs.rmSync(root, { recursive: true, force: true });
  }
}

async function run(host: PluginHost, entry: string, args: object): Promise<unknown> {
  const result = await host.callEntry("a", entry, args, { timeoutMs: 600_000 });
  if (!result.ok) throw new Error(`bench entry '${entry}' failed: ${result.error.code} ${result.error.message}`);
  return result.value;
}

function percentile(sorted: number[], q: number): number {
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return Number(sorted[index].toFixed(3));
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const figures = await benchCrossPluginCall();
  console.log(
    `cross-plugin call A → B: p50 ${figures.p50Ms} ms, p99 ${figures.p99Ms} ms, ` +
      `${figures.throughputPerSecond} calls/s at concurrency ${figures.concurrency} (${figures.calls} calls)`,
  );
}
