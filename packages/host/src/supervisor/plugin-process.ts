/**
 * One plugin OS process, from spawn to exit: the child process, its handshake, its pending calls and its output.
 * Owned by the supervisor; a new process (restart) is a new PluginProcess.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes, randomUUID } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import {
  type EntryDescriptor,
  ErrorCode,
  findLoadFailure,
  type HelloMessage,
  type HostToPlugin,
  type NotifyMessage,
  type PluginToHost,
  type ProcessStats,
  type RequestMessage,
  unsendableError,
  type WireError,
  type WireResult,
} from "@neko/protocol";
import type { HostLogger, LogRecord } from "../host-logger.ts";
import { isLogLevel, parsePluginLogLine } from "../host-logger.ts";
import { onBoundedLines } from "./bounded-lines.ts";
import { CallCanceler } from "./call-canceler.ts";
import { timerDelay } from "../timer-delay.ts";
import { failure, settleOnce } from "../wire-result.ts";
import { ProcessFigures } from "../metrics/process-figures.ts";
import { entriesChangedProblem, resultProblem, statsProblem } from "./plugin-frame-problems.ts";

/** A message the host could not send: over the frame limit, or not encodable by msgpack. */
function unsendable(label: string, error: unknown): WireResult {
  return { ok: false, error: unsendableError(`${label} cannot be sent to the plugin`, error) };
}

export interface PluginProcessOptions {
  pluginId: string;
  pluginDir: string;
  /** Absolute path of the entry module and the exported class name. */
  entryModule: string;
  className: string;
  /** What the process reads at launch (its manifest, its effective config, …), as JSON in a file of its own. */
  context: Record<string, unknown>;
  /** Where that file is written: the host's run folder. */
  contextDir: string;
  endpoint: string;
  runnerPath: string;
  maxHeapMb: number;
  logger: HostLogger;
  /** Sends one message to the process's socket peer (known after the handshake). */
  send: (peer: string, message: HostToPlugin) => void;
  onLog?: (record: LogRecord) => void;
  /** A `request` or `notify` from the plugin, after the handshake. */
  onRequest?: (message: RequestMessage) => void;
  onNotify?: (message: NotifyMessage) => void;
}

export type ExitInfo = { code: number | null; signal: NodeJS.Signals | null; stderr: string[] };

/**
 * How the handshake ended. `refused`: the plugin's own answer rules out trying again with the same code (its code
 * failed to load, it speaks another protocol, its hello is malformed), as opposed to a crash or a timeout.
 */
export interface HandshakeOutcome {
  result: WireResult;
  refused: boolean;
}

interface PendingCall {
  resolve: (result: WireResult) => void;
  timer: NodeJS.Timeout;
}

const STDERR_LINES_KEPT = 20;

export class PluginProcess {
  readonly secret = randomBytes(24).toString("hex");
  readonly child: ChildProcess;
  peer: string | undefined;
  entries: EntryDescriptor[] = [];
  hello: HelloMessage | undefined;
  exited: ExitInfo | undefined;
  /** Set by `stop()`: an exit from here on is expected, not a crash. */
  stopping = false;
  /** Why the host killed this process, when it did so without being asked to stop it (heartbeat). */
  killReason: string | undefined;
  /** Set when the OS could not start the process at all (ENOENT, EAGAIN, EMFILE, …). */
  private launchFailure: string | undefined;
  private readonly contextFile: string;
  /** When the plugin last answered a ping (or became ready). */
  lastPongAt = Date.now();
  readonly startedAt = Date.now();
  /** What the process reported of itself with its pongs (`GET /plugin/metrics`). */
  readonly figures = new ProcessFigures();
  private badStatsLogged = false;
  private readonly pending = new Map<string, PendingCall>();
  /** Requests of this process the host is still working on, by request id. */
  private readonly serving = new Map<string, CallCanceler>();
  private readonly stderrTail: string[] = [];
  private readonly exitWaiters: Array<(info: ExitInfo) => void> = [];
  /** Settles when the plugin said hello (ok), could not load its code, or exited first. */
  readonly handshake = settleOnce<HandshakeOutcome>();
  /** Settles with the startup lifecycle's result, or a failure if the process exits first. */
  readonly ready = settleOnce<WireResult>();

  /** Throws when the process cannot be launched at all (its context file cannot be written, spawn throws). */
  constructor(private readonly options: PluginProcessOptions) {
    // The manifest and the config can be large, and Linux caps one environment string at 128 KiB (spawn E2BIG):
    // they go through a file only this user can read. The plugin deletes it once read; `handleExit` makes sure.
    this.contextFile = path.join(options.contextDir, `context-${options.pluginId}-${randomUUID()}.json`);
    fs.writeFileSync(this.contextFile, JSON.stringify(options.context), { mode: 0o600, flag: "wx" });
    // The server's API token is the host's secret, not the plugin's.
    const { NEKO_API_TOKEN: _token, ...inherited } = process.env;
    const env: NodeJS.ProcessEnv = {
      ...inherited,
      NEKO_PLUGIN_ID: options.pluginId,
      NEKO_PLUGIN_SECRET: this.secret,
      NEKO_ENDPOINT: options.endpoint,
      NEKO_PLUGIN_DIR: options.pluginDir,
      NEKO_PLUGIN_ENTRY: `${options.entryModule}::${options.className}`,
      NEKO_PLUGIN_CONTEXT_FILE: this.contextFile,
    };
    try {
      this.child = spawn(process.execPath, [`--max-old-space-size=${options.maxHeapMb}`, options.runnerPath], {
        cwd: options.pluginDir,
        env,
        stdio: ["ignore", "pipe", "pipe", "ipc"],
      });
    } catch (error) {
      this.removeContextFile();
      throw error;
    }
    // The IPC channel only signals our death to the child; keep it from holding our event loop open.
    this.child.unref();
    this.child.channel?.unref();
    const log = options.logger;
    if (this.child.stdout) {
      onBoundedLines(this.child.stdout, (line) => {
        if (!line.trim()) return;
        const record = parsePluginLogLine(line);
        const { level, msg, time: _time, ...fields } = record;
        const method = isLogLevel(level) ? level : "info";
        log[method](fields, msg);
        record.pid = this.child.pid;
        options.onLog?.(record);
      });
    }
    if (this.child.stderr) {
      onBoundedLines(this.child.stderr, (line) => {
        this.stderrTail.push(line);
        if (this.stderrTail.length > STDERR_LINES_KEPT) this.stderrTail.shift();
        log.warn({ stream: "stderr" }, line);
        options.onLog?.({ time: Date.now(), level: "warn", msg: line, stream: "stderr", pid: this.child.pid });
      });
    }
    this.child.on("error", (error) => {
      if (this.child.pid !== undefined) {
        log.error({ err: error }, "plugin process error");
        return;
      }
      // The process never started (ENOENT, EAGAIN, EMFILE, …): Node emits `error` and `close` but never `exit`.
      this.launchFailure = `could not launch the plugin process: ${error.message}`;
      log.error({ err: error }, this.launchFailure);
      this.handleExit(null, null);
    });
    this.child.on("exit", (code, signal) => this.handleExit(code, signal));
  }

  get pluginId(): string {
    return this.options.pluginId;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Called by the host when the handshake from `peer` carried this process's secret. */
  acceptHello(peer: string, hello: HelloMessage): void {
    this.peer = peer;
    this.hello = hello;
    this.entries = hello.entries;
    this.options.send(peer, { type: "welcome" });
    this.handshake.settle({ result: { ok: true, value: null }, refused: false });
  }

  /** The host refuses this process's handshake: its code could not be loaded, or its hello cannot be accepted. */
  rejectHello(error: WireError): void {
    this.handshake.settle({ result: { ok: false, error }, refused: true });
  }

  /** A message from this process's peer, after the handshake. */
  handleMessage(message: PluginToHost): void {
    switch (message.type) {
      case "ready": {
        this.lastPongAt = Date.now();
        const problem = resultProblem(message.startup);
        this.ready.settle(
          problem
            ? failure(ErrorCode.HandshakeFailed, `the plugin reported ready with a malformed result: ${problem}`)
            : message.startup,
        );
        return;
      }
      case "pong":
        this.lastPongAt = Date.now();
        if (message.stats !== undefined) this.takeStats(message.stats);
        return;
      case "result": {
        const call = this.pending.get(message.id);
        if (!call) return; // after its deadline: dropped
        const problem = resultProblem(message.result);
        if (problem) {
          this.options.logger.warn({ id: message.id }, `dropped a malformed result frame: ${problem}`);
          return;
        }
        this.pending.delete(message.id);
        clearTimeout(call.timer);
        call.resolve(message.result);
        return;
      }
      case "entries_changed": {
        const problem = entriesChangedProblem(message);
        if (problem) {
          // The entries the plugin had stay in force; its calls keep working.
          this.options.logger.warn(`dropped a malformed entries_changed frame: ${problem}`);
          return;
        }
        this.entries = message.entries;
        // `/plugins` lists hooks from the hello; a router included or excluded later changes them.
        if (message.hooks && this.hello) this.hello = { ...this.hello, hooks: message.hooks };
        return;
      }
      case "request":
        this.options.onRequest?.(message);
        return;
      case "notify":
        this.options.onNotify?.(message);
        return;
      default:
        return;
    }
  }

  /** A pong's stats; bad ones are dropped (the pong still counts), with one warning per process. */
  private takeStats(stats: unknown): void {
    const problem = statsProblem(stats);
    if (!problem) {
      this.figures.update(stats as ProcessStats);
      return;
    }
    if (this.badStatsLogged) return;
    this.badStatsLogged = true;
    this.options.logger.warn(`dropped the stats of a pong: ${problem} (further bad stats are dropped silently)`);
  }

  /**
   * Sends a request and waits for its result, at most `timeoutMs`. Never rejects: a deadline gives `TIMEOUT`,
   * an exit gives `PLUGIN_CRASHED`.
   */
  request(
    build: (id: string, deadline: number) => HostToPlugin,
    timeoutMs: number,
    label: string,
    options: { canceler?: CallCanceler } = {},
  ): Promise<WireResult> {
    if (this.exited || !this.peer) {
      return Promise.resolve(failure(ErrorCode.PluginNotRunning, `plugin '${this.options.pluginId}' is not running`));
    }
    const { canceler } = options;
    if (canceler?.canceled) {
      return Promise.resolve(failure(ErrorCode.Canceled, `${label} was canceled before it was sent`));
    }
    const id = randomUUID();
    const budgetMs = timerDelay(timeoutMs);
    const deadline = Date.now() + budgetMs;
    const peer = this.peer;
    const answer = new Promise<WireResult>((resolve) => {
      // The plugin enforces the deadline itself; this timer is for a plugin that cannot answer at all.
      const timer = setTimeout(
        () => {
          this.pending.delete(id);
          this.options.send(peer, { type: "cancel", id });
          resolve(
            failure(ErrorCode.Timeout, `${label} timed out after ${budgetMs / 1000}s`, "TimeoutError", {
              timeoutMs: budgetMs,
            }),
          );
        },
        timerDelay(budgetMs + 250),
      );
      this.pending.set(id, { resolve, timer });
      try {
        this.options.send(peer, build(id, deadline));
      } catch (error) {
        // Nothing was sent (args msgpack cannot encode, or a frame over the limit): answer now, not at the deadline.
        clearTimeout(timer);
        this.pending.delete(id);
        resolve(unsendable(label, error));
      }
    });
    // The plugin answers a cancel with CANCELED once the handler's signal is aborted; an answered call needs none.
    canceler?.attach(() => {
      if (this.pending.has(id)) this.options.send(peer, { type: "cancel", id });
    });
    return answer;
  }

  /**
   * Sends a message that needs no answer (a `response` or a `push`); false when it could not be sent. A response that
   * cannot be sent is replaced by an error response, so the plugin's request is answered; a push is logged and dropped.
   */
  post(message: HostToPlugin): boolean {
    if (!this.peer || this.exited) return false;
    try {
      this.options.send(this.peer, message);
      return true;
    } catch (error) {
      const label = message.type === "response" ? "the response" : `push '${(message as { topic?: string }).topic}'`;
      this.options.logger.error({ err: error }, `${label} could not be sent to the plugin`);
      if (message.type === "response") {
        this.options.send(this.peer, { type: "response", id: message.id, result: unsendable(label, error) });
      }
      return false;
    }
  }

  /**
   * Starts serving one of this process's requests: the canceler is canceled by `cancelServing` (its
   * `request.cancel`) or by the process's exit. Call `done` once the request is answered.
   */
  serve(requestId: string): { canceler: CallCanceler; done: () => void } {
    const canceler = new CallCanceler();
    if (this.exited) canceler.cancel();
    else this.serving.set(requestId, canceler);
    return { canceler, done: () => this.serving.delete(requestId) };
  }

  /** The plugin gave up on one of its requests (`request.cancel`); unknown or finished ids are ignored. */
  cancelServing(requestId: unknown): void {
    if (typeof requestId !== "string") return;
    this.serving.get(requestId)?.cancel();
    this.serving.delete(requestId);
  }

  /** Resolves when the process has exited (at once if it already has). */
  waitExit(): Promise<ExitInfo> {
    if (this.exited) return Promise.resolve(this.exited);
    return new Promise((resolve) => this.exitWaiters.push(resolve));
  }

  kill(signal: NodeJS.Signals = "SIGKILL"): void {
    if (!this.exited) this.child.kill(signal);
  }

  private handleExit(code: number | null, signal: NodeJS.Signals | null): void {
    if (this.exited) return;
    this.exited = { code, signal, stderr: this.stderrTail };
    this.removeContextFile();
    const how = this.launchFailure ?? this.killReason ?? (signal ? `signal ${signal}` : `exit code ${code}`);
    const error = this.stopping
      ? failure(ErrorCode.PluginNotRunning, `plugin '${this.options.pluginId}' was stopped during the call`)
      : failure(
          ErrorCode.PluginCrashed,
          `plugin '${this.options.pluginId}' crashed during the call (${how})`,
          "SdkError",
          {
            exitCode: code,
            signal,
          },
        );
    for (const [id, call] of this.pending) {
      clearTimeout(call.timer);
      call.resolve(error);
      this.pending.delete(id);
    }
    // Work the host does for this process's requests (calls into other plugins, …) has no one to answer any more.
    for (const canceler of this.serving.values()) canceler.cancel();
    this.serving.clear();
    const early = failure(
      ErrorCode.PluginCrashed,
      this.launchFailure ?? `the process exited before it was ready (${how})`,
      "SdkError",
      { exitCode: code, signal },
    );
    // The exit can overtake the process's last frame (a load_failed) on its way through the socket; its stderr line
    // says the same and is complete once the pipes close, so read that before calling the start a crash.
    const settleEarly = () => {
      const loadFailure = findLoadFailure(this.stderrTail);
      this.handshake.settle(
        loadFailure ? { result: { ok: false, error: loadFailure }, refused: true } : { result: early, refused: false },
      );
    };
    if (this.child.stderr && !this.child.stderr.readableEnded) {
      this.child.once("close", settleEarly);
      setTimeout(settleEarly, 2000).unref();
    } else {
      settleEarly();
    }
    this.ready.settle(early);
    for (const waiter of this.exitWaiters.splice(0)) waiter(this.exited);
  }

  private removeContextFile(): void {
    try {
      fs.rmSync(this.contextFile, { force: true });
    } catch (error) {
      this.options.logger.warn({ err: error }, "could not remove the plugin's context file");
    }
  }
}
