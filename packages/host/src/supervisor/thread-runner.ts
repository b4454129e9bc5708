/**
 * One thread runner process (the SDK's bin/plugin-thread-runner.mjs): spawned like a plugin process — its stdout and
 * stderr piped, an IPC channel that closes when the host goes, even by kill -9, and the runner exits then — with the
 * flags it is given (Node's permission model for the thread plugins it hosts, thread-plugin-launcher.ts). It starts
 * a worker thread per launch; each thread's output and exit come back tagged with the launch's id.
 */
import { type ChildProcess, spawn } from "node:child_process";
import type { PluginConnection } from "@neko/protocol";
import type { HostLogger } from "../host-logger.ts";
import { onBoundedLines } from "./bounded-lines.ts";
import { pluginProcessEnv } from "./inspection-sandbox.ts";
import { ThreadPluginChild } from "./thread-plugin-child.ts";
import { parseRunnerMessage } from "./thread-runner-message.ts";

export interface ThreadStart {
  id: string;
  /** The plugin's own NEKO_PLUGIN_* variables (nothing secret). */
  env: Record<string, string>;
  /** The bootstrap document (the secret, the connection's credentials, the context). */
  bootstrap: string;
  /** The thread's connection: the runner connects it and relays the thread's frames. */
  connection: PluginConnection;
  maxHeapMb: number;
}

export class ThreadRunner {
  private readonly process: ChildProcess;
  private readonly threads = new Map<string, ThreadPluginChild>();
  private exited = false;
  /** Killed, not yet gone: no new thread goes to it. */
  private retiring = false;
  private readonly exitListeners: Array<() => void> = [];

  constructor(options: { runnerPath: string; flags: string[]; logger: HostLogger }) {
    const logger = options.logger.child({ threadRunner: true });
    this.process = spawn(process.execPath, [...options.flags, options.runnerPath], {
      env: runnerEnv(),
      stdio: ["ignore", "pipe", "pipe", "ipc"],
      serialization: "advanced",
    });
    this.process.unref();
    this.process.channel?.unref();
    const lines = (line: string) => {
      if (line.trim()) logger.warn({ runnerPid: this.pid }, `thread runner: ${line}`);
    };
    if (this.process.stdout) onBoundedLines(this.process.stdout, lines);
    if (this.process.stderr) onBoundedLines(this.process.stderr, lines);
    this.process.on("message", (value) => {
      const message = parseRunnerMessage(value);
      if (typeof message === "string") {
        logger.warn({ runnerPid: this.pid }, `thread runner sent a message the host cannot use: ${message}`);
        return;
      }
      switch (message.type) {
        case "started":
          this.threads.get(message.id)?.threadStarted(message.threadId);
          return;
        case "output":
          this.threads.get(message.id)?.output(message.stream, message.chunk);
          return;
        case "exit": {
          const thread = this.threads.get(message.id);
          // An exit for a launch it does not know (a stale or forged one) changes nothing.
          if (thread === undefined) return;
          this.threads.delete(message.id);
          thread.exit({ code: message.code, ...(message.reason !== undefined && { reason: message.reason }) });
          this.settleIfIdle();
          return;
        }
        case "bad_message":
          logger.error({ runnerPid: this.pid }, `thread runner refused an order: ${message.reason}`);
          return;
        case "pong":
          return;
      }
    });
    const gone = (code: number | null, signal: NodeJS.Signals | null, why?: string) => {
      if (this.exited) return;
      this.exited = true;
      const reason = `the thread runner (pid ${this.pid ?? "none"}) ${why ?? (signal ? `was killed by ${signal}` : `exited with code ${code}`)}`;
      if (this.threads.size > 0) logger.warn(`${reason}: its ${this.threads.size} thread plugin(s) go with it`);
      for (const thread of this.threads.values()) thread.exit({ code, signal, reason });
      this.threads.clear();
      for (const listener of this.exitListeners.splice(0)) listener();
    };
    this.process.on("error", (error) => {
      if (this.process.pid === undefined) gone(null, null, `could not be started: ${error.message}`);
      else logger.error({ err: error }, "thread runner process error");
    });
    this.process.on("exit", (code, signal) => gone(code, signal));
  }

  get pid(): number | undefined {
    return this.process.pid;
  }

  /** Running and not being killed: a launch may go to it. */
  get alive(): boolean {
    return !this.exited && !this.retiring;
  }

  /** How many threads run in it. */
  get size(): number {
    return this.threads.size;
  }

  /** Called once the runner has exited. */
  onGone(listener: () => void): void {
    if (this.exited) listener();
    else this.exitListeners.push(listener);
  }

  /** Called when its last thread has exited (the launcher retires an idle runner). */
  onIdle: (() => void) | undefined;

  /** Starts a thread; its child reports the exit if the runner is gone already. */
  start(start: ThreadStart): ThreadPluginChild {
    const child = new ThreadPluginChild(start.id, {
      pid: this.pid,
      terminate: (id) => this.order({ type: "terminate", id }),
      kill: () => this.kill(),
    });
    if (this.exited || this.retiring) {
      child.exit({ code: null, reason: "the thread runner is gone" });
      return child;
    }
    this.threads.set(start.id, child);
    this.order({ type: "start", ...start });
    return child;
  }

  kill(): void {
    this.retiring = true;
    if (!this.exited) this.process.kill("SIGKILL");
  }

  private order(message: Record<string, unknown>): void {
    if (this.exited || !this.process.connected) return;
    // A failed send means the runner is going: its exit reports every thread.
    this.process.send(message, (error) => error && undefined);
  }

  private settleIfIdle(): void {
    if (this.threads.size === 0) this.onIdle?.();
  }
}

/** The host's environment less what no plugin may see, and less any plugin's identity: each thread gets its own. */
function runnerEnv(): NodeJS.ProcessEnv {
  const env = pluginProcessEnv(process.env);
  for (const name of Object.keys(env)) {
    if (name.startsWith("NEKO_PLUGIN_") && name !== "NEKO_PLUGIN_PERMISSIONS") delete env[name];
  }
  return env;
}
