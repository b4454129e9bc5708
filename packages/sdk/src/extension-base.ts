/**
 * `NekoExtensionBase`: the class every extension extends (SPEC §3.6, docs/extensions.md). An extension runs inside its
 * host plugin's process. It has its own identity, configuration, store and data folder, and shares the host plugin's
 * connection: its cross-plugin calls, bus events and messages go out as the host plugin. Everything it registers
 * (bus handlers, watches, timers, `onDispose` callbacks) is disposed when it is taken out.
 */
import os from "node:os";
import path from "node:path";
import { type Disposable, DisposableStore, toDisposable } from "@neko/protocol";
import { PluginBus } from "./bus/plugin-bus.ts";
import { type ExtensionContext, takePendingExtensionContext } from "./extension-context.ts";
import { MemoryClient } from "./memory-client.ts";
import type { NekoPluginBase } from "./plugin-base.ts";
import { closeConfig, PluginConfig } from "./plugin-config.ts";
import { createPluginLogger, type PluginLogger } from "./plugin-logger.ts";
import { dataPathUnder, PluginStore, storeEnabled } from "./plugin-store.ts";
import { PluginsClient } from "./plugins-client.ts";
import { type PushMessageInput, pushMessage } from "./push-message.ts";
import { type RunExport, type RunFinish, RunReporter, type RunUpdate } from "./run-reporter.ts";
import { detachedBridge, type HostBridge } from "./runtime/host-client.ts";
import { TimerScheduler, type TimerStartOptions } from "./runtime/timer-scheduler.ts";
import { SystemInfoClient } from "./system-info.ts";

export abstract class NekoExtensionBase<H extends NekoPluginBase = NekoPluginBase> {
  /** The extension's own id (its `[plugin].id`). */
  readonly extensionId: string;
  /** The id of the plugin it extends. */
  readonly hostId: string;
  /** What its entry ids are prefixed with under the host plugin. */
  readonly prefix: string;
  /** Its parsed plugin.toml. */
  readonly metadata: Record<string, unknown>;
  /** Its own folder. */
  readonly configDir: string;
  /** Tagged with the host plugin's id and `extension: <id>`. */
  readonly logger: PluginLogger;
  /** Its own configuration (its plugin.toml and profile); writes go to its plugin.toml. */
  readonly config: PluginConfig;
  /** Its own store: `<extension folder>/data/store.sqlite`, not the host plugin's. */
  readonly store: PluginStore;
  /** Calls into other plugins, made as the host plugin (its `allow_calls` apply). */
  readonly plugins: PluginsClient;
  /** The host bus as the host plugin sees it; handlers and watches end when the extension is taken out. */
  readonly bus: PluginBus;
  readonly memory: MemoryClient;
  readonly systemInfo: SystemInfoClient;
  readonly #host: H | undefined;
  readonly #context: ExtensionContext;
  readonly #bridge: HostBridge;
  readonly #runReporter: RunReporter;

  constructor(context?: ExtensionContext) {
    const ctx = context ?? takePendingExtensionContext() ?? standaloneContext(new.target.name);
    this.#context = ctx;
    this.#host = ctx.host as H | undefined;
    const bridge = ctx.host?.ctx.bridge ?? detachedBridge;
    this.#bridge = bridge;
    this.extensionId = ctx.extensionId;
    this.hostId = ctx.host?.pluginId ?? "";
    this.prefix = ctx.prefix;
    this.metadata = ctx.metadata;
    this.configDir = ctx.configDir;
    this.logger = ctx.logger;
    this.config = new PluginConfig(ctx.config, bridge, { extension: ctx.extensionId });
    const store = new PluginStore({
      pluginId: ctx.extensionId,
      dataDir: ctx.dataDir,
      enabled: storeEnabled(ctx.metadata),
    });
    const gone = `extension '${ctx.extensionId}' was taken out of its plugin`;
    ctx.scope.add(toDisposable(() => store.dispose(gone)));
    ctx.scope.add(toDisposable(() => this.config[closeConfig](gone)));
    this.store = store;
    this.plugins = new PluginsClient(bridge, this.hostId);
    this.bus = new PluginBus(bridge, ctx.logger, ctx.scope);
    this.memory = new MemoryClient(bridge);
    this.systemInfo = new SystemInfoClient(bridge);
    this.#runReporter = new RunReporter(bridge);
  }

  /**
   * The plugin this extension is loaded into, as its class declares it (`NekoExtensionBase<MyPlugin>`): its public
   * methods and fields. Throws outside a plugin process.
   */
  get host(): H {
    if (!this.#host) {
      throw new Error(`extension ${this.constructor.name} is not loaded into a plugin: this.host is there once it is`);
    }
    return this.#host;
  }

  /**
   * Runs `cleanup` (or disposes it) when the extension is taken out: for what the SDK cannot see — a raw
   * `setInterval`, a listener on the host plugin's own emitter, a socket. Returns the way to run it earlier.
   */
  onDispose(cleanup: (() => void) | Disposable): () => void {
    const held = this.#context.scope.add(typeof cleanup === "function" ? toDisposable(cleanup) : cleanup);
    return () => this.#context.scope.delete(held);
  }

  /** Starts one of its `@timerInterval` timers (options as the plugin's `startTimer`); false for an unknown id. */
  startTimer(id: string, options?: TimerStartOptions): boolean {
    return this.#context.timers.start(id, options);
  }

  stopTimer(id: string): boolean {
    return this.#context.timers.stop(id);
  }

  /** Puts a message on the host message queue, from the host plugin (`source` defaults to the extension id). */
  pushMessage(message: PushMessageInput) {
    return pushMessage(this.#bridge, { source: this.extensionId, ...message });
  }

  /** Reports progress of the current run (an extension entry called as a run). */
  runUpdate(update: RunUpdate) {
    return this.#runReporter.update(update);
  }

  exportPush(item: RunExport) {
    return this.#runReporter.exportPush(item);
  }

  finish(outcome: RunFinish = {}) {
    return this.#runReporter.finish(outcome);
  }

  /** The files clients uploaded to the current run (`POST /runs/{id}/uploads`): `{ uploadId, name, mime, size, time }`. */
  runUploads() {
    return this.#runReporter.uploads();
  }

  /** One file uploaded to the current run, with its bytes (`data`). */
  readRunUpload(uploadId: string) {
    return this.#runReporter.readUpload(uploadId);
  }

  /** A path under the extension's own `data/` folder; the folder is created on first use. */
  dataPath(...parts: string[]): string {
    return dataPathUnder(this.#context.dataDir, parts, "extension");
  }
}

/** Outside a plugin process (a unit test constructing the class by hand): a throwaway context, no host. */
function standaloneContext(className: string): ExtensionContext {
  const logger = createPluginLogger(className, { level: "warn" });
  const configDir = process.cwd();
  return {
    extensionId: className,
    host: undefined,
    prefix: "",
    metadata: {},
    config: {},
    configDir,
    dataDir: path.join(os.tmpdir(), `neko-standalone-${className}`, "data"),
    logger,
    scope: new DisposableStore(),
    timers: new TimerScheduler(logger),
  };
}
