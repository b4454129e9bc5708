/**
 * The cross-site attack suite (SPEC §5, docs/http-api.md#cross-site-requests), through a listening server and real
 * plugin processes: every state-changing route, taken from Fastify's route table, gets each request a hostile page
 * can make — form posts (urlencoded, multipart), no-cors fetches (text/plain, no body), JSON from a foreign or a
 * `null` Origin, a rebinding Host — every GET route a rebinding Host, and every GET path (where any WebSocket route
 * lives) and the WebSocket paths of the specification an upgrade from a foreign Origin or Host. Each attack must get
 * its refusal code, and nothing may change: plugin states and processes, a plugin's fields, its configuration files,
 * the runs. The same requests made the right way do change state (the last test), so the attacks were real ones.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { isDeepStrictEqual } from "node:util";
import { registeredRoutes } from "../../packages/server/test/support/fastify-routes.ts";
import { makeTempDir, waitFor, writePlugin } from "../support/plugin-fixtures.ts";
import { simplePluginCode } from "../support/sample-plugins.ts";
import { startTestHost, type TestHost } from "../support/test-host.ts";

const victimCode = `
import { message, NekoPluginBase, nekoPlugin, Ok, pluginEntry, type PluginMessage } from "@neko/plugin-sdk/plugin";

@nekoPlugin
export class Victim extends NekoPluginBase {
  static freezable = ["count"];
  count = 0;
  messages: string[] = [];

  @pluginEntry({ id: "count" })
  bump() {
    this.count += 1;
    return Ok(this.count);
  }

  @pluginEntry({ id: "peek" })
  peek() {
    return Ok({ count: this.count, messages: this.messages, setting: this.config.get("settings.value", null) });
  }

  @pluginEntry({ id: "hold", timeout: 300 })
  async hold(_args: object, ctx: { signal: AbortSignal }) {
    await new Promise<void>((resolve) => ctx.signal.addEventListener("abort", () => resolve(), { once: true }));
    return Ok("released");
  }

  @message({ id: "inbox" })
  inbox(msg: PluginMessage) {
    this.messages.push(msg.text);
    return Ok(null);
  }
}
`;

const victimManifest = `[plugin]
id = "victim"
entry = "index.ts:Victim"

[settings]
value = "original"
`;

const EVIL = "https://evil.example";
const REBIND = "rebind.evil.example";
const SAFE = new Set(["GET", "HEAD", "OPTIONS"]);
/** The WebSocket routes of SPEC §5.1; every GET path is tried too, as a WebSocket route is one. */
const SPEC_WEBSOCKETS = ["/ws/admin", "/ws/logs/victim"];

/** A body each state-changing route would act on if it were let through; any other route gets `{}`. */
const BODIES: Record<string, unknown> = {
  "POST /plugin/trigger": { plugin_id: "victim", entry_id: "count" },
  "POST /runs": { plugin_id: "victim", entry_id: "count" },
  "PUT /plugin/:id/config": { config: { plugin: { name: "pwned" }, settings: { value: "pwned" } } },
  "PUT /plugin/:id/config/toml": { toml: victimManifest.replace('"original"', '"pwned"') },
  "POST /plugin/:id/config/hot-update": { config: { settings: { value: "pwned" } }, mode: "permanent" },
  "PUT /plugin/:id/config/profiles/active": { name: "prod" },
  "POST /plugin/:id/message": { source: "chat", text: "pwned" },
};

interface Attack {
  name: string;
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string;
  expect: { status: number; code: string };
}

interface Answer {
  status: number;
  body: any;
  headers: http.IncomingHttpHeaders;
  upgraded: boolean;
}

/** One request with exactly these headers (fetch cannot set Host); an upgrade the server accepted counts as such. */
function send(port: number, attack: Omit<Attack, "name" | "expect">): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: "127.0.0.1",
      port,
      method: attack.method,
      path: attack.path,
      headers: {
        ...attack.headers,
        ...(attack.body !== undefined && { "content-length": Buffer.byteLength(attack.body) }),
      },
      agent: false,
    });
    req.on("upgrade", (res, socket) => {
      socket.destroy();
      resolve({ status: res.statusCode ?? 0, body: null, headers: res.headers, upgraded: true });
    });
    req.on("response", (res) => {
      // An event stream never ends: its 200 is the answer (an accepted attack), not a reason to hang.
      if (res.headers["content-type"]?.startsWith("text/event-stream")) {
        res.destroy();
        resolve({ status: res.statusCode ?? 0, body: null, headers: res.headers, upgraded: false });
        return;
      }
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (chunk) => {
        text += chunk;
      });
      res.on("end", () => {
        let body: unknown = text;
        try {
          body = JSON.parse(text);
        } catch {}
        resolve({ status: res.statusCode ?? 0, body, headers: res.headers, upgraded: false });
      });
    });
    req.on("error", reject);
    req.end(attack.body);
  });
}

function formBody(fields: Record<string, unknown>): string {
  return new URLSearchParams(
    Object.entries(fields).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)]),
  ).toString();
}

function multipartBody(fields: Record<string, unknown>): { type: string; body: string } {
  const boundary = "----nekoAttackBoundary7MA4YWxkTrZu0gW";
  const parts = Object.entries(fields).map(
    ([k, v]) =>
      `--${boundary}\r\nContent-Disposition: form-data; name="${k}"\r\n\r\n${typeof v === "string" ? v : JSON.stringify(v)}\r\n`,
  );
  return { type: `multipart/form-data; boundary=${boundary}`, body: `${parts.join("")}--${boundary}--\r\n` };
}

/** Every request a hostile page (or a rebound name) can make to one state-changing route. */
function attacksOn(method: string, routePath: string, fields: Record<string, unknown>, own: string): Attack[] {
  const json = JSON.stringify(fields);
  const multipart = multipartBody(fields);
  const rebound = `${REBIND}:${own.split(":")[1]}`;
  const foreign = { status: 403, code: "CROSS_ORIGIN_REFUSED" };
  const simple = { status: 415, code: "UNSUPPORTED_MEDIA_TYPE" };
  const rebinding = { status: 421, code: "HOST_NOT_ALLOWED" };
  const form = { "content-type": "application/x-www-form-urlencoded" };
  const plain = { "content-type": "text/plain;charset=UTF-8" };
  const jsonType = { "content-type": "application/json" };
  const cases: Array<[string, Record<string, string>, string | undefined, Attack["expect"]]> = [
    ["form post (urlencoded) from a foreign page", { ...form, origin: EVIL }, formBody(fields), foreign],
    ["form post (urlencoded) without Origin", form, formBody(fields), simple],
    [
      "form post (multipart) from a foreign page",
      { "content-type": multipart.type, origin: EVIL },
      multipart.body,
      foreign,
    ],
    ["form post (multipart) without Origin", { "content-type": multipart.type }, multipart.body, simple],
    ["no-cors fetch (text/plain) from a foreign page", { ...plain, origin: EVIL }, json, foreign],
    ["no-cors fetch (text/plain) without Origin", plain, json, simple],
    ["no-cors fetch without a body from a foreign page", { origin: EVIL }, undefined, foreign],
    ["no-cors fetch without a body or Origin", {}, undefined, simple],
    ["JSON from a foreign Origin", { ...jsonType, origin: EVIL }, json, foreign],
    ["JSON from Origin null", { ...jsonType, origin: "null" }, json, foreign],
    ["form post from Origin null", { ...form, origin: "null" }, formBody(fields), foreign],
    ["JSON to a rebound name, no Origin", { ...jsonType, host: rebound }, json, rebinding],
    ["JSON from the rebound page itself", { ...jsonType, host: rebound, origin: `http://${rebound}` }, json, rebinding],
  ];
  return cases.map(([name, headers, body, expect]) => ({
    name,
    method,
    path: routePath,
    headers: { host: own, ...headers },
    body,
    expect,
  }));
}

describe("cross-site attacks against every route", () => {
  let root: string;
  let t: TestHost;
  let port: number;
  let own: string;
  let heldRun: string;
  const victimDir = () => path.join(root, "victim");
  /** What the closing line reports: attacks sent, refused as expected, that changed something, and where they went. */
  const tally = { tried: 0, refused: 0, changes: 0, routes: new Set<string>() };

  async function snapshot() {
    const plugins = Object.fromEntries(
      ["victim", "sleeper", "iced"].map((id) => {
        const p = t.host.getPlugin(id);
        return [id, { status: p?.status, pid: p?.pid }];
      }),
    );
    const files = Object.fromEntries(
      ["plugin.toml", "profiles.toml"].map((name) => [name, fs.readFileSync(path.join(victimDir(), name), "utf8")]),
    );
    const peek = await t.host.callEntry("victim", "peek", {});
    const runs = t.host.runs
      .list()
      .map((r) => `${r.run_id}:${r.entry_id}:${r.status}`)
      .sort();
    return { plugins, files, peek, runs };
  }

  /** Sends `attack` to `route` (as the route table names it), checks its refusal and that nothing changed; counts it. */
  async function tryAttack(route: string, attack: Attack): Promise<void> {
    const before = await snapshot();
    const answer = await send(port, attack);
    const after = await snapshot();
    const refused =
      !answer.upgraded && answer.status === attack.expect.status && answer.body?.error?.code === attack.expect.code;
    const changed = !isDeepStrictEqual(after, before);
    tally.tried += 1;
    tally.routes.add(route);
    if (refused) tally.refused += 1;
    if (changed) tally.changes += 1;
    const what = `${attack.name}: ${attack.method} ${attack.path}`;
    assert.equal(answer.upgraded, false, `${what} was upgraded`);
    assert.equal(answer.status, attack.expect.status, `${what}: ${JSON.stringify(answer.body)}`);
    assert.equal(answer.body?.error?.code, attack.expect.code, what);
    assert.equal(typeof answer.body.error.message, "string");
    assert.deepEqual(
      Object.keys(answer.headers).filter((h) => h.startsWith("access-control-")),
      [],
      `${what}: no CORS header`,
    );
    assert.deepEqual(after, before, `${what} changed nothing`);
  }

  /** Every attack is made even after one fails, so a broken guard shows all it lets through; then none may have. */
  async function tryAll(attacks: Array<[route: string, attack: Attack]>): Promise<void> {
    const failures: string[] = [];
    for (const [route, attack] of attacks) {
      try {
        await tryAttack(route, attack);
      } catch (error) {
        if (!(error instanceof assert.AssertionError)) throw error;
        failures.push(error.message.split("\n")[0]);
      }
    }
    assert.deepEqual(failures, [], `${failures.length} of ${attacks.length} attacks were not refused`);
  }

  /** A route's path with its parameters filled: the plugin the attack would hurt most, the run in progress. */
  function concrete(url: string): string {
    if (url.startsWith("/runs/:id")) return url.replace(":id", heldRun);
    if (url === "/plugin/:id/start") return "/plugin/sleeper/start";
    if (url === "/plugin/:id/unfreeze") return "/plugin/iced/unfreeze";
    return url
      .replace(/:(\w+)/g, (_, name: string) => (name === "id" ? "victim" : name === "name" ? "dev" : "x"))
      .replace(/\*$/, "index.html");
  }

  before(async () => {
    root = makeTempDir();
    writePlugin(root, {
      id: "victim",
      className: "Victim",
      manifest: victimManifest,
      code: victimCode,
      files: {
        "profiles.toml": 'active = "dev"\n\n[files]\ndev = "profiles/dev.toml"\nprod = "profiles/prod.toml"\n',
        "profiles/dev.toml": '[settings]\nvalue = "dev"\n',
        "profiles/prod.toml": '[settings]\nvalue = "prod"\n',
      },
    });
    writePlugin(root, {
      id: "sleeper",
      className: "Sleeper",
      manifest: '[plugin]\nid = "sleeper"\nentry = "index.ts:Sleeper"\n\n[plugin_runtime]\nauto_start = false\n',
      code: simplePluginCode("Sleeper"),
    });
    writePlugin(root, { id: "iced", className: "Iced", code: simplePluginCode("Iced") });
    t = await startTestHost({ roots: [root] });
    port = Number(new URL(t.url).port);
    own = `127.0.0.1:${port}`;
    assert.equal((await t.request("POST", "/plugin/iced/freeze")).body.status, "frozen");
    const run = await t.request("POST", "/runs", { plugin_id: "victim", entry_id: "hold" });
    heldRun = run.body.run_id;
    await waitFor(() => t.host.runs.get(heldRun)?.status === "running", { what: "the held run to run" });
    const start = await snapshot();
    assert.deepEqual(start.plugins, {
      victim: { status: "running", pid: start.plugins.victim.pid },
      sleeper: { status: "stopped", pid: null },
      iced: { status: "frozen", pid: null },
    });
    assert.deepEqual(start.peek, { ok: true, value: { count: 0, messages: [], setting: "dev" } });
  });

  after(async () => {
    // The figures the closing note quotes; printed on failure too, so a broken guard shows its count.
    console.log(
      `cross-site: ${tally.tried} attacks on ${tally.routes.size} routes, ${tally.refused} refused, ` +
        `${tally.changes} state changes`,
    );
    if (heldRun) await t?.request("POST", `/runs/${heldRun}/cancel`);
    await t?.close();
    if (root) fs.rmSync(root, { recursive: true, force: true });
  });

  test("every state-changing route refuses every form post, no-cors fetch, foreign Origin and rebound Host", async (ctx) => {
    const routes = registeredRoutes(t.server)
      .map((r) => r.split(" ") as [string, string])
      .filter(([method]) => !SAFE.has(method));
    const listed = routes.map(([method, url]) => `${method} ${url}`).sort();
    // The suite covers whatever the route table holds; this list only shows what that is today.
    for (const expected of [
      "POST /plugin/:id/freeze",
      "POST /plugins/reload",
      "PUT /plugin/:id/config/toml",
      "POST /runs/:id/cancel",
    ]) {
      assert.ok(listed.includes(expected), `${expected} is in the route table: ${listed.join(", ")}`);
    }
    assert.ok(routes.length >= 14, `${routes.length} state-changing routes`);
    for (const [method, url] of routes) {
      const fields = (BODIES[`${method} ${url}`] ?? {}) as Record<string, unknown>;
      await ctx.test(`${method} ${url}`, async () => {
        await tryAll(attacksOn(method, concrete(url), fields, own).map((attack) => [`${method} ${url}`, attack]));
      });
    }
  });

  test("every GET route refuses a rebound Host, so a rebound page reads nothing", async () => {
    const gets = registeredRoutes(t.server).filter((r) => r.startsWith("GET "));
    assert.ok(gets.length >= 20, `${gets.length} GET routes`);
    await tryAll(
      gets.flatMap((route) =>
        [`${REBIND}:${port}`, REBIND].map((host): [string, Attack] => [
          route,
          {
            name: "read through a rebound name",
            method: "GET",
            path: concrete(route.slice(4)),
            headers: { host, origin: `http://${host}` },
            expect: { status: 421, code: "HOST_NOT_ALLOWED" },
          },
        ]),
      ),
    );
  });

  test("a WebSocket upgrade from a foreign Origin or to a rebound Host is refused on every path", async () => {
    // A path is counted as its GET route; a WebSocket path of the specification that the table lacks, as itself.
    const routeOf = new Map(
      registeredRoutes(t.server)
        .filter((r) => r.startsWith("GET "))
        .map((r) => [concrete(r.slice(4)), r]),
    );
    const paths = new Set([...SPEC_WEBSOCKETS, ...routeOf.keys()]);
    const upgrade = {
      connection: "Upgrade",
      upgrade: "websocket",
      "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
      "sec-websocket-version": "13",
    };
    await tryAll(
      [...paths].flatMap((wsPath): Array<[string, Attack]> => {
        const route = routeOf.get(wsPath) ?? `WS ${wsPath}`;
        return [
          [
            route,
            {
              name: "WebSocket upgrade from a foreign Origin",
              method: "GET",
              path: wsPath,
              headers: { ...upgrade, host: own, origin: EVIL },
              expect: { status: 403, code: "CROSS_ORIGIN_REFUSED" },
            },
          ],
          [
            route,
            {
              name: "WebSocket upgrade to a rebound Host",
              method: "GET",
              path: wsPath,
              headers: { ...upgrade, host: `${REBIND}:${port}`, origin: `http://${REBIND}:${port}` },
              expect: { status: 421, code: "HOST_NOT_ALLOWED" },
            },
          ],
        ];
      }),
    );
  });

  test("the same requests made by the server's own page do change state, so the attacks were real", async () => {
    const ownPage = { "content-type": "application/json", origin: `http://${own}`, host: own };
    const call = async (method: string, routePath: string, body?: unknown) =>
      send(port, {
        method,
        path: routePath,
        headers: ownPage,
        body: body === undefined ? undefined : JSON.stringify(body),
      });

    assert.equal((await call("POST", "/plugin/trigger", BODIES["POST /plugin/trigger"])).status, 200);
    assert.equal((await call("POST", "/plugin/victim/message", BODIES["POST /plugin/:id/message"])).status, 200);
    assert.equal((await call("PUT", "/plugin/victim/config/profiles/active", { name: "prod" })).status, 200);
    const peek = ((await t.host.callEntry("victim", "peek", {})) as { value: unknown }).value;
    assert.deepEqual(peek, { count: 1, messages: ["pwned"], setting: "prod" });
    assert.match(fs.readFileSync(path.join(victimDir(), "profiles.toml"), "utf8"), /active = "prod"/);
    assert.equal((await call("POST", `/runs/${heldRun}/cancel`)).status, 200);
    await waitFor(() => t.host.runs.get(heldRun)?.status === "canceled", { what: "the held run to end" });
    assert.equal((await call("POST", "/plugin/sleeper/start")).body.status, "running");
    assert.equal((await call("POST", "/plugin/iced/unfreeze")).body.status, "running");
    const frozen = await call("POST", "/plugin/victim/freeze");
    assert.equal(frozen.status, 200, JSON.stringify(frozen.body));
    assert.equal(t.host.getPlugin("victim")?.status, "frozen");
    // Whatever else failed, the attacks ran: the route table did not come back empty.
    assert.ok(tally.tried >= 250, `${tally.tried} attacks tried`);
  });
});
