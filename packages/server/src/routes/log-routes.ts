/**
 * `GET /plugin/{id}/logs` (SPEC §5.1, docs/logging.md): a plugin's recent log records, newest last, filtered by
 * minimum level and message text. The log WebSocket (`/ws/logs/{id}`) is not built yet.
 */
import type { FastifyInstance } from "fastify";
import { isLogLevel, LOG_LEVELS, type PluginHostApi } from "@neko/host";
import { ErrorCode } from "@neko/protocol";
import { HttpError } from "../http-errors.ts";
import type { RouteDoc } from "../openapi/route-doc.ts";
import { QUERY_PARAM_ERRORS, readIntParam, readStringParam } from "../query-params.ts";
import { pluginIdParams } from "./route-schemas.ts";

const logsDoc: RouteDoc = {
  tag: "observability",
  summary: "The plugin's recent log records, newest last",
  description:
    "Every line its processes wrote (pino JSON, plain stdout and stderr) and the host's lines about its state " +
    "changes, kept across crashes and restarts in a bounded buffer.",
  query: {
    lines: {
      type: "integer",
      minimum: 1,
      default: 100,
      description: "at most this many records (the newest); at most the buffer's capacity (default 1000)",
    },
    level: { type: "string", enum: [...LOG_LEVELS], description: "only records of at least this level" },
    search: { type: "string", description: "only records whose msg contains this text (case-insensitive)" },
  },
  responses: {
    200: {
      description: "`dropped` counts the records the buffer let go since the plugin was found",
      schema: {
        type: "object",
        required: ["plugin_id", "records", "dropped"],
        properties: {
          plugin_id: { type: "string" },
          records: {
            type: "array",
            items: {
              type: "object",
              required: ["time", "level", "msg", "pid"],
              properties: {
                time: { type: "string", format: "date-time" },
                level: { type: "string" },
                msg: { type: "string" },
                pid: { type: ["integer", "null"], description: "null for the host's own lines" },
              },
              additionalProperties: true,
            },
          },
          dropped: { type: "integer" },
        },
      },
    },
  },
  errors: {
    400: `${QUERY_PARAM_ERRORS}; or \`level\` is not a level name`,
    404: "`PLUGIN_NOT_FOUND`: no plugin with that id",
  },
};

export function registerLogRoutes(app: FastifyInstance, host: PluginHostApi): void {
  app.get<{ Params: { id: string } }>(
    "/plugin/:id/logs",
    { schema: { params: pluginIdParams }, config: { doc: logsDoc } },
    async (req) => {
      const query = req.query as Record<string, unknown>;
      const lines = readIntParam(query, "lines", { min: 1, max: host.logs.capacity });
      const level = readStringParam(query, "level");
      if (level !== undefined && !isLogLevel(level)) {
        throw new HttpError(ErrorCode.Validation, `'level' must be one of ${LOG_LEVELS.join(", ")} (got '${level}')`, {
          field: "level",
        });
      }
      const search = readStringParam(query, "search");
      const page = host.logs.read(req.params.id, { lines, level, search });
      if (!page) throw new HttpError(ErrorCode.PluginNotFound, `no plugin with id '${req.params.id}'`);
      return page;
    },
  );
}
