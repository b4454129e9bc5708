/**
 * Links the SDK's runtime and the plugin whose entry module is `entry` into the compile cache (compiled modules with
 * their imports resolved); resolves to the manifest a plugin process is pointed at with `NEKO_PLUGIN_LINKED`, or why
 * there is none (the process then loads its sources through the module hooks).
 */
export function linkPluginSources(options: {
  entry: string;
  pluginDir: string;
  cacheDir: string | undefined;
  /**
   * What the plugin's process may read and write (paths absolute or relative to `pluginDir`; its own folder and its
   * data/ folder are implied): only TypeScript it may read is compiled into the link, and nothing under a folder it
   * writes. `read` undefined: it runs without the permission model.
   */
  access?: { read?: string[]; write?: string[] };
  /**
   * Link it for a process started from a startup snapshot of the SDK (it runs without one too): the outcome names the
   * script the snapshot is made from (plugin-snapshot.mjs), or why there is none (`snapshotProblem`: it is then linked
   * as without `snapshot`).
   */
  snapshot?: boolean;
}): Promise<
  { ok: true; manifest: string; snapshotScript?: string; snapshotProblem?: string } | { ok: false; reason: string }
>;

/**
 * Removes the `<key>.link` folders of `cacheDir` that none of `keep` (manifests of running processes) imports from
 * and that were not used or made within `graceMs` (nor since `preparingSince`, the start of the oldest link being
 * prepared), the indexes whose link is gone and the startup snapshots made from them (plugin-snapshot.mjs); resolves
 * to how many went. `keep` as a function is asked again right before each removal.
 */
export function pruneLinks(options: {
  cacheDir: string | undefined;
  keep: Iterable<string> | (() => Iterable<string>);
  graceMs: number;
  preparingSince?: () => number | undefined;
}): Promise<number>;

/** Marks the links of these manifests (and the SDK's link each uses) as used now, so no prune takes them. */
export function touchLinks(manifests: Iterable<string>): void;
