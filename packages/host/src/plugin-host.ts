/**
 * The plugin host: finds plugins on disk, binds the transport, supervises one process per plugin, and answers
 * the server through the `PluginHostApi` view. `stop()` leaves no process, socket or run folder behind.
 */
import fs from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import {
  type CancelToken,
  DisposableStore,
  type EntryDescriptor,
  ErrorCode,
  type ExtensionState,
  type ExtensionStatus,
  timerDelay,
  type WireResult,
} from "@neko/protocol";
import { PluginLinks } from "./supervisor/plugin-links.ts";
import { defaultCacheDir, pruneTypeScriptCache, sdkSourceDirs, warmTypeScriptCache } from "@neko/plugin-sdk/ts-cache";
import { SDK_VERSION } from "@neko/plugin-sdk/version";
import { type BusApi, HostBus, type HostBusOptions } from "./bus/host-bus.ts";
import { type PluginConfigApi, PluginConfigService } from "./config/plugin-config-service.ts";
import type { DebugCounted, HostContext, HostEvents, HostFeature } from "./host-context.ts";
import { AdapterChannelHub, type ChannelsApi } from "./channels/adapter-channels.ts";
import { ExtensionRegistry, type ExtensionsApi } from "./extensions/extension-registry.ts";
import { createHostLogger, type HostLogger } from "./host-logger.ts";
import { HostServices } from "./host-services.ts";
import {
  DEFAULT_LOG_FILE_MAX_BYTES,
  DEFAULT_LOG_FILES_KEPT,
  LogFiles,
  type LogFilesApi,
  type LogFilesOptions,
} from "./logs/log-files.ts";
import { callLog, callLogEnabled } from "./logs/call-log.ts";
import { type LogsApi, PluginLogs } from "./logs/plugin-logs.ts";
import { conflictProblem, ownersOf, requiredIds, requirementProblem } from "./manifest/plugin-dependencies.ts";
import { type DiscoveredPlugin, discoverPlugins } from "./manifest/plugin-discovery.ts";
import { parseManifest, type PluginManifest } from "./manifest/plugin-manifest.ts";
import { type ProtectedPath, refuseUnsafeWriteGrants } from "./manifest/write-grant-problems.ts";
import { memoryService } from "./memory/memory-service.ts";
import {
  DEFAULT_MESSAGE_CAPACITY,
  DEFAULT_MESSAGE_MAX_BYTES,
  MessageQueue,
  type MessagesApi,
} from "./messages/message-queue.ts";
import { DEFAULT_HEARTBEAT_INTERVAL_MS } from "./supervisor/heartbeat-monitor.ts";
import { type MetricsApi, PluginMetrics } from "./metrics/plugin-metrics.ts";
import { pluginCallService } from "./plugin-call-service.ts";
import { UpstreamFailures } from "./upstream-failures.ts";
import { PluginStatusBoard, type PluginStatusReport } from "./plugin-status-board.ts";
import { RunRegistry, type RunsApi } from "./runs/run-registry.ts";
import { type StaticUi, StaticUiRegistry } from "./static-ui/static-ui-registry.ts";
import { inDependencyOrder } from "./supervisor/dependency-order.ts";
import { LanguageLauncher } from "./supervisor/language-launcher.ts";
import { NodePluginLauncher } from "./supervisor/node-plugin-launcher.ts";
import type { PluginLauncher } from "./supervisor/plugin-launcher.ts";
import { launchPermissions } from "./supervisor/permission-flags.ts";
import { PythonPluginLauncher } from "./supervisor/python-plugin-launcher.ts";
import { type ThreadPluginAccess, ThreadPluginLauncher } from "./supervisor/thread-plugin-launcher.ts";
import type { PluginState, StateChange } from "./supervisor/plugin-state.ts";
import {
  PluginSupervisor,
  type SupervisorCallOptions,
  timeoutNamed,
  trustedTimeout,
} from "./supervisor/plugin-supervisor.ts";
import type { RestartPolicyOptions } from "./supervisor/restart-policy.ts";
import { realpathOrSelf, runnerPackagePaths } from "./supervisor/runtime-read-paths.ts";
import { systemInfoService } from "./system-info-service.ts";
import type { HostTransport } from "./transport/host-transport.ts";
import { PipeHostTransport } from "./transport/pipe-host-transport.ts";
import {
  isTransportKind,
  LOCAL_TRANSPORT_ENV,
  localTransportFromEnv,
  type TransportKind,
} from "./transport/local-transport-choice.ts";
import { SplitHostTransport } from "./transport/split-host-transport.ts";
import { ZmqHostTransport } from "./transport/zmq-host-transport.ts";
import { type TriggerViews, triggerViews } from "./trigger-views.ts";
import { failure, pluginNotFound } from "./wire-result.ts";
import { RoutedHostTransport, RoutedLauncher } from "./workers/routed.ts";
import { WorkerHub, type WorkerHubOptions, type WorkerView } from "./workers/worker-hub.ts";
import type { RemotePluginInfo } from "./workers/worker-wire.ts";

export { HOST_VERSION } from "./host-version.ts";
import { HOST_VERSION } from "./host-version.ts";
const DEFAULT_EVENT_TIMEOUT_SECONDS = 30;

export interface PluginHostOptions {
  /** Plugin roots, in priority order (see `resolvePluginRoots`). */
  roots: string[];
  /** Single plugin folders, after the roots' (a folder holding plugin.toml itself: what `neko-plugin dev` serves). */
  pluginFolders?: string[];
  logger?: HostLogger;
  /** ZeroMQ endpoint; default `ipc://` in a fresh run folder; `NEKO_TRANSPORT_ENDPOINT` overrides. */
  endpoint?: string;
  /**
   * The transport of local Node plugins whose manifest names none (`[plugin_runtime] transport`): `pipe` (a private
   * socket pair per process) or `zmq`; default `$NEKO_PLUGIN_TRANSPORT`, else DEFAULT_LOCAL_TRANSPORT. Python plugins
   * and remote workers always use ZeroMQ (docs/wire-protocol.md).
   */
  localTransport?: TransportKind;
  restartPolicy?: RestartPolicyOptions;
  stopGraceMs?: number;
  /**
   * How many plugin processes may boot (launch → hello) at once; the others wait, `starting`, for a slot (default: the
   * machine's parallelism, at least 2; `0`: no limit; `NEKO_PLUGIN_LAUNCH_CONCURRENCY` overrides it).
   */
  launchConcurrency?: number;
  /** How long one plugin's boot holds its launch slot at most before the next launch may start (default 4 s). */
  launchSlotLendMs?: number;
  /** Heartbeat ping interval (default 5 s). */
  heartbeatIntervalMs?: number;
  /** The host's own data (the memory store): default `$NEKO_DATA_DIR`, else `.neko/` in the current folder. */
  dataDir?: string;
  /** Most plugins one chain of cross-plugin calls may hold (SPEC §4.3: 20). */
  maxCallDepth?: number;
  /** Bus queue and namespace bounds (docs/bus.md). */
  bus?: HostBusOptions;
  /** Message queue bounds: messages kept (default 10 000) and their total size (default 64 MiB). */
  messages?: { capacity?: number; maxBytes?: number };
  /**
   * Finished runs kept (default 500), the cancel grace period (default 5 s), the bytes of files (`binary` exports,
   * uploads) a run may hold (default 64 MiB) and all runs together (default 1 GiB) (docs/runs.md).
   */
  runs?: { keepFinished?: number; cancelGraceMs?: number; maxBinaryBytes?: number; maxTotalFileBytes?: number };
  /** Log records kept per plugin for `GET /plugin/{id}/logs`: how many (default 1000) and their size (default 1 MiB). */
  logs?: { capacity?: number; maxBytes?: number };
  /**
   * The rotated NDJSON log files (docs/logging.md#log-files): their folder (default `$NEKO_LOG_DIR`, else `logs/` in
   * the run folder, removed when the host stops), file size (`$NEKO_LOG_MAX_BYTES`, 10 MiB) and rotated files kept
   * (`$NEKO_LOG_KEEP`, 5); `hostLines` is the host logger's sink, for `host.ndjson`. `false`: no files.
   */
  logFiles?: Partial<LogFilesOptions> | false;
  /** One log line per finished entry call (docs/logging.md#one-line-per-call); default: unless `NEKO_LOG_CALLS=0`. */
  logCalls?: boolean;
  /**
   * The transport plugins connect over, already bound; default: a ZeroMQ ROUTER at `endpoint`. The host closes it
   * when it stops.
   */
  transport?: HostTransport;
  /**
   * How plugin processes are launched; default: Node processes running the SDK's runner, and Python processes running
   * packages/python-sdk's runner for Python plugins (docs/python-plugins.md).
   */
  launcher?: PluginLauncher;
  /**
   * The Python interpreters to try for Python plugins, in order; default: `NEKO_PYTHON` when set, else
   * /usr/bin/python3, else python3 on PATH. The first that can import zmq, msgpack and jsonschema is used.
   */
  python?: string[];
  /**
   * Accept remote workers (docs/workers.md): where they connect (`tcp://…`), the host's CURVE key pair and the
   * workers' public keys. Their plugins are listed with their machine and supervised like local ones.
   */
  workers?: Omit<WorkerHubOptions, "logger">;
}

export interface EntryView {
  id: string;
  name: string;
  description: string;
  input_schema: Record<string, unknown> | null;
  kind: string;
  timeout: number;
  llm_result_fields: string[] | null;
  auto_start: boolean;
  persist: boolean | null;
  enabled: boolean;
  dynamic: boolean;
  /** The entry's `metadata` as the plugin declared it; null without one. */
  metadata: Record<string, unknown> | null;
  /** The extension whose entry this is; null for the plugin's own. */
  extension_id: string | null;
}

export interface PluginView extends TriggerViews {
  id: string;
  name: string;
  description: string;
  version: string;
  type: string;
  author: { name?: string; email?: string } | null;
  /** A plugin's state; an extension's is `injected`, `pending`, `disabled` or `failed`. */
  status: PluginState | ExtensionState;
  status_reason: string | null;
  pid: number | null;
  /** `thread`: it runs as a worker thread in the shared runner process `pid` ([plugin_runtime] isolation). */
  isolation: "process" | "thread";
  /** A running thread plugin's thread id inside the runner process `pid`; null for a plugin process. */
  thread_id: number | null;
  /** `local`, or the name of the remote worker the plugin runs on. */
  machine: string;
  dir: string;
  manifest_path: string;
  entries: EntryView[];
  /** A plugin's extensions and how each stands (empty for an extension). */
  extensions: ExtensionStatus[];
  /** For an extension: the plugin it extends, and the prefix of its entry ids there; null otherwise. */
  host_plugin_id: string | null;
  prefix: string | null;
  /** The static UI the running plugin registered (`registerStaticUi`), or null. */
  ui: { path: string; dir: string } | null;
  errors: string[];
  warnings: string[];
}

export interface PluginDetailView extends PluginView {
  history: StateChange[];
  last_exit: { code: number | null; signal: string | null; stderr: string[] } | null;
  sdk_version: string | null;
}

export interface HostInfo {
  host_version: string;
  sdk_version: string;
  node_version: string;
  platform: string;
  uptime_s: number;
  /** `shadowed`: of `total`, the folders another folder with the same plugin id shadows (not plugins of their own). */
  plugins: { total: number; running: number; by_status: Record<string, number>; shadowed: number };
  /** True once `stop()` began: the host takes no more work. */
  stopping: boolean;
  dropped_frames: number;
  refused_connections: number;
  transport_endpoint: string;
  /** The remote workers connected now (empty when the host accepts none). */
  workers: WorkerView[];
  /** Where workers connect, or null. */
  worker_endpoint: string | null;
}

/** What the server (and the CLI) may ask of the host: one interface, nothing of its internals. */
export interface PluginHostApi {
  listPlugins(): PluginView[];
  getPlugin(id: string): PluginDetailView | undefined;
  callEntry(pluginId: string, entryId: string, args: unknown, options?: { timeoutMs?: number }): Promise<WireResult>;
  startPlugin(id: string): Promise<WireResult>;
  stopPlugin(id: string): Promise<WireResult>;
  /** `mode: "config"` re-reads the configuration into the running plugin (its `reload` lifecycle), no restart. */
  reloadPlugin(id: string, options?: { mode?: "full" | "config" }): Promise<WireResult>;
  reloadAll(): Promise<WireResult>;
  freezePlugin(id: string): Promise<WireResult>;
  unfreezePlugin(id: string): Promise<WireResult>;
  /** Reading and writing plugin configuration (plugin.toml, profiles, hot updates). */
  readonly config: PluginConfigApi;
  info(): HostInfo;
  /** The latest `reportStatus` of every plugin that has reported one. */
  listStatus(): PluginStatusReport[];
  /** One plugin's latest status (`status` null before its first report); undefined for an unknown plugin. */
  getStatus(id: string): { plugin_id: string; status: unknown; updated_at: string | null } | undefined;
  /**
   * Delivers `{ source, text, sender, … }` to the plugin's matching `@message` handlers; Ok with each one's result.
   * `timeoutMs` bounds the delivery (30 s by default); canceling `cancel` stops the handler running then (its result
   * is `CANCELED`), in a Python plugin as in a TypeScript one.
   */
  deliverMessage(
    pluginId: string,
    message: Record<string, unknown>,
    options?: { timeoutMs?: number; cancel?: CancelToken },
  ): Promise<WireResult>;
  /** The static UI the plugin registered, while its process runs; undefined otherwise (docs/static-ui.md). */
  staticUi(pluginId: string): StaticUi | undefined;
  /** Runs one `@onEvent` / `@customEvent` handler by type and id, like an entry call. */
  callEvent(
    pluginId: string,
    event: { eventType: string; eventId: string; args?: unknown; chain?: string[]; runId?: string },
    options?: { timeoutMs?: number; deadline?: number; cancel?: CancelToken },
  ): Promise<WireResult>;
  /** Plugins' state changes, for the admin WebSocket. */
  readonly events: Pick<HostEvents, "onStateChange">;
  readonly bus: BusApi;
  readonly messages: MessagesApi;
  readonly runs: RunsApi;
  /** Each plugin's recent log records (docs/logging.md). */
  readonly logs: LogsApi;
  /** Each plugin's process and call figures (docs/metrics.md). */
  readonly metrics: MetricsApi;
  /** Each plugin's rotated log files (docs/logging.md#log-files); undefined when the host writes none. */
  readonly logFiles: LogFilesApi | undefined;
  /** Enabling and disabling extensions in running plugins (docs/extensions.md). */
  readonly extensions: ExtensionsApi;
  /** Connections relayed to adapters (MCP sessions, …; docs/adapters.md#channels). */
  readonly channels: ChannelsApi;
}

/** The SDK's own sources are compiled into the cache once per host; a plugin's folder before each of its starts. */
let sdkSourcesWarm: Promise<unknown> | undefined;
export async function warmPluginSources(pluginDir: string, logger: HostLogger): Promise<void> {
  try {
    // Prune first: warming then refreshes the entries in use, so a prune never takes what this host needs.
    sdkSourcesWarm ??= (async () => {
      await pruneTypeScriptCache();
      await warmTypeScriptCache(sdkSourceDirs());
    })().catch((error) => {
      logger.warn({ err: error }, "could not compile the SDK's sources into the TypeScript cache");
    });
    await sdkSourcesWarm;
    await warmTypeScriptCache([pluginDir]);
  } catch (error) {
    // Only speed is lost: the plugin process compiles what it does not find.
    logger.warn({ err: error }, "could not prepare the TypeScript compile cache");
  }
}

/** The SDK's runner, what `NodePluginLauncher` starts in each plugin process. */
export const PLUGIN_RUNNER_PATH = path.join(
  path.dirname(createRequire(import.meta.url).resolve("@neko/plugin-sdk/package.json")),
  "bin",
  "plugin-runner.mjs",
);

/** The SDK's thread runner, the process `ThreadPluginLauncher` starts for the thread plugins. */
export const THREAD_RUNNER_PATH = path.join(path.dirname(PLUGIN_RUNNER_PATH), "plugin-thread-runner.mjs");

export class PluginHost implements PluginHostApi {
  /** The plugin that owns each id (the first manifest found with it). */
  private discovered = new Map<string, DiscoveredPlugin>();
  /** The warnings `judgeRunTimeDependencies` last added to each dependent, so they can go once the need is met. */
  private readonly runTimeWarnings = new Map<string, string[]>();
  /** Later manifests with an id already owned: refused, but listed so the user sees why. */
  private shadowed: DiscoveredPlugin[] = [];
  /** The plugins of remote workers, with their worker: they are in `discovered` too, but not on this machine's disk. */
  private readonly remote = new Map<string, { worker: string; d: DiscoveredPlugin; info: RemotePluginInfo }>();
  /** Settles when the host's own folders have been read: a worker's plugins are taken in after them. */
  private discovering: Promise<void> = Promise.resolve();
  /** The machine of each remote plugin folder the host knows, kept or shadowed. */
  private readonly machineOf = new WeakMap<DiscoveredPlugin, string>();
  private readonly startedAt = Date.now();
  private stopped = false;
  /** What no plugin may be granted to write, besides the other plugins' folders; found at the first discovery. */
  private sharedPaths: ProtectedPath[] | undefined;
  /** Every feature, disposed (newest first) when the host stops. */
  /** The features that say what they hold per plugin. */
  private readonly counted: DebugCounted[] = [];
  private readonly features = new DisposableStore((error) =>
    this.logger.error({ err: error }, "a feature failed to stop"),
  );
  private readonly supervisor: PluginSupervisor;
  /** Failures delivered to plugins' cross-plugin calls, so an entry passing one on is answered naming it. */
  private readonly upstream = new UpstreamFailures();
  /** Where features register what plugins may ask of the host. */
  readonly services: HostServices;
  /** What happens to plugins: state changes, finished calls, log lines. */
  readonly events: HostEvents;
  readonly config: PluginConfigService;
  private readonly statusBoard: PluginStatusBoard;
  private readonly staticUis: StaticUiRegistry;
  readonly bus: HostBus;
  readonly messages: MessageQueue;
  readonly runs: RunRegistry;
  readonly logs: PluginLogs;
  readonly logFiles: LogFiles | undefined;
  readonly metrics: PluginMetrics;
  readonly extensions: ExtensionRegistry;
  readonly channels: AdapterChannelHub;

  private constructor(
    private readonly options: PluginHostOptions,
    readonly logger: HostLogger,
    private readonly runDir: string,
    private readonly transport: HostTransport,
    private readonly hub: WorkerHub | undefined,
  ) {
    this.services = new HostServices(logger);
    const links = new PluginLinks({ logger });
    const local =
      options.launcher ??
      new LanguageLauncher({
        node: new NodePluginLauncher({ runnerPath: PLUGIN_RUNNER_PATH, logger, links }),
        python: new PythonPluginLauncher({ logger, ...(options.python && { candidates: options.python }) }),
        thread: new ThreadPluginLauncher({
          runnerPath: THREAD_RUNNER_PATH,
          logger,
          links,
          known: () => this.threadPlugins(),
          protectedPaths: () => this.sharedPaths ?? [],
        }),
      });
    this.supervisor = new PluginSupervisor({
      transport,
      services: this.services,
      launcher: hub ? new RoutedLauncher(local, hub, (id) => this.placement(id)) : local,
      runnerPath: PLUGIN_RUNNER_PATH,
      logger,
      restartPolicy: options.restartPolicy,
      stopGraceMs: options.stopGraceMs,
      launchConcurrency: options.launchConcurrency,
      launchSlotLendMs: options.launchSlotLendMs,
      heartbeatIntervalMs: options.heartbeatIntervalMs,
      prepareSources: async (dir, entryModule, access) => {
        await warmPluginSources(dir, logger);
        if (entryModule !== undefined) await links.prepare(dir, entryModule, access);
      },
    });
    const { supervisor } = this;
    this.events = {
      onStateChange: supervisor.onStateChange,
      onCall: supervisor.onCall,
      onLog: supervisor.onLog,
      onEntriesChange: supervisor.onEntriesChange,
    };
    const { capacity = DEFAULT_MESSAGE_CAPACITY, maxBytes = DEFAULT_MESSAGE_MAX_BYTES } = options.messages ?? {};
    this.bus = this.use(
      (ctx) =>
        new HostBus(ctx, {
          ...options.bus,
          namespaces: { ...options.bus?.namespaces, messages: { capacity, maxBytes } },
        }),
    );
    this.messages = this.use((ctx) => new MessageQueue(this.bus.store("messages"), ctx));
    this.use(memoryService({ bus: this.bus }));
    this.use(systemInfoService);
    this.use(pluginCallService({ maxDepth: options.maxCallDepth, runs: () => this.runs, upstream: this.upstream }));
    this.statusBoard = this.use((ctx) => new PluginStatusBoard(ctx));
    this.staticUis = this.use((ctx) => new StaticUiRegistry(ctx));
    this.config = this.use((ctx) => new PluginConfigService(ctx));
    this.extensions = this.use(
      (ctx) => new ExtensionRegistry(ctx, { prepareSources: (dir) => warmPluginSources(dir, logger) }),
    );
    this.runs = this.use((ctx) => new RunRegistry(ctx, options.runs));
    this.channels = this.use((ctx) => new AdapterChannelHub(ctx));
    this.logs = this.use((ctx) => new PluginLogs(ctx, options.logs));
    if (options.logCalls ?? callLogEnabled()) this.use(callLog);
    const fileOptions = logFilesOptions(options.logFiles, runDir, logger);
    this.logFiles = fileOptions && this.use((ctx) => new LogFiles(ctx, fileOptions));
    this.metrics = this.use(
      (ctx) =>
        new PluginMetrics(ctx, {
          build: { hostVersion: HOST_VERSION, sdkVersion: SDK_VERSION },
          droppedFrames: () => supervisor.droppedFrames,
          refusedConnections: () => transport.refusedConnections,
          bus: () => this.bus.stats(),
          logRecordsDropped: (id) => this.logs.droppedRecords(id),
          logFileLinesDropped: () => this.logFiles?.linesDropped ?? 0,
          history: { intervalMs: options.heartbeatIntervalMs ?? DEFAULT_HEARTBEAT_INTERVAL_MS },
        }),
    );
    hub?.onWorkerUp(({ name, plugins }) => {
      this.adoptWorker(name, plugins).catch((error: unknown) =>
        logger.error({ err: error, worker: name }, "could not take in a worker's plugins"),
      );
    });
    hub?.onWorkerRetired((name) => {
      for (const [id, held] of [...this.remote]) {
        if (held.worker === name) void this.forgetRemote(id);
      }
      this.shadowed = this.shadowed.filter((d) => this.machineOf.get(d) !== name);
    });
    if (hub) {
      supervisor.onStateChange(({ pluginId, change }) => {
        if (change.state === "unreachable") this.restartIfReachable(pluginId);
      });
    }
    // A provider that starts, stops or changes its entries (a dynamic entry) may meet a dependent's need, or stop to.
    supervisor.onStateChange(({ pluginId }) => this.checkRunTimeDependencies(pluginId));
    supervisor.onEntriesChange(({ pluginId }) => this.checkRunTimeDependencies(pluginId));
  }

  /** Re-judges the run-time needs of every plugin that lists `providerId` among its providers. */
  private checkRunTimeDependencies(providerId: string): void {
    for (const d of this.discovered.values()) {
      if (d.manifest?.dependencies.some((dep) => !dep.conflicts && dep.providers.includes(providerId))) {
        this.judgeRunTimeDependencies(d);
      }
    }
  }

  /**
   * The entry and custom-event dependencies of `d` that a manifest could not show (a manifest never declares custom
   * events, and may declare no entries): judged against the providers as they run now — their live entries (dynamic
   * ones included) and the events of their hello. A need is warned about only when some provider runs and none of the
   * running ones meets it; the warning goes once the need is met. A dependent whose need is missing keeps running (a
   * later dynamic entry may still come) and gets the warning in `/plugins`, logged when it first appears.
   */
  private judgeRunTimeDependencies(d: DiscoveredPlugin): void {
    const warnings: string[] = [];
    for (const dep of d.manifest?.dependencies ?? []) {
      if (dep.conflicts || (dep.entry === undefined && dep.customEvent === undefined)) continue;
      const running = dep.providers.flatMap((id) => {
        const status = this.supervisor.status(id);
        return status?.state === "running" && status.hello !== undefined ? [{ id, status }] : [];
      });
      if (running.length === 0) continue;
      const lacks = running.map(({ status }) => {
        const event = dep.customEvent;
        if (dep.entry !== undefined && !(status.entries ?? []).some((e) => e.id === dep.entry)) {
          return `entry '${dep.entry}'`;
        }
        if (event && !status.hello?.events.some((e) => e.eventType === event.eventType && e.id === event.eventId)) {
          return `custom event '${event.eventType}:${event.eventId}'`;
        }
        return undefined;
      });
      if (lacks.some((missing) => missing === undefined)) continue;
      const what = lacks[0];
      warnings.push(
        running.length === 1
          ? `plugin.toml: [[plugin.dependency]]: '${running[0].id}' is running without ${what}, which this plugin needs`
          : `plugin.toml: [[plugin.dependency]]: none of the running providers ${running.map(({ id }) => `'${id}'`).join(", ")} has ${what}, which this plugin needs`,
      );
    }
    const before = this.runTimeWarnings.get(d.id) ?? [];
    const kept = d.warnings.filter((warning) => !before.includes(warning));
    for (const warning of warnings) {
      if (!before.includes(warning)) this.logger.warn({ plugin: d.id }, warning);
    }
    d.warnings.splice(0, d.warnings.length, ...kept, ...warnings.filter((warning) => !kept.includes(warning)));
    if (warnings.length > 0) this.runTimeWarnings.set(d.id, warnings);
    else this.runTimeWarnings.delete(d.id);
  }

  /** Where a plugin runs: the name of its worker, or undefined for this machine. */
  private placement(id: string): string | undefined {
    return this.remote.get(id)?.worker;
  }

  /** The context every feature gets: the host's services, plugins, events and operations, never its internals. */
  private context(): HostContext {
    const { supervisor } = this;
    return {
      logger: this.logger,
      services: this.services,
      dataDir: this.dataDir,
      events: this.events,
      api: this,
      plugins: {
        has: (id) => this.discovered.has(id),
        ids: () => [...this.discovered.keys()],
        location: (id) => {
          const d = this.discovered.get(id);
          return d && { dir: d.dir, manifestPath: d.manifestPath };
        },
        manifest: (id) => this.discovered.get(id)?.manifest,
        state: (id) => {
          const d = this.discovered.get(id);
          return d && stateOf(d, supervisor.status(id)?.state);
        },
        hello: (id) => supervisor.status(id)?.hello,
        problems: (id) => {
          const d = this.discovered.get(id);
          return d?.status === "refused" ? [...d.problems] : [];
        },
        machine: (id) => {
          const d = this.discovered.get(id);
          return d && (this.machineOf.get(d) ?? "local");
        },
        process: (id) => {
          const status = supervisor.status(id);
          return status?.process && { pid: status.pid, ...status.process };
        },
        scope: (id) => supervisor.scope(id),
        refreshManifest: (id) => this.refreshManifest(id),
      },
      operations: {
        callEntry: (pluginId, entryId, args, callOptions) => this.callEntry(pluginId, entryId, args, callOptions),
        callEvent: (pluginId, event, callOptions) => this.callEvent(pluginId, event, callOptions),
        control: (pluginId, op, payload, controlOptions) => supervisor.control(pluginId, op, payload, controlOptions),
        push: (pluginId, topic, payload) => supervisor.push(pluginId, topic, payload),
        addLaunchContext: (context) => supervisor.addLaunchContext(context),
        addLaunchGrant: (grants) => supervisor.addLaunchGrant(grants),
        addHelloCheck: (check) => supervisor.addHelloCheck(check),
      },
    };
  }

  /** Plugs a feature in: it is disposed, with what it holds, when the host stops. */
  use<T extends { dispose(): void }>(feature: HostFeature<T>): T {
    const made = this.features.add(feature(this.context()));
    if (isDebugCounted(made)) this.counted.push(made);
    return made;
  }

  /** Discovers plugins and binds the transport; call `startAll()` to start the auto-start ones. */
  static async create(options: PluginHostOptions): Promise<PluginHost> {
    const logger = options.logger ?? createHostLogger();
    const runDir = fs.mkdtempSync(path.join(os.tmpdir(), "neko-plugin-"));
    let transport = options.transport;
    // The host whose manifests choose each plugin's local transport, once it exists (no launch happens before).
    let chooser: PluginHost | undefined;
    if (!transport) {
      const endpoint =
        options.endpoint ?? process.env.NEKO_TRANSPORT_ENDPOINT ?? `ipc://${path.join(runDir, "host.sock")}`;
      let zmq: ZmqHostTransport;
      try {
        zmq = await ZmqHostTransport.bind(endpoint, { logger });
      } catch (error) {
        fs.rmSync(runDir, { recursive: true, force: true });
        throw new Error(`could not bind the plugin transport at ${endpoint}: ${(error as Error).message}`);
      }
      const fallback = options.localTransport ?? localTransportFromEnv();
      const fromEnv = process.env[LOCAL_TRANSPORT_ENV];
      if (fromEnv && !isTransportKind(fromEnv.trim().toLowerCase())) {
        logger.warn(`${LOCAL_TRANSPORT_ENV}='${fromEnv}' is neither 'pipe' nor 'zmq': local plugins use '${fallback}'`);
      }
      transport = new SplitHostTransport(
        zmq,
        new PipeHostTransport({ logger }),
        (id) => chooser?.localTransportOf(id) ?? fallback,
      );
    }
    let hub: WorkerHub | undefined;
    if (options.workers) {
      try {
        hub = await WorkerHub.bind({ ...options.workers, logger });
      } catch (error) {
        await transport.close();
        fs.rmSync(runDir, { recursive: true, force: true });
        throw error;
      }
      let placed: PluginHost | undefined;
      transport = new RoutedHostTransport(transport, hub, (id) => placed?.placement(id));
      const host = new PluginHost(options, logger, runDir, transport, hub);
      placed = host;
      chooser = host;
      if (host.logFiles) logger.info({ dir: host.logFiles.dir }, "log files");
      host.discovering = host.discover();
      await host.discovering;
      return host;
    }
    const host = new PluginHost(options, logger, runDir, transport, undefined);
    chooser = host;
    if (host.logFiles) logger.info({ dir: host.logFiles.dir }, "log files");
    await host.discover();
    return host;
  }

  /** Where the host keeps its own data (not the plugins'; theirs is in each plugin's `data/`). */
  get dataDir(): string {
    return path.resolve(this.options.dataDir ?? process.env.NEKO_DATA_DIR ?? ".neko");
  }

  /**
   * The local transport plugin `id`'s process connects over: ZeroMQ for a Python plugin (its SDK speaks only that)
   * and for a thread plugin (its runner relays every thread's frames over its ZeroMQ connection), else its manifest's
   * `[plugin_runtime] transport`, else the host's default.
   */
  localTransportOf(id: string): TransportKind {
    const manifest = this.discovered.get(id)?.manifest;
    if (manifest?.entry.language === "python" || manifest?.runtime.isolation === "thread") return "zmq";
    return manifest?.runtime.transport ?? this.options.localTransport ?? localTransportFromEnv();
  }

  /** The parsed manifest of a plugin the host owns (undefined for unknown or unreadable ones). */
  manifest(id: string): PluginManifest | undefined {
    return this.discovered.get(id)?.manifest;
  }

  get endpoint(): string {
    return this.transport.endpoint;
  }

  /** Frames dropped from peers that never completed the handshake. */
  get droppedFrames(): number {
    return this.supervisor.droppedFrames;
  }

  /**
   * Starts every plugin whose manifest asks for it (`[plugin_runtime].auto_start`): in parallel, except that a plugin
   * waits for its `[[plugin.dependency]]` plugins to finish starting.
   */
  async startAll(): Promise<void> {
    const ids = [...this.discovered.values()]
      .filter((d) => d.status === "ok" && d.manifest?.runtime.enabled && d.manifest.runtime.autoStart)
      .filter((d) => d.manifest?.type !== "extension")
      .map((d) => d.id);
    await this.startInOrder(ids);
  }

  private startInOrder(ids: string[]): Promise<WireResult[]> {
    const lookup = (id: string) => this.discovered.get(id);
    const dependencies = (id: string) => requiredIds(lookup(id), lookup);
    return inDependencyOrder(ids, dependencies, (id) => this.supervisor.start(id, { manual: false }));
  }

  /** The plugins that name `id` as a dependency. */
  private dependentsOf(id: string): string[] {
    return [...this.discovered.values()]
      .filter((d) => requiredIds(d, (other) => this.discovered.get(other)).includes(id))
      .map((d) => d.id);
  }

  listPlugins(): PluginView[] {
    return [...this.discovered.values(), ...this.shadowed].map((d) => this.view(d));
  }

  getPlugin(id: string): PluginDetailView | undefined {
    const d = this.discovered.get(id);
    if (!d) return undefined;
    const status = this.supervisor.status(id);
    const exit = status?.lastExit;
    return {
      ...this.view(d),
      history: status?.history ?? [],
      last_exit: exit ? { code: exit.code, signal: exit.signal, stderr: exit.stderr } : null,
      sdk_version: status?.sdkVersion ?? null,
    };
  }

  callEntry(
    pluginId: string,
    entryId: string,
    args: unknown,
    options: SupervisorCallOptions = {},
  ): Promise<WireResult> {
    // Not an async function: every entry call passes here, and an Ok answer goes on as it came. A throw still
    // rejects, as it did from an async function.
    try {
      const unavailable = this.uncallable(pluginId);
      if (unavailable) return Promise.resolve(unavailable);
      return this.supervisor
        .call(pluginId, entryId, args, options)
        .then((raw) => (raw.ok ? raw : this.answerOf(pluginId, entryId, "entry", raw)));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  listStatus(): PluginStatusReport[] {
    return this.statusBoard.all();
  }

  getStatus(id: string) {
    if (!this.discovered.has(id)) return undefined;
    return this.statusBoard.get(id) ?? { plugin_id: id, status: null, updated_at: null };
  }

  staticUi(pluginId: string): StaticUi | undefined {
    return this.staticUis.get(pluginId);
  }

  deliverMessage(
    pluginId: string,
    message: Record<string, unknown>,
    options: { timeoutMs?: number; cancel?: CancelToken } = {},
  ): Promise<WireResult> {
    const unavailable = this.uncallable(pluginId);
    if (unavailable) return Promise.resolve(unavailable);
    return this.supervisor.control(pluginId, "deliver_message", { message }, options);
  }

  async callEvent(
    pluginId: string,
    event: { eventType: string; eventId: string; args?: unknown; chain?: string[]; runId?: string },
    options: { timeoutMs?: number; deadline?: number; cancel?: CancelToken } = {},
  ): Promise<WireResult> {
    const unavailable = this.uncallable(pluginId);
    if (unavailable) return unavailable;
    // The handler's own timeout bounds the wait, as an entry's does (the plugin enforces the smaller of the two).
    const declared = this.supervisor
      .status(pluginId)
      ?.hello?.events.find((e) => e.eventType === event.eventType && e.id === event.eventId)?.timeout;
    const ownMs = options.timeoutMs ?? (declared ?? DEFAULT_EVENT_TIMEOUT_SECONDS) * 1000;
    // A nested call never outlives its caller's deadline.
    const timeoutMs = timerDelay(
      options.deadline === undefined ? ownMs : Math.min(ownMs, options.deadline - Date.now()),
    );
    const payload = { ...event, args: event.args ?? {}, timeoutMs };
    const subject = `${event.eventType}:${event.eventId}`;
    const result = await this.supervisor.control(pluginId, "run_event", payload, { timeoutMs, cancel: options.cancel });
    const raw = timeoutNamed(result, pluginId, subject, "event", timeoutMs);
    return this.answerOf(pluginId, subject, "event", raw, timeoutMs);
  }

  /** What a call's caller gets: a failure passed on wrapped as UPSTREAM_ERROR, a TIMEOUT the plugin claims rebuilt. */
  private answerOf(
    pluginId: string,
    subject: string,
    kind: "entry" | "event",
    raw: WireResult,
    timeoutMs?: number,
  ): WireResult {
    const cause = raw.ok ? undefined : this.upstream.causeOf(pluginId, raw.error.upstream);
    return trustedTimeout(this.upstream.passOn(pluginId, subject, raw), raw, pluginId, subject, kind, timeoutMs, cause);
  }

  /** Why a call into this plugin cannot be made at all (unknown or refused), or undefined. */
  private uncallable(pluginId: string): WireResult | undefined {
    const d = this.discovered.get(pluginId);
    if (!d) return pluginNotFound(pluginId);
    if (d.status === "refused") {
      const reason = `plugin '${pluginId}' is refused: ${d.problems.join("; ")}`;
      return failure(ErrorCode.PluginNotRunning, reason, "SdkError", { state: "refused" });
    }
    if (d.manifest?.type === "extension" && d.manifest.host) {
      const { pluginId: hostId, prefix } = d.manifest.host;
      const reason =
        `'${pluginId}' is an extension: its entries are called through its host plugin, as ` +
        `'${hostId}:${prefix}<entry>'`;
      return failure(ErrorCode.PluginNotRunning, reason, "SdkError", { host_plugin_id: hostId, prefix });
    }
    return undefined;
  }

  startPlugin(id: string): Promise<WireResult> {
    const d = this.discovered.get(id);
    if (!d) return Promise.resolve(pluginNotFound(id));
    if (d.status === "refused") {
      return Promise.resolve(failure(ErrorCode.PluginRefused, `plugin '${id}' is refused: ${d.problems.join("; ")}`));
    }
    if (d.manifest?.type === "extension") return Promise.resolve(extensionCannotStart(id, d.manifest));
    return this.supervisor.start(id);
  }

  stopPlugin(id: string): Promise<WireResult> {
    if (!this.discovered.has(id)) return Promise.resolve(pluginNotFound(id));
    return this.supervisor.stop(id);
  }

  /** Re-reads the plugin's manifest from disk and restarts it if it was running. */
  async reloadPlugin(id: string, options: { mode?: "full" | "config" } = {}): Promise<WireResult> {
    const old = this.discovered.get(id);
    if (!old) return pluginNotFound(id);
    if (options.mode === "config") return this.config.reload(id);
    if (this.remote.has(id)) return this.reloadRemote(id);
    if (old.manifest?.type === "extension") return this.reloadExtension(id);
    // A running plugin (or one on its way there) comes back with the new manifest; a refused one is retried (its code
    // may be fixed now). A plugin refused for its manifest never ran: fixed on disk, it is started (when enabled).
    const wasRunning =
      this.supervisor.isUp(id) || this.supervisor.status(id)?.state === "refused" || old.status === "refused";
    const fresh = (await this.discoverAll()).find((d) => d.id === id && d.manifestPath === old.manifestPath);
    // Judged against the plugins as the host has them (a dependency new or changed on disk is not taken in by
    // reloading one plugin; POST /plugins/reload takes in everything).
    if (fresh?.status === "ok") {
      const loaded = (dep: string) => (dep === id ? fresh : this.discovered.get(dep));
      const problem = requirementProblem(fresh, loaded) ?? conflictProblem(fresh, loaded);
      if (problem !== undefined) {
        fresh.status = "refused";
        fresh.problems.push(`${problem} (as loaded; POST /plugins/reload takes in changes on disk)`);
      }
    }
    // A running plugin that stays a runnable plugin is swapped: its old process serves until the new one is ready,
    // and keeps serving if the new code cannot load (docs/cli.md#dev).
    if (
      fresh?.status === "ok" &&
      fresh.manifest &&
      fresh.entryModulePath &&
      fresh.manifest.type !== "extension" &&
      fresh.manifest.runtime.enabled &&
      this.supervisor.status(id)?.state === "running"
    ) {
      const spec = { id, dir: fresh.dir, manifest: fresh.manifest, entryModulePath: fresh.entryModulePath };
      const swapped = await this.supervisor.swap(id, spec);
      // A refused swap leaves the old process serving under the manifest it was started with.
      if (swapped.ok || this.supervisor.status(id)?.state !== "running") this.adopt(fresh);
      return swapped;
    }
    await this.supervisor.stop(id);
    if (!fresh) {
      await this.forgetPlugin(id);
      return failure(ErrorCode.PluginNotFound, `plugin '${id}' is no longer on disk`, "NotFoundError");
    }
    this.adopt(fresh);
    if (fresh.status !== "ok")
      return failure(ErrorCode.PluginRefused, `plugin '${id}' is refused: ${fresh.problems.join("; ")}`);
    // A folder whose manifest could not be read before may turn out to be an extension now.
    if (fresh.manifest?.type === "extension") return this.extensions.reinject(id);
    return wasRunning && fresh.manifest?.runtime.enabled !== false
      ? this.supervisor.start(id)
      : { ok: true, value: null };
  }

  /** An extension's reload: its manifest re-read, then taken out of its running host plugin and loaded again. */
  private async reloadExtension(id: string): Promise<WireResult> {
    const old = this.discovered.get(id);
    const fresh = (await this.discoverAll()).find((d) => d.id === id && d.manifestPath === old?.manifestPath);
    if (!fresh) {
      await this.forgetPlugin(id);
      return failure(ErrorCode.PluginNotFound, `plugin '${id}' is no longer on disk`, "NotFoundError");
    }
    this.adopt(fresh);
    if (fresh.status !== "ok") {
      return failure(ErrorCode.PluginRefused, `extension '${id}' is refused: ${fresh.problems.join("; ")}`);
    }
    return this.extensions.reinject(id);
  }

  /** A remote plugin's reload: its manifest as the host holds it (the worker's, with the changes made here). */
  private async reloadRemote(id: string): Promise<WireResult> {
    const wasRunning = this.supervisor.isUp(id) || this.supervisor.status(id)?.state === "refused";
    await this.supervisor.stop(id);
    const fresh = this.rereadRemote(id);
    if (fresh) this.adopt(fresh);
    if (fresh?.status !== "ok") {
      return failure(ErrorCode.PluginRefused, `plugin '${id}' is refused: ${fresh?.problems.join("; ")}`);
    }
    return wasRunning ? this.supervisor.start(id) : { ok: true, value: null };
  }

  /** A remote plugin's folder as the host keeps it, read again (its plugin.toml is the one the config routes edit). */
  private rereadRemote(id: string): DiscoveredPlugin | undefined {
    const held = this.remote.get(id);
    if (!held) return undefined;
    const text = fs.readFileSync(held.d.manifestPath, "utf8");
    // The worker's own verdict (its entry module, its SDK range) stands until it says hello again.
    const fresh = remotePlugin(held.d.dir, held.d.manifestPath, text, held.info);
    this.remote.set(id, { ...held, d: fresh });
    this.machineOf.set(fresh, held.worker);
    return fresh;
  }

  /**
   * A worker said hello: its plugins join the host (kept in `<run folder>/workers/<name>/<id>/plugin.toml`, so the
   * configuration routes work on them), the ones it no longer has are forgotten, and those that ran on it before it
   * was lost, or that start on their own, are started.
   */
  private async adoptWorker(worker: string, plugins: RemotePluginInfo[]): Promise<void> {
    await this.discovering;
    if (this.stopped || !this.hub?.isConnected(worker)) return;
    const ids = new Set(plugins.map((p) => p.id));
    for (const [id, held] of [...this.remote]) {
      if (held.worker === worker && !ids.has(id)) await this.forgetRemote(id);
    }
    // A worker's refused duplicates are listed once, as of its latest hello.
    this.shadowed = this.shadowed.filter((d) => this.machineOf.get(d) !== worker);
    const toStart: string[] = [];
    const root = path.join(this.runDir, "workers", worker);
    for (const info of plugins) {
      const owner = this.discovered.get(info.id);
      const ownerWorker = this.remote.get(info.id)?.worker;
      // An id held by a worker that is gone passes to the one here now (a machine back under a new name).
      if (owner && ownerWorker !== undefined && ownerWorker !== worker && !this.hub.isConnected(ownerWorker)) {
        await this.forgetRemote(info.id);
      }
      const dir = path.join(root, info.id);
      fs.mkdirSync(dir, { recursive: true });
      const manifestPath = path.join(dir, "plugin.toml");
      const held = this.remote.get(info.id);
      // The host's copy (with the changes made through the API) is kept across reconnects while the worker offers
      // the same manifest; a manifest changed on the worker replaces it.
      const keep = held?.worker === worker && held.info.manifest === info.manifest && fs.existsSync(manifestPath);
      const text = keep ? fs.readFileSync(manifestPath, "utf8") : info.manifest;
      const d = remotePlugin(dir, manifestPath, text, info);
      this.machineOf.set(d, worker);
      const taken = this.discovered.get(d.id);
      if (taken && this.remote.get(d.id)?.worker !== worker) {
        d.status = "refused";
        const where = this.machineOf.get(taken) ? `worker '${this.machineOf.get(taken)}'` : "this machine";
        d.problems.push(`duplicate plugin id '${d.id}': already defined on ${where} (${taken.manifestPath})`);
        this.shadowed.push(d);
        this.logger.warn({ plugin: d.id, worker }, `refused: ${d.problems.join("; ")}`);
        continue;
      }
      if (!keep) fs.writeFileSync(manifestPath, text);
      this.remote.set(d.id, { worker, d, info });
      const state = this.supervisor.status(d.id)?.state;
      this.adopt(d);
      const enabled = d.status === "ok" && d.manifest?.runtime.enabled === true && d.manifest.type !== "extension";
      const startsOnItsOwn = d.manifest?.runtime.autoStart === true && state === undefined;
      if (enabled && (state === "unreachable" || startsOnItsOwn)) toStart.push(d.id);
    }
    await this.startInOrder(toStart);
  }

  private async forgetRemote(id: string): Promise<void> {
    const held = this.remote.get(id);
    await this.forgetPlugin(id);
    this.remote.delete(id);
    if (held) fs.rmSync(held.d.dir, { recursive: true, force: true });
  }

  /** A plugin of a connected worker became unreachable (its process's exit was lost on the way): start it again. */
  private restartIfReachable(id: string): void {
    const worker = this.remote.get(id)?.worker;
    if (worker === undefined || !this.hub?.isConnected(worker) || this.stopped) return;
    setImmediate(() => {
      if (this.supervisor.status(id)?.state !== "unreachable" || !this.hub?.isConnected(worker)) return;
      void this.supervisor.start(id, { manual: false });
    });
  }

  /** A plugin whose folder is gone: stopped, and nothing of it kept (its scope goes with it). */
  private async forgetPlugin(id: string): Promise<void> {
    const wasExtension = this.discovered.get(id)?.manifest?.type === "extension";
    await this.supervisor.remove(id);
    this.discovered.delete(id);
    // A plugin still holding it lets it go.
    if (wasExtension) this.extensions.resync();
  }

  /** Re-discovers every root: new plugins appear, removed ones stop, running ones restart with the new manifest. */
  async reloadAll(): Promise<WireResult> {
    const running = new Set(this.supervisor.ids().filter((id) => this.supervisor.isUp(id)));
    const previous = new Set(this.discovered.keys());
    const found = await this.discoverAll();
    const foundIds = new Set(found.map((d) => d.id));
    // Remote plugins are their workers' to find: a reload of this machine's folders leaves them be.
    const localIds = [...this.discovered.keys()].filter((id) => !this.remote.has(id));
    await inDependencyOrder(
      localIds,
      (id) => this.dependentsOf(id),
      (id) => this.supervisor.stop(id),
    );
    for (const id of localIds) {
      if (!foundIds.has(id)) await this.forgetPlugin(id);
    }
    this.adoptAll(found);
    // Running plugins (and those starting or about to restart) come back; plugins new on disk start if they ask to.
    const toStart = found.filter(
      (d) =>
        d.status === "ok" &&
        d.manifest?.type !== "extension" &&
        (running.has(d.id) || (!previous.has(d.id) && d.manifest?.runtime.enabled && d.manifest.runtime.autoStart)),
    );
    const results = await this.startInOrder(toStart.map((d) => d.id));
    const failed = results.filter((r) => !r.ok).length;
    return { ok: true, value: { total: found.length, started: toStart.length - failed, failed } };
  }

  /** Runs `freeze`, saves the plugin's freezable fields and stops it; `frozen` until started again (SPEC §4.6). */
  async freezePlugin(id: string): Promise<WireResult> {
    if (!this.discovered.has(id)) return pluginNotFound(id);
    const result = await this.supervisor.freeze(id);
    if (result.ok || FREEZE_PASSTHROUGH.has(result.error.code)) return result;
    return failure(ErrorCode.FreezeRefused, `plugin '${id}' was not frozen: ${result.error.message}`, "SdkError", {
      cause: result.error,
    });
  }

  /** Starts a frozen plugin: the new process gets its saved fields back, then runs `unfreeze`. */
  async unfreezePlugin(id: string): Promise<WireResult> {
    if (!this.discovered.has(id)) return pluginNotFound(id);
    const state = this.supervisor.status(id)?.state ?? "stopped";
    if (state === "running") return { ok: true, value: null };
    if (state !== "frozen") {
      const message = `plugin '${id}' is not frozen (state: ${state}); use /start to start it`;
      return failure(ErrorCode.NotFrozen, message, "SdkError", { state });
    }
    return this.startPlugin(id);
  }

  info(): HostInfo {
    const byStatus: Record<string, number> = {};
    for (const p of this.listPlugins()) byStatus[p.status] = (byStatus[p.status] ?? 0) + 1;
    return {
      host_version: HOST_VERSION,
      sdk_version: SDK_VERSION,
      node_version: process.version,
      platform: `${process.platform}-${process.arch}`,
      uptime_s: Math.round((Date.now() - this.startedAt) / 1000),
      plugins: {
        total: this.discovered.size + this.shadowed.length,
        running: byStatus.running ?? 0,
        by_status: byStatus,
        shadowed: this.shadowed.length,
      },
      stopping: this.stopped,
      dropped_frames: this.supervisor.droppedFrames,
      refused_connections: this.transport.refusedConnections,
      transport_endpoint: this.transport.endpoint,
      workers: this.hub?.workers() ?? [],
      worker_endpoint: this.hub?.endpoint ?? null,
    };
  }

  /** Stops every plugin process, closes the socket and removes the run folder. Safe to call twice. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await this.supervisor.stopAll((id) => this.dependentsOf(id));
    this.features.dispose();
    this.supervisor.dispose();
    await this.transport.close();
    // The last lines reach the log files before the process may exit (and before a default log folder goes).
    await this.logFiles?.whenClosed();
    fs.rmSync(this.runDir, { recursive: true, force: true });
  }

  /**
   * What the host holds now, for leak checks: per-plugin disposables, listeners, handlers, calls in flight. After a
   * plugin has started, been called and stopped, every count is back where it was.
   */
  debugCounts(): Record<string, number> {
    return Object.assign(
      {
        ...this.supervisor.debugCounts(),
        ...this.upstream.debugCounts(),
        services: this.services.size,
        features: this.features.size,
      },
      ...this.counted.map((feature) => feature.debugCounts()),
    );
  }

  /**
   * What a running plugin's process holds now (`runtime.counts`): its entries, hooks, timers, bus handlers and
   * watches, extensions, and the process's active timers and handles — for leak checks from outside the process.
   */
  runtimeCounts(id: string): Promise<WireResult> {
    return this.supervisor.control(id, "runtime.counts", null);
  }

  private async discover(): Promise<void> {
    this.adoptAll(await this.discoverAll());
  }

  private adoptAll(found: DiscoveredPlugin[]): void {
    this.shadowed = [];
    // The same owner per id as the dependency checks: a folder that only guesses its id never hides a real manifest.
    const owners = ownersOf(found);
    for (const d of found) {
      const worker = this.remote.get(d.id)?.worker;
      if (worker !== undefined) {
        d.status = "refused";
        d.problems.push(`duplicate plugin id '${d.id}': already defined on worker '${worker}'`);
      }
      if (owners.get(d.id) !== d || worker !== undefined) {
        this.shadowed.push(d);
        this.logger.warn({ plugin: d.id, problems: d.problems }, `refused: ${d.problems.join("; ")}`);
        continue;
      }
      this.adopt(d);
    }
  }

  /** Re-reads one plugin's manifest after its configuration changed on disk, keeping its process and state. */
  private async refreshManifest(id: string): Promise<void> {
    if (this.remote.has(id)) {
      const fresh = this.rereadRemote(id);
      if (fresh) this.adopt(fresh);
      return;
    }
    const old = this.discovered.get(id);
    const fresh = (await this.discoverAll()).find((d) => d.id === id && d.manifestPath === old?.manifestPath);
    if (fresh) this.adopt(fresh);
  }

  private async discoverAll(): Promise<DiscoveredPlugin[]> {
    const found = await discoverPlugins({
      roots: this.options.roots,
      folders: this.options.pluginFolders,
      sdkVersion: SDK_VERSION,
    });
    this.refuseUnsafeWriteGrants(found);
    return found;
  }

  /** A plugin granted to write where other plugins' code or the host's state is would have the others' rights. */
  private refuseUnsafeWriteGrants(found: DiscoveredPlugin[]): void {
    const cacheDir = defaultCacheDir();
    this.sharedPaths ??= [
      ...runnerPackagePaths(PLUGIN_RUNNER_PATH).map((p) => ({
        path: p,
        what: "the SDK or a package it loads in every plugin",
      })),
      ...(cacheDir === undefined ? [] : [{ path: cacheDir, what: "the TypeScript compile cache every plugin loads" }]),
      { path: this.runDir, what: "the host's run folder (the socket every plugin connects to)" },
      { path: this.dataDir, what: "the host's data folder (the memory all plugins share)" },
    ];
    refuseUnsafeWriteGrants(found, this.sharedPaths, realpathOrSelf);
  }

  /** The thread plugins known now, with what each may touch: a new thread runner is started for all of them. */
  private threadPlugins(): ThreadPluginAccess[] {
    // Only plugins that may launch: a refused one (an unsafe fs_write grant above all) must not widen a runner.
    return [...this.discovered.values()].flatMap((d) =>
      d.status === "ok" && d.manifest?.runtime.isolation === "thread" && d.manifest.entry.language === undefined
        ? [{ pluginDir: d.dir, permissions: launchPermissions(d.manifest) }]
        : [],
    );
  }

  private adopt(d: DiscoveredPlugin): void {
    const log = this.logger.child({ plugin: d.id });
    for (const w of d.warnings) log.warn(w);
    if (d.status !== "ok") log.warn({ problems: d.problems }, `refused: ${d.problems.join("; ")}`);
    const extension = d.manifest?.type === "extension" || this.discovered.get(d.id)?.manifest?.type === "extension";
    this.discovered.set(d.id, d);
    this.runTimeWarnings.delete(d.id);
    this.judgeRunTimeDependencies(d);
    // Its host, its enabled flag or its code may have changed: the plugins holding or wanting it follow.
    if (extension) this.extensions.resync();
    if (d.status === "ok" && d.manifest && d.entryModulePath) {
      const spec = { id: d.id, dir: d.dir, manifest: d.manifest, entryModulePath: d.entryModulePath };
      if (this.supervisor.has(d.id)) this.supervisor.updateSpec(spec);
      else this.supervisor.add(spec);
    }
  }

  private view(d: DiscoveredPlugin): PluginView {
    const m = d.manifest;
    const status = this.supervisor.status(d.id);
    const liveEntries = status?.entries;
    // An entry is shown as an extension's only when that extension names this plugin: a process cannot claim others.
    const ownExtensions = liveEntries?.some((e) => e.extensionId) ? new Set(this.extensions.of(d.id)) : undefined;
    const entries: EntryView[] = liveEntries
      ? liveEntries.map((e) => entryView(e, ownExtensions))
      : (m?.entries ?? []).map((e) =>
          entryView({
            id: e.id,
            name: e.name ?? e.id,
            description: e.description ?? "",
            inputSchema: (e.inputSchema as Record<string, unknown> | undefined) ?? null,
            kind: "action",
            timeout: e.timeout ?? 30,
            llmResultFields: null,
            autoStart: false,
            persist: null,
            enabled: true,
            dynamic: false,
            metadata: null,
          }),
        );
    const owner = this.discovered.get(d.id) === d;
    const extension = m?.type === "extension" && owner ? this.extensions.view(d.id) : undefined;
    const state = extension?.state ?? stateOf(d, status?.state);
    // A duplicate id's later folder shows nothing of the owner's UI.
    const ui = owner ? this.staticUis.get(d.id) : undefined;
    const reason = extension
      ? extension.reason
      : d.status === "refused"
        ? d.problems.join("; ")
        : (status?.reason ?? null);
    return {
      id: d.id,
      name: m?.name ?? d.id,
      description: m?.description ?? "",
      version: m?.version ?? "0.0.0",
      type: m?.type ?? "plugin",
      author: m?.author ?? null,
      status: state,
      status_reason: reason,
      pid: status?.pid ?? null,
      isolation: m?.runtime.isolation ?? "process",
      thread_id: status?.threadId ?? null,
      machine: this.machineOf.get(d) ?? "local",
      dir: d.dir,
      manifest_path: d.manifestPath,
      entries,
      ...triggerViews(status?.hello),
      extensions: owner && m?.type !== "extension" ? this.extensions.listFor(d.id) : [],
      host_plugin_id: m?.host?.pluginId ?? null,
      prefix: m?.host?.prefix ?? null,
      ui: ui ? { path: ui.path, dir: ui.dir } : null,
      errors: state === "refused" && d.status === "ok" && reason ? [reason] : d.problems,
      warnings: d.warnings,
    };
  }
}

/** The log files' settings: the options', else the environment's, else the defaults; undefined for none. */
function logFilesOptions(
  given: Partial<LogFilesOptions> | false | undefined,
  runDir: string,
  logger: HostLogger,
): LogFilesOptions | undefined {
  if (given === false) return undefined;
  const env = process.env;
  const count = (name: string, fallback: number, min: number): number => {
    const text = env[name];
    if (text === undefined || text === "") return fallback;
    const n = Number(text);
    if (Number.isInteger(n) && n >= min) return n;
    logger.warn(`${name} must be a whole number ≥ ${min} (got '${text}'): using ${fallback}`);
    return fallback;
  };
  return {
    ...given,
    dir: path.resolve(given?.dir ?? (env.NEKO_LOG_DIR || path.join(runDir, "logs"))),
    maxBytes: given?.maxBytes ?? count("NEKO_LOG_MAX_BYTES", DEFAULT_LOG_FILE_MAX_BYTES, 1024),
    keep: given?.keep ?? count("NEKO_LOG_KEEP", DEFAULT_LOG_FILES_KEPT, 0),
  };
}

function isDebugCounted(feature: object): feature is DebugCounted {
  return typeof (feature as Partial<DebugCounted>).debugCounts === "function";
}

/** A plugin refused at discovery is `refused` whatever the supervisor last knew of it. */
function stateOf(d: DiscoveredPlugin, supervised: PluginState | undefined): PluginState {
  return d.status === "refused" ? "refused" : (supervised ?? "stopped");
}

function entryView(e: EntryDescriptor, extensions?: ReadonlySet<string>): EntryView {
  return {
    id: e.id,
    name: e.name,
    description: e.description,
    input_schema: e.inputSchema,
    kind: e.kind,
    timeout: e.timeout,
    llm_result_fields: e.llmResultFields,
    auto_start: e.autoStart ?? false,
    persist: e.persist ?? null,
    enabled: e.enabled,
    dynamic: e.dynamic,
    metadata: e.metadata ?? null,
    extension_id: e.extensionId && extensions?.has(e.extensionId) ? e.extensionId : null,
  };
}

/** Starting an extension by itself: refused, naming the plugin to start instead. */
function extensionCannotStart(id: string, manifest: PluginManifest): WireResult {
  const hostId = manifest.host?.pluginId ?? "";
  return failure(
    ErrorCode.ExtensionCannotStartIndependent,
    `'${id}' is an extension of '${hostId}': it runs inside that plugin's process and cannot start on its own; ` +
      `start '${hostId}' (its enabled extensions load with it)`,
    "SdkError",
    { host_plugin_id: hostId },
  );
}

/** Freeze errors that are not the plugin refusing (its `freeze` handler's Err, an unsavable field): passed on as is. */
const FREEZE_PASSTHROUGH = new Set<string>([
  ErrorCode.PluginNotFound,
  ErrorCode.PluginNotRunning,
  ErrorCode.PluginCrashed,
  ErrorCode.Timeout,
  ErrorCode.Transport,
]);

/**
 * A remote plugin as the host holds it: the worker's own verdict (it checked the entry module and the SDK range on
 * its machine) and the host's reading of the manifest text it keeps.
 */
function remotePlugin(dir: string, manifestPath: string, text: string, info: RemotePluginInfo): DiscoveredPlugin {
  const parsed = parseManifest(text, { file: manifestPath });
  const problems = [...info.problems];
  const warnings = [...info.warnings];
  let manifest: PluginManifest | undefined;
  if (parsed.ok) {
    manifest = parsed.manifest;
    warnings.push(...parsed.warnings.map((w) => w.message));
    if (manifest.id !== info.id) problems.push(`the manifest's id '${manifest.id}' is not the worker's '${info.id}'`);
  } else if (info.status === "ok") {
    problems.push(...parsed.problems.map((p) => p.message));
    warnings.push(...parsed.warnings.map((w) => w.message));
  }
  return {
    id: info.id,
    idGuessed: false,
    dir,
    manifestPath,
    manifest,
    // Only the worker knows where the module is; it launches from its own folder.
    entryModulePath: manifest ? `${dir}/${manifest.entry.module}` : undefined,
    status: problems.length > 0 || !manifest ? "refused" : "ok",
    problems,
    warnings,
  };
}
