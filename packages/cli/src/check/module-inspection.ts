/**
 * The module step of `neko-plugin check`: the SDK's plugin-inspector.mjs, in a child process of its own, loads the
 * plugin's module as a plugin process would (without starting the plugin) and reports on file descriptor 3. The child
 * runs confined (the host's `inspectionFlags`: Node's permission model, reading its folder and the runtime, writing
 * nothing, no child processes, none of the host's secrets): a plugin from anywhere may be checked, and `install` checks
 * an archive's. Its TypeScript is compiled into the cache first, as the host does before a start. The child and
 * anything it started are killed if it has not answered within the time limit. What it reports is validated: the
 * plugin's own code runs in that process and could write on the same descriptor, so a check is a diagnosis, not a
 * security verdict — confinement is what protects.
 */
import { spawn } from "node:child_process";
import path from "node:path";
import { createSilentLogger, inspectionFlags, pluginProcessEnv, warmPluginSources } from "@neko/host";
import { terminalSafe } from "../text-table.ts";
import { sdkRoot } from "../sdk-location.ts";
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

const MAX_KEPT_OUTPUT = 64 * 1024;

/** What the inspector found, as check items; a child that died or hung is one `load` failure saying so. */
export async function inspectModuleInChild(request: ModuleInspectionRequest): Promise<CheckItem[]> {
  const { dir, timeoutMs = MODULE_LOAD_TIMEOUT_MS, readGrants, ...inspection } = request;
  const inspector = path.join(sdkRoot(), "bin", "plugin-inspector.mjs");
  // Under the permission model the child may not start esbuild: its TypeScript goes into the cache first.
  await warmPluginSources(dir, createSilentLogger());
  const flags = inspectionFlags(dir, inspector, { fsRead: readGrants });
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...flags, inspector, JSON.stringify(inspection), dir], {
      cwd: dir,
      stdio: ["ignore", "pipe", "pipe", "pipe"],
      env: { ...pluginProcessEnv(process.env), NEKO_PLUGIN_DIR: dir },
      // Its own process group: a time-out kills whatever it started too.
      detached: true,
    });
    const killGroup = () => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, "SIGKILL");
      } catch {
        // gone already
      }
    };
    let report = "";
    let stderr = "";
    child.stdout?.resume(); // what the plugin prints is not the report
    child.stderr?.on("data", (chunk: Buffer) => {
      // The last of it is kept: a crash's own lines come at the end.
      stderr = (stderr + chunk.toString("utf8")).slice(-MAX_KEPT_OUTPUT);
    });
    (child.stdio[3] as NodeJS.ReadableStream).on("data", (chunk: Buffer) => {
      report += chunk.toString("utf8");
    });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup();
    }, timeoutMs);
    const file = path.relative(dir, request.modulePath);
    child.on("error", (error) => {
      clearTimeout(timer);
      resolve([{ level: "fail", check: "load", message: `the module inspector could not start: ${error.message}` }]);
    });
    // On `exit`, not `close`: a process it started could hold the pipes open for ever. What was written on the report
    // descriptor before the exit is read first (briefly waited for).
    child.on("exit", async (code, signal) => {
      clearTimeout(timer);
      const reportPipe = child.stdio[3] as NodeJS.ReadableStream & { destroy(): void; readableEnded?: boolean };
      if (!reportPipe.readableEnded) {
        await new Promise((done) => {
          const wait = setTimeout(done, 200);
          reportPipe.once("end", () => {
            clearTimeout(wait);
            done(undefined);
          });
        });
      }
      killGroup();
      for (const pipe of [child.stdout, child.stderr, reportPipe]) pipe?.destroy();
      if (timedOut) {
        resolve([
          {
            level: "fail",
            check: "load",
            message: `${file}: the module did not finish loading in ${timeoutMs / 1000} s (top-level await?)`,
            fix: "do not wait at the top level of the module: start connections and timers in the startup lifecycle",
            file,
          },
        ]);
        return;
      }
      const items = code === 0 ? reportItems(report) : undefined;
      if (items !== undefined) {
        resolve(items);
      } else {
        const last = stderr.trim().split("\n").slice(-5).join("\n");
        const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
        resolve([
          {
            level: "fail",
            check: "load",
            message: `loading ${file} ended the process before it was inspected: it ${how}${last ? `\n${last}` : ""}`,
            fix:
              code === 13
                ? "a top-level await in the module never settled: start connections and timers in the startup lifecycle"
                : "a module must not call process.exit() or crash the process when it is imported",
            file,
          },
        ]);
      }
    });
  });
}

const LEVELS = new Set(["ok", "warn", "fail"]);

/**
 * The inspector's report as check items, each field checked and made safe to print; undefined when it is not one
 * well-formed report (the module ended the process, or wrote something else there).
 */
function reportItems(report: string): CheckItem[] | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(report);
  } catch {
    return undefined;
  }
  const items = (parsed as { items?: unknown } | null)?.items;
  if (!Array.isArray(items) || items.length === 0) return undefined;
  const text = (value: unknown, max = 2000) =>
    typeof value === "string" ? terminalSafe(value.slice(0, max)) : undefined;
  const checked: CheckItem[] = [];
  for (const item of items as Record<string, unknown>[]) {
    const level = item?.level;
    const check = text(item?.check, 40);
    const message = text(item?.message);
    if (typeof level !== "string" || !LEVELS.has(level) || check === undefined || message === undefined)
      return undefined;
    const fix = text(item.fix);
    const file = text(item.file, 500);
    const line = Number.isInteger(item.line) ? (item.line as number) : undefined;
    const column = Number.isInteger(item.column) ? (item.column as number) : undefined;
    checked.push({
      level: level as CheckItem["level"],
      check,
      message,
      ...(fix !== undefined && { fix }),
      ...(file !== undefined && { file }),
      ...(line !== undefined && { line }),
      ...(column !== undefined && { column }),
    });
  }
  return checked;
}
