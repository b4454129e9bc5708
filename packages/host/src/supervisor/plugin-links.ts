/**
 * The linked sources of each plugin (`@neko/plugin-sdk/plugin-link`): made before each launch, with its TypeScript
 * warmed into the compile cache, and named to the process by `NEKO_PLUGIN_LINKED`. A linked process imports the SDK's
 * runtime and the plugin as compiled modules and runs no module hooks; a plugin that cannot be linked runs as before.
 * `NEKO_PLUGIN_LINK=off` in the host's environment turns linking off (every process takes the hooks' path).
 *
 * Old links are pruned at the host's first link and after a link made, at most once per third of the grace period:
 * every link no running process of this host imports and that was not used within the grace period (`NEKO_PLUGIN_LINK_GRACE_MS`, default 15 minutes) goes.
 * The links of running processes (and threads) are touched every third of that period, at least every minute, so a
 * prune by another host sharing the cache with a shorter grace period leaves them too. A prune asks right before each
 * removal whether the link is in use or chosen meanwhile, and keeps every link used since the oldest link being
 * prepared began (docs/architecture.md "Linked sources").
 */
import { linkPluginSources, pruneLinks, touchLinks } from "@neko/plugin-sdk/plugin-link";
import { forgetSnapshot, startupSnapshot } from "@neko/plugin-sdk/plugin-snapshot";
import { defaultCacheDir } from "@neko/plugin-sdk/ts-cache";
import type { HostLogger } from "../host-logger.ts";
import { pluginProcessEnv } from "./inspection-sandbox.ts";
import type { SourceAccess } from "./plugin-supervisor.ts";

/** A Node plugin's entry module: what a link starts from (a Python plugin's is not linked). */
const NODE_SOURCE = /\.(ts|mts|js|mjs)$/;
/** How long a link no process of this host runs from is left after its last use (other hosts may share the cache). */
const DEFAULT_GRACE_MS = 15 * 60 * 1000;
/** The longest wait between two touches of the links in use, whatever this host's grace period. */
const MAX_TOUCH_INTERVAL_MS = 60 * 1000;
/** Slack for file times, which the kernel stamps from a coarse clock (a few ms behind `Date.now()`). */
const CLOCK_SLACK_MS = 1000;

/**
 * Linked plugin processes start from a startup snapshot of the SDK's runtime (docs/architecture.md "Startup snapshot");
 * `NEKO_PLUGIN_SNAPSHOT=off` (or `0`, `false`) in the host's environment starts them without.
 */
export const SNAPSHOT_ENV = "NEKO_PLUGIN_SNAPSHOT";

/**
 * Whether plugin processes start from a startup snapshot under the host's environment `env`: not with
 * `NEKO_PLUGIN_SNAPSHOT=off`, nor when `MSGPACKR_NATIVE_ACCELERATION_DISABLED` asks for msgpackr's native extractor
 * (set, and not `true` as msgpackr reads it): the snapshot's msgpackr never has it (bin/load-plugin-runtime.mjs).
 */
export function snapshotsOn(env: NodeJS.ProcessEnv = process.env): boolean {
  const extractor = env.MSGPACKR_NATIVE_ACCELERATION_DISABLED;
  if (extractor !== undefined && extractor.toLowerCase() !== "true") return false;
  return !["off", "0", "false"].includes((env[SNAPSHOT_ENV] ?? "").trim().toLowerCase());
}

export class PluginLinks {
  /** Entry module → the manifest of its latest link; absent when it has none. */
  private readonly manifests = new Map<string, string>();
  /** Entry module → the startup snapshot its process starts from, and its heap limit; absent when it has none. */
  private readonly snapshots = new Map<string, { blob: string; heapMb: number }>();
  /** Why the last snapshot could not be made, said once until it changes. */
  private snapshotProblem: string | undefined;
  /** The manifest of each running process's link → how many processes run from it. */
  private readonly inUse = new Map<string, number>();
  private readonly graceMs: number;
  private pruning: Promise<unknown> | undefined;
  /** When the last prune started (0: none yet). */
  private prunedAt = 0;
  private toucher: NodeJS.Timeout | undefined;
  /** When each link being prepared now began. */
  private readonly preparing = new Map<object, number>();

  constructor(private readonly options: { logger: HostLogger; env?: NodeJS.ProcessEnv }) {
    const grace = Number((options.env ?? process.env).NEKO_PLUGIN_LINK_GRACE_MS);
    this.graceMs = Number.isFinite(grace) && grace >= 0 ? grace : DEFAULT_GRACE_MS;
  }

  /** Links the plugin whose entry module is `entryModule`; never throws (without a link it runs through the hooks). */
  async prepare(pluginDir: string, entryModule: string, access?: SourceAccess): Promise<void> {
    const previous = this.manifests.get(entryModule);
    this.manifests.delete(entryModule);
    this.snapshots.delete(entryModule);
    const env = this.options.env ?? process.env;
    if (env.NEKO_PLUGIN_LINK === "off" || !NODE_SOURCE.test(entryModule)) return;
    const heapMb = snapshotsOn(env) ? access?.heapMb : undefined;
    // Without `access` the plugin is taken to read only its own folder and to write its data/ folder.
    const preparation = {};
    this.preparing.set(preparation, Date.now());
    let outcome: Awaited<ReturnType<typeof linkPluginSources>>;
    try {
      outcome = await linkPluginSources({
        entry: entryModule,
        pluginDir,
        cacheDir: defaultCacheDir(),
        access: { read: access === undefined ? [] : access.read, write: access?.write ?? [] },
        ...(heapMb !== undefined && { snapshot: true }),
      });
      if (outcome.ok) {
        this.manifests.set(entryModule, outcome.manifest);
        if (heapMb !== undefined && outcome.snapshotScript !== undefined) {
          await this.prepareSnapshot(entryModule, outcome.snapshotScript, heapMb, env);
        } else if (heapMb !== undefined) {
          this.noSnapshot(entryModule, outcome.snapshotProblem ?? "the SDK's runtime could not be bundled for one");
        }
      }
    } finally {
      this.preparing.delete(preparation);
    }
    if (outcome.ok) {
      // The link just made is young, and what runs is kept: neither goes.
      this.prune(this.prunedAt === 0 || outcome.manifest !== previous);
    } else {
      this.options.logger.debug(
        { entryModule, reason: outcome.reason },
        "not linked: the plugin loads through the module hooks",
      );
    }
  }

  /** The manifest for a launch of the plugin whose entry module is `entryModule`, if it is linked. */
  manifestFor(entryModule: string): string | undefined {
    return this.manifests.get(entryModule);
  }

  /**
   * The startup snapshot for a launch of the plugin whose entry module is `entryModule` with a heap limit of `heapMb`
   * MiB, if it has one (V8 takes a snapshot only under the heap limit it was made with).
   */
  snapshotFor(entryModule: string, heapMb: number): string | undefined {
    const snapshot = this.snapshots.get(entryModule);
    return snapshot?.heapMb === heapMb ? snapshot.blob : undefined;
  }

  /**
   * A process started from `blob` died as Node does when it cannot start from a snapshot (a blob damaged since it was
   * tried, or removed): the next start of the plugin tries the blob again, and makes it again if it fails.
   */
  snapshotFailed(entryModule: string, blob: string): void {
    if (this.snapshots.get(entryModule)?.blob === blob) this.snapshots.delete(entryModule);
    forgetSnapshot(blob);
  }

  /** Its link runs with or without a snapshot: one that cannot be made is said (once) and the plugin starts without. */
  private async prepareSnapshot(
    entryModule: string,
    script: string,
    heapMb: number,
    env: NodeJS.ProcessEnv,
  ): Promise<void> {
    // Made and tried under the plugins' environment (without the host's secrets).
    const made = await startupSnapshot({ script, heapMb, env: pluginProcessEnv(env) }).catch(
      (error: unknown): { ok: false; reason: string } => ({ ok: false, reason: String(error) }),
    );
    if (made.ok) this.snapshots.set(entryModule, { blob: made.blob, heapMb });
    else this.noSnapshot(entryModule, made.reason);
  }

  private noSnapshot(entryModule: string, reason: string): void {
    if (reason === this.snapshotProblem) return;
    this.snapshotProblem = reason;
    this.options.logger.warn({ entryModule, reason }, "no startup snapshot: plugin processes start without one");
  }

  /**
   * A process or thread launched from the link of `manifest`: its link is kept (and kept young) until it exits;
   * `onExit` registers the callback to call then (once).
   */
  launched(manifest: string, onExit: (callback: () => void) => unknown): void {
    this.inUse.set(manifest, (this.inUse.get(manifest) ?? 0) + 1);
    let exited = false;
    onExit(() => {
      if (exited) return;
      exited = true;
      const left = (this.inUse.get(manifest) ?? 1) - 1;
      if (left > 0) this.inUse.set(manifest, left);
      else this.inUse.delete(manifest);
    });
    if (this.toucher === undefined) {
      const interval = Math.max(1000, Math.min(this.graceMs / 3, MAX_TOUCH_INTERVAL_MS));
      this.toucher = setInterval(() => touchLinks(this.inUse.keys()), interval);
      this.toucher.unref();
    }
  }

  /** The manifests of the links running processes and threads import from now (for tests). */
  get manifestsInUse(): string[] {
    return [...this.inUse.keys()];
  }

  /** Resolves once the prune in progress, if any, is done. */
  async settled(): Promise<void> {
    await this.pruning;
  }

  /**
   * Prunes old links in the background: one prune at a time, and at most one per third of the grace period (a link
   * cannot go before the grace period is over, so pruning more often finds nothing new, and a burst of starts — each
   * a new link — would read the whole cache folder once per plugin); `wanted` false: only when none ran yet.
   */
  private prune(wanted: boolean): void {
    if (!wanted || this.pruning !== undefined) return;
    if (this.prunedAt !== 0 && Date.now() - this.prunedAt < this.graceMs / 3) return;
    this.prunedAt = Date.now();
    this.pruning = pruneLinks({
      cacheDir: defaultCacheDir(),
      keep: () => [...this.inUse.keys(), ...this.manifests.values()],
      graceMs: this.graceMs,
      preparingSince: () =>
        this.preparing.size === 0 ? undefined : Math.min(...this.preparing.values()) - CLOCK_SLACK_MS,
    })
      .then((removed) => {
        if (removed > 0) this.options.logger.debug({ removed }, "pruned old links from the compile cache");
      })
      .catch(() => undefined)
      .finally(() => {
        this.pruning = undefined;
      });
  }
}
