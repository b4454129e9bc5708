/**
 * The bus over HTTP: delivery and drop counts (`GET /bus/stats`), namespace queries (`GET /bus/{namespace}`) and
 * every published event live as Server-Sent Events (`GET /bus/events/stream`). Documented in docs/bus.md.
 */
import type { FastifyInstance } from "fastify";
import type { PluginHostApi } from "@neko/host";
import { BUS_NAMESPACES, type BusNamespaceName } from "@neko/protocol";
import { readIntParam, readStringParam } from "../query-params.ts";
import type { SseHub } from "../sse-hub.ts";

const namespaceParams = {
  type: "object",
  required: ["namespace"],
  properties: { namespace: { type: "string", enum: [...BUS_NAMESPACES] } },
} as const;

export function registerBusRoutes(app: FastifyInstance, host: PluginHostApi, sse: SseHub): void {
  app.get("/bus/stats", async () => host.bus.stats());

  // Live only: what was published before the stream opened is at GET /bus/events.
  app.get("/bus/events/stream", async (req, reply) => {
    const query = req.query as Record<string, unknown>;
    const type = readStringParam(query, "type");
    // `publisher=host` keeps the events the host publishes (publisher null), as `source` does in the namespaces.
    const wanted = readStringParam(query, "publisher");
    const publisher = wanted === "host" ? null : wanted;
    const stream = sse.open(reply);
    const unsubscribe = host.bus.onEvent((event) => {
      if ((type === undefined || event.type === type) && (publisher === undefined || event.publisher === publisher)) {
        stream.send({ event: "bus", data: event });
      }
    });
    stream.onClose(unsubscribe);
  });

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
