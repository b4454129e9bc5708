/**
 * The plugin side of a plugin process: owns the plugin instance, answers the host's calls, runs entries
 * (validation, timeout, abort) and lifecycle handlers, and serves the host's control operations.
 * Transport-agnostic, so unit tests can drive it in memory.
 */
import {
  type CallMessage,
  Canceler,
  type CancelToken,
  type ControlOp,
  type Disposable,
  type EntryDescriptor,
  ErrorCode,
  type HelloMessage,
  type HostToPlugin,
  type HostToPluginControls,
  hostToPluginControls,
  type MethodHandler,
  MethodRegistry,
  type ProcessStats,
  PROTOCOL_VERSION,
  ServedRequests,
  timeoutError,
  unsendableError,
  type WireError,
  type WireResult,
} from "@neko/protocol";
import type { EntryContext } from "../entry-context.ts";
import { NotFoundError, SdkError, TimeoutError, ValidationError } from "../errors.ts";
import type { NekoPluginBase } from "../plugin-base.ts";
import { boundMethod, collectPluginMetadata, type LifecycleId } from "../plugin-metadata.ts";
import type { PluginLogger } from "../plugin-logger.ts";
import { SDK_VERSION } from "../version.ts";
import { errResult, normalizeResult } from "../wire-result.ts";
import { type CallScope, runInCallScope } from "./call-scope.ts";
import { BusConnection } from "../bus/bus-connection.ts";
import { EntryAutoStart } from "./entry-auto-start.ts";
import { ExtensionMounts } from "./extension-mounts.ts";
import type { EntryRegistry, RegisteredEntry } from "./entry-registry.ts";
import { HookPipeline } from "./hook-pipeline.ts";
import type { HostClient } from "./host-client.ts";
import type { PluginTransport } from "./plugin-transport.ts";
import { PluginTriggers } from "./plugin-triggers.ts";

export { DEFAULT_ENTRY_TIMEOUT_SECONDS } from "./entry-registry.ts";
export { errResult, normalizeResult } from "../wire-result.ts";

/** What a control handler learns of the `control` message it serves. */
export interface ControlContext {
  id: string;
  deadline: number;
}

/** What call-settled listeners learn of a call: its id, and for an entry call (not an event or a message) the entry. */
export interface SettledCall {
  entryId: string;
  /** The entry as it was when the call began; undefined for event handlers and message deliveries. */
  entry: EntryDescriptor | undefined;
}

export interface AttachOptions {
  client: HostClient;
  onShutdown: () => void;
  /** What each `pong` reports of the process (a real process passes a `ProcessStatsSampler`); a bare pong without. */
  sampleStats?: () => ProcessStats;
}

export interface PluginRuntimeOptions {
  instance: NekoPluginBase;
  logger: PluginLogger;
  entries: EntryRegistry;
}

export class PluginRuntime {
  readonly instance: NekoPluginBase;
  readonly entries: EntryRegistry;
  private readonly logger: PluginLogger;
  private readonly lifecycles = new Map<LifecycleId, (arg?: unknown) => unknown>();
  /** The host's control operations of the contract (`hostToPluginControls`) this runtime serves. */
  private readonly controls = new MethodRegistry<HostToPluginControls, ControlContext>(
    hostToPluginControls,
    "control operation",
  );
  /** The calls in flight (the host's and the plugin's own), so a cancel, the deadline or shutdown can stop them. */
  private readonly served = new ServedRequests();
  private readonly shutdownSteps: Array<() => unknown> = [];
  private readonly beforeReadySteps: Array<() => unknown> = [];
  private readonly afterReadySteps: Array<() => unknown> = [];
  private readonly callSettledListeners: Array<(call: SettledCall) => void> = [];
  /** Every entry call goes through it; routers and extensions add their hooks here too. */
  readonly hooks: HookPipeline;
  /** Timers, message handlers and event handlers. */
  readonly triggers: PluginTriggers;
  /** The extensions loaded into this plugin (served once `extensions.install()` has run). */
  readonly extensions: ExtensionMounts;
  private shuttingDown = false;
  /** Sends `entries_changed` (entries, hooks, extensions, timers) soon; set once attached. */
  private announceChanges: (() => void) | undefined;

  constructor(options: PluginRuntimeOptions) {
    this.instance = options.instance;
    this.logger = options.logger;
    this.entries = options.entries;
    // The context's pipeline: routers included in the constructor have already put their hooks there.
    this.hooks = this.instance.ctx.hooks;
    const meta = collectPluginMetadata(this.instance.constructor as abstract new () => unknown);
    for (const { methodName, ...entry } of meta.entries) {
      this.entries.add(entry, boundMethod(this.instance, methodName), { dynamic: false });
    }
    for (const lc of meta.lifecycles) this.lifecycles.set(lc.id, boundMethod(this.instance, lc.methodName));
    this.hooks.add(
      meta.hooks.map((h) => HookPipeline.record(h, boundMethod(this.instance, h.methodName), "plugin")),
      { first: true },
    );
    this.triggers = new PluginTriggers({ runtime: this, meta, bind: (name) => boundMethod(this.instance, name) });
    // After the triggers: auto-start entries run once timers, bus subscriptions and auto events are under way.
    EntryAutoStart.install(this);
    this.extensions = new ExtensionMounts(this);
    this.registerControl("lifecycle", ({ id, arg }) => this.runLifecycle(id, arg));
    this.registerControl("runtime.counts", () => ({ ok: true, value: this.counts() }));
  }

  /**
   * What the runtime holds now — entries, hooks, timers, bus handlers and watches, extensions, and the process's
   * active timers and handles — so a test (or an operator) can see that loading and unloading leaves nothing behind.
   */
  counts(): Record<string, number> {
    const resources = process.getActiveResourcesInfo();
    const timers = this.triggers.timers.describe().filter((t) => this.triggers.timers.isActive(t.id)).length;
    return {
      entries: this.entries.list({ includeDisabled: true }).length,
      hooks: this.hooks.list().length,
      timers,
      ...BusConnection.for(this.instance.ctx.bridge, this.logger).counts(),
      ...this.extensions.counts(),
      activeTimeouts: resources.filter((r) => r === "Timeout").length,
      activeResources: resources.length,
    };
  }

  /** `configSchema`: the JSON Schema of the class's `configSchema`, made (and checked) before the instance was. */
  hello(options: { pluginId: string; secret: string; configSchema?: Record<string, unknown> }): HelloMessage {
    return {
      type: "hello",
      protocol: PROTOCOL_VERSION,
      pluginId: options.pluginId,
      secret: options.secret,
      sdkVersion: SDK_VERSION,
      pid: process.pid,
      entries: this.entries.list({ includeDisabled: true }),
      ...this.triggers.describe(),
      hooks: this.hooks.list(),
      extensions: this.extensions.statuses(),
      ...(options.configSchema && { configSchema: options.configSchema }),
    };
  }

  /** Tells the host the plugin's lists again (after an accepted configuration change changed a timer's interval). */
  announce(): void {
    this.announceChanges?.();
  }

  /** Serves a control operation of the contract; its params are checked before the handler runs. */
  registerControl<K extends ControlOp>(
    op: K,
    handler: MethodHandler<HostToPluginControls, K, ControlContext>,
  ): Disposable {
    return this.controls.handle(op, handler);
  }

  /** Runs before the `shutdown` lifecycle (timers stop here, subscriptions close, …), in registration order. */
  onShutdown(step: () => unknown): void {
    this.shutdownSteps.push(step);
  }

  /** True once shutdown has begun: nothing new (an auto-started entry, …) should start. */
  get stopping(): boolean {
    return this.shuttingDown;
  }

  /** Runs after a successful `startup`, before the plugin is reported ready (unfreeze, …), in registration order. */
  beforeReady(step: () => unknown): void {
    this.beforeReadySteps.push(step);
  }

  /** Called when an entry call has its result, before the result is sent (state persistence, …). */
  onCallSettled(listener: (call: SettledCall) => void): void {
    this.callSettledListeners.push(listener);
  }

  /** Runs once `startup` succeeded and the plugin was reported ready (timers start, auto events run, …). */
  afterReady(step: () => unknown): void {
    this.afterReadySteps.push(step);
  }

  /** Wires the runtime to a transport: every host message from now on is handled here. */
  attach(transport: PluginTransport, options: AttachOptions): void {
    const announce = () => {
      try {
        transport.send({
          type: "entries_changed",
          entries: this.entries.list({ includeDisabled: true }),
          hooks: this.hooks.list(),
          extensions: this.extensions.statuses(),
          timers: this.triggers.timers.describe(),
        });
      } catch (error) {
        // The entries changed here all the same; the host keeps the list it had until the next change.
        this.logger.exception("the changed entries could not be sent to the host", error);
      }
    };
    // Entries and hooks often change together (a router comes or goes): one frame, with both lists consistent, once
    // the synchronous change is complete.
    let announcing = false;
    const announceSoon = () => {
      if (announcing) return;
      announcing = true;
      queueMicrotask(() => {
        announcing = false;
        announce();
      });
    };
    this.announceChanges = announceSoon;
    this.entries.onChange(announceSoon);
    this.hooks.onChange(announceSoon);
    this.extensions.onChange(announceSoon);
    transport.onMessage((message) => {
      // Entry calls (the hot path) by a function of their own: `handleMessage`'s frame is as large as all its cases.
      if (message.type === "call") {
        void this.serveCall(message, transport);
        return;
      }
      // The host's answers to this plugin's requests (a cross-plugin call's, say) settle at once, with no frame.
      if (message.type === "response") {
        options.client.settle(message.id, message.result);
        return;
      }
      // Nothing in a handler may leave the host without an answer: a throw still answers the call it belongs to.
      this.handleMessage(message, transport, options).catch((error: unknown) => {
        this.logger.exception(`handling a '${message.type}' message failed`, error);
        if (message.type === "control") this.reply(transport, message.id, errResult(error));
      });
    });
  }

  /** Answers an entry call; never rejects (a throw still answers the call). */
  private async serveCall(message: CallMessage, transport: PluginTransport): Promise<void> {
    let result: WireResult;
    try {
      result = await this.callEntry(message);
    } catch (error) {
      this.logger.exception("handling a 'call' message failed", error);
      result = errResult(error);
    }
    this.reply(transport, message.id, result);
  }

  private async handleMessage(message: HostToPlugin, transport: PluginTransport, options: AttachOptions) {
    switch (message.type) {
      case "call":
        return this.serveCall(message, transport);
      case "control": {
        const result = await this.runControl(message.op, message.payload, {
          id: message.id,
          deadline: message.deadline,
        });
        this.reply(transport, message.id, result);
        return;
      }
      case "response":
        options.client.settle(message.id, message.result);
        return;
      case "push":
        options.client.deliver(message.topic, message.payload);
        return;
      case "cancel":
        this.served.stop(message.id, new SdkError("the call was canceled", { code: ErrorCode.Canceled }));
        return;
      case "ping":
        transport.send(
          options.sampleStats
            ? { type: "pong", id: message.id, stats: options.sampleStats() }
            : { type: "pong", id: message.id },
        );
        return;
      case "shutdown": {
        const result = await this.shutdown();
        options.client.failAll("the plugin is shutting down");
        this.reply(transport, message.id, result);
        options.onShutdown();
        return;
      }
      case "welcome": {
        // The host knows this process now: what the constructor asked of it can go.
        options.client.open();
        const startup = await this.runLifecycle("startup");
        if (startup.ok) await this.runSteps(this.beforeReadySteps, "an after-startup step failed");
        try {
          transport.send({ type: "ready", startup });
        } catch (error) {
          // What startup returned cannot go on the wire: the start fails with that reason, not a 30 s timeout.
          transport.send({ type: "ready", startup: unsendableResult("startup's result", error) });
          return;
        }
        if (startup.ok) await this.runSteps(this.afterReadySteps, "a step after startup failed");
        return;
      }
    }
  }

  /**
   * Sends a result; one that cannot go on the wire (a BigInt, a function, a cycle…) becomes an Err that says so,
   * so the caller is answered instead of waiting out its deadline.
   */
  private reply(transport: PluginTransport, id: string, result: WireResult): void {
    try {
      transport.send({ type: "result", id, result });
    } catch (error) {
      const failed = unsendableResult("the result", error);
      this.logger.error(failed.error.message);
      transport.send({ type: "result", id, result: failed });
    }
  }

  /** Runs one entry call: lookup, validation, the handler under its timeout; never rejects. */
  callEntry(
    call: Pick<CallMessage, "id" | "entryId" | "args" | "deadline" | "timeoutMs" | "chain" | "runId">,
  ): Promise<WireResult> {
    try {
      return this.startEntryCall(call);
    } catch (error) {
      // A validator that throws (a user's zod transform, say) rejects, as it did when this was an async function.
      return Promise.reject(error);
    }
  }

  private startEntryCall(
    call: Pick<CallMessage, "id" | "entryId" | "args" | "deadline" | "timeoutMs" | "chain" | "runId">,
  ): Promise<WireResult> {
    const entry = this.entries.get(call.entryId);
    if (!entry) {
      return Promise.resolve(
        errResult(
          new NotFoundError(`plugin '${this.instance.pluginId}' has no entry '${call.entryId}'`, {
            code: ErrorCode.EntryNotFound,
          }),
        ),
      );
    }
    if (!entry.descriptor.enabled) {
      return Promise.resolve(
        errResult(new SdkError(`entry '${call.entryId}' is disabled`, { code: ErrorCode.EntryDisabled })),
      );
    }
    let args = (call.args ?? {}) as Record<string, unknown>;
    if (typeof args !== "object" || Array.isArray(args)) {
      return Promise.resolve(errResult(new ValidationError("invalid arguments: args must be an object")));
    }
    if (entry.validator) {
      const checked = entry.validator(args);
      if (!checked.ok) return Promise.resolve(errResult(checked.error));
      args = checked.value;
    }
    return this.runBounded(
      call,
      { timeoutSeconds: entry.descriptor.timeout, label: "entry", entry: entry.descriptor },
      this.entryWork,
      new EntryWork(entry, args),
    );
  }

  /**
   * An entry call inside its bound: through the hooks that target it, or, with none (the common case), straight to
   * the handler. A method made once, not a closure per call: esbuild's keepNames (tsx, the compile cache) would name
   * a closure with a `defineProperty` on every entry call.
   */
  private readonly entryWork = (ctx: EntryContext, work: EntryWork): Promise<WireResult> => {
    const { entry, args } = work;
    if (!this.hooks.targets(entry.descriptor.id)) return this.runEntryHandler(entry, ctx, args);
    return this.hooks.run({
      entryId: entry.descriptor.id,
      args,
      entry: ctx,
      validate: entry.validator,
      invoke: (next) => this.runEntryHandler(entry, ctx, next),
    });
  };

  /**
   * Runs `work(ctx, arg)` as call `call.id`: within the smaller of `timeoutSeconds` and the caller's budget, with an
   * abort signal (timeout, cancel, shutdown) and the call scope. Entry calls, event calls and message deliveries use
   * it. Rejects only if `work` throws or rejects (it is given back to the caller then, as an answer would be).
   */
  runBounded<A>(
    call: Pick<CallMessage, "id" | "entryId" | "deadline" | "timeoutMs" | "chain" | "runId">,
    options: BoundedOptions,
    work: (ctx: EntryContext, arg: A) => Promise<WireResult>,
    arg: A,
  ): Promise<WireResult> {
    const run = new BoundedRun(this, call, options);
    run.start(this.served);
    try {
      runInCallScope(run, work, run.context, arg).then(run.answer, run.fail);
    } catch (error) {
      run.fail(error);
    }
    return run.answered;
  }

  /** The end of a bounded run (answered or stopped): its timer, its place among the served calls, the listeners. */
  settled(run: BoundedRun): void {
    clearTimeout(run.timer);
    this.served.done(run.callId, run.stop);
    for (const listener of this.callSettledListeners) {
      try {
        listener({ entryId: run.entryId, entry: run.options.entry });
      } catch (error) {
        this.logger.exception("a call-settled listener failed", error);
      }
    }
  }

  /** A bounded run's time is up: it is stopped with a TimeoutError naming what timed out. */
  timedOut(run: BoundedRun): void {
    const { options } = run;
    const kind = options.entry ? "entry" : options.kind;
    const wire = timeoutError(
      { plugin: this.instance.pluginId, entry: run.entryId, timeoutMs: run.budgetMs, firedBy: "plugin" },
      kind,
    );
    // An entry or an event is named `<plugin>:<id>`, as the host names it; a message handler by its label.
    const message = kind ? wire.message : `${options.label} timed out after ${formatSeconds(run.budgetMs)}`;
    this.served.stop(run.callId, new TimeoutError(message, { details: wire.details }));
  }

  async runLifecycle(id: LifecycleId, arg?: unknown): Promise<WireResult> {
    const handler = this.lifecycles.get(id);
    if (!handler) return { ok: true, value: null };
    try {
      return normalizeResult(await handler(arg));
    } catch (error) {
      this.logger.exception(`lifecycle '${id}' threw`, error);
      return errResult(error);
    }
  }

  hasLifecycle(id: LifecycleId): boolean {
    return this.lifecycles.has(id);
  }

  async shutdown(): Promise<WireResult> {
    if (this.shuttingDown) return { ok: true, value: null };
    this.shuttingDown = true;
    await this.runSteps(this.shutdownSteps, "a shutdown step failed");
    this.served.stopAll(new SdkError("the plugin is shutting down", { code: ErrorCode.Canceled }));
    return this.runLifecycle("shutdown");
  }

  private async runSteps(steps: Array<() => unknown>, failure: string): Promise<void> {
    for (const step of steps) {
      try {
        await step();
      } catch (error) {
        this.logger.exception(failure, error);
      }
    }
  }

  private async runControl(op: string, payload: unknown, control: ControlContext): Promise<WireResult> {
    const found = this.controls.lookup(op, payload);
    if (!found.ok) return { ok: false, error: found.error };
    try {
      return normalizeResult(await found.handler(found.params, control));
    } catch (error) {
      this.logger.exception(`control operation '${op}' threw`, error);
      return errResult(error);
    }
  }

  /** Runs an entry's handler: its return value as a wire result, a throw as Err (logged with its stack). */
  private async runEntryHandler(entry: RegisteredEntry, ctx: EntryContext, args: Record<string, unknown>) {
    try {
      return normalizeResult(await entry.handler(args, ctx));
    } catch (error) {
      this.logger.exception(`entry '${entry.descriptor.id}' threw`, error);
      return errResult(error);
    }
  }

  /** Runs plugin code: its return value as a wire result, a throw as Err (logged with its stack). Never rejects. */
  async runHandler(label: string, fn: () => unknown): Promise<WireResult> {
    try {
      return normalizeResult(await fn());
    } catch (error) {
      this.logger.exception(`${label} threw`, error);
      return errResult(error);
    }
  }
}

/** What `runBounded` is told of the call besides its message. */
export interface BoundedOptions {
  timeoutSeconds: number;
  /** What a message handler's timeout is named by ("message handler …"); entries and events are named by id. */
  label: string;
  entry?: EntryDescriptor;
  kind?: "event";
  /** Told when the call is stopped (cancel, shutdown, timeout) instead of answered, with the reason. */
  onStop?: (reason: unknown) => void;
}

/** An entry call's handler and its checked args, for `entryWork`. */
class EntryWork {
  constructor(
    readonly entry: RegisteredEntry,
    readonly args: Record<string, unknown>,
  ) {}
}

/**
 * One call run by `runBounded`: its call scope (what the calls its handler makes read: chain, deadline, signal), its
 * answer, its stop and its timer, in one object. The hot path of every entry call makes this, the context the handler
 * sees, one closure (`stop`, kept by ServedRequests) and the promise of the answer, and no other closure.
 */
class BoundedRun implements CallScope {
  readonly callId: string;
  readonly entryId: string;
  readonly chain: string[];
  readonly deadline: number;
  readonly runId: string | undefined;
  readonly budgetMs: number;
  /**
   * Made when the signal is first read (`ctx.signal`, a cross-plugin call): most handlers never look at it, and a
   * controller and its signal cost µs and a few hundred bytes on every call.
   */
  private controller: AbortController | undefined;
  /** Why the call was stopped, for a signal first read after that. */
  private stopReason: unknown;
  private stopped = false;
  /** Made when something listens for the stop (a call to the host the handler makes, `cancel`). */
  private canceler: Canceler | undefined;
  readonly context: EntryContext;
  readonly answered: Promise<WireResult>;
  timer: NodeJS.Timeout | undefined;
  private resolve!: (result: WireResult) => void;
  private reject!: (error: unknown) => void;
  private done = false;
  /** Cancel, shutdown and the deadline stop the call: it is answered with the reason and its signal aborted. */
  readonly stop = (reason: unknown): void => {
    if (this.done) return;
    this.done = true;
    this.options.onStop?.(reason);
    this.resolve(errResult(reason));
    this.stopped = true;
    this.stopReason = reason;
    // The handler hears of the stop (and may undo what it did) before the call counts as settled: a call-settled
    // listener (the freezer's save) sees the state after the handler's abort listeners ran.
    this.controller?.abort(reason);
    this.canceler?.cancel();
    this.runtime.settled(this);
  };
  readonly answer = (result: WireResult): void => {
    if (this.done) return;
    this.finish();
    this.resolve(result);
  };
  readonly fail = (error: unknown): void => {
    if (this.done) return;
    this.finish();
    this.reject(error);
  };

  constructor(
    private readonly runtime: PluginRuntime,
    call: Pick<CallMessage, "id" | "entryId" | "deadline" | "timeoutMs" | "chain" | "runId">,
    readonly options: BoundedOptions,
  ) {
    this.callId = call.id;
    this.entryId = call.entryId;
    this.deadline = call.deadline;
    this.runId = call.runId;
    const chain = call.chain ?? [];
    this.chain = [...chain, runtime.instance.pluginId];
    this.budgetMs = Math.min(options.timeoutSeconds * 1000, call.timeoutMs);
    this.context = new BoundedContext(this);
    this.answered = new Promise<WireResult>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
  }

  get signal(): AbortSignal {
    if (this.controller === undefined) {
      this.controller = new AbortController();
      if (this.stopped) this.controller.abort(this.stopReason);
    }
    return this.controller.signal;
  }

  get cancel(): CancelToken {
    if (this.canceler === undefined) {
      this.canceler = new Canceler();
      if (this.stopped) this.canceler.cancel();
    }
    return this.canceler;
  }

  /** Served from now on (a cancel or shutdown reaches `stop`), and stopped when its time is up. */
  start(served: ServedRequests): void {
    served.serve(this.callId, this.stop);
    if (this.done) return;
    const timeoutMs = Math.min(this.budgetMs, Math.max(0, this.deadline - Date.now()));
    this.timer = setTimeout(timedOut, timeoutMs, this.runtime, this);
  }

  private finish(): void {
    this.done = true;
    this.runtime.settled(this);
  }
}

function timedOut(runtime: PluginRuntime, run: BoundedRun): void {
  runtime.timedOut(run);
}

/** What a handler sees of its call (`ctx`): its own properties, and the signal read from the run when asked for. */
class BoundedContext implements EntryContext {
  readonly entryId: string;
  readonly callId: string;
  readonly deadline: number;
  /** Private, so logging or serialising `ctx` shows what it always showed, not the runtime behind it. */
  readonly #run: BoundedRun;

  constructor(run: BoundedRun) {
    this.#run = run;
    this.entryId = run.entryId;
    this.callId = run.callId;
    this.deadline = run.deadline;
  }

  /** Read from the prototype, so `{ ...ctx }` has no `signal`: pass `ctx.signal` itself on. */
  get signal(): AbortSignal {
    return this.#run.signal;
  }

  /** As `ctx` serialised before it was a class (its signal an empty object). */
  toJSON(): Record<string, unknown> {
    return { signal: {}, entryId: this.entryId, callId: this.callId, deadline: this.deadline };
  }

  [Symbol.for("nodejs.util.inspect.custom")](): Record<string, unknown> {
    return { signal: this.signal, entryId: this.entryId, callId: this.callId, deadline: this.deadline };
  }
}

function formatSeconds(ms: number): string {
  return `${Number((ms / 1000).toFixed(3))}s`;
}

/** A value that could not go on the wire, as the Err sent in its place (`ENTRY_FAILED`, or `PAYLOAD_TOO_LARGE`). */
function unsendableResult(what: string, error: unknown): { ok: false; error: WireError } {
  return {
    ok: false,
    error: unsendableError(`${what} cannot be sent to the host`, error, ErrorCode.EntryFailed, "SdkError"),
  };
}
