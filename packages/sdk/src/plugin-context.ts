/**
 * What the runtime hands a plugin instance. The base class reads it from `pendingPluginContext` during construction,
 * so a subclass with its own constructor does not have to pass anything to `super()`.
 */
import type { PluginLogger } from "./plugin-logger.ts";
import type { EntryRegistry } from "./runtime/entry-registry.ts";
import type { HostBridge } from "./runtime/host-client.ts";
import type { MessageHandlerRegistry } from "./runtime/message-handler-registry.ts";
import type { TimerScheduler } from "./runtime/timer-scheduler.ts";

export interface PluginContext {
  pluginId: string;
  /** The parsed manifest (plugin.toml), as a plain object. */
  metadata: Record<string, unknown>;
  /** The plugin folder. */
  configDir: string;
  /** The plugin's `data/` folder. */
  dataDir: string;
  logger: PluginLogger;
  /** The plugin's entries, decorated and dynamic. */
  entries: EntryRegistry;
  /** Requests to the host's services. */
  bridge: HostBridge;
  /** The plugin's `@timerInterval` timers. */
  timers: TimerScheduler;
  /** The plugin's `@message` handlers. */
  messageHandlers: MessageHandlerRegistry;
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
