/** When plugin processes start from a startup snapshot (plugin-links.ts; docs/architecture.md "Startup snapshot"). */
import assert from "node:assert/strict";
import { test } from "node:test";
import { snapshotsOn } from "../../src/supervisor/plugin-links.ts";

test("snapshots are on unless NEKO_PLUGIN_SNAPSHOT turns them off", () => {
  assert.equal(snapshotsOn({}), true);
  for (const off of ["off", "0", "false", " OFF "])
    assert.equal(snapshotsOn({ NEKO_PLUGIN_SNAPSHOT: off }), false, off);
  for (const on of ["on", "1", "true", ""]) assert.equal(snapshotsOn({ NEKO_PLUGIN_SNAPSHOT: on }), true, on);
});

test("msgpackr's native extractor asked for (its variable set, and not `true` as msgpackr reads it): no snapshot", () => {
  assert.equal(snapshotsOn({ MSGPACKR_NATIVE_ACCELERATION_DISABLED: "true" }), true);
  assert.equal(snapshotsOn({ MSGPACKR_NATIVE_ACCELERATION_DISABLED: "TRUE" }), true);
  for (const value of ["false", "0", "no", "", " true"]) {
    assert.equal(snapshotsOn({ MSGPACKR_NATIVE_ACCELERATION_DISABLED: value }), false, JSON.stringify(value));
  }
});
