/**
 * `GET /openapi.json` and `GET /docs` over inject(): every route Fastify knows is in the document with its methods
 * (so a route added without a doc fails here), the document is valid OpenAPI 3.1 with every `$ref` resolving, the
 * token rule applies to both, and documenting the routes changed none of their answers.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { describe, test } from "node:test";
import { Validator } from "@seriousme/openapi-schema-validator";
import type { FastifyInstance } from "fastify";
import type { PluginHostApi } from "@neko/host";
import { createPluginServer } from "../src/index.ts";
import { registeredRoutes } from "./support/fastify-routes.ts";

/** The document asks the host only for its version; the requests below are refused before they reach it. */
const unreached = () => assert.fail("the host is not asked");
const host = {
  info: () => ({ host_version: "1.2.3" }),
  messages: { list: unreached },
  runs: { list: unreached },
  bus: { query: unreached },
} as unknown as PluginHostApi;

const METHODS = ["get", "put", "post", "delete", "patch", "options", "head"];

async function documentOf(app: FastifyInstance, headers: Record<string, string> = {}) {
  const res = await app.inject({ method: "GET", url: "/openapi.json", headers });
  assert.equal(res.statusCode, 200, res.body);
  return res.json();
}

/** The path the document gives a Fastify route: `:id` → `{id}`, a final `*` → `{path}`. */
function documentPath(url: string): string {
  return url.replace(/:(\w+)/g, "{$1}").replace(/\*$/, "{path}");
}

function operations(doc: any): Array<{ method: string; path: string; op: any }> {
  return Object.entries(doc.paths).flatMap(([path, item]: [string, any]) =>
    METHODS.filter((m) => item[m]).map((method) => ({ method, path, op: item[method] })),
  );
}

function resolvePointer(doc: any, ref: string): unknown {
  assert.ok(ref.startsWith("#/"), `only local references are used: ${ref}`);
  return ref
    .slice(2)
    .split("/")
    .map((part) => part.replaceAll("~1", "/").replaceAll("~0", "~"))
    .reduce((node: any, part) => node?.[part], doc);
}

function allRefs(node: unknown, found: string[] = []): string[] {
  if (Array.isArray(node)) for (const item of node) allRefs(item, found);
  else if (node && typeof node === "object") {
    for (const [key, value] of Object.entries(node)) {
      if (key === "$ref" && typeof value === "string") found.push(value);
      else allRefs(value, found);
    }
  }
  return found;
}

describe("the OpenAPI document", () => {
  test("every registered route is in it, with exactly its methods", async () => {
    const app = await createPluginServer({ host });
    await app.ready();
    const registered = registeredRoutes(app);
    assert.ok(registered.length >= 30, `read ${registered.length} routes from printRoutes`);
    const gets = new Set(registered.filter((r) => r.startsWith("GET ")).map((r) => r.slice(4)));
    const expected = registered
      // Fastify adds a HEAD route to every GET one; the document says so once, in `info.description`.
      .filter((r) => !(r.startsWith("HEAD ") && gets.has(r.slice(5))))
      .map((r) => {
        const [method, url] = r.split(" ");
        return `${method.toLowerCase()} ${documentPath(url)}`;
      })
      .sort();
    const doc = await documentOf(app);
    const documented = operations(doc)
      .map(({ method, path }) => `${method} ${path}`)
      .sort();
    assert.deepEqual(documented, expected);
    assert.ok(expected.includes("get /openapi.json") && expected.includes("get /docs"));
    assert.ok(expected.includes("get /plugin/{id}/ui/{path}"));
  });

  test("every operation has a summary, a declared tag, a success answer and its errors in the shared body", async () => {
    const doc = await documentOf(await createPluginServer({ host }));
    const tags = new Set(doc.tags.map((t: { name: string }) => t.name));
    assert.deepEqual(
      [...tags],
      [
        "health",
        "plugins",
        "runs",
        "config",
        "status",
        "messages",
        "bus",
        "ui",
        "observability",
        "websockets",
        "mcp",
        "docs",
      ],
      "the tags, in order",
    );
    const used = new Set<string>();
    for (const { method, path, op } of operations(doc)) {
      const name = `${method} ${path}`;
      assert.ok(op.summary?.length > 0, `${name} has a summary`);
      assert.equal(op.tags?.length, 1, `${name} has one tag`);
      assert.ok(tags.has(op.tags[0]), `${name}: tag '${op.tags[0]}' is declared`);
      used.add(op.tags[0]);
      const statuses = Object.keys(op.responses);
      assert.ok(
        // A WebSocket route's success is `101 Switching Protocols`.
        statuses.some((s) => /^[123]/.test(s)),
        `${name} documents a success`,
      );
      assert.ok(statuses.includes("500"), `${name} documents 500`);
      for (const status of statuses.filter((s) => /^[45]/.test(s))) {
        const response = op.responses[status];
        assert.ok(response.description.includes("`"), `${name} ${status} names its codes`);
        const refs = allRefs(response.content["application/json"].schema);
        assert.ok(
          refs.includes("#/components/schemas/ErrorBody") || refs.includes("#/components/schemas/TriggerResult"),
          `${name} ${status} answers with the error body`,
        );
      }
    }
    assert.deepEqual([...used].sort(), [...tags].sort(), "every tag has operations");
    const errorBody = doc.components.schemas.ErrorBody;
    assert.deepEqual(errorBody.required, ["error"]);
    assert.deepEqual(doc.components.schemas.Error.required, ["code", "message", "details"]);
  });

  test("it is valid OpenAPI 3.1 and every $ref resolves", async () => {
    for (const apiToken of [undefined, "s3cret"]) {
      const doc = await documentOf(await createPluginServer({ host, apiToken }), { authorization: "Bearer s3cret" });
      assert.match(doc.openapi, /^3\.1\./);
      const result = await new Validator().validate(doc);
      assert.equal(result.valid, true, JSON.stringify(result.errors, null, 2));
      const refs = allRefs(doc);
      assert.ok(refs.length > 50);
      for (const ref of new Set(refs)) assert.ok(resolvePointer(doc, ref) !== undefined, `${ref} resolves`);
    }
  });

  test("info.version is the host's version", async () => {
    const doc = await documentOf(await createPluginServer({ host }));
    assert.equal(doc.info.version, "1.2.3");
    assert.equal(doc.info.title, "neko-plugin server");
  });

  test("parameters, bodies and streams are described without being validated", async () => {
    const doc = await documentOf(await createPluginServer({ host }));
    const params = (op: any) => Object.fromEntries(op.parameters.map((p: any) => [`${p.in} ${p.name}`, p]));

    const stream = doc.paths["/plugin/messages/stream"].get;
    assert.deepEqual(Object.keys(stream.responses["200"].content), ["text/event-stream"]);
    assert.deepEqual(Object.keys(params(stream)).sort(), [
      "header last-event-id",
      "query after",
      "query plugin_id",
      "query priority_min",
    ]);
    assert.deepEqual(Object.keys(doc.paths["/bus/events/stream"].get.responses["200"].content), ["text/event-stream"]);

    const busQuery = params(doc.paths["/bus/{namespace}"].get);
    assert.deepEqual(busQuery["path namespace"].schema.enum, [
      "events",
      "messages",
      "lifecycle",
      "conversations",
      "memory",
    ]);
    assert.equal(busQuery["query max_count"].schema.maximum, 10000);

    const ui = params(doc.paths["/plugin/{id}/ui/{path}"].get);
    assert.equal(ui["path id"].required, true);
    assert.equal(ui["path path"].required, true);
    assert.equal(ui["path id"].schema.pattern, "^[a-zA-Z0-9_-]{1,128}$");

    const trigger = doc.paths["/plugin/trigger"].post;
    assert.deepEqual(trigger.requestBody.content["application/json"].schema.required, ["plugin_id"]);
    assert.deepEqual(Object.keys(trigger.responses).sort(), [
      "200",
      "400",
      "403",
      "404",
      "409",
      "413",
      "415",
      "421",
      "422",
      "500",
      "502",
      "504",
      "508",
    ]);
    assert.deepEqual(Object.keys(doc.paths["/plugin/{id}/config/toml"].put.requestBody.content).sort(), [
      "application/json",
      "application/toml",
    ]);
    assert.ok(doc.paths["/runs"].post.responses["202"]);
    assert.deepEqual(Object.keys(doc.paths["/plugin/{id}/ui"].get.responses).sort(), ["301", "400", "421", "500"]);
  });

  test("without a token there is no security; with one, every operation needs it and lists 401", async () => {
    const open = await documentOf(await createPluginServer({ host }));
    assert.equal(open.security, undefined);
    for (const { op } of operations(open)) assert.equal(op.responses["401"], undefined);

    const app = await createPluginServer({ host, apiToken: "s3cret" });
    for (const url of ["/openapi.json", "/docs"]) {
      const refused = await app.inject({ method: "GET", url });
      assert.equal(refused.statusCode, 401, url);
      assert.equal(refused.json().error.code, "UNAUTHORIZED");
    }
    const guarded = await documentOf(app, { authorization: "Bearer s3cret" });
    assert.deepEqual(guarded.security, [{ bearerToken: [] }]);
    assert.deepEqual(guarded.components.securitySchemes.bearerToken, {
      type: "http",
      scheme: "bearer",
      description: "the server's NEKO_API_TOKEN",
    });
    for (const { method, path, op } of operations(guarded)) {
      assert.ok(op.responses["401"], `${method} ${path} lists 401`);
    }
    const page = await app.inject({ method: "GET", url: "/docs", headers: { authorization: "Bearer s3cret" } });
    assert.equal(page.statusCode, 200);
  });

  test("/docs is one self-contained page whose policy allows exactly its own script and style", async () => {
    const app = await createPluginServer({ host });
    const res = await app.inject({ method: "GET", url: "/docs" });
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers["content-type"], "text/html; charset=utf-8");
    const html = res.body;
    assert.doesNotMatch(html, /<script[^>]+src=|<link|@import|https?:\/\//, "nothing is loaded from elsewhere");
    assert.match(html, /fetch\("openapi\.json"/);
    const policy = String(res.headers["content-security-policy"]);
    for (const element of ["script", "style"]) {
      const text = new RegExp(`<${element}[^>]*>([\\s\\S]*?)</${element}>`).exec(html)?.[1] ?? "";
      assert.ok(text.length > 500, `the page has its ${element}`);
      const hash = createHash("sha256").update(text).digest("base64");
      assert.ok(policy.includes(`${element}-src 'sha256-${hash}'`), `${element} allowed by its hash`);
    }
    assert.match(policy, /default-src 'none'/);
    assert.match(policy, /connect-src 'self'/);
  });

  test("documented routes answer as before: the handlers' own query errors, Ajv's for validated parts", async () => {
    const app = await createPluginServer({ host });
    const answer = async (method: "GET" | "POST", url: string) => {
      const res = await app.inject({ method, url });
      return { status: res.statusCode, message: res.json().error.message };
    };
    assert.deepEqual(await answer("GET", "/plugin/messages?max_count=abc"), {
      status: 400,
      message: "'max_count' must be a whole number from 1 to 1000 (got 'abc')",
    });
    assert.deepEqual(await answer("GET", "/runs?status=nope"), {
      status: 400,
      message: "'status' must be one of queued, running, cancel_requested, succeeded, failed, canceled, timeout",
    });
    assert.deepEqual(await answer("GET", "/bus/events?since_ts=-1"), {
      status: 400,
      message: "'since_ts' must be a whole number ≥ 0 (got '-1')",
    });
    assert.deepEqual(await answer("GET", "/bus/nowhere"), {
      status: 400,
      message: "params/namespace must be equal to one of the allowed values",
    });
  });
});
