/** The pure parts of the `/docs` viewer (browser JavaScript): grouping the document's operations and showing schemas. */
import assert from "node:assert/strict";
import { test } from "node:test";
import type { PluginHostApi } from "@neko/host";
import { createPluginServer } from "../src/index.ts";

interface Viewer {
  groupByTag(doc: unknown): Array<{ tag: { name: string }; operations: Array<{ method: string; path: string }> }>;
  schemaLines(schema: unknown): string[];
}

// A computed specifier: the viewer is plain JavaScript that TypeScript does not check.
const viewerUrl = new URL("../src/openapi/docs-viewer.js", import.meta.url).href;
const viewer = (await import(viewerUrl)) as Viewer;

test("the viewer shows every operation once, under its tag, in the document's tag order", async () => {
  const app = await createPluginServer({ host: { info: () => ({ host_version: "1" }) } as unknown as PluginHostApi });
  const doc = (await app.inject({ method: "GET", url: "/openapi.json" })).json();
  const groups = viewer.groupByTag(doc);
  assert.deepEqual(
    groups.map((g) => g.tag.name),
    doc.tags.map((t: { name: string }) => t.name),
  );
  const shown = groups.flatMap((g) => g.operations.map((o) => `${o.method} ${o.path}`)).sort();
  const all = Object.entries(doc.paths)
    .flatMap(([path, item]) => Object.keys(item as object).map((method) => `${method} ${path}`))
    .sort();
  assert.deepEqual(shown, all);
  assert.ok(groups.find((g) => g.tag.name === "runs")?.operations.some((o) => o.path === "/runs/{id}/cancel"));
});

test("schemas read as type notation: optional fields, nulls, references, arrays, maps and unions", () => {
  assert.deepEqual(
    viewer.schemaLines({
      type: "object",
      required: ["id"],
      properties: {
        id: { type: "string", description: "the plugin id" },
        pid: { type: ["integer", "null"] },
        entries: { type: "array", items: { $ref: "#/components/schemas/Entry" } },
        counts: { type: "object", additionalProperties: { type: "integer" } },
        error: { anyOf: [{ $ref: "#/components/schemas/Error" }, { type: "null" }] },
        mode: { type: "string", enum: ["full", "config"] },
        data: { description: "anything" },
      },
    }),
    [
      "{",
      "  id: string  // the plugin id",
      "  pid?: integer | null",
      "  entries?: Entry[]",
      "  counts?: { [key: string]: integer }",
      "  error?: Error | null",
      '  mode?: "full" | "config"',
      "  data?: any  // anything",
      "}",
    ],
  );
  assert.deepEqual(viewer.schemaLines({ type: "string", format: "binary" }), ["string (binary)"]);
  assert.deepEqual(viewer.schemaLines(undefined), ["any"]);
});
