/** Plugin states (SPEC §4.2). */
export type PluginState =
  | "stopped"
  | "starting"
  | "running"
  | "stopping"
  | "frozen"
  | "crashed"
  | "quarantined"
  | "disabled"
  | "refused";

export interface StateChange {
  time: number;
  state: PluginState;
  reason?: string;
}

/**
 * How a state change reads in the host log and in the plugin's log records. A problem state warns, with its reason
 * in a field so that a long one stays readable; any other state carries its reason in the message.
 */
export function stateChangeLine(change: StateChange): { level: "info" | "warn"; msg: string; reason?: string } {
  const { state, reason } = change;
  if (state === "crashed" || state === "quarantined" || state === "refused") {
    return { level: "warn", msg: `plugin ${state}`, reason };
  }
  return { level: "info", msg: `plugin ${state}${reason ? `: ${reason}` : ""}` };
}
