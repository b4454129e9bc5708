/**
 * Timeouts longer than a Node timer can wait (2^31-1 ms, about 24.8 days) neither expire at once nor get through
 * unchecked: a caller's long timeout is cut to what a timer can wait, and a plugin that declares an entry timeout
 * above 24 days (or Infinity) is refused with the reason.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import { after, before, describe, test } from "node:test";
import { makeTempDir, waitFor, writePlugin } from "../support/plugin-fixtures.ts";
import { startTestHost, type TestHost } from "../support/test-host.ts";

const code = `
import { NekoPluginBase, nekoPlugin, pluginEntry, Ok } from "@neko/plugin-sdk/plugin";

@nekoPlugin
export class Patient extends NekoPluginBase {
  @pluginEntry({ id: "nap" })
  async nap() {
    await new Promise((r) => setTimeout(r, 200));
    return Ok("rested");
  }
}
`;

const greedyCode = (timeout: string) => `
import { NekoPluginBase, nekoPlugin, pluginEntry, Ok } from "@neko/plugin-sdk/plugin";

@nekoPlugin
export class Greedy extends NekoPluginBase {
  @pluginEntry({ id: "slow", timeout: ${timeout} })
  slow() {
    return Ok("done");
  }
}
`;

const DAY_S = 86_400;

describe("long timeouts", () => {
  let root: string;
  let t: TestHost;

  before(async () => {
    root = makeTempDir();
    writePlugin(root, { id: "patient", className: "Patient", code });
    writePlugin(root, { id: "month", className: "Greedy", code: greedyCode("30 * 86_400") });
    writePlugin(root, { id: "forever", className: "Greedy", code: greedyCode("Infinity") });
    t = await startTestHost({ roots: [root] });
  });
  after(async () => {
    await t.close();
    fs.rmSync(root, { recursive: true, force: true });
  });

  test("a run given a 30-day timeout runs to its end instead of timing out at once", async () => {
    const started = await t.request("POST", "/runs", {
      plugin_id: "patient",
      entry_id: "nap",
      args: {},
      timeout: 30 * DAY_S,
    });
    assert.equal(started.status, 202);
    const run = await waitFor(async () => {
      const view = (await t.request("GET", `/runs/${started.body.run_id}`)).body;
      return view.status === "running" ? undefined : view;
    });
    assert.equal(run.status, "succeeded", JSON.stringify(run.error));
    assert.equal(run.result, "rested");
  });

  test("an entry timeout above 24 days, or Infinity, refuses the plugin with the reason", async () => {
    for (const [id, shown] of [
      ["month", "2592000"],
      ["forever", "Infinity"],
    ]) {
      const view = (await t.request("GET", `/plugins/${id}`)).body;
      assert.equal(view.status, "refused", id);
      // The SDK refuses it when the class loads; the host's own check of the hello stands behind it for plugins
      // written without the SDK (packages/host/test/supervisor/plugin-frames.test.ts).
      assert.match(
        view.status_reason,
        new RegExp(`entry 'slow': timeout must be .* at most 2147483 seconds .*got ${shown}`),
      );
      const call = await t.trigger(id, "slow");
      assert.equal(call.body.error.code, "PLUGIN_NOT_RUNNING", id);
    }
  });
});
