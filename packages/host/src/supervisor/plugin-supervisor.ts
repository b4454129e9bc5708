/**
 * The supervisor: one process per plugin, its handshake, its state (moved only through the transition table of
 * plugin-state.ts), restarts with backoff, and every call into it. Frames from the transport are routed here; a frame
 * from a peer that never completed the handshake with a valid one-time secret is dropped. What happens to plugins is
 * announced on three events — state changes, finished calls, log lines — for the host's features to follow.
 */
import { setTimeout as sleep } from "node:timers/promises";
import path from "node:path";
import {
  type CancelToken,
  type ControlOp,
  type Disposable,
  Emitter,
  type EntryDescriptor,
  ErrorCode,
  type Event,
  type HelloMessage,
  type HostToPlugin,
  type HostToPluginControls,
  type HostToPluginPushes,
  isErrorCode,
  type LoadFailedMessage,
  type ParamsIn,
  type PluginToHost,
  PROTOCOL_VERSION,
  type PushTopic,
  resultProblem,
  timerDelay,
  toDisposable,
  type WireError,
  type WireResult,
  timeoutError,
} from "@neko/protocol";
import { isFrozenOnDisk } from "@neko/plugin-sdk/frozen-state-file";
import type { HostLogger, LogRecord } from "../host-logger.ts";
import type { HostServices } from "../host-services.ts";
import type { ProcessFiguresView } from "../metrics/process-figures.ts";
import type { HostTransport, IncomingFrame } from "../transport/host-transport.ts";
import { failure, pluginNotFound } from "../wire-result.ts";
import { inDependencyOrder } from "./dependency-order.ts";
import { RateLimitedLog } from "../rate-limited-log.ts";
import { DEFAULT_HEARTBEAT_INTERVAL_MS, HeartbeatMonitor } from "./heartbeat-monitor.ts";
import { NodePluginLauncher } from "./node-plugin-launcher.ts";
import { LaunchGate, type LaunchSlot, launchConcurrency } from "./launch-gate.ts";
import { launchPermissions } from "./permission-flags.ts";
import { helloProblem } from "./plugin-frame-problems.ts";
import type { PluginLauncher } from "./plugin-launcher.ts";
import { answeredByStartup, type ExitInfo, firedByHost, PluginProcess, type ProcessCall } from "./plugin-process.ts";
import type { PluginScope } from "./plugin-scope.ts";
import { type PluginState, type StateChange, stateChangeLine } from "./plugin-state.ts";
import { DEFAULT_RESTART_POLICY, type RestartPolicyOptions } from "./restart-policy.ts";
import { SupervisedPlugin, type SupervisedPluginSpec } from "./supervised-plugin.ts";

export type { SupervisedPluginSpec } from "./supervised-plugin.ts";

export interface SupervisorOptions {
  transport: HostTransport;
  services: HostServices;
  /** How processes are launched; default: a Node process running `runnerPath`. */
  launcher?: PluginLauncher;
  runnerPath?: string;
  logger: HostLogger;
  restartPolicy?: RestartPolicyOptions;
  handshakeTimeoutMs?: number;
  startupTimeoutMs?: number;
  /** How long `shutdown` may take before the process is killed (SPEC §3.5: 5 s). */
  stopGraceMs?: number;
  /** How long a reload waits for the old process's calls to finish before shutting it down (default 30 s). */
  swapDrainMs?: number;
  /** Ping interval; a plugin silent for 3 intervals is unresponsive and restarted (SPEC §4.1: 5 s). */
  heartbeatIntervalMs?: number;
  /**
   * Runs before each launch with the plugin's folder and entry module, and each extension folder it loads (the host
   * compiles their TypeScript into the cache and links the plugin); never throws. `access`, with the entry module: what
   * the plugin's process may read (undefined `read`: no permission model) and write, its own folder aside.
   */
  prepareSources?: (dir: string, entryModule?: string, access?: SourceAccess) => Promise<unknown>;
  /** How many plugin processes may boot (launch → hello) at once (launch-gate.ts); default: `launchConcurrency()`. */
  launchConcurrency?: number;
  /** How long one boot holds its slot of the launch gate at most (launch-gate.ts; default 4 s). */
  launchSlotLendMs?: number;
}

export interface SupervisorCallOptions {
  /** Default: the entry's own timeout. */
  timeoutMs?: number;
  /** Absolute deadline (ms since the epoch) the call may not run past: a nested call's caller's deadline. */
  deadline?: number;
  /** Plugin ids of the calls this one is nested in, outermost first (cross-plugin calls). */
  chain?: string[];
  /** Sent with the call so the plugin's `runUpdate` / `exportPush` / `finish` act on that run. */
  runId?: string;
  /** Canceling it sends `cancel`: the plugin aborts the handler's signal and answers `CANCELED`. */
  cancel?: CancelToken;
}

/** One entry call and its answer, as call listeners see it. */
export interface FinishedCall {
  pluginId: string;
  entryId: string;
  runId: string | undefined;
  result: WireResult;
  durationMs: number;
}

export interface PluginStateChange {
  pluginId: string;
  change: StateChange;
}

export interface PluginLogLine {
  pluginId: string;
  record: LogRecord;
}

export interface PluginStatus {
  state: PluginState;
  reason: string | undefined;
  pid: number | undefined;
  /** A thread plugin's thread in the runner process `pid`; undefined for a plugin process. */
  threadId: number | undefined;
  entries: EntryDescriptor[] | undefined;
  history: StateChange[];
  lastExit: ExitInfo | undefined;
  sdkVersion: string | undefined;
  hello: HelloMessage | undefined;
  /** When the running process was spawned, and what it reports of itself. */
  process: { startedAt: number; figures: ProcessFiguresView } | undefined;
}

/**
 * How a launch context or grant is asked. `preview`: for a reload's new process, which may yet be refused while the
 * old one goes on: work out what it gets, but change nothing the host holds for the plugin's current run (that
 * happens when it is asked again, without `preview`, as the new process takes over).
 */
export interface LaunchAsk {
  preview: boolean;
}

/**
 * Adds to what a plugin process reads at launch, next to its manifest (its effective config, …), before each start;
 * a throw fails the start.
 */
export type LaunchContext = (spec: SupervisedPluginSpec, ask: LaunchAsk) => Record<string, unknown>;

/** More a plugin process may read and write, and load as its own sources, than its manifest grants (its extensions). */
/** What a plugin's process may read and write besides its own folder (absolute paths, or relative to the folder). */
export interface SourceAccess {
  /** Undefined: it runs without the permission model. */
  read: string[] | undefined;
  write: string[];
  /** The heap limit of its process, in MiB; undefined for a thread plugin (plugin-links.ts: its startup snapshot). */
  heapMb?: number;
}

export interface LaunchGrant {
  /** Absolute paths it may read, and whose sources it loads as its own (compiled into the cache before the start). */
  sourceDirs?: string[];
  /** Absolute paths it may write. */
  write?: string[];
}

/** Asked before each start, after the launch contexts; a throw fails the start. */
export type LaunchGrants = (spec: SupervisedPluginSpec, ask: LaunchAsk) => LaunchGrant | undefined;

/**
 * Asked about each hello that passed the supervisor's own checks, before the plugin is welcomed (its startup runs):
 * an error refuses the start with it (the plugin becomes `refused`, a reload's new process is dropped). Never throws.
 */
export type HelloCheck = (pluginId: string, hello: HelloMessage) => WireError | undefined;

export class PluginSupervisor implements Disposable {
  private readonly plugins = new Map<string, SupervisedPlugin>();
  private readonly byPeer = new Map<string, PluginProcess>();
  private readonly awaitingHello = new Map<string, PluginProcess>();
  private readonly launchContexts = new Set<LaunchContext>();
  private readonly launchGrants = new Set<LaunchGrants>();
  private readonly helloChecks = new Set<HelloCheck>();
  private readonly launcher: PluginLauncher;
  private closed = false;
  /** How many processes boot at once (launch-gate.ts). */
  private readonly launchGate: LaunchGate;
  private readonly stateChanges: Emitter<PluginStateChange>;
  private readonly calls: Emitter<FinishedCall>;
  private readonly logLines: Emitter<PluginLogLine>;
  private readonly entryChanges: Emitter<{ pluginId: string }>;
  /** Every state change of every plugin, after the state has changed. */
  readonly onStateChange: Event<PluginStateChange>;
  /** Once per entry call, when its answer is known (the bus's `events` records, metrics, …). */
  readonly onCall: Event<FinishedCall>;
  /** Every line a plugin process writes (stdout and stderr). */
  readonly onLog: Event<PluginLogLine>;
  /** A running plugin's entries changed (a dynamic entry, a router, an extension came or went). */
  readonly onEntriesChange: Event<{ pluginId: string }>;
  /**
   * Frames dropped unread because their peer had not completed the handshake (a peer the host never admitted, or a
   * launch whose first frame was not a good hello). A running plugin's malformed frames are logged, not counted here.
   */
  droppedFrames = 0;
  private readonly dropLog: RateLimitedLog;

  constructor(private readonly options: SupervisorOptions) {
    this.dropLog = new RateLimitedLog(options.logger, 10_000);
    const concurrency = launchConcurrency(options.launchConcurrency);
    if (concurrency.problem !== undefined) options.logger.warn(concurrency.problem);
    this.launchGate = new LaunchGate(concurrency.size, { lendAfterMs: options.launchSlotLendMs });
    const listenerFailed = (what: string) => (error: unknown) =>
      options.logger.error({ err: error }, `a ${what} listener failed`);
    this.stateChanges = new Emitter(listenerFailed("state"));
    this.calls = new Emitter(listenerFailed("call"));
    this.logLines = new Emitter(listenerFailed("log"));
    this.entryChanges = new Emitter(listenerFailed("entries"));
    this.onEntriesChange = this.entryChanges.event;
    this.onStateChange = this.stateChanges.event;
    this.onCall = this.calls.event;
    this.onLog = this.logLines.event;
    if (options.launcher) {
      this.launcher = options.launcher;
    } else {
      if (!options.runnerPath) throw new Error("the supervisor needs a launcher, or a runnerPath");
      this.launcher = new NodePluginLauncher({
        runnerPath: options.runnerPath,
        logger: options.logger,
      });
    }
    options.transport.onFrame((frame) => this.route(frame));
  }

  add(spec: SupervisedPluginSpec): void {
    if (this.plugins.has(spec.id)) throw new Error(`plugin '${spec.id}' is already supervised`);
    // A plugin frozen before the host stopped stays frozen until someone starts it.
    const { enabled } = spec.manifest.runtime;
    const frozen = enabled && isFrozenOnDisk(path.join(spec.dir, "data"));
    const initial: { state: PluginState; reason?: string } = enabled
      ? { state: frozen ? "frozen" : "stopped" }
      : { state: "disabled", reason: "[plugin_runtime].enabled is false" };
    const logger = this.options.logger.child({ plugin: spec.id });
    this.plugins.set(
      spec.id,
      new SupervisedPlugin(spec, initial, {
        restartPolicy: this.options.restartPolicy ?? DEFAULT_RESTART_POLICY,
        onScopeError: (error) => logger.error({ err: error }, "releasing what the plugin held failed"),
        onIllegalMove: (error) => logger.error({ err: error }, error.message),
      }),
    );
  }

  /** Stops the plugin if it runs and forgets it, with everything the host held for it (its scope). */
  async remove(id: string): Promise<void> {
    await this.stop(id);
    const plugin = this.plugins.get(id);
    this.plugins.delete(id);
    plugin?.dispose();
  }

  /** Replaces the manifest used for the next start (a reload re-reads it). */
  updateSpec(spec: SupervisedPluginSpec): void {
    const plugin = this.plugins.get(spec.id);
    if (!plugin) return;
    plugin.spec = spec;
    const enabled = spec.manifest.runtime.enabled;
    if (!enabled && (plugin.state === "stopped" || plugin.state === "refused")) {
      this.setState(plugin, "disabled", "[plugin_runtime].enabled is false");
    } else if (enabled && plugin.state === "disabled") {
      this.setState(plugin, "stopped");
    }
  }

  /** Adds to what every plugin process reads at launch; dispose to stop adding it. */
  addLaunchContext(context: LaunchContext): Disposable {
    this.launchContexts.add(context);
    return toDisposable(() => this.launchContexts.delete(context));
  }

  /** Adds a check of every plugin's hello (its configuration against its configSchema, …); dispose to drop it. */
  addHelloCheck(check: HelloCheck): Disposable {
    this.helloChecks.add(check);
    return toDisposable(() => this.helloChecks.delete(check));
  }

  /** Adds to what every plugin process may read, write and load at launch; dispose to stop adding it. */
  addLaunchGrant(grants: LaunchGrants): Disposable {
    this.launchGrants.add(grants);
    return toDisposable(() => this.launchGrants.delete(grants));
  }

  has(id: string): boolean {
    return this.plugins.has(id);
  }

  ids(): string[] {
    return [...this.plugins.keys()];
  }

  /** What the host holds for the plugin (its lifetime and its current run); undefined for an unknown plugin. */
  scope(id: string): PluginScope | undefined {
    return this.plugins.get(id)?.scope;
  }

  status(id: string): PluginStatus | undefined {
    const plugin = this.plugins.get(id);
    if (!plugin) return undefined;
    const live = plugin.state === "running" ? plugin.process : undefined;
    return {
      state: plugin.state,
      reason: plugin.reason,
      pid: live?.pid,
      threadId: live?.child.threadId,
      entries: live?.entries,
      history: plugin.history,
      lastExit: plugin.lastExit,
      sdkVersion: live?.hello?.sdkVersion,
      hello: live?.hello,
      process: live && { startedAt: live.startedAt, figures: live.figures.view() },
    };
  }

  /** Running, or on its way there: starting, or crashed with a restart pending. A reload brings such a plugin back. */
  isUp(id: string): boolean {
    const plugin = this.plugins.get(id);
    if (!plugin) return false;
    return (
      plugin.state === "running" || plugin.state === "starting" || (plugin.state === "crashed" && plugin.restartPending)
    );
  }

  /** Starts the plugin and resolves once it is running (Ok) or has failed to (Err with the reason). */
  start(id: string, options: { manual?: boolean } = {}): Promise<WireResult> {
    const plugin = this.plugins.get(id);
    if (!plugin) return Promise.resolve(pluginNotFound(id));
    return this.enqueue(plugin, () => this.doStart(plugin, options.manual ?? true));
  }

  /** Runs `shutdown`, waits up to the grace period, then kills. Resolves once the process is gone. */
  stop(id: string): Promise<WireResult> {
    const plugin = this.plugins.get(id);
    if (!plugin) return Promise.resolve(pluginNotFound(id));
    plugin.cancelRestart();
    plugin.stopRequested = true;
    this.launchGate.recheck();
    return this.enqueue(plugin, () => this.doStop(plugin));
  }

  /**
   * Freezes a running plugin (SPEC §4.6): its `freeze` control runs the lifecycle and saves the state, then the
   * process stops and the plugin stays `frozen` until a start brings up a new process that restores the state.
   */
  freeze(id: string): Promise<WireResult> {
    const plugin = this.plugins.get(id);
    if (!plugin) return Promise.resolve(pluginNotFound(id));
    return this.enqueue(plugin, async () => {
      if (plugin.state === "frozen") return { ok: true, value: null };
      const saved = await this.control(id, "freeze", null);
      if (!saved.ok) return saved;
      await this.doStop(plugin, "frozen");
      return saved;
    });
  }

  /** Stops every plugin, each after the plugins that depend on it, so their `shutdown` can still call it. */
  async stopAll(dependentsOf: (id: string) => string[] = () => []): Promise<void> {
    this.closed = true;
    this.launchGate.recheck();
    // Nothing is launched from now on: what the launcher is finding out for a start (a Python probe) ends now, and
    // that start with it, so no stop waits for it.
    this.launcher.dispose?.();
    await inDependencyOrder([...this.plugins.keys()], dependentsOf, (id) => this.stop(id));
  }

  /** Forgets every plugin and listener; call after `stopAll`. */
  dispose(): void {
    this.launcher.dispose?.();
    for (const plugin of this.plugins.values()) plugin.dispose();
    this.plugins.clear();
    this.launchContexts.clear();
    this.launchGrants.clear();
    this.helloChecks.clear();
    this.stateChanges.dispose();
    this.calls.dispose();
    this.logLines.dispose();
    this.entryChanges.dispose();
  }

  /** What the supervisor holds now, for leak checks: plugins, peers, scopes, listeners, calls in flight. */
  debugCounts(): Record<string, number> {
    let scoped = 0;
    let calls = 0;
    let serving = 0;
    for (const plugin of this.plugins.values()) {
      scoped += plugin.scope.size;
      const inFlight = plugin.process?.inFlight;
      calls += inFlight?.calls ?? 0;
      serving += inFlight?.serving ?? 0;
    }
    return {
      plugins: this.plugins.size,
      peers: this.byPeer.size,
      awaitingHello: this.awaitingHello.size,
      launchContexts: this.launchContexts.size + this.launchGrants.size + this.helloChecks.size,
      scoped,
      callsInFlight: calls,
      requestsServed: serving,
      listeners: this.stateChanges.size + this.calls.size + this.logLines.size + this.entryChanges.size,
    };
  }

  /** Calls an entry of a running plugin. Never rejects; every failure is an Err with a code. */
  call(id: string, entryId: string, args: unknown, options: SupervisorCallOptions = {}): Promise<WireResult> {
    return this.dispatchCall(id, entryId, args, options, this.calls.size === 0 ? undefined : performance.now());
  }

  /** Told of every finished call (`started` set: someone listens), after the answer is shaped. */
  finished(call: EntryCall, result: WireResult): WireResult {
    const answer = timeoutNamed(result, call.pluginId, call.entryId, "entry", call.timeoutMs);
    if (call.started !== undefined) {
      this.calls.fire({
        pluginId: call.pluginId,
        entryId: call.entryId,
        runId: call.options.runId,
        result: answer,
        durationMs: performance.now() - call.started,
      });
    }
    return answer;
  }

  private dispatchCall(
    id: string,
    entryId: string,
    args: unknown,
    options: SupervisorCallOptions,
    started: number | undefined,
  ): Promise<WireResult> {
    // A reload is switching processes: the call waits for the new one. (A call nested in one the old process serves
    // cannot target the same plugin: the call chain refuses a cycle.)
    const gate = this.plugins.get(id)?.gate;
    if (gate) return gate.then(() => this.dispatchCall(id, entryId, args, options, started));
    const refused = this.refusedCall(id, entryId, options);
    if (typeof refused !== "number") return this.answered(id, entryId, options, started, refused);
    const call = new EntryCall(this, id, entryId, args, options, refused, started);
    return call.process.request(call).then(call.done);
  }

  /** A call answered without reaching the plugin: listeners hear of it as of any other. */
  private answered(
    id: string,
    entryId: string,
    options: SupervisorCallOptions,
    started: number | undefined,
    result: WireResult,
  ): Promise<WireResult> {
    if (started === undefined) return Promise.resolve(result);
    // After the caller has its promise, as for a call that reached the plugin.
    return Promise.resolve(result).then((answer) => {
      this.calls.fire({
        pluginId: id,
        entryId,
        runId: options.runId,
        result: answer,
        durationMs: performance.now() - started,
      });
      return answer;
    });
  }

  /**
   * Why entry `entryId` of plugin `id` cannot be called now (not running, no such entry, disabled), or the call's
   * time budget in ms when it can.
   */
  private refusedCall(id: string, entryId: string, options: SupervisorCallOptions): WireResult | number {
    const proc = this.runningProcess(id);
    if (!(proc instanceof PluginProcess)) return proc;
    const entry = proc.entries.find((e) => e.id === entryId);
    if (!entry) {
      return failure(ErrorCode.EntryNotFound, `plugin '${id}' has no entry '${entryId}'`, "NotFoundError", {
        entries: proc.entries.map((e) => e.id),
      });
    }
    if (!entry.enabled) return failure(ErrorCode.EntryDisabled, `entry '${id}:${entryId}' is disabled`);
    const timeoutMs = timerDelay(options.timeoutMs ?? entry.timeout * 1000);
    return options.deadline === undefined ? timeoutMs : timerDelay(Math.min(timeoutMs, options.deadline - Date.now()));
  }

  /** The running process of plugin `id` (set once `refusedCall` said it can be called). */
  processOf(id: string): PluginProcess {
    return this.plugins.get(id)?.process as PluginProcess;
  }

  /** Asks the running plugin's runtime for a control operation of the contract (lifecycle, config, freeze, …). */
  control<K extends ControlOp>(
    id: string,
    op: K,
    payload: ParamsIn<HostToPluginControls, K>,
    options: { timeoutMs?: number; cancel?: CancelToken } = {},
  ): Promise<WireResult> {
    const proc = this.runningProcess(id);
    if (!(proc instanceof PluginProcess)) return Promise.resolve(proc);
    return proc.request({
      build(callId, deadline) {
        return { type: "control", id: callId, op, payload, deadline };
      },
      timeoutMs: options.timeoutMs ?? 30_000,
      label: `control '${op}' of plugin '${id}'`,
      cancel: options.cancel,
    });
  }

  /** Pushes a topic of the contract to a running plugin (no answer); false when it is not running or cannot be sent. */
  push<K extends PushTopic>(id: string, topic: K, payload: ParamsIn<HostToPluginPushes, K>): boolean {
    const proc = this.plugins.get(id)?.process;
    if (!proc?.peer || proc.exited) return false;
    return proc.post({ type: "push", topic, payload });
  }

  /** The process of a running plugin, or the failure that says why there is none. */
  private runningProcess(id: string): PluginProcess | WireResult {
    const plugin = this.plugins.get(id);
    if (!plugin) return pluginNotFound(id);
    if (plugin.state !== "running" || !plugin.process) {
      return failure(ErrorCode.PluginNotRunning, `plugin '${id}' is not running (state: ${plugin.state})`, "SdkError", {
        state: plugin.state,
        reason: plugin.reason,
      });
    }
    return plugin.process;
  }

  private enqueue(plugin: SupervisedPlugin, op: () => Promise<WireResult>): Promise<WireResult> {
    const next = plugin.queue.then(op, op);
    plugin.queue = next.catch(() => undefined);
    return next;
  }

  private setState(plugin: SupervisedPlugin, state: PluginState, reason?: string): void {
    const change = plugin.moveTo(state, reason);
    const log = this.options.logger.child({ plugin: plugin.spec.id });
    const line = stateChangeLine(change);
    if (line.reason === undefined) log[line.level](line.msg);
    else log[line.level]({ reason: line.reason }, line.msg);
    this.stateChanges.fire({ pluginId: plugin.spec.id, change });
  }

  private async doStart(plugin: SupervisedPlugin, manual: boolean): Promise<WireResult> {
    const id = plugin.spec.id;
    if (this.closed) return failure(ErrorCode.PluginNotRunning, "the host is shutting down");
    if (plugin.state === "running") return { ok: true, value: null };
    if (plugin.state === "disabled") {
      return failure(ErrorCode.PluginRefused, `plugin '${id}' is disabled ([plugin_runtime].enabled = false)`);
    }
    // A plugin whose code failed to load is retried only by hand: the code may have been fixed since.
    if (plugin.state === "refused" && !manual) {
      return failure(ErrorCode.PluginRefused, `plugin '${id}' cannot start: ${plugin.reason}`);
    }
    // Only a start by hand (start, unfreeze) wakes a frozen plugin; start-all leaves it be.
    if (plugin.state === "frozen" && !manual) return { ok: true, value: null };
    // What the launch contexts set up (the configuration the process starts with) belongs to this run.
    plugin.scope.beginRun();
    const inputs = this.launchInputs(plugin, { preview: false });
    if (inputs instanceof Error) {
      const message = `plugin '${id}' cannot start: ${inputs.message}`;
      if (plugin.state === "frozen") plugin.scope.endRun();
      else this.setState(plugin, "stopped", message);
      const code = (inputs as { code?: unknown }).code;
      return failure(isErrorCode(code) ? code : ErrorCode.PluginRefused, message);
    }
    const { context, grant } = inputs;
    await this.prepareSources(plugin, grant);
    if (this.closed) {
      plugin.scope.endRun();
      return failure(ErrorCode.PluginNotRunning, "the host is shutting down");
    }
    if (manual) plugin.policy.reset();
    plugin.cancelRestart();
    this.setState(plugin, "starting");
    const unprepared = await this.prepareLaunch(plugin.spec);
    if (unprepared !== undefined && !this.closed) {
      this.setState(plugin, "refused", unprepared);
      return failure(ErrorCode.PluginLoadFailed, unprepared);
    }
    // Launched once fewer than the gate's size boot: the handshake's time counts from this process's own launch.
    const slot = await this.launchSlot(id, () => this.closed || plugin.stopRequested);
    if (this.closed) {
      slot?.();
      this.setState(plugin, "stopped", "the host is shutting down");
      return failure(ErrorCode.PluginNotRunning, "the host is shutting down");
    }
    if (plugin.stopRequested) {
      slot?.();
      // Stopped while its launch was being prepared: nothing is launched (the stop waiting in the queue finds it so).
      const message = `plugin '${id}' was stopped before its process was launched`;
      this.setState(plugin, "stopped", message);
      return failure(ErrorCode.PluginNotRunning, message);
    }
    let proc: PluginProcess;
    try {
      proc = this.launch(plugin, context, grant);
    } catch (error) {
      slot?.();
      // Nothing runs, so there is nothing to wait for: a crash (EAGAIN, EMFILE may pass) with the reason.
      const message = `could not launch the plugin process: ${(error as Error).message}`;
      this.onCrash(plugin, message);
      return failure(ErrorCode.PluginCrashed, message, "SdkError", { cause: (error as NodeJS.ErrnoException).code });
    }
    plugin.process = proc;
    this.awaitingHello.set(proc.expectedPeer, proc);

    await this.untilStarted(proc);
    const handshake = await withTimeout(proc.handshake.promise, this.options.handshakeTimeoutMs ?? 20_000, () => ({
      result: failure(ErrorCode.HandshakeFailed, "the plugin process did not complete the handshake in time"),
      refused: false,
    }));
    slot?.();
    this.awaitingHello.delete(proc.expectedPeer);
    if (!handshake.result.ok) return this.failStart(plugin, proc, handshake.result, handshake.refused);
    const ready = await withTimeout(proc.ready.promise, this.options.startupTimeoutMs ?? 30_000, () =>
      failure(ErrorCode.Timeout, "the startup lifecycle did not finish in time"),
    );
    if (!ready.ok) return startupFailed(plugin.spec.id, await this.failStart(plugin, proc, ready, false));

    this.setState(plugin, "running");
    this.watch(plugin, proc);
    return { ok: true, value: { pid: proc.pid } };
  }

  /** What a launch of the plugin gets from the launch contexts and grants; the error one of them threw. */
  private launchInputs(plugin: SupervisedPlugin, ask: LaunchAsk, spec = plugin.spec): LaunchInputs | Error {
    try {
      const context = Object.assign(
        { manifest: spec.manifest.raw },
        ...[...this.launchContexts].map((launchContext) => launchContext(spec, ask)),
      );
      const grants = [...this.launchGrants].map((grants) => grants(spec, ask));
      const grant = {
        sourceDirs: grants.flatMap((g) => g?.sourceDirs ?? []),
        write: grants.flatMap((g) => g?.write ?? []),
      };
      return { context, grant };
    } catch (error) {
      return error instanceof Error ? error : new Error(String(error));
    }
  }

  /** The plugin's TypeScript goes into the shared compile cache first, so its process does not need esbuild. */
  private async prepareSources(plugin: SupervisedPlugin, grant: Required<LaunchGrant>, spec = plugin.spec) {
    const permissions = launchPermissions(spec.manifest);
    await this.options.prepareSources?.(spec.dir, spec.entryModulePath, {
      read: permissions && [...permissions.fsRead, ...grant.sourceDirs],
      write: [...spec.manifest.permissions.fsWrite, ...grant.write],
      ...(spec.manifest.runtime.isolation !== "thread" && { heapMb: spec.manifest.permissions.maxHeapMb }),
    });
    for (const dir of grant.sourceDirs) await this.options.prepareSources?.(dir);
  }

  /**
   * What the launcher must find out first (a Python plugin's interpreter), without blocking the event loop; the launch
   * follows in the same turn, so what it found still holds.
   */
  private async prepareLaunch(spec: SupervisedPluginSpec): Promise<string | undefined> {
    const { language } = spec.manifest.entry;
    const thread = spec.manifest.runtime.isolation === "thread";
    try {
      await this.launcher.prepare?.({
        pluginId: spec.id,
        ...(language && { language }),
        ...(thread && { isolation: "thread" as const }),
      });
      return undefined;
    } catch (error) {
      // A launcher's preparation should report through the launch (a refusal); one that throws refuses the plugin
      // here rather than leave it `starting` for ever.
      return `could not prepare the launch: ${error instanceof Error ? error.message : String(error)}`;
    }
  }

  /**
   * A slot of the launch gate for a launch of `id`; for a launch that boots nothing here (a remote worker's), none is
   * taken: a slot that gives nothing back. Undefined when `abandoned()` turned true first.
   */
  private async launchSlot(id: string, abandoned: () => boolean): Promise<LaunchSlot | undefined> {
    if (this.launcher.runsHere?.(id) === false) return abandoned() ? undefined : () => undefined;
    return this.launchGate.acquire(abandoned);
  }

  /**
   * Until the process runs: a remote worker prepares its launch first (its Python probe, up to 2 × 10 s), which the
   * handshake's time limit does not count. Bounded, for a worker that never says.
   */
  private async untilStarted(proc: PluginProcess): Promise<void> {
    const { started } = proc.child;
    if (started) await withTimeout(started, MAX_REMOTE_PREPARE_MS, () => undefined);
  }

  /** A ready process is watched: its heartbeat, and its exit (a crash unless the host asked for it). */
  private watch(plugin: SupervisedPlugin, proc: PluginProcess): void {
    const id = plugin.spec.id;
    const heartbeat = new HeartbeatMonitor({
      intervalMs: this.options.heartbeatIntervalMs ?? DEFAULT_HEARTBEAT_INTERVAL_MS,
      missesAllowed: 3,
      sendPing: () => proc.post({ type: "ping", id: String(Date.now()) }),
      lastPongAt: () => proc.lastPongAt,
      onUnresponsive: (silentMs) => {
        const reason = `unresponsive: no heartbeat for ${(silentMs / 1000).toFixed(1)}s (event loop blocked or hung)`;
        this.options.logger.child({ plugin: id }).warn(`${reason}; killing it`);
        proc.kill(reason);
      },
    });
    heartbeat.start();
    plugin.scope.run.add(toDisposable(() => heartbeat.stop()));
    // Handled in the same turn as the exit, so nothing sees an exited process in a `running` plugin.
    if (proc.exited) this.onExit(plugin, proc, proc.exited);
    else proc.onExit((info) => this.onExit(plugin, proc, info));
  }

  /**
   * A running plugin's reload with no call failing (docs/cli.md#dev), to `spec` (its manifest as on disk now). The new
   * code loads in a new process while the old one serves; code that cannot load (a syntax error, a missing export, a
   * bad schema, a throwing constructor) is refused with the reason, and the old process goes on as it was. Once the
   * new process has said hello, calls wait; the old process finishes the calls it has (up to `swapDrainMs`, controls
   * still reach it) and shuts down; the plugin is `starting` while the new process runs its startup; then the waiting
   * calls go to it. The plugin never runs twice at once (no doubled timers, bus handlers or writers). A plugin that is
   * not running is started as `start` would.
   */
  swap(id: string, spec?: SupervisedPluginSpec): Promise<WireResult> {
    const plugin = this.plugins.get(id);
    if (!plugin) return Promise.resolve(pluginNotFound(id));
    return this.enqueue(plugin, () => {
      const old = plugin.process;
      if (plugin.state === "running" && old && !old.exited) return this.doSwap(plugin, old, spec ?? plugin.spec);
      if (spec) plugin.spec = spec;
      return this.doStart(plugin, true);
    });
  }

  private async doSwap(plugin: SupervisedPlugin, old: PluginProcess, spec: SupervisedPluginSpec): Promise<WireResult> {
    const id = plugin.spec.id;
    const log = this.options.logger.child({ plugin: id });
    const keep = (why: WireError): WireResult => {
      log.warn({ reason: why.message }, "reload refused: the running version keeps serving");
      return {
        ok: false,
        error: { ...why, message: `reload refused, the running version keeps serving: ${why.message}` },
      };
    };
    const preview = this.launchInputs(plugin, { preview: true }, spec);
    if (preview instanceof Error) return keep(failure(ErrorCode.PluginRefused, preview.message).error);
    const loaded = await this.loadStandby(plugin, spec, preview);
    if (!(loaded instanceof PluginProcess)) return keep(loaded);
    let next = loaded;
    if (plugin.process !== old || plugin.state !== "running" || old.exited || this.closed) {
      await this.discard(next);
      return failure(ErrorCode.PluginNotRunning, `plugin '${id}' stopped while its new code was loading`);
    }

    // The switch: from here calls wait, and go to the new process once it is ready.
    let open!: () => void;
    plugin.gate = new Promise<void>((resolve) => {
      open = resolve;
    });
    try {
      await this.drain(old, next, this.options.swapDrainMs ?? 30_000);
      if (next.exited || this.closed) {
        await this.discard(next);
        if (this.closed) return failure(ErrorCode.PluginNotRunning, "the host is shutting down");
        return keep(
          failure(
            ErrorCode.PluginCrashed,
            `the new process exited before it could take over${stderrSuffix(next.exited)}`,
          ).error,
        );
      }
      const oldPid = old.pid;
      this.setState(plugin, "starting", `reloading: pid ${oldPid} → ${next.pid}`);
      await this.retire(plugin, old);
      plugin.cancelRestart();
      plugin.spec = spec;
      // The old process's run ends (its subscriptions, static UI, channels); the new one's begins, with what the
      // launch contexts give now. A change since the preview (a configuration written meanwhile) means the waiting
      // process would start out of date: a fresh one is launched with what holds now.
      plugin.scope.beginRun();
      const current = this.launchInputs(plugin, { preview: false });
      if (current instanceof Error) {
        await this.discard(next);
        this.setState(plugin, "stopped", `plugin '${id}' cannot start: ${current.message}`);
        return failure(ErrorCode.PluginRefused, `plugin '${id}' cannot start: ${current.message}`);
      }
      if (!sameInputs(current, preview)) {
        log.info("the configuration changed while the new code loaded: starting it afresh");
        await this.discard(next);
        const fresh = await this.loadStandby(plugin, spec, current);
        if (!(fresh instanceof PluginProcess)) {
          this.onCrash(plugin, `failed to start: ${fresh.message}`);
          return { ok: false, error: fresh };
        }
        next = fresh;
      }
      plugin.process = next;
      next.welcome();
      const ready = await withTimeout(next.ready.promise, this.options.startupTimeoutMs ?? 30_000, () =>
        failure(ErrorCode.Timeout, "the startup lifecycle did not finish in time"),
      );
      if (!ready.ok) return startupFailed(plugin.spec.id, await this.failStart(plugin, next, ready, false));
      this.setState(plugin, "running", `reloaded: pid ${oldPid} → ${next.pid}`);
      this.watch(plugin, next);
      return { ok: true, value: { pid: next.pid, previous_pid: oldPid } };
    } finally {
      plugin.gate = undefined;
      open();
    }
  }

  /**
   * Launches a process for `spec` that loads the plugin and says hello, but waits for its `welcome` before it runs its
   * startup; the failure that says why there is none (its code cannot load, it did not shake hands in time).
   */
  private async loadStandby(
    plugin: SupervisedPlugin,
    spec: SupervisedPluginSpec,
    inputs: LaunchInputs,
  ): Promise<PluginProcess | WireError> {
    await this.prepareSources(plugin, inputs.grant, spec);
    const unprepared = await this.prepareLaunch(spec);
    if (unprepared !== undefined) return failure(ErrorCode.PluginLoadFailed, unprepared).error;
    const slot = await this.launchSlot(spec.id, () => this.closed);
    if (slot === undefined) return failure(ErrorCode.PluginNotRunning, "the host is shutting down").error;
    let next: PluginProcess;
    try {
      next = this.launch(plugin, inputs.context, inputs.grant, spec);
    } catch (error) {
      slot();
      return failure(ErrorCode.PluginCrashed, `could not launch the new process: ${(error as Error).message}`).error;
    }
    next.holdWelcome = true;
    this.awaitingHello.set(next.expectedPeer, next);
    await this.untilStarted(next);
    const handshake = await withTimeout(next.handshake.promise, this.options.handshakeTimeoutMs ?? 20_000, () => ({
      result: failure(ErrorCode.HandshakeFailed, "the new process did not complete the handshake in time"),
      refused: false,
    }));
    slot();
    this.awaitingHello.delete(next.expectedPeer);
    if (handshake.result.ok && !next.exited) return next;
    await this.discard(next);
    if (!handshake.result.ok) return handshake.result.error;
    return failure(ErrorCode.PluginCrashed, `the new process exited after loading${stderrSuffix(next.exited)}`).error;
  }

  /** A process that will not serve: killed, and forgotten once gone. */
  private async discard(proc: PluginProcess): Promise<void> {
    proc.expectExit();
    proc.kill();
    await proc.waitExit();
    this.forget(proc);
  }

  /**
   * Waits until the old process has answered every call the host sent it, or `maxMs` has passed, or the new process
   * waiting to take over has exited.
   */
  private async drain(old: PluginProcess, next: PluginProcess, maxMs: number): Promise<void> {
    const until = Date.now() + maxMs;
    while (old.inFlight.calls > 0 && !old.exited && !next.exited && !this.closed && Date.now() < until) {
      await sleep(5, undefined, { ref: false });
    }
  }

  /** An old process's end after a swap: its `shutdown`, then killed if it does not exit within the grace period. */
  private async retire(plugin: SupervisedPlugin, proc: PluginProcess): Promise<void> {
    proc.expectExit();
    const grace = this.options.stopGraceMs ?? 5000;
    if (proc.peer && !proc.exited) {
      await proc.request({ build: (id) => ({ type: "shutdown", id }), timeoutMs: grace, label: "shutdown" });
    }
    const exited = await Promise.race([proc.waitExit(), sleep(timerDelay(grace), undefined, { ref: false })]);
    if (!exited) {
      const log = this.options.logger.child({ plugin: plugin.spec.id });
      log.warn(`the old process did not exit within ${grace / 1000}s of its shutdown; killing it`);
      proc.kill();
      await proc.waitExit();
    }
    this.forget(proc);
  }

  /** Launches the plugin's process; throws when it cannot be launched at all. */
  private launch(
    plugin: SupervisedPlugin,
    context: Record<string, unknown>,
    grant: Required<LaunchGrant>,
    spec = plugin.spec,
  ): PluginProcess {
    const id = spec.id;
    const permissions = launchPermissions(spec.manifest);
    return new PluginProcess({
      launcher: this.launcher,
      launch: {
        pluginId: id,
        pluginDir: spec.dir,
        entryModule: spec.entryModulePath,
        className: spec.manifest.entry.className,
        ...(spec.manifest.entry.language && { language: spec.manifest.entry.language }),
        ...(spec.manifest.runtime.isolation === "thread" && { isolation: "thread" as const }),
        context,
        maxHeapMb: spec.manifest.permissions.maxHeapMb,
        permissions: permissions && {
          ...permissions,
          fsRead: [...permissions.fsRead, ...grant.sourceDirs],
          fsWrite: [...permissions.fsWrite, ...grant.write],
        },
        ...(grant.sourceDirs.length > 0 && { sourceDirs: grant.sourceDirs }),
      },
      admission: this.options.transport.admit(id),
      logger: this.options.logger.child({ plugin: id }),
      send: (peer, message) => this.options.transport.send(peer, message),
      services: this.options.services,
      onLog: (record) => this.logLines.fire({ pluginId: id, record }),
      onEntriesChanged: () => this.entryChanges.fire({ pluginId: id }),
      onAutoCalled: ({ entryId, result, durationMs }) =>
        this.calls.fire({ pluginId: id, entryId, runId: undefined, result, durationMs }),
    });
  }

  /** A start that failed: a refused handshake refuses the plugin until a start by hand, anything else is a crash. */
  private async failStart(plugin: SupervisedPlugin, proc: PluginProcess, result: WireResult, refused: boolean) {
    const message = result.ok ? "" : result.error.message;
    proc.expectExit();
    proc.kill();
    plugin.lastExit = await proc.waitExit();
    this.forget(proc);
    plugin.process = undefined;
    if (refused) {
      this.setState(plugin, "refused", message);
    } else if (plugin.lastExit.unreachable !== undefined) {
      this.setState(plugin, "unreachable", plugin.lastExit.unreachable);
    } else {
      this.onCrash(plugin, `failed to start: ${message}${stderrSuffix(plugin.lastExit)}`);
    }
    return result;
  }

  private onExit(plugin: SupervisedPlugin, proc: PluginProcess, info: ExitInfo): void {
    this.forget(proc);
    if (plugin.process !== proc || info.expected) return;
    plugin.lastExit = info;
    if (info.unreachable !== undefined) {
      // Not a crash: nothing to restart until its worker is back (the host starts it then).
      plugin.process = undefined;
      this.setState(plugin, "unreachable", info.unreachable);
      return;
    }
    const how = info.killReason ?? (info.signal ? `killed by ${info.signal}` : `exited with code ${info.code}`);
    this.onCrash(plugin, `${how}${stderrSuffix(info)}`);
  }

  private onCrash(plugin: SupervisedPlugin, reason: string): void {
    plugin.process = undefined;
    const decision = plugin.policy.onCrash(Date.now());
    if (decision.action === "quarantine" || this.closed) {
      this.setState(
        plugin,
        this.closed ? "crashed" : "quarantined",
        `${reason}; ${decision.action === "quarantine" ? `${decision.crashes} crashes within 5 minutes` : "host is stopping"}`,
      );
      return;
    }
    this.setState(plugin, "crashed", `${reason}; restarting in ${decision.delayMs / 1000}s`);
    plugin.scheduleRestart(decision.delayMs, () => {
      if (plugin.state === "crashed") void this.enqueue(plugin, () => this.doStart(plugin, false));
    });
  }

  private async doStop(plugin: SupervisedPlugin, finalState: "stopped" | "frozen" = "stopped"): Promise<WireResult> {
    // This is the stop that was asked for: a start queued after it goes ahead.
    plugin.stopRequested = false;
    const proc = plugin.process;
    if (!proc || proc.exited) {
      plugin.process = undefined;
      if (plugin.state === "crashed" || plugin.state === "starting" || plugin.state === "unreachable") {
        this.setState(plugin, "stopped");
      }
      return { ok: true, value: null };
    }
    this.setState(plugin, "stopping");
    proc.expectExit();
    const grace = this.options.stopGraceMs ?? 5000;
    let shutdown: WireResult = { ok: true, value: null };
    if (proc.peer) {
      shutdown = await proc.request({
        build(id) {
          return { type: "shutdown", id };
        },
        timeoutMs: grace,
        label: "shutdown",
      });
    }
    // A plugin that answered exits on its own right after; one whose shutdown timed out gets no more time.
    const timedOut = !shutdown.ok && shutdown.error.code === ErrorCode.Timeout;
    const exited = timedOut
      ? undefined
      : await Promise.race([proc.waitExit(), sleep(timerDelay(grace), undefined, { ref: false })]);
    let forced: string | null = null;
    if (!exited) {
      forced = timedOut
        ? `the shutdown lifecycle did not finish within ${grace / 1000}s`
        : `the process did not exit within ${grace / 1000}s of its shutdown`;
      this.options.logger.child({ plugin: plugin.spec.id }).warn(`${forced}; killing it`);
      proc.kill();
      await proc.waitExit();
    }
    this.forget(proc);
    plugin.process = undefined;
    this.setState(plugin, finalState, forced ?? undefined);
    // The plugin is stopped either way; how it went is reported alongside.
    return {
      ok: true,
      value: {
        forced: forced !== null,
        forced_reason: forced,
        shutdown_error: shutdown.ok || timedOut ? null : shutdown.error,
      },
    };
  }

  private forget(proc: PluginProcess): void {
    this.awaitingHello.delete(proc.expectedPeer);
    if (proc.peer && this.byPeer.get(proc.peer) === proc) this.byPeer.delete(proc.peer);
  }

  /**
   * Every frame from the transport comes through here. Only a peer the host admitted gets its frame decoded: a
   * running plugin's, or one whose launch is waiting for its hello; anything else is counted and dropped unread.
   */
  private route(frame: IncomingFrame): void {
    const { peer } = frame;
    const known = this.byPeer.get(peer);
    if (known) {
      const message = frame.decode();
      if (!message) return;
      // A plugin that sends a malformed frame hurts only itself: log it, never let it reach the host's event loop.
      try {
        known.handleMessage(message as unknown as PluginToHost);
      } catch (error) {
        this.options.logger.warn(
          { plugin: known.pluginId, err: error, type: message.type },
          "dropped a malformed frame",
        );
      }
      return;
    }
    const proc = this.awaitingHello.get(peer);
    if (!proc) {
      this.drop("unknown", "frame from a peer the host did not admit (it was not decoded)");
      return;
    }
    const message = frame.decode();
    if (
      !message ||
      (message.type !== "hello" && message.type !== "load_failed") ||
      typeof message.secret !== "string"
    ) {
      this.drop(proc.pluginId, "frame from a plugin that has not completed the handshake");
      return;
    }
    if (message.secret !== proc.secret || message.pluginId !== proc.pluginId) {
      this.drop(proc.pluginId, "handshake with a wrong secret or plugin id");
      return;
    }
    // The secret is good for one handshake only.
    this.awaitingHello.delete(peer);
    // Each refusal is for good (until a start by hand): the same code would say the same again.
    if (message.protocol !== PROTOCOL_VERSION) {
      proc.rejectHello(
        handshakeError(`the plugin speaks protocol ${String(message.protocol)}; this host speaks ${PROTOCOL_VERSION}`),
      );
      return;
    }
    if (message.type === "load_failed") {
      const { error } = message as unknown as LoadFailedMessage;
      const unreadable = resultProblem({ ok: false, error });
      proc.rejectHello(
        unreadable
          ? {
              name: "SdkError",
              code: ErrorCode.PluginLoadFailed,
              message: `the plugin's code could not be loaded (${unreadable})`,
            }
          : error,
      );
      return;
    }
    const problem = helloProblem(message);
    if (problem) {
      proc.rejectHello(handshakeError(`the plugin's hello is malformed: ${problem}`));
      return;
    }
    const hello = message as unknown as HelloMessage;
    for (const check of this.helloChecks) {
      const refusal = check(proc.pluginId, hello);
      if (refusal) {
        proc.rejectHello(refusal);
        return;
      }
    }
    this.byPeer.set(peer, proc);
    proc.acceptHello(hello);
  }

  /** A dropped frame is counted; the log says so once per source every 10 s, with the count in between. */
  private drop(source: string, why: string): void {
    this.droppedFrames += 1;
    this.dropLog.warn(`${source}\u0000${why}`, { source, dropped: this.droppedFrames }, `dropped a ${why}`);
  }
}

/** How long a worker may prepare a launch (compile its TypeScript, probe its Python) before the handshake's time. */
const MAX_REMOTE_PREPARE_MS = 30_000;

type LaunchInputs = { context: Record<string, unknown>; grant: Required<LaunchGrant> };

/** Whether two launches would get the same context and grants (JSON-like values, compared by value). */
function sameInputs(a: LaunchInputs, b: LaunchInputs): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function handshakeError(message: string): WireError {
  return { name: "SdkError", code: ErrorCode.HandshakeFailed, message };
}

function stderrSuffix(info: ExitInfo | undefined): string {
  const lines = info?.stderr.filter((l) => l.trim()).slice(-3) ?? [];
  return lines.length ? ` — stderr: ${lines.join(" | ")}` : "";
}

/**
 * What the start of a process answers but the startup hook's own failure, when the host made it: the process, not the
 * hook, failed. The same codes answered by the hook itself are the hook's failure like any other.
 */
const NOT_THE_HOOK = new Set<string>([ErrorCode.PluginCrashed, ErrorCode.HandshakeFailed, ErrorCode.PluginUnreachable]);

/**
 * A start whose `startup` lifecycle answered Err, threw or ran out of time, as `STARTUP_FAILED` naming the hook, with
 * the hook's error as `details.cause` (docs/http-api.md#status-codes).
 */
export function startupFailed(plugin: string, result: WireResult): WireResult {
  if (result.ok || (NOT_THE_HOOK.has(result.error.code) && !answeredByStartup(result.error))) return result;
  const { code, message, details } = result.error;
  const cause = { code, message, ...(details !== undefined && details !== null && { details }) };
  return failure(
    ErrorCode.StartupFailed,
    `plugin '${plugin}' failed to start: its startup hook failed with ${code}: ${message}`,
    "SdkError",
    { plugin, hook: "startup", cause },
  );
}

/** Timeouts the host made itself (its own timer fired): `trustedTimeout` leaves them as they are. */
const hostMadeTimeouts = new WeakSet<object>();
/** The time budget the host gave the call a plugin answered TIMEOUT to. */
const timeoutBudgets = new WeakMap<object, number>();

/**
 * A timeout the host's own timer fired for a call of `plugin:entry`, in the one shape of a timeout (protocol
 * timeout-error.ts); any other answer as it is. A TIMEOUT the plugin answered keeps `budgetMs`, the time the host gave
 * the call, for `trustedTimeout`.
 */
export function timeoutNamed(
  result: WireResult,
  plugin: string,
  entry: string,
  kind: "entry" | "event",
  budgetMs?: number,
): WireResult {
  if (result.ok || result.error.code !== ErrorCode.Timeout) return result;
  if (!firedByHost(result.error)) {
    if (budgetMs !== undefined) timeoutBudgets.set(result.error, budgetMs);
    return result;
  }
  const details = result.error.details as { timeoutMs?: unknown } | undefined;
  const timeoutMs = typeof details?.timeoutMs === "number" ? details.timeoutMs : (budgetMs ?? 0);
  const error = timeoutError({ plugin, entry, timeoutMs, firedBy: "host" }, kind);
  hostMadeTimeouts.add(error);
  return { ok: false, error };
}

/**
 * `passed` (the answer of `plugin:entry` after upstream-failures' `passOn`), with a TIMEOUT the host did not make
 * rebuilt from what the host knows: `{ plugin, entry, timeoutMs: <the budget it gave the call>, firedBy: "plugin" }`.
 * A plugin cannot claim that the host, its caller or another plugin or entry ran out of time; a cause the host
 * attached (a timeout of its own made from a failure it was given) stays. `raw` is the answer before `passOn`.
 */
export function trustedTimeout(
  passed: WireResult,
  raw: WireResult,
  plugin: string,
  entry: string,
  kind: "entry" | "event",
  budgetMs?: number,
  hostCause?: unknown,
): WireResult {
  if (passed.ok || passed.error.code !== ErrorCode.Timeout || hostMadeTimeouts.has(passed.error)) return passed;
  const budget = raw.ok ? undefined : timeoutBudgets.get(raw.error);
  const claimed = (passed.error.details as { timeoutMs?: unknown } | undefined)?.timeoutMs;
  const timeoutMs = budgetMs ?? budget ?? (typeof claimed === "number" && claimed >= 0 ? claimed : 0);
  const error = timeoutError({ plugin, entry, timeoutMs, firedBy: "plugin" }, kind);
  if (hostCause !== undefined) (error.details as Record<string, unknown>).cause = hostCause;
  return { ok: false, error };
}

async function withTimeout<T>(promise: Promise<T>, ms: number, onTimeout: () => T): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<T>((resolve) => {
    timer = setTimeout(() => resolve(onTimeout()), timerDelay(ms));
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * One entry call on its way to a plugin: the message it builds and what its answer is shaped by, in one object (this
 * is every entry call's path: no closure for the message, one for the answer).
 */
class EntryCall implements ProcessCall {
  readonly process: PluginProcess;
  readonly label: string;
  readonly cancel: CancelToken | undefined;
  readonly done = (result: WireResult): WireResult => this.supervisor.finished(this, result);

  constructor(
    private readonly supervisor: PluginSupervisor,
    readonly pluginId: string,
    readonly entryId: string,
    private readonly args: unknown,
    readonly options: SupervisorCallOptions,
    readonly timeoutMs: number,
    readonly started: number | undefined,
  ) {
    this.process = supervisor.processOf(pluginId);
    this.label = `entry '${pluginId}:${entryId}'`;
    this.cancel = options.cancel;
  }

  build(id: string, deadline: number): HostToPlugin {
    const { chain, runId } = this.options;
    return {
      type: "call",
      id,
      entryId: this.entryId,
      args: this.args ?? {},
      deadline,
      timeoutMs: this.timeoutMs,
      ...(chain && { chain }),
      ...(runId !== undefined && { runId }),
    };
  }
}
