/** The plugin state table: every move it lists is made, every other move is a bug that throws under test. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { parseManifest } from "../../src/manifest/plugin-manifest.ts";
import {
  canMove,
  IllegalTransitionError,
  LIVE_STATES,
  PLUGIN_STATES,
  PLUGIN_TRANSITIONS,
  type PluginState,
} from "../../src/supervisor/plugin-state.ts";
import { SupervisedPlugin } from "../../src/supervisor/supervised-plugin.ts";

function pluginIn(state: PluginState): SupervisedPlugin {
  const parsed = parseManifest('[plugin]\nid = "p"\nentry = "index.ts:P"\n', { file: "plugin.toml" });
  assert.ok(parsed.ok);
  const spec = { id: "p", dir: "/p", manifest: parsed.manifest, entryModulePath: "/p/index.ts" };
  return new SupervisedPlugin(
    spec,
    { state },
    {
      restartPolicy: { baseDelayMs: 1, maxDelayMs: 1, maxCrashes: 3, windowMs: 1000 },
      onScopeError: (error) => {
        throw error;
      },
      onIllegalMove: (error) => {
        throw error;
      },
    },
  );
}

test("every state has a row, and every move the table lists is made, recorded and announced", () => {
  assert.deepEqual(Object.keys(PLUGIN_TRANSITIONS).sort(), [...PLUGIN_STATES].sort());
  let moves = 0;
  for (const from of PLUGIN_STATES) {
    for (const to of PLUGIN_TRANSITIONS[from]) {
      const plugin = pluginIn(from);
      const change = plugin.moveTo(to, `why ${from}→${to}`);
      assert.equal(plugin.state, to);
      assert.equal(plugin.reason, `why ${from}→${to}`);
      assert.equal(change.state, to);
      assert.deepEqual(
        plugin.history.map((h) => h.state),
        [from, to],
      );
      moves += 1;
    }
  }
  assert.equal(moves, 27, "the table's size: a change to it is a change to this test");
});

test("a move the table does not list throws under the test runner, and changes nothing", () => {
  let illegal = 0;
  for (const from of PLUGIN_STATES) {
    for (const to of PLUGIN_STATES) {
      if (canMove(from, to)) continue;
      const plugin = pluginIn(from);
      assert.throws(
        () => plugin.moveTo(to),
        (error: unknown) => error instanceof IllegalTransitionError && error.from === from && error.to === to,
        `${from} → ${to}`,
      );
      assert.equal(plugin.state, from, `${from} → ${to} left the state alone`);
      illegal += 1;
    }
  }
  assert.equal(illegal, PLUGIN_STATES.length ** 2 - 27);
  assert.throws(() => pluginIn("stopped").moveTo("running"), /no move from 'stopped' to 'running'/);
  assert.throws(() => pluginIn("frozen").moveTo("stopped"), IllegalTransitionError);
});

test("leaving starting/running ends the run: what the process registered is released", () => {
  for (const to of ["stopping", "crashed", "quarantined"] as const) {
    const plugin = pluginIn("running");
    plugin.scope.beginRun();
    let released = 0;
    plugin.scope.run.add({ dispose: () => released++ });
    plugin.scope.lifetime.add({ dispose: () => released++ });
    plugin.moveTo(to);
    assert.equal(released, 1, `${to}: the run's disposables go, the lifetime's stay`);
    assert.equal(plugin.scope.running, false);
    plugin.dispose();
    assert.equal(released, 2, "forgetting the plugin releases the rest");
  }
  const starting = pluginIn("stopped");
  starting.scope.beginRun();
  starting.moveTo("starting");
  starting.moveTo("running");
  assert.ok([...LIVE_STATES].every((s) => s === "starting" || s === "running"));
  assert.equal(starting.scope.running, true, "starting → running keeps the run");
});

test("a pending restart is cancelled by a stop and by forgetting the plugin", async () => {
  const plugin = pluginIn("crashed");
  let restarted = 0;
  plugin.scheduleRestart(5, () => restarted++);
  assert.equal(plugin.restartPending, true);
  plugin.cancelRestart();
  plugin.scheduleRestart(5, () => restarted++);
  plugin.dispose();
  await new Promise((r) => setTimeout(r, 30));
  assert.equal(restarted, 0);
  assert.equal(plugin.restartPending, false);
});
