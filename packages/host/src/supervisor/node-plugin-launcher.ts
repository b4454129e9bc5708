/**
 * Launches a plugin as a real Node process running the SDK's runner, with its own heap limit. What identifies it to
 * the host — its one-time secret and its connection's credentials — and its context (manifest, configuration, which
 * can be larger than an environment string may be) go through its bootstrap descriptor: a socket it inherits as
 * fd `BOOTSTRAP_FD`, on which the host writes one JSON document and closes it. The environment and argv, which any
 * process of the same user can read in /proc for as long as the plugin lives, carry nothing secret.
 */
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { PIPE_FD, pipeEndpointFd } from "@neko/protocol";
import type { HostLogger } from "../host-logger.ts";
import { permissionFlags } from "./permission-flags.ts";
import type { PluginLinks } from "./plugin-links.ts";
import { bootstrapDocument, pluginLaunchEnv, sendBootstrap } from "./plugin-launch-env.ts";
import type { LaunchRequest, PluginChild, PluginLauncher } from "./plugin-launcher.ts";
import { realpathOrSelf, runtimeReadPaths } from "./runtime-read-paths.ts";
import { SpawnedPluginChild } from "./spawned-plugin-child.ts";

/** How a process dies when Node cannot start from its snapshot, and how soon after its launch. */
const SNAPSHOT_CRASH_SIGNALS = new Set(["SIGSEGV", "SIGABRT", "SIGBUS", "SIGTRAP", "SIGILL"]);
const SNAPSHOT_CRASH_WINDOW_MS = 5000;

export class NodePluginLauncher implements PluginLauncher {
  private runtimeRead: string[] | undefined;
  /** The real path of each of `runtimeRead`, found once as the paths are (the SDK and its dependencies do not move). */
  private readonly runtimeReal = new Map<string, string>();

  constructor(
    private readonly options: {
      /** The SDK's `plugin-runner.mjs`. */
      runnerPath: string;
      logger: HostLogger;
      /** The plugins' linked sources: a linked plugin's process runs without module hooks. */
      links?: PluginLinks;
    },
  ) {}

  launch(request: LaunchRequest): PluginChild {
    const env: NodeJS.ProcessEnv = {
      ...pluginLaunchEnv(request),
      ...(request.sourceDirs?.length && { NEKO_PLUGIN_SOURCE_DIRS: request.sourceDirs.join(path.delimiter) }),
    };
    // Only the host says which link a process runs; one inherited from the host's own environment is not it.
    delete env.NEKO_PLUGIN_LINKED;
    const linked = this.options.links?.manifestFor(request.entryModule);
    if (linked !== undefined) env.NEKO_PLUGIN_LINKED = linked;
    const document = bootstrapDocument(request);
    const perm = this.permissionFlags(request);
    // stdin, stdout, stderr, the IPC channel (the child's way to notice that the host died), the bootstrap socket, and
    // on the pipe transport the process's private socket pair to the host (fd PIPE_FD).
    const pipe = pipeEndpointFd(request.connection.endpoint) === PIPE_FD;
    // Started from the SDK's startup snapshot, made under this heap limit (plugin-links.ts), when it has one and it is
    // still there (Node exits at once on a missing blob; the link's SDK modules take the SDK's link without one).
    const blob =
      linked === undefined ? undefined : this.options.links?.snapshotFor(request.entryModule, request.maxHeapMb);
    const snapshot = blob !== undefined && fs.existsSync(blob) ? blob : undefined;
    const child = spawn(
      process.execPath,
      [
        ...perm,
        `--max-old-space-size=${request.maxHeapMb}`,
        ...(snapshot === undefined ? [] : ["--snapshot-blob", snapshot]),
        this.options.runnerPath,
      ],
      {
        cwd: request.pluginDir,
        env,
        stdio: pipe ? ["ignore", "pipe", "pipe", "ipc", "pipe", "pipe"] : ["ignore", "pipe", "pipe", "ipc", "pipe"],
      },
    );
    const logger = this.options.logger.child({ plugin: request.pluginId });
    sendBootstrap(child, document);
    if (linked !== undefined) this.options.links?.launched(linked, (exited) => child.once("exit", exited));
    if (snapshot !== undefined) {
      // Node exits with 14 when it cannot read a snapshot and crashes on a damaged one (an assertion, V8's checksum
      // trap, a bad read): when its process dies so right after its launch, the next start tries the blob first.
      const launchedAt = Date.now();
      child.once("exit", (code, signal) => {
        if (Date.now() - launchedAt > SNAPSHOT_CRASH_WINDOW_MS) return;
        if (code === 14 || (signal !== null && SNAPSHOT_CRASH_SIGNALS.has(signal))) {
          this.options.links?.snapshotFailed(request.entryModule, snapshot);
        }
      });
    }
    return new SpawnedPluginChild(child, logger, pipe ? PIPE_FD : undefined);
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
    if (this.runtimeReal.size === 0) for (const p of this.runtimeRead) this.runtimeReal.set(p, realpathOrSelf(p));
    // The plugin's own folder and grants are looked up at each launch: a symlink there may have been repointed.
    const realpath = (p: string) => this.runtimeReal.get(p) ?? realpathOrSelf(p);
    return permissionFlags(request, { read: this.runtimeRead, realpath });
  }
}
