/**
 * The routes a Fastify instance has, read from its route table: the OpenAPI test holds every route to the document,
 * and the cross-site suite (test/e2e/cross-site.e2e.test.ts) attacks every state-changing one, so a new route can
 * escape neither.
 */
import assert from "node:assert/strict";
import type { FastifyInstance } from "fastify";

/**
 * Every route as `METHOD /path` from `printRoutes()`: its tree holds one node per path piece, so a route's path is
 * its nodes' keys joined. Each is checked with `hasRoute`, so a misread tree fails instead of hiding a route.
 */
export function registeredRoutes(app: FastifyInstance): string[] {
  const routes: string[] = [];
  const stack: string[] = [];
  for (const line of app.printRoutes().split("\n")) {
    const match = /^((?:[│ ] {3})*)[├└]── (.*?)(?: \(([A-Z, ]+)\))?$/.exec(line);
    if (!match) continue;
    const depth = match[1].length / 4;
    stack.length = depth;
    stack.push(match[2]);
    const url = stack.join("");
    for (const method of match[3]?.split(", ") ?? []) {
      assert.ok(app.hasRoute({ method, url }), `printRoutes was misread: ${method} ${url}`);
      routes.push(`${method} ${url}`);
    }
  }
  return routes;
}
