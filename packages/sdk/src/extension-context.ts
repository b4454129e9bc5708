/**
 * What the runtime hands an extension instance (runtime/extension-mounts.ts): its own identity, manifest,
 * configuration and folders, the host plugin it is loaded into, and the scope that everything it registers joins so
 * that taking it out disposes all of it. The base class reads it during construction, as a plugin's does.
 */
import type { DisposableStore } from "@neko/protocol";
import type { NekoPluginBase } from "./plugin-base.ts";
import type { PluginLogger } from "./plugin-logger.ts";
import type { TimerScheduler } from "./runtime/timer-scheduler.ts";

export interface ExtensionContext {
  extensionId: string;
  /** The plugin the extension is loaded into; undefined outside a plugin process (a unit test). */
  host: NekoPluginBase | undefined;
  prefix: string;
  /** Its parsed plugin.toml. */
  metadata: Record<string, unknown>;
  /** Its effective configuration (manifest + active profile). */
  config: Record<string, unknown>;
  /** The extension's folder. */
  configDir: string;
  /** The extension's `data/` folder (its store, `dataPath`). */
  dataDir: string;
  logger: PluginLogger;
  /** Disposed when the extension is taken out: its bus handlers and watches, `onDispose` callbacks, its store. */
  scope: DisposableStore;
  /** Its `@timerInterval` timers; they start after its `startup` and stop before its `shutdown`. */
  timers: TimerScheduler;
}

let pending: ExtensionContext | undefined;

/** Runs `construct` with `context` visible to the `NekoExtensionBase` constructor. */
export function constructWithExtensionContext<T>(context: ExtensionContext, construct: () => T): T {
  pending = context;
  try {
    return construct();
  } finally {
    pending = undefined;
  }
}

export function takePendingExtensionContext(): ExtensionContext | undefined {
  return pending;
}
