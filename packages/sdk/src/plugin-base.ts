/** `NekoPluginBase`: the class every plugin extends (SPEC §3.4). */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { type PluginContext, takePendingContext } from "./plugin-context.ts";
import type { EntryDescriptor } from "@neko/protocol";
import type { EntryOptions } from "./plugin-metadata.ts";
import { createPluginLogger, type PluginLogger } from "./plugin-logger.ts";
import { PluginConfig } from "./plugin-config.ts";
import { EntryRegistry, type EntryHandler } from "./runtime/entry-registry.ts";
import { detachedBridge } from "./runtime/host-client.ts";
import { SystemInfoClient } from "./system-info.ts";
import { MemoryClient } from "./memory-client.ts";
import { PluginsClient } from "./plugins-client.ts";
import { PluginStore } from "./plugin-store.ts";

export abstract class NekoPluginBase {
  readonly pluginId: string;
  readonly metadata: Record<string, unknown>;
  readonly configDir: string;
  readonly logger: PluginLogger;
  readonly ctx: PluginContext;
  /** Host name, versions, platform, uptime, plugin counts and resources (SPEC §3.4). */
  readonly systemInfo: SystemInfoClient;
  /** The other plugins, and calls into them (SPEC §4.3). */
  readonly plugins: PluginsClient;
  /** This plugin's persistent key-value store, `data/store.sqlite` (SPEC §4.5). */
  readonly store: PluginStore;
  /** The host's shared memory store with full-text search (SPEC §5.3). */
  readonly memory: MemoryClient;
  /** The effective configuration: `get`, `require`, `dump`, `set`, `update` (SPEC §3.4, docs/config.md). */
  readonly config: PluginConfig;

  constructor(context?: PluginContext) {
    // Outside a plugin process (a unit test constructing the class by hand) a throwaway context stands in.
    const ctx = context ?? takePendingContext() ?? standaloneContext(new.target.name);
    this.ctx = ctx;
    this.pluginId = ctx.pluginId;
    this.metadata = ctx.metadata;
    this.configDir = ctx.configDir;
    this.logger = ctx.logger;
    this.systemInfo = new SystemInfoClient(ctx.bridge);
    this.plugins = new PluginsClient(ctx.bridge, ctx.pluginId);
    this.store = new PluginStore({ pluginId: ctx.pluginId, dataDir: ctx.dataDir, enabled: storeEnabled(ctx.metadata) });
    this.memory = new MemoryClient(ctx.bridge);
    this.config = new PluginConfig(ctx.config ?? ctx.metadata, ctx.bridge);
  }

  /**
   * Adds an entry at run time; it is listed by `/plugins` and callable at once. An id already taken is refused
   * with a `TypeError`. The handler is called with `this` bound to the plugin.
   */
  registerDynamicEntry(id: string, handler: EntryHandler, meta: Omit<EntryOptions, "id"> = {}): EntryDescriptor {
    return this.ctx.entries.add({ ...meta, id }, handler.bind(this), { dynamic: true });
  }

  /** Removes a dynamic entry; false when there is none with that id. */
  unregisterDynamicEntry(id: string): boolean {
    return this.ctx.entries.remove(id);
  }

  /** A disabled entry stays listed (`enabled: false`) and its calls are refused with `ENTRY_DISABLED`. */
  enableEntry(id: string): boolean {
    return this.ctx.entries.setEnabled(id, true);
  }

  disableEntry(id: string): boolean {
    return this.ctx.entries.setEnabled(id, false);
  }

  listEntries(options: { includeDisabled?: boolean } = {}): EntryDescriptor[] {
    return this.ctx.entries.list(options);
  }

  /** A path under the plugin's `data/` folder; the folder is created on first use. */
  dataPath(...parts: string[]): string {
    fs.mkdirSync(this.ctx.dataDir, { recursive: true });
    const target = path.resolve(this.ctx.dataDir, ...parts);
    if (target !== this.ctx.dataDir && !target.startsWith(this.ctx.dataDir + path.sep)) {
      throw new RangeError(`dataPath: '${parts.join("/")}' leaves the plugin's data folder`);
    }
    return target;
  }
}

/** `[plugin.store] enabled` of the manifest; on unless it says false. */
function storeEnabled(metadata: Record<string, unknown>): boolean {
  const plugin = metadata.plugin as { store?: { enabled?: unknown } } | undefined;
  return plugin?.store?.enabled !== false;
}

function standaloneContext(className: string): PluginContext {
  return {
    pluginId: className,
    metadata: {},
    configDir: process.cwd(),
    dataDir: path.join(os.tmpdir(), `neko-standalone-${className}`, "data"),
    logger: createPluginLogger(className, { level: "warn" }),
    entries: new EntryRegistry(),
    bridge: detachedBridge,
  };
}
