/**
 * Drives one async operation, one at a time or with many in flight, and times every call. Every round-trip row
 * (the ZeroMQ floor, the entry call) is measured by this one loop so their figures compare like for like.
 */
import { type Failures, type LatencySummary, msSince, recordFailure, summarize } from "./stats.ts";

/** One timed round trip; it rejects if the answer is not the expected one (counted as failed, not timed). */
export type Operation = () => Promise<void>;

export interface LoadPlan {
  /** Operations run and discarded before each measurement (JIT, socket buffers, lazy paths). */
  warmupOps: number;
  /** Operations timed one after the other (concurrency 1). */
  sequentialOps: number;
  /** Operations in flight during the concurrent measurement. */
  concurrency: number;
  /** How long the concurrent measurement runs. */
  concurrentMs: number;
}

export interface LoadResults {
  sequential: LatencySummary;
  concurrent: LatencySummary;
}

/** The sequential measurement, then the concurrent one, each after its own warm-up. */
export async function runLoadPlan(op: Operation, plan: LoadPlan, signal: AbortSignal): Promise<LoadResults> {
  const sequential = await runLoad(op, { concurrency: 1, warmupOps: plan.warmupOps, ops: plan.sequentialOps, signal });
  const concurrent = await runLoad(op, {
    concurrency: plan.concurrency,
    warmupOps: plan.warmupOps,
    durationMs: plan.concurrentMs,
    signal,
  });
  return { sequential, concurrent };
}

export interface LoadOptions {
  concurrency: number;
  warmupOps: number;
  /** Stop after this many timed operations… */
  ops?: number;
  /** …or once this much time has passed (operations in flight then still complete and count). */
  durationMs?: number;
  signal: AbortSignal;
}

export async function runLoad(op: Operation, options: LoadOptions): Promise<LatencySummary> {
  const { concurrency, signal } = options;
  let warmed = 0;
  await drive({ op, concurrency, signal, more: () => warmed++ < options.warmupOps });

  let issued = 0;
  const limit = options.ops ?? Number.POSITIVE_INFINITY;
  const deadline = performance.now() + (options.durationMs ?? Number.POSITIVE_INFINITY);
  const start = process.hrtime.bigint();
  const { latencies, failures } = await drive({
    op,
    concurrency,
    signal,
    more: () => issued++ < limit && performance.now() < deadline,
  });
  return summarize(latencies, msSince(start), failures);
}

/** `concurrency` workers each run `op` back to back while `more()` says so; a failed op is counted, not timed. */
async function drive(options: {
  op: Operation;
  concurrency: number;
  signal: AbortSignal;
  more: () => boolean;
}): Promise<{ latencies: number[]; failures: Failures }> {
  const { op, signal, more } = options;
  const latencies: number[] = [];
  const failures: Failures = { count: 0, first: null };
  const worker = async () => {
    while (more()) {
      signal.throwIfAborted();
      const t0 = process.hrtime.bigint();
      try {
        await op();
        latencies.push(msSince(t0));
      } catch (error) {
        recordFailure(failures, error);
      }
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, worker));
  return { latencies, failures };
}
