/**
 * `@pluginEntry({ autoStart: true })` end to end: a real plugin process runs the entry once after startup, with its
 * schema defaults; the host records it like any call; a failing one is logged and the plugin keeps answering.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import { after, before, describe, test } from "node:test";
import type { LogRecord } from "@neko/host";
import { makeTempDir, waitFor, writePlugin } from "../support/plugin-fixtures.ts";
import { startTestHost, type TestHost } from "../support/test-host.ts";

const warmerCode = `
import { NekoPluginBase, nekoPlugin, Ok, pluginEntry, z } from "@neko/plugin-sdk/plugin";

@nekoPlugin
export class WarmerPlugin extends NekoPluginBase {
  warmed = 0;
  size: number | null = null;

  @pluginEntry({ id: "warm", autoStart: true, params: z.object({ size: z.number().int().default(3) }) })
  warm({ size }: { size: number }) {
    this.warmed += 1;
    this.size = size;
    this.reportStatus({ warmed: this.warmed, size });
    return Ok({ warmed: this.warmed });
  }

  @pluginEntry({ id: "boom", autoStart: true })
  boom() {
    throw new Error("the engine is cold");
  }

  @pluginEntry({
    id: "needy",
    autoStart: true,
    inputSchema: { type: "object", properties: { to: { type: "string" } }, required: ["to"] },
  })
  needy({ to }: { to: string }) {
    return Ok(to);
  }

  @pluginEntry({ id: "state" })
  state() {
    return Ok({ warmed: this.warmed, size: this.size, pid: process.pid });
  }
}
`;

describe("autoStart entries", () => {
  let root: string;
  let t: TestHost;
  /** The plugin log lines the host read, with the id of the plugin it tagged each with. */
  const logs: Array<LogRecord & { pluginId: string }> = [];
  /** The host's `entry_call` records of the plugin, oldest first. */
  const entryCalls = async () =>
    (await t.request("GET", "/bus/events?type=entry_call&plugin_id=warmer")).body.records as Array<{
      data: { entryId: string; ok: boolean; errorCode: string | null; runId: string | null };
    }>;

  before(async () => {
    root = makeTempDir();
    writePlugin(root, { id: "warmer", className: "WarmerPlugin", code: warmerCode });
    t = await startTestHost({ roots: [root] }, { onLog: (pluginId, record) => logs.push({ ...record, pluginId }) });
  });
  after(async () => {
    await t?.close();
    fs.rmSync(root, { recursive: true, force: true });
  });

  test("an autoStart entry runs once after startup, with its schema defaults, and the host records the call", async () => {
    // They run one after another in declaration order: once needy's call is recorded, all three have run.
    const recorded = await waitFor(
      async () => {
        const records = await entryCalls();
        return records.some((r) => r.data.entryId === "needy") ? records : undefined;
      },
      { what: "the auto-started entries' call records" },
    );
    assert.deepEqual(
      recorded.map((r) => [r.data.entryId, r.data.ok, r.data.runId]),
      [
        ["warm", true, null],
        ["boom", false, null],
        ["needy", false, null],
      ],
    );
    assert.equal(recorded[2].data.errorCode, "VALIDATION_ERROR");
    const state = (await t.trigger("warmer", "state")).body.data;
    assert.equal(state.warmed, 1, "once");
    assert.equal(state.size, 3, "the schema default was applied to {}");
    const status = (await t.request("GET", "/plugin/status?plugin_id=warmer")).body;
    assert.deepEqual(status.status, { warmed: 1, size: 3 });

    const listed = (await t.request("GET", "/plugins/warmer")).body;
    assert.deepEqual(
      listed.entries.map((e: { id: string; auto_start: boolean }) => [e.id, e.auto_start]),
      [
        ["warm", true],
        ["boom", true],
        ["needy", true],
        ["state", false],
      ],
    );
  });

  test("a throwing or invalid autoStart entry is logged with the plugin's tag; the plugin runs on and answers", async () => {
    const line = (pattern: RegExp) =>
      waitFor(() => logs.find((l) => l.level === "error" && pattern.test(l.msg)), { what: `a log line ${pattern}` });
    const boom = await line(/^auto-start entry 'boom' failed: the engine is cold$/);
    assert.equal(boom.pluginId, "warmer");
    assert.equal(boom.entry, "boom", "a structured field names the entry too");
    const needy = await line(/^auto-start entry 'needy' failed: /);
    assert.equal(
      needy.msg,
      "auto-start entry 'needy' failed: invalid arguments: to: is required (it is called with {}: give its arguments defaults)",
    );

    const plugin = (await t.request("GET", "/plugins/warmer")).body;
    assert.equal(plugin.status, "running");
    assert.ok(!plugin.history.some((h: { state: string }) => h.state === "crashed"), "never crashed");
    const state = (await t.trigger("warmer", "state")).body.data;
    assert.equal(state.pid, plugin.pid);
    assert.equal(state.warmed, 1);
    assert.equal((await t.trigger("warmer", "warm")).body.data.warmed, 2, "and it can still be called by hand");
  });
});
