/**
 * A reload brings back every plugin that was on its way to running, not only the running ones: a plugin still
 * `starting`, and a `crashed` one with its restart pending, are running again after `reloadAll()` / `reloadPlugin()`.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import { after, before, describe, test } from "node:test";
import { makeTempDir, waitFor, writePlugin } from "../support/plugin-fixtures.ts";
import { startTestHost, type TestHost } from "../support/test-host.ts";

const code = `
import { NekoPluginBase, nekoPlugin, pluginEntry, lifecycle, Ok } from "@neko/plugin-sdk/plugin";

@nekoPlugin
export class Wobbly extends NekoPluginBase {
  @lifecycle({ id: "startup" })
  async startup() {
    if (this.pluginId === "slow_start") await new Promise((r) => setTimeout(r, 800));
  }

  @pluginEntry({ id: "crash" })
  crash() {
    setTimeout(() => process.exit(3), 10);
    return Ok("bye");
  }
}
`;

describe("reload of plugins on their way to running", () => {
  let root: string;
  let t: TestHost;
  const state = (id: string) => t.host.getPlugin(id)?.status;
  const crash = async (id: string) => {
    await t.trigger(id, "crash");
    await waitFor(() => state(id) === "crashed", { what: `${id} to crash` });
  };

  before(async () => {
    root = makeTempDir();
    for (const id of ["slow_start", "crash_then_reload", "crash_then_reload_all"]) {
      const autoStart = id === "slow_start" ? "false" : "true";
      const manifest = `[plugin]\nid = "${id}"\nentry = "index.ts:Wobbly"\n\n[plugin_runtime]\nauto_start = ${autoStart}\n`;
      writePlugin(root, { id, manifest, code });
    }
    // The automatic restart is far off: only the reload can bring a crashed plugin back within the test.
    t = await startTestHost({
      roots: [root],
      restartPolicy: { baseDelayMs: 60_000, maxDelayMs: 60_000, maxCrashes: 5, windowMs: 60_000 },
    });
  });
  after(async () => {
    await t.close();
    fs.rmSync(root, { recursive: true, force: true });
  });

  test("reloadAll() while a plugin is starting: it is running afterwards", async () => {
    const started = t.host.startPlugin("slow_start");
    await waitFor(() => state("slow_start") === "starting", { what: "slow_start to be starting" });
    const reload = await t.host.reloadAll();
    assert.ok(reload.ok);
    assert.equal((await started).ok, true);
    assert.equal(state("slow_start"), "running");
  });

  test("reloadPlugin() of a crashed plugin with a restart pending: it is running afterwards", async () => {
    await crash("crash_then_reload");
    const reload = await t.host.reloadPlugin("crash_then_reload");
    assert.ok(reload.ok, JSON.stringify(reload));
    assert.equal(state("crash_then_reload"), "running");
  });

  test("reloadAll() with a crashed plugin whose restart is pending: it is running afterwards", async () => {
    await crash("crash_then_reload_all");
    assert.ok((await t.host.reloadAll()).ok);
    assert.equal(state("crash_then_reload_all"), "running");
  });
});
