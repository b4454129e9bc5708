/**
 * A plugin's states (SPEC §4.2) and the only moves between them, as one table. The supervisor changes a plugin's state
 * only through `PluginLifecycle.moveTo`; a move the table does not allow is a bug, which throws under the test runner
 * and is logged (and made anyway) in production, so a missed case cannot take the host down.
 */
export const PLUGIN_STATES = [
  "stopped",
  "starting",
  "running",
  "stopping",
  "frozen",
  "crashed",
  "quarantined",
  "disabled",
  "refused",
  "unreachable",
] as const;
export type PluginState = (typeof PLUGIN_STATES)[number];

/**
 * From each state, where it may go. A state may move to itself where the reason changes (a start refused before its
 * process was launched leaves `stopped` as `stopped`, with the reason).
 */
export const PLUGIN_TRANSITIONS: Readonly<Record<PluginState, readonly PluginState[]>> = {
  // A start; a manifest that turns the plugin off; a start refused before launch (the reason is recorded).
  stopped: ["starting", "disabled", "stopped"],
  // Ready; a failed start (crash, or refused by its own answer); stopped when the host closes mid-start.
  // Unreachable: the remote worker it was starting or running on is gone (docs/workers.md).
  starting: ["running", "crashed", "quarantined", "refused", "stopped", "unreachable"],
  // Starting: a reload's new process takes over from the old one, which has drained (docs/cli.md#dev).
  running: ["starting", "stopping", "crashed", "quarantined", "unreachable"],
  // A stop ends `stopped`, a freeze `frozen`.
  stopping: ["stopped", "frozen"],
  // The restart; a stop by hand while the restart waits; a start refused before launch.
  crashed: ["starting", "stopped"],
  // Only a start by hand leaves it, or a start refused before launch.
  quarantined: ["starting", "stopped"],
  frozen: ["starting"],
  disabled: ["stopped"],
  // A start by hand retries; a start refused before launch; the manifest turns the plugin off.
  refused: ["starting", "stopped", "disabled"],
  // Its worker came back (or a start by hand tries again); a stop by hand gives up on it.
  unreachable: ["starting", "stopped"],
};

/** A process may be alive in these states: what it registered (static UI, subscriptions) lasts while they do. */
export const LIVE_STATES: ReadonlySet<PluginState> = new Set(["starting", "running"]);

export interface StateChange {
  time: number;
  state: PluginState;
  reason?: string;
}

export class IllegalTransitionError extends Error {
  constructor(
    readonly from: PluginState,
    readonly to: PluginState,
    readonly pluginId: string,
  ) {
    super(`plugin '${pluginId}': no move from '${from}' to '${to}' in the state table`);
    this.name = "IllegalTransitionError";
  }
}

export function canMove(from: PluginState, to: PluginState): boolean {
  return PLUGIN_TRANSITIONS[from].includes(to);
}

/**
 * How a state change reads in the host log and in the plugin's log records. A problem state warns, with its reason
 * in a field so that a long one stays readable; any other state carries its reason in the message.
 */
export function stateChangeLine(change: StateChange): { level: "info" | "warn"; msg: string; reason?: string } {
  const { state, reason } = change;
  if (state === "crashed" || state === "quarantined" || state === "refused" || state === "unreachable") {
    return { level: "warn", msg: `plugin ${state}`, reason };
  }
  return { level: "info", msg: `plugin ${state}${reason ? `: ${reason}` : ""}` };
}
