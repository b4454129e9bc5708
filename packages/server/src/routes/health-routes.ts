/** `GET /health`, `GET /available` (the original's) and `GET /server/info`. */
import type { FastifyInstance } from "fastify";
import type { PluginHostApi } from "@neko/host";
import { ErrorCode } from "@neko/protocol";
import { HttpError } from "../http-errors.ts";
import type { RouteDoc } from "../openapi/route-doc.ts";

const healthDoc: RouteDoc = {
  tag: "health",
  summary: "Liveness",
  responses: {
    200: {
      description: "the server answers",
      schema: {
        type: "object",
        required: ["status", "time"],
        properties: { status: { type: "string", enum: ["ok"] }, time: { type: "string", format: "date-time" } },
      },
    },
  },
};

const count = { type: "integer" } as const;

const availableDoc: RouteDoc = {
  tag: "health",
  summary: "Whether the server accepts work (the original's route)",
  description:
    "The original N.E.K.O.'s fields (`status`, `available`, `plugins_count`, `time`) and how many plugins run " +
    "(`plugins_count` leaves out folders shadowed by another with the same id). A server that is closing, or whose " +
    "host is stopping or stopped (also when the host is embedded and stopped on its own), answers 503 " +
    "`SHUTTING_DOWN` instead.",
  responses: {
    200: {
      description: "the server takes calls",
      schema: {
        type: "object",
        required: ["status", "available", "plugins_count", "plugins_running", "time"],
        properties: {
          status: { type: "string", enum: ["ok"] },
          available: { type: "boolean", enum: [true] },
          plugins_count: { type: "integer", description: "plugins the host knows (any state)" },
          plugins_running: { type: "integer", description: "of those, how many run now" },
          time: { type: "string", format: "date-time" },
        },
      },
    },
  },
  errors: { 503: "`SHUTTING_DOWN`: the server is closing, or its plugin host is stopping or stopped" },
};

const serverInfoDoc: RouteDoc = {
  tag: "health",
  summary: "Versions, plugin counts, uptime and transport",
  responses: {
    200: {
      description: "the host's and the server's facts",
      schema: {
        type: "object",
        required: ["host_version", "sdk_version", "node_version", "platform", "uptime_s", "plugins", "server"],
        properties: {
          host_version: { type: "string" },
          sdk_version: { type: "string", description: "what manifests' [plugin.sdk] ranges are checked against" },
          node_version: { type: "string" },
          platform: { type: "string" },
          uptime_s: { type: "integer", description: "seconds since the host was created" },
          plugins: {
            type: "object",
            required: ["total", "running", "by_status"],
            properties: {
              total: count,
              running: count,
              by_status: { type: "object", additionalProperties: count, description: "plugins in each state" },
              shadowed: {
                type: "integer",
                description: "of total, folders shadowed by another with the same plugin id",
              },
            },
          },
          stopping: { type: "boolean", description: "true once the host began to stop" },
          dropped_frames: { type: "integer", description: "frames from peers that had not completed the handshake" },
          refused_connections: {
            type: "integer",
            description:
              "connections to the plugin socket refused before any frame (no admission, used, another process)",
          },
          transport_endpoint: { type: "string", description: "the ZeroMQ endpoint plugin processes connect to" },
          workers: {
            type: "array",
            description: "the remote workers connected now (docs/workers.md)",
            items: {
              type: "object",
              required: ["name", "connected_at", "plugins"],
              properties: {
                name: { type: "string" },
                connected_at: { type: "string", format: "date-time" },
                plugins: { type: "array", items: { type: "string" } },
              },
            },
          },
          worker_endpoint: { type: ["string", "null"], description: "where remote workers connect, or null" },
          server: {
            type: "object",
            required: ["started_at"],
            properties: { started_at: { type: "string", format: "date-time" } },
          },
        },
      },
    },
  },
};

export function registerHealthRoutes(app: FastifyInstance, host: PluginHostApi, startedAt: number): void {
  app.get("/health", { config: { doc: healthDoc } }, async () => ({ status: "ok", time: new Date().toISOString() }));

  app.get("/available", { config: { doc: availableDoc } }, async () => {
    const { plugins, stopping } = host.info();
    if (stopping) throw new HttpError(ErrorCode.ShuttingDown, "the plugin host is stopping or stopped");
    return {
      status: "ok",
      available: true,
      plugins_count: plugins.total - plugins.shadowed,
      plugins_running: plugins.running,
      time: new Date().toISOString(),
    };
  });

  app.get("/server/info", { config: { doc: serverInfoDoc } }, async () => serverInfo(host, startedAt));
}

/** The body of `GET /server/info` (the admin WebSocket's `hello` carries it too). */
export function serverInfo(host: PluginHostApi, startedAt: number) {
  return { ...host.info(), server: { started_at: new Date(startedAt).toISOString() } };
}
