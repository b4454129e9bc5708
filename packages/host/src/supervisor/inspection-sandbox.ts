/**
 * How a process that only loads a plugin's module to inspect it (`neko-plugin check`, and `install` on an archive from
 * anywhere) is confined: Node's permission model as for the plugin's own process, but tighter — it reads its folder,
 * what the manifest grants to read and what the runtime needs; it writes nothing, starts no process; and it gets none
 * of the host's secrets in its environment. `NEKO_PLUGIN_PERMISSIONS=off` turns the model off here too.
 */
import { permissionFlags, permissionsOffByEnv } from "./permission-flags.ts";
import { realpathOrSelf, runtimeReadPaths } from "./runtime-read-paths.ts";

/** The Node flags for an inspection of the plugin in `pluginDir` by the script `scriptPath` (a file of the SDK). */
export function inspectionFlags(
  pluginDir: string,
  scriptPath: string,
  grants: { fsRead?: string[] } = {},
  env: NodeJS.ProcessEnv = process.env,
): string[] {
  const heap = "--max-old-space-size=512";
  if (permissionsOffByEnv(env)) return [heap];
  const permissions = { fsRead: grants.fsRead ?? [], fsWrite: [], childProcess: false, workerThreads: false };
  const flags = permissionFlags(
    { pluginDir, permissions },
    { read: runtimeReadPaths(scriptPath), realpath: realpathOrSelf },
  );
  // Not even its own data/: an inspection leaves the folder as it found it.
  return [heap, ...flags.filter((flag) => !flag.startsWith("--allow-fs-write="))];
}

/** The environment a plugin's code may see: the host's without its API token or a launch's secret. */
export function pluginProcessEnv(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const { NEKO_API_TOKEN: _token, NEKO_PLUGIN_SECRET: _secret, ...rest } = env;
  return rest;
}
