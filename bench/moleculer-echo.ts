/**
 * The peer framework's figure: Moleculer (two brokers in two processes, TCP transporter, default JSON serializer)
 * calling an echo action in a child process, `broker.call("bench.echo", args)` with the entry call's args, through
 * the same load loop as every other round trip.
 */
import type { ChildProcess } from "node:child_process";
import path from "node:path";
import moleculer from "moleculer";
import { BENCH_DIR, firstMessage, spawnBenchChild, stopChild } from "./bench-child.ts";
import { BENCH_ARGS } from "./bench-payload.ts";
import { type LoadPlan, type LoadResults, runLoadPlan } from "./load-loop.ts";
import { moleculerBrokerOptions } from "./moleculer-options.ts";

const peerScript = path.join(BENCH_DIR, "moleculer-echo-peer.ts");

export async function measureMoleculer(options: { plan: LoadPlan; signal: AbortSignal }): Promise<LoadResults> {
  let peer: ChildProcess | undefined;
  let broker: moleculer.ServiceBroker | undefined;
  try {
    peer = spawnBenchChild(peerScript, [], ["--import", "tsx"]);
    const { port } = (await firstMessage(peer, "the Moleculer echo peer")) as { port: number };
    broker = new moleculer.ServiceBroker(
      moleculerBrokerOptions({ nodeID: "bench-caller", urls: [`127.0.0.1:${port}/bench-echo`] }),
    );
    await broker.start();
    await broker.waitForServices("bench", 15_000);
    const caller = broker;
    const op = async () => {
      const answer = (await caller.call("bench.echo", BENCH_ARGS)) as { n?: unknown };
      if (answer?.n !== BENCH_ARGS.n) throw new Error(`the echo action answered ${JSON.stringify(answer)}`);
    };
    return await runLoadPlan(op, options.plan, options.signal);
  } finally {
    await broker?.stop();
    if (peer) await stopChild(peer);
  }
}
