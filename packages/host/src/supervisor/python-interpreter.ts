/**
 * Finds the Python that runs Python plugins (SPEC §3.8): the first candidate that is Python 3.11 or newer and can
 * import pyzmq (with CURVE), msgpack and jsonschema — `NEKO_PYTHON` when set (then only it), else Debian's
 * `/usr/bin/python3`, else `python3` on PATH. The probe is asynchronous; python-plugin-launcher.ts keeps one at a time
 * and its answer (docs/python-plugins.md#requirements).
 */
import { type ChildProcess, spawn } from "node:child_process";
import path from "node:path";
import { pluginProcessEnv } from "./inspection-sandbox.ts";

export type PythonInterpreter = { ok: true; executable: string; version: string } | { ok: false; reason: string };

/** What the refusal of a Python plugin says when no candidate works. */
export const PYTHON_REQUIREMENT =
  "Python plugins need python3 (3.11 or newer) with python3-zmq, python3-msgpack and python3-jsonschema " +
  "(apt-get install python3-zmq python3-msgpack python3-jsonschema), or NEKO_PYTHON naming such an interpreter";

/** The line a working probe prints, with the absolute path of the interpreter and its version after it. */
const PROBE_MARKER = "NEKO_PY_OK";
const PROBE = [
  "import sys",
  `PROBE_MARKER = ${JSON.stringify(PROBE_MARKER)}`,
  "assert sys.version_info >= (3, 11), 'Python ' + sys.version.split()[0] + ' is older than 3.11'",
  "import zmq, msgpack, jsonschema",
  "assert zmq.has('curve'), 'its libzmq has no CURVE'",
  "print(PROBE_MARKER, sys.executable, sys.version.split()[0])",
].join("\n");
/** A probe that hangs (an interpreter waiting on something) is given up after this long. */
const PROBE_TIMEOUT_MS = 10_000;

export function pythonCandidates(env: NodeJS.ProcessEnv): string[] {
  const chosen = env.NEKO_PYTHON?.trim();
  // A relative path means the host's working directory, whatever directory a plugin is later launched in.
  if (chosen) return [chosen.includes("/") ? path.resolve(chosen) : chosen];
  return ["/usr/bin/python3", "python3"];
}

/**
 * Tries each candidate in turn; the reason of a refusal names what each one lacked. A candidate works only when its
 * probe exits 0 in time and prints the marker line; the interpreter then launched is the absolute `sys.executable` it
 * printed, so the launch runs exactly what was probed (not whatever PATH finds in the plugin's directory). Runs the
 * probes as child processes without blocking the event loop; a probe still running after `timeoutMs` is killed.
 */
export async function findPythonInterpreter(
  candidates: readonly string[],
  options: { timeoutMs?: number; signal?: AbortSignal } = {},
): Promise<PythonInterpreter> {
  const timeoutMs = options.timeoutMs ?? PROBE_TIMEOUT_MS;
  const lacks: string[] = [];
  for (const executable of candidates) {
    const probe = await runProbe(executable, timeoutMs, options.signal);
    if ("found" in probe) return { ok: true, ...probe.found };
    lacks.push(`${executable}: ${probe.why}`);
  }
  return { ok: false, reason: `${PYTHON_REQUIREMENT} (${lacks.join("; ")})` };
}

/** How long after the probe's exit its output may still come (its pipes close then, unless it left a process). */
const EXIT_GRACE_MS = 200;
/** At most this much of a probe's output is kept: the marker is one short line, an error's last line is wanted. */
const MAX_PROBE_OUTPUT = 64 * 1024;

/** What the errors a spawn throws at once mean, for a refusal a user can act on. */
const SPAWN_ERRORS: Record<string, string> = {
  ENOTDIR: "a part of its path is a file, not a folder",
  ELOOP: "its path loops through symbolic links",
  ENAMETOOLONG: "its path is too long",
  EACCES: "permission denied",
  ENOENT: "no such file",
};

/** One candidate's probe: what it printed, or why it does not count. */
function runProbe(
  executable: string,
  timeoutMs: number,
  signal: AbortSignal | undefined,
): Promise<{ found: { executable: string; version: string } } | { why: string }> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve({ why: "the probe was stopped (the host is stopping)" });
    let settled = false;
    let stdout = "";
    let stderr = "";
    let child: ChildProcess;
    try {
      child = spawn(executable, ["-c", PROBE], {
        stdio: ["ignore", "pipe", "pipe"],
        // `-c` puts the working directory first on sys.path: run in "/", so a zmq.py (msgpack.py, …) lying in the
        // directory the host was started from is not what the probe imports.
        cwd: "/",
        env: { ...pluginProcessEnv(process.env), PYTHONDONTWRITEBYTECODE: "1" },
      });
    } catch (error) {
      // Some errors come at once rather than as an `error` event: ENOTDIR (a path through a file), ELOOP,
      // ENAMETOOLONG, an argument with a NUL byte. The candidate does not count, the next one is tried.
      const code = (error as NodeJS.ErrnoException).code;
      const what = code !== undefined ? SPAWN_ERRORS[code] : undefined;
      return resolve({ why: `it cannot be started: ${(error as Error).message}${what ? ` (${what})` : ""}` });
    }
    const settle = (answer: { found: { executable: string; version: string } } | { why: string }) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener("abort", stop);
      // A process the probe started may hold the pipes open: they are not waited for.
      child.stdout?.destroy();
      child.stderr?.destroy();
      resolve(answer);
    };
    const stop = () => {
      child.kill("SIGKILL");
      settle({ why: "the probe was stopped (the host is stopping)" });
    };
    signal?.addEventListener("abort", stop, { once: true });
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      settle({ why: `its probe did not finish within ${Number((timeoutMs / 1000).toFixed(3))} s` });
    }, timeoutMs);
    // Decoded as a stream: a character split between two chunks stays whole.
    child.stdout?.setEncoding("utf8");
    child.stderr?.setEncoding("utf8");
    child.stdout?.on("data", (chunk: string) => {
      stdout = (stdout + chunk).slice(-MAX_PROBE_OUTPUT);
    });
    child.stderr?.on("data", (chunk: string) => {
      stderr = (stderr + chunk).slice(-MAX_PROBE_OUTPUT);
    });
    child.on("error", (error) => settle({ why: error.message }));
    const judge = (code: number | null, exitSignal: NodeJS.Signals | null) => {
      const found = code === 0 ? markerOf(stdout) : undefined;
      if (found) return settle({ found });
      settle({
        why:
          code !== 0
            ? (lastLine(stderr) ?? `exit code ${code ?? exitSignal}`)
            : `it exited 0 without printing "${PROBE_MARKER} <executable> <version>": not a Python that ran the probe`,
      });
    };
    // `close` comes once everything it wrote is read; a process it started that holds the pipes open delays it, so
    // the exit is judged a moment later with what came by then.
    child.on("close", judge);
    child.on("exit", (code, exitSignal) => setTimeout(() => judge(code, exitSignal), EXIT_GRACE_MS).unref());
  });
}

function markerOf(stdout: string): { executable: string; version: string } | undefined {
  for (const line of stdout.split("\n")) {
    const match = /^NEKO_PY_OK (\/.*) (\d+\.\d+\S*)$/.exec(line.trim());
    if (match) return { executable: match[1] as string, version: match[2] as string };
  }
  return undefined;
}

function lastLine(text: string): string | undefined {
  const lines = text.split("\n").filter((line) => line.trim() !== "");
  return lines.at(-1)?.trim();
}
