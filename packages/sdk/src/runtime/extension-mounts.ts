/**
 * The extensions loaded into one plugin process (SPEC §3.6, docs/extensions.md). Loading one imports its class, builds
 * it with its own context, and prepares its entries (`<prefix><id>`, marked with its id), hooks and timers; they join
 * the plugin's all at once or not at all. The extensions the process starts with join before its hello and start
 * (their `startup`) after the plugin's own; one injected later starts first and joins once it has started, so nothing
 * of it runs before its `startup` is done. Taking one out stops its timers, removes its entries and hooks, waits
 * (briefly) for its calls in flight, runs its `shutdown`, and disposes everything it registered. A broken extension is
 * reported `failed` with the reason, and the plugin runs on. Every step is bounded in time.
 */
import {
  type Answer,
  DisposableStore,
  Emitter,
  type Event,
  type ExtensionSpec,
  type ExtensionStatus,
  MAX_EXTENSION_REASON_LENGTH,
} from "@neko/protocol";
import { NotFoundError } from "../errors.ts";
import type { NekoExtensionBase } from "../extension-base.ts";
import { constructWithExtensionContext } from "../extension-context.ts";
import { EXTENSION_LIFECYCLES } from "../extension-decorators.ts";
import { replaceConfig } from "../plugin-config.ts";
import { childLogger } from "../plugin-logger.ts";
import {
  type ClassPluginMetadata,
  collectPluginMetadata,
  type LifecycleId,
  boundMethod,
  entryIdDeclaredTwiceInChain,
} from "../plugin-metadata.ts";
import { errResult } from "../wire-result.ts";
import { configChangeEvent, replaceContents, timerConfigRefusal } from "./config-sync.ts";
import type { EntryRegistration } from "./entry-registry.ts";
import { HookPipeline, type HookRecord } from "./hook-pipeline.ts";
import { loadExtensionClass } from "./plugin-loader.ts";
import type { PluginRuntime } from "./plugin-runtime.ts";
import { TimerScheduler } from "./timer-scheduler.ts";

/** How long loading (import and constructor), a `startup` or a `shutdown` of an extension may take. */
export const EXTENSION_STEP_TIMEOUT_MS = 10_000;
/** How long the plugin's stop waits for its extensions' `shutdown` handlers, together (its own grace is 5 s). */
export const EXTENSION_SHUTDOWN_AT_STOP_MS = 2_000;
/** How long taking an extension out waits for its calls in flight before its `shutdown` runs anyway. */
export const EXTENSION_DRAIN_MS = 5_000;

/** What an extension class may not declare: these belong to a plugin class. */
const PLUGIN_ONLY: Array<[keyof ClassPluginMetadata, string]> = [
  ["messages", "@message"],
  ["events", "@onEvent/@customEvent"],
];

/** The calls (entries and hooks) of one extension running now, so taking it out can wait for them. */
class CallsInFlight {
  private count = 0;
  private readonly idle = new Set<() => void>();

  get size(): number {
    return this.count;
  }

  /** `fn`, counted while it runs. */
  track<A extends unknown[]>(fn: (...args: A) => unknown): (...args: A) => Promise<unknown> {
    return async (...args: A) => {
      this.count += 1;
      try {
        return await fn(...args);
      } finally {
        this.count -= 1;
        if (this.count === 0) for (const settle of [...this.idle]) settle();
      }
    };
  }

  /** Resolves when none runs, or after `ms`. */
  drained(ms: number): Promise<void> {
    if (this.count === 0) return Promise.resolve();
    return new Promise((done) => {
      const settle = () => {
        clearTimeout(timer);
        this.idle.delete(settle);
        done();
      };
      const timer = setTimeout(settle, ms);
      this.idle.add(settle);
    });
  }
}

interface Prepared {
  spec: ExtensionSpec;
  instance: NekoExtensionBase;
  registrations: EntryRegistration[];
  hooks: HookRecord[];
  timers: TimerScheduler;
  scope: DisposableStore;
  lifecycles: Map<LifecycleId, (arg?: unknown) => unknown>;
  calls: CallsInFlight;
}

interface Mounted extends Prepared {
  entryIds: string[];
  removeHooks: () => void;
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
   * The extensions the process starts with, before its hello: loaded side by side (within one time limit, so a
   * module that never finishes loading cannot hold up the handshake), then joined in the order given. Their
   * `startup` runs after the plugin's own. Never rejects.
   */
  loadAtStart(specs: readonly ExtensionSpec[]): Promise<void> {
    return this.serially(async () => {
      const deadline = Date.now() + EXTENSION_STEP_TIMEOUT_MS;
      const prepared = await Promise.all(specs.map((spec) => this.prepare(spec, deadline)));
      for (const [index, spec] of specs.entries()) {
        const ready = prepared[index];
        if (typeof ready === "string") this.fail(spec.id, ready);
        else this.join(ready);
      }
    });
  }

  /**
   * Loads an extension into the running plugin: its `startup` runs first, then its entries, hooks and timers join.
   * Before the plugin has started, it joins now and starts after the plugin's `startup`. Already injected: answers
   * so, unchanged. Never rejects; a broken extension is `failed` with the reason.
   */
  inject(spec: ExtensionSpec): Promise<ExtensionStatus> {
    return this.serially(async () => {
      if (this.closed) return this.fail(spec.id, "the plugin is shutting down");
      if (this.mounted.has(spec.id)) return { id: spec.id, state: "injected", reason: null };
      const prepared = await this.prepare(spec, Date.now() + EXTENSION_STEP_TIMEOUT_MS);
      if (typeof prepared === "string") return this.fail(spec.id, prepared);
      if (!this.pluginStarted) {
        this.join(prepared);
        return this.status(spec.id);
      }
      const started = await this.lifecycle(prepared, "startup", Date.now() + EXTENSION_STEP_TIMEOUT_MS);
      if (!started.ok) {
        prepared.scope.dispose();
        return this.fail(spec.id, `its startup failed: ${started.reason}`);
      }
      const mounted = this.join(prepared);
      if (mounted) this.begin(mounted);
      return this.status(spec.id);
    });
  }

  /** Takes an extension out; false when none with that id is injected. Calls in progress finish first (briefly). */
  remove(id: string): Promise<boolean> {
    return this.serially(async () => {
      // Taken out by hand, an extension that had failed is forgotten too (its reason no longer holds).
      const forgotten = this.failed.delete(id);
      const mounted = this.mounted.get(id);
      if (!mounted) {
        if (forgotten) this.changes.fire();
        return false;
      }
      await this.takeOut(mounted, { drainMs: EXTENSION_DRAIN_MS, deadline: Date.now() + EXTENSION_STEP_TIMEOUT_MS });
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
    const timerProblem = mounted.timers.configProblem();
    if (timerProblem) {
      config[replaceConfig](oldConfig);
      replaceContents(metadata, oldManifest);
      return timerConfigRefusal(timerProblem);
    }
    const handler = payload.lifecycle ? mounted.lifecycles.get(payload.lifecycle) : undefined;
    if (!handler) {
      mounted.timers.applyConfig();
      return { ok: true, value: { handled: false } };
    }
    const label = `extension '${id}': lifecycle '${payload.lifecycle}'`;
    const result = await this.runtime.runHandler(label, () =>
      handler(configChangeEvent(oldConfig, config.dump(), payload.mode)),
    );
    if (!result.ok) {
      config[replaceConfig](oldConfig);
      replaceContents(metadata, oldManifest);
      return { ok: false, error: result.error };
    }
    mounted.timers.applyConfig();
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

  private fail(id: string, why: string): ExtensionStatus {
    // The host keeps a reason of a bounded length (a stack in an error message can be long).
    const reason = why.length > MAX_EXTENSION_REASON_LENGTH ? `${why.slice(0, MAX_EXTENSION_REASON_LENGTH - 1)}…` : why;
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

  /** The extension built, with what it would add to the plugin checked; or why it cannot be, in words. */
  private async prepare(spec: ExtensionSpec, deadline: number): Promise<Prepared | string> {
    const loaded = await withDeadline(loadExtensionClass(spec.entryModule, spec.className), deadline);
    if (loaded.late) return `loading its module did not finish within ${EXTENSION_STEP_TIMEOUT_MS / 1000}s`;
    if (!loaded.ok) return messageOf(loaded.error);
    const cls = loaded.value;
    const meta = collectPluginMetadata(cls);
    const problem = extensionDeclarationProblem(cls, meta);
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
      return `its constructor threw: ${messageOf(error)}`;
    }

    const calls = new CallsInFlight();
    const bind = (methodName: string | symbol) => boundMethod(instance, methodName);
    try {
      const registrations = meta.entries.map(({ methodName, ...entry }) => ({
        options: { ...entry, id: `${spec.prefix}${entry.id}` },
        handler: calls.track(bind(methodName)),
      }));
      const own = new Set(meta.entries.map((e) => e.id));
      const hooks = meta.hooks.map((h) =>
        HookPipeline.record(
          { ...h, target: this.hookTarget(h.target, own, spec.prefix) },
          calls.track(bind(h.methodName)),
          `extension:${spec.id}`,
        ),
      );
      for (const { methodName, ...timer } of meta.timers) timers.add({ ...timer, tick: bind(methodName) });
      // An extension's configured intervals come from its own configuration.
      const extensionConfig = instance.config;
      timers.useConfig((path) => extensionConfig.get(path));
      const timerProblem = timers.applyConfig();
      if (timerProblem) throw new TypeError(timerProblem);
      const lifecycles = new Map<LifecycleId, (arg?: unknown) => unknown>();
      for (const lc of meta.lifecycles) lifecycles.set(lc.id, bind(lc.methodName));
      const taken = registrations.map((r) => [r.options.id, plugin.ctx.entries.takenBy(r.options.id)] as const);
      const clash = taken.find(([, owner]) => owner !== undefined);
      if (clash) throw new TypeError(`entry id '${clash[0]}' is already taken by ${clash[1]}`);
      return { spec, instance, registrations, hooks, timers, scope, lifecycles, calls };
    } catch (error) {
      scope.dispose();
      return messageOf(error);
    }
  }

  /**
   * Adds its entries (all or none: an id taken meanwhile, or a bad schema, adds nothing) and hooks to the plugin's;
   * undefined, with the extension `failed`, when they cannot be added.
   */
  private join(prepared: Prepared): Mounted | undefined {
    const { spec } = prepared;
    let entryIds: string[];
    try {
      const added = this.runtime.entries.addAll(prepared.registrations, { dynamic: false, extension: spec.id });
      entryIds = added.map((d) => d.id);
    } catch (error) {
      prepared.scope.dispose();
      this.fail(spec.id, messageOf(error));
      return undefined;
    }
    const removeHooks = this.runtime.hooks.add(prepared.hooks);
    const mounted: Mounted = { ...prepared, entryIds, removeHooks, started: false };
    this.mounted.set(spec.id, mounted);
    this.failed.delete(spec.id);
    this.changes.fire();
    return mounted;
  }

  /**
   * A hook's target in the plugin's chain: `*` and the plugin's entry ids as they are; one of the extension's own
   * entry ids (as declared) with its prefix, unless the plugin class itself declares an entry with that id. Only the
   * class's declared entries count, so the rule does not depend on when the extension is loaded.
   */
  private hookTarget(target: string, own: Set<string>, prefix: string): string {
    if (target === "*" || !own.has(target)) return target;
    const pluginClass = this.runtime.instance.constructor as abstract new () => unknown;
    const declared = collectPluginMetadata(pluginClass).entries.some((e) => e.id === target);
    return declared ? target : `${prefix}${target}`;
  }

  /** The plugin has started: the extensions it started with start now, side by side, within one time limit. */
  private startAll(): Promise<void> {
    return this.serially(async () => {
      this.pluginStarted = true;
      const deadline = Date.now() + EXTENSION_STEP_TIMEOUT_MS;
      await Promise.all(
        [...this.mounted.values()].map(async (mounted) => {
          const result = await this.lifecycle(mounted, "startup", deadline);
          if (result.ok) this.begin(mounted);
          else await this.takeOut(mounted, { failure: `its startup failed: ${result.reason}`, deadline });
        }),
      );
    });
  }

  /** After a successful `startup`: its timers run, and its `shutdown` will run when it goes. */
  private begin(mounted: Mounted): void {
    mounted.started = true;
    mounted.timers.begin();
    const { id } = mounted.spec;
    this.runtime.instance.logger.info(`extension '${id}' injected`, { extension: id, entries: mounted.entryIds });
  }

  /** The plugin is stopping: every extension goes, side by side, their `shutdown` handlers within one short limit. */
  private removeAll(): Promise<void> {
    return this.serially(async () => {
      this.closed = true;
      const deadline = Date.now() + EXTENSION_SHUTDOWN_AT_STOP_MS;
      await Promise.all([...this.mounted.values()].map((mounted) => this.takeOut(mounted, { deadline })));
    });
  }

  /**
   * Stops its timers, takes its entries and hooks out, waits up to `drainMs` for its calls in flight, runs its
   * `shutdown` (by `deadline`), and disposes what it registered.
   */
  private async takeOut(
    mounted: Mounted,
    options: { failure?: string; drainMs?: number; deadline: number },
  ): Promise<void> {
    const { id } = mounted.spec;
    this.mounted.delete(id);
    this.runtime.entries.removeAll(mounted.entryIds);
    mounted.removeHooks();
    await mounted.timers.stopAll();
    if (options.drainMs !== undefined) await mounted.calls.drained(options.drainMs);
    if (mounted.started) {
      const result = await this.lifecycle(mounted, "shutdown", options.deadline);
      if (!result.ok) {
        this.runtime.instance.logger.warn(`extension '${id}': its shutdown failed: ${result.reason}`, {
          extension: id,
        });
      }
    }
    mounted.scope.dispose();
    if (options.failure === undefined) {
      this.runtime.instance.logger.info(`extension '${id}' taken out`, { extension: id });
      this.changes.fire();
    } else {
      this.fail(id, options.failure);
    }
  }

  /** Runs one of its lifecycle handlers, by `deadline`; never rejects. */
  private async lifecycle(
    prepared: Prepared,
    id: LifecycleId,
    deadline: number,
  ): Promise<{ ok: true } | { ok: false; reason: string }> {
    const handler = prepared.lifecycles.get(id);
    if (!handler) return { ok: true };
    const label = `extension '${prepared.spec.id}': lifecycle '${id}'`;
    const outcome = await withDeadline(this.runtime.runHandler(label, handler), deadline);
    if (outcome.late) return { ok: false, reason: "it did not finish in time" };
    if (!outcome.ok) return { ok: false, reason: messageOf(outcome.error) };
    return outcome.value.ok ? { ok: true } : { ok: false, reason: outcome.value.error.message };
  }
}

type Settled<T> = { late: true } | { late: false; ok: true; value: T } | { late: false; ok: false; error: unknown };

/** How `promise` settled by `deadline` (ms since the epoch); a promise that never settles is simply left behind. */
async function withDeadline<T>(promise: Promise<T>, deadline: number): Promise<Settled<T>> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<Settled<T>>((settle) => {
    timer = setTimeout(() => settle({ late: true }), Math.max(0, deadline - Date.now()));
  });
  try {
    return await Promise.race([
      promise.then(
        (value): Settled<T> => ({ late: false, ok: true, value }),
        (error: unknown): Settled<T> => ({ late: false, ok: false, error }),
      ),
      late,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

function messageOf(error: unknown): string {
  return (error as Error)?.message ?? String(error);
}

/** What makes an extension class unusable, in words; undefined when it is fine. */
export function extensionDeclarationProblem(
  cls: abstract new () => NekoExtensionBase,
  meta: ClassPluginMetadata,
): string | undefined {
  const twice = entryIdDeclaredTwiceInChain(cls);
  if (twice !== undefined) return `entry id '${twice}' is declared twice`;
  for (const [list, decorator] of PLUGIN_ONLY) {
    const found = meta[list] as Array<{ id: string }>;
    if (found.length > 0) {
      return `an extension cannot declare ${decorator} ('${found[0].id}'): subscribe with this.bus.on() instead`;
    }
  }
  const lifecycle = meta.lifecycles.find((l) => !(EXTENSION_LIFECYCLES as readonly LifecycleId[]).includes(l.id));
  if (lifecycle) {
    return `an extension has only the ${EXTENSION_LIFECYCLES.join(", ")} lifecycles (it declares '${lifecycle.id}')`;
  }
  return undefined;
}
