/**
 * How the supervisor gets a process for a plugin: a `PluginLauncher` starts one from a `LaunchRequest` and hands back
 * a `PluginChild` — its output lines, its exit, a way to kill it. `NodePluginLauncher` spawns a real Node process (the
 * SDK's runner); tests launch in-process plugins over a memory transport, so supervision and the handshake can be
 * tested without spawning.
 */
import type { Duplex } from "node:stream";
import type { Event, PluginConnection } from "@neko/protocol";
import type { ProcessPermissions } from "./permission-flags.ts";

export interface LaunchRequest {
  pluginId: string;
  pluginDir: string;
  /** Absolute path of the entry module, and the exported class name. */
  entryModule: string;
  className: string;
  /** The plugin's language: `python` for a Python plugin (SPEC §3.8), absent for a Node one. */
  language?: "python";
  /** `thread`: a worker thread in the shared thread runner ([plugin_runtime] isolation, docs/architecture.md). */
  isolation?: "thread";
  /** The one-time secret the process must present in its hello. */
  secret: string;
  /** Where and how the process connects to the host: the endpoint and this launch's own credentials. */
  connection: PluginConnection;
  /** What the process reads at launch: its manifest, its effective configuration, … */
  context: Record<string, unknown>;
  maxHeapMb: number;
  /** What the process may touch under Node's permission model (SPEC §10); undefined: no permission model. */
  permissions?: ProcessPermissions;
  /** Folders besides the plugin's whose sources it loads as the plugin's own (its extensions' folders). */
  sourceDirs?: string[];
}

/** What `prepare` is told of a coming launch. */
export type LaunchPreparation = Pick<LaunchRequest, "pluginId" | "language" | "isolation">;

export interface ChildExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Set when the operating system never started the process (ENOENT, EAGAIN, EMFILE, …). */
  launchFailure?: string;
  /**
   * Set when the process was never started because this machine cannot run it (no usable Python, say): trying again
   * would fail the same, so the plugin is `refused` with this reason, not restarted.
   */
  refusal?: string;
  /**
   * Set when the process's machine is out of reach (its remote worker is gone): whether it still runs is unknown,
   * and it is not a crash — the plugin is `unreachable` until the worker is back, with this reason.
   */
  unreachable?: string;
}

export interface ChildLine {
  stream: "stdout" | "stderr";
  line: string;
}

export interface PluginChild {
  readonly pid: number | undefined;
  /** A thread plugin's thread id inside the runner process `pid` (absent for a plugin process). */
  readonly threadId?: number;
  /** Each line the process writes (bounded in length); fired asynchronously, never during `launch`. */
  readonly onLine: Event<ChildLine>;
  /** Fired once, asynchronously, when the process has exited (or could not be started). */
  readonly onExit: Event<ChildExit>;
  /**
   * Resolves once the process runs, or has exited: for a launch that is prepared elsewhere first (a remote worker
   * probing its Python), when the worker says `launched`. The handshake's time limit starts then. Absent: at once.
   */
  readonly started?: Promise<void>;
  /** The host's end of the process's private socket pair (the pipe transport); absent on ZeroMQ. */
  readonly channel?: Duplex;
  /** Resolves once everything it wrote has been read, or a moment after its exit if its pipes stay open. */
  outputDone(): Promise<void>;
  kill(signal?: NodeJS.Signals): void;
}

export interface PluginLauncher {
  /**
   * What must be found out before a launch, without blocking the event loop (which Python runs Python plugins, say):
   * the supervisor awaits it right before each `launch`, so `launch` itself stays synchronous and the process's pid is
   * known the moment it returns. Never rejects; what it found that rules out the launch, `launch` reports as the
   * child's refusal.
   */
  prepare?(request: LaunchPreparation): Promise<void>;
  /**
   * Whether a launch of this plugin boots a process on this machine (absent: always): one that does not (a remote
   * worker's) takes no slot of the launch gate, which shares out this machine's CPU.
   */
  runsHere?(pluginId: string): boolean;
  /** Ends what the launcher itself runs (a probe in progress); the processes it launched are the supervisor's. */
  dispose?(): void;
  /**
   * Throws when the process cannot be launched at all (spawn throws: E2BIG, …). The secret and the connection's
   * credentials must reach the process through a channel only it can read (never its environment or argv).
   */
  launch(request: LaunchRequest): PluginChild;
}
