/**
 * One plugin process, from launch to exit: its handshake, the calls the host sends it and the requests it sends the
 * host (both through one `RpcEndpoint`), its output and its exit. Owned by the supervisor; a restart is a new
 * PluginProcess. How the process ended — expected (a stop) or not, and why the host killed it — is its own state,
 * set through `expectExit` and `kill`, and reported with its exit.
 */
import { randomBytes } from "node:crypto";
import {
  Canceler,
  type CancelToken,
  checkParams,
  Emitter,
  type EntryDescriptor,
  ErrorCode,
  type Event,
  findLoadFailure,
  LOAD_FAILURE_PREFIX,
  type HelloMessage,
  type HostToPlugin,
  type NotifyMessage,
  type ParamsOut,
  type PluginToHost,
  type PluginToHostNotifications,
  pluginToHostNotifications,
  type ProcessStats,
  type RequestMessage,
  RpcEndpoint,
  resultProblem,
  unsendableError,
  type WireError,
  type WireResult,
} from "@neko/protocol";
import type { HostLogger, LogRecord } from "../host-logger.ts";
import { isLogLevel, parsePluginLogLine } from "../host-logger.ts";
import type { HostServices } from "../host-services.ts";
import { RateLimitedLog } from "../rate-limited-log.ts";
import { ProcessFigures } from "../metrics/process-figures.ts";
import { failure, settleOnce } from "../wire-result.ts";
import { entriesChangedProblem, statsProblem } from "./plugin-frame-problems.ts";
import type { PeerAdmission } from "../transport/host-transport.ts";
import type { ChildExit, LaunchRequest, PluginChild, PluginLauncher } from "./plugin-launcher.ts";

export interface PluginProcessOptions {
  launcher: PluginLauncher;
  /** What to launch, without the secret and the credentials (the process makes its own). */
  launch: Omit<LaunchRequest, "secret" | "connection">;
  /** This launch's right to connect, from the transport; the process disposes it when it exits. */
  admission: PeerAdmission;
  logger: HostLogger;
  /** Sends one message to the process's socket peer (known after the handshake). */
  send: (peer: string, message: HostToPlugin) => void;
  /** Serves the plugin's `request`s and `notify`s, after the handshake. */
  services: HostServices;
  onLog?: (record: LogRecord) => void;
  /** The plugin ran an `autoStart` entry by itself (`entry.auto_called`, already checked). */
  onAutoCalled?: (report: ParamsOut<PluginToHostNotifications, "entry.auto_called">) => void;
  /** The running process's entries (or hooks, or extensions) changed: an accepted `entries_changed`. */
  onEntriesChanged?: () => void;
}

export type ExitInfo = {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Its last lines on stderr. */
  stderr: string[];
  /** The host asked for it (a stop, a failed start): not a crash. */
  expected: boolean;
  /** Why the host killed it, when it did so without being asked to stop it (no heartbeat). */
  killReason?: string;
  /** Its remote worker is gone (ChildExit.unreachable): not a crash. */
  unreachable?: string;
};

/**
 * How the handshake ended. `refused`: the plugin's own answer rules out trying again with the same code (its code
 * failed to load, it speaks another protocol, its hello is malformed), as opposed to a crash or a timeout.
 */
export interface HandshakeOutcome {
  result: WireResult;
  refused: boolean;
}

export interface ProcessCall {
  /** The message for this call's id and deadline (`call`, `control`, `shutdown`). */
  build: (id: string, deadline: number) => HostToPlugin;
  timeoutMs: number;
  /** Names the call in errors: `entry 'p:e'`, `control 'freeze' of plugin 'p'`. */
  label: string;
  cancel?: CancelToken;
}

const STDERR_LINES_KEPT = 20;
/** A request id comes back in its response: a UUID is 36 characters. */
const MAX_REQUEST_ID_LENGTH = 128;
const DROP_LOG_INTERVAL_MS = 10_000;
/** How long past a call's deadline the host waits for the plugin's own TIMEOUT before answering it itself. */
const ANSWER_GRACE_MS = 250;

/** The timeouts the host's own timers fired (a plugin's answer saying `firedBy: "host"` is not one of them). */
const hostTimeouts = new WeakSet<object>();

/** The failures a plugin's `ready` carried: its startup hook's own answer, whatever code it names. */
const startupAnswers = new WeakSet<object>();

/** Whether `error` is what the plugin's startup hook answered in its `ready`, not a failure the host made. */
export function answeredByStartup(error: object): boolean {
  return startupAnswers.has(error);
}

/** Whether `error` is a timeout a host timer fired, not a plugin's answer. */
export function firedByHost(error: object): boolean {
  return hostTimeouts.has(error);
}

export class PluginProcess {
  readonly secret = randomBytes(24).toString("hex");
  readonly child: PluginChild;
  peer: string | undefined;
  entries: EntryDescriptor[] = [];
  hello: HelloMessage | undefined;
  exited: ExitInfo | undefined;
  /** When the plugin last answered a ping (or became ready). */
  lastPongAt = Date.now();
  readonly startedAt = Date.now();
  /** What the process reported of itself with its pongs (`GET /plugin/metrics`). */
  readonly figures = new ProcessFigures();
  /** Settles when the plugin said hello (ok), could not load its code, or exited first. */
  readonly handshake = settleOnce<HandshakeOutcome>();
  /** Settles with the startup lifecycle's result, or a failure if the process exits first. */
  readonly ready = settleOnce<WireResult>();
  private readonly exits = new Emitter<ExitInfo>();
  /** Fired once, right when the process has exited (its pending calls are answered by then). */
  readonly onExit: Event<ExitInfo> = this.exits.event;
  private readonly rpc: RpcEndpoint<HostToPlugin>;
  private exitExpected = false;
  private killReason: string | undefined;
  private badStatsLogged = false;
  private readonly dropLog: RateLimitedLog;
  private readonly stderrTail: string[] = [];

  /** Throws when the process cannot be launched at all (its context cannot be written, spawn throws). */
  constructor(private readonly options: PluginProcessOptions) {
    const { pluginId } = options.launch;
    this.rpc = new RpcEndpoint<HostToPlugin>({
      send: (message) => this.sendToPeer(message),
      sendCancel: (id) => this.sendToPeer({ type: "cancel", id }),
      graceMs: ANSWER_GRACE_MS,
      onCancel: "await",
      errors: {
        timedOut: (label, budgetMs) => {
          const { error } = failure(
            ErrorCode.Timeout,
            `${label} timed out after ${Number((budgetMs / 1000).toFixed(3))}s`,
            "TimeoutError",
            { timeoutMs: budgetMs, firedBy: "host" },
          );
          hostTimeouts.add(error);
          return error;
        },
        unsendable: (label, error) => unsendableError(`${label} cannot be sent to the plugin`, error),
        canceled: (label) => failure(ErrorCode.Canceled, `${label} was canceled before it was sent`).error,
      },
    });
    this.dropLog = new RateLimitedLog(options.logger, DROP_LOG_INTERVAL_MS);
    const { admission } = options;
    try {
      this.child = options.launcher.launch({
        ...options.launch,
        secret: this.secret,
        connection: admission.connection,
      });
    } catch (error) {
      admission.dispose();
      throw error;
    }
    // Before anything else runs: the process cannot have connected yet, and no other process may use its credentials.
    // On the pipe transport the connection is the child's own socket pair; a peer that breaks its framing is ended.
    admission.bindProcess(this.child.pid, {
      stream: this.child.channel,
      misbehaved: (why) => this.kill(why),
    });
    const log = options.logger;
    this.child.onLine(({ stream, line }) => {
      if (stream === "stdout") {
        if (!line.trim()) return;
        const record = parsePluginLogLine(line);
        const { level, msg, time: _time, ...fields } = record;
        log[isLogLevel(level) ? level : "info"](fields, msg);
        record.pid = this.child.pid;
        options.onLog?.(record);
        return;
      }
      this.stderrTail.push(line);
      if (this.stderrTail.length > STDERR_LINES_KEPT) this.stderrTail.shift();
      // The load failure's machine-readable line: its reason is logged once, with the plugin's refusal.
      if (line.startsWith(LOAD_FAILURE_PREFIX)) return;
      log.warn({ stream: "stderr" }, line);
      options.onLog?.({ time: Date.now(), level: "warn", msg: line, stream: "stderr", pid: this.child.pid });
    });
    this.child.onExit((exit) => this.handleExit(exit, pluginId));
  }

  get pluginId(): string {
    return this.options.launch.pluginId;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Calls still waiting for the plugin's answer, and its requests the host is still serving. */
  get inFlight(): { calls: number; serving: number } {
    return { calls: this.rpc.calls.size, serving: this.rpc.served.size };
  }

  /** The peer id this process's frames carry: the routing id its launch was admitted with. */
  get expectedPeer(): string {
    return this.options.admission.peer;
  }

  /**
   * Set before the handshake when the process is to wait, loaded, after its hello: it gets its `welcome` (which runs
   * its startup) only from `welcome()` (a reload's new process, while the old one still serves).
   */
  holdWelcome = false;

  /** Called by the supervisor when the handshake from this process's peer carried its secret. */
  acceptHello(hello: HelloMessage): void {
    const peer = this.options.admission.peer;
    this.peer = peer;
    this.hello = hello;
    this.entries = hello.entries;
    if (!this.holdWelcome) this.options.send(peer, { type: "welcome" });
    this.handshake.settle({ result: { ok: true, value: null }, refused: false });
  }

  /** Sends the `welcome` held back by `holdWelcome`: the plugin runs its startup and reports ready. */
  welcome(): void {
    if (!this.holdWelcome || !this.peer) return;
    this.holdWelcome = false;
    this.lastPongAt = Date.now();
    this.options.send(this.peer, { type: "welcome" });
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
        if (!problem && !message.startup.ok) startupAnswers.add(message.startup.error);
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
        if (!this.rpc.calls.has(message.id)) return; // after its deadline: dropped
        const problem = resultProblem(message.result);
        if (problem) {
          this.options.logger.warn({ id: message.id }, `dropped a malformed result frame: ${problem}`);
          return;
        }
        this.rpc.calls.settle(message.id, message.result);
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
        // Extensions injected or taken out at run time: the host lists them from here too.
        if (message.extensions && this.hello) this.hello = { ...this.hello, extensions: message.extensions };
        // A configuration change the plugin accepted may change a configured timer's interval.
        if (message.timers && this.hello) this.hello = { ...this.hello, timers: message.timers };
        this.options.onEntriesChanged?.();
        return;
      }
      case "request":
        this.serve(message);
        return;
      case "notify":
        this.takeNotification(message);
        return;
      default:
        return;
    }
  }

  /** Sends a call and waits for its result. Never rejects: a deadline gives TIMEOUT, an exit PLUGIN_CRASHED. */
  request(call: ProcessCall): Promise<WireResult> {
    if (this.exited || !this.peer) {
      return Promise.resolve(failure(ErrorCode.PluginNotRunning, `plugin '${this.pluginId}' is not running`));
    }
    return this.rpc.calls.call(call);
  }

  /**
   * Sends a message that needs no answer (a `response`, a `push`, a `ping`); false when it could not be sent. A
   * response that cannot be sent is replaced by an error response, so the plugin's request is answered; a push is
   * logged and dropped.
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
        const result = { ok: false as const, error: unsendableError(`${label} cannot be sent to the plugin`, error) };
        try {
          this.options.send(this.peer, { type: "response", id: message.id, result });
        } catch (fallback) {
          this.options.logger.error({ err: fallback }, "not even an error response could be sent to the plugin");
        }
      }
      return false;
    }
  }

  /** An exit from now on is what the host asked for (a stop, a failed start), not a crash. */
  expectExit(): void {
    this.exitExpected = true;
  }

  /** Kills the process; `reason` (e.g. "unresponsive: …") becomes how it ended, in its crash reason and call errors. */
  kill(reason?: string): void {
    if (this.exited) return;
    if (reason !== undefined) this.killReason ??= reason;
    this.child.kill("SIGKILL");
  }

  /** Resolves when the process has exited (at once if it already has). */
  waitExit(): Promise<ExitInfo> {
    if (this.exited) return Promise.resolve(this.exited);
    return new Promise((resolve) => this.onExit(resolve));
  }

  /**
   * A request of the plugin: served by the host services, stopped when the plugin cancels it or exits. Its id comes
   * back in the response, so one that is not a short string, or is already being served, is dropped unanswered.
   */
  private serve(message: RequestMessage): void {
    const { id } = message;
    if (typeof id !== "string" || id.length === 0 || id.length > MAX_REQUEST_ID_LENGTH || this.rpc.served.has(id)) {
      const why =
        typeof id === "string" && this.rpc.served.has(id)
          ? "dropped a request whose id is already being served"
          : `dropped a request whose id is not a string of 1–${MAX_REQUEST_ID_LENGTH} characters`;
      this.dropLog.warn("request", {}, why);
      return;
    }
    const canceler = new Canceler();
    const stop = this.rpc.served.serve(id, () => canceler.cancel());
    // `request` never rejects; if it did, the plugin is still answered.
    this.options.services
      .request(message.method, message.params, {
        pluginId: this.pluginId,
        deadline: message.deadline,
        cancel: canceler,
      })
      .then(
        (result) => this.respond(id, stop, result),
        (error: unknown) =>
          this.respond(id, stop, failure(ErrorCode.Internal, `host request failed: ${(error as Error)?.message}`)),
      );
  }

  /** Answers request `id` (`post` never throws: a response it cannot send becomes an error response). */
  private respond(id: string, stop: () => void, result: WireResult): void {
    this.rpc.served.done(id, stop);
    this.post({ type: "response", id, result });
  }

  private takeNotification(message: NotifyMessage): void {
    if (message.method === "request.cancel") {
      const checked = checkParams(pluginToHostNotifications["request.cancel"].params, message.params, message.method);
      if (checked.ok) this.rpc.served.stop(checked.value.id, undefined);
      return;
    }
    if (message.method === "entry.auto_called") {
      const checked = checkParams(
        pluginToHostNotifications["entry.auto_called"].params,
        message.params,
        message.method,
      );
      const entry = checked.ok ? this.entries.find((e) => e.id === checked.value.entryId) : undefined;
      const problem = !checked.ok
        ? checked.error.message
        : entry?.autoStart
          ? undefined
          : `'${checked.value.entryId}' is not an autoStart entry of the plugin`;
      if (problem || !checked.ok) {
        this.dropLog.warn("entry.auto_called", {}, `dropped an entry.auto_called notification: ${problem}`);
        return;
      }
      this.options.onAutoCalled?.(checked.value);
      return;
    }
    this.options.services.notify(message.method, message.params, { pluginId: this.pluginId });
  }

  /** A pong's stats; bad ones are dropped (the pong still counts), with one warning per process. */
  private takeStats(stats: unknown): void {
    const problem = statsProblem(stats);
    if (!problem) {
      // A thread plugin's process-wide figures are its runner's (ProcessFigures).
      this.figures.update(stats as ProcessStats, Date.now(), { thread: this.child.threadId !== undefined });
      return;
    }
    if (this.badStatsLogged) return;
    this.badStatsLogged = true;
    this.options.logger.warn(`dropped the stats of a pong: ${problem} (further bad stats are dropped silently)`);
  }

  private sendToPeer(message: HostToPlugin): void {
    if (this.peer && !this.exited) this.options.send(this.peer, message);
  }

  private handleExit(exit: ChildExit, pluginId: string): void {
    const { code, signal } = exit;
    // Its credentials die with it: a process that takes its pid later cannot connect with them.
    this.options.admission.dispose();
    const how =
      exit.refusal ?? exit.launchFailure ?? this.killReason ?? (signal ? `signal ${signal}` : `exit code ${code}`);
    this.exited = { code, signal, stderr: this.stderrTail, expected: this.exitExpected };
    if (this.killReason !== undefined) this.exited.killReason = this.killReason;
    if (exit.unreachable !== undefined) this.exited.unreachable = exit.unreachable;
    const error =
      exit.unreachable !== undefined
        ? failure(ErrorCode.PluginUnreachable, `plugin '${pluginId}' is unreachable: ${exit.unreachable}`)
        : this.exitExpected
          ? failure(ErrorCode.PluginNotRunning, `plugin '${pluginId}' was stopped during the call`)
          : failure(ErrorCode.PluginCrashed, `plugin '${pluginId}' crashed during the call (${how})`, "SdkError", {
              exitCode: code,
              signal,
            });
    // Pending calls fail at once; work the host does for this process's requests has no one to answer any more.
    this.rpc.close(() => error);
    const early =
      exit.unreachable !== undefined
        ? failure(ErrorCode.PluginUnreachable, `plugin '${pluginId}' is unreachable: ${exit.unreachable}`)
        : failure(
            ErrorCode.PluginCrashed,
            exit.launchFailure ?? `the process exited before it was ready (${how})`,
            "SdkError",
            { exitCode: code, signal },
          );
    // The exit can overtake the process's last frame (a load_failed) on its way through the socket; its stderr line
    // says the same and is complete once the pipes close, so read that before calling the start a crash.
    void this.child.outputDone().then(() => {
      const loadFailure =
        exit.refusal !== undefined
          ? ({ name: "SdkError", code: ErrorCode.PluginLoadFailed, message: exit.refusal } satisfies WireError)
          : findLoadFailure(this.stderrTail);
      this.handshake.settle(
        loadFailure ? { result: { ok: false, error: loadFailure }, refused: true } : { result: early, refused: false },
      );
    });
    this.ready.settle(early);
    this.exits.fire(this.exited);
    this.exits.dispose();
  }
}
