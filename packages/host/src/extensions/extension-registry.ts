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
import type { DebugCounted, HostContext } from "../host-context.ts";
import type { PluginManifest } from "../manifest/plugin-manifest.ts";
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

export class ExtensionRegistry implements ExtensionsApi, Disposable, DebugCounted {
  private readonly choices: ExtensionChoices;
  private readonly owned = new DisposableStore();
  /** Changes to one host plugin's extensions never interleave. */
  private readonly queues = new Map<string, Promise<unknown>>();

  constructor(private readonly ctx: HostContext) {
    this.choices = ExtensionChoices.inDataDir(ctx.dataDir, ctx.logger);
    this.owned.add(ctx.operations.addLaunchContext((spec) => this.launchContext(spec.id)));
    this.owned.add(ctx.operations.addLaunchGrant((spec) => this.launchGrant(spec.id)));
    // A host plugin that comes up is brought in line with the choices made while it was starting.
    this.owned.add(
      ctx.events.onStateChange(({ pluginId, change }) => {
        if (change.state === "running" && this.of(pluginId).length > 0) void this.reconcile(pluginId);
      }),
    );
  }

  dispose(): void {
    this.owned.dispose();
  }

  debugCounts(): Record<string, number> {
    return { "extensions.queues": this.queues.size };
  }

  /** The ids of the extensions that name `hostId` as their host, sorted. */
  of(hostId: string): string[] {
    return this.ctx.plugins
      .ids()
      .filter((id) => {
        const m = this.ctx.plugins.manifest(id);
        return m?.type === "extension" && m.host?.pluginId === hostId;
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

  /** One extension's host, state and reason; `refusedFor` is why discovery refused it, if it did. */
  view(id: string, refusedFor?: string): ExtensionView {
    const manifest = this.ctx.plugins.manifest(id);
    const hostId = manifest?.host?.pluginId ?? "";
    const base = { id, host_plugin_id: hostId, prefix: manifest?.host?.prefix ?? "", enabled: this.isEnabled(id) };
    const at = (state: ExtensionState, reason: string | null): ExtensionView => ({ ...base, state, reason });
    if (refusedFor !== undefined || this.ctx.plugins.state(id) === "refused") {
      return at("failed", refusedFor ?? "its manifest is refused");
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
    const hostState = this.ctx.plugins.state(hostId);
    if (hostState !== "running") return at("pending", `its host plugin '${hostId}' is ${hostState}`);
    const reported = this.ctx.plugins.hello(hostId)?.extensions?.find((e) => e.id === id);
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
      const recorded = await this.record(id, enabled, options);
      if (!recorded.ok) return recorded;
      if (this.ctx.plugins.state(hostId) !== "running" || this.hostProblem(hostId)) return this.answer(id);
      if (!enabled) {
        const removed = await this.ctx.operations.control(hostId, "extension.remove", { id });
        return removed.ok ? this.answer(id) : removed;
      }
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
      return failure(ErrorCode.ConfigInvalid, `extension '${id}' cannot be loaded: ${spec}`);
    }
    const injected = await this.ctx.operations.control(hostId, "extension.inject", spec);
    return injected.ok ? this.answer(id) : injected;
  }

  /** Brings a running host plugin in line: enabled extensions it does not know are loaded, disabled ones taken out. */
  private reconcile(hostId: string): Promise<unknown> {
    return this.serially(hostId, async () => {
      if (this.ctx.plugins.state(hostId) !== "running" || this.hostProblem(hostId)) return;
      const reported = new Map((this.ctx.plugins.hello(hostId)?.extensions ?? []).map((e) => [e.id, e.state]));
      for (const id of this.of(hostId)) {
        const usable = this.ctx.plugins.state(id) !== "refused";
        if (usable && this.isEnabled(id) && !reported.has(id)) await this.inject(hostId, id);
        if (!this.isEnabled(id) && reported.get(id) === "injected") {
          await this.ctx.operations.control(hostId, "extension.remove", { id });
        }
      }
    });
  }

  /** The enabled extensions of a host plugin about to start, loaded in its process before its hello. */
  private launchContext(hostId: string): Record<string, unknown> {
    const ids = this.of(hostId);
    if (ids.length === 0 || this.hostProblem(hostId)) return {};
    const extensions: ExtensionSpec[] = [];
    for (const id of ids) {
      if (!this.isEnabled(id) || this.ctx.plugins.state(id) === "refused") continue;
      const spec = this.spec(id);
      if (typeof spec === "string") {
        this.ctx.logger.warn({ plugin: hostId, extension: id }, `extension '${id}' is not loaded: ${spec}`);
        continue;
      }
      extensions.push(spec);
    }
    return { extensions };
  }

  /**
   * Every extension of the host plugin (enabled or not, so one enabled later loads without a restart): its folder
   * may be read and its sources load as the plugin's own; its `data/` folder may be written (its store).
   */
  private launchGrant(hostId: string): { sourceDirs: string[]; write: string[] } | undefined {
    if (this.hostProblem(hostId)) return undefined;
    const dirs = this.of(hostId).flatMap((id) => {
      const location = this.ctx.plugins.location(id);
      return location ? [location.dir] : [];
    });
    if (dirs.length === 0) return undefined;
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
