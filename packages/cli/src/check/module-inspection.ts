/**
 * The module step of `neko-plugin check`: the SDK's plugin-inspector.mjs, in a child process of its own, loads the
 * plugin's module as a plugin process would (without starting the plugin) and reports on file descriptor 3. The child
 * runs confined (the host's `inspectionFlags`: Node's permission model, reading its folder and the runtime, writing
 * nothing, no child processes, none of the host's secrets): a plugin from anywhere may be checked, and `install` checks
 * an archive's. Its TypeScript is compiled into the cache first, as the host does before a start. The process itself
 * (time limit, report, how it ended) is inspector-process.ts's; confinement is what protects.
 */
import path from "node:path";
import { createSilentLogger, inspectionFlags, pluginProcessEnv, warmPluginSources } from "@neko/host";
import { sdkRoot } from "../sdk-location.ts";
import { runInspectorProcess } from "./inspector-process.ts";
import type { CheckItem } from "./plugin-check.ts";

export const MODULE_LOAD_TIMEOUT_MS = 10_000;

export interface ModuleInspectionRequest {
  dir: string;
  modulePath: string;
  className: string;
  type: "plugin" | "extension" | "adapter";
  prefix?: string;
  manifestEntries?: Array<{ id: string; inputSchema?: Record<string, unknown> }>;
  /** What `[plugin.permissions] fs_read` grants: the module may read it at import, as its process could. */
  readGrants?: string[];
  timeoutMs?: number;
}

/** What the inspector found, as check items; a child that died or hung is one `load` failure saying so. */
export async function inspectModuleInChild(request: ModuleInspectionRequest): Promise<CheckItem[]> {
  const { dir, timeoutMs = MODULE_LOAD_TIMEOUT_MS, readGrants, ...inspection } = request;
  const inspector = path.join(sdkRoot(), "bin", "plugin-inspector.mjs");
  // Under the permission model the child may not start esbuild: its TypeScript goes into the cache first.
  await warmPluginSources(dir, createSilentLogger());
  const flags = inspectionFlags(dir, inspector, { fsRead: readGrants });
  return runInspectorProcess({
    command: process.execPath,
    args: [...flags, inspector, dir],
    // On stdin: the manifest's schemas can pass argv's size limit.
    input: JSON.stringify(inspection),
    cwd: dir,
    env: { ...pluginProcessEnv(process.env), NEKO_PLUGIN_DIR: dir },
    file: path.relative(dir, request.modulePath),
    timeoutMs,
    timeoutHint: "top-level await?",
    timeoutFix: "do not wait at the top level of the module: start connections and timers in the startup lifecycle",
    exitFix: (code) =>
      code === 13
        ? "a top-level await in the module never settled: start connections and timers in the startup lifecycle"
        : "a module must not call process.exit() or crash the process when it is imported",
  });
}
