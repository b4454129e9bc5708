/**
 * The linked sources of each plugin (`@neko/plugin-sdk/plugin-link`): made before each launch, with its TypeScript
 * warmed into the compile cache, and named to the process by `NEKO_PLUGIN_LINKED`. A linked process imports the SDK's
 * runtime and the plugin as compiled modules and runs no module hooks; a plugin that cannot be linked runs as before.
 * `NEKO_PLUGIN_LINK=off` in the host's environment turns linking off (every process takes the hooks' path).
 */
import { linkPluginSources } from "@neko/plugin-sdk/plugin-link";
import { defaultCacheDir } from "@neko/plugin-sdk/ts-cache";
import type { HostLogger } from "../host-logger.ts";
import type { SourceAccess } from "./plugin-supervisor.ts";

/** A Node plugin's entry module: what a link starts from (a Python plugin's is not linked). */
const NODE_SOURCE = /\.(ts|mts|js|mjs)$/;

export class PluginLinks {
  /** Entry module → the manifest of its latest link; absent when it has none. */
  private readonly manifests = new Map<string, string>();

  constructor(private readonly options: { logger: HostLogger; env?: NodeJS.ProcessEnv }) {}

  /** Links the plugin whose entry module is `entryModule`; never throws (without a link it runs through the hooks). */
  async prepare(pluginDir: string, entryModule: string, access?: SourceAccess): Promise<void> {
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
}
