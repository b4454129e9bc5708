/**
 * `GET /plugin/{id}/logs` (SPEC §5.1, docs/logging.md): a plugin's recent log records, newest last, filtered by
 * minimum level and message text. `WS /ws/logs/{id}`: the same records, then each new one live.
 */
import type { FastifyInstance } from "fastify";
import { LOG_LEVELS, type LogQuery, logLevelNamed, type PluginHostApi } from "@neko/host";
import { ErrorCode } from "@neko/protocol";
import { HttpError } from "../http-errors.ts";
import type { RouteDoc } from "../openapi/route-doc.ts";
import { QUERY_PARAM_ERRORS, readIntParam, readStringParam } from "../query-params.ts";
import { WS_CLOSE, type WebSocketHub } from "../websocket-hub.ts";
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
    level: {
      type: "string",
      description:
        `only records of at least this level: ${LOG_LEVELS.join(", ")}, or the original's WARNING and CRITICAL; ` +
        "any case",
    },
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

const streamDoc: RouteDoc = {
  tag: "websockets",
  summary: "The plugin's recent log records, then each new one live (a WebSocket)",
  description:
    "JSON text frames: first `{ type: 'history', plugin_id, records, dropped }` (as `GET /plugin/{id}/logs` " +
    "answers), then `{ type: 'log', record }` for each new record that `level` and `search` keep. An unknown " +
    "plugin or a bad query is refused before the upgrade, with the same error as `GET /plugin/{id}/logs`.",
  query: logsDoc.query,
  responses: { 101: { description: "the upgrade: the socket sends the messages above" } },
  errors: {
    400: `${QUERY_PARAM_ERRORS}; or \`level\` is not a level name; or \`BAD_REQUEST\`: a plain GET, without an upgrade`,
    403: "`CROSS_ORIGIN_REFUSED`: the upgrade comes from another site's page (its `Origin`)",
    404: "`PLUGIN_NOT_FOUND`: no plugin with that id",
    503: "`TOO_MANY_CLIENTS`: the server has as many WebSocket clients as it accepts (`details.limit`)",
  },
};

export function registerLogRoutes(app: FastifyInstance, host: PluginHostApi, hub: WebSocketHub): void {
  app.get<{ Params: { id: string } }>(
    "/plugin/:id/logs",
    { schema: { params: pluginIdParams }, config: { doc: logsDoc } },
    async (req) => {
      const page = host.logs.read(req.params.id, readLogQuery(req.query as Record<string, unknown>, host));
      if (!page) throw pluginNotFound(req.params.id);
      return page;
    },
  );

  hub.route<{ id: string }>({
    url: "/ws/logs/:id",
    doc: streamDoc,
    schema: { params: pluginIdParams },
    check: (req) => {
      readLogQuery(req.query as Record<string, unknown>, host);
      if (!host.logs.read(req.params.id, { lines: 1 })) throw pluginNotFound(req.params.id);
    },
    open: (client, req) => {
      const query = readLogQuery(req.query as Record<string, unknown>, host);
      // Read and follow in one synchronous stretch: no record falls between the history and the live ones.
      const page = host.logs.read(req.params.id, query);
      const live = host.logs.follow(req.params.id, query, (record) => client.send({ type: "log", record }));
      if (!page || !live) {
        // The plugin left the host during the upgrade.
        client.close(WS_CLOSE.notFound, `no plugin with id '${req.params.id}'`);
        return;
      }
      client.own(live);
      client.send({ type: "history", ...page });
    },
  });
}

/** `?lines`, `?level` and `?search`, as both log routes read them. */
function readLogQuery(query: Record<string, unknown>, host: PluginHostApi): LogQuery {
  const lines = readIntParam(query, "lines", { min: 1, max: host.logs.capacity });
  const given = readStringParam(query, "level");
  const level = given === undefined ? undefined : logLevelNamed(given);
  if (given !== undefined && level === undefined) {
    throw new HttpError(
      ErrorCode.Validation,
      `'level' must be one of ${LOG_LEVELS.join(", ")} (or WARNING, CRITICAL; any case) (got '${given}')`,
      { field: "level" },
    );
  }
  return { lines, level, search: readStringParam(query, "search") };
}

function pluginNotFound(id: string): HttpError {
  return new HttpError(ErrorCode.PluginNotFound, `no plugin with id '${id}'`);
}
