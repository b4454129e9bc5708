/**
 * The module step of `neko-plugin check` for a Python plugin (docs/python-plugins.md): the Python runner the host
 * launches, started in its check mode (`neko_plugin_runner.py --check`), loads the plugin's package exactly as the
 * plugin process would — with the interpreter the host would find (the same probe, `NEKO_PYTHON` included) — without
 * starting it, and reports on file descriptor 3 (plugin/sdk/_inspect.py). Python has no permission model: the
 * module's top-level code runs as this user, with the host's environment less its secrets, in its own process group
 * that is killed after the time limit (a process that left the group, by setsid, is not: docs/cli.md#check).
 */
import path from "node:path";
import { findPythonInterpreter, PYTHON_RUNNER_PATH, pluginProcessEnv, pythonCandidates } from "@neko/host";
import { runInspectorProcess } from "./inspector-process.ts";
import { MODULE_LOAD_TIMEOUT_MS } from "./module-inspection.ts";
import type { CheckItem } from "./plugin-check.ts";

export interface PythonInspectionRequest {
  dir: string;
  modulePath: string;
  className: string;
  /** `[plugin].entry` as written: the runner names the plugin's package after it, as it does when it runs it. */
  entry: string;
  manifestEntries?: Array<{ id: string; inputSchema?: Record<string, unknown> }>;
  timeoutMs?: number;
  /** Interpreters to try (default: as the host, `NEKO_PYTHON`, else /usr/bin/python3, else python3). */
  candidates?: string[];
}

/** What the Python runner found, as check items; no usable Python is one `load` failure naming the apt line. */
export async function inspectPythonModuleInChild(request: PythonInspectionRequest): Promise<CheckItem[]> {
  const { dir, timeoutMs = MODULE_LOAD_TIMEOUT_MS } = request;
  const python = await findPythonInterpreter(request.candidates ?? pythonCandidates(process.env));
  if (!python.ok) {
    return [
      {
        level: "fail",
        check: "load",
        message: `not loaded: ${python.reason}`,
        fix: "apt-get install python3-zmq python3-msgpack python3-jsonschema, or set NEKO_PYTHON to a Python 3.11+ that has them",
      },
    ];
  }
  const inspection = {
    pluginDir: dir,
    modulePath: request.modulePath,
    className: request.className,
    // What the runner reads of the manifest.
    manifest: { plugin: { entry: request.entry } },
    manifestEntries: request.manifestEntries ?? [],
  };
  return runInspectorProcess({
    command: python.executable,
    args: ["-u", "-B", PYTHON_RUNNER_PATH, "--check"],
    // On stdin: the manifest's schemas can pass argv's size limit.
    input: JSON.stringify(inspection),
    cwd: dir,
    env: { ...pluginProcessEnv(process.env), NEKO_PLUGIN_DIR: dir, PYTHONDONTWRITEBYTECODE: "1" },
    file: path.relative(dir, request.modulePath),
    timeoutMs,
    timeoutHint: "code at the module's top level that waits?",
    timeoutFix: "do not wait at the top level of the module: start connections and timers in the startup lifecycle",
    exitFix: () => "a module must not call sys.exit() or os._exit() or crash the process when it is imported",
  });
}
