/** `GET /plugin/status`: the latest `reportStatus` of each plugin, or of one with `?plugin_id=` (SPEC §5.1). */
import type { FastifyInstance } from "fastify";
import type { PluginHostApi } from "@neko/host";
import { ErrorCode } from "@neko/protocol";
import { HttpError } from "../http-errors.ts";
import type { RouteDoc } from "../openapi/route-doc.ts";

const statusQuery = {
  type: "object",
  properties: { plugin_id: { type: "string", minLength: 1, description: "only this plugin's report" } },
} as const;

const report = {
  type: "object",
  required: ["plugin_id", "status", "updated_at"],
  properties: {
    plugin_id: { type: "string" },
    status: { type: ["object", "null"], description: "what the plugin last passed to reportStatus" },
    updated_at: { type: ["string", "null"], format: "date-time" },
  },
};

const statusDoc: RouteDoc = {
  tag: "status",
  summary: "The latest reportStatus of every plugin, or of one (`?plugin_id=`)",
  responses: {
    200: {
      description: "without plugin_id: `{ plugins: { <id>: report }, time }`; with it: the report and `time`",
      schema: {
        anyOf: [
          {
            type: "object",
            required: ["plugins", "time"],
            properties: { plugins: { type: "object", additionalProperties: report }, time: { type: "string" } },
          },
          { allOf: [report, { type: "object", required: ["time"], properties: { time: { type: "string" } } }] },
        ],
      },
    },
  },
  errors: { 404: "`PLUGIN_NOT_FOUND`: no plugin with that id" },
};

export function registerStatusRoutes(app: FastifyInstance, host: PluginHostApi): void {
  app.get<{ Querystring: { plugin_id?: string } }>(
    "/plugin/status",
    { schema: { querystring: statusQuery }, config: { doc: statusDoc } },
    async (req) => {
      const time = new Date().toISOString();
      const id = req.query.plugin_id;
      if (id === undefined) {
        return { plugins: Object.fromEntries(host.listStatus().map((r) => [r.plugin_id, r])), time };
      }
      const one = host.getStatus(id);
      if (!one) throw new HttpError(ErrorCode.PluginNotFound, `no plugin with id '${id}'`);
      return { ...one, time };
    },
  );
}
