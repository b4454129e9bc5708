/**
 * The floor: a raw ZeroMQ ROUTER ⇄ DEALER round trip between this process and a child Node process
 * (zmq-echo-peer.ts) over `ipc://`, carrying the same msgpack frames as an entry call. Nothing we build can be
 * faster than this, so every other row is read as a multiple of it.
 */
import type { ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import { once } from "node:events";
import fs from "node:fs";
import path from "node:path";
import { decodeFrame, encodeFrame, serialSend } from "@neko/protocol";
import { Router } from "zeromq";
import { makeTempDir } from "../test/support/plugin-fixtures.ts";
import { BENCH_DIR, spawnBenchChild, stopChild } from "./bench-child.ts";
import { BENCH_ARGS, BENCH_CALL_TIMEOUT_MS, benchCallMessage } from "./bench-payload.ts";
import { type LoadPlan, type LoadResults, type Operation, runLoadPlan } from "./load-loop.ts";

const peerScript = path.join(BENCH_DIR, "zmq-echo-peer.ts");
const PEER_READY_TIMEOUT_MS = 15_000;

/** One floor round trip carrying `args`, as an operation of the load loop. */
export type FloorCall = (args?: Record<string, unknown>) => Operation;

export async function measureZmqFloor(options: { plan: LoadPlan; signal: AbortSignal }): Promise<LoadResults> {
  return withZmqEchoPeer((call) => runLoadPlan(call(BENCH_ARGS), options.plan, options.signal));
}

/** Starts the echo peer, hands `use` the round trip to it, and stops the peer and removes its socket after. */
export async function withZmqEchoPeer<T>(use: (call: FloorCall) => Promise<T>): Promise<T> {
  const dir = makeTempDir("neko-bench-floor-");
  const router = new Router({ linger: 0, sendHighWaterMark: 0, receiveHighWaterMark: 0 });
  let peer: ChildProcess | undefined;
  try {
    const endpoint = `ipc://${path.join(dir, "floor.sock")}`;
    await router.bind(endpoint);
    peer = spawnBenchChild(peerScript, [endpoint], ["--import", "tsx"]);
    const pending = new Map<string, (ok: boolean) => void>();
    const peerId = await Promise.race([receiveLoop(router, pending), exitBeforeHello(peer)]);

    const send = serialSend((frames: Buffer[]) => router.send(frames));

    // The bookkeeping any request needs (an id, a pending entry, a deadline timer) and one frame each way.
    const call: FloorCall =
      (args = BENCH_ARGS) =>
      () =>
        new Promise<void>((resolve, reject) => {
          const id = randomUUID();
          const timer = setTimeout(() => {
            pending.delete(id);
            reject(new Error(`no answer from the echo peer within ${BENCH_CALL_TIMEOUT_MS} ms`));
          }, BENCH_CALL_TIMEOUT_MS);
          pending.set(id, (ok) => {
            clearTimeout(timer);
            if (ok) resolve();
            else reject(new Error("the echo peer answered with something other than a result"));
          });
          send([peerId, encodeFrame(benchCallMessage(id, args))]).catch(reject);
        });
    return await use(call);
  } finally {
    router.close();
    if (peer) await stopChild(peer);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Starts reading the router and resolves with the peer's routing id once it has said hello; from then on each
 * result frame settles the pending call with its id.
 */
function receiveLoop(router: Router, pending: Map<string, (ok: boolean) => void>): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("the echo peer did not say hello in time")), PEER_READY_TIMEOUT_MS);
    timer.unref();
    void (async () => {
      try {
        for await (const [peerId, frame] of router) {
          const message = decodeFrame(frame);
          if (message?.type === "hello") {
            clearTimeout(timer);
            resolve(peerId);
            continue;
          }
          const id = typeof message?.id === "string" ? message.id : "";
          const settle = pending.get(id);
          pending.delete(id);
          settle?.(message?.type === "result");
        }
      } catch {
        // Closing the router ends the iterator with an error.
      }
    })();
  });
}

function exitBeforeHello(child: ChildProcess): Promise<never> {
  return once(child, "exit").then(([code, signal]) => {
    throw new Error(`the echo peer exited before saying hello (${signal ?? `exit code ${code}`})`);
  });
}
