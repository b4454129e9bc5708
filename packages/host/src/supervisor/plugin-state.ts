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
