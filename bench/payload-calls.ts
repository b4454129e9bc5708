/**
 * Entry calls carrying 1 KiB, 64 KiB and 1 MiB of args, one after the other, against the raw ZeroMQ floor carrying
 * the same args in the same frames. The echo entry (and the floor's peer) send the args back, so each call moves
 * the payload both ways; MB/s counts it once.
 */
import type { PluginHostApi } from "@neko/host";
import { PAYLOAD_SIZES, payloadArgs } from "./bench-payload.ts";
import { entryCall } from "./entry-call.ts";
import { runLoad } from "./load-loop.ts";
import type { LatencySummary } from "./stats.ts";
import { withZmqEchoPeer } from "./zmq-floor.ts";

export interface PayloadResult {
  bytes: number;
  floor: LatencySummary;
  entry: LatencySummary;
}

/** Calls timed per size (after a tenth as many warm-up calls): about a second of work each on 2 cores. */
export function payloadOps(bytes: number): number {
  return bytes >= 1024 * 1024 ? 60 : bytes >= 64 * 1024 ? 400 : 1000;
}

export async function measurePayloadCalls(options: {
  host: PluginHostApi;
  pluginId: string;
  signal: AbortSignal;
}): Promise<PayloadResult[]> {
  const { host, pluginId, signal } = options;
  return withZmqEchoPeer(async (floorCall) => {
    const results: PayloadResult[] = [];
    for (const bytes of PAYLOAD_SIZES) {
      const args = payloadArgs(bytes);
      const load = { concurrency: 1, ops: payloadOps(bytes), warmupOps: Math.ceil(payloadOps(bytes) / 10), signal };
      const floor = await runLoad(floorCall(args), load);
      const entry = await runLoad(entryCall(host, pluginId, args), load);
      results.push({ bytes, floor, entry });
    }
    return results;
  });
}
