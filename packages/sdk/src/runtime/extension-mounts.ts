/**
 * The extensions loaded into one plugin process (SPEC §3.6, docs/extensions.md). Injecting one loads its class,
 * builds it with its own context, and adds its entries (`<prefix><id>`, marked with its id), hooks and timers to the
 * plugin's — all of it or none; its `startup` runs once the plugin has started. Taking it out stops its timers,
 * removes its entries and hooks, runs its `shutdown`, and disposes everything it registered. A broken extension is
 * reported `failed` with the reason, and the plugin runs on.
 */
import {
  type Answer,
  DisposableStore,
  Emitter,
  type Event,
  type ExtensionSpec,
  type ExtensionStatus,
} from "@neko/protocol";
import { NotFoundError } from "../errors.ts";
import type { NekoExtensionBase } from "../extension-base.ts";
import { constructWithExtensionContext } from "../extension-context.ts";
import { replaceConfig } from "../plugin-config.ts";
import { childLogger } from "../plugin-logger.ts";
import { errResult } from "../wire-result.ts";
import { replaceContents } from "./config-sync.ts";
import {
  type ClassPluginMetadata,
  collectPluginMetadata,
  entryIdDeclaredTwice,
  type LifecycleId,
  pluginMetadataChain,
} from "../plugin-metadata.ts";
import type { EntryRegistration } from "./entry-registry.ts";
import { HookPipeline, type HookRecord } from "./hook-pipeline.ts";
import { loadExtensionClass } from "./plugin-loader.ts";
import type { PluginRuntime } from "./plugin-runtime.ts";
import { TimerScheduler } from "./timer-scheduler.ts";

/** How long an extension's `startup` or `shutdown` may take before it is given up on. */
export const EXTENSION_LIFECYCLE_TIMEOUT_MS = 10_000;

/**
 * The lifecycles an extension may declare: it comes and goes with its host plugin's process, or by itself, and its
 * own configuration may change; freezing is the plugin's.
 */
const EXTENSION_LIFECYCLES: readonly LifecycleId[] = ["startup", "shutdown", "config_change", "reload"];

/** What an extension class may not declare: these belong to a plugin class. */
const PLUGIN_ONLY: Array<[keyof ClassPluginMetadata, string]> = [
  ["messages", "@message"],
  ["events", "@onEvent/@customEvent"],
];

interface Mounted {
  spec: ExtensionSpec;
  instance: NekoExtensionBase;
  entryIds: string[];
  removeHooks: () => void;
  timers: TimerScheduler;
  scope: DisposableStore;
  lifecycles: Map<LifecycleId, (arg?: unknown) => unknown>;
  /** Its `startup` has run (so its `shutdown` runs when it goes). */
  started: boolean;
}

export class ExtensionMounts {
  private readonly mounted = new Map<string, Mounted>();
  /** Extensions that could not be loaded, or failed their `startup`: the reason. */
  private readonly failed = new Map<string, string>();
  /** Each extension's inject or remove waits for the one before it. */
  private queue: Promise<unknown> = Promise.resolve();
  /** The plugin's own `startup` succeeded: an extension injected from now on runs its `startup` at once. */
  private pluginStarted = false;
  private closed = false;
  private readonly changes = new Emitter<void>();
  /** Fired when an extension is injected, taken out, or fails. */
  readonly onChange: Event<void> = this.changes.event;

  constructor(private readonly runtime: PluginRuntime) {}

  /**
   * Serves `extension.inject` / `extension.remove`, starts the extensions loaded with the process once the plugin has
   * started (after the steps installed before this, such as restoring frozen state), and takes every extension out
   * before the plugin's own `shutdown`.
   */
  install(): void {
    const { runtime } = this;
    runtime.registerControl("extension.inject", (spec) =>
      this.inject(spec).then((status) => ({ ok: true, value: status })),
    );
    runtime.registerControl("extension.remove", ({ id }) =>
      this.remove(id).then((removed) => ({ ok: true, value: { id, removed } })),
    );
    runtime.beforeReady(() => this.startAll());
    runtime.onShutdown(() => this.removeAll());
  }

  /** Every extension the process was asked to load, and how it stands. */
  statuses(): ExtensionStatus[] {
    const injected = [...this.mounted.keys()].map((id) => ({ id, state: "injected" as const, reason: null }));
    const failed = [...this.failed].map(([id, reason]) => ({ id, state: "failed" as const, reason }));
    return [...injected, ...failed];
  }

  /**
   * Loads an extension: its `startup` runs now if the plugin has started, else after the plugin's own `startup`.
   * Already injected: answers so, unchanged. Never rejects; a broken extension is `failed` with the reason.
   */
  inject(spec: ExtensionSpec): Promise<ExtensionStatus> {
    return this.serially(async () => {
      if (this.closed) return this.fail(spec.id, "the plugin is shutting down");
      if (this.mounted.has(spec.id)) return { id: spec.id, state: "injected", reason: null };
      const mounted = await this.load(spec);
      if (typeof mounted === "string") return this.fail(spec.id, mounted);
      this.mounted.set(spec.id, mounted);
      this.failed.delete(spec.id);
      this.changes.fire();
      if (this.pluginStarted) await this.start(mounted);
      return this.status(spec.id);
    });
  }

  /** Takes an extension out; false when none with that id is injected. Calls in progress finish. */
  remove(id: string): Promise<boolean> {
    return this.serially(async () => {
      // Taken out by hand, an extension that had failed is forgotten too (its reason no longer holds).
      const forgotten = this.failed.delete(id);
      const mounted = this.mounted.get(id);
      if (!mounted) {
        if (forgotten) this.changes.fire();
        return false;
      }
      await this.takeOut(mounted);
      return true;
    });
  }

  /**
   * A new configuration for an injected extension (written through the API or by itself): it takes it, then its
   * `config_change` or `reload` handler runs; an Err from that puts the old configuration back and refuses it.
   */
  async applyConfig(
    id: string,
    payload: {
      config: Record<string, unknown>;
      manifest?: Record<string, unknown>;
      lifecycle: LifecycleId | null;
      mode: string;
    },
  ): Promise<Answer<{ handled: boolean }>> {
    const mounted = this.mounted.get(id);
    if (!mounted) {
      const error = new NotFoundError(`no extension '${id}' is loaded in plugin '${this.runtime.instance.pluginId}'`);
      return { ok: false, error: errResult(error).error };
    }
    const { config, metadata } = mounted.instance;
    const oldConfig = config.dump();
    const oldManifest = { ...metadata };
    config[replaceConfig](payload.config);
    if (payload.manifest) replaceContents(metadata, payload.manifest);
    const handler = payload.lifecycle ? mounted.lifecycles.get(payload.lifecycle) : undefined;
    if (!handler) return { ok: true, value: { handled: false } };
    const label = `extension '${id}': lifecycle '${payload.lifecycle}'`;
    const result = await this.runtime.runHandler(label, () =>
      handler({ oldConfig, newConfig: config.dump(), mode: payload.mode }),
    );
    if (!result.ok) {
      config[replaceConfig](oldConfig);
      replaceContents(metadata, oldManifest);
      return { ok: false, error: result.error };
    }
    return { ok: true, value: { handled: true } };
  }

  /** What the extensions hold now, for leak checks. */
  counts(): Record<string, number> {
    let timers = 0;
    let scoped = 0;
    for (const m of this.mounted.values()) {
      timers += m.timers.describe().filter((t) => m.timers.isActive(t.id)).length;
      scoped += m.scope.size;
    }
    return { extensions: this.mounted.size, extensionTimers: timers, extensionScoped: scoped };
  }

  private status(id: string): ExtensionStatus {
    if (this.mounted.has(id)) return { id, state: "injected", reason: null };
    return { id, state: "failed", reason: this.failed.get(id) ?? "it was taken out" };
  }

  private fail(id: string, reason: string): ExtensionStatus {
    this.failed.set(id, reason);
    this.runtime.instance.logger.error(`extension '${id}' was not loaded: ${reason}`, { extension: id });
    this.changes.fire();
    return { id, state: "failed", reason };
  }

  private serially<T>(op: () => Promise<T>): Promise<T> {
    const next = this.queue.then(op, op);
    this.queue = next.catch(() => undefined);
    return next;
  }

  /** The extension built and its entries and hooks added to the plugin's; or why not, in words. */
  private async load(spec: ExtensionSpec): Promise<Mounted | string> {
    let cls: new () => NekoExtensionBase;
    try {
      cls = await loadExtensionClass(spec.entryModule, spec.className);
    } catch (error) {
      return (error as Error)?.message ?? String(error);
    }
    const meta = collectPluginMetadata(cls);
    const problem = declarationProblem(cls, meta);
    if (problem) return problem;

    const plugin = this.runtime.instance;
    const logger = childLogger(plugin.logger, { extension: spec.id });
    const scope = new DisposableStore((error) => logger.exception("releasing what the extension held failed", error));
    const timers = new TimerScheduler(logger);
    let instance: NekoExtensionBase;
    try {
      instance = constructWithExtensionContext(
        {
          extensionId: spec.id,
          host: plugin,
          prefix: spec.prefix,
          metadata: spec.manifest,
          config: spec.config,
          configDir: spec.dir,
          dataDir: `${spec.dir}/data`,
          logger,
          scope,
          timers,
        },
        () => new cls(),
      );
    } catch (error) {
      scope.dispose();
      return `its constructor threw: ${(error as Error)?.message ?? String(error)}`;
    }

    const bind = (methodName: string | symbol) => {
      const method = (instance as unknown as Record<string | symbol, unknown>)[methodName];
      if (typeof method !== "function") throw new TypeError(`'${String(methodName)}' is not a method`);
      return method.bind(instance) as (...args: any[]) => unknown;
    };
    let registrations: EntryRegistration[];
    let hooks: HookRecord[];
    const lifecycles = new Map<LifecycleId, (arg?: unknown) => unknown>();
    try {
      registrations = meta.entries.map(({ methodName, ...entry }) => ({
        options: { ...entry, id: `${spec.prefix}${entry.id}` },
        handler: bind(methodName),
      }));
      const own = new Set(meta.entries.map((e) => e.id));
      hooks = meta.hooks.map((h) =>
        HookPipeline.record(
          { ...h, target: this.hookTarget(h.target, own, spec.prefix) },
          bind(h.methodName),
          `extension:${spec.id}`,
        ),
      );
      for (const { methodName, ...timer } of meta.timers) timers.add({ ...timer, tick: bind(methodName) });
      for (const lc of meta.lifecycles) lifecycles.set(lc.id, bind(lc.methodName));
    } catch (error) {
      scope.dispose();
      return (error as Error)?.message ?? String(error);
    }
    let entryIds: string[];
    try {
      // All or none: an id taken by the plugin or another extension, or a bad schema, adds nothing.
      entryIds = plugin.ctx.entries.addAll(registrations, { dynamic: false, extension: spec.id }).map((d) => d.id);
    } catch (error) {
      scope.dispose();
      return (error as Error)?.message ?? String(error);
    }
    const removeHooks = plugin.ctx.hooks.add(hooks);
    return { spec, instance, entryIds, removeHooks, timers, scope, lifecycles, started: false };
  }

  /**
   * A hook's target in the plugin's chain: `*` and the plugin's entry ids as they are; one of the extension's own
   * entry ids (as declared) with its prefix, unless the plugin has an entry with that very id.
   */
  private hookTarget(target: string, own: Set<string>, prefix: string): string {
    if (target === "*" || !own.has(target)) return target;
    return this.runtime.entries.get(target) ? target : `${prefix}${target}`;
  }

  /** The plugin has started: the extensions loaded with it start now, in the order they were loaded. */
  private startAll(): Promise<void> {
    return this.serially(async () => {
      this.pluginStarted = true;
      for (const mounted of [...this.mounted.values()]) await this.start(mounted);
    });
  }

  /** Runs its `startup` (bounded); an Err, a throw or a timeout takes it out again as `failed`. Then its timers run. */
  private async start(mounted: Mounted): Promise<void> {
    const { id } = mounted.spec;
    const result = await this.lifecycle(mounted, "startup");
    if (!result.ok) {
      await this.takeOut(mounted, `its startup failed: ${result.reason}`);
      return;
    }
    mounted.started = true;
    mounted.timers.begin();
    this.runtime.instance.logger.info(`extension '${id}' injected`, {
      extension: id,
      entries: mounted.entryIds,
    });
  }

  private removeAll(): Promise<void> {
    return this.serially(async () => {
      this.closed = true;
      for (const mounted of [...this.mounted.values()].reverse()) await this.takeOut(mounted);
    });
  }

  /** Stops its timers, takes its entries and hooks out, runs its `shutdown`, and disposes what it registered. */
  private async takeOut(mounted: Mounted, failure?: string): Promise<void> {
    const { id } = mounted.spec;
    this.mounted.delete(id);
    await mounted.timers.stopAll();
    this.runtime.entries.removeAll(mounted.entryIds);
    mounted.removeHooks();
    if (mounted.started) {
      const result = await this.lifecycle(mounted, "shutdown");
      if (!result.ok) {
        this.runtime.instance.logger.warn(`extension '${id}': its shutdown failed: ${result.reason}`, {
          extension: id,
        });
      }
    }
    mounted.scope.dispose();
    if (failure === undefined) {
      this.runtime.instance.logger.info(`extension '${id}' taken out`, { extension: id });
      this.changes.fire();
    } else {
      this.fail(id, failure);
    }
  }

  /** Runs one of its lifecycle handlers within the time allowed; never rejects. */
  private async lifecycle(mounted: Mounted, id: LifecycleId): Promise<{ ok: true } | { ok: false; reason: string }> {
    const handler = mounted.lifecycles.get(id);
    if (!handler) return { ok: true };
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<"late">((settle) => {
      timer = setTimeout(() => settle("late"), EXTENSION_LIFECYCLE_TIMEOUT_MS);
    });
    try {
      const label = `extension '${mounted.spec.id}': lifecycle '${id}'`;
      const outcome = await Promise.race([this.runtime.runHandler(label, handler), late]);
      if (outcome === "late")
        return { ok: false, reason: `it did not finish within ${EXTENSION_LIFECYCLE_TIMEOUT_MS / 1000}s` };
      return outcome.ok ? { ok: true } : { ok: false, reason: outcome.error.message };
    } finally {
      clearTimeout(timer);
    }
  }
}

/** What makes an extension class unusable, in words; undefined when it is fine. */
function declarationProblem(cls: abstract new () => NekoExtensionBase, meta: ClassPluginMetadata): string | undefined {
  for (const own of pluginMetadataChain(cls)) {
    const twice = entryIdDeclaredTwice(own);
    if (twice !== undefined) return `entry id '${twice}' is declared twice`;
  }
  for (const [list, decorator] of PLUGIN_ONLY) {
    const found = meta[list] as Array<{ id: string }>;
    if (found.length > 0) {
      return `an extension cannot declare ${decorator} ('${found[0].id}'): subscribe with this.bus.on() instead`;
    }
  }
  const lifecycle = meta.lifecycles.find((l) => !EXTENSION_LIFECYCLES.includes(l.id));
  if (lifecycle) {
    return `an extension has only the ${EXTENSION_LIFECYCLES.join(" and ")} lifecycles (it declares '${lifecycle.id}')`;
  }
  return undefined;
}
