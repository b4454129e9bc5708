/**
 * Runs over HTTP (SPEC §5.1): `POST /runs` starts an entry and answers at once; `GET /runs/{id}`,
 * `POST /runs/{id}/cancel` and `GET /runs/{id}/export` follow it. When the server has an API token, a run's own
 * `run_token` (as `Authorization: Bearer <run_token>`) also opens that run's routes. Documented in docs/runs.md.
 */
import type { FastifyInstance, FastifyRequest } from "fastify";
import { type PluginHostApi, RUN_STATES, type RunState } from "@neko/host";
import { ErrorCode } from "@neko/protocol";
import { HttpError, sendWireError } from "../http-errors.ts";
import { type RouteDoc, schemaRef } from "../openapi/route-doc.ts";
import { QUERY_PARAM_ERRORS, readIntParam, readStringParam } from "../query-params.ts";
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

const runNotFoundDoc = "`NOT_FOUND`: no such run (finished runs are kept only up to a limit)";
const runTokenNote = "With an API token, the run's own `run_token` also opens this route.";

const startDoc: RouteDoc = {
  tag: "runs",
  summary: "Start an entry and answer at once",
  description:
    "Failures after the start (unknown entry, plugin not running) end the run `failed` with that error's code.",
  responses: {
    202: {
      description: "the run is made",
      schema: {
        type: "object",
        required: ["run_id", "status", "run_token"],
        properties: {
          run_id: { type: "string" },
          status: { type: "string", enum: [...RUN_STATES] },
          run_token: { type: ["string", "null"], description: "a bearer secret that opens this run's own routes" },
        },
      },
    },
  },
  errors: { 404: "`PLUGIN_NOT_FOUND`: no plugin with that id (no run is made)" },
};

const listDoc: RouteDoc = {
  tag: "runs",
  summary: "The runs kept, newest first",
  query: {
    plugin_id: { type: "string" },
    status: { type: "string", enum: [...RUN_STATES] },
    limit: { type: "integer", minimum: 1, maximum: 500, default: 100 },
  },
  responses: {
    200: {
      description: "the runs",
      schema: {
        type: "object",
        required: ["runs"],
        properties: { runs: { type: "array", items: schemaRef("Run") } },
      },
    },
  },
  errors: { 400: `${QUERY_PARAM_ERRORS}; or \`status\` is not a run state` },
};

const getDoc: RouteDoc = {
  tag: "runs",
  summary: "One run: state, progress, result or error",
  description: runTokenNote,
  responses: { 200: { description: "the run", schema: schemaRef("Run") } },
  errors: { 404: runNotFoundDoc },
};

const cancelDoc: RouteDoc = {
  tag: "runs",
  summary: "Cancel a run",
  description:
    "A running run becomes `cancel_requested` and ends `canceled` when the plugin confirms (or after 5 s); a " +
    `queued one ends \`canceled\` at once. ${runTokenNote}`,
  responses: { 200: { description: "the run after the request", schema: schemaRef("Run") } },
  errors: { 404: runNotFoundDoc, 409: "`RUN_FINISHED`: the run has already finished (`details.status`)" },
};

const exportDoc: RouteDoc = {
  tag: "runs",
  summary: "The items a run exported, paged with a cursor",
  description: runTokenNote,
  query: {
    after: { type: "integer", minimum: 0, description: "a cursor: only items with a greater `seq`" },
    limit: { type: "integer", minimum: 1, maximum: 1000, default: 100 },
  },
  responses: {
    200: {
      description: "pass `next_cursor` as the next `after`",
      schema: {
        type: "object",
        required: ["run_id", "items", "next_cursor", "has_more", "total"],
        properties: {
          run_id: { type: "string" },
          items: {
            type: "array",
            items: {
              type: "object",
              required: ["seq", "type", "time"],
              properties: {
                seq: { type: "integer" },
                type: { type: "string", enum: ["text", "json", "url"] },
                text: { type: "string" },
                json: { description: "any JSON value" },
                url: { type: "string" },
                label: { type: "string" },
                time: { type: "string", format: "date-time" },
              },
            },
          },
          next_cursor: { type: "integer" },
          has_more: { type: "boolean" },
          total: { type: "integer" },
        },
      },
    },
  },
  errors: { 400: QUERY_PARAM_ERRORS, 404: runNotFoundDoc },
};

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
  app.post<{ Body: StartBody }>(
    "/runs",
    { schema: { body: startBody }, config: { doc: startDoc } },
    async (req, reply) => {
      const { plugin_id, entry_id, args = {}, timeout } = req.body;
      const started = host.runs.start({
        pluginId: plugin_id,
        entryId: entry_id,
        args,
        timeoutMs: timeout === undefined ? undefined : timeout * 1000,
      });
      if (!started.ok) return sendWireError(reply, started.error);
      return reply.code(202).send(started.value);
    },
  );

  app.get("/runs", { config: { doc: listDoc } }, async (req) => {
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

  app.get<{ Params: { id: string } }>(
    "/runs/:id",
    { schema: { params: runParams }, config: { doc: getDoc } },
    async (req) => {
      const run = host.runs.get(req.params.id);
      if (!run) throw runNotFound(req.params.id);
      return run;
    },
  );

  app.post<{ Params: { id: string } }>(
    "/runs/:id/cancel",
    { schema: { params: runParams }, config: { doc: cancelDoc } },
    async (req, reply) => {
      const result = host.runs.cancel(req.params.id);
      if (!result.ok) return sendWireError(reply, result.error);
      return result.value;
    },
  );

  app.get<{ Params: { id: string } }>(
    "/runs/:id/export",
    { schema: { params: runParams }, config: { doc: exportDoc } },
    async (req) => {
      const query = req.query as Record<string, unknown>;
      const page = host.runs.exports(req.params.id, {
        after: readIntParam(query, "after", { min: 0 }),
        limit: readIntParam(query, "limit", { min: 1, max: 1000 }),
      });
      if (!page) throw runNotFound(req.params.id);
      return page;
    },
  );
}

function runNotFound(id: string): HttpError {
  return new HttpError(ErrorCode.NotFound, `no run '${id}' (finished runs are kept only up to a limit)`, {
    run_id: id,
  });
}
