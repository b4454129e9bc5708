/**
 * Cross-plugin call A → B: plugin A runs the bench's own load loop inside its process, timing
 * `this.plugins.callEntry("<echo>:echo")`, so the figure is A → host → B → host → A and nothing else.
 * The caller plugin imports bench/load-loop.ts by absolute path: the same loop as every other round-trip row.
 */
import { fileURLToPath } from "node:url";
import type { PluginHostApi } from "@neko/host";
import { writePlugin } from "../test/support/plugin-fixtures.ts";
import { BENCH_ARGS, BENCH_CALL_TIMEOUT_MS, ECHO_ENTRY_ID } from "./bench-payload.ts";
import type { LoadPlan, LoadResults } from "./load-loop.ts";

export const CALLER_PLUGIN_ID = "bench_caller";

const callerCode = (targetId: string) => `
import { NekoPluginBase, nekoPlugin, pluginEntry, Ok, Err } from "@neko/plugin-sdk/plugin";
import { runLoadPlan } from ${JSON.stringify(new URL("./load-loop.ts", import.meta.url).href)};

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
  // Under the permission model the caller reads only its folder: the bench's load loop is granted by name.
  const manifest = [
    "[plugin]",
    `id = "${CALLER_PLUGIN_ID}"`,
    'entry = "index.ts:BenchCaller"',
    "[plugin.permissions]",
    `fs_read = [${JSON.stringify(fileURLToPath(new URL(".", import.meta.url)))}]`,
    "",
  ].join("\n");
  return writePlugin(root, { id: CALLER_PLUGIN_ID, manifest, code: callerCode(targetId) });
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
