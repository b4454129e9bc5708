/**
 * `GET /plugin/metrics` and `GET /plugin/metrics/{id}` (SPEC §5.1, docs/metrics.md): each plugin's process figures
 * (CPU, memory, event-loop lag; null when no process runs) and its calls, errors and latency percentiles per entry.
 */
import type { FastifyInstance } from "fastify";
import type { PluginHostApi } from "@neko/host";
import { ErrorCode } from "@neko/protocol";
import { HttpError } from "../http-errors.ts";
import { pluginIdParams } from "./route-schemas.ts";

export function registerMetricsRoutes(app: FastifyInstance, host: PluginHostApi): void {
  app.get("/plugin/metrics", async () => ({ plugins: host.metrics.list() }));

  app.get<{ Params: { id: string } }>("/plugin/metrics/:id", { schema: { params: pluginIdParams } }, async (req) => {
    const metrics = host.metrics.get(req.params.id);
    if (!metrics) throw new HttpError(ErrorCode.PluginNotFound, `no plugin with id '${req.params.id}'`);
    return metrics;
  });
}
