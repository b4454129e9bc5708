/**
 * `GET /plugin/{id}/logs` (SPEC §5.1, docs/logging.md): a plugin's recent log records, newest last, filtered by
 * minimum level and message text. The log WebSocket (`/ws/logs/{id}`) is not built yet.
 */
import type { FastifyInstance } from "fastify";
import { isLogLevel, LOG_LEVELS, type PluginHostApi } from "@neko/host";
import { ErrorCode } from "@neko/protocol";
import { HttpError } from "../http-errors.ts";
import { readIntParam, readStringParam } from "../query-params.ts";
import { pluginIdParams } from "./route-schemas.ts";

export function registerLogRoutes(app: FastifyInstance, host: PluginHostApi): void {
  app.get<{ Params: { id: string } }>("/plugin/:id/logs", { schema: { params: pluginIdParams } }, async (req) => {
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
  });
}
