/**
 * `POST /plugin/{id}/message` (SPEC §5.1): delivers `{ source, text, sender, …anything }` to the plugin's `@message`
 * handlers whose `source` matches, and answers with each handler that ran and its result.
 */
import type { FastifyInstance } from "fastify";
import type { PluginHostApi } from "@neko/host";
import type { WireResult } from "@neko/protocol";
import { wireErrorBody, sendWireError } from "../http-errors.ts";
import { pluginIdParams } from "./route-schemas.ts";

const messageBody = {
  type: "object",
  required: ["source", "text"],
  properties: {
    source: { type: "string", minLength: 1 },
    text: { type: "string" },
    sender: { type: "string" },
  },
  additionalProperties: true,
} as const;

export function registerMessageDeliveryRoutes(app: FastifyInstance, host: PluginHostApi): void {
  app.post<{ Params: { id: string }; Body: Record<string, unknown> }>(
    "/plugin/:id/message",
    { schema: { params: pluginIdParams, body: messageBody } },
    async (req, reply) => {
      const result = await host.deliverMessage(req.params.id, req.body);
      if (!result.ok) return sendWireError(reply, result.error);
      const handlers = (result.value as { handlers: Array<{ id: string; result: WireResult }> }).handlers.map(
        ({ id, result: r }) =>
          r.ok
            ? { id, success: true, data: r.value ?? null, error: null }
            : { id, success: false, data: null, ...wireErrorBody(r.error) },
      );
      return { success: true, plugin_id: req.params.id, delivered: handlers.length, handlers };
    },
  );
}
