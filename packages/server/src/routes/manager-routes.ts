/**
 * The plugin manager page (SPEC §5.2, docs/manager.md) at `/` and `/ui/`, and its script and stylesheet at
 * `/ui/assets/<name>`, from `@neko/manager`'s build. The files are public — the page holds no data and no secret, and
 * a browser cannot send a token on a navigation — so they are served without the API token; the page asks for the
 * token when the API answers 401. Each answer carries a Content-Security-Policy that allows only this server: no
 * inline script, no other origin, no framing of the page.
 */
import type { FastifyInstance, FastifyReply } from "fastify";
import type { ManagerAssets } from "@neko/manager";
import { ErrorCode } from "@neko/protocol";
import { HttpError } from "../http-errors.ts";
import type { RouteDoc } from "../openapi/route-doc.ts";

declare module "fastify" {
  interface FastifyContextConfig {
    /** Served without the API token: files that hold nothing but the manager page's code. */
    publicPage?: boolean;
  }
}

export const MANAGER_CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  // A plugin's own web UI, shown in a sandboxed frame.
  "frame-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

const pageDoc: RouteDoc = {
  tag: "ui",
  summary: "The plugin manager page",
  description:
    "A single-page app (docs/manager.md) that talks to this API and to `WS /ws/admin`. Served without the API " +
    "token (it holds no data); it asks for the token when the API answers 401.",
  responses: { 200: { description: "the page", contentType: "text/html", schema: { type: "string" } } },
  errors: { 503: "`PAGE_UNAVAILABLE`: the page could not be built (the reason is in the message); the API works" },
};

const uiFolderDoc: RouteDoc = {
  tag: "ui",
  summary: "Redirects to `/ui/`, the manager page",
  responses: {
    301: {
      description: "to `/ui/`",
      headers: { location: { type: "string", description: "`/ui/`" } },
    },
  },
};

const assetDoc: RouteDoc = {
  tag: "ui",
  summary: "A script or stylesheet of the manager page",
  description: "Its name holds a hash of its content, so it may be cached for good (`immutable`).",
  responses: { 200: { description: "the file", contentType: "*/*", schema: { type: "string" } } },
  errors: {
    404: "`NOT_FOUND`: no such file of the page",
    503: "`PAGE_UNAVAILABLE`: the page could not be built",
  },
};

/** After a failed build, how long before a request for the page tries again (a source may have been mid-save). */
export const PAGE_RETRY_MS = 10_000;

/**
 * `built`: the page's files, or the error of their build. After an error each of the page's routes answers 503
 * (the reason is in the server's log, not told to clients that have shown no token), and a request at least
 * `PAGE_RETRY_MS` after the last attempt starts `retry` in the background.
 */
export function registerManagerRoutes(
  app: FastifyInstance,
  built: ManagerAssets | Error,
  retry?: () => Promise<ManagerAssets>,
): void {
  let assets = built instanceof Error ? undefined : built;
  let lastAttempt = Date.now();
  const unavailable = () => {
    if (retry && Date.now() - lastAttempt >= PAGE_RETRY_MS) {
      lastAttempt = Date.now();
      retry().then(
        (fresh) => {
          assets = fresh;
        },
        () => {},
      );
    }
    return new HttpError(
      ErrorCode.PageUnavailable,
      "the manager page could not be built: the reason is in the server's log; the API works",
    );
  };
  const page = (_req: unknown, reply: FastifyReply) => {
    if (!assets) throw unavailable();
    return securityHeaders(reply)
      .type("text/html; charset=utf-8")
      .header("cache-control", "no-cache")
      .send(assets.index);
  };
  app.get("/", { config: { doc: pageDoc, publicPage: true } }, page);
  app.get("/ui/", { config: { doc: pageDoc, publicPage: true } }, page);
  app.get("/ui", { config: { doc: uiFolderDoc, publicPage: true } }, (_req, reply) => reply.redirect("/ui/", 301));
  app.get<{ Params: { name: string } }>(
    "/ui/assets/:name",
    { config: { doc: assetDoc, publicPage: true } },
    (req, reply) => {
      if (!assets) throw unavailable();
      const asset = assets.assets.get(req.params.name);
      if (!asset) throw new HttpError(ErrorCode.NotFound, `the manager page has no file '${req.params.name}'`);
      return securityHeaders(reply)
        .type(asset.contentType)
        .header("cache-control", asset.immutable ? "public, max-age=31536000, immutable" : "no-cache")
        .send(asset.body);
    },
  );
}

function securityHeaders(reply: FastifyReply): FastifyReply {
  return reply
    .header("content-security-policy", MANAGER_CONTENT_SECURITY_POLICY)
    .header("x-content-type-options", "nosniff")
    .header("referrer-policy", "no-referrer")
    .header("x-frame-options", "DENY");
}
