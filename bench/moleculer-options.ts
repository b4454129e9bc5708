/** The broker options both sides of the Moleculer row share: TCP transporter, JSON serializer, no logger. */
import type { BrokerOptions } from "moleculer";
import { BENCH_CALL_TIMEOUT_MS } from "./bench-payload.ts";

export function moleculerBrokerOptions(options: { nodeID: string; urls: string[] }): BrokerOptions {
  return {
    nodeID: options.nodeID,
    logger: false,
    // The bench's call deadline, as every other row has (Moleculer's default is none).
    requestTimeout: BENCH_CALL_TIMEOUT_MS,
    // The default serializer (JSON) and the TCP transporter need no package beyond moleculer itself.
    transporter: { type: "TCP", options: { udpDiscovery: false, port: null, urls: options.urls } },
  };
}
