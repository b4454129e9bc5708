/**
 * `[[plugin.dependency]]` through real plugin processes: a plugin starts only after the plugin it depends on is
 * running (its `startup` can call it), stops before it (its `shutdown` can still call it), and a plugin whose
 * dependency is missing or of the wrong version is refused with the reason while the others run.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { makeTempDir, writePlugin } from "../support/plugin-fixtures.ts";
import { startTestHost, type TestHost } from "../support/test-host.ts";

const baseCode = `
import { NekoPluginBase, nekoPlugin, pluginEntry, lifecycle } from "@neko/plugin-sdk/plugin";

@nekoPlugin
export class Base extends NekoPluginBase {
  @lifecycle({ id: "startup" })
  async startup() {
    // Slow on purpose: a dependent that did not wait would call it before it is running.
    await new Promise((resolve) => setTimeout(resolve, 700));
  }

  @pluginEntry({ id: "ping" })
  ping() {
    return { pong: true, pid: process.pid };
  }
}
`;

const appCode = `
import fs from "node:fs";
import { NekoPluginBase, nekoPlugin, pluginEntry, lifecycle } from "@neko/plugin-sdk/plugin";

@nekoPlugin
export class App extends NekoPluginBase {
  private atStartup: unknown;

  @lifecycle({ id: "startup" })
  async startup() {
    this.atStartup = await this.plugins.callEntry("base:ping", {});
  }

  @lifecycle({ id: "shutdown" })
  async shutdown() {
    const result = await this.plugins.callEntry("base:ping", {});
    fs.writeFileSync(this.dataPath("shutdown.json"), JSON.stringify(result));
  }

  @pluginEntry({ id: "startup_call" })
  startupCall() {
    return this.atStartup;
  }
}
`;

describe("plugin dependencies", () => {
  let root: string;
  let t: TestHost;
  let appDir: string;

  before(async () => {
    root = makeTempDir();
    writePlugin(root, {
      id: "base",
      className: "Base",
      code: baseCode,
      manifest: '[plugin]\nid = "base"\nversion = "1.3.0"\nentry = "index.ts:Base"\n',
    });
    // "a_app" sorts before "base": without the dependency order, it would not even be started second.
    appDir = writePlugin(root, {
      id: "a_app",
      className: "App",
      code: appCode,
      manifest: `[plugin]\nid = "a_app"\nentry = "index.ts:App"\n\n[[plugin.dependency]]\nid = "base"\nversion = "^1.2"\n`,
    });
    writePlugin(root, {
      id: "needs_v2",
      className: "App",
      code: appCode,
      manifest: `[plugin]\nid = "needs_v2"\nentry = "index.ts:App"\n\n[[plugin.dependency]]\nid = "base"\nversion = ">=2.0.0"\n`,
    });
    writePlugin(root, {
      id: "needs_ghost",
      className: "App",
      code: appCode,
      manifest: `[plugin]\nid = "needs_ghost"\nentry = "index.ts:App"\n\n[[plugin.dependency]]\nid = "ghost"\n`,
    });
    t = await startTestHost({ roots: [root] });
  });
  after(async () => {
    await t.close();
    fs.rmSync(root, { recursive: true, force: true });
  });

  test("a plugin starts after its dependency: its startup's call reached the running dependency", async () => {
    const res = await t.trigger("a_app", "startup_call");
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const basePid = (await t.request("GET", "/plugins/base")).body.pid;
    assert.deepEqual(res.body.data, { pong: true, pid: basePid });
  });

  test("a missing dependency or a wrong version refuses the plugin, with the reason in /plugins", async () => {
    const plugins = (await t.request("GET", "/plugins")).body.plugins as Array<Record<string, any>>;
    const byId = new Map(plugins.map((p) => [p.id, p]));
    assert.deepEqual(
      ["base", "a_app", "needs_v2", "needs_ghost"].map((id) => byId.get(id)?.status),
      ["running", "running", "refused", "refused"],
    );
    assert.deepEqual(byId.get("needs_v2")?.errors, [
      "plugin.toml: [[plugin.dependency]]: needs plugin 'base' >=2.0.0, but version 1.3.0 is installed",
    ]);
    assert.deepEqual(byId.get("needs_ghost")?.errors, [
      "plugin.toml: [[plugin.dependency]]: needs plugin 'ghost', which is not installed",
    ]);
    const start = await t.request("POST", "/plugin/needs_ghost/start");
    assert.equal(start.status, 409);
    assert.match(start.body.error.message, /needs plugin 'ghost', which is not installed/);
  });

  test("on stop, a plugin stops before its dependency: its shutdown's call still reached it", async () => {
    await t.close();
    const saved = JSON.parse(fs.readFileSync(path.join(appDir, "data", "shutdown.json"), "utf8"));
    assert.equal(saved.ok, true, JSON.stringify(saved));
    assert.equal(saved.value.pong, true);
  });
});
