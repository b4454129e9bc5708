/**
 * Finds the Python that runs Python plugins (SPEC §3.8): the first candidate that is Python 3.11 or newer and can
 * import pyzmq (with CURVE), msgpack and jsonschema — `NEKO_PYTHON` when set (then only it), else Debian's
 * `/usr/bin/python3`, else `python3` on PATH. Asked once per launcher: the answer is cached.
 */
import { spawnSync } from "node:child_process";
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
 * printed, so the launch runs exactly what was probed (not whatever PATH finds in the plugin's directory).
 */
export function findPythonInterpreter(candidates: readonly string[]): PythonInterpreter {
  const lacks: string[] = [];
  for (const executable of candidates) {
    const probe = spawnSync(executable, ["-c", PROBE], {
      encoding: "utf8",
      timeout: PROBE_TIMEOUT_MS,
      killSignal: "SIGKILL",
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...pluginProcessEnv(process.env), PYTHONDONTWRITEBYTECODE: "1" },
    });
    const found = probe.error || probe.status !== 0 ? undefined : markerOf(probe.stdout ?? "");
    if (found) return { ok: true, executable: found.executable, version: found.version };
    const why = probe.error
      ? (probe.error as NodeJS.ErrnoException).code === "ETIMEDOUT"
        ? `its probe did not finish within ${PROBE_TIMEOUT_MS / 1000} s`
        : probe.error.message
      : probe.status !== 0
        ? (lastLine(probe.stderr ?? "") ?? `exit code ${probe.status ?? probe.signal}`)
        : `it exited 0 without printing "${PROBE_MARKER} <executable> <version>": not a Python that ran the probe`;
    lacks.push(`${executable}: ${why}`);
  }
  return { ok: false, reason: `${PYTHON_REQUIREMENT} (${lacks.join("; ")})` };
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
