/**
 * `GET /plugin/{id}/logs` (SPEC §5.1, docs/logging.md): a plugin's recent log records, newest last, filtered by
 * minimum level and message text. `WS /ws/logs/{id}`: the same records, then each new one live.
 * `GET /plugin/{id}/logs/files` and `…/files/{name}`: the plugin's rotated log files, listed and read by name.
 */
import type { FastifyInstance } from "fastify";
import { isPluginLogFileName, LOG_LEVELS, type LogQuery, logLevelNamed, type PluginHostApi } from "@neko/host";
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

const logFilesDoc: RouteDoc = {
  tag: "observability",
  summary: "The plugin's log files: the current one and the rotated ones, newest first",
  description:
    "Names only (never a path): `<id>.ndjson`, then `<id>.ndjson.1` … (docs/logging.md#log-files). Only regular " +
    "files of this plugin in the plugins' log folder are listed; a link there is left out. An empty list when the " +
    "host writes no log files or the plugin has written nothing yet.",
  responses: {
    200: {
      description: "the plugin's files",
      schema: {
        type: "object",
        required: ["plugin_id", "log_files", "count", "time"],
        properties: {
          plugin_id: { type: "string" },
          log_files: {
            type: "array",
            items: {
              type: "object",
              required: ["name", "size", "mtime"],
              properties: {
                name: { type: "string" },
                size: { type: "integer", description: "bytes" },
                mtime: { type: "string", format: "date-time", description: "its last write" },
              },
            },
          },
          count: { type: "integer", description: "how many `log_files` holds" },
          time: { type: "string", format: "date-time", description: "when this answer was made" },
        },
      },
    },
  },
  errors: { 404: "`PLUGIN_NOT_FOUND`: no plugin with that id" },
};

const logFileDoc: RouteDoc = {
  tag: "observability",
  summary: "One of the plugin's log files, as NDJSON",
  description:
    "`name` is one of the names `GET /plugin/{id}/logs/files` lists: `<id>.ndjson` or `<id>.ndjson.<n>` of this " +
    "plugin. Any other name (another plugin's file, a path, `..`) is refused; a link in the folder is not followed.",
  responses: {
    200: { description: "the file's lines", contentType: "application/x-ndjson", schema: { type: "string" } },
  },
  errors: {
    400: "`VALIDATION_ERROR`: `name` is not one of this plugin's log file names",
    404:
      "`PLUGIN_NOT_FOUND`: no plugin with that id; `NOT_FOUND`: no such file (rotated away, never written, not a " +
      "regular file, or the host writes no log files)",
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

  app.get<{ Params: { id: string } }>(
    "/plugin/:id/logs/files",
    { schema: { params: pluginIdParams }, config: { doc: logFilesDoc } },
    async (req) => {
      const { id } = req.params;
      if (!host.getPlugin(id)) throw pluginNotFound(id);
      const files = (await host.logFiles?.listPluginFiles(id)) ?? [];
      return { plugin_id: id, log_files: files, count: files.length, time: new Date().toISOString() };
    },
  );

  app.get<{ Params: { id: string; name: string } }>(
    "/plugin/:id/logs/files/:name",
    { schema: { params: logFileParams }, config: { doc: logFileDoc } },
    async (req, reply) => {
      const { id, name } = req.params;
      if (!host.getPlugin(id)) throw pluginNotFound(id);
      if (!isPluginLogFileName(id, name)) {
        throw new HttpError(
          ErrorCode.Validation,
          `'${name}' is not one of plugin '${id}''s log files (${id}.ndjson or ${id}.ndjson.<n>)`,
          { field: "name" },
        );
      }
      const opened = host.logFiles ? await host.logFiles.openPluginFile(id, name) : undefined;
      if (!opened?.ok) throw new HttpError(ErrorCode.NotFound, `plugin '${id}' has no log file '${name}'`);
      // Only what the file held when opened: a file still being written is not followed.
      const stream = opened.handle.createReadStream({ start: 0, end: Math.max(0, opened.size - 1), autoClose: true });
      if (opened.size === 0) {
        stream.destroy();
        return reply.type("application/x-ndjson").send("");
      }
      return reply.type("application/x-ndjson").header("content-length", opened.size).send(stream);
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

const logFileParams = {
  type: "object",
  required: ["id", "name"],
  properties: { id: pluginIdParams.properties.id, name: { type: "string", minLength: 1, maxLength: 200 } },
} as const;

function pluginNotFound(id: string): HttpError {
  return new HttpError(ErrorCode.PluginNotFound, `no plugin with id '${id}'`);
}
