/**
 * Runs a module inspector — a child process that loads a plugin's module as its plugin process would, without
 * starting it, and writes its findings as one JSON report on file descriptor 3 — and turns what it did into check
 * items: its report's items (each field checked and made safe to print), or one `load` failure saying how it ended
 * (it hung past the time limit, crashed, exited before it reported). The child gets its own process group, killed with
 * everything in it at the time limit and once it has exited (a process that left the group by setsid is out of reach).
 * The report is validated, and must be whole (every step the inspectors always report, or a failure): the plugin's own
 * code runs in that process and could write on the same descriptor, so a check is a diagnosis, not a security verdict.
 * module-inspection.ts runs the TypeScript one, python-module-inspection.ts the Python one.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { terminalSafe } from "../text-table.ts";
import type { CheckItem } from "./plugin-check.ts";

export interface InspectorProcess {
  command: string;
  args: string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** The request, written on the child's stdin (argv has a size limit a manifest's schemas can pass). */
  input: string;
  /** The module inspected, relative to the plugin folder, as failures name it. */
  file: string;
  timeoutMs: number;
  /** Why a module may not finish loading, in the time-out's message: `top-level await?`. */
  timeoutHint: string;
  /** What to do when the module did not finish loading in time. */
  timeoutFix: string;
  /** What to do when loading the module ended the process (by its exit code). */
  exitFix: (code: number | null) => string;
}

const MAX_KEPT_OUTPUT = 64 * 1024;
/** The most of a report read: the inspector's is a few KiB; a larger one was not written by it. */
const MAX_REPORT = 1024 * 1024;

export function runInspectorProcess(inspector: InspectorProcess): Promise<CheckItem[]> {
  const { file, timeoutMs } = inspector;
  return new Promise((resolve) => {
    let child: ChildProcess;
    try {
      child = spawn(inspector.command, inspector.args, {
        cwd: inspector.cwd,
        stdio: ["pipe", "pipe", "pipe", "pipe"],
        env: inspector.env,
        // Its own process group: a time-out kills whatever it started too.
        detached: true,
      });
    } catch (error) {
      // Some errors come at once rather than as an `error` event (E2BIG, ENOTDIR, a NUL byte in an argument).
      resolve([
        {
          level: "fail",
          check: "load",
          message: `the module inspector could not start: ${terminalSafe((error as Error).message)}`,
          file,
        },
      ]);
      return;
    }
    // The request, then end of input: a module that reads stdin at import reads nothing more.
    child.stdin?.on("error", () => undefined);
    child.stdin?.end(inspector.input);
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
    let overflow = false;
    (child.stdio[3] as NodeJS.ReadableStream).on("data", (chunk: Buffer) => {
      // A report is a few KiB; one past the cap is no report (what was written goes on being read, and dropped).
      if (overflow) return;
      report += chunk.toString("utf8");
      if (report.length > MAX_REPORT) {
        overflow = true;
        report = "";
      }
    });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup();
    }, timeoutMs);
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
            message: `${file}: the module did not finish loading in ${timeoutMs / 1000} s (${inspector.timeoutHint})`,
            fix: inspector.timeoutFix,
            file,
          },
        ]);
        return;
      }
      const items = code === 0 && !overflow ? reportItems(report) : undefined;
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
            fix: inspector.exitFix(code),
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
  return complete(checked) ? checked : undefined;
}

/** What an inspector reports every time it finishes: an `ok` for each of these, unless it reports a failure. */
const ALWAYS_REPORTED = ["load", "class", "entries", "schemas"];

/**
 * Whether the items are a whole report: a failure, or an `ok` for every step the inspectors always report. A module
 * that writes a short report of its own (`load: ok`) and ends the process is no pass. (One that forges every step can
 * still pass: the check is a diagnosis, not a security verdict.)
 */
function complete(items: CheckItem[]): boolean {
  if (items.some((item) => item.level === "fail")) return true;
  return ALWAYS_REPORTED.every((check) => items.some((item) => item.level === "ok" && item.check === check));
}
