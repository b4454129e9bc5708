/**
 * Launches a plugin as a real Node process running the SDK's runner, with its own heap limit. What it needs comes in
 * its environment and in a context file only this user can read (the manifest and the config can be larger than an
 * environment string may be); the file is removed when the process exits, if the process has not removed it first.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { Emitter } from "@neko/protocol";
import type { HostLogger } from "../host-logger.ts";
import { onBoundedLines } from "./bounded-lines.ts";
import { permissionFlags } from "./permission-flags.ts";
import type { ChildExit, ChildLine, LaunchRequest, PluginChild, PluginLauncher } from "./plugin-launcher.ts";
import { realpathOrSelf, runtimeReadPaths } from "./runtime-read-paths.ts";

/** How long after its exit a process's pipes may stay open before its output is taken as complete. */
const OUTPUT_GRACE_MS = 2000;

export class NodePluginLauncher implements PluginLauncher {
  private runtimeRead: string[] | undefined;

  constructor(
    private readonly options: {
      /** The SDK's `plugin-runner.mjs`. */
      runnerPath: string;
      /** Where each launch's context file is written: the host's run folder. */
      contextDir: string;
      logger: HostLogger;
    },
  ) {}

  launch(request: LaunchRequest): PluginChild {
    const contextFile = path.join(this.options.contextDir, `context-${request.pluginId}-${randomUUID()}.json`);
    fs.writeFileSync(contextFile, JSON.stringify(request.context), { mode: 0o600, flag: "wx" });
    const removeContextFile = () => {
      try {
        fs.rmSync(contextFile, { force: true });
      } catch (error) {
        this.options.logger.warn(
          { err: error, plugin: request.pluginId },
          "could not remove the plugin's context file",
        );
      }
    };
    // The server's API token is the host's secret, not the plugin's.
    const { NEKO_API_TOKEN: _token, ...inherited } = process.env;
    const env: NodeJS.ProcessEnv = {
      ...inherited,
      NEKO_PLUGIN_ID: request.pluginId,
      NEKO_PLUGIN_SECRET: request.secret,
      NEKO_ENDPOINT: request.endpoint,
      NEKO_PLUGIN_DIR: request.pluginDir,
      NEKO_PLUGIN_ENTRY: `${request.entryModule}::${request.className}`,
      NEKO_PLUGIN_CONTEXT_FILE: contextFile,
    };
    const perm = this.permissionFlags(request, contextFile);
    let child: ChildProcess;
    try {
      child = spawn(process.execPath, [...perm, `--max-old-space-size=${request.maxHeapMb}`, this.options.runnerPath], {
        cwd: request.pluginDir,
        env,
        stdio: ["ignore", "pipe", "pipe", "ipc"],
      });
    } catch (error) {
      removeContextFile();
      throw error;
    }
    return new NodePluginChild(child, removeContextFile, this.options.logger.child({ plugin: request.pluginId }));
  }

  /** Node's permission model for this process (permission-flags.ts): what it may read, write and start. */
  private permissionFlags(request: LaunchRequest, contextFile: string): string[] {
    if (request.permissions === undefined) {
      this.options.logger.warn(
        { plugin: request.pluginId },
        "runs without Node's permission model ([plugin_runtime] permissions = false or NEKO_PLUGIN_PERMISSIONS=off): " +
          "it may read, write and start whatever this user may",
      );
      return [];
    }
    if (this.runtimeRead === undefined) {
      this.runtimeRead = runtimeReadPaths(this.options.runnerPath);
      // Said once per host rather than by Node at every start (its warnings are turned off in plugin processes).
      this.options.logger.info(
        "plugin processes run under Node's permission model with native addons allowed (ZeroMQ and SQLite are " +
          "addons): native code and the network are not restricted by it; see docs/permissions.md",
      );
    }
    return permissionFlags(request, { read: this.runtimeRead, contextFile, realpath: realpathOrSelf });
  }
}

class NodePluginChild implements PluginChild {
  private readonly lines = new Emitter<ChildLine>();
  private readonly exits = new Emitter<ChildExit>();
  readonly onLine = this.lines.event;
  readonly onExit = this.exits.event;
  private exited = false;
  private readonly closed: Promise<void>;

  constructor(
    private readonly child: ChildProcess,
    onExited: () => void,
    logger: HostLogger,
  ) {
    // The IPC channel only signals our death to the child; keep it from holding our event loop open.
    child.unref();
    child.channel?.unref();
    this.closed = new Promise((resolve) => child.once("close", () => resolve()));
    if (child.stdout) onBoundedLines(child.stdout, (line) => this.lines.fire({ stream: "stdout", line }));
    if (child.stderr) onBoundedLines(child.stderr, (line) => this.lines.fire({ stream: "stderr", line }));
    const exit = (info: ChildExit) => {
      if (this.exited) return;
      this.exited = true;
      onExited();
      // Lines may still come after the exit (the pipes drain later): only the exit listeners go.
      this.exits.fire(info);
      this.exits.dispose();
    };
    child.on("error", (error) => {
      if (child.pid !== undefined) {
        logger.error({ err: error }, "plugin process error");
        return;
      }
      // The process never started (ENOENT, EAGAIN, EMFILE, …): Node emits `error` and `close` but never `exit`.
      exit({ code: null, signal: null, launchFailure: `could not launch the plugin process: ${error.message}` });
    });
    child.on("exit", (code, signal) => exit({ code, signal }));
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  outputDone(): Promise<void> {
    if (!this.child.stderr || this.child.stderr.readableEnded) return Promise.resolve();
    return Promise.race([this.closed, new Promise<void>((resolve) => setTimeout(resolve, OUTPUT_GRACE_MS).unref())]);
  }

  kill(signal: NodeJS.Signals = "SIGKILL"): void {
    if (!this.exited) this.child.kill(signal);
  }
}
