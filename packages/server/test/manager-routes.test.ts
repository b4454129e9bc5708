/**
 * The manager page's routes over inject(): the page and its assets with their security and cache headers, served
 * without the API token (they hold no data) while every API route still needs it, and no file outside the build.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { createPluginServer } from "../src/index.ts";
import { MANAGER_CONTENT_SECURITY_POLICY, registerManagerRoutes } from "../src/routes/manager-routes.ts";
import { fakeHost } from "./support/fake-host.ts";

describe("the manager page's routes", () => {
  test("/ and /ui/ answer the page; /ui redirects; assets are immutable; unknown files are 404", async () => {
    const app = await createPluginServer({ host: fakeHost({ ok: true, value: 1 }) });
    for (const url of ["/", "/ui/"]) {
      const page = await app.inject({ method: "GET", url });
      assert.equal(page.statusCode, 200, url);
      assert.match(page.headers["content-type"] as string, /^text\/html/);
      assert.equal(page.headers["content-security-policy"], MANAGER_CONTENT_SECURITY_POLICY);
      assert.equal(page.headers["x-frame-options"], "DENY");
      assert.equal(page.headers["cache-control"], "no-cache");
      assert.match(page.body, /<div id="app"><\/div>/);
    }
    const redirect = await app.inject({ method: "GET", url: "/ui" });
    assert.equal(redirect.statusCode, 301);
    assert.equal(redirect.headers.location, "/ui/");
    const page = (await app.inject({ method: "GET", url: "/" })).body;
    const names = [...page.matchAll(/\/ui\/assets\/(manager-[\w-]+\.(?:js|css))/g)].map((m) => m[1]);
    assert.equal(names.length, 2, page);
    for (const name of names) {
      const asset = await app.inject({ method: "GET", url: `/ui/assets/${name}` });
      assert.equal(asset.statusCode, 200);
      assert.equal(asset.headers["cache-control"], "public, max-age=31536000, immutable");
      assert.ok(asset.body.length > 1000);
    }
    for (const url of ["/ui/assets/nope.js", "/ui/assets/..%2F..%2Fpackage.json"]) {
      const missing = await app.inject({ method: "GET", url });
      assert.equal(missing.statusCode, 404, url);
      assert.equal(missing.json().error.code, "NOT_FOUND");
    }
    await app.close();
  });

  test("with a token, the page is served without it and the API still refuses", async () => {
    const app = await createPluginServer({ host: fakeHost({ ok: true, value: 1 }), apiToken: "t0ken" });
    assert.equal((await app.inject({ method: "GET", url: "/" })).statusCode, 200);
    assert.equal((await app.inject({ method: "HEAD", url: "/ui/" })).statusCode, 200);
    for (const url of ["/plugins", "/health", "/server/info"]) {
      assert.equal((await app.inject({ method: "GET", url })).statusCode, 401, url);
    }
    assert.equal(
      (await app.inject({ method: "GET", url: "/plugins", headers: { authorization: "Bearer t0ken" } })).statusCode,
      200,
    );
    await app.close();
  });

  test("a page that could not be built answers 503 with the reason, and the API goes on", async () => {
    const app = await createPluginServer({ host: fakeHost({ ok: true, value: 1 }), managerPage: false });
    registerManagerRoutes(app, new Error("Build failed with 1 error:\nsrc/app/main.tsx:3:1: ERROR: Unexpected '}'"));
    for (const url of ["/", "/ui/", "/ui/assets/manager-X.js"]) {
      const res = await app.inject({ method: "GET", url });
      assert.equal(res.statusCode, 503, url);
      assert.equal(res.json().error.code, "PAGE_UNAVAILABLE");
      assert.match(res.json().error.message, /could not be built: the reason is in the server's log/);
      assert.doesNotMatch(res.body, /main\.tsx/, "the build's error stays in the log");
    }
    assert.equal((await app.inject({ method: "GET", url: "/health" })).statusCode, 200);
    await app.close();
  });

  test("managerPage: false serves no page", async () => {
    const app = await createPluginServer({ host: fakeHost({ ok: true, value: 1 }), managerPage: false });
    assert.equal((await app.inject({ method: "GET", url: "/" })).statusCode, 404);
    await app.close();
  });
});
