/** Route behaviour over Fastify inject() with a stand-in host: status codes, error bodies, limits, auth. */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { createPluginServer, statusForCode } from "../src/index.ts";
import { fakeHost } from "./support/fake-host.ts";

describe("plugin server routes", () => {
  test("trigger maps an Err's code to its status and keeps the body shape", async () => {
    for (const [code, status] of [
      ["VALIDATION_ERROR", 400],
      ["ENTRY_NOT_FOUND", 404],
      ["PLUGIN_NOT_RUNNING", 409],
      ["TIMEOUT", 504],
      ["PLUGIN_CRASHED", 502],
      ["MY_OWN_CODE", 422],
    ] as const) {
      const app = await createPluginServer({
        host: fakeHost({ ok: false, error: { name: "SdkError", code, message: "m" } }),
      });
      const res = await app.inject({
        method: "POST",
        url: "/plugin/trigger",
        payload: { plugin_id: "p", entry_id: "e" },
      });
      assert.equal(res.statusCode, status, code);
      assert.deepEqual(res.json(), {
        success: false,
        plugin_id: "p",
        entry_id: "e",
        run_id: "run-1",
        data: null,
        error: { code, message: "m", details: null },
      });
      assert.equal(statusForCode(code), status);
    }
  });

  test("the timeout field is passed on in milliseconds; args default to {}", async () => {
    const host = fakeHost({ ok: true, value: 1 });
    const app = await createPluginServer({ host });
    await app.inject({
      method: "POST",
      url: "/plugin/trigger",
      payload: { plugin_id: "p", entry_id: "e", timeout: 2 },
    });
    assert.deepEqual(host.calls[0], ["p", "e", {}, { timeoutMs: 2000 }]);
  });

  test("bad bodies, unknown routes and oversized payloads get JSON errors", async () => {
    const app = await createPluginServer({ host: fakeHost({ ok: true, value: 1 }) });
    const wrongType = await app.inject({
      method: "POST",
      url: "/plugin/trigger",
      payload: { plugin_id: 1, entry_id: "e" },
    });
    assert.equal(wrongType.statusCode, 400);
    assert.equal(wrongType.json().error.code, "VALIDATION_ERROR");
    assert.match(wrongType.json().error.message, /plugin_id/);
    const argsNotObject = await app.inject({
      method: "POST",
      url: "/plugin/trigger",
      payload: { plugin_id: "p", entry_id: "e", args: [1] },
    });
    assert.equal(argsNotObject.statusCode, 400);
    const notJson = await app.inject({
      method: "POST",
      url: "/plugin/trigger",
      headers: { "content-type": "application/json" },
      payload: "{",
    });
    assert.equal(notJson.statusCode, 400);
    assert.equal(notJson.json().error.code, "INVALID_JSON");
    const route = await app.inject({ method: "GET", url: "/nope?x=1" });
    assert.deepEqual(route.json(), {
      error: { code: "ROUTE_NOT_FOUND", message: "no route GET /nope", details: null },
    });
    const big = await app.inject({
      method: "POST",
      url: "/plugin/trigger",
      headers: { "content-type": "application/json" },
      payload: JSON.stringify({ plugin_id: "p", entry_id: "e", args: { x: "y".repeat(1024 * 1024) } }),
    });
    assert.equal(big.statusCode, 413);
    assert.equal(big.json().error.code, "PAYLOAD_TOO_LARGE");
    const badId = await app.inject({ method: "GET", url: "/plugins/..%2Fetc" });
    assert.equal(badId.statusCode, 400);
    const badUrl = await app.inject({ method: "GET", url: "/plugins/%E0%A4%A" });
    assert.equal(badUrl.statusCode, 400);
    assert.equal(badUrl.json().error.code, "BAD_REQUEST", "errors raised before routing have the same body");
  });

  test("the logs route checks lines, level and search, and passes them on", async () => {
    const host = fakeHost({ ok: true, value: 1 });
    const app = await createPluginServer({ host });
    const get = async (url: string) => {
      const res = await app.inject({ method: "GET", url });
      return { status: res.statusCode, body: res.json() };
    };
    assert.deepEqual((await get("/plugin/p/logs?lines=50&level=warn&search=Disk")).body, {
      plugin_id: "p",
      records: [],
      dropped: 0,
    });
    assert.deepEqual(host.calls.at(-1), ["logs", "p", { lines: 50, level: "warn", search: "Disk" }]);
    await get("/plugin/p/logs");
    assert.deepEqual(host.calls.at(-1), ["logs", "p", { lines: undefined, level: undefined, search: undefined }]);

    await get("/plugin/p/logs?level=WARNING");
    assert.deepEqual(host.calls.at(-1), ["logs", "p", { lines: undefined, level: "warn", search: undefined }]);
    await get("/plugin/p/logs?level=Critical");
    assert.equal((host.calls.at(-1) as [string, string, { level: string }])[2].level, "fatal");
    const loud = await get("/plugin/p/logs?level=loud");
    assert.equal(loud.status, 400);
    assert.equal(loud.body.error.code, "VALIDATION_ERROR");
    assert.match(
      loud.body.error.message,
      /'level' must be one of trace, debug, info, warn, error, fatal \(or WARNING, CRITICAL; any case\) \(got 'loud'\)/,
    );
    for (const lines of ["0", "51", "ten", "1.5"]) {
      const bad = await get(`/plugin/p/logs?lines=${lines}`);
      assert.equal(bad.status, 400, `lines=${lines}`);
      assert.match(bad.body.error.message, /'lines' must be a whole number from 1 to 50/);
    }
    const twice = await get("/plugin/p/logs?search=a&search=b");
    assert.equal(twice.status, 400);
    const unknown = await get("/plugin/nope/logs");
    assert.equal(unknown.status, 404);
    assert.equal(unknown.body.error.code, "PLUGIN_NOT_FOUND");
  });

  test("the metrics routes list every plugin and answer 404 for an unknown one", async () => {
    const app = await createPluginServer({ host: fakeHost({ ok: true, value: 1 }) });
    assert.deepEqual((await app.inject({ method: "GET", url: "/plugin/metrics" })).json(), { plugins: [] });
    assert.deepEqual((await app.inject({ method: "GET", url: "/plugin/metrics/p" })).json(), { plugin_id: "p" });
    const unknown = await app.inject({ method: "GET", url: "/plugin/metrics/nope" });
    assert.equal(unknown.statusCode, 404);
    assert.equal(unknown.json().error.code, "PLUGIN_NOT_FOUND");
  });

  test("GET /metrics answers the host's exposition as Prometheus text, behind the token like every route", async () => {
    const open = await createPluginServer({ host: fakeHost({ ok: true, value: 1 }) });
    const res = await open.inject({ method: "GET", url: "/metrics" });
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers["content-type"], "text/plain; version=0.0.4; charset=utf-8");
    assert.equal(res.body, '# HELP neko_up Stand-in.\n# TYPE neko_up gauge\nneko_up{plugin="p"} 1\n');
    const guarded = await createPluginServer({ host: fakeHost({ ok: true, value: 1 }), apiToken: "s3cret" });
    const refused = await guarded.inject({ method: "GET", url: "/metrics" });
    assert.equal(refused.statusCode, 401);
    assert.equal(refused.json().error.code, "UNAUTHORIZED");
    const allowed = await guarded.inject({
      method: "GET",
      url: "/metrics",
      headers: { authorization: "Bearer s3cret" },
    });
    assert.equal(allowed.statusCode, 200);
  });

  test("with an API token every request needs the bearer header", async () => {
    const app = await createPluginServer({ host: fakeHost({ ok: true, value: 1 }), apiToken: "s3cret" });
    assert.equal((await app.inject({ method: "GET", url: "/health" })).statusCode, 401);
    const wrong = await app.inject({ method: "GET", url: "/health", headers: { authorization: "Bearer nope" } });
    assert.equal(wrong.statusCode, 401);
    assert.equal(wrong.json().error.code, "UNAUTHORIZED");
    const ok = await app.inject({ method: "GET", url: "/health", headers: { authorization: "Bearer s3cret" } });
    assert.equal(ok.statusCode, 200);
    assert.equal(ok.json().status, "ok");
  });
});
