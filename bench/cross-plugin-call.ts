/**
 * Cross-plugin call A → B: plugin A runs the bench's own load loop inside its process, timing
 * `this.plugins.callEntry("<echo>:echo")`, so the figure is A → host → B → host → A and nothing else.
 * The caller plugin runs a copy of bench/load-loop.ts (and the stats.ts it imports) written into its own folder: the
 * same loop as every other round-trip row, compiled by the host with the plugin's own files. (Imported from bench/
 * instead, it would need the compile cache to hold them already: a plugin process under the permission model may not
 * start the compiler.)
 */
import fs from "node:fs";
import type { PluginHostApi } from "@neko/host";
import { writePlugin } from "../test/support/plugin-fixtures.ts";
import { BENCH_ARGS, BENCH_CALL_TIMEOUT_MS, ECHO_ENTRY_ID } from "./bench-payload.ts";
import type { LoadPlan, LoadResults } from "./load-loop.ts";

export const CALLER_PLUGIN_ID = "bench_caller";

const callerCode = (targetId: string) => `
import { NekoPluginBase, nekoPlugin, pluginEntry, Ok, Err } from "@neko/plugin-sdk/plugin";
import { runLoadPlan } from "./load-loop.ts";

const ARGS = ${JSON.stringify(BENCH_ARGS)};

@nekoPlugin
export class BenchCaller extends NekoPluginBase {
  @pluginEntry({ id: "measure", timeout: 600, modelValidate: false })
  async measure({ plan }: { plan: any }, ctx: { signal: AbortSignal }) {
    const op = async () => {
      const r = await this.plugins.callEntry("${targetId}:${ECHO_ENTRY_ID}", ARGS, { timeout: ${BENCH_CALL_TIMEOUT_MS / 1000} });
      if (!r.ok) throw new Error("cross-plugin call failed: " + r.error.code + ": " + r.error.message);
    };
    try {
      return Ok(await runLoadPlan(op, plan, ctx.signal));
    } catch (error) {
      return Err(String(error));
    }
  }
}
`;

export function writeCallerPlugin(root: string, targetId: string): string {
  const files = Object.fromEntries(
    ["load-loop.ts", "stats.ts"].map((name) => [name, fs.readFileSync(new URL(`./${name}`, import.meta.url), "utf8")]),
  );
  return writePlugin(root, { id: CALLER_PLUGIN_ID, className: "BenchCaller", code: callerCode(targetId), files });
}

export async function measureCrossPluginCalls(options: {
  host: PluginHostApi;
  plan: LoadPlan;
  signal: AbortSignal;
}): Promise<LoadResults> {
  const result = await options.host.callEntry(
    CALLER_PLUGIN_ID,
    "measure",
    { plan: options.plan },
    { timeoutMs: 600_000 },
  );
  if (!result.ok) throw new Error(`cross-plugin bench failed: ${result.error.code}: ${result.error.message}`);
  return result.value as LoadResults;
}
