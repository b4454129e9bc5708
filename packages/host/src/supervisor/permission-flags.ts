/**
 * The Node flags that run a plugin process under Node's permission model (SPEC §10, docs/permissions.md): it reads its
 * own folder, the SDK with its dependencies and the compiled TypeScript; it writes only its `data/` folder; it starts
 * child processes only when `[plugin.permissions]` grants `child_process`. A pure function of the launch request and
 * of what the runtime needs (found once per host by runtime-read-paths.ts); the launcher puts the flags before the runner.
 */
import path from "node:path";
import type { PluginManifest } from "../manifest/plugin-manifest.ts";
import type { LaunchRequest } from "./plugin-launcher.ts";

/** What a plugin process may do beyond the runtime's own needs: the manifest's grants. */
export interface ProcessPermissions {
  /** Extra paths as the manifest writes them: relative to the plugin folder, or absolute. */
  fsRead: string[];
  fsWrite: string[];
  childProcess: boolean;
  workerThreads: boolean;
}

/** What every plugin process needs besides its own folder. */
export interface RuntimeAccess {
  /**
   * Read only: the runner's package (the SDK) and its dependencies, the compile cache. Nothing of the host's run
   * folder: the bootstrap comes on an inherited descriptor (fd 4), which Node's model does not check, and the ZeroMQ
   * addon connects `<run folder>/host.sock` by itself, outside what the model checks.
   */
  read: string[];
  /** Where a path really is (symlinks resolved), when it exists; Node checks the path as given, not its target. */
  realpath?: (file: string) => string;
}

/** `NEKO_PLUGIN_PERMISSIONS=off` (or `0`, `false`) runs every plugin without the permission model: development only. */
export const PERMISSIONS_ENV = "NEKO_PLUGIN_PERMISSIONS";

/**
 * The permissions a plugin is launched with: its manifest's grants; undefined, meaning no permission model at all,
 * when `[plugin_runtime] permissions = false` or `NEKO_PLUGIN_PERMISSIONS=off`.
 */
export function launchPermissions(
  manifest: PluginManifest,
  env: NodeJS.ProcessEnv = process.env,
): ProcessPermissions | undefined {
  if (!manifest.runtime.permissions || permissionsOffByEnv(env)) return undefined;
  const { fsRead, fsWrite, childProcess, workerThreads } = manifest.permissions;
  return { fsRead, fsWrite, childProcess, workerThreads };
}

export function permissionsOffByEnv(env: NodeJS.ProcessEnv = process.env): boolean {
  return ["off", "0", "false"].includes((env[PERMISSIONS_ENV] ?? "").trim().toLowerCase());
}

/** The flags for this launch, to go before the runner's path; none when the plugin runs without the model. */
export function permissionFlags(
  request: Pick<LaunchRequest, "permissions" | "pluginDir">,
  runtime: RuntimeAccess,
): string[] {
  const { permissions, pluginDir } = request;
  if (permissions === undefined) return [];
  const granted = (paths: string[]) => paths.map((p) => path.resolve(pluginDir, p));
  const read = [pluginDir, ...runtime.read, ...granted(permissions.fsRead)];
  const write = [path.join(pluginDir, "data"), ...granted(permissions.fsWrite)];
  // Each path is given as `<path>/*`: the path itself and everything below it. Given bare, Node takes a path that
  // does not exist at launch (data/ before its first use, a granted folder made later) for a file and allows nothing
  // below it; and Node 20.20 aborts when a folder is given both bare and with `/*`.
  const flags = (paths: string[]) =>
    unique(paths.flatMap((p) => [p, runtime.realpath?.(p) ?? p]).map((p) => (p.endsWith("/") ? `${p}*` : `${p}/*`)));
  return [
    "--experimental-permission",
    ...flags(read).map((p) => `--allow-fs-read=${p}`),
    ...flags(write).map((p) => `--allow-fs-write=${p}`),
    ...(permissions.childProcess ? ["--allow-child-process"] : []),
    // Always, and why (docs/permissions.md): Node 20 runs the SDK's module hooks on a worker thread, so the runtime
    // itself refuses `new Worker` unless worker_threads is granted; zeromq, better-sqlite3 and msgpackr-extract are
    // native addons. Node's warnings about both would repeat at every start: the host says it once instead.
    "--allow-worker",
    "--allow-addons",
    "--disable-warning=ExperimentalWarning",
    "--disable-warning=SecurityWarning",
  ];
}

function unique(paths: string[]): string[] {
  return [...new Set(paths)];
}
