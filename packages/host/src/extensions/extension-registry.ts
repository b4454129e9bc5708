/**
 * Extensions, on the host's side (SPEC §3.6, docs/extensions.md): which extension belongs to which plugin, whether
 * each is enabled (the API's choice, else its manifest), what a host plugin's process is given at launch (the specs of
 * its enabled extensions, read access to their folders, write access to their data folders), and enabling or
 * disabling one in a running host plugin without restarting it. Each extension's state — `injected`, `pending`,
 * `disabled` or `failed`, with the reason — is worked out when asked, from the host plugin's state and what its
 * process reported (hello, `entries_changed`), so it can never disagree with them.
 */
import path from "node:path";
import {
  type Disposable,
  DisposableStore,
  ErrorCode,
  type ExtensionSpec,
  type ExtensionState,
  type ExtensionStatus,
  type WireResult,
} from "@neko/protocol";
import { type DebugCounted, type HostContext, releaseWithPlugin } from "../host-context.ts";
import type { PluginManifest } from "../manifest/plugin-manifest.ts";
import { launchPermissions } from "../supervisor/permission-flags.ts";
import { failure, pluginNotFound } from "../wire-result.ts";
import { ExtensionChoices } from "./extension-choices.ts";

/** One extension as `/plugins` shows it, on its own. */
export interface ExtensionView extends ExtensionStatus {
  host_plugin_id: string;
  prefix: string;
  /** Enabled by its manifest, or by the API's choice (which wins). */
  enabled: boolean;
}

/** What the server may ask of extensions. */
export interface ExtensionsApi {
  /** Loads the extension into its running host plugin (no restart) and keeps it enabled across restarts. */
  enable(id: string, options?: { writeManifest?: boolean }): Promise<WireResult>;
  /** Takes the extension out of its running host plugin (no restart) and keeps it disabled across restarts. */
  disable(id: string, options?: { writeManifest?: boolean }): Promise<WireResult>;
}

/** Failed starts in a row, each with extensions loaded, after which a plugin starts without them. */
export const HOLD_BACK_AFTER = 2;

export interface ExtensionRegistryOptions {
  /** Compiles a folder's TypeScript into the cache the plugin processes read (they may not run the compiler). */
  prepareSources?: (dir: string) => Promise<unknown>;
}

export class ExtensionRegistry implements ExtensionsApi, Disposable, DebugCounted {
  private readonly choices: ExtensionChoices;
  private readonly owned = new DisposableStore();
  /** Changes to one host plugin's extensions never interleave. */
  private readonly queues = new Map<string, Promise<unknown>>();
  /** Why the latest attempt to load an extension into its running host plugin failed before the process answered. */
  private readonly injectErrors = new Map<string, string>();
  /** The extension folders each plugin's current process was allowed to read when it was launched. */
  private readonly granted = new Map<string, Set<string>>();
  /**
   * Per plugin launched with extensions: the ones it was given, whether that process came up, and how many launches
   * with extensions in a row did not. After `HOLD_BACK_AFTER` such failures its extensions are held back.
   */
  private readonly launches = new Map<string, { given: string[]; cameUp: boolean; failures: number }>();
  /** Extensions left out of their plugin's starts (its starts with them kept failing) until enabled by hand. */
  private readonly heldBack = new Set<string>();

  constructor(
    private readonly ctx: HostContext,
    private readonly options: ExtensionRegistryOptions = {},
  ) {
    this.choices = ExtensionChoices.inDataDir(ctx.dataDir, ctx.logger);
    this.owned.add(ctx.operations.addLaunchContext((spec, ask) => this.launchContext(spec.id, ask.preview)));
    this.owned.add(ctx.operations.addLaunchGrant((spec, ask) => this.launchGrant(spec.id, ask.preview)));
    this.owned.add(ctx.events.onStateChange(({ pluginId, change }) => this.onHostState(pluginId, change.state)));
  }

  dispose(): void {
    this.owned.dispose();
  }

  debugCounts(): Record<string, number> {
    return {
      "extensions.launches": this.launches.size,
      "extensions.heldBack": this.heldBack.size,
      "extensions.queues": this.queues.size,
      "extensions.injectErrors": this.injectErrors.size,
      "extensions.granted": this.granted.size,
    };
  }

  /**
   * An extension's manifest changed or its folder went: every running plugin is brought in line, so one that still
   * holds an extension that moved to another plugin, was disabled in its manifest or is gone lets it go, and its new
   * host plugin loads it.
   */
  resync(): void {
    for (const hostId of this.ctx.plugins.ids()) {
      if (this.ctx.plugins.state(hostId) !== "running") continue;
      const holds = (this.ctx.plugins.hello(hostId)?.extensions?.length ?? 0) > 0;
      if (holds || this.of(hostId).length > 0) void this.reconcile(hostId);
    }
  }

  /**
   * A host plugin that comes up is brought in line with the choices made while it was starting. One whose process
   * died before it came up, twice in a row, each time with extensions loaded, starts without them next time: an
   * extension whose code kills or hangs its process at load must not keep the plugin down.
   */
  private onHostState(hostId: string, state: string): void {
    const launch = this.launches.get(hostId);
    if (state === "running") {
      if (launch) Object.assign(launch, { cameUp: true, failures: 0 });
      if (this.of(hostId).length > 0) void this.reconcile(hostId);
      return;
    }
    if (!launch || launch.cameUp || launch.given.length === 0) return;
    if (state !== "crashed" && state !== "quarantined") return;
    launch.failures += 1;
    launch.cameUp = true; // counted once
    if (launch.failures < HOLD_BACK_AFTER) return;
    for (const id of launch.given) this.heldBack.add(id);
    this.ctx.logger.warn(
      { plugin: hostId, extensions: launch.given },
      `plugin '${hostId}' failed to start ${launch.failures} times in a row with its extensions loaded: ` +
        "its next starts leave them out until they are enabled again",
    );
  }

  /** The ids of the extensions that name `hostId` as their host, sorted. */
  of(hostId: string): string[] {
    return this.ctx.plugins
      .ids()
      .filter((id) => {
        const m = this.ctx.plugins.manifest(id);
        return m?.type === "extension" && m.host?.pluginId === hostId && this.isLocal(id);
      })
      .sort();
  }

  /** A host plugin's `extensions[]` in `/plugins`. */
  listFor(hostId: string): ExtensionStatus[] {
    return this.of(hostId).map((id) => {
      const { state, reason } = this.view(id);
      return { id, state, reason };
    });
  }

  /** One extension's host, state and reason. */
  view(id: string): ExtensionView {
    const manifest = this.ctx.plugins.manifest(id);
    const hostId = manifest?.host?.pluginId ?? "";
    const base = { id, host_plugin_id: hostId, prefix: manifest?.host?.prefix ?? "", enabled: this.isEnabled(id) };
    const at = (state: ExtensionState, reason: string | null): ExtensionView => ({ ...base, state, reason });
    if (this.ctx.plugins.state(id) === "refused") {
      return at("failed", this.ctx.plugins.problems(id).join("; ") || "its manifest is refused");
    }
    if (!this.isLocal(id)) {
      return at(
        "failed",
        `it comes from worker '${this.ctx.plugins.machine(id)}': extensions load only from this machine`,
      );
    }
    if (base.enabled && this.heldBack.has(id)) {
      return at(
        "failed",
        `held back: its host plugin '${hostId}' failed to start ${HOLD_BACK_AFTER} times in a row with its ` +
          `extensions loaded (POST /plugin/${id}/extension/enable loads it again)`,
      );
    }
    if (!base.enabled) {
      return at(
        "disabled",
        this.choices.get(id) === false
          ? `disabled through the API (POST /plugin/${id}/extension/enable enables it)`
          : "[plugin_runtime] enabled = false in its plugin.toml",
      );
    }
    const unusable = this.hostProblem(hostId);
    if (unusable) return at(unusable.state, unusable.reason);
    const language = this.languageProblem(id, hostId);
    if (language) return at("failed", language);
    const hostState = this.ctx.plugins.state(hostId);
    if (hostState !== "running") return at("pending", `its host plugin '${hostId}' is ${hostState}`);
    const reported = this.ctx.plugins.hello(hostId)?.extensions?.find((e) => e.id === id);
    const injectError = this.injectErrors.get(id);
    if (!reported && injectError !== undefined) return at("failed", injectError);
    if (!reported) return at("pending", `being loaded into its host plugin '${hostId}'`);
    return at(reported.state, reported.reason);
  }

  enable(id: string, options: { writeManifest?: boolean } = {}): Promise<WireResult> {
    return this.choose(id, true, options);
  }

  disable(id: string, options: { writeManifest?: boolean } = {}): Promise<WireResult> {
    return this.choose(id, false, options);
  }

  /** Reloads an extension from disk into its running host plugin: taken out, then loaded again if enabled. */
  reinject(id: string): Promise<WireResult> {
    const hostId = this.ctx.plugins.manifest(id)?.host?.pluginId;
    if (hostId === undefined) return Promise.resolve(this.answer(id));
    return this.serially(hostId, async () => {
      if (this.ctx.plugins.state(hostId) !== "running") return this.answer(id);
      const removed = await this.ctx.operations.control(hostId, "extension.remove", { id });
      if (!removed.ok) return removed;
      return this.isEnabled(id) ? this.inject(hostId, id) : this.answer(id);
    });
  }

  /** An extension offered by a remote worker is never loaded here: its code is on that machine. */
  private isLocal(id: string): boolean {
    return this.ctx.plugins.machine(id) === "local";
  }

  private isEnabled(id: string): boolean {
    return this.choices.get(id) ?? this.ctx.plugins.manifest(id)?.runtime.enabled ?? false;
  }

  /** Why extensions cannot go into `hostId` at all (missing, an extension itself, on another machine). */
  private hostProblem(hostId: string): { state: ExtensionState; reason: string } | undefined {
    if (!this.ctx.plugins.has(hostId)) {
      return { state: "pending", reason: `its host plugin '${hostId}' is not installed` };
    }
    const host = this.ctx.plugins.manifest(hostId);
    if (host?.type === "extension") {
      return { state: "failed", reason: `its host '${hostId}' is an extension itself: an extension extends a plugin` };
    }
    const machine = this.ctx.plugins.machine(hostId);
    if (machine !== "local") {
      return {
        state: "failed",
        reason: `its host plugin '${hostId}' runs on worker '${machine}': extensions load only into plugins on this machine`,
      };
    }
    return undefined;
  }

  /**
   * Why the extension cannot go into `hostId`'s process: it is written in another language (docs/extensions.md). A
   * TypeScript extension needs a Node process, a Python one a Python process; neither is ever sent to the other.
   */
  private languageProblem(id: string, hostId: string): string | undefined {
    const extension = this.ctx.plugins.manifest(id) as PluginManifest | undefined;
    const host = this.ctx.plugins.manifest(hostId) as PluginManifest | undefined;
    if (!extension?.entry || !host?.entry) return undefined;
    const language = (m: PluginManifest) => (m.entry.language === "python" ? "Python" : "TypeScript");
    if (language(extension) === language(host)) return undefined;
    return (
      `it is written in ${language(extension)} and its host plugin '${hostId}' in ${language(host)}: ` +
      "an extension loads only into a plugin of its own language"
    );
  }

  /** What the API answers for an extension: its state now. */
  private answer(id: string): WireResult {
    const { host_plugin_id, state, reason, enabled } = this.view(id);
    return { ok: true, value: { extension_id: id, host_plugin_id, state, reason, enabled } };
  }

  private async choose(id: string, enabled: boolean, options: { writeManifest?: boolean }): Promise<WireResult> {
    const manifest = this.ctx.plugins.manifest(id);
    if (!this.ctx.plugins.has(id)) return pluginNotFound(id);
    if (manifest?.type !== "extension") {
      const type = manifest?.type ?? "a plugin whose manifest cannot be read";
      return failure(ErrorCode.NotAnExtension, `'${id}' is not an extension (type: ${type})`, "SdkError", { type });
    }
    const hostId = manifest.host?.pluginId ?? "";
    return this.serially(hostId, async () => {
      const live = this.ctx.plugins.state(hostId) === "running" && !this.hostProblem(hostId);
      if (!enabled) {
        // Taken out first, so that its own handlers (a `config_change` seeing the manifest write) have no say.
        this.injectErrors.delete(id);
        if (live) {
          const removed = await this.ctx.operations.control(hostId, "extension.remove", { id });
          if (!removed.ok) return removed;
        }
        const recorded = await this.record(id, false, options);
        return recorded.ok ? this.answer(id) : recorded;
      }
      const recorded = await this.record(id, true, options);
      if (!recorded.ok) return recorded;
      // Enabled by hand, one held back after failed starts of its plugin may load again.
      this.heldBack.delete(id);
      // A refused manifest (an SDK range, an unsafe grant) is never loaded; the answer says why.
      if (!live || this.ctx.plugins.state(id) === "refused" || !this.isLocal(id)) return this.answer(id);
      if (this.languageProblem(id, hostId)) return this.answer(id);
      return this.inject(hostId, id);
    });
  }

  /** Keeps the choice: in the choices file, or (when asked) in the extension's plugin.toml. */
  private async record(id: string, enabled: boolean, options: { writeManifest?: boolean }): Promise<WireResult> {
    try {
      if (!options.writeManifest) {
        this.choices.set(id, enabled);
        return { ok: true, value: null };
      }
      const written = await this.ctx.api.config.hotUpdate(id, {
        config: { plugin_runtime: { enabled } },
        mode: "permanent",
      });
      // The manifest says it now: no choice stands over it.
      if (written.ok) this.choices.set(id, undefined);
      return written;
    } catch (error) {
      this.ctx.logger.error({ err: error, extension: id }, "could not keep the extension choice");
      return failure(ErrorCode.Internal, `could not keep the choice for '${id}': ${(error as Error).message}`);
    }
  }

  /** Asks the running host plugin's process to load the extension; the answer is its state afterwards. */
  private async inject(hostId: string, id: string): Promise<WireResult> {
    const spec = this.spec(id);
    if (typeof spec === "string") {
      this.injectErrors.set(id, `it cannot be loaded: ${spec}`);
      return failure(ErrorCode.ConfigInvalid, `extension '${id}' cannot be loaded: ${spec}`);
    }
    const host = this.ctx.plugins.manifest(hostId) as PluginManifest;
    // Node's permission model confines a Node process only; a Python one may read any folder (python-plugins.md).
    const confined = host.entry?.language !== "python" && launchPermissions(host) !== undefined;
    if (confined && !this.granted.get(hostId)?.has(spec.dir)) {
      // Under the permission model a process reads only what it was launched with.
      const reason =
        `its host plugin '${hostId}' was started before it named that plugin, so its process may not read the ` +
        `extension's folder: restart it (POST /plugin/${hostId}/reload) to load the extension`;
      this.injectErrors.set(id, reason);
      return failure(ErrorCode.PluginRefused, `extension '${id}' cannot be loaded: ${reason}`);
    }
    // Its code as it is on disk now goes into the compile cache: the plugin process may not run the compiler.
    await this.options.prepareSources?.(spec.dir);
    const injected = await this.ctx.operations.control(hostId, "extension.inject", spec);
    if (!injected.ok) {
      this.injectErrors.set(id, `loading it into '${hostId}' failed: ${injected.error.message}`);
      return injected;
    }
    this.injectErrors.delete(id);
    return this.answer(id);
  }

  /**
   * Brings a running plugin in line: what it holds that is no longer an enabled extension of it (disabled, moved to
   * another plugin, gone) is taken out; enabled extensions it does not know are loaded. A plugin that cannot hold
   * extensions (remote) is left alone.
   */
  private reconcile(hostId: string): Promise<unknown> {
    return this.serially(hostId, async () => {
      if (this.ctx.plugins.state(hostId) !== "running" || this.hostProblem(hostId)) return;
      const mine = new Set(this.of(hostId));
      const wanted = (id: string) =>
        mine.has(id) &&
        this.isEnabled(id) &&
        !this.heldBack.has(id) &&
        this.ctx.plugins.state(id) !== "refused" &&
        !this.languageProblem(id, hostId);
      const reported = this.ctx.plugins.hello(hostId)?.extensions ?? [];
      for (const { id, state } of reported) {
        const stale = state === "injected" ? !wanted(id) : !mine.has(id);
        if (stale) await this.ctx.operations.control(hostId, "extension.remove", { id });
      }
      const known = new Set(reported.map((e) => e.id));
      for (const id of mine) if (wanted(id) && !known.has(id)) await this.inject(hostId, id);
    });
  }

  /**
   * The enabled extensions of a host plugin about to start, loaded in its process before its hello. A preview (a
   * reload's new process, which may yet be refused) is not noted as a launch.
   */
  private launchContext(hostId: string, preview = false): Record<string, unknown> {
    const ids = this.of(hostId);
    if (ids.length === 0 || this.hostProblem(hostId)) {
      if (!preview) this.noteLaunch(hostId, []);
      return {};
    }
    const extensions: ExtensionSpec[] = [];
    for (const id of ids) {
      if (!this.isEnabled(id) || this.heldBack.has(id) || this.ctx.plugins.state(id) === "refused") continue;
      if (this.languageProblem(id, hostId)) continue;
      const spec = this.spec(id);
      if (typeof spec === "string") {
        this.ctx.logger.warn({ plugin: hostId, extension: id }, `extension '${id}' is not loaded: ${spec}`);
        continue;
      }
      extensions.push(spec);
    }
    if (!preview) {
      this.noteLaunch(
        hostId,
        extensions.map((e) => e.id),
      );
    }
    return { extensions };
  }

  /** Remembers what this launch of `hostId` was given; kept as long as the plugin is (a plugin with extensions). */
  private noteLaunch(hostId: string, given: string[]): void {
    const before = this.launches.get(hostId);
    if (!before && given.length === 0) return;
    this.launches.set(hostId, { given, cameUp: false, failures: before?.failures ?? 0 });
    if (!before) releaseWithPlugin(this.ctx, hostId, "lifetime", () => this.launches.delete(hostId));
  }

  /**
   * Every extension of the host plugin (enabled or not, so one enabled later loads without a restart): its folder
   * may be read and its sources load as the plugin's own; its `data/` folder may be written (its store).
   */
  private launchGrant(hostId: string, preview = false): { sourceDirs: string[]; write: string[] } | undefined {
    if (this.hostProblem(hostId)) return undefined;
    const dirs = this.of(hostId).flatMap((id) => {
      const location = this.ctx.plugins.location(id);
      return location ? [location.dir] : [];
    });
    if (dirs.length === 0) return undefined;
    if (preview) return { sourceDirs: dirs, write: dirs.map((dir) => path.join(dir, "data")) };
    // What this process may read, for as long as it runs.
    const first = !this.granted.has(hostId);
    this.granted.set(hostId, new Set(dirs));
    if (first) releaseWithPlugin(this.ctx, hostId, "run", () => this.granted.delete(hostId));
    return { sourceDirs: dirs, write: dirs.map((dir) => path.join(dir, "data")) };
  }

  /** What the host plugin's process needs to load the extension, or why it cannot be made. */
  private spec(id: string): ExtensionSpec | string {
    const manifest = this.ctx.plugins.manifest(id) as PluginManifest | undefined;
    const location = this.ctx.plugins.location(id);
    if (!manifest || !location) return "its manifest cannot be read";
    const config = this.ctx.api.config.get(id);
    if (!config.ok) return config.error.message;
    return {
      id,
      dir: location.dir,
      entryModule: path.resolve(location.dir, manifest.entry.module),
      className: manifest.entry.className,
      prefix: manifest.host?.prefix ?? "",
      manifest: manifest.raw,
      config: (config.value as { config: Record<string, unknown> }).config,
    };
  }

  private serially<T>(hostId: string, op: () => Promise<T>): Promise<T> {
    const queued = this.queues.get(hostId) ?? Promise.resolve();
    const next = queued.then(op, op);
    const settled = next.then(
      () => undefined,
      () => undefined,
    );
    this.queues.set(hostId, settled);
    // The queue is forgotten once it is empty, so hosts that come and go leave nothing behind.
    void settled.then(() => {
      if (this.queues.get(hostId) === settled) this.queues.delete(hostId);
    });
    return next;
  }
}
