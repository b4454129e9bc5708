/**
 * `GET /plugin/{id}/ui/…`: the static UI a running plugin registered with `this.registerStaticUi` (SPEC §5.1), and
 * `GET /plugin/{id}/ui-info`: whether it has one, and where. Which
 * file a path names is decided by `locateUiFile`; `@fastify/send` sends it (content type, ETag, Last-Modified,
 * conditional and range requests, HEAD). Every refusal is a JSON error body (docs/static-ui.md).
 */
import path from "node:path";
import { send } from "@fastify/send";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { PluginHostApi, StaticUi } from "@neko/host";
import { ErrorCode } from "@neko/protocol";
import { HttpError } from "../http-errors.ts";
import type { RouteDoc } from "../openapi/route-doc.ts";
import { locateUiFile } from "../ui-file-locator.ts";
import { pluginIdParams } from "./route-schemas.ts";

/** The codes of the statuses `send` refuses with; anything else it fails with is our bug (500). */
const CODE_BY_SEND_STATUS: Record<number, ErrorCode> = {
  403: ErrorCode.UiPathRefused,
  404: ErrorCode.UiFileNotFound,
  412: ErrorCode.PreconditionFailed,
  416: ErrorCode.RangeNotSatisfiable,
};

const location = { location: { type: "string", description: "the same URL with the trailing slash" } };

const folderDoc: RouteDoc = {
  tag: "ui",
  summary: "Redirects to the UI folder's URL with its trailing slash",
  responses: { 301: { description: "to `ui/`, the query kept", headers: location } },
};

const fileDoc: RouteDoc = {
  tag: "ui",
  summary: "A file of the plugin's static UI, while the plugin runs",
  description:
    "With its content type, ETag, Last-Modified and the registered Cache-Control; conditional and range requests " +
    "work. A folder's URL ending in `/` gives its index file. No path leaves the folder (docs/static-ui.md).",
  wildcard: "the file's path below the UI folder; empty for the index file",
  responses: {
    200: { description: "the file", contentType: "*/*", schema: { type: "string", format: "binary" } },
    206: {
      description: "the part a `Range` asked for",
      contentType: "*/*",
      schema: { type: "string", format: "binary" },
    },
    301: { description: "a folder without its trailing slash", headers: location },
    304: { description: "not modified (`If-None-Match`, `If-Modified-Since`)" },
  },
  errors: {
    403: "`UI_PATH_REFUSED`: `..`, an encoded `/`, a backslash, a control character, a hidden name or a link out of the folder",
    404: "`PLUGIN_NOT_FOUND`; `UI_NOT_REGISTERED`: the plugin is not running or serves no UI; `UI_FILE_NOT_FOUND`",
    412: "`PRECONDITION_FAILED`: `If-Match` / `If-Unmodified-Since` does not hold",
    416: "`RANGE_NOT_SATISFIABLE`: the `Range` lies outside the file",
  },
};

const uiInfoDoc: RouteDoc = {
  tag: "ui",
  summary: "Whether the plugin serves a static UI now, and its URL",
  responses: {
    200: {
      description: "the plugin's UI, or `has_ui: false` (and null fields) while it has none",
      schema: {
        type: "object",
        required: ["plugin_id", "has_ui", "url", "static_dir", "index_file", "status"],
        properties: {
          plugin_id: { type: "string" },
          has_ui: { type: "boolean", description: "the running plugin registered a UI (this.registerStaticUi)" },
          url: { type: ["string", "null"], description: "`/plugin/<id>/ui/`" },
          static_dir: { type: ["string", "null"], description: "the folder, relative to the plugin folder" },
          index_file: { type: ["string", "null"] },
          status: { type: "string", description: "the plugin's state: a UI is served only while it runs" },
        },
      },
    },
  },
  errors: { 404: "`PLUGIN_NOT_FOUND`: no plugin with that id" },
};

export function registerStaticUiRoutes(app: FastifyInstance, host: PluginHostApi): void {
  app.get<{ Params: { id: string } }>(
    "/plugin/:id/ui-info",
    { schema: { params: pluginIdParams }, config: { doc: uiInfoDoc } },
    async (req) => uiInfo(host, req.params.id),
  );

  // Relative links in the index page resolve against the folder only with the trailing slash.
  app.get<{ Params: { id: string } }>(
    "/plugin/:id/ui",
    { schema: { params: pluginIdParams }, config: { doc: folderDoc } },
    (req, reply) => reply.redirect(`ui/${queryOf(req.url)}`, 301),
  );

  app.get<{ Params: { id: string } }>(
    "/plugin/:id/ui/*",
    { schema: { params: pluginIdParams }, config: { doc: fileDoc } },
    (req, reply) => serveUiFile(req, reply, host),
  );
}

async function serveUiFile(req: FastifyRequest<{ Params: { id: string } }>, reply: FastifyReply, host: PluginHostApi) {
  const id = req.params.id;
  const ui = host.staticUi(id);
  if (!ui) throw noUi(host, id);
  // The router has decoded its `*` parameter; the checks need the path as it was sent.
  const rawPath = rawPathAfterUi(req.url);
  const details = { plugin_id: id, path: rawPath };
  if (rawPath === undefined) throw new HttpError(ErrorCode.UiPathRefused, "the UI path is malformed", details);
  const found = locateUiFile({ root: ui.root, rawPath, indexFile: ui.indexFile });
  switch (found.kind) {
    case "refused":
      throw new HttpError(ErrorCode.UiPathRefused, `refused UI path '${rawPath}': ${found.reason}`, details);
    case "missing":
      throw new HttpError(
        ErrorCode.UiFileNotFound,
        `no file '${rawPath}' in the UI of '${id}': ${found.reason}`,
        details,
      );
    case "redirect":
      return reply.redirect(`${found.location}${queryOf(req.url)}`, 301);
  }
  return sendUiFile(req, reply, ui, found.path, details);
}

async function sendUiFile(
  req: FastifyRequest,
  reply: FastifyReply,
  ui: StaticUi,
  file: string,
  details: Record<string, unknown>,
) {
  // `send` gets the real path again, below the same root: its own checks (`..`, dotfiles) run as a second net.
  const relative = path.relative(ui.root, file).split(path.sep).map(encodeURIComponent).join("/");
  const sent = await send(req.raw, `/${relative}`, {
    root: ui.root,
    index: false,
    dotfiles: "deny",
    cacheControl: false,
  });
  if (sent.type === "error") {
    sent.stream.destroy();
    const code = CODE_BY_SEND_STATUS[sent.statusCode] ?? ErrorCode.Internal;
    const range = sent.headers["Content-Range"];
    if (range !== undefined) reply.header("content-range", range);
    const message = (sent.metadata.error as Error | undefined)?.message ?? `HTTP ${sent.statusCode}`;
    throw new HttpError(
      code,
      `could not send '${details.path}': ${message}`,
      details,
      code === ErrorCode.Internal ? 500 : sent.statusCode,
    );
  }
  // With nosniff, a file of unknown type must still say what it is, or browsers may refuse it.
  if (sent.statusCode !== 304 && sent.headers["Content-Type"] === undefined) {
    reply.header("content-type", "application/octet-stream");
  }
  return reply
    .code(sent.statusCode)
    .headers(sent.headers)
    .header("cache-control", ui.cacheControl)
    .header("x-content-type-options", "nosniff")
    .send(sent.stream);
}

/** A registration lasts as long as the process that made it: a stopped plugin has no UI until it registers again. */
function uiInfo(host: PluginHostApi, id: string) {
  const plugin = host.getPlugin(id);
  if (!plugin) throw new HttpError(ErrorCode.PluginNotFound, `no plugin with id '${id}'`);
  const ui = host.staticUi(id);
  return {
    plugin_id: id,
    has_ui: ui !== undefined,
    url: ui?.path ?? null,
    static_dir: ui?.dir ?? null,
    index_file: ui?.indexFile ?? null,
    status: plugin.status,
  };
}

/** Why there is no UI to serve: an unknown plugin, or one that is not running or never registered one. */
function noUi(host: PluginHostApi, id: string): HttpError {
  const plugin = host.getPlugin(id);
  if (!plugin) return new HttpError(ErrorCode.PluginNotFound, `no plugin with id '${id}'`);
  const message =
    plugin.status === "running"
      ? `plugin '${id}' has not registered a static UI (this.registerStaticUi)`
      : `plugin '${id}' is ${plugin.status}: its UI is served only while it runs`;
  return new HttpError(ErrorCode.UiNotRegistered, message, { plugin_id: id, status: plugin.status });
}

/** The still-encoded path after `/plugin/<id>/ui/`, or undefined when the URL is not of that shape. */
function rawPathAfterUi(url: string): string | undefined {
  const pathname = url.split("?", 1)[0];
  const segments = pathname.split("/");
  if (segments[0] !== "" || segments[1] !== "plugin" || segments[3] !== "ui" || segments.length < 5) return undefined;
  return segments.slice(4).join("/");
}

function queryOf(url: string): string {
  const at = url.indexOf("?");
  return at === -1 ? "" : url.slice(at);
}
