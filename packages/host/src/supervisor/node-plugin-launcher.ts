/**
 * Launches a plugin as a real Node process running the SDK's runner, with its own heap limit. What identifies it to
 * the host — its one-time secret and its connection's credentials — and its context (manifest, configuration, which
 * can be larger than an environment string may be) go through its bootstrap descriptor: a socket it inherits as
 * fd `BOOTSTRAP_FD`, on which the host writes one JSON document and closes it. The environment and argv, which any
 * process of the same user can read in /proc for as long as the plugin lives, carry nothing secret.
 */
import { type ChildProcess, spawn } from "node:child_process";
import path from "node:path";
import type { Writable } from "node:stream";
import { BOOTSTRAP_FD, BOOTSTRAP_FD_ENV, Emitter, type PluginBootstrap, PROTOCOL_VERSION } from "@neko/protocol";
import type { HostLogger } from "../host-logger.ts";
import { onBoundedLines } from "./bounded-lines.ts";
import { pluginProcessEnv } from "./inspection-sandbox.ts";
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
      logger: HostLogger;
    },
  ) {}

  launch(request: LaunchRequest): PluginChild {
    // The server's API token is the host's secret, not the plugin's.
    const env: NodeJS.ProcessEnv = {
      ...pluginProcessEnv(process.env),
      NEKO_PLUGIN_ID: request.pluginId,
      NEKO_PLUGIN_DIR: request.pluginDir,
      NEKO_PLUGIN_ENTRY: `${request.entryModule}::${request.className}`,
      [BOOTSTRAP_FD_ENV]: String(BOOTSTRAP_FD),
      ...(request.sourceDirs?.length && { NEKO_PLUGIN_SOURCE_DIRS: request.sourceDirs.join(path.delimiter) }),
    };
    const bootstrap: PluginBootstrap = {
      protocol: PROTOCOL_VERSION,
      pluginId: request.pluginId,
      secret: request.secret,
      connection: request.connection,
      context: request.context,
    };
    // Serialized before the spawn: a context that cannot be written fails the launch, with nothing started.
    const document = JSON.stringify(bootstrap);
    const perm = this.permissionFlags(request);
    // stdin, stdout, stderr, the IPC channel (the child's way to notice that the host died), the bootstrap socket.
    const child = spawn(
      process.execPath,
      [...perm, `--max-old-space-size=${request.maxHeapMb}`, this.options.runnerPath],
      {
        cwd: request.pluginDir,
        env,
        stdio: ["ignore", "pipe", "pipe", "ipc", "pipe"],
      },
    );
    const logger = this.options.logger.child({ plugin: request.pluginId });
    const channel = child.stdio[BOOTSTRAP_FD] as Writable | null;
    if (channel) {
      // A child that exits before it reads (a crash, a failed spawn) leaves the write to fail: that is its exit's news.
      channel.on("error", () => undefined);
      channel.end(document);
    }
    return new NodePluginChild(child, logger);
  }

  /** Node's permission model for this process (permission-flags.ts): what it may read, write and start. */
  private permissionFlags(request: LaunchRequest): string[] {
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
    return permissionFlags(request, { read: this.runtimeRead, realpath: realpathOrSelf });
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
