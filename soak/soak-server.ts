/**
 * `neko-plugin serve` in a child process, as an operator runs it, so the host's memory is measured apart from the
 * load generator's. Its plugins are its children and exit when it does, even when it is killed (their IPC channel
 * closes). `stop()` sends SIGTERM, and SIGKILL if it has not exited within 15 s.
 */
import { type ChildProcess, spawn } from "node:child_process";
import path from "node:path";
import readline from "node:readline";
import { fileURLToPath } from "node:url";

const bin = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../packages/cli/bin/neko-plugin.js");
const STOP_GRACE_MS = 15_000;

export interface SoakServer {
  url: string;
  pid: number;
  /** Lines the server wrote to stderr (its last 50). */
  stderrTail: string[];
  stop(): Promise<void>;
}

export async function startSoakServer(options: { pluginsDir: string; logDir: string }): Promise<SoakServer> {
  const child = spawn(
    process.execPath,
    [bin, "serve", "--port", "0", "--no-builtin", "--plugins-dir", options.pluginsDir, "--log-dir", options.logDir],
    { env: { ...process.env, NEKO_LOG_LEVEL: "info" }, stdio: ["ignore", "pipe", "pipe"] },
  );
  const stderrTail: string[] = [];
  readline.createInterface({ input: child.stderr }).on("line", (line) => {
    stderrTail.push(line);
    if (stderrTail.length > 50) stderrTail.shift();
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const stop = () => stopChild(child, exited);
  try {
    const url = await new Promise<string>((resolve, reject) => {
      // Read to the end, always: a full pipe would stall the server.
      readline.createInterface({ input: child.stdout }).on("line", (line) => {
        const match = /ready at (http:\/\/[^:]+:\d+)/.exec(line);
        if (match) resolve(match[1] as string);
      });
      child.once("exit", (code, signal) =>
        reject(new Error(`serve exited before it was ready (${signal ?? code}): ${stderrTail.join("\n")}`)),
      );
      setTimeout(() => reject(new Error("serve was not ready within 60 s")), 60_000).unref();
    });
    return { url, pid: child.pid as number, stderrTail, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

async function stopChild(child: ChildProcess, exited: Promise<void>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), STOP_GRACE_MS);
  await exited;
  clearTimeout(timer);
}
