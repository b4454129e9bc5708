/**
 * The bench's own child processes (echo peers, fork floors): started with an IPC channel, so a child exits when the
 * bench goes (even by kill -9), and stopped for sure on the way out: SIGTERM, then SIGKILL after 2 s.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const BENCH_DIR = path.dirname(fileURLToPath(import.meta.url));

/** `node [execArgv…] <script> [args…]` in the repository's folder; stdout ignored, stderr shown, an IPC channel. */
export function spawnBenchChild(script: string, args: string[] = [], execArgv: string[] = []): ChildProcess {
  return spawn(process.execPath, [...execArgv, script, ...args], {
    cwd: path.dirname(BENCH_DIR),
    stdio: ["ignore", "ignore", "inherit", "ipc"],
  });
}

/** Resolves with the child's first IPC message; rejects if it exits first or says nothing within `timeoutMs`. */
export function firstMessage(child: ChildProcess, what: string, timeoutMs = 15_000): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const done = (settle: () => void) => {
      clearTimeout(timer);
      child.off("message", onMessage);
      child.off("exit", onExit);
      settle();
    };
    const onMessage = (message: unknown) => done(() => resolve(message));
    const onExit = (code: number | null, signal: string | null) =>
      done(() => reject(new Error(`${what} exited before it was ready (${signal ?? `exit code ${code}`})`)));
    const timer = setTimeout(
      () => done(() => reject(new Error(`${what} was not ready in ${timeoutMs} ms`))),
      timeoutMs,
    );
    child.on("message", onMessage);
    child.on("exit", onExit);
  });
}

export async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, "exit");
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 2000);
  await exited;
  clearTimeout(timer);
}

/** Resident set size from /proc/<pid>/status (Linux); undefined elsewhere. */
export function readRssBytes(pid: number): number | undefined {
  let status: string;
  try {
    status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
  } catch {
    return undefined;
  }
  const kb = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status)?.[1];
  return kb === undefined ? undefined : Number(kb) * 1024;
}
