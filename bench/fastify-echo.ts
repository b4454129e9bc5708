/**
 * The HTTP reference: a bare Fastify 5 server in this process (no hooks, no schema, logger off) whose one route
 * answers the `POST /plugin/trigger` body with its args, `{ success: true, data: args }`. Same request bytes, same
 * autocannon load as the trigger row: what HTTP and Fastify alone cost on this machine.
 */
import Fastify from "fastify";
import { BENCH_ARGS } from "./bench-payload.ts";
import { measureHttpLoad } from "./http-load.ts";
import { triggerBody } from "./http-trigger.ts";
import type { LoadPlan, LoadResults } from "./load-loop.ts";

export async function measureFastifyEcho(options: { plan: LoadPlan; signal: AbortSignal }): Promise<LoadResults> {
  const app = Fastify({ logger: false });
  app.post("/echo", async (request) => ({ success: true, data: (request.body as { args?: unknown }).args }));
  try {
    const url = await app.listen({ host: "127.0.0.1", port: 0 });
    return await measureHttpLoad({
      request: {
        url: `${url}/echo`,
        method: "POST",
        headers: { "content-type": "application/json" },
        body: triggerBody("bench_echo"),
      },
      check: (status, body) => {
        const answer = body as { success?: boolean; data?: unknown };
        if (status !== 200 || answer.success !== true || JSON.stringify(answer.data) !== JSON.stringify(BENCH_ARGS)) {
          throw new Error(`the bare Fastify echo answered ${status}: ${JSON.stringify(body)}`);
        }
      },
      plan: options.plan,
      signal: options.signal,
    });
  } finally {
    await app.close();
  }
}
