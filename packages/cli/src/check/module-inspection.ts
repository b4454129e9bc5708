/**
 * The module step of `neko-plugin check`: the SDK's plugin-inspector.mjs, in a child process of its own, loads the
 * plugin's module as a plugin process would (without starting the plugin) and reports on file descriptor 3. The child
 * is killed if it has not answered within the time limit (a module whose top-level code never finishes).
 */
import { spawn } from "node:child_process";
import path from "node:path";
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
  timeoutMs?: number;
}

const MAX_KEPT_OUTPUT = 64 * 1024;

/** What the inspector found, as check items; a child that died or hung is one `load` failure saying so. */
export function inspectModuleInChild(request: ModuleInspectionRequest): Promise<CheckItem[]> {
  const { dir, timeoutMs = MODULE_LOAD_TIMEOUT_MS, ...inspection } = request;
  const inspector = path.join(sdkRoot(), "bin", "plugin-inspector.mjs");
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [inspector, JSON.stringify(inspection), dir], {
      cwd: dir,
      stdio: ["ignore", "pipe", "pipe", "pipe"],
      env: { ...process.env, NEKO_PLUGIN_DIR: dir },
    });
    let report = "";
    let stderr = "";
    child.stdout?.resume(); // what the plugin prints is not the report
    child.stderr?.on("data", (chunk: Buffer) => {
      if (stderr.length < MAX_KEPT_OUTPUT) stderr += chunk.toString("utf8");
    });
    (child.stdio[3] as NodeJS.ReadableStream).on("data", (chunk: Buffer) => {
      report += chunk.toString("utf8");
    });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, timeoutMs);
    const file = path.relative(dir, request.modulePath);
    child.on("error", (error) => {
      clearTimeout(timer);
      resolve([{ level: "fail", check: "load", message: `the module inspector could not start: ${error.message}` }]);
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
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
      try {
        const parsed = JSON.parse(report) as { items: CheckItem[] };
        resolve(parsed.items);
      } catch {
        const last = stderr.trim().split("\n").slice(-5).join("\n");
        const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
        resolve([
          {
            level: "fail",
            check: "load",
            message: `loading ${file} ended the process before it was inspected: it ${how}${last ? `\n${last}` : ""}`,
            fix: "a module must not call process.exit() or crash the process when it is imported",
            file,
          },
        ]);
      }
    });
  });
}
