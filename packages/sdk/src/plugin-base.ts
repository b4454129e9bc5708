/** `NekoPluginBase`: the class every plugin extends (SPEC §3.4). */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { type PluginContext, takePendingContext } from "./plugin-context.ts";
import type { EntryDescriptor } from "@neko/protocol";
import type { EntryOptions } from "./plugin-metadata.ts";
import { createPluginLogger, type PluginLogger } from "./plugin-logger.ts";
import { EntryRegistry, type EntryHandler } from "./runtime/entry-registry.ts";
import { detachedBridge } from "./runtime/host-client.ts";
import { SystemInfoClient } from "./system-info.ts";
import { PluginBus } from "./bus/plugin-bus.ts";
import { type PushMessageInput, pushMessage } from "./push-message.ts";
import { type RunExport, type RunFinish, RunReporter, type RunUpdate } from "./run-reporter.ts";

export abstract class NekoPluginBase {
  readonly pluginId: string;
  readonly metadata: Record<string, unknown>;
  readonly configDir: string;
  readonly logger: PluginLogger;
  readonly ctx: PluginContext;
  /** Host name, versions, platform, uptime, plugin counts and resources (SPEC §3.4). */
  readonly systemInfo: SystemInfoClient;
  /** Events across plugins and the host's queryable namespaces (SPEC §4.4, docs/bus.md). */
  readonly bus: PluginBus;
  private readonly runReporter: RunReporter;

  constructor(context?: PluginContext) {
    // Outside a plugin process (a unit test constructing the class by hand) a throwaway context stands in.
    const ctx = context ?? takePendingContext() ?? standaloneContext(new.target.name);
    this.ctx = ctx;
    this.pluginId = ctx.pluginId;
    this.metadata = ctx.metadata;
    this.configDir = ctx.configDir;
    this.logger = ctx.logger;
    this.systemInfo = new SystemInfoClient(ctx.bridge);
    this.bus = new PluginBus(ctx.bridge, ctx.logger);
    this.runReporter = new RunReporter(ctx.bridge);
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

  /** Puts a message on the host message queue; `Err(ValidationError)` names a field that breaks the rules. */
  pushMessage(message: PushMessageInput) {
    return pushMessage(this.ctx.bridge, message);
  }

  /** Reports progress (percent), stage and message of the current run (docs/runs.md). */
  runUpdate(update: RunUpdate) {
    return this.runReporter.update(update);
  }

  /** Attaches an item (`text`, `json` or `url`) to the current run's exports. */
  exportPush(item: RunExport) {
    return this.runReporter.exportPush(item);
  }

  /** Finishes the current run as `succeeded` with `data` (and an optional `reply`). */
  finish(outcome: RunFinish = {}) {
    return this.runReporter.finish(outcome);
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
