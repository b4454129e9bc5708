/**
 * `this.registerStaticUi` and `GET /plugin/{id}/ui/…` end to end: real plugin processes register their UI folders,
 * and files are fetched over a real socket. Traversal attempts go out through `node:http` with the path exactly as
 * written, since `fetch` would normalise `..` and backslashes away before they reach the server.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { createPluginServer } from "@neko/server";
import { copyExamplePlugins, makeTempDir, writePlugin } from "../support/plugin-fixtures.ts";
import { startTestHost, type TestHost } from "../support/test-host.ts";

const webUiCode = `
import { NekoPluginBase, nekoPlugin, lifecycle, unwrap } from "@neko/plugin-sdk/plugin";

@nekoPlugin
export class WebUi extends NekoPluginBase {
  @lifecycle({ id: "startup" })
  async startup() {
    unwrap(await this.registerStaticUi("static", { cacheControl: "max-age=60" }));
  }
}
`;

// Registered from the constructor, without await: the request waits for the handshake.
const earlyCode = `
import { NekoPluginBase, nekoPlugin, pluginEntry } from "@neko/plugin-sdk/plugin";

@nekoPlugin
export class Early extends NekoPluginBase {
  registration = this.registerStaticUi();

  @pluginEntry({ id: "registration" })
  async registrationResult() {
    return this.registration;
  }
}
`;

const probeCode = `
import { NekoPluginBase, nekoPlugin, pluginEntry, Ok, Err, SdkError } from "@neko/plugin-sdk/plugin";

@nekoPlugin
export class Probe extends NekoPluginBase {
  @pluginEntry({ id: "register" })
  register({ dir, indexFile, cacheControl }: { dir?: string; indexFile?: string; cacheControl?: string }) {
    return this.registerStaticUi(dir, { indexFile, cacheControl });
  }

  /** Sends the request as a process that skips the SDK's checks would. */
  @pluginEntry({ id: "register_raw" })
  async registerRaw(params: Record<string, unknown>) {
    const r = await this.ctx.bridge.request("static_ui.register", params);
    return r.ok ? Ok(r.value) : Err(new SdkError(r.error.message, { code: r.error.code, details: r.error.details }));
  }
}
`;

const plainCode = `
import { NekoPluginBase, nekoPlugin, pluginEntry } from "@neko/plugin-sdk/plugin";

@nekoPlugin
export class Plain extends NekoPluginBase {
  @pluginEntry({ id: "ping" })
  ping() { return "pong"; }
}
`;

const INDEX_HTML = '<!doctype html><title>web ui</title><script src="assets/app.js"></script>';
/** Texts that must never appear in an answer: each lives outside the UI folder, or in a hidden file inside it. */
const SECRETS = ["MANIFEST-SECRET", "PLUGIN-SECRET", "OUTSIDE-SECRET", "HIDDEN-SECRET", "root:x:0:0"];

interface RawAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
}

/** A request with the path sent byte for byte as given. */
function rawRequest(
  base: string,
  rawPath: string,
  options: { method?: string; headers?: http.OutgoingHttpHeaders } = {},
): Promise<RawAnswer> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const req = http.request(
      { hostname, port, path: rawPath, method: options.method ?? "GET", headers: options.headers },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString("utf8") }),
        );
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end();
  });
}

const errorCode = (answer: RawAnswer) => (JSON.parse(answer.text) as { error: { code: string } }).error.code;

describe("static plugin UIs", () => {
  let root: string;
  let outside: string;
  let t: TestHost;

  before(async () => {
    root = makeTempDir();
    outside = makeTempDir("neko-outside-");
    fs.writeFileSync(path.join(outside, "outside.txt"), "OUTSIDE-SECRET");
    const webui = writePlugin(root, {
      id: "webui",
      manifest: '[plugin]\nid = "webui"\nentry = "index.ts:WebUi"\n# MANIFEST-SECRET\n',
      code: webUiCode,
      files: {
        "secret.txt": "PLUGIN-SECRET",
        "static/index.html": INDEX_HTML,
        "static/assets/app.js": 'console.log("app");\n',
        "static/assets/style.css": "body { color: red; }\n",
        "static/docs/index.html": "<h1>docs</h1>",
        "static/blob.unknownext": "0123456789",
        "static/.secret": "HIDDEN-SECRET",
      },
    });
    const ui = path.join(webui, "static");
    fs.symlinkSync("../secret.txt", path.join(ui, "escape.txt"));
    fs.symlinkSync(path.join(outside, "outside.txt"), path.join(ui, "outside.txt"));
    fs.symlinkSync(outside, path.join(ui, "outside-dir"));
    fs.symlinkSync("/etc", path.join(ui, "etc"));
    fs.symlinkSync(".secret", path.join(ui, "innocent.txt"));
    fs.symlinkSync("loop", path.join(ui, "loop"));
    fs.symlinkSync("assets/app.js", path.join(ui, "alias.js"));

    writePlugin(root, { id: "early", className: "Early", code: earlyCode, files: { "static/index.html": "early" } });
    const probe = writePlugin(root, {
      id: "probe",
      className: "Probe",
      code: probeCode,
      files: { "static/index.html": "probe", "notes.txt": "not a folder" },
    });
    fs.symlinkSync(outside, path.join(probe, "link-out"));
    writePlugin(root, { id: "plain", className: "Plain", code: plainCode });
    copyExamplePlugins(root, ["hello_world"]);
    t = await startTestHost({ roots: [root] });
  });

  after(async () => {
    await t?.close();
    fs.rmSync(root, { recursive: true, force: true });
    fs.rmSync(outside, { recursive: true, force: true });
  });

  test("the index file is served for the UI's root, with its type, the cache-control option and validators", async () => {
    const res = await fetch(`${t.url}/plugin/webui/ui/`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type") ?? "", /^text\/html/);
    assert.equal(res.headers.get("cache-control"), "max-age=60");
    assert.equal(res.headers.get("x-content-type-options"), "nosniff");
    assert.ok(res.headers.get("etag"));
    assert.ok(res.headers.get("last-modified"));
    assert.equal(await res.text(), INDEX_HTML);

    // Through node:http: fetch adds `cache-control: no-cache` to a conditional request, which asks for the full file.
    const again = await rawRequest(t.url, "/plugin/webui/ui/", {
      headers: { "if-none-match": res.headers.get("etag")! },
    });
    assert.equal(again.status, 304);
    assert.equal(again.text, "");

    const head = await rawRequest(t.url, "/plugin/webui/ui/", { method: "HEAD" });
    assert.equal(head.status, 200);
    assert.equal(head.headers["content-length"], String(Buffer.byteLength(INDEX_HTML)));
    assert.equal(head.text, "");
  });

  test("nested files get their own content type; a folder is redirected to its trailing slash and serves its index", async () => {
    const js = await fetch(`${t.url}/plugin/webui/ui/assets/app.js`);
    assert.equal(js.status, 200);
    assert.match(js.headers.get("content-type") ?? "", /javascript/);
    assert.equal(await js.text(), 'console.log("app");\n');
    const css = await fetch(`${t.url}/plugin/webui/ui/assets/style.css`);
    assert.match(css.headers.get("content-type") ?? "", /^text\/css/);
    const blob = await fetch(`${t.url}/plugin/webui/ui/blob.unknownext`);
    assert.equal(blob.headers.get("content-type"), "application/octet-stream");
    const part = await fetch(`${t.url}/plugin/webui/ui/blob.unknownext`, { headers: { range: "bytes=2-4" } });
    assert.equal(part.status, 206);
    assert.equal(await part.text(), "234");
    const beyond = await fetch(`${t.url}/plugin/webui/ui/blob.unknownext`, { headers: { range: "bytes=50-60" } });
    assert.equal(beyond.status, 416);
    assert.equal((await beyond.json()).error.code, "RANGE_NOT_SATISFIABLE");
    const alias = await fetch(`${t.url}/plugin/webui/ui/alias.js`);
    assert.equal(alias.status, 200, "a symbolic link that stays inside the UI folder is followed");

    const bare = await fetch(`${t.url}/plugin/webui/ui?x=1`, { redirect: "manual" });
    assert.equal(bare.status, 301);
    assert.equal(bare.headers.get("location"), "ui/?x=1");
    const folder = await fetch(`${t.url}/plugin/webui/ui/docs`, { redirect: "manual" });
    assert.equal(folder.status, 301);
    assert.equal(folder.headers.get("location"), "docs/");
    const followed = await fetch(`${t.url}/plugin/webui/ui/docs`);
    assert.equal(await followed.text(), "<h1>docs</h1>");
  });

  test("a missing file is 404 UI_FILE_NOT_FOUND with the JSON error body", async () => {
    for (const rawPath of ["/plugin/webui/ui/nope.js", "/plugin/webui/ui/assets/app.js/", "/plugin/webui/ui/assets/"]) {
      const res = await rawRequest(t.url, rawPath);
      assert.equal(res.status, 404, rawPath);
      const body = JSON.parse(res.text);
      assert.equal(body.error.code, "UI_FILE_NOT_FOUND", rawPath);
      assert.equal(typeof body.error.message, "string");
      assert.equal(body.error.details.plugin_id, "webui");
    }
  });

  test("no path escapes the UI folder: dot segments, encoded and raw, backslashes, NUL, absolute paths, hidden files", async () => {
    const attempts = [
      "/plugin/webui/ui/../secret.txt",
      "/plugin/webui/ui/../plugin.toml",
      "/plugin/webui/ui/assets/../../secret.txt",
      "/plugin/webui/ui/%2e%2e/secret.txt",
      "/plugin/webui/ui/%2E%2E/plugin.toml",
      "/plugin/webui/ui/assets/%2e%2e/%2e%2e/secret.txt",
      "/plugin/webui/ui/..%2fsecret.txt",
      "/plugin/webui/ui/%2e%2e%2fplugin.toml",
      "/plugin/webui/ui/..%5csecret.txt",
      "/plugin/webui/ui/..\\secret.txt",
      "/plugin/webui/ui/assets\\..\\..\\secret.txt",
      "/plugin/webui/ui/index.html%00.txt",
      "/plugin/webui/ui/%00",
      "/plugin/webui/ui//etc/passwd",
      "/plugin/webui/ui/%2fetc%2fpasswd",
      "/plugin/webui/ui/.secret",
      "/plugin/webui/ui/%2esecret",
      "/plugin/webui/ui/./index.html",
    ];
    for (const rawPath of attempts) {
      const res = await rawRequest(t.url, rawPath);
      assert.equal(res.status, 403, `${rawPath}: ${res.status} ${res.text}`);
      assert.equal(errorCode(res), "UI_PATH_REFUSED", rawPath);
      for (const secret of SECRETS) assert.ok(!res.text.includes(secret), `${rawPath} leaked ${secret}`);
    }
  });

  test("symbolic links that lead out of the UI folder, to a hidden file or into a loop are refused", async () => {
    const outsideUi = /leads outside the UI folder through a symbolic link/;
    const cases: Array<[string, RegExp]> = [
      ["/plugin/webui/ui/escape.txt", outsideUi],
      ["/plugin/webui/ui/outside.txt", outsideUi],
      ["/plugin/webui/ui/outside-dir/outside.txt", outsideUi],
      ["/plugin/webui/ui/outside-dir/", outsideUi],
      ["/plugin/webui/ui/etc/passwd", outsideUi],
      ["/plugin/webui/ui/innocent.txt", /leads to a hidden name through a symbolic link/],
      ["/plugin/webui/ui/loop", /a loop of symbolic links/],
    ];
    for (const [rawPath, reason] of cases) {
      const res = await rawRequest(t.url, rawPath);
      assert.equal(res.status, 403, `${rawPath}: ${res.status} ${res.text}`);
      assert.equal(errorCode(res), "UI_PATH_REFUSED", rawPath);
      assert.match(JSON.parse(res.text).error.message, reason, rawPath);
      for (const secret of SECRETS) assert.ok(!res.text.includes(secret), `${rawPath} leaked ${secret}`);
    }
  });

  test("a plugin without a UI, and an unknown plugin, answer 404 with their own codes", async () => {
    const plain = await t.request("GET", "/plugin/plain/ui/");
    assert.equal(plain.status, 404);
    assert.equal(plain.body.error.code, "UI_NOT_REGISTERED");
    assert.match(plain.body.error.message, /has not registered a static UI/);
    const ghost = await t.request("GET", "/plugin/ghost/ui/index.html");
    assert.equal(ghost.status, 404);
    assert.equal(ghost.body.error.code, "PLUGIN_NOT_FOUND");
  });

  test("/plugins and /plugins/{id} show where a plugin's UI is served", async () => {
    const one = await t.request("GET", "/plugins/webui");
    assert.deepEqual(one.body.ui, { path: "/plugin/webui/ui/", dir: "static" });
    const plain = await t.request("GET", "/plugins/plain");
    assert.equal(plain.body.ui, null);
    const all = await t.request("GET", "/plugins");
    const byId = new Map(all.body.plugins.map((p: { id: string; ui: unknown }) => [p.id, p.ui]));
    assert.deepEqual(byId.get("early"), { path: "/plugin/early/ui/", dir: "static" });
  });

  test("GET ui-info says whether a plugin serves a UI now, and where; 404 for an unknown plugin", async () => {
    const webui = await t.request("GET", "/plugin/webui/ui-info");
    assert.equal(webui.status, 200);
    assert.deepEqual(webui.body, {
      plugin_id: "webui",
      has_ui: true,
      url: "/plugin/webui/ui/",
      static_dir: "static",
      index_file: "index.html",
      status: "running",
    });
    const plain = await t.request("GET", "/plugin/plain/ui-info");
    assert.equal(plain.status, 200);
    assert.deepEqual(plain.body, {
      plugin_id: "plain",
      has_ui: false,
      url: null,
      static_dir: null,
      index_file: null,
      status: "running",
    });
    const ghost = await t.request("GET", "/plugin/ghost/ui-info");
    assert.equal(ghost.status, 404);
    assert.equal(ghost.body.error.code, "PLUGIN_NOT_FOUND");
  });

  test("a UI registered in the constructor is served; it goes with the plugin's process and comes back with it", async () => {
    const registration = await t.trigger("early", "registration");
    assert.equal(registration.body.data.path, "/plugin/early/ui/");
    const served = await fetch(`${t.url}/plugin/early/ui/`);
    assert.equal(served.status, 200);
    assert.equal(served.headers.get("cache-control"), "no-cache", "the default cacheControl");
    assert.equal(await served.text(), "early");

    await t.request("POST", "/plugin/early/stop");
    const stopped = await t.request("GET", "/plugin/early/ui/");
    assert.equal(stopped.status, 404);
    assert.equal(stopped.body.error.code, "UI_NOT_REGISTERED");
    assert.equal(stopped.body.error.details.status, "stopped");
    assert.match(stopped.body.error.message, /served only while it runs/);
    assert.equal((await t.request("GET", "/plugins/early")).body.ui, null);
    const info = (await t.request("GET", "/plugin/early/ui-info")).body;
    assert.equal(info.has_ui, false, "a stopped plugin serves no UI until it registers one again");
    assert.equal(info.status, "stopped");

    await t.request("POST", "/plugin/early/start");
    assert.equal((await fetch(`${t.url}/plugin/early/ui/`)).status, 200);
  });

  test("bad registerStaticUi arguments are an Err naming the problem, from the SDK or from the host", async () => {
    const cases: Array<[Record<string, unknown>, string, RegExp]> = [
      [{ dir: "/etc" }, "dir", /absolute path/],
      [{ dir: "../webui/static" }, "dir", /escapes the plugin folder/],
      [{ dir: "." }, "dir", /not the plugin folder itself/],
      [{ dir: "missing" }, "dir", /the folder 'missing' does not exist/],
      [{ dir: "notes.txt" }, "dir", /'notes.txt' is not a folder/],
      [{ dir: "link-out" }, "dir", /leads outside the plugin folder through a symbolic link/],
      [{ dir: "static", indexFile: "../plugin.toml" }, "indexFile", /plain file name/],
      [{ dir: "static", cacheControl: "no-cache\r\nSet-Cookie: a=b" }, "cacheControl", /printable ASCII/],
    ];
    for (const [args, field, message] of cases) {
      const res = await t.trigger("probe", "register", args);
      assert.equal(res.status, 400, JSON.stringify(args));
      assert.equal(res.body.error.code, "VALIDATION_ERROR");
      assert.match(res.body.error.message, /^registerStaticUi: /);
      assert.match(res.body.error.message, message, JSON.stringify(args));
      assert.deepEqual(res.body.error.details, { field });
    }
    // A process that skips the SDK's checks is refused by the host all the same.
    const raw = await t.trigger("probe", "register_raw", { dir: "/etc", indexFile: "index.html", cacheControl: "x" });
    assert.equal(raw.body.error.code, "VALIDATION_ERROR");
    assert.match(raw.body.error.message, /absolute path/);
    const none = await t.request("GET", "/plugin/probe/ui/");
    assert.equal(none.body.error.code, "UI_NOT_REGISTERED", "nothing refused was registered");

    const ok = await t.trigger("probe", "register", { dir: "static" });
    assert.equal(ok.status, 200);
    assert.equal(await (await fetch(`${t.url}/plugin/probe/ui/`)).text(), "probe");
  });

  test("the UI routes need the API token when the server has one", async () => {
    const secured = await createPluginServer({ host: t.host, apiToken: "s3cret" });
    try {
      await secured.listen({ port: 0, host: "127.0.0.1" });
      const base = secured.listeningOrigin;
      const anonymous = await rawRequest(base, "/plugin/webui/ui/");
      assert.equal(anonymous.status, 401);
      assert.equal(errorCode(anonymous), "UNAUTHORIZED");
      const allowed = await rawRequest(base, "/plugin/webui/ui/", { headers: { authorization: "Bearer s3cret" } });
      assert.equal(allowed.status, 200);
      assert.equal(allowed.text, INDEX_HTML);
    } finally {
      await secured.close();
    }
  });

  test("the hello_world example serves a page that calls POST /plugin/trigger", async () => {
    const page = await fetch(`${t.url}/plugin/hello_world/ui/`);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /<script src="app\.js">/);
    const script = await fetch(`${t.url}/plugin/hello_world/ui/app.js`);
    assert.match(await script.text(), /fetch\("\/plugin\/trigger"/);
    const greet = await t.trigger("hello_world", "greet", { name: "UI" });
    assert.equal(greet.body.data.message, "Hello, UI!");
  });
});
