/**
 * `POST /plugin/{id}/message` (SPEC §5.1): delivers `{ source, text, sender, …anything }` to the plugin's `@message`
 * handlers whose `source` matches, and answers with each handler that ran and its result.
 */
import type { FastifyInstance } from "fastify";
import type { PluginHostApi } from "@neko/host";
import type { WireResult } from "@neko/protocol";
import { wireErrorBody, sendWireError } from "../http-errors.ts";
import { type RouteDoc, schemaRef } from "../openapi/route-doc.ts";
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

const deliveryDoc: RouteDoc = {
  tag: "messages",
  summary: "Deliver a message to the plugin's @message handlers",
  description:
    "Handlers with a `source` get only messages with that source. A handler's failure is in its own entry of " +
    "`handlers`, and the answer is still 200.",
  responses: {
    200: {
      description: "each handler that ran, in order",
      schema: {
        type: "object",
        required: ["success", "plugin_id", "delivered", "handlers"],
        properties: {
          success: { type: "boolean", enum: [true] },
          plugin_id: { type: "string" },
          delivered: { type: "integer" },
          handlers: {
            type: "array",
            items: {
              type: "object",
              required: ["id", "success", "data", "error"],
              properties: {
                id: { type: "string" },
                success: { type: "boolean" },
                data: { description: "the handler's value" },
                error: { anyOf: [schemaRef("Error"), { type: "null" }] },
              },
            },
          },
        },
      },
    },
  },
  errors: {
    404: "`PLUGIN_NOT_FOUND`: no plugin with that id",
    409: "`PLUGIN_NOT_RUNNING`: the plugin is not running",
    504: "`TIMEOUT`: the delivery took longer than 30 s",
  },
};

export function registerMessageDeliveryRoutes(app: FastifyInstance, host: PluginHostApi): void {
  app.post<{ Params: { id: string }; Body: Record<string, unknown> }>(
    "/plugin/:id/message",
    { schema: { params: pluginIdParams, body: messageBody }, config: { doc: deliveryDoc } },
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
