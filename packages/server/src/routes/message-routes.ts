/**
 * The message queue over HTTP (SPEC §5.1): `GET /plugin/messages` pages with an `after` cursor, and
 * `GET /plugin/messages/stream` sends each message as a Server-Sent Event whose `id` is its cursor, so
 * `Last-Event-ID` resumes. Documented in docs/bus.md.
 */
import type { FastifyInstance } from "fastify";
import type { MessageView, PluginHostApi } from "@neko/host";
import { QUERY_PARAM_ERRORS, readIntParam, readStringParam } from "../query-params.ts";
import type { SseHub } from "../sse-hub.ts";
import { type JsonSchema, type RouteDoc, schemaRef } from "../openapi/route-doc.ts";

const REPLAY_PAGE = 1000;

const filters: Record<string, JsonSchema> = {
  plugin_id: { type: "string", description: "only this plugin's messages" },
  priority_min: { type: "integer", minimum: 0, maximum: 10, description: "only messages of at least this priority" },
  after: { type: "integer", minimum: 0, description: "a cursor: only messages with a greater id" },
};

const listDoc: RouteDoc = {
  tag: "messages",
  summary: "The message queue, oldest first, paged with a cursor",
  query: {
    ...filters,
    max_count: { type: "integer", minimum: 1, maximum: 1000, default: 100, description: "at most this many" },
  },
  responses: {
    200: {
      description: "pass `next_cursor` as the next `after`",
      schema: {
        type: "object",
        required: ["messages", "next_cursor", "has_more", "dropped", "missed"],
        properties: {
          messages: { type: "array", items: schemaRef("Message") },
          next_cursor: { type: "integer" },
          has_more: { type: "boolean" },
          dropped: { type: "integer", description: "messages dropped since the host started" },
          missed: { type: "integer", description: "messages after your cursor dropped before you read them" },
        },
      },
    },
  },
  errors: { 400: QUERY_PARAM_ERRORS },
};

const streamDoc: RouteDoc = {
  tag: "messages",
  summary: "Each message as a Server-Sent Event; resumes with Last-Event-ID",
  description:
    "A cursor (`Last-Event-ID` or `?after=`) first replays the kept messages after it, then live ones; " +
    "`event: gap` with `{ missed }` says some were dropped. Comments `: heartbeat` keep the stream open.",
  query: filters,
  headers: { "last-event-id": { type: "string", description: "the id of the last event seen; wins over `after`" } },
  responses: {
    200: {
      description: "the stream: `event: message`, `id: <message id>`, `data: <Message as JSON>`",
      contentType: "text/event-stream",
      schema: { type: "string" },
    },
  },
  errors: { 400: QUERY_PARAM_ERRORS },
};

export function registerMessageRoutes(app: FastifyInstance, host: PluginHostApi, sse: SseHub): void {
  app.get("/plugin/messages", { config: { doc: listDoc } }, async (req) => {
    const query = req.query as Record<string, unknown>;
    return host.messages.list({
      pluginId: readStringParam(query, "plugin_id"),
      priorityMin: readIntParam(query, "priority_min", { min: 0, max: 10 }),
      after: readIntParam(query, "after", { min: 0 }),
      maxCount: readIntParam(query, "max_count", { min: 1, max: 1000 }),
    });
  });

  app.get("/plugin/messages/stream", { config: { doc: streamDoc } }, async (req, reply) => {
    const query = req.query as Record<string, unknown>;
    const pluginId = readStringParam(query, "plugin_id");
    const priorityMin = readIntParam(query, "priority_min", { min: 0, max: 10 });
    const lastEventId = req.headers["last-event-id"];
    const after =
      typeof lastEventId === "string" && lastEventId !== ""
        ? readIntParam({ "Last-Event-ID": lastEventId }, "Last-Event-ID", { min: 0 })
        : readIntParam(query, "after", { min: 0 });
    const wanted = (m: MessageView) =>
      (pluginId === undefined || m.plugin_id === pluginId) && (priorityMin === undefined || m.priority >= priorityMin);

    const stream = sse.open(reply);
    // Replay and subscribe in one synchronous stretch: no message can slip in between.
    if (after !== undefined) {
      let cursor = after;
      for (;;) {
        const page = host.messages.list({ pluginId, priorityMin, after: cursor, maxCount: REPLAY_PAGE });
        if (cursor === after && page.missed > 0) stream.send({ event: "gap", data: { missed: page.missed } });
        for (const message of page.messages) stream.send({ id: message.id, event: "message", data: message });
        cursor = page.next_cursor;
        if (!page.has_more || stream.closed) break;
      }
    }
    const subscription = host.messages.subscribe((message) => {
      if (wanted(message)) stream.send({ id: message.id, event: "message", data: message });
    });
    stream.onClose(() => subscription.dispose());
  });
}
