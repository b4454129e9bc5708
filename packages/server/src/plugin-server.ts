/**
 * The HTTP plugin server (SPEC §5): Fastify over a `PluginHostApi`. Every error is `{ error: { code, message,
 * details } }`, also those Node raises before Fastify (client-error-answer.ts); bodies are limited to 1 MiB; slow
 * clients are bounded (client-limits.ts); a non-loopback bind requires `NEKO_API_TOKEN`. `/openapi.json` describes
 * every route (`/docs` shows it).
 */
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply } from "fastify";
import type { HostLogger, PluginHostApi } from "@neko/host";
import { loadManagerAssets } from "@neko/manager";
import { ErrorCode } from "@neko/protocol";
import { parseAllowedHosts } from "./allowed-hosts.ts";
import { answerClientError } from "./client-error-answer.ts";
import { type ClientLimits, clientLimitOptions, clientLimits } from "./client-limits.ts";
import { guardCrossSite } from "./cross-site-guard.ts";
import { errorBody, HttpError } from "./http-errors.ts";
import { drainOversizedBody } from "./oversized-body.ts";
import { refuseRequestsWhileClosing } from "./server-closing.ts";
import { registerConfigRoutes } from "./routes/config-routes.ts";
import { registerHealthRoutes } from "./routes/health-routes.ts";
import { registerLogRoutes } from "./routes/log-routes.ts";
import { registerManagerRoutes } from "./routes/manager-routes.ts";
import { registerMessageDeliveryRoutes } from "./routes/message-delivery-routes.ts";
import { registerPluginRoutes } from "./routes/plugin-routes.ts";
import { registerStaticUiRoutes } from "./routes/static-ui-routes.ts";
import { registerStatusRoutes } from "./routes/status-routes.ts";
import { registerBusRoutes } from "./routes/bus-routes.ts";
import { registerMessageRoutes } from "./routes/message-routes.ts";
import { registerOpenApiRoutes } from "./routes/openapi-routes.ts";
import { registerOpenApiDocument } from "./openapi/openapi-document.ts";
import { registerMcpRoutes } from "./routes/mcp-routes.ts";
import { registerMetricsRoutes } from "./routes/metrics-routes.ts";
import { registerRunRoutes, runTokenGrants } from "./routes/run-routes.ts";
import { SseHub } from "./sse-hub.ts";
import { dropUnusedConnectionsOnClose } from "./unused-connections.ts";
import { registerAdminWsRoutes, DEFAULT_ADMIN_METRICS_INTERVAL_MS } from "./routes/admin-ws-routes.ts";
import {
  DEFAULT_WEBSOCKET_LIMITS,
  sameSecret,
  WebSocketHub,
  type WebSocketLimits,
  webSocketTokenGrants,
} from "./websocket-hub.ts";

export { DEFAULT_HOST, DEFAULT_PORT } from "./server-defaults.ts";
export const BODY_LIMIT_BYTES = 1024 * 1024;

export interface PluginServerOptions {
  host: PluginHostApi;
  logger?: HostLogger;
  /** Required for every request when set (`Authorization: Bearer <token>`); a run's token opens its own routes. */
  apiToken?: string;
  /** Interval of the heartbeat comments on SSE streams (default 15 s). */
  sseHeartbeatMs?: number;
  /** Timeouts and caps for slow or greedy clients; each one not given is its `DEFAULT_CLIENT_LIMITS` value. */
  limits?: Partial<ClientLimits>;
  /** Caps of the WebSockets; each one not given is its `DEFAULT_WEBSOCKET_LIMITS` value. */
  webSocketLimits?: Partial<WebSocketLimits>;
  /** Interval of the `metrics` messages of `/ws/admin` (default 5 s). */
  adminMetricsIntervalMs?: number;
  /**
   * Host names (each optionally with `:port`) the server answers to besides its bound address: a name in /etc/hosts,
   * a reverse proxy's (docs/http-api.md#cross-site-requests). Throws for one that is not a host name.
   */
  allowedHosts?: readonly string[];
  /** Serve the plugin manager page at `/` and `/ui/` (default true). */
  managerPage?: boolean;
}

export async function createPluginServer(options: PluginServerOptions): Promise<FastifyInstance> {
  const limits = clientLimits(options.limits);
  const allowedHosts = parseAllowedHosts(options.allowedHosts ?? []);
  const limitOptions = clientLimitOptions(limits);
  const app = Fastify({
    bodyLimit: BODY_LIMIT_BYTES,
    logger: false,
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, allErrors: true } },
    ...limitOptions,
    // A request without a Host header gets the JSON 400 of guardCrossSite, not Node's empty one.
    http: { ...limitOptions.http, requireHostHeader: false },
    clientErrorHandler: answerClientError(limits),
    // refuseRequestsWhileClosing answers those with the JSON error body instead.
    return503OnClosing: false,
    // Errors Fastify raises before routing (a malformed URL, …) get the same body as every other error.
    frameworkErrors: (error, _req, reply) => {
      void (reply as FastifyReply).code(400).send(errorBody(ErrorCode.BadRequest, error.message));
    },
  });
  app.server.maxConnections = limits.maxConnections;
  const startedAt = Date.now();

  guardCrossSite(app, { allowedHosts });
  refuseRequestsWhileClosing(app);
  const { apiToken } = options;
  if (apiToken) {
    const expected = `Bearer ${apiToken}`;
    app.addHook("onRequest", async (req) => {
      if (req.routeOptions.config.publicPage) return;
      const admin = sameSecret(req.headers.authorization ?? "", expected) || webSocketTokenGrants(req, apiToken);
      if (!admin && !runTokenGrants(req, options.host)) {
        throw new HttpError(
          ErrorCode.Unauthorized,
          "a valid 'Authorization: Bearer <token>' header is required (a WebSocket may offer the subprotocols " +
            "'neko.bearer, <token>' instead)",
        );
      }
    });
  }

  app.setErrorHandler(async (error: FastifyError | HttpError, req, reply) => {
    if (error instanceof HttpError)
      return reply.code(error.statusCode).send(errorBody(error.code, error.message, error.details));
    const fe = error as FastifyError;
    if (fe.validation) {
      return reply.code(400).send(errorBody(ErrorCode.Validation, fe.message, { issues: fe.validation }));
    }
    if (fe.code === "FST_ERR_CTP_BODY_TOO_LARGE") {
      // Read what the client is still sending first, or it fails on EPIPE instead of reading this answer.
      await drainOversizedBody(req.raw);
      if (req.raw.socket?.destroyed) return reply.hijack();
      // A route may take more than the default (a run's upload: 16 MiB).
      const limit = req.routeOptions.bodyLimit ?? BODY_LIMIT_BYTES;
      return reply
        .code(413)
        .header("connection", "close")
        .send(errorBody(ErrorCode.PayloadTooLarge, `the request body is larger than ${limit} bytes`, { limit }));
    }
    if (fe.code === "FST_ERR_CTP_INVALID_MEDIA_TYPE") {
      return reply.code(415).send(errorBody(ErrorCode.UnsupportedMediaType, fe.message));
    }
    if (fe.statusCode === 400 || fe.code?.startsWith("FST_ERR_CTP_")) {
      return reply
        .code(400)
        .send(errorBody(ErrorCode.InvalidJson, `the request body is not valid JSON: ${fe.message}`));
    }
    options.logger?.error({ err: error }, "unhandled error in a route");
    return reply.code(500).send(errorBody(ErrorCode.Internal, fe.message || "internal error"));
  });

  app.setNotFoundHandler((req, reply) =>
    reply.code(404).send(errorBody(ErrorCode.RouteNotFound, `no route ${req.method} ${req.url.split("?")[0]}`)),
  );

  dropUnusedConnectionsOnClose(app);
  // Before every route: the document sees only the routes registered after it.
  await registerOpenApiDocument(app, {
    version: options.host.info().host_version,
    tokenRequired: Boolean(options.apiToken),
    bodyLimitBytes: BODY_LIMIT_BYTES,
  });
  registerOpenApiRoutes(app);
  const webSockets = await WebSocketHub.register(app, { ...DEFAULT_WEBSOCKET_LIMITS, ...options.webSocketLimits });
  if (options.managerPage !== false) {
    // A page that cannot be built (a broken source, a missing esbuild binary) must not take the API down with it.
    const load = () =>
      loadManagerAssets().catch((error: unknown) => {
        options.logger?.error({ err: error }, "the manager page could not be built; the API is served without it");
        throw error;
      });
    const assets = await load().catch((error: unknown) => (error instanceof Error ? error : new Error(String(error))));
    registerManagerRoutes(app, assets, load);
  }
  registerHealthRoutes(app, options.host, startedAt);
  registerPluginRoutes(app, options.host);
  registerConfigRoutes(app, options.host);
  registerStatusRoutes(app, options.host);
  registerStaticUiRoutes(app, options.host);
  registerMessageDeliveryRoutes(app, options.host);
  registerRunRoutes(app, options.host);
  registerLogRoutes(app, options.host, webSockets);
  registerAdminWsRoutes(webSockets, options.host, {
    startedAt,
    metricsIntervalMs: options.adminMetricsIntervalMs ?? DEFAULT_ADMIN_METRICS_INTERVAL_MS,
  });
  registerMetricsRoutes(app, options.host);
  registerMcpRoutes(app, options.host, options.logger);
  const sse = new SseHub(app, options.sseHeartbeatMs);
  registerMessageRoutes(app, options.host, sse);
  registerBusRoutes(app, options.host, sse);
  return app;
}

/** True for addresses that only this machine can reach. */
export function isLoopbackHost(host: string): boolean {
  return host === "localhost" || host === "::1" || host.startsWith("127.");
}
