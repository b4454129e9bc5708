/**
 * One HTTP request driven by autocannon in this process, one at a time and then `plan.concurrency` connections at
 * once: the load every HTTP row gets. Latencies come from autocannon's per-response timer (sub-millisecond), not its
 * whole-millisecond histogram, and the wall time from our own clock, not its whole-second one.
 */
import autocannon from "autocannon";
import { BENCH_CALL_TIMEOUT_MS } from "./bench-payload.ts";
import type { LoadPlan, LoadResults } from "./load-loop.ts";
import { type Failures, type LatencySummary, recordFailure, summarize } from "./stats.ts";

export interface HttpRequest {
  url: string;
  method: string;
  headers: Record<string, string>;
  body: string;
}

export async function measureHttpLoad(options: {
  request: HttpRequest;
  /** Throws if one request's answer is not the expected one: checked once before measuring. */
  check: (status: number, body: unknown) => void;
  plan: LoadPlan;
  signal: AbortSignal;
}): Promise<LoadResults> {
  const { request, plan, signal } = options;
  // Fails loudly before measuring if the route does not answer what we expect (a fast 404 would look great).
  const { url, ...init } = request;
  const res = await fetch(url, init);
  options.check(res.status, await res.json());
  const { warmupOps } = plan;
  const sequential = await runAutocannon({
    request,
    load: { connections: 1, amount: plan.sequentialOps },
    warmupOps,
    signal,
  });
  const concurrent = await runAutocannon({
    request,
    load: { connections: plan.concurrency, duration: plan.concurrentMs / 1000 },
    warmupOps,
    signal,
  });
  return { sequential, concurrent };
}

async function runAutocannon(options: {
  request: HttpRequest;
  load: { connections: number; amount?: number; duration?: number };
  warmupOps: number;
  signal: AbortSignal;
}): Promise<LatencySummary> {
  const { request, load, signal } = options;
  signal.throwIfAborted();
  const latencies: number[] = [];
  const failures: Failures = { count: 0, first: null };
  let start = process.hrtime.bigint();
  // autocannon only reports "done" on its next 1 s sampling tick: the run ends at its last response instead.
  let end = start;
  const instance = autocannon({
    ...request,
    ...load,
    // Longer than the call's own deadline, so a lost call comes back as a 504 rather than a dropped connection.
    timeout: BENCH_CALL_TIMEOUT_MS / 1000 + 5,
    warmup: { connections: load.connections, amount: Math.max(options.warmupOps, load.connections) },
  });
  // Emitted by the measured run only, after the warm-up run has finished.
  instance.on("start", () => {
    start = process.hrtime.bigint();
  });
  instance.on("response", (_client, statusCode, _bytes, responseTime) => {
    end = process.hrtime.bigint();
    if (statusCode === 200) latencies.push(responseTime);
    else recordFailure(failures, `HTTP ${statusCode}`);
  });
  instance.on("reqError", (error) => recordFailure(failures, error));
  const abort = () => instance.stop();
  signal.addEventListener("abort", abort, { once: true });
  try {
    await instance;
    signal.throwIfAborted();
    return summarize(latencies, Number(end - start) / 1e6, failures);
  } finally {
    signal.removeEventListener("abort", abort);
  }
}
