/** What `plugins.list` / `plugins.get` (`this.plugins`) show of another plugin. */
import type { EntryDescriptor } from "../messages.ts";

/** Another plugin's entry: the wire descriptor's public fields. */
export type PluginEntryInfo = Pick<
  EntryDescriptor,
  "id" | "name" | "description" | "inputSchema" | "kind" | "timeout" | "enabled" | "llmResultFields"
>;

export interface PluginInfo {
  id: string;
  name: string;
  description: string;
  version: string;
  type: string;
  /** The supervisor's state: `running`, `stopped`, `crashed`, `disabled`, … */
  status: string;
  /** The plugin may run: neither disabled (`[plugin_runtime].enabled = false`) nor refused. */
  enabled: boolean;
  /** Calls to it are served now. */
  running: boolean;
  entries: PluginEntryInfo[];
}
