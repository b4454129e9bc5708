/**
 * `/openapi.json` and `/docs` over a real socket, and the document held to what the server really sends: answers of
 * real plugin processes, successes and errors, are checked against the schema the document gives for their route
 * and status (a status the document does not list fails too).
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import { after, before, describe, test } from "node:test";
import { Ajv2020 } from "ajv/dist/2020.js";
import { copyExamplePlugins, makeTempDir, waitFor, writePlugin } from "../support/plugin-fixtures.ts";
import { calcPluginCode } from "../support/sample-plugins.ts";
import { openSse } from "../support/sse-client.ts";
import { startTestHost, type TestHost } from "../support/test-host.ts";

type Method = "get" | "post" | "put";

describe("the OpenAPI document over HTTP", () => {
  let t: TestHost;
  let doc: any;
  let root: string;
  const ajv = new Ajv2020({ strict: false, validateFormats: false, allErrors: true });

  before(async () => {
    root = makeTempDir();
    copyExamplePlugins(root, ["hello_world", "hello_world_extra"]);
    writePlugin(root, { id: "calc", className: "CalcPlugin", code: calcPluginCode });
    writePlugin(root, { id: "broken", manifest: '[plugin]\nid = "broken"\n' });
    t = await startTestHost({ roots: [root], dataDir: root });
    const res = await fetch(`${t.url}/openapi.json`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type") ?? "", /^application\/json/);
    doc = await res.json();
  });

  after(async () => {
    await t.close();
    fs.rmSync(root, { recursive: true, force: true });
  });

  /** The schema the document gives `method path` for `status` in `mediaType`; fails when it lists none. */
  function documented(method: Method, path: string, status: number, mediaType = "application/json") {
    const response = doc.paths[path]?.[method]?.responses?.[String(status)];
    assert.ok(response, `${method.toUpperCase()} ${path} documents ${status}`);
    const schema = response.content?.[mediaType]?.schema;
    assert.ok(schema, `${method.toUpperCase()} ${path} ${status} documents a ${mediaType} body`);
    return schema;
  }

  /** Sends the request and checks the answer's status and body against the document. */
  async function check(method: Method, path: string, url: string, expected: number, body?: unknown): Promise<any> {
    const res = await t.request(method.toUpperCase(), url, body);
    assert.equal(res.status, expected, `${method.toUpperCase()} ${url}: ${JSON.stringify(res.body)}`);
    // Ajv reads `$defs`; the document keeps its shared schemas in `components.schemas`.
    const local = (schema: unknown) =>
      JSON.parse(JSON.stringify(schema).replaceAll('"#/components/schemas/', '"#/$defs/'));
    const validate = ajv.compile({
      ...local(documented(method, path, expected)),
      $defs: local(doc.components.schemas),
    });
    assert.ok(
      validate(res.body),
      `${method.toUpperCase()} ${url} ${expected} breaks its documented schema: ${JSON.stringify(validate.errors)}`,
    );
    return res.body;
  }

  test("the document names the host's version and every route; /docs serves the viewer", async () => {
    const info = await check("get", "/server/info", "/server/info", 200);
    assert.equal(doc.info.version, info.host_version);
    assert.ok(doc.paths["/plugin/trigger"].post && doc.paths["/docs"].get);

    const page = await fetch(`${t.url}/docs`);
    assert.equal(page.status, 200);
    assert.equal(page.headers.get("content-type"), "text/html; charset=utf-8");
    assert.match(page.headers.get("content-security-policy") ?? "", /script-src 'sha256-/);
    const html = await page.text();
    assert.match(html, /<title>neko-plugin API<\/title>/);
    assert.match(html, /export function groupByTag/);
  });

  test("plugin answers match their documented schemas", async () => {
    await check("get", "/health", "/health", 200);
    const { plugins } = await check("get", "/plugins", "/plugins", 200);
    assert.deepEqual(plugins.map((p: { id: string; status: string }) => `${p.id}:${p.status}`).sort(), [
      "broken:refused",
      "calc:running",
      "hello_world:running",
      "hello_world_extra:injected",
    ]);
    await check("get", "/plugins/{id}", "/plugins/hello_world", 200);
    await check("get", "/plugins/{id}", "/plugins/hello_world_extra", 200);
    const extension = (action: string, id: string, status: number, body?: unknown) =>
      check("post", `/plugin/{id}/extension/${action}`, `/plugin/${id}/extension/${action}`, status, body);
    assert.equal((await extension("disable", "hello_world_extra", 200)).state, "disabled");
    assert.equal((await extension("enable", "hello_world_extra", 200, {})).state, "injected");
    assert.equal((await extension("enable", "hello_world", 409)).error.code, "NOT_AN_EXTENSION");
    assert.equal((await extension("disable", "ghost", 404)).error.code, "PLUGIN_NOT_FOUND");
    assert.equal(
      (await extension("enable", "hello_world_extra", 400, { write_manifest: 1 })).error.code,
      "VALIDATION_ERROR",
    );
    await check("post", "/plugin/{id}/start", "/plugin/hello_world_extra/start", 409);
    await check("get", "/plugins/{id}", "/plugins/broken", 200);
    await check("get", "/plugins/{id}", "/plugins/ghost", 404);
    await check("get", "/plugins/{id}", "/plugins/a.b", 400);
    await check("post", "/plugin/{id}/start", "/plugin/calc/start", 200);
    await check("post", "/plugin/{id}/start", "/plugin/broken/start", 409);
  });

  test("trigger answers, Ok and Err, match the TriggerResult and the error body", async () => {
    const call = (body: object, status: number) => check("post", "/plugin/trigger", "/plugin/trigger", status, body);
    assert.deepEqual((await call({ plugin_id: "calc", entry_id: "add", args: { a: 1, b: 2 } }, 200)).data, { sum: 3 });
    assert.equal((await call({ plugin_id: "calc", entry_id: "refuse" }, 422)).error.code, "NOT_TODAY");
    assert.equal((await call({ plugin_id: "calc", entry_id: "boom" }, 500)).error.code, "ENTRY_FAILED");
    assert.equal((await call({ plugin_id: "calc", entry_id: "nope" }, 404)).error.code, "ENTRY_NOT_FOUND");
    assert.equal((await call({ plugin_id: "ghost", entry_id: "x" }, 404)).run_id, null);
    assert.equal((await call({ plugin_id: "calc", entry_id: "add", args: { a: "x" } }, 400)).success, false);
    assert.equal((await call({ entry_id: "add" }, 400)).error.code, "VALIDATION_ERROR");
  });

  test("configuration, status and message answers match their documented schemas", async () => {
    await check("get", "/plugin/{id}/config", "/plugin/hello_world/config", 200);
    await check("get", "/plugin/{id}/config/toml", "/plugin/hello_world/config/toml", 200);
    await check("get", "/plugin/{id}/config/profiles", "/plugin/hello_world/config/profiles", 200);
    await check("get", "/plugin/{id}/config/profiles/{name}", "/plugin/hello_world/config/profiles/zzz", 404);
    await check("get", "/plugin/{id}/config/schema", "/plugin/hello_world/config/schema", 200);
    await check("get", "/plugin/{id}/config/schema", "/plugin/ghost/config/schema", 404);
    await check("get", "/plugin/{id}/ui-info", "/plugin/hello_world/ui-info", 200);
    await check("get", "/plugin/{id}/ui-info", "/plugin/ghost/ui-info", 404);
    await check("post", "/plugin/{id}/config/hot-update", "/plugin/hello_world/config/hot-update", 200, {
      config: { greeting: { punctuation: "?" } },
    });
    await check("get", "/plugin/status", "/plugin/status", 200);
    await check("get", "/plugin/status", "/plugin/status?plugin_id=hello_world", 200);
    await check("get", "/plugin/status", "/plugin/status?plugin_id=ghost", 404);
    await check("post", "/plugin/{id}/message", "/plugin/hello_world/message", 200, { source: "chat", text: "hi" });
    await check("post", "/plugin/{id}/message", "/plugin/broken/message", 409, { source: "chat", text: "hi" });
    await check("get", "/plugin/messages", "/plugin/messages", 200);
    await check("get", "/plugin/messages", "/plugin/messages?max_count=0", 400);
    await check("get", "/bus/stats", "/bus/stats", 200);
    await check("get", "/bus/{namespace}", "/bus/lifecycle?max_count=5", 200);
  });

  test("run answers match their documented schemas", async () => {
    const started = await check("post", "/runs", "/runs", 202, { plugin_id: "calc", entry_id: "add", args: { a: 2 } });
    await waitFor(async () => (await t.request("GET", `/runs/${started.run_id}`)).body.status === "succeeded");
    assert.deepEqual((await check("get", "/runs/{id}", `/runs/${started.run_id}`, 200)).result, { sum: 2 });
    await check("get", "/runs", "/runs?plugin_id=calc", 200);
    await check("get", "/runs/{id}/export", `/runs/${started.run_id}/export`, 200);
    await check("post", "/runs/{id}/cancel", `/runs/${started.run_id}/cancel`, 409);
    await check("get", "/runs/{id}", "/runs/nope", 404);
    await check("post", "/runs", "/runs", 404, { plugin_id: "ghost", entry_id: "x" });
  });

  test("streams and UI files are served as their documented media types", async () => {
    for (const path of ["/plugin/messages/stream", "/bus/events/stream"]) {
      documented("get", path, 200, "text/event-stream");
      const stream = await openSse(`${t.url}${path}`);
      try {
        assert.equal(stream.status, 200);
        assert.match(stream.headers.get("content-type") ?? "", /^text\/event-stream/);
      } finally {
        stream.close();
      }
    }

    documented("get", "/plugin/{id}/ui/{path}", 200, "*/*");
    const file = await fetch(`${t.url}/plugin/hello_world/ui/`);
    assert.equal(file.status, 200);
    assert.match(file.headers.get("content-type") ?? "", /^text\/html/);
    await file.arrayBuffer();
    const folder = await fetch(`${t.url}/plugin/hello_world/ui`, { redirect: "manual" });
    assert.equal(folder.status, 301);
    assert.ok(doc.paths["/plugin/{id}/ui"].get.responses["301"].headers.location);
    await check("get", "/plugin/{id}/ui/{path}", "/plugin/hello_world/ui/missing.txt", 404);
  });
});
