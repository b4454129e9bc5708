/**
 * The startup snapshot of `script` (an SDK link's snapshot script, `snapshotScript` of `linkPluginSources`) for
 * processes whose heap limit is `heapMb` MiB: made (and tried) when it is not in the cache yet; or why there is none
 * (the plugin then starts without one).
 */
export function startupSnapshot(options: {
  script: string;
  heapMb: number;
  /** The plugin processes' environment (default: this process's): the blob is made and tried under it. */
  env?: NodeJS.ProcessEnv;
}): Promise<{ ok: true; blob: string } | { ok: false; reason: string }>;

/**
 * Removes the blobs in `cacheDir` (whose entries are `names`) whose script's link is gone, and those left half made
 * before `cutoff` (ms since the epoch); resolves to how many went.
 */
export function pruneSnapshots(cacheDir: string, names: string[], cutoff: number): Promise<number>;

/** Forgets that `blob` was tried (or could not be made): the next `startupSnapshot` for it tries it again first. */
export function forgetSnapshot(blob: string): void;

/** Where `startupSnapshot` keeps the blob of `script` for this heap limit and environment (there or not). */
export function snapshotBlobPath(options: { script: string; heapMb: number; env?: NodeJS.ProcessEnv }): string;

/** The flags besides its heap limit a blob is tried under: the permission model and the warnings the host turns off. */
export const PROBE_FLAGS: readonly string[];
