/**
 * The launch gate through a real host (launch-gate.ts; the burst and the stop are tested against the supervisor in
 * packages/host/test/supervisor/launch-gate.test.ts): with `launchConcurrency: 1`, a `startAll` of several SDK
 * plugins boots them one at a time (each process is launched after the one before it loaded its module and said
 * hello), and all end `running` in GET /plugins.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import { after, before, describe, test } from "node:test";
import { makeTempDir, writePlugin } from "../support/plugin-fixtures.ts";
import { startTestHost, type TestHost } from "../support/test-host.ts";

const code = `import { NekoPluginBase, nekoPlugin, pluginEntry, Ok } from "@neko/plugin-sdk/plugin";

// When the plugin's module ran: during its process's boot, before its hello.
const loadedAt = Date.now();

@nekoPlugin
export class GatedPlugin extends NekoPluginBase {
  @pluginEntry({ id: "pid" })
  pid() {
    return Ok({ pid: process.pid, launchedAt: performance.timeOrigin, loadedAt });
  }
}
`;

const IDS = ["gated_a", "gated_b", "gated_c", "gated_d", "gated_e"];

describe("the launch gate in a host", () => {
  let root: string;
  let t: TestHost;
  before(async () => {
    root = makeTempDir();
    for (const id of IDS) writePlugin(root, { id, className: "GatedPlugin", code });
    // Each boot holds its slot until its hello, however slow it is on a loaded machine (no lending).
    t = await startTestHost({ roots: [root], launchConcurrency: 1, launchSlotLendMs: 120_000 });
  });
  after(async () => {
    await t?.close();
    fs.rmSync(root, { recursive: true, force: true });
  });

  test("every plugin of the burst runs and answers; their processes were launched one after another", async () => {
    const list = await t.request("GET", "/plugins");
    assert.equal(list.status, 200);
    const states = Object.fromEntries(
      (list.body.plugins as { id: string; status: string }[]).map((p) => [p.id, p.status]),
    );
    assert.deepEqual(states, Object.fromEntries(IDS.map((id) => [id, "running"])));
    const boots: { pid: number; launchedAt: number; loadedAt: number }[] = [];
    for (const id of IDS) {
      const res = await t.trigger(id, "pid");
      assert.equal(res.status, 200, JSON.stringify(res.body));
      boots.push(res.body.data);
    }
    assert.equal(new Set(boots.map((b) => b.pid)).size, IDS.length);
    // In launch order, each process started after the one before had loaded its module (launched together, with the
    // gate off, they start a few hundred ms apart while each takes a second or more to load).
    boots.sort((a, b) => a.launchedAt - b.launchedAt);
    const overlaps = boots.slice(1).filter((boot, i) => boot.launchedAt < boots[i].loadedAt);
    assert.deepEqual(overlaps, [], "no process launched while the one before was still booting");
  });
});
