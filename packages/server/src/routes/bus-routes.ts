/**
 * The bus over HTTP: delivery and drop counts (`GET /bus/stats`), namespace queries (`GET /bus/{namespace}`) and
 * every published event live as Server-Sent Events (`GET /bus/events/stream`). Documented in docs/bus.md.
 */
import type { FastifyInstance } from "fastify";
import type { PluginHostApi } from "@neko/host";
import { BUS_NAMESPACES, type BusNamespaceName } from "@neko/protocol";
import { QUERY_PARAM_ERRORS, readIntParam, readStringParam } from "../query-params.ts";
import type { SseHub } from "../sse-hub.ts";
import { type RouteDoc, schemaRef } from "../openapi/route-doc.ts";

const namespaceParams = {
  type: "object",
  required: ["namespace"],
  properties: { namespace: { type: "string", enum: [...BUS_NAMESPACES] } },
} as const;

const statsDoc: RouteDoc = {
  tag: "bus",
  summary: "Delivery and drop counts, per subscriber and per namespace",
  responses: {
    200: {
      description: "the bus's counters",
      schema: {
        type: "object",
        required: ["published", "dropped_total", "subscribers", "namespaces"],
        properties: {
          published: { type: "integer" },
          dropped_total: { type: "integer", description: "events dropped for all subscribers so far" },
          subscribers: {
            type: "array",
            items: {
              type: "object",
              required: ["plugin_id", "types", "watches", "queued", "in_flight", "delivered", "dropped"],
              properties: {
                plugin_id: { type: "string" },
                types: { type: "array", items: { type: "string" } },
                watches: { type: "integer" },
                queued: { type: "integer" },
                in_flight: { type: "integer" },
                delivered: { type: "integer" },
                dropped: { type: "integer" },
              },
            },
          },
          namespaces: { type: "object", additionalProperties: schemaRef("BusNamespaceStats") },
        },
      },
    },
  },
};

const streamDoc: RouteDoc = {
  tag: "bus",
  summary: "Every event published from now on, as Server-Sent Events",
  description: "Live only, without event ids: what was published before is in `GET /bus/events`.",
  query: {
    type: { type: "string", description: "only this event type" },
    publisher: { type: "string", description: "only this publishing plugin; `host` for the host's own events" },
  },
  responses: {
    200: {
      description: "the stream: `event: bus`, `data: { type, payload, publisher, ts }`",
      contentType: "text/event-stream",
      schema: { type: "string" },
    },
  },
  errors: { 400: QUERY_PARAM_ERRORS },
};

const queryDoc: RouteDoc = {
  tag: "bus",
  summary: "The latest records of a namespace, oldest first",
  query: {
    plugin_id: { type: "string" },
    source: { type: "string" },
    type: { type: "string" },
    priority_min: { type: "integer", minimum: 0, maximum: 10 },
    since_ts: { type: "integer", minimum: 0, description: "records at or after this time (ms since the epoch)" },
    max_count: { type: "integer", minimum: 0, maximum: 10000, default: 100 },
  },
  responses: {
    200: {
      description: "the records and the namespace's revision",
      schema: {
        type: "object",
        required: ["namespace", "revision", "records"],
        properties: {
          namespace: { type: "string" },
          revision: { type: "integer" },
          records: { type: "array", items: schemaRef("BusRecord") },
        },
      },
    },
  },
  errors: { 400: QUERY_PARAM_ERRORS },
};

export function registerBusRoutes(app: FastifyInstance, host: PluginHostApi, sse: SseHub): void {
  app.get("/bus/stats", { config: { doc: statsDoc } }, async () => host.bus.stats());

  // Live only: what was published before the stream opened is at GET /bus/events.
  app.get("/bus/events/stream", { config: { doc: streamDoc } }, async (req, reply) => {
    const query = req.query as Record<string, unknown>;
    const type = readStringParam(query, "type");
    // `publisher=host` keeps the events the host publishes (publisher null), as `source` does in the namespaces.
    const wanted = readStringParam(query, "publisher");
    const publisher = wanted === "host" ? null : wanted;
    const stream = sse.open(reply);
    const subscription = host.bus.onEvent((event) => {
      if ((type === undefined || event.type === type) && (publisher === undefined || event.publisher === publisher)) {
        stream.send({ event: "bus", data: event });
      }
    });
    stream.onClose(() => subscription.dispose());
  });

  app.get<{ Params: { namespace: BusNamespaceName } }>(
    "/bus/:namespace",
    { schema: { params: namespaceParams }, config: { doc: queryDoc } },
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
