/** `GET /plugin/status`: the latest `reportStatus` of each plugin, or of one with `?plugin_id=` (SPEC §5.1). */
import type { FastifyInstance } from "fastify";
import type { PluginHostApi } from "@neko/host";
import { ErrorCode } from "@neko/protocol";
import { HttpError } from "../http-errors.ts";

const statusQuery = {
  type: "object",
  properties: { plugin_id: { type: "string", minLength: 1 } },
} as const;

export function registerStatusRoutes(app: FastifyInstance, host: PluginHostApi): void {
  app.get<{ Querystring: { plugin_id?: string } }>(
    "/plugin/status",
    { schema: { querystring: statusQuery } },
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
