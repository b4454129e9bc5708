/** `POST /plugin/trigger` over HTTP against a real server on port 0, under the HTTP rows' autocannon load. */
import { BENCH_ARGS, BENCH_CALL_TIMEOUT_MS, ECHO_ENTRY_ID } from "./bench-payload.ts";
import { type HttpRequest, measureHttpLoad } from "./http-load.ts";
import type { LoadPlan, LoadResults } from "./load-loop.ts";

interface HttpTarget {
  /** Server origin, e.g. `http://127.0.0.1:40123`. */
  url: string;
  pluginId: string;
}

export async function measureHttpTrigger(
  options: HttpTarget & { plan: LoadPlan; signal: AbortSignal },
): Promise<LoadResults> {
  return measureHttpLoad({
    request: triggerRequest(options),
    check: (status, body) => {
      const answer = body as { success?: boolean; data?: unknown };
      if (status !== 200 || answer.success !== true || JSON.stringify(answer.data) !== JSON.stringify(BENCH_ARGS)) {
        throw new Error(`POST /plugin/trigger answered ${status}: ${JSON.stringify(body)}`);
      }
    },
    plan: options.plan,
    signal: options.signal,
  });
}

/** The request body of every HTTP row: the bare Fastify echo gets the same bytes. */
export function triggerBody(pluginId: string): string {
  return JSON.stringify({
    plugin_id: pluginId,
    entry_id: ECHO_ENTRY_ID,
    args: BENCH_ARGS,
    timeout: BENCH_CALL_TIMEOUT_MS / 1000,
  });
}

function triggerRequest(target: HttpTarget): HttpRequest {
  return {
    url: `${target.url}/plugin/trigger`,
    method: "POST",
    headers: { "content-type": "application/json" },
    body: triggerBody(target.pluginId),
  };
}
