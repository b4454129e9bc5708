import assert from "node:assert/strict";
import { test } from "node:test";
import { RUN_STATES, type RunState, RunStateMachine } from "../../src/runs/run-state-machine.ts";

const LEGAL: Array<[RunState, RunState]> = [
  ["queued", "running"],
  ["queued", "canceled"],
  ["queued", "failed"],
  ["running", "cancel_requested"],
  ["running", "succeeded"],
  ["running", "failed"],
  ["running", "canceled"],
  ["running", "timeout"],
  ["cancel_requested", "canceled"],
  ["cancel_requested", "succeeded"],
  ["cancel_requested", "failed"],
  ["cancel_requested", "timeout"],
];

test("exactly the transitions of SPEC §5.1 are legal; every other pair is refused", () => {
  const legal = new Set(LEGAL.map(([a, b]) => `${a}>${b}`));
  for (const from of RUN_STATES) {
    for (const to of RUN_STATES) {
      assert.equal(RunStateMachine.canMove(from, to), legal.has(`${from}>${to}`), `${from} → ${to}`);
    }
  }
});

test("a run starts queued and a refused move leaves the state unchanged", () => {
  const run = new RunStateMachine();
  assert.equal(run.state, "queued");
  assert.equal(run.moveTo("succeeded"), false, "queued → succeeded skips running");
  assert.equal(run.state, "queued");
  assert.equal(run.moveTo("cancel_requested"), false);
  assert.equal(run.moveTo("running"), true);
  assert.equal(run.moveTo("queued"), false, "never back to queued");
  assert.equal(run.moveTo("cancel_requested"), true);
  assert.equal(run.moveTo("running"), false, "a cancel cannot be taken back");
  assert.equal(run.finished, false);
  assert.equal(run.moveTo("canceled"), true);
  assert.equal(run.finished, true);
});

test("a finished run never changes again (a late answer cannot turn canceled into succeeded)", () => {
  for (const end of ["succeeded", "failed", "canceled", "timeout"] as const) {
    const run = new RunStateMachine();
    run.moveTo("running");
    assert.equal(run.moveTo(end), true);
    for (const next of RUN_STATES) assert.equal(run.moveTo(next), false, `${end} → ${next}`);
    assert.equal(run.state, end);
  }
});
