/**
 * What the runtime hands a plugin instance. The base class reads it from `pendingPluginContext` during construction,
 * so a subclass with its own constructor does not have to pass anything to `super()`.
 */
import path from "node:path";
import { type PluginFileLogger, withFileLogging } from "./plugin-file-logger.ts";
import { createPluginLogger, type PluginLogger } from "./plugin-logger.ts";
import { EntryRegistry } from "./runtime/entry-registry.ts";
import { HookPipeline } from "./runtime/hook-pipeline.ts";
import { detachedBridge, type HostBridge } from "./runtime/host-client.ts";
import { MessageHandlerRegistry } from "./runtime/message-handler-registry.ts";
import { TimerScheduler } from "./runtime/timer-scheduler.ts";

export interface PluginContext {
  pluginId: string;
  /** The parsed manifest (plugin.toml), as a plain object. */
  metadata: Record<string, unknown>;
  /** The effective configuration (manifest + active profile) the host started the process with; default `metadata`. */
  config?: Record<string, unknown>;
  /** The plugin folder. */
  configDir: string;
  /** The plugin's `data/` folder. */
  dataDir: string;
  /** The plugin's logger, with its own file switch (`enableFileLogging`). */
  logger: PluginFileLogger;
  /** The plugin's entries, decorated and dynamic. */
  entries: EntryRegistry;
  /** The hooks every entry call goes through: the class's own, its routers', extensions'. */
  hooks: HookPipeline;
  /** Requests to the host's services. */
  bridge: HostBridge;
  /** The plugin's `@timerInterval` timers. */
  timers: TimerScheduler;
  /** The plugin's `@message` handlers. */
  messageHandlers: MessageHandlerRegistry;
}

/**
 * A context with fresh registries: what the plugin process builds, and what a unit test builds around a class.
 * Without a bridge, every host request fails with a clear "not running inside a plugin process" error.
 */
export function createPluginContext(
  options: Pick<PluginContext, "pluginId" | "configDir"> &
    Partial<Omit<PluginContext, "pluginId" | "configDir" | "logger">> & { logger?: PluginLogger },
): PluginContext {
  const dataDir = options.dataDir ?? path.join(options.configDir, "data");
  const logger = withFileLogging(options.logger ?? createPluginLogger(options.pluginId), {
    pluginId: options.pluginId,
    dataDir,
  });
  return {
    metadata: {},
    dataDir,
    entries: new EntryRegistry(),
    hooks: new HookPipeline(),
    bridge: detachedBridge,
    timers: new TimerScheduler(logger),
    messageHandlers: new MessageHandlerRegistry(),
    ...options,
    logger,
  };
}

let pending: PluginContext | undefined;

/** Runs `construct` with `context` visible to the base constructor. */
export function constructWithContext<T>(context: PluginContext, construct: () => T): T {
  pending = context;
  try {
    return construct();
  } finally {
    pending = undefined;
  }
}

export function takePendingContext(): PluginContext | undefined {
  return pending;
}
