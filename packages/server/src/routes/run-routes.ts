/**
 * Runs over HTTP (SPEC §5.1): `POST /runs` starts an entry and answers at once; `GET /runs/{id}`,
 * `POST /runs/{id}/cancel` and `GET /runs/{id}/export` follow it. When the server has an API token, a run's own
 * `run_token` (as `Authorization: Bearer <run_token>`) also opens that run's routes. Documented in docs/runs.md.
 */
import type { FastifyInstance, FastifyRequest } from "fastify";
import { type PluginHostApi, RUN_STATES, type RunState } from "@neko/host";
import { ErrorCode } from "@neko/protocol";
import { HttpError, sendWireError } from "../http-errors.ts";
import { readIntParam, readStringParam } from "../query-params.ts";
import { entryCallProperties } from "./route-schemas.ts";

const startBody = {
  type: "object",
  required: ["plugin_id", "entry_id"],
  additionalProperties: false,
  properties: entryCallProperties,
} as const;

const runParams = {
  type: "object",
  required: ["id"],
  properties: { id: { type: "string", minLength: 1, maxLength: 128 } },
} as const;

interface StartBody {
  plugin_id: string;
  entry_id: string;
  args?: Record<string, unknown>;
  timeout?: number;
}

const RUN_ROUTE = /^\/runs\/([^/?#]+)(?:\/(?:cancel|export))?\/?(?:[?#]|$)/;

/** True when the request carries the run token of the run its path names (one of that run's own routes). */
export function runTokenGrants(req: FastifyRequest, host: PluginHostApi): boolean {
  const match = RUN_ROUTE.exec(req.url);
  const auth = req.headers.authorization;
  if (!match || !auth?.startsWith("Bearer ")) return false;
  let runId: string;
  try {
    runId = decodeURIComponent(match[1]);
  } catch {
    return false; // not a run id anyone was given
  }
  return host.runs.checkToken(runId, auth.slice("Bearer ".length));
}

export function registerRunRoutes(app: FastifyInstance, host: PluginHostApi): void {
  app.post<{ Body: StartBody }>("/runs", { schema: { body: startBody } }, async (req, reply) => {
    const { plugin_id, entry_id, args = {}, timeout } = req.body;
    const started = host.runs.start({
      pluginId: plugin_id,
      entryId: entry_id,
      args,
      timeoutMs: timeout === undefined ? undefined : timeout * 1000,
    });
    if (!started.ok) return sendWireError(reply, started.error);
    return reply.code(202).send(started.value);
  });

  app.get("/runs", async (req) => {
    const query = req.query as Record<string, unknown>;
    const status = readStringParam(query, "status");
    if (status !== undefined && !(RUN_STATES as readonly string[]).includes(status)) {
      throw new HttpError(ErrorCode.Validation, `'status' must be one of ${RUN_STATES.join(", ")}`, {
        field: "status",
      });
    }
    return {
      runs: host.runs.list({
        pluginId: readStringParam(query, "plugin_id"),
        status: status as RunState | undefined,
        limit: readIntParam(query, "limit", { min: 1, max: 500 }),
      }),
    };
  });

  app.get<{ Params: { id: string } }>("/runs/:id", { schema: { params: runParams } }, async (req) => {
    const run = host.runs.get(req.params.id);
    if (!run) throw runNotFound(req.params.id);
    return run;
  });

  app.post<{ Params: { id: string } }>("/runs/:id/cancel", { schema: { params: runParams } }, async (req, reply) => {
    const result = host.runs.cancel(req.params.id);
    if (!result.ok) return sendWireError(reply, result.error);
    return result.value;
  });

  app.get<{ Params: { id: string } }>("/runs/:id/export", { schema: { params: runParams } }, async (req) => {
    const query = req.query as Record<string, unknown>;
    const page = host.runs.exports(req.params.id, {
      after: readIntParam(query, "after", { min: 0 }),
      limit: readIntParam(query, "limit", { min: 1, max: 1000 }),
    });
    if (!page) throw runNotFound(req.params.id);
    return page;
  });
}

function runNotFound(id: string): HttpError {
  return new HttpError(ErrorCode.NotFound, `no run '${id}' (finished runs are kept only up to a limit)`, {
    run_id: id,
  });
}
