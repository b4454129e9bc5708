/**
 * Launches a plugin whose manifest says `[plugin_runtime] isolation = "thread"` as a worker thread in the shared
 * thread runner (thread-runner.ts), started when the first thread plugin starts (docs/architecture.md). Each thread
 * has its own admission (its own CURVE key pair and routing id, bound to the runner's pid): the runner's main thread,
 * which runs no plugin code, connects it and relays its frames unchanged, so it is a peer of its own with its own
 * handshake, exactly as a process is, and what it sends can only ever be its own peer's. Its bootstrap goes to the
 * runner over the runner's IPC channel and on to the thread on its own port, never through an environment or argv.
 *
 * Node's permission model is per process (docs/permissions.md): a runner reads what all the thread plugins it was
 * started for may read, and writes where any of them may write. A plugin that a running runner does not cover (a new
 * folder, new grants, or the model on where the runner has it off) gets a new runner, started for every thread plugin
 * the host knows then; the old one ends with its last thread. A grant a thread cannot honour is refused with the
 * reason: `child_process` (the runner would start processes for every thread in it), and a Python plugin.
 */
import path from "node:path";
import type { HostLogger } from "../host-logger.ts";
import type { ProtectedPath } from "../manifest/write-grant-problems.ts";
import { type ProcessPermissions, permissionFlags } from "./permission-flags.ts";
import { pluginLaunchEnv } from "./plugin-launch-env.ts";
import { bootstrapDocument } from "./plugin-launch-env.ts";
import type { LaunchRequest, PluginChild, PluginLauncher } from "./plugin-launcher.ts";
import type { PluginLinks } from "./plugin-links.ts";
import { realpathOrSelf, runtimeReadPaths } from "./runtime-read-paths.ts";
import { ThreadPluginChild } from "./thread-plugin-child.ts";
import { ThreadRunner } from "./thread-runner.ts";

/** What a runner must allow for one thread plugin. */
export type ThreadPluginAccess = Pick<LaunchRequest, "pluginDir" | "permissions">;

/** What one runner was started with: the permission model or not, and the paths it may read and write. */
interface RunnerCover {
  model: boolean;
  read: Set<string>;
  write: Set<string>;
}

/** The reason a thread cannot run this plugin, or undefined. */
export function threadRefusal(request: Pick<LaunchRequest, "language" | "permissions">): string | undefined {
  if (request.language === "python") {
    return 'isolation = "thread" is for Node plugins: a Python plugin runs in a process of its own (remove isolation or set it to "process")';
  }
  if (request.permissions?.childProcess) {
    return (
      'isolation = "thread" cannot honour [plugin.permissions] child_process = true: Node\'s permission model is per ' +
      'process, so the grant would reach every thread plugin in the runner (set isolation = "process")'
    );
  }
  if (request.permissions?.workerThreads) {
    return (
      'isolation = "thread" cannot honour [plugin.permissions] worker_threads = true: a thread may start no worker ' +
      '(a nested worker would escape the thread\'s guard against native code) (set isolation = "process")'
    );
  }
  return undefined;
}

export class ThreadPluginLauncher implements PluginLauncher {
  private current: { runner: ThreadRunner; cover: RunnerCover } | undefined;
  private readonly runners = new Set<ThreadRunner>();
  private launches = 0;
  private runtimeRead: string[] | undefined;

  constructor(
    private readonly options: {
      /** The SDK's `plugin-thread-runner.mjs`. */
      runnerPath: string;
      logger: HostLogger;
      links?: PluginLinks;
      /** The thread plugins the host knows now: a new runner is started for all of them. */
      known?: () => ThreadPluginAccess[];
      /** Where no plugin may write (the SDK, the compile cache, the run and data folders): checked on the union. */
      protectedPaths?: () => ProtectedPath[];
      /** How long an idle runner waits for a new thread before it ends (a stop then start reuses it). */
      idleLingerMs?: number;
    },
  ) {}

  /** The runners alive now (for tests and the bench: their pids). */
  get runnerPids(): number[] {
    return [...this.runners].flatMap((runner) => (runner.pid === undefined ? [] : [runner.pid]));
  }

  launch(request: LaunchRequest): PluginChild {
    const id = `${request.pluginId}#${++this.launches}`;
    const refusal = threadRefusal(request);
    if (refusal !== undefined) {
      const child = new ThreadPluginChild(id, { pid: undefined, terminate: () => undefined, kill: () => undefined });
      child.exit({ code: null, refusal });
      return child;
    }
    const unsafe = this.unsafeWrite(request, [...(this.options.known?.() ?? []), request]);
    if (unsafe !== undefined) {
      const child = new ThreadPluginChild(id, { pid: undefined, terminate: () => undefined, kill: () => undefined });
      child.exit({ code: null, refusal: unsafe });
      return child;
    }
    const document = bootstrapDocument(request);
    const runner = this.runnerFor(request);
    const launchEnv = pluginLaunchEnv(request);
    const env: Record<string, string> = {
      NEKO_PLUGIN_ID: request.pluginId,
      NEKO_PLUGIN_DIR: request.pluginDir,
      NEKO_PLUGIN_ENTRY: launchEnv.NEKO_PLUGIN_ENTRY ?? "",
      ...(request.sourceDirs?.length && { NEKO_PLUGIN_SOURCE_DIRS: request.sourceDirs.join(path.delimiter) }),
    };
    const linked = this.options.links?.manifestFor(request.entryModule);
    if (linked !== undefined) env.NEKO_PLUGIN_LINKED = linked;
    const child = runner.start({
      id,
      env,
      bootstrap: document,
      connection: request.connection,
      maxHeapMb: request.maxHeapMb,
    });
    // Its link is in use until the thread ends, as a process's is.
    if (linked !== undefined) this.options.links?.launched(linked, child.onExit);
    return child;
  }

  dispose(): void {
    for (const runner of this.runners) runner.kill();
  }

  /** The current runner when it covers the plugin; else a new one, for every thread plugin known now. */
  private runnerFor(request: LaunchRequest): ThreadRunner {
    const wanted = this.coverOf([request]);
    const current = this.current;
    if (current?.runner.alive && covers(current.cover, wanted)) return current.runner;
    const model = wanted.model;
    const candidates = (this.options.known?.() ?? []).filter(
      (plugin) =>
        (plugin.permissions !== undefined) === model &&
        threadRefusal({ permissions: plugin.permissions }) === undefined,
    );
    // The union is what every thread of the runner may write: a grant that reaches a protected path or another
    // plugin's folder (a plugin the host refused for it, say) never joins it.
    const all = [...candidates, request];
    const known = candidates.filter((plugin) => this.unsafeWrite(plugin, all) === undefined);
    const cover = this.coverOf([...known, request]);
    const runner = new ThreadRunner({
      runnerPath: this.options.runnerPath,
      flags: this.flags(cover),
      logger: this.options.logger,
    });
    this.runners.add(runner);
    this.current = { runner, cover };
    runner.onIdle = () => {
      // An idle runner holds nothing: it ends after a short linger (a stop then start reuses it), and the next thread
      // plugin starts a new one. Killing marks it not alive at once: no launch lands on a dying runner.
      if (this.current?.runner !== runner) return runner.kill();
      setTimeout(() => {
        if (runner.size === 0) runner.kill();
      }, this.options.idleLingerMs ?? IDLE_LINGER_MS).unref();
    };
    runner.onGone(() => {
      this.runners.delete(runner);
      if (this.current?.runner === runner) this.current = undefined;
    });
    this.options.logger.info(
      { runnerPid: runner.pid, model, folders: cover.read.size },
      "thread runner started (docs/architecture.md#thread-plugins)",
    );
    return runner;
  }

  /** Why `plugin`'s write grants may not join a runner of `all` (the host's protected paths, another's folder). */
  private unsafeWrite(plugin: ThreadPluginAccess, all: ThreadPluginAccess[]): string | undefined {
    const guarded = [
      ...(this.options.protectedPaths?.() ?? []),
      ...all
        .filter((other) => path.resolve(other.pluginDir) !== path.resolve(plugin.pluginDir))
        .map((other) => ({ path: other.pluginDir, what: `the folder of plugin at ${other.pluginDir}` })),
    ];
    for (const written of plugin.permissions?.fsWrite ?? []) {
      const granted = [
        path.resolve(plugin.pluginDir, written),
        realpathOrSelf(path.resolve(plugin.pluginDir, written)),
      ];
      const hit = guarded.find((g) =>
        [path.resolve(g.path), realpathOrSelf(g.path)].some((p) => granted.some((w) => overlaps(w, p))),
      );
      if (hit) {
        return (
          `[plugin.permissions].fs_write '${written}' reaches ${hit.what}: a thread runner writes where any of its ` +
          "threads may, so the grant is refused (grant a narrower path)"
        );
      }
    }
    return undefined;
  }

  private coverOf(plugins: ThreadPluginAccess[]): RunnerCover {
    const model = plugins.every((plugin) => plugin.permissions !== undefined);
    const read = new Set<string>();
    const write = new Set<string>();
    for (const { pluginDir, permissions } of plugins) {
      read.add(path.resolve(pluginDir));
      write.add(path.resolve(pluginDir, "data"));
      for (const p of permissions?.fsRead ?? []) read.add(path.resolve(pluginDir, p));
      for (const p of permissions?.fsWrite ?? []) write.add(path.resolve(pluginDir, p));
    }
    return { model, read, write };
  }

  /** The runner's flags: Node's permission model for the union of what its thread plugins may touch, or none. */
  private flags(cover: RunnerCover): string[] {
    if (!cover.model) {
      this.options.logger.warn(
        "the thread runner runs without Node's permission model (a thread plugin has [plugin_runtime] permissions = " +
          "false, or NEKO_PLUGIN_PERMISSIONS=off): its threads may read, write and start whatever this user may",
      );
      return [];
    }
    this.runtimeRead ??= runtimeReadPaths(this.options.runnerPath);
    const [first = process.cwd(), ...others] = [...cover.read];
    const permissions: ProcessPermissions = {
      fsRead: others,
      fsWrite: [...cover.write],
      childProcess: false,
      workerThreads: true,
    };
    return permissionFlags({ pluginDir: first, permissions }, { read: this.runtimeRead, realpath: realpathOrSelf });
  }
}

function covers(have: RunnerCover, want: RunnerCover): boolean {
  if (have.model !== want.model) return false;
  return [...want.read].every((p) => have.read.has(p)) && [...want.write].every((p) => have.write.has(p));
}

/** How long an idle runner waits for a new thread before it ends. */
export const IDLE_LINGER_MS = 2000;

function overlaps(a: string, b: string): boolean {
  const inside = (child: string, parent: string) => {
    const relative = path.relative(parent, child);
    return relative !== "" && !relative.startsWith("..") && !path.isAbsolute(relative);
  };
  return a === b || inside(a, b) || inside(b, a);
}
