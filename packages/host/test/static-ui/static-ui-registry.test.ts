/** The host's side of `registerStaticUi`: the folder checks on disk, and how long a registration lasts. */
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { STATIC_UI_DEFAULTS, type WireResult } from "@neko/protocol";
import { StaticUiRegistry } from "../../src/static-ui/static-ui-registry.ts";
import type { PluginState } from "../../src/supervisor/plugin-state.ts";
import { fakeHostContext } from "../support/fake-host-context.ts";

let tmp: string;
let pluginDir: string;
before(() => {
  tmp = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), "neko-static-ui-")));
  pluginDir = path.join(tmp, "p");
  fs.mkdirSync(path.join(pluginDir, "static", "nested"), { recursive: true });
  fs.writeFileSync(path.join(pluginDir, "static", "index.html"), "<h1>hi</h1>");
  fs.writeFileSync(path.join(pluginDir, "index.ts"), "");
  fs.mkdirSync(path.join(tmp, "outside"));
  fs.symlinkSync(path.join(tmp, "outside"), path.join(pluginDir, "link-out"));
  fs.symlinkSync(path.join(pluginDir, "static"), path.join(pluginDir, "link-in"));
  fs.symlinkSync(pluginDir, path.join(pluginDir, "link-self"));
});
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

function registry(state: PluginState = "running") {
  const fake = fakeHostContext({ p: { state, dir: pluginDir } });
  const ui = new StaticUiRegistry(fake.ctx);
  const setState = (next: PluginState) => fake.setState("p", next);
  const request = (params: unknown, pluginId = "p") =>
    fake.services.request("static_ui.register", params, { pluginId, deadline: Date.now() + 5000 });
  return {
    ui,
    setState,
    request,
    listeners: {
      get size() {
        return fake.listeners() + fake.scopeSize("p");
      },
    },
    fake,
  };
}

const errorOf = (result: WireResult) => (result.ok ? undefined : result.error);

describe("static UI registry", () => {
  test("a folder inside the plugin folder is registered with its real path and the options", async () => {
    const { ui, request } = registry();
    const result = await request({ ...STATIC_UI_DEFAULTS, cacheControl: "max-age=60" });
    assert.deepEqual(result, {
      ok: true,
      value: {
        path: "/plugin/p/ui/",
        dir: "static",
        root: path.join(pluginDir, "static"),
        indexFile: "index.html",
        cacheControl: "max-age=60",
      },
    });
    assert.equal(ui.get("p")?.cacheControl, "max-age=60");
    const viaLink = await request({ ...STATIC_UI_DEFAULTS, dir: "link-in" });
    assert.equal(viaLink.ok && (viaLink.value as { root: string }).root, path.join(pluginDir, "static"));
  });

  test("a missing folder, a file, a link out of the plugin folder and the plugin folder itself are refused", async () => {
    const { ui, request } = registry();
    const cases: Array<[string, RegExp]> = [
      ["missing", /the folder 'missing' does not exist/],
      ["index.ts", /'index.ts' is not a folder/],
      ["link-out", /leads outside the plugin folder through a symbolic link/],
      ["link-self", /is the plugin folder itself/],
      ["../outside", /escapes the plugin folder/],
      ["/etc", /absolute path/],
    ];
    for (const [dir, message] of cases) {
      const error = errorOf(await request({ ...STATIC_UI_DEFAULTS, dir }));
      assert.equal(error?.code, "VALIDATION_ERROR", dir);
      assert.match(error?.message ?? "", message, dir);
      assert.deepEqual(error?.details, { field: "dir" }, dir);
    }
    assert.equal(ui.get("p"), undefined, "nothing refused was kept");
  });

  test("arguments that skip the SDK's checks are refused by the host too", async () => {
    const { request } = registry();
    const bad = errorOf(await request({ ...STATIC_UI_DEFAULTS, cacheControl: "a\r\nSet-Cookie: x=1" }));
    assert.deepEqual(bad?.details, { field: "cacheControl" });
    assert.equal(errorOf(await request("static"))?.code, "VALIDATION_ERROR");
  });

  test("a registration is forgotten when the plugin stops, crashes or freezes, and kept through starting → running", async () => {
    for (const end of ["stopping", "stopped", "crashed", "frozen"] as const) {
      const { ui, request, setState } = registry("starting");
      assert.equal((await request(STATIC_UI_DEFAULTS)).ok, true);
      setState("running");
      assert.ok(ui.get("p"), "kept when startup finishes");
      setState(end);
      assert.equal(ui.get("p"), undefined, end);
    }
  });

  test("a plugin that is not running cannot register, and dispose() leaves no listener", async () => {
    const { ui, request, listeners } = registry("stopping");
    assert.equal(errorOf(await request(STATIC_UI_DEFAULTS))?.code, "PLUGIN_NOT_RUNNING");
    assert.equal(errorOf(await request(STATIC_UI_DEFAULTS, "ghost"))?.code, "PLUGIN_NOT_FOUND");
    ui.dispose();
    assert.equal(listeners.size, 0);
  });
});
