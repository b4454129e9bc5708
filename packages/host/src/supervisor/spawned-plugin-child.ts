/**
 * A plugin process the host spawned (a Node runner or a Python one): its output lines, its exit, a way to kill it.
 */
import type { ChildProcess } from "node:child_process";
import type { Duplex } from "node:stream";
import { Emitter } from "@neko/protocol";
import type { HostLogger } from "../host-logger.ts";
import { onBoundedLines } from "./bounded-lines.ts";
import type { ChildExit, ChildLine, PluginChild } from "./plugin-launcher.ts";

/** How long after its exit a process's pipes may stay open before its output is taken as complete. */
const OUTPUT_GRACE_MS = 2000;

/**
 * How long after its exit the host waits for the end of a process's socket pair (the pipe transport) before it
 * reports the exit. The kernel ends the pipe when the process dies, so this is normally at once; a child the plugin
 * started may hold its end open, and then the exit is reported anyway.
 */
const CHANNEL_END_GRACE_MS = 250;

export class SpawnedPluginChild implements PluginChild {
  private readonly lines = new Emitter<ChildLine>();
  private readonly exits = new Emitter<ChildExit>();
  readonly onLine = this.lines.event;
  readonly onExit = this.exits.event;
  private exited = false;
  private readonly closed: Promise<void>;
  readonly channel: Duplex | undefined;

  constructor(
    private readonly child: ChildProcess,
    logger: HostLogger,
    /** The stdio slot of the process's socket pair to the host (the pipe transport), if it has one. */
    channelFd?: number,
  ) {
    this.channel = channelFd === undefined ? undefined : ((child.stdio[channelFd] as Duplex | null) ?? undefined);
    // The IPC channel (or the stdin pipe) only signals our death to the child; keep it from holding our event loop open.
    child.unref();
    child.channel?.unref();
    (child.stdin as { unref?: () => void } | null)?.unref?.();
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
    // On the pipe transport, what the process wrote before it exited (the answers of its shutdown, say) is read
    // before its exit is reported, as ZeroMQ's linger delivers it: the exit waits for the pipe's end.
    child.on("exit", (code, signal) => {
      const channel = this.channel;
      if (channel === undefined || channel.readableEnded || channel.destroyed) {
        exit({ code, signal });
        return;
      }
      const done = () => {
        clearTimeout(timer);
        exit({ code, signal });
        // Whatever holds the other end now (a child the plugin started), the host's end goes with the process.
        channel.destroy();
      };
      const timer = setTimeout(done, CHANNEL_END_GRACE_MS);
      channel.once("end", done);
      channel.once("close", done);
    });
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
