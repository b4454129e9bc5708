/**
 * `NekoAdapterPlugin`: the base class of an adapter (SPEC §3.7, docs/adapters.md): a plugin that bridges an external
 * protocol to plugin calls. It is a plugin in every way (its own process, entries, config, store), plus its `[adapter]`
 * settings and the channels the host opens to it for protocols the host's own server carries (MCP over `/mcp` and
 * stdio).
 */
import { NekoPluginBase } from "../plugin-base.ts";
import type { PluginContext } from "../plugin-context.ts";
import { AdapterChannels } from "./adapter-channels.ts";

export type AdapterMode = "gateway" | "router" | "bridge" | "hybrid";

/** The `[adapter]` table of the manifest: `mode`, `priority`, and the adapter's own keys (route rules, …). */
export interface AdapterSettings {
  mode: AdapterMode;
  priority: number;
  [key: string]: unknown;
}

const MODES: readonly AdapterMode[] = ["gateway", "router", "bridge", "hybrid"];

export abstract class NekoAdapterPlugin extends NekoPluginBase {
  /** Connections the host relays to this adapter (one per MCP session, …). */
  readonly channels: AdapterChannels;

  constructor(context?: PluginContext) {
    super(context);
    this.channels = new AdapterChannels(this.ctx.bridge, this.logger);
  }

  /** `[adapter]` of the effective configuration, with `mode` (default `gateway`) and `priority` (default 0). */
  get adapterSettings(): AdapterSettings {
    const table = this.config.get<Record<string, unknown>>("adapter", {}) ?? {};
    const mode = MODES.includes(table.mode as AdapterMode) ? (table.mode as AdapterMode) : "gateway";
    const priority = typeof table.priority === "number" ? table.priority : 0;
    return { ...table, mode, priority };
  }
}
