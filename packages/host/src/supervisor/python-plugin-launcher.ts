/**
 * Launches a Python plugin (SPEC §3.8) as `python3 -u -B <python-sdk>/neko_plugin_runner.py`: the same environment
 * and bootstrap descriptor as a Node plugin (node-plugin-launcher.ts), so the runner speaks the same wire protocol.
 * Its stdin is a pipe the host never writes: when the host dies, even by kill -9, the runner reads its end and exits
 * (what the IPC channel does for a Node plugin). The interpreter is found by `prepare` (python-interpreter.ts, without
 * blocking the event loop); without a usable one the plugin is refused with the reason and nothing is spawned.
 */
import { spawn } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Emitter } from "@neko/protocol";
import type { HostLogger } from "../host-logger.ts";
import { bootstrapDocument, pluginLaunchEnv, sendBootstrap } from "./plugin-launch-env.ts";
import type { ChildExit, ChildLine, LaunchRequest, PluginChild, PluginLauncher } from "./plugin-launcher.ts";
import {
  findPythonInterpreter,
  PYTHON_REQUIREMENT,
  type PythonInterpreter,
  pythonCandidates,
} from "./python-interpreter.ts";
import { SpawnedPluginChild } from "./spawned-plugin-child.ts";

/** The Python runtime this repository ships: packages/python-sdk. */
export const PYTHON_SDK_DIR = fileURLToPath(new URL("../../../python-sdk", import.meta.url));
export const PYTHON_RUNNER_PATH = path.join(PYTHON_SDK_DIR, "neko_plugin_runner.py");

/** The most of a refusal's reason kept. */
const MAX_REFUSAL = 2000;

export class PythonPluginLauncher implements PluginLauncher {
  /** The probe running now: every start that comes meanwhile waits for this one, so there is never a second. */
  private probing: Promise<PythonInterpreter> | undefined;
  /** The last probe's answer: kept for the launcher's life when it found one, asked again at the next start if not. */
  private interpreter: PythonInterpreter | undefined;
  private readonly candidates: string[];
  /** Aborts a probe in progress when the launcher is disposed (the host stops): no probe outlives its host. */
  private readonly stopping = new AbortController();
  private warned = false;

  constructor(
    private readonly options: {
      logger: HostLogger;
      /** Interpreters to try, in order; default: `NEKO_PYTHON` (as it is now), else /usr/bin/python3, else python3. */
      candidates?: string[];
      /** How long one candidate's probe may run before it is killed (default 10 s). */
      probeTimeoutMs?: number;
    },
  ) {
    this.candidates = options.candidates ?? pythonCandidates(process.env);
  }

  /** Finds the interpreter before a Python launch: asynchronously, one probe at a time (docs/python-plugins.md). */
  async prepare(): Promise<void> {
    await this.findInterpreter();
  }

  /**
   * The interpreter found (once found, kept), or why there is none. A probe runs only when none was found yet and
   * none is running: concurrent callers share the running one, and after a failure the next call probes again.
   */
  findInterpreter(): Promise<PythonInterpreter> {
    if (this.interpreter?.ok) return Promise.resolve(this.interpreter);
    this.probing ??= findPythonInterpreter(this.candidates, {
      ...(this.options.probeTimeoutMs !== undefined && { timeoutMs: this.options.probeTimeoutMs }),
      signal: this.stopping.signal,
    })
      // A probe that failed in a way it does not report (it should not) is a refusal, never kept as a rejection.
      .catch(
        (error: unknown): PythonInterpreter => ({
          ok: false,
          reason: `${PYTHON_REQUIREMENT} (the probe failed: ${error instanceof Error ? error.message : String(error)})`,
        }),
      )
      .then((interpreter) => {
        this.probing = undefined;
        this.interpreter = interpreter;
        if (interpreter.ok) {
          this.options.logger.info(
            { python: interpreter.executable, version: interpreter.version },
            "Python plugins run with this interpreter",
          );
        } else if (this.stopping.signal.aborted) {
          // Not a missing requirement: the host stopped while it probed.
          this.options.logger.info("the Python interpreter probe was stopped: the host is stopping");
        } else {
          this.options.logger.warn(interpreter.reason);
        }
        return interpreter;
      });
    return this.probing;
  }

  dispose(): void {
    this.stopping.abort();
  }

  launch(request: LaunchRequest): PluginChild {
    // Found by `prepare`, which the supervisor awaits before each launch: a launch never waits on a probe.
    const interpreter = this.interpreter ?? {
      ok: false,
      reason: "no Python interpreter was looked for before this launch (PluginLauncher.prepare was not awaited)",
    };
    // As long as a worker's refusal may be (worker-hub.ts): a candidate's error line is the interpreter's own text.
    if (!interpreter.ok) return new RefusedPluginChild(interpreter.reason.slice(0, MAX_REFUSAL));
    const logger = this.options.logger.child({ plugin: request.pluginId });
    if (request.permissions !== undefined && !this.warned) {
      this.warned = true;
      this.options.logger.warn(
        "Python plugins run without a permission model (Node's applies to Node processes only): a Python plugin may " +
          "read, write and start whatever this user may; see docs/python-plugins.md",
      );
    }
    const env: NodeJS.ProcessEnv = { ...pluginLaunchEnv(request), PYTHONDONTWRITEBYTECODE: "1", PYTHONUNBUFFERED: "1" };
    const document = bootstrapDocument(request);
    // stdin: the host-death pipe; stdout, stderr; fd 3 unused; fd 4 the bootstrap socket.
    const child = spawn(interpreter.executable, ["-u", "-B", PYTHON_RUNNER_PATH], {
      cwd: request.pluginDir,
      env,
      stdio: ["pipe", "pipe", "pipe", "ignore", "pipe"],
    });
    child.stdin?.on("error", () => undefined);
    sendBootstrap(child, document);
    return new SpawnedPluginChild(child, logger);
  }
}

/** A Python plugin this machine cannot run: it "exits" at once with the refusal, and was never started. */
class RefusedPluginChild implements PluginChild {
  private readonly lines = new Emitter<ChildLine>();
  private readonly exits = new Emitter<ChildExit>();
  readonly onLine = this.lines.event;
  readonly onExit = this.exits.event;
  readonly pid = undefined;

  constructor(reason: string) {
    setImmediate(() => {
      this.exits.fire({ code: null, signal: null, refusal: reason });
      this.exits.dispose();
    });
  }

  outputDone(): Promise<void> {
    return Promise.resolve();
  }

  kill(): void {}
}
