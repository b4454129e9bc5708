/** The bus over HTTP: delivery and drop counts (`GET /bus/stats`) and namespace queries (`GET /bus/{namespace}`). */
import type { FastifyInstance } from "fastify";
import type { PluginHostApi } from "@neko/host";
import { BUS_NAMESPACES, type BusNamespaceName } from "@neko/protocol";
import { readIntParam, readStringParam } from "../query-params.ts";

const namespaceParams = {
  type: "object",
  required: ["namespace"],
  properties: { namespace: { type: "string", enum: [...BUS_NAMESPACES] } },
} as const;

export function registerBusRoutes(app: FastifyInstance, host: PluginHostApi): void {
  app.get("/bus/stats", async () => host.bus.stats());

  app.get<{ Params: { namespace: BusNamespaceName } }>(
    "/bus/:namespace",
    { schema: { params: namespaceParams } },
    async (req) => {
      const query = req.query as Record<string, unknown>;
      const { revision, records } = host.bus.query(req.params.namespace, {
        pluginId: readStringParam(query, "plugin_id"),
        source: readStringParam(query, "source"),
        type: readStringParam(query, "type"),
        priorityMin: readIntParam(query, "priority_min", { min: 0, max: 10 }),
        sinceTs: readIntParam(query, "since_ts", { min: 0 }),
        maxCount: readIntParam(query, "max_count", { min: 0, max: 10_000 }) ?? 100,
      });
      return { namespace: req.params.namespace, revision, records };
    },
  );
}
