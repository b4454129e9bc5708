/**
 * What a route tells the OpenAPI document about itself (`config: { doc }` on the route). A doc only describes: what
 * Fastify validates stays in the route's `schema`, and a query, header or body the handler reads by itself is
 * described here, so documenting a route never changes what it accepts or the errors it gives.
 */

/** A JSON Schema as the document shows it (OpenAPI 3.1: JSON Schema 2020-12, as Ajv reads it). */
export type JsonSchema = Record<string, unknown>;

/** The groups of the document, in the order the viewer shows them. */
export const API_TAGS = {
  health: "Liveness and the server's versions",
  plugins: "The plugin registry, entry calls and lifecycle control",
  runs: "Entry calls followed asynchronously (docs/runs.md)",
  config: "A plugin's plugin.toml, profiles and hot updates (docs/config.md)",
  status: "The latest reportStatus of each plugin (docs/plugin-status.md)",
  messages: "Messages to plugins and the message queue (docs/bus.md)",
  bus: "Bus statistics, namespaces and live events (docs/bus.md)",
  ui: "The plugin manager page (docs/manager.md) and a plugin's static UI (docs/static-ui.md)",
  observability: "A plugin's recent logs and its metrics (docs/logging.md, docs/metrics.md)",
  websockets:
    "Live plugin states, runs, bus records and metrics for the manager page, and a plugin's log stream: " +
    "WebSocket upgrades of a GET (docs/http-api.md#websockets)",
  mcp: "The Model Context Protocol endpoint of the MCP adapter (docs/mcp.md)",
  docs: "This document and its viewer",
} as const;

export type ApiTag = keyof typeof API_TAGS;

export interface ResponseDoc {
  description: string;
  /** The body; none for an answer without one (a redirect, 304). */
  schema?: JsonSchema;
  /** Default `application/json`. */
  contentType?: string;
  headers?: Record<string, JsonSchema & { description: string }>;
}

export interface RouteDoc {
  summary: string;
  description?: string;
  tag: ApiTag;
  /** Query parameters the handler reads itself (no `schema.querystring`). */
  query?: Record<string, JsonSchema>;
  /** Request headers the handler reads. */
  headers?: Record<string, JsonSchema>;
  /** A body the handler reads itself (no `schema.body`), by content type. */
  body?: { description: string; content: Record<string, JsonSchema> };
  /** What the `*` ending the path stands for; the document names it `{path}`. */
  wildcard?: string;
  /** The answers that are not errors, by status. */
  responses: Record<number, ResponseDoc>;
  /**
   * The route's own error answers, by status: a line per code. The errors every route of its kind can give (a bad
   * body, a failed schema, a missing token, a bug) are added by the document.
   */
  errors?: Record<number, string>;
  /** The body of the route's own errors, when it is not the shared error body (`POST /plugin/trigger`). */
  errorSchema?: JsonSchema;
}

declare module "fastify" {
  interface FastifyContextConfig {
    doc?: RouteDoc;
  }
}

/** A reference to one of the document's shared schemas (`API_SCHEMAS`). */
export function schemaRef(name: string): JsonSchema {
  return { $ref: `#/components/schemas/${name}` };
}
