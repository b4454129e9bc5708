/**
 * The one way a feature plugs into the host: a `HostFeature` is a function of the `HostContext` that returns what it
 * owns as a `Disposable` (with its API, if it has one). The context gives a feature the host services to register
 * with, the plugins as the host knows them, the supervisor's three events, and the few operations on running plugins a
 * feature may need — never the supervisor itself. What a feature holds for one plugin goes into that plugin's scope,
 * so the host releases it when the plugin's process ends (`run`) or when the plugin leaves the host (`lifetime`).
 */
import type {
  CancelToken,
  ControlOp,
  Disposable,
  Event,
  HelloMessage,
  HostToPluginControls,
  HostToPluginPushes,
  ParamsIn,
  PushTopic,
  WireResult,
} from "@neko/protocol";
import type { HostLogger } from "./host-logger.ts";
import type { HostServices } from "./host-services.ts";
import type { PluginManifest } from "./manifest/plugin-manifest.ts";
import type { PluginHostApi } from "./plugin-host.ts";
import type { ProcessFiguresView } from "./metrics/process-figures.ts";
import type { PluginScope } from "./supervisor/plugin-scope.ts";
import type { PluginState } from "./supervisor/plugin-state.ts";
import type {
  FinishedCall,
  HelloCheck,
  LaunchContext,
  LaunchGrants,
  PluginLogLine,
  PluginStateChange,
  SupervisorCallOptions,
} from "./supervisor/plugin-supervisor.ts";

/** The plugins as the host knows them: every discovered one (refused ones too), by id. */
export interface PluginDirectory {
  has(id: string): boolean;
  ids(): string[];
  /** The folder and manifest file of a discovered plugin. */
  location(id: string): { dir: string; manifestPath: string } | undefined;
  /** The parsed manifest (undefined for an unknown or unreadable one). */
  manifest(id: string): PluginManifest | undefined;
  /** Its state as `/plugins` shows it (`refused` for one refused at discovery). */
  state(id: string): PluginState | undefined;
  /** Why it is refused (manifest, SDK range, dependencies, …); empty when it is not. */
  problems(id: string): string[];
  /** `local`, or the name of the remote worker it runs on; undefined for an unknown plugin. */
  machine(id: string): string | undefined;
  /** What its running process said of itself (its hello, kept current by `entries_changed`); undefined otherwise. */
  hello(id: string): HelloMessage | undefined;
  /** Its running process, if one runs. */
  process(id: string): { pid: number | undefined; startedAt: number; figures: ProcessFiguresView } | undefined;
  /** What the host holds for a supervised plugin; undefined for one it does not supervise. */
  scope(id: string): PluginScope | undefined;
  /** Re-reads the plugin's manifest from disk after a feature wrote it, keeping its process and state. */
  refreshManifest(id: string): Promise<void>;
}

/** What happens to plugins, as the supervisor announces it. */
export interface HostEvents {
  readonly onStateChange: Event<PluginStateChange>;
  readonly onCall: Event<FinishedCall>;
  readonly onLog: Event<PluginLogLine>;
  /** A running plugin's entries changed (dynamic entries, routers, extensions). */
  readonly onEntriesChange: Event<{ pluginId: string }>;
}

/** What a feature may do to running plugins. */
export interface PluginOperations {
  callEntry(pluginId: string, entryId: string, args: unknown, options?: SupervisorCallOptions): Promise<WireResult>;
  callEvent(
    pluginId: string,
    event: { eventType: string; eventId: string; args?: unknown; chain?: string[]; runId?: string },
    options?: { timeoutMs?: number; deadline?: number; cancel?: CancelToken },
  ): Promise<WireResult>;
  control<K extends ControlOp>(
    pluginId: string,
    op: K,
    payload: ParamsIn<HostToPluginControls, K>,
    options?: { timeoutMs?: number; cancel?: CancelToken },
  ): Promise<WireResult>;
  push<K extends PushTopic>(pluginId: string, topic: K, payload: ParamsIn<HostToPluginPushes, K>): boolean;
  /** Adds to what every plugin process reads at launch (its configuration, …). */
  addLaunchContext(context: LaunchContext): Disposable;
  /** Adds to what every plugin process may read, write and load as its own sources (its extensions' folders). */
  addLaunchGrant(grants: LaunchGrants): Disposable;
  /** Adds a check of each plugin process's hello, which may refuse its start (docs/config.md: its configSchema). */
  addHelloCheck(check: HelloCheck): Disposable;
}

export interface HostContext {
  readonly logger: HostLogger;
  readonly services: HostServices;
  /** The host's own data folder (the memory store). */
  readonly dataDir: string;
  readonly plugins: PluginDirectory;
  readonly events: HostEvents;
  readonly operations: PluginOperations;
  /** The host's public API, as the server sees it. */
  readonly api: Pick<PluginHostApi, "listPlugins" | "info" | "config">;
}

export type HostFeature<T extends Disposable = Disposable> = (ctx: HostContext) => T;

/** A feature that holds entries per plugin says how many, for the host's leak checks (`PluginHost.debugCounts`). */
export interface DebugCounted {
  debugCounts(): Record<string, number>;
}

/**
 * Runs `release` when the plugin's current run ends (`run`) or when it leaves the host (`lifetime`): call it when a
 * per-plugin entry is made. False, and nothing registered, for a plugin the host does not supervise; for `run`, a
 * plugin with no process that may be alive has `release` run at once.
 */
export function releaseWithPlugin(
  ctx: HostContext,
  pluginId: string,
  scope: "lifetime" | "run",
  release: () => void,
): boolean {
  const store = ctx.plugins.scope(pluginId);
  if (!store) return false;
  (scope === "run" ? store.run : store.lifetime).add({ dispose: release });
  return true;
}
