/** Entry call host → plugin: `PluginHost.callEntry` against a real plugin process, through the whole call path. */
import type { PluginHostApi } from "@neko/host";
import { BENCH_ARGS, BENCH_CALL_TIMEOUT_MS, ECHO_ENTRY_ID } from "./bench-payload.ts";
import { type LoadPlan, type LoadResults, runLoadPlan } from "./load-loop.ts";

export async function measureEntryCalls(options: {
  host: PluginHostApi;
  pluginId: string;
  plan: LoadPlan;
  signal: AbortSignal;
}): Promise<LoadResults> {
  const { host, pluginId } = options;
  const op = async () => {
    const result = await host.callEntry(pluginId, ECHO_ENTRY_ID, BENCH_ARGS, { timeoutMs: BENCH_CALL_TIMEOUT_MS });
    if (!result.ok) throw new Error(`entry call failed: ${result.error.code}: ${result.error.message}`);
  };
  return runLoadPlan(op, options.plan, options.signal);
}
