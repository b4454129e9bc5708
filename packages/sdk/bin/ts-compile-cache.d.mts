/** The cache folder of this user, created private; undefined when it cannot be used. */
export function defaultCacheDir(): string | undefined;
/** The host's cache folder as a plugin process may read it (never created or changed); undefined when unusable. */
export function readableCacheDir(): string | undefined;
/** The JavaScript for one TypeScript file: from the cache, or compiled now in memory (the cache is never written). */
export function compileTypeScript(file: string, source: string, cacheDir: string | undefined): Promise<string>;
/** Whether a path is TypeScript this loader compiles (`.ts`, `.mts`). */
export function isTypeScript(file: string): boolean;
/** Compiles into the cache every TypeScript file under `dirs` not there yet; resolves to how many were compiled. */
export function warmTypeScriptCache(dirs: string[], cacheDir?: string): Promise<number>;
/** The folders of the SDK's and the protocol package's TypeScript sources. */
export function sdkSourceDirs(): string[];
/** Removes cache entries older than `maxAgeMs` (default 30 days) and stale temporary files; resolves to the count. */
export function pruneTypeScriptCache(cacheDir?: string, maxAgeMs?: number): Promise<number>;
/** Runs `work` with esbuild's service held against the idle stop (every user of esbuild in a process must). */
export function withEsbuild<T>(work: (service: typeof import("esbuild")) => Promise<T>): Promise<T>;
