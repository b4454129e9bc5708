/**
 * Refuses cross-site use of the API (SPEC §5), before any route or token check (docs/http-api.md#cross-site-requests):
 * - `Host` must name this server (allowed-hosts.ts): `421 HOST_NOT_ALLOWED` for DNS rebinding.
 * - A state-changing request (any method but GET, HEAD, OPTIONS) or a WebSocket upgrade with another site's `Origin`
 *   (`null` included) is `403 CROSS_ORIGIN_REFUSED`; without an `Origin` (curl, scripts) it passes.
 * - A state-changing request must say `content-type: application/json` (or the type its route reads, such as
 *   `application/toml`), even without a body: a form post or a no-cors fetch can only send the three "simple" types,
 *   so none reaches a route (`415 UNSUPPORTED_MEDIA_TYPE`); a route that reads no body takes an empty JSON one.
 * The server sends no CORS headers, so no other site's page can read an answer either.
 */
import type { FastifyInstance, FastifyRequest } from "fastify";
import { ErrorCode } from "@neko/protocol";
import { AllowedHosts, type HostName, isAllowedName, parseHostName } from "./allowed-hosts.ts";
import { HttpError } from "./http-errors.ts";

declare module "fastify" {
  interface FastifyContextConfig {
    /** The content types a state-changing route reads; default `application/json` only. */
    bodyTypes?: readonly string[];
    /** The body schema's fields are all optional: an empty JSON body counts as none. */
    optionalBody?: boolean;
    /** Check `Origin` on every method, reads included (MCP's rule against DNS rebinding, for `/mcp`). */
    checkOriginAlways?: boolean;
    /**
     * A DELETE without a body that carries this header needs no content type (MCP clients end a session so, with
     * `mcp-session-id`): no page can send a header that is not CORS-safelisted cross-site without a preflight.
     */
    bodilessDeleteHeader?: string;
  }
}

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);
const JSON_TYPE = "application/json";

export interface CrossSiteOptions {
  /** Names besides the bound address that the server answers to (`--allowed-host`, `NEKO_ALLOWED_HOSTS`). */
  allowedHosts: readonly HostName[];
}

export function guardCrossSite(app: FastifyInstance, options: CrossSiteOptions): void {
  let hosts: AllowedHosts | undefined;
  const serverHosts = (): AllowedHosts | undefined => {
    if (hosts) return hosts;
    const address = app.server.address();
    // inject() has no socket and a pipe no name to rebind: only a server listening on TCP has a Host to check.
    if (!address || typeof address === "string") return undefined;
    hosts = AllowedHosts.forServer({ address: address.address, port: address.port, allowed: options.allowedHosts });
    return hosts;
  };

  app.addHook("onRequest", async (req) => {
    const host = req.headers.host;
    const bound = serverHosts();
    if (bound && host === undefined) throw new HttpError(ErrorCode.BadRequest, "the request has no Host header");
    if (bound && host !== undefined && !bound.allows(host)) {
      throw new HttpError(
        ErrorCode.HostNotAllowed,
        `this server does not answer to the host '${host}': if that name is yours, allow it with --allowed-host ` +
          "or NEKO_ALLOWED_HOSTS",
        { host },
      );
    }
    const changing = !SAFE_METHODS.has(req.method);
    const upgrade = req.headers.upgrade !== undefined;
    if (!changing && !upgrade && !req.routeOptions.config.checkOriginAlways) return;
    const origin = req.headers.origin;
    if (origin !== undefined && !isOwnOrigin(origin, host, options.allowedHosts)) {
      const what = upgrade ? "a WebSocket upgrade" : `a ${req.method}`;
      throw new HttpError(
        ErrorCode.CrossOriginRefused,
        `${what} from the origin '${origin}' is refused: state-changing requests and WebSocket upgrades are ` +
          "accepted only from this server's own pages",
        { origin },
      );
    }
    if (changing && !req.is404 && !bodilessDelete(req)) requireBodyType(req);
  });

  acceptEmptyJsonWithoutBody(app);
}

/** Same origin: the page's host is the one the request went to (or a name the user allowed: a proxy's). */
function isOwnOrigin(origin: string, host: string | undefined, allowed: readonly HostName[]): boolean {
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return false; // `null` (a sandboxed frame, a file: page, a redirect) among them
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") return false;
  const schemePort = url.protocol === "https:" ? 443 : 80;
  const page = { name: url.hostname, port: url.port === "" ? schemePort : Number(url.port) };
  const target = host === undefined ? undefined : parseHostName(host);
  // A Host without a port went through the scheme's own port (a TLS proxy's 443, say).
  if (target && target.name === page.name && (target.port ?? schemePort) === page.port) return true;
  return isAllowedName(allowed, page);
}

/** A DELETE without a body, carrying the header its route names (`bodilessDeleteHeader`). */
function bodilessDelete(req: FastifyRequest): boolean {
  const header = req.routeOptions.config.bodilessDeleteHeader;
  const length = req.headers["content-length"];
  return (
    header !== undefined &&
    req.method === "DELETE" &&
    req.headers[header] !== undefined &&
    req.headers["transfer-encoding"] === undefined &&
    (length === undefined || length === "0")
  );
}

function requireBodyType(req: FastifyRequest): void {
  const accepted = req.routeOptions.config.bodyTypes ?? [JSON_TYPE];
  const given = req.headers["content-type"]?.split(";")[0].trim().toLowerCase() || null;
  if (given !== null && accepted.includes(given)) return;
  throw new HttpError(
    ErrorCode.UnsupportedMediaType,
    `a ${req.method} must send content-type: ${accepted.join(" or ")}, even without a body (given: ${given ?? "none"})`,
    { given, accepted },
  );
}

/**
 * Fastify's JSON parser refuses an empty body. A route that reads none (no body schema, no `bodyTypes`), or whose body
 * is optional (`optionalBody`), takes one as no body, as `content-type: application/json` is what lets the request
 * through; elsewhere it stays `INVALID_JSON`.
 */
function acceptEmptyJsonWithoutBody(app: FastifyInstance): void {
  const parseJson = app.getDefaultJsonParser("error", "error");
  app.removeContentTypeParser(JSON_TYPE);
  app.addContentTypeParser(JSON_TYPE, { parseAs: "string" }, (req, body, done) => {
    const { schema, config } = req.routeOptions;
    if (body === "" && (!schema?.body || config.optionalBody) && !config.bodyTypes) return done(null, undefined);
    return parseJson(req, body as string, done);
  });
}
