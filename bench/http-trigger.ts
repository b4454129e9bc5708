/**
 * `POST /plugin/trigger` over HTTP against a real server on port 0, driven by autocannon in this process. Latencies
 * come from autocannon's per-response timer (sub-millisecond), not its whole-millisecond histogram, and the wall
 * time from our own clock, not its whole-second one.
 */
import autocannon from "autocannon";
import { BENCH_ARGS, BENCH_CALL_TIMEOUT_MS, ECHO_ENTRY_ID } from "./bench-payload.ts";
import type { LoadPlan, LoadResults } from "./load-loop.ts";
import { type Failures, type LatencySummary, recordFailure, summarize } from "./stats.ts";

interface HttpTarget {
  /** Server origin, e.g. `http://127.0.0.1:40123`. */
  url: string;
  pluginId: string;
}

export async function measureHttpTrigger(
  options: HttpTarget & { plan: LoadPlan; signal: AbortSignal },
): Promise<LoadResults> {
  const { plan, signal } = options;
  await checkOneTrigger(options);
  const { warmupOps } = plan;
  const sequential = await runAutocannon({
    target: options,
    load: { connections: 1, amount: plan.sequentialOps },
    warmupOps,
    signal,
  });
  const concurrent = await runAutocannon({
    target: options,
    load: { connections: plan.concurrency, duration: plan.concurrentMs / 1000 },
    warmupOps,
    signal,
  });
  return { sequential, concurrent };
}

function triggerRequest(target: HttpTarget) {
  return {
    url: `${target.url}/plugin/trigger`,
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      plugin_id: target.pluginId,
      entry_id: ECHO_ENTRY_ID,
      args: BENCH_ARGS,
      timeout: BENCH_CALL_TIMEOUT_MS / 1000,
    }),
  };
}

/** Fails loudly before measuring if the route does not answer what we expect (a fast 404 would look great). */
async function checkOneTrigger(target: HttpTarget): Promise<void> {
  const { url, ...init } = triggerRequest(target);
  const res = await fetch(url, init);
  const body = (await res.json()) as { success?: boolean; data?: unknown };
  if (res.status !== 200 || body.success !== true || JSON.stringify(body.data) !== JSON.stringify(BENCH_ARGS)) {
    throw new Error(`POST /plugin/trigger answered ${res.status}: ${JSON.stringify(body)}`);
  }
}

async function runAutocannon(options: {
  target: HttpTarget;
  load: { connections: number; amount?: number; duration?: number };
  warmupOps: number;
  signal: AbortSignal;
}): Promise<LatencySummary> {
  const { target, load, signal } = options;
  signal.throwIfAborted();
  const latencies: number[] = [];
  const failures: Failures = { count: 0, first: null };
  let start = process.hrtime.bigint();
  // autocannon only reports "done" on its next 1 s sampling tick: the run ends at its last response instead.
  let end = start;
  const instance = autocannon({
    ...triggerRequest(target),
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
