/** Entry call host → plugin: `PluginHost.callEntry` against a real plugin process, through the whole call path. */
import type { PluginHostApi } from "@neko/host";
import { BENCH_ARGS, BENCH_CALL_TIMEOUT_MS, ECHO_ENTRY_ID } from "./bench-payload.ts";
import { type LoadPlan, type LoadResults, type Operation, runLoadPlan } from "./load-loop.ts";

export async function measureEntryCalls(options: {
  host: PluginHostApi;
  pluginId: string;
  plan: LoadPlan;
  signal: AbortSignal;
}): Promise<LoadResults> {
  return runLoadPlan(entryCall(options.host, options.pluginId), options.plan, options.signal);
}

/** One echo entry call carrying `args`, as an operation of the load loop. */
export function entryCall(
  host: PluginHostApi,
  pluginId: string,
  args: Record<string, unknown> = BENCH_ARGS,
): Operation {
  return async () => {
    const result = await host.callEntry(pluginId, ECHO_ENTRY_ID, args, { timeoutMs: BENCH_CALL_TIMEOUT_MS });
    if (!result.ok) throw new Error(`entry call failed: ${result.error.code}: ${result.error.message}`);
  };
}
