/**
 * The linked sources of each plugin (`@neko/plugin-sdk/plugin-link`): made before each launch, with its TypeScript
 * warmed into the compile cache, and named to the process by `NEKO_PLUGIN_LINKED`. A linked process imports the SDK's
 * runtime and the plugin as compiled modules and runs no module hooks; a plugin that cannot be linked runs as before.
 * `NEKO_PLUGIN_LINK=off` in the host's environment turns linking off (every process takes the hooks' path).
 *
 * Old links are pruned at the host's first link and after each link made: every link no running process of this
 * host imports and that was not used within the grace period (`NEKO_PLUGIN_LINK_GRACE_MS`, default 15 minutes) goes.
 * The links of running processes are touched every third of that period, so a prune by another host sharing the
 * cache leaves them too.
 */
import type { ChildProcess } from "node:child_process";
import { linkPluginSources, pruneLinks, touchLinks } from "@neko/plugin-sdk/plugin-link";
import { defaultCacheDir } from "@neko/plugin-sdk/ts-cache";
import type { HostLogger } from "../host-logger.ts";
import type { SourceAccess } from "./plugin-supervisor.ts";

/** A Node plugin's entry module: what a link starts from (a Python plugin's is not linked). */
const NODE_SOURCE = /\.(ts|mts|js|mjs)$/;
/** How long a link no process of this host runs from is left after its last use (other hosts may share the cache). */
const DEFAULT_GRACE_MS = 15 * 60 * 1000;

export class PluginLinks {
  /** Entry module → the manifest of its latest link; absent when it has none. */
  private readonly manifests = new Map<string, string>();
  /** The manifest of each running process's link → how many processes run from it. */
  private readonly inUse = new Map<string, number>();
  private readonly graceMs: number;
  private pruning: Promise<unknown> | undefined;
  private prunedOnce = false;
  private toucher: NodeJS.Timeout | undefined;

  constructor(private readonly options: { logger: HostLogger; env?: NodeJS.ProcessEnv }) {
    const grace = Number((options.env ?? process.env).NEKO_PLUGIN_LINK_GRACE_MS);
    this.graceMs = Number.isFinite(grace) && grace >= 0 ? grace : DEFAULT_GRACE_MS;
  }

  /** Links the plugin whose entry module is `entryModule`; never throws (without a link it runs through the hooks). */
  async prepare(pluginDir: string, entryModule: string, access?: SourceAccess): Promise<void> {
    const previous = this.manifests.get(entryModule);
    this.manifests.delete(entryModule);
    if ((this.options.env ?? process.env).NEKO_PLUGIN_LINK === "off" || !NODE_SOURCE.test(entryModule)) return;
    // Without `access` the plugin is taken to read only its own folder and to write its data/ folder.
    const outcome = await linkPluginSources({
      entry: entryModule,
      pluginDir,
      cacheDir: defaultCacheDir(),
      access: { read: access === undefined ? [] : access.read, write: access?.write ?? [] },
    });
    if (outcome.ok) {
      this.manifests.set(entryModule, outcome.manifest);
      // The link just made is young, and what runs is kept: neither goes.
      this.prune(!this.prunedOnce || outcome.manifest !== previous);
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

  /** A process launched from the link of `manifest`: its link is kept (and kept young) until the process exits. */
  launched(manifest: string, child: ChildProcess): void {
    this.inUse.set(manifest, (this.inUse.get(manifest) ?? 0) + 1);
    child.once("exit", () => {
      const left = (this.inUse.get(manifest) ?? 1) - 1;
      if (left > 0) this.inUse.set(manifest, left);
      else this.inUse.delete(manifest);
    });
    if (this.toucher === undefined && this.graceMs > 0) {
      this.toucher = setInterval(() => touchLinks(this.inUse.keys()), Math.max(1000, this.graceMs / 3));
      this.toucher.unref();
    }
  }

  /** Resolves once the prune in progress, if any, is done. */
  async settled(): Promise<void> {
    await this.pruning;
  }

  /** Prunes old links in the background (one prune at a time; `wanted` false: only when none ran yet). */
  private prune(wanted: boolean): void {
    if (!wanted || this.pruning !== undefined) return;
    this.prunedOnce = true;
    const keep = [...this.inUse.keys(), ...this.manifests.values()];
    this.pruning = pruneLinks({ cacheDir: defaultCacheDir(), keep, graceMs: this.graceMs })
      .then((removed) => {
        if (removed > 0) this.options.logger.debug({ removed }, "pruned old links from the compile cache");
      })
      .catch(() => undefined)
      .finally(() => {
        this.pruning = undefined;
      });
  }
}
