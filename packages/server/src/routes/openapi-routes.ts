/**
 * `GET /openapi.json` (the document `@fastify/swagger` builds from the routes) and `GET /docs`, our own viewer of it:
 * one self-contained page (docs-page.html with docs-viewer.js inlined), no browser bundle and nothing from a CDN.
 * Both follow the server's token rule like every other route.
 */
import { createHash } from "node:crypto";
import fs from "node:fs";
import type { FastifyInstance } from "fastify";

const DOCS_PAGE = buildDocsPage();

export function registerOpenApiRoutes(app: FastifyInstance): void {
  app.get(
    "/openapi.json",
    {
      config: {
        doc: {
          tag: "docs",
          summary: "This OpenAPI 3 document",
          description: "Built from the routes as they are registered; `info.version` is the host's version.",
          responses: { 200: { description: "the document", schema: { type: "object" } } },
        },
      },
    },
    async () => app.swagger(),
  );

  app.get(
    "/docs",
    {
      config: {
        doc: {
          tag: "docs",
          summary: "A page that shows this document, grouped by tag",
          description: "It fetches openapi.json beside it and needs nothing from the network besides.",
          responses: { 200: { description: "the viewer", contentType: "text/html", schema: { type: "string" } } },
        },
      },
    },
    async (_req, reply) =>
      reply
        .type("text/html; charset=utf-8")
        .header("content-security-policy", DOCS_PAGE.contentSecurityPolicy)
        .header("x-content-type-options", "nosniff")
        .send(DOCS_PAGE.html),
  );
}

/** The page with the viewer inlined, and a content security policy that allows exactly its own script and style. */
function buildDocsPage(): { html: string; contentSecurityPolicy: string } {
  const read = (name: string) => fs.readFileSync(new URL(`../openapi/${name}`, import.meta.url), "utf8");
  const html = read("docs-page.html").replace("/*VIEWER*/", () => read("docs-viewer.js"));
  const hashOf = (element: string) => {
    const text = new RegExp(`<${element}[^>]*>([\\s\\S]*?)</${element}>`).exec(html)?.[1] ?? "";
    return `'sha256-${createHash("sha256").update(text).digest("base64")}'`;
  };
  const contentSecurityPolicy = [
    "default-src 'none'",
    `script-src ${hashOf("script")}`,
    `style-src ${hashOf("style")}`,
    "connect-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join("; ");
  return { html, contentSecurityPolicy };
}
