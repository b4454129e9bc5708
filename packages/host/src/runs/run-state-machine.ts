/**
 * The states of a run (SPEC §5.1) and the only moves between them. A finished run never changes again, so a late
 * answer from a plugin cannot turn a canceled run into a succeeded one.
 */

export const RUN_STATES = [
  "queued",
  "running",
  "cancel_requested",
  "succeeded",
  "failed",
  "canceled",
  "timeout",
] as const;
export type RunState = (typeof RUN_STATES)[number];

const TRANSITIONS: Record<RunState, readonly RunState[]> = {
  queued: ["running", "canceled", "failed"],
  running: ["cancel_requested", "succeeded", "failed", "canceled", "timeout"],
  // The answer may have been on its way when the cancel was asked for.
  cancel_requested: ["canceled", "succeeded", "failed", "timeout"],
  succeeded: [],
  failed: [],
  canceled: [],
  timeout: [],
};

export class RunStateMachine {
  private current: RunState = "queued";

  get state(): RunState {
    return this.current;
  }

  get finished(): boolean {
    return TRANSITIONS[this.current].length === 0;
  }

  static canMove(from: RunState, to: RunState): boolean {
    return TRANSITIONS[from].includes(to);
  }

  /** Moves to `to` when that move is legal; false (and no change) otherwise. */
  moveTo(to: RunState): boolean {
    if (!RunStateMachine.canMove(this.current, to)) return false;
    this.current = to;
    return true;
  }
}
