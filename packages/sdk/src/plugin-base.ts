/** `NekoPluginBase`: the class every plugin extends (SPEC §3.4). */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { type PluginContext, takePendingContext } from "./plugin-context.ts";
import { type EntryDescriptor, STATUS_REPORT_MAX_BYTES, STATUS_REPORT_METHOD } from "@neko/protocol";
import type { EntryOptions } from "./plugin-metadata.ts";
import { createPluginLogger, type PluginLogger } from "./plugin-logger.ts";
import { ValidationError } from "./errors.ts";
import { Err, Ok, type Result } from "./result.ts";
import { EntryRegistry, type EntryHandler } from "./runtime/entry-registry.ts";
import { detachedBridge } from "./runtime/host-client.ts";
import { MessageHandlerRegistry } from "./runtime/message-handler-registry.ts";
import { TimerScheduler } from "./runtime/timer-scheduler.ts";
import { SystemInfoClient } from "./system-info.ts";

export abstract class NekoPluginBase {
  readonly pluginId: string;
  readonly metadata: Record<string, unknown>;
  readonly configDir: string;
  readonly logger: PluginLogger;
  readonly ctx: PluginContext;
  /** Host name, versions, platform, uptime, plugin counts and resources (SPEC §3.4). */
  readonly systemInfo: SystemInfoClient;

  constructor(context?: PluginContext) {
    // Outside a plugin process (a unit test constructing the class by hand) a throwaway context stands in.
    const ctx = context ?? takePendingContext() ?? standaloneContext(new.target.name);
    this.ctx = ctx;
    this.pluginId = ctx.pluginId;
    this.metadata = ctx.metadata;
    this.configDir = ctx.configDir;
    this.logger = ctx.logger;
    this.systemInfo = new SystemInfoClient(ctx.bridge);
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

  /**
   * Reports the plugin's current status (a JSON object, at most 64 KiB as JSON), shown by `GET /plugin/status`.
   * Each report replaces the previous one. Not an object, not JSON or too large: an Err saying which.
   */
  reportStatus(status: Record<string, unknown>): Result<{ bytes: number }, ValidationError> {
    if (typeof status !== "object" || status === null || Array.isArray(status)) {
      return Err(new ValidationError("reportStatus: the status must be a plain object"));
    }
    let json: string;
    try {
      json = JSON.stringify(status);
    } catch (error) {
      return Err(new ValidationError(`reportStatus: the status is not JSON: ${(error as Error).message}`));
    }
    const bytes = Buffer.byteLength(json);
    const limit = STATUS_REPORT_MAX_BYTES;
    if (bytes > limit) {
      const message = `reportStatus: the status is ${bytes} bytes as JSON; the limit is ${limit}`;
      return Err(new ValidationError(message, { details: { bytes, limit } }));
    }
    this.ctx.bridge.notify(STATUS_REPORT_METHOD, { status: JSON.parse(json) });
    return Ok({ bytes });
  }

  /** Starts a `@timerInterval` timer (its first tick comes one interval later); false for an unknown id. */
  startTimer(id: string): boolean {
    return this.ctx.timers.start(id);
  }

  /** Stops a timer (a tick in progress finishes); false for an unknown id. */
  stopTimer(id: string): boolean {
    return this.ctx.timers.stop(id);
  }

  /** Turns a `@message` handler on (handlers with `autoStart: false` start off); false for an unknown id. */
  enableMessageHandler(id: string): boolean {
    return this.ctx.messageHandlers.setActive(id, true);
  }

  disableMessageHandler(id: string): boolean {
    return this.ctx.messageHandlers.setActive(id, false);
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
  const logger = createPluginLogger(className, { level: "warn" });
  return {
    pluginId: className,
    metadata: {},
    configDir: process.cwd(),
    dataDir: path.join(os.tmpdir(), `neko-standalone-${className}`, "data"),
    logger,
    entries: new EntryRegistry(),
    bridge: detachedBridge,
    timers: new TimerScheduler(logger),
    messageHandlers: new MessageHandlerRegistry(),
  };
}
