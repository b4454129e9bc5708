/**
 * The OpenAPI 3 document of the server (SPEC §5), built by `@fastify/swagger` from the routes as they are registered:
 * each route's validated `schema` plus the `RouteDoc` in its `config.doc`. Errors every route of a kind can give (a
 * failed schema, an unreadable body, a missing token, a bug) are added here, so the route docs list only their own.
 */
import swagger from "@fastify/swagger";
import type { FastifyInstance, RouteOptions } from "fastify";
import { API_SCHEMAS } from "./api-schemas.ts";
import { API_TAGS, type JsonSchema, type ResponseDoc, type RouteDoc, schemaRef } from "./route-doc.ts";

export interface OpenApiDocumentOptions {
  /** `info.version`: the host's version. */
  version: string;
  /** Whether the server requires `Authorization: Bearer <token>` (then every operation says so, and lists 401). */
  tokenRequired: boolean;
  /** The largest body the server reads (its 413 names it). */
  bodyLimitBytes: number;
}

const BEARER = "bearerToken";

/** Registers the document's builder; call before any route, as it sees only the routes added after it. */
export async function registerOpenApiDocument(app: FastifyInstance, options: OpenApiDocumentOptions): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: "3.1.0",
      info: {
        title: "neko-plugin server",
        version: options.version,
        description: [
          "The HTTP API of the neko-plugin server. Every error answer is `{ error: { code, message, details } }`",
          "with the status of its code (docs/http-api.md#status-codes). Every GET route also answers HEAD.",
          options.tokenRequired
            ? "This server requires `Authorization: Bearer <NEKO_API_TOKEN>` on every request; a run's `run_token` also opens that run's own routes."
            : "This server requires no token (it is started without NEKO_API_TOKEN).",
        ].join(" "),
      },
      tags: Object.entries(API_TAGS).map(([name, description]) => ({ name, description })),
      components: {
        schemas: API_SCHEMAS,
        ...(options.tokenRequired && {
          securitySchemes: {
            [BEARER]: { type: "http", scheme: "bearer", description: "the server's NEKO_API_TOKEN" },
          },
        }),
      },
      ...(options.tokenRequired && { security: [{ [BEARER]: [] }] }),
    },
    transform: ({ schema, url, route }) => documentRoute(route as RouteOptions, schema as RouteSchema, url, options),
  });
}

type RouteSchema = Record<string, unknown> | undefined;

/** The route as the document shows it; a route without a doc is left as @fastify/swagger sees it. */
function documentRoute(route: RouteOptions, schema: RouteSchema, url: string, options: OpenApiDocumentOptions) {
  const doc = route.config?.doc;
  if (!doc) return { schema: schema ?? {}, url };
  const described = { querystring: doc.query, headers: doc.headers, body: doc.body };
  for (const [part, given] of Object.entries(described)) {
    if (given && schema?.[part]) {
      throw new Error(`${route.method} ${route.url}: '${part}' is validated by the route; its doc may not describe it`);
    }
  }
  const wildcard = url.endsWith("*");
  return {
    url: wildcard ? `${url.slice(0, -1)}{path}` : url,
    schema: {
      ...schema,
      summary: doc.summary,
      ...(doc.description && { description: doc.description }),
      tags: [doc.tag],
      ...(doc.query && { querystring: { type: "object", properties: doc.query } }),
      ...(doc.headers && { headers: { type: "object", properties: doc.headers } }),
      ...(doc.body && { body: { description: doc.body.description, content: mediaOf(doc.body.content) } }),
      ...(wildcard && { params: withWildcardParam(schema?.params as JsonSchema | undefined, doc.wildcard) }),
      response: responsesOf(route, schema, doc, options),
    },
  };
}

function withWildcardParam(params: JsonSchema | undefined, description = "the rest of the path"): JsonSchema {
  const properties = (params?.properties ?? {}) as Record<string, JsonSchema>;
  const required = (params?.required ?? []) as string[];
  return {
    type: "object",
    required: [...required, "path"],
    properties: { ...properties, path: { type: "string", description } },
  };
}

function mediaOf(content: Record<string, JsonSchema>) {
  return Object.fromEntries(Object.entries(content).map(([type, schema]) => [type, { schema }]));
}

/**
 * The errors any route of its kind can give, from the server's error handler (plugin-server.ts) and its cross-site
 * guard (cross-site-guard.ts).
 */
function commonErrors(route: RouteOptions, schema: RouteSchema, options: OpenApiDocumentOptions) {
  const errors: Array<[number, string]> = [];
  const methods = [route.method].flat();
  if (schema?.params || schema?.querystring || schema?.body) {
    errors.push([400, "`VALIDATION_ERROR`: the path, query or body does not match its schema (`details.issues`)"]);
  }
  const changing = methods.some((method) => !["GET", "HEAD", "OPTIONS"].includes(method));
  if (changing) {
    const types = (route.config?.bodyTypes ?? ["application/json"]).join(" or ");
    errors.push(
      [400, "`INVALID_JSON`: the body is not valid JSON, or is empty where the route reads a body"],
      [403, "`CROSS_ORIGIN_REFUSED`: the request comes from another site's page (its `Origin`)"],
      [413, `\`PAYLOAD_TOO_LARGE\`: the body is larger than ${options.bodyLimitBytes} bytes`],
      [415, `\`UNSUPPORTED_MEDIA_TYPE\`: the request's content type is not ${types} (required even without a body)`],
    );
  }
  errors.push([421, "`HOST_NOT_ALLOWED`: the `Host` header names no address or allowed name of this server"]);
  if (options.tokenRequired) {
    errors.push([401, "`UNAUTHORIZED`: no valid `Authorization: Bearer <token>` header"]);
  }
  errors.push([500, "`INTERNAL_ERROR`: a bug in the server or the host"]);
  return errors;
}

function responsesOf(route: RouteOptions, schema: RouteSchema, doc: RouteDoc, options: OpenApiDocumentOptions) {
  const errorBody = schemaRef("ErrorBody");
  const errors = new Map<number, { lines: string[]; bodies: JsonSchema[] }>();
  const add = (status: number, line: string, body: JsonSchema) => {
    const error = errors.get(status) ?? { lines: [], bodies: [] };
    error.lines.push(line);
    if (!error.bodies.some((b) => b.$ref === body.$ref)) error.bodies.push(body);
    errors.set(status, error);
  };
  for (const [status, line] of Object.entries(doc.errors ?? {}))
    add(Number(status), line, doc.errorSchema ?? errorBody);
  for (const [status, line] of commonErrors(route, schema, options)) add(status, line, errorBody);

  const responses: Record<string, unknown> = {};
  for (const [status, response] of Object.entries(doc.responses)) responses[status] = responseObject(response);
  for (const [status, { lines, bodies }] of [...errors].sort(([a], [b]) => a - b)) {
    responses[status] = responseObject({
      description: lines.join("\n"),
      schema: bodies.length === 1 ? bodies[0] : { anyOf: bodies },
    });
  }
  return responses;
}

function responseObject({ description, schema, contentType = "application/json", headers }: ResponseDoc) {
  return {
    description,
    ...(headers && { headers }),
    // A response without a body is `type: "null"` for @fastify/swagger.
    ...(schema ? { content: { [contentType]: { schema } } } : { type: "null" }),
  };
}
