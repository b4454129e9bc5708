/**
 * Runs over HTTP (SPEC §5.1): `POST /runs` starts an entry and answers at once; `GET /runs/{id}`,
 * `POST /runs/{id}/cancel` and `GET /runs/{id}/export` follow it. When the server has an API token, a run's own
 * `run_token` (as `Authorization: Bearer <run_token>`) also opens that run's routes. A `binary` export's bytes are
 * served by `GET /runs/{id}/export/{seq}/content`, always as a download. Documented in docs/runs.md.
 */
import fs from "node:fs";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import {
  type PluginHostApi,
  RUN_STATES,
  type RunFileLookup,
  type RunState,
  type StartedRun,
  safeFileName,
} from "@neko/host";
import { ErrorCode, MAX_RUN_EXPORT_NAME_LENGTH, RUN_EXPORT_MIME_PATTERN } from "@neko/protocol";
import { HttpError, sendWireError } from "../http-errors.ts";
import { drainOversizedBody } from "../oversized-body.ts";
import { type RouteDoc, schemaRef } from "../openapi/route-doc.ts";
import { QUERY_PARAM_ERRORS, readIntParam, readStringParam } from "../query-params.ts";
import { entryCallProperties } from "./route-schemas.ts";

/** `task_id`, `trace_id`, `idempotency_key`: 1–128 characters, letters, digits and `. _ : / + = @ -`. */
const runLabel = (description: string) =>
  ({
    type: "string",
    minLength: 1,
    maxLength: 128,
    pattern: "^[A-Za-z0-9._:/+=@-]+$",
    description,
  }) as const;

const startBody = {
  type: "object",
  required: ["plugin_id", "entry_id"],
  additionalProperties: false,
  properties: {
    ...entryCallProperties,
    task_id: runLabel("the caller's own task id, kept on the run"),
    trace_id: runLabel("a trace id for following the run across services, kept on the run"),
    idempotency_key: runLabel(
      "a repeat with the same key for the same plugin and entry answers with the first run (while it is kept)",
    ),
  },
} as const;

const contentParams = {
  type: "object",
  required: ["id", "seq"],
  properties: {
    id: { type: "string", minLength: 1, maxLength: 128 },
    seq: { type: "string", pattern: "^[1-9][0-9]{0,6}$", description: "the item's `seq`" },
  },
} as const;

const runNotFoundDoc = "`NOT_FOUND`: no such run (finished runs are kept only up to a limit)";
const runTokenNote = "With an API token, the run's own `run_token` also opens this route.";

const uploadParams = {
  type: "object",
  required: ["id", "upload_id"],
  properties: {
    id: { type: "string", minLength: 1, maxLength: 128 },
    upload_id: { type: "string", minLength: 1, maxLength: 64 },
  },
} as const;

const uploadView = {
  type: "object",
  required: ["upload_id", "name", "mime", "size", "time", "content_url"],
  properties: {
    upload_id: { type: "string" },
    name: { type: "string", description: "the file name given, made safe (never a path)" },
    mime: { type: "string" },
    size: { type: "integer" },
    time: { type: "string", format: "date-time" },
    content_url: { type: "string" },
  },
} as const;

const uploadDoc: RouteDoc = {
  tag: "runs",
  summary: "Upload a file for a running run to read",
  description:
    "The body is the file's bytes (`content-type: application/octet-stream`, 1 byte to 16 MiB), written to disk as " +
    "it arrives; the run, its limits and `content-length` are checked before any byte is read. `?name=` is its file " +
    'name (made safe: control and format characters dropped, `/ \\ " : * ? < > |` replaced by `_`, leading dots by ' +
    "one `_`, trailing dots and spaces dropped), `?mime=` its media type. The run's plugin lists and reads it with " +
    "`this.runUploads()` / `this.readRunUpload(id)`. A run holds at most 100 uploads and 64 MiB of uploads and " +
    "binary exports together; they are deleted with the run. At most 4 uploads arrive at once (2 per run). " +
    runTokenNote,
  query: {
    name: { type: "string", minLength: 1, maxLength: 255, description: "the file name; default `upload.bin`" },
    mime: { type: "string", description: "a media type `type/subtype`; default `application/octet-stream`" },
  },
  body: {
    description: "the file's bytes",
    content: { "application/octet-stream": { type: "string", format: "binary" } },
  },
  responses: { 201: { description: "the file is stored", schema: uploadView } },
  errors: {
    400: "`VALIDATION_ERROR`: an empty body, or a bad `name` / `mime` (invalid percent-encoding included)",
    404: runNotFoundDoc,
    409: "`RUN_FINISHED`: the run has finished (or finished while the file arrived: nothing is kept)",
    413: "`PAYLOAD_TOO_LARGE`: the body is over 16 MiB, or the run (or the host, `runs.maxTotalFileBytes`) has no room for it (`details.limit`)",
    429: "`BUSY`: 4 uploads are arriving already (2 for this run): try again shortly (`details.limit`)",
  },
};

const uploadsDoc: RouteDoc = {
  tag: "runs",
  summary: "The files uploaded to a run, oldest first",
  description: runTokenNote,
  responses: {
    200: {
      description: "the uploads",
      schema: {
        type: "object",
        required: ["run_id", "uploads"],
        properties: { run_id: { type: "string" }, uploads: { type: "array", items: uploadView } },
      },
    },
  },
  errors: { 404: runNotFoundDoc },
};

const uploadContentDoc: RouteDoc = {
  tag: "runs",
  summary: "One uploaded file's bytes, as a download",
  description: `Served as \`GET /runs/{id}/export/{seq}/content\` serves a binary export. ${runTokenNote}`,
  responses: { 200: { description: "the bytes", schema: { type: "string", format: "binary" } } },
  errors: {
    404: "`NOT_FOUND`: no such run or upload, or its files were deleted to make room (`runs.maxTotalFileBytes`)",
  },
};

/** One upload's body at most. */
const MAX_UPLOAD_BYTES = 16 * 1024 * 1024;

/** Media types served as themselves; any other (HTML, SVG, XML, scripts …) is served as application/octet-stream. */
const SERVED_AS_IS =
  /^(?:image\/(?:png|jpeg|gif|webp|avif|bmp)|audio\/[a-z0-9.+-]+|video\/[a-z0-9.+-]+|application\/(?:pdf|zip|gzip|json|octet-stream)|text\/(?:plain|csv))$/;

const runParams = {
  type: "object",
  required: ["id"],
  properties: { id: { type: "string", minLength: 1, maxLength: 128 } },
} as const;

const startDoc: RouteDoc = {
  tag: "runs",
  summary: "Start an entry and answer at once",
  description:
    "Failures after the start (unknown entry, plugin not running) end the run `failed` with that error's code. " +
    "With an `idempotency_key` already used for the same plugin and entry (while that run is kept), no run is " +
    "started: the answer is that first run, 200 with `deduplicated: true`.",
  responses: {
    200: { description: "a repeat of an idempotency key: the first run", schema: schemaRef("StartedRun") },
    202: { description: "the run is made", schema: schemaRef("StartedRun") },
  },
  errors: {
    400: "`VALIDATION_ERROR`: a bad field (`task_id`, `trace_id`, `idempotency_key`: 1–128 of `A-Z a-z 0-9 . _ : / + = @ -`)",
    404: "`PLUGIN_NOT_FOUND`: no plugin with that id (no run is made)",
    409: "`IDEMPOTENCY_CONFLICT`: the key was used for this plugin and entry with other `args`, `timeout` or `task_id` (`details.run_id` is that run)",
  },
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
                type: { type: "string", enum: ["text", "json", "url", "binary", "binary_url"] },
                text: { type: "string" },
                json: { description: "any JSON value" },
                url: { type: "string", description: "for `url` and `binary_url`" },
                mime: { type: "string", description: "for `binary` and `binary_url`, as the plugin gave it" },
                name: { type: "string", description: "for `binary` and `binary_url`, as the plugin gave it" },
                size: { type: "integer", description: "for `binary`: bytes" },
                content_url: { type: "string", description: "for `binary`: where to download the bytes" },
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

const contentDoc: RouteDoc = {
  tag: "runs",
  summary: "The bytes of one `binary` export, as a download",
  description:
    "Always `content-disposition: attachment` with `x-content-type-options: nosniff` and a sandboxing CSP; the " +
    "plugin's media type is kept only for plain types (images, audio, video, PDF, zip, JSON, plain text, CSV) — " +
    `HTML, SVG, XML and the rest are served as \`application/octet-stream\`. ${runTokenNote}`,
  responses: { 200: { description: "the bytes", schema: { type: "string", format: "binary" } } },
  errors: {
    404: "`NOT_FOUND`: no such run, no item with that `seq`, that item is not a `binary` export, or the run's files were deleted to make room (`runs.maxTotalFileBytes`)",
  },
};

interface StartBody {
  plugin_id: string;
  entry_id: string;
  args?: Record<string, unknown>;
  timeout?: number;
  task_id?: string;
  trace_id?: string;
  idempotency_key?: string;
}

const RUN_ROUTE = /^\/runs\/([^/?#]+)(?:\/(?:cancel|export(?:\/\d+\/content)?|uploads(?:\/[^/?#]+)?))?\/?(?:[?#]|$)/;

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
      const { plugin_id, entry_id, args = {}, timeout, task_id, trace_id, idempotency_key } = req.body;
      const started = host.runs.start({
        pluginId: plugin_id,
        entryId: entry_id,
        args,
        timeoutMs: timeout === undefined ? undefined : timeout * 1000,
        ...(task_id !== undefined && { taskId: task_id }),
        ...(trace_id !== undefined && { traceId: trace_id }),
        ...(idempotency_key !== undefined && { idempotencyKey: idempotency_key }),
      });
      if (!started.ok) return sendWireError(reply, started.error);
      const value = started.value as StartedRun;
      return reply.code(value.deduplicated ? 200 : 202).send(value);
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

  app.get<{ Params: { id: string; seq: string } }>(
    "/runs/:id/export/:seq/content",
    { schema: { params: contentParams }, config: { doc: contentDoc } },
    async (req, reply) => {
      const { id } = req.params;
      const seq = Number(req.params.seq);
      const notFound = (): never => {
        throw new HttpError(ErrorCode.NotFound, `run '${id}' has no binary export ${seq}`, { run_id: id, seq });
      };
      return sendDownload(reply, host.runs.exportContent(id, seq), `export-${seq}.bin`, notFound);
    },
  );

  // Only this route reads raw bytes, and it streams them to disk: the body is handed on unread (no buffer).
  app.addContentTypeParser("application/octet-stream", (_req, payload, done) => done(null, payload));

  app.post<{ Params: { id: string } }>(
    "/runs/:id/uploads",
    {
      schema: { params: runParams },
      bodyLimit: MAX_UPLOAD_BYTES,
      config: { doc: uploadDoc, bodyTypes: ["application/octet-stream"] },
    },
    async (req, reply) => {
      // Every refusal is answered before the body is read (see `refuseUpload`).
      let touched = false;
      try {
        const stored = await storeUpload(req, () => {
          touched = true;
        });
        if (stored.ok) return reply.code(201).send(stored.value);
        refuseUpload(req, reply, touched);
        return sendWireError(reply, stored.error);
      } catch (error) {
        refuseUpload(req, reply, touched);
        throw error;
      }
    },
  );

  /** Checks the query and the declared size, then hands the body, unread, to the host to stream to disk. */
  async function storeUpload(req: FastifyRequest<{ Params: { id: string } }>, onRead: () => void) {
    const query = req.query as Record<string, unknown>;
    const rawQuery = req.url.includes("?") ? req.url.slice(req.url.indexOf("?") + 1) : "";
    for (const field of ["name", "mime"]) {
      if (!percentEncodingValid(rawQuery, field)) {
        throw new HttpError(ErrorCode.Validation, `'${field}' has invalid percent-encoding`, { field });
      }
    }
    const name = readStringParam(query, "name") ?? "upload.bin";
    if (name.length < 1 || name.length > MAX_RUN_EXPORT_NAME_LENGTH) {
      throw new HttpError(ErrorCode.Validation, `'name' must be 1 to ${MAX_RUN_EXPORT_NAME_LENGTH} characters`, {
        field: "name",
      });
    }
    const mime = readStringParam(query, "mime") ?? "application/octet-stream";
    if (!RUN_EXPORT_MIME_PATTERN.test(mime)) {
      throw new HttpError(ErrorCode.Validation, "'mime' must be a media type like 'image/png'", { field: "mime" });
    }
    const declared = req.headers["content-length"];
    const size = declared === undefined ? undefined : Number(declared);
    const stream = req.body as AsyncIterable<Uint8Array> | undefined;
    if (size === 0 || stream === undefined || stream === null || typeof stream[Symbol.asyncIterator] !== "function") {
      throw new HttpError(ErrorCode.Validation, "the body must be the file's bytes (at least one)", {
        field: "body",
      });
    }
    const body: AsyncIterable<Uint8Array> = {
      [Symbol.asyncIterator]: () => {
        onRead();
        return stream[Symbol.asyncIterator]();
      },
    };
    return host.runs.upload(req.params.id, {
      name,
      mime,
      ...(size !== undefined && Number.isSafeInteger(size) && { size }),
      body,
    });
  }

  app.get<{ Params: { id: string } }>(
    "/runs/:id/uploads",
    { schema: { params: runParams }, config: { doc: uploadsDoc } },
    async (req) => {
      const uploads = host.runs.uploads(req.params.id);
      if (!uploads) throw runNotFound(req.params.id);
      return { run_id: req.params.id, uploads };
    },
  );

  app.get<{ Params: { id: string; upload_id: string } }>(
    "/runs/:id/uploads/:upload_id",
    { schema: { params: uploadParams }, config: { doc: uploadContentDoc } },
    async (req, reply) => {
      const { id, upload_id } = req.params;
      const notFound = (): never => {
        throw new HttpError(ErrorCode.NotFound, `run '${id}' has no upload '${upload_id}'`, { run_id: id, upload_id });
      };
      return sendDownload(reply, host.runs.uploadContent(id, upload_id), "upload.bin", notFound);
    },
  );
}

/**
 * A stored file as a download: opened before answering (a file gone with its run is a 404, not a broken 200), always
 * an attachment, its media type kept only when it is a plain one, never sniffed, sandboxed if opened anyway.
 */
async function sendDownload(
  reply: FastifyReply,
  content: RunFileLookup,
  fallbackName: string,
  gone: () => never,
): Promise<FastifyReply> {
  if (!content) return gone();
  if ("gone" in content) {
    throw new HttpError(ErrorCode.NotFound, content.gone, { reason: "files_deleted", limit: "runs.maxTotalFileBytes" });
  }
  let stream: fs.ReadStream;
  try {
    const handle = await fs.promises.open(content.path, "r");
    stream = handle.createReadStream();
  } catch {
    gone();
  }
  const mime = content.mime?.toLowerCase() ?? "";
  return reply
    .header("content-type", SERVED_AS_IS.test(mime) ? mime : "application/octet-stream")
    .header("content-length", content.size)
    .header("content-disposition", attachment(content.name ?? fallbackName, fallbackName))
    .header("x-content-type-options", "nosniff")
    .header("content-security-policy", "default-src 'none'; sandbox")
    .header("cache-control", "private, no-store")
    .send(stream);
}

/**
 * After a refused upload: a body never read is answered at once and then read and thrown away in the background (up
 * to 32 MiB, then the connection is closed), so a client still sending can read the answer and nothing is kept in
 * memory; a body read part way (it was larger than it may be) closes the connection after the answer.
 */
function refuseUpload(req: FastifyRequest, reply: FastifyReply, touched: boolean): void {
  if (req.raw.readableEnded) return;
  if (touched) {
    reply.header("connection", "close");
    return;
  }
  void drainOversizedBody(req.raw).then((whole) => {
    if (!whole) req.raw.destroy();
  });
}

/**
 * `attachment; filename="…"; filename*=UTF-8''…`: the name made safe as an upload's is (`safeFileName`: no control or
 * format characters, no `/ \\ " : * ? < > |`), non-ASCII replaced in the plain `filename`.
 */
function attachment(name: string, fallbackName: string): string {
  const safe = safeFileName(name, fallbackName);
  const ascii = [...safe].map((c) => (c.charCodeAt(0) > 0x7e ? "_" : c)).join("");
  const encoded = encodeURIComponent(safe).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encoded}`;
}

/** False when the raw query's `field` holds a `%` not followed by a valid UTF-8 escape (`%ZZ`, `%E0%A4`). */
function percentEncodingValid(rawQuery: string, field: string): boolean {
  for (const pair of rawQuery.split("&")) {
    const eq = pair.indexOf("=");
    if (eq < 0 || pair.slice(0, eq) !== field) continue;
    try {
      decodeURIComponent(pair.slice(eq + 1).replace(/\+/g, " "));
    } catch {
      return false;
    }
  }
  return true;
}

function runNotFound(id: string): HttpError {
  return new HttpError(ErrorCode.NotFound, `no run '${id}' (finished runs are kept only up to a limit)`, {
    run_id: id,
  });
}
