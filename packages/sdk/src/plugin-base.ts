/** `NekoPluginBase`: the class every plugin extends (SPEC §3.4). */
import os from "node:os";
import path from "node:path";
import { createPluginContext, type PluginContext, takePendingContext } from "./plugin-context.ts";
import {
  type EntryDescriptor,
  STATIC_UI_DEFAULTS,
  type StaticUiInfo,
  STATUS_REPORT_MAX_BYTES,
  staticUiRegistrationProblem,
} from "@neko/protocol";
import type { z } from "zod";
import type { EntryContext } from "./entry-context.ts";
import type { EntryOptions } from "./plugin-metadata.ts";
import { createPluginLogger } from "./plugin-logger.ts";
import type { PluginFileLogger } from "./plugin-file-logger.ts";
import { PluginConfig } from "./plugin-config.ts";
import type { ConfigOf, ConfigSchema, ConfigSource } from "./config-schema.ts";
import { type SdkError, ValidationError } from "./errors.ts";
import { Err, Ok, type Result } from "./result.ts";
import type { PluginRouter } from "./plugin-router.ts";
import { type RouterInfo, RouterMounts } from "./runtime/router-mounts.ts";
import type { TimerStartOptions } from "./runtime/timer-scheduler.ts";
import { SystemInfoClient } from "./system-info.ts";
import { MemoryClient } from "./memory-client.ts";
import { PluginsClient } from "./plugins-client.ts";
import { databaseOptions, PluginDatabase } from "./plugin-database.ts";
import { dataPathUnder, PluginStore, storeEnabled } from "./plugin-store.ts";
import { PluginBus } from "./bus/plugin-bus.ts";
import { type PushMessageInput, pushMessage } from "./push-message.ts";
import { type RunExport, type RunFinish, RunReporter, type RunUpdate } from "./run-reporter.ts";
import { toResult } from "./wire-result.ts";

/** The args of a dynamic entry: what its `params` parse to; anything (the handler says) without a schema of its own. */
type DynamicEntryArgs<S> = S extends z.ZodType ? (unknown extends z.output<S> ? any : z.output<S>) : any;

export interface StaticUiOptions {
  /** The file served for a folder's URL; default `index.html`. */
  indexFile?: string;
  /** The `Cache-Control` header of every file; default `no-cache` (the browser revalidates with the ETag). */
  cacheControl?: string;
}

/** Where and how the host serves the UI (the `Ok` of `registerStaticUi`). */
export type { StaticUiInfo };

/**
 * `C` types `this.config.value`: the plugin's `configSchema` when it is Zod (`NekoPluginBase<typeof Settings>`), or the
 * shape of its own tables written as a type.
 */
export abstract class NekoPluginBase<C extends ConfigSource = ConfigSource> {
  /**
   * The plugin's own configuration tables (not `[plugin]` and the other manifest tables), as a Zod schema or a JSON
   * Schema object: checked at start and on every write, served at `GET /plugin/{id}/config/schema` (docs/config.md).
   */
  static configSchema?: ConfigSchema;
  readonly pluginId: string;
  readonly metadata: Record<string, unknown>;
  readonly configDir: string;
  readonly logger: PluginFileLogger;
  readonly ctx: PluginContext;
  /** Host name, versions, platform, uptime, plugin counts and resources (SPEC §3.4). */
  readonly systemInfo: SystemInfoClient;
  /** The other plugins, and calls into them (SPEC §4.3). */
  readonly plugins: PluginsClient;
  /** This plugin's persistent key-value store, `data/store.sqlite` (SPEC §4.5). */
  readonly store: PluginStore;
  /** This plugin's own SQLite database, `data/<[plugin.database].name>`: `kv`, `sql`, `query` (the original's `db`). */
  readonly db: PluginDatabase;
  /** The host's shared memory store with full-text search (SPEC §5.3). */
  readonly memory: MemoryClient;
  /** The effective configuration: `get`, `require`, `dump`, `set`, `update` (SPEC §3.4, docs/config.md). */
  readonly config: PluginConfig<ConfigOf<C>>;
  /** Events across plugins and the host's queryable namespaces (SPEC §4.4, docs/bus.md). */
  readonly bus: PluginBus;
  private readonly runReporter: RunReporter;
  private readonly routers: RouterMounts;

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
    this.db = new PluginDatabase({
      pluginId: ctx.pluginId,
      dataDir: ctx.dataDir,
      ...databaseOptions(ctx.metadata, ctx.pluginId),
    });
    this.memory = new MemoryClient(ctx.bridge);
    this.config = new PluginConfig(ctx.config ?? ctx.metadata, ctx.bridge, {
      schema: (new.target as { configSchema?: ConfigSchema }).configSchema,
    });
    this.bus = new PluginBus(ctx.bridge, ctx.logger);
    this.runReporter = new RunReporter(ctx.bridge);
    this.routers = new RouterMounts(this);
  }

  /**
   * Adds an entry at run time; it is listed by `/plugins` and callable at once. An id already taken is refused
   * with a `TypeError`. The handler is called with `this` bound to the plugin. With `params` in `meta`, the handler's
   * args are typed from it (`({ by }) => …` needs no annotation); without, the handler says what it takes.
   */
  registerDynamicEntry<S extends z.ZodType | undefined = undefined>(
    id: string,
    handler: (this: this, args: NoInfer<DynamicEntryArgs<S>>, ctx: EntryContext) => unknown,
    meta: Omit<EntryOptions, "id" | "params"> & { params?: S } = {},
  ): EntryDescriptor {
    return this.ctx.entries.add({ ...meta, id }, handler.bind(this), { dynamic: true });
  }

  /** Removes a dynamic entry; false when there is none with that id. */
  unregisterDynamicEntry(id: string): boolean {
    return this.ctx.entries.remove(id);
  }

  /**
   * Mounts a router: each of its `@pluginEntry` methods becomes an entry `<prefix><id>` (the prefix verbatim:
   * `{ prefix: "notes_" }` gives `notes_add`), listed and callable at once, and its hooks apply to those entries.
   * All or nothing: a taken id, a malformed router or a router already included gives `Err(ValidationError)` and
   * changes nothing. `name` (default: the class name) is what `getRouter` finds it by; an explicit name must be unused.
   * Inside the router, `this.plugin` is this plugin. See docs/routers.md.
   */
  includeRouter(
    router: PluginRouter,
    options: { prefix?: string; name?: string } = {},
  ): Result<EntryDescriptor[], ValidationError> {
    return this.routers.include(router, options);
  }

  /**
   * The included router named `name` (given to `includeRouter`, else its class name), typed as the caller says;
   * undefined when none is.
   */
  getRouter<R extends PluginRouter = PluginRouter>(name: string): R | undefined {
    return this.routers.get(name) as R | undefined;
  }

  /** The included routers, in the order they were included: name, prefix and the entry ids each added. */
  listRouters(): RouterInfo[] {
    return this.routers.list();
  }

  /** Takes a router's entries and hooks out again (calls in progress finish); false when it is not included. */
  excludeRouter(router: PluginRouter): boolean {
    return this.routers.exclude(router);
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
    this.ctx.bridge.notify("status.report", { status: JSON.parse(json) });
    return Ok({ bytes });
  }

  /**
   * Serves `<plugin folder>/<dir>` at `/plugin/<id>/ui/` while this process runs (docs/static-ui.md). The host checks
   * the folder: a `dir` that is absolute, leaves the plugin folder (also through a symbolic link), is missing or is
   * not a folder is an `Err(ValidationError)` naming it. Another call replaces the registration. From a constructor
   * the request waits for the handshake, so it may be called there without `await`.
   */
  async registerStaticUi(
    dir = STATIC_UI_DEFAULTS.dir,
    options: StaticUiOptions = {},
  ): Promise<Result<StaticUiInfo, SdkError>> {
    const registration = {
      dir,
      indexFile: options.indexFile ?? STATIC_UI_DEFAULTS.indexFile,
      cacheControl: options.cacheControl ?? STATIC_UI_DEFAULTS.cacheControl,
    };
    const problem = staticUiRegistrationProblem(registration);
    if (problem) {
      return Err(new ValidationError(`registerStaticUi: ${problem.message}`, { details: { field: problem.field } }));
    }
    return toResult(await this.ctx.bridge.request("static_ui.register", registration));
  }

  /**
   * The original's `self.file_logger`: the same logger as `this.logger` (its lines go to the host's log and, once
   * `this.logger.enableFileLogging(...)` was called, to the plugin's own file too).
   */
  get fileLogger(): PluginFileLogger {
    return this.logger;
  }

  /**
   * Starts a `@timerInterval` timer: its first tick comes one interval later, or at once with `runImmediately`. With
   * `seconds`, that interval instead of the declared or configured one until the timer stops; a running timer given
   * options starts over with them. False for an unknown id; a TypeError for a bad `seconds`.
   */
  startTimer(id: string, options?: TimerStartOptions): boolean {
    return this.ctx.timers.start(id, options);
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

  /** Puts a message on the host message queue; `Err(ValidationError)` names a field that breaks the rules. */
  pushMessage(message: PushMessageInput) {
    return pushMessage(this.ctx.bridge, message);
  }

  /** Reports progress (percent), stage, message, step and eta of the current run (docs/runs.md). */
  runUpdate(update: RunUpdate) {
    return this.runReporter.update(update);
  }

  /** Attaches an item (`text`, `json`, `url`, `binary` or `binary_url`) to the current run's exports. */
  exportPush(item: RunExport) {
    return this.runReporter.exportPush(item);
  }

  /** Finishes the current run as `succeeded` with `data` (and an optional `reply`). */
  finish(outcome: RunFinish = {}) {
    return this.runReporter.finish(outcome);
  }

  /** The files clients uploaded to the current run (`POST /runs/{id}/uploads`): `{ uploadId, name, mime, size, time }`. */
  runUploads() {
    return this.runReporter.uploads();
  }

  /** One file uploaded to the current run, with its bytes (`data`). */
  readRunUpload(uploadId: string) {
    return this.runReporter.readUpload(uploadId);
  }

  /** A path under the plugin's `data/` folder; the folder is created on first use. */
  dataPath(...parts: string[]): string {
    return dataPathUnder(this.ctx.dataDir, parts, "plugin");
  }
}

function standaloneContext(className: string): PluginContext {
  return createPluginContext({
    pluginId: className,
    configDir: process.cwd(),
    dataDir: path.join(os.tmpdir(), `neko-standalone-${className}`, "data"),
    logger: createPluginLogger(className, { level: "warn" }),
  });
}
