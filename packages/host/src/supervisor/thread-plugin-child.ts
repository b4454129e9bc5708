/**
 * A thread plugin as the supervisor sees it: the same `PluginChild` as a plugin process — its output lines, its exit,
 * a way to kill it — for a worker thread in the shared runner process (thread-runner.ts). `pid` is the runner's;
 * `threadId` the thread's inside it. Killing it asks the runner to terminate the thread (V8 stops even a busy loop);
 * a runner that does not report the thread's exit within `TERMINATE_GRACE_MS` is killed, with every thread in it.
 */
import { PassThrough } from "node:stream";
import { Emitter } from "@neko/protocol";
import { onBoundedLines } from "./bounded-lines.ts";
import type { ChildExit, ChildLine, PluginChild } from "./plugin-launcher.ts";

/** How long the runner has to report a terminated thread's exit before it is taken for hung and killed. */
export const TERMINATE_GRACE_MS = 3000;

export interface ThreadRunnerHandle {
  readonly pid: number | undefined;
  /** Asks the runner to end the thread of launch `id`. */
  terminate(id: string): void;
  /** Kills the runner process (SIGKILL): its threads all exit. */
  kill(): void;
}

export class ThreadPluginChild implements PluginChild {
  private readonly lines = new Emitter<ChildLine>();
  private readonly exits = new Emitter<ChildExit>();
  readonly onLine = this.lines.event;
  readonly onExit = this.exits.event;
  private readonly streams = { stdout: new PassThrough(), stderr: new PassThrough() };
  private exited = false;
  private threadIdValue: number | undefined;
  private terminateTimer: NodeJS.Timeout | undefined;
  private readonly done: Promise<void>;

  constructor(
    /** The launch's id in the runner (unique per launch). */
    readonly id: string,
    private readonly runner: ThreadRunnerHandle,
  ) {
    onBoundedLines(this.streams.stdout, (line) => this.lines.fire({ stream: "stdout", line }));
    onBoundedLines(this.streams.stderr, (line) => this.lines.fire({ stream: "stderr", line }));
    this.done = Promise.all([
      new Promise((resolve) => this.streams.stdout.once("end", resolve)),
      new Promise((resolve) => this.streams.stderr.once("end", resolve)),
    ]).then(() => undefined);
  }

  get pid(): number | undefined {
    return this.runner.pid;
  }

  get threadId(): number | undefined {
    return this.threadIdValue;
  }

  /** The runner started the thread. */
  threadStarted(threadId: number): void {
    this.threadIdValue = threadId;
  }

  /** What the thread wrote on its stdout or stderr. */
  output(stream: "stdout" | "stderr", chunk: string): void {
    if (!this.exited) this.streams[stream].write(chunk);
  }

  /** The thread ended (`reason`: what the runner saw, an out-of-memory say) or its runner did (`signal`). */
  exit(info: { code: number | null; signal?: NodeJS.Signals | null; reason?: string; refusal?: string }): void {
    if (this.exited) return;
    if (info.reason !== undefined) this.streams.stderr.write(`${info.reason}\n`);
    this.exited = true;
    clearTimeout(this.terminateTimer);
    this.streams.stdout.end();
    this.streams.stderr.end();
    // Asynchronously, as a process's exit is, and after the last lines (its stderr tail is the crash's record).
    void this.done.then(() => {
      this.exits.fire({
        code: info.code,
        signal: info.signal ?? null,
        ...(info.refusal !== undefined && { refusal: info.refusal }),
      });
      this.exits.dispose();
    });
  }

  outputDone(): Promise<void> {
    return this.done;
  }

  kill(): void {
    if (this.exited || this.terminateTimer !== undefined) return;
    this.runner.terminate(this.id);
    this.terminateTimer = setTimeout(() => {
      if (!this.exited) this.runner.kill();
    }, TERMINATE_GRACE_MS);
    this.terminateTimer.unref();
  }
}
