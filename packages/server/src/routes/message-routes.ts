/**
 * The message queue over HTTP (SPEC §5.1): `GET /plugin/messages` pages with an `after` cursor, and
 * `GET /plugin/messages/stream` sends each message as a Server-Sent Event whose `id` is its cursor, so
 * `Last-Event-ID` resumes. Documented in docs/bus.md.
 */
import type { FastifyInstance } from "fastify";
import type { MessageView, PluginHostApi } from "@neko/host";
import { readIntParam, readStringParam } from "../query-params.ts";
import type { SseHub } from "../sse-hub.ts";

const REPLAY_PAGE = 1000;

export function registerMessageRoutes(app: FastifyInstance, host: PluginHostApi, sse: SseHub): void {
  app.get("/plugin/messages", async (req) => {
    const query = req.query as Record<string, unknown>;
    return host.messages.list({
      pluginId: readStringParam(query, "plugin_id"),
      priorityMin: readIntParam(query, "priority_min", { min: 0, max: 10 }),
      after: readIntParam(query, "after", { min: 0 }),
      maxCount: readIntParam(query, "max_count", { min: 1, max: 1000 }),
    });
  });

  app.get("/plugin/messages/stream", async (req, reply) => {
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
    const unsubscribe = host.messages.subscribe((message) => {
      if (wanted(message)) stream.send({ id: message.id, event: "message", data: message });
    });
    stream.onClose(unsubscribe);
  });
}
