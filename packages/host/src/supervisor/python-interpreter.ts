/**
 * Finds the Python that runs Python plugins (SPEC §3.8): the first candidate that is Python 3.11 or newer and can
 * import pyzmq (with CURVE), msgpack and jsonschema — `NEKO_PYTHON` when set (then only it), else Debian's
 * `/usr/bin/python3`, else `python3` on PATH. Asked once per launcher: the answer is cached.
 */
import { spawnSync } from "node:child_process";
import { pluginProcessEnv } from "./inspection-sandbox.ts";

export type PythonInterpreter = { ok: true; executable: string; version: string } | { ok: false; reason: string };

/** What the refusal of a Python plugin says when no candidate works. */
export const PYTHON_REQUIREMENT =
  "Python plugins need python3 (3.11 or newer) with python3-zmq, python3-msgpack and python3-jsonschema " +
  "(apt-get install python3-zmq python3-msgpack python3-jsonschema), or NEKO_PYTHON naming such an interpreter";

const PROBE = [
  "import sys",
  "assert sys.version_info >= (3, 11), 'Python ' + sys.version.split()[0] + ' is older than 3.11'",
  "import zmq, msgpack, jsonschema",
  "assert zmq.has('curve'), 'its libzmq has no CURVE'",
  "print(sys.version.split()[0])",
].join("\n");
/** A probe that hangs (an interpreter waiting on something) is given up after this long. */
const PROBE_TIMEOUT_MS = 10_000;

export function pythonCandidates(env: NodeJS.ProcessEnv): string[] {
  const chosen = env.NEKO_PYTHON?.trim();
  return chosen ? [chosen] : ["/usr/bin/python3", "python3"];
}

/** Tries each candidate in turn; the reason of a refusal names what each one lacked. */
export function findPythonInterpreter(candidates: readonly string[]): PythonInterpreter {
  const lacks: string[] = [];
  for (const executable of candidates) {
    const probe = spawnSync(executable, ["-c", PROBE], {
      encoding: "utf8",
      timeout: PROBE_TIMEOUT_MS,
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...pluginProcessEnv(process.env), PYTHONDONTWRITEBYTECODE: "1" },
    });
    if (probe.status === 0) return { ok: true, executable, version: probe.stdout.trim() };
    const why = probe.error
      ? probe.error.message
      : (lastLine(probe.stderr) ?? `exit code ${probe.status ?? probe.signal}`);
    lacks.push(`${executable}: ${why}`);
  }
  return { ok: false, reason: `${PYTHON_REQUIREMENT} (${lacks.join("; ")})` };
}

function lastLine(text: string): string | undefined {
  const lines = text.split("\n").filter((line) => line.trim() !== "");
  return lines.at(-1)?.trim();
}
