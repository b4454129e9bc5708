/**
 * The cross-site rules one by one (docs/http-api.md#cross-site-requests): which `Host` names a server answers to for
 * each kind of bind, and, over inject(), the `Origin` and content-type rules and the absence of CORS headers.
 * test/e2e/cross-site.e2e.test.ts tries the attacks against a listening server with real plugins.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { PluginHostApi } from "@neko/host";
import { AllowedHosts, parseAllowedHosts } from "../src/allowed-hosts.ts";
import { createPluginServer } from "../src/index.ts";
import { fakeHost } from "./support/fake-host.ts";

const P = 48916;

function verdicts(hosts: AllowedHosts, headers: string[]): Record<string, boolean> {
  return Object.fromEntries(headers.map((h) => [h, hosts.allows(h)]));
}

describe("the Host names a server answers to", () => {
  test("bound to loopback: the loopback names on the bound port, nothing else", () => {
    const hosts = AllowedHosts.forServer({ address: "127.0.0.1", port: P, allowed: [] });
    assert.deepEqual(
      verdicts(hosts, [`127.0.0.1:${P}`, `localhost:${P}`, `LocalHost:${P}`, `[::1]:${P}`, `[0:0:0:0:0:0:0:1]:${P}`]),
      {
        [`127.0.0.1:${P}`]: true,
        [`localhost:${P}`]: true,
        [`LocalHost:${P}`]: true,
        [`[::1]:${P}`]: true,
        [`[0:0:0:0:0:0:0:1]:${P}`]: false,
      },
    );
    for (const refused of [
      "rebind.evil.example",
      `rebind.evil.example:${P}`,
      "127.0.0.1",
      "localhost",
      `127.0.0.1:${P + 1}`,
      `127.0.0.2:${P}`,
      `localhost.:${P}`,
      `app.localhost:${P}`,
      `10.0.0.5:${P}`,
      `user@127.0.0.1:${P}`,
      `127.0.0.1:${P}:1`,
      `[::1:${P}`,
      `::1:${P}`,
      `127.0.0.1:0${P}0`,
      "",
      " ",
    ]) {
      assert.equal(hosts.allows(refused), false, refused);
    }
    const v6 = AllowedHosts.forServer({ address: "::1", port: P, allowed: [] });
    assert.deepEqual(verdicts(v6, [`[::1]:${P}`, `localhost:${P}`, `127.0.0.1:${P}`, `evil.example:${P}`]), {
      [`[::1]:${P}`]: true,
      [`localhost:${P}`]: true,
      [`127.0.0.1:${P}`]: true,
      [`evil.example:${P}`]: false,
    });
  });

  test("bound to one other address: that address only; to every address: any IP address and localhost", () => {
    const lan = AllowedHosts.forServer({ address: "192.168.1.5", port: P, allowed: [] });
    assert.deepEqual(verdicts(lan, [`192.168.1.5:${P}`, `localhost:${P}`, `10.0.0.5:${P}`, `my-server:${P}`]), {
      [`192.168.1.5:${P}`]: true,
      [`localhost:${P}`]: false,
      [`10.0.0.5:${P}`]: false,
      [`my-server:${P}`]: false,
    });
    for (const wildcard of ["0.0.0.0", "::"]) {
      const any = AllowedHosts.forServer({ address: wildcard, port: P, allowed: [] });
      assert.deepEqual(
        verdicts(any, [`10.0.0.5:${P}`, `[fe80::1]:${P}`, `localhost:${P}`, `10.0.0.5:${P + 1}`, `my-server:${P}`]),
        {
          [`10.0.0.5:${P}`]: true,
          [`[fe80::1]:${P}`]: true,
          [`localhost:${P}`]: true,
          [`10.0.0.5:${P + 1}`]: false,
          [`my-server:${P}`]: false,
        },
        wildcard,
      );
    }
  });

  test("allowed names: without a port on any port, with one on that port only", () => {
    const allowed = parseAllowedHosts(["neko.lan", "Proxy.Example.com:8443", "10.1.2.3"]);
    const hosts = AllowedHosts.forServer({ address: "127.0.0.1", port: P, allowed });
    assert.deepEqual(
      verdicts(hosts, ["neko.lan", "neko.lan:1", "proxy.example.com:8443", "proxy.example.com", "10.1.2.3:9"]),
      {
        "neko.lan": true,
        "neko.lan:1": true,
        "proxy.example.com:8443": true,
        "proxy.example.com": false,
        "10.1.2.3:9": true,
      },
    );
    assert.equal(hosts.allows("sub.neko.lan"), false);
  });

  test("a malformed allowed name is refused, naming it", () => {
    for (const bad of ["http://x", "a b", "", "[zz]", "x:0", "x:65536", "-x", "x_y.com", "*.example.com"]) {
      assert.throws(() => parseAllowedHosts(["ok.test", bad]), new RegExp(`'${bad.replace(/[*[\]]/g, "\\$&")}'`), bad);
    }
  });
});

describe("Origin, content type and CORS over inject()", () => {
  const answer = { ok: true, value: {} } as const;
  const host = fakeHost(answer, {
    config: { replaceToml: async () => answer } as unknown as PluginHostApi["config"],
  });
  const serverPromise = createPluginServer({ host });

  async function send(method: string, url: string, headers: Record<string, string>, payload?: string) {
    const app = await serverPromise;
    const res = await app.inject({ method: method as "POST", url, headers, payload });
    return { status: res.statusCode, body: res.json(), headers: res.headers };
  }

  test("a state-changing request needs content-type application/json, with or without a body", async () => {
    const json = { "content-type": "application/json" };
    assert.equal((await send("POST", "/plugin/p/stop", json)).status, 200, "an empty JSON body is no body");
    assert.equal((await send("POST", "/plugin/p/stop", json, "{}")).status, 200);
    assert.equal(
      (await send("POST", "/plugins/reload", { "content-type": "application/json; charset=utf-8" })).status,
      200,
    );
    for (const type of [
      undefined,
      "text/plain",
      "text/plain; application/json",
      "application/x-www-form-urlencoded",
      "multipart/form-data; boundary=x",
      "application/jsonx",
      "application/toml",
    ]) {
      const refused = await send("POST", "/plugin/p/stop", type ? { "content-type": type } : {});
      assert.equal(refused.status, 415, String(type));
      assert.deepEqual(refused.body.error, {
        code: "UNSUPPORTED_MEDIA_TYPE",
        message: `a POST must send content-type: application/json, even without a body (given: ${type?.split(";")[0] ?? "none"})`,
        details: { given: type?.split(";")[0] ?? null, accepted: ["application/json"] },
      });
    }
    const emptyWhereRead = await send("POST", "/plugin/trigger", json, "");
    assert.equal(emptyWhereRead.status, 400);
    assert.equal(emptyWhereRead.body.error.code, "INVALID_JSON");
  });

  test("PUT …/config/toml reads application/toml and JSON, and no longer text/plain", async () => {
    const toml = "[plugin]\nid = 'p'\n";
    assert.equal(
      (await send("PUT", "/plugin/p/config/toml", { "content-type": "application/toml" }, toml)).status,
      200,
    );
    const asJson = JSON.stringify({ toml });
    assert.equal(
      (await send("PUT", "/plugin/p/config/toml", { "content-type": "application/json" }, asJson)).status,
      200,
    );
    const plain = await send("PUT", "/plugin/p/config/toml", { "content-type": "text/plain" }, toml);
    assert.equal(plain.status, 415);
    assert.deepEqual(plain.body.error.details, {
      given: "text/plain",
      accepted: ["application/json", "application/toml"],
    });
  });

  test("another site's Origin is refused on state-changing requests and upgrades; the own one and none pass", async () => {
    const json = { "content-type": "application/json" };
    for (const origin of [
      "https://evil.example",
      "null",
      "http://localhost:8080",
      "http://localhost.evil.example",
      "file://",
    ]) {
      const refused = await send("POST", "/plugin/p/stop", { ...json, origin });
      assert.equal(refused.status, 403, origin);
      assert.equal(refused.body.error.code, "CROSS_ORIGIN_REFUSED");
      assert.deepEqual(refused.body.error.details, { origin });
      const upgrade = await send("GET", "/ws/admin", { origin, connection: "Upgrade", upgrade: "websocket" });
      assert.equal(upgrade.status, 403, `upgrade from ${origin}`);
      assert.match(upgrade.body.error.message, /^a WebSocket upgrade from the origin/);
    }
    // inject()'s requests go to `localhost:80`: a page of that origin is the server's own.
    assert.equal((await send("POST", "/plugin/p/stop", { ...json, origin: "http://localhost" })).status, 200);
    assert.equal((await send("POST", "/plugin/p/stop", { ...json, origin: "http://localhost:80" })).status, 200);
    assert.equal((await send("POST", "/plugin/p/stop", json)).status, 200, "no Origin: curl, scripts");
    assert.equal((await send("GET", "/health", { origin: "https://evil.example" })).status, 200, "reads pass");
    // The own origin passes the guard and reaches the route, which inject() cannot upgrade: its plain-GET answer.
    const sameOriginUpgrade = await send("GET", "/ws/admin", { origin: "http://localhost", upgrade: "websocket" });
    assert.equal(sameOriginUpgrade.status, 400);
    assert.match(sameOriginUpgrade.body.error.message, /is a WebSocket: connect with an upgrade/);
  });

  test("no answer carries a CORS header, a preflight included", async () => {
    const origin = "https://evil.example";
    const answers = [
      await send("OPTIONS", "/plugin/p/stop", {
        origin,
        "access-control-request-method": "POST",
        "access-control-request-headers": "content-type",
      }),
      await send("GET", "/plugins", { origin }),
      await send("POST", "/plugin/p/stop", { origin, "content-type": "application/json" }),
    ];
    assert.equal(answers[0].status, 404, "no preflight is granted");
    for (const { headers } of answers) {
      assert.deepEqual(
        Object.keys(headers).filter((name) => name.startsWith("access-control-")),
        [],
      );
    }
  });
});
