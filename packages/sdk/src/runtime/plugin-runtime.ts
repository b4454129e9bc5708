/**
 * The plugin side of a plugin process: owns the plugin instance, answers the host's calls, runs entries
 * (validation, timeout, abort) and lifecycle handlers, and serves the host's control operations.
 * Transport-agnostic, so unit tests can drive it in memory.
 */
import {
  type CallMessage,
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
import { runInCallScope } from "./call-scope.ts";
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
      // Nothing in a handler may leave the host without an answer: a throw still answers the call it belongs to.
      this.handleMessage(message, transport, options).catch((error: unknown) => {
        this.logger.exception(`handling a '${message.type}' message failed`, error);
        if (message.type === "call" || message.type === "control") this.reply(transport, message.id, errResult(error));
      });
    });
  }

  private async handleMessage(message: HostToPlugin, transport: PluginTransport, options: AttachOptions) {
    switch (message.type) {
      case "call": {
        const result = await this.callEntry(message);
        this.reply(transport, message.id, result);
        return;
      }
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

  /** Runs one entry call: lookup, validation, the handler under its timeout; never throws. */
  async callEntry(
    call: Pick<CallMessage, "id" | "entryId" | "args" | "deadline" | "timeoutMs" | "chain" | "runId">,
  ): Promise<WireResult> {
    const entry = this.entries.get(call.entryId);
    if (!entry) {
      return errResult(
        new NotFoundError(`plugin '${this.instance.pluginId}' has no entry '${call.entryId}'`, {
          code: ErrorCode.EntryNotFound,
        }),
      );
    }
    if (!entry.descriptor.enabled) {
      return errResult(new SdkError(`entry '${call.entryId}' is disabled`, { code: ErrorCode.EntryDisabled }));
    }
    let args = (call.args ?? {}) as Record<string, unknown>;
    if (typeof args !== "object" || Array.isArray(args)) {
      return errResult(new ValidationError("invalid arguments: args must be an object"));
    }
    if (entry.validator) {
      const checked = entry.validator(args);
      if (!checked.ok) return errResult(checked.error);
      args = checked.value;
    }
    return this.runBounded(
      call,
      { timeoutSeconds: entry.descriptor.timeout, label: `entry '${call.entryId}'`, entry: entry.descriptor },
      (ctx) =>
        this.hooks.run({
          entryId: call.entryId,
          args,
          entry: ctx,
          validate: entry.validator,
          invoke: this.invoker(entry, ctx),
        }),
    );
  }

  /**
   * Runs `work` as call `call.id`: within the smaller of `timeoutSeconds` and the caller's budget, with an abort
   * signal (timeout, cancel, shutdown) and the call scope. Entry calls, event calls and message deliveries use it.
   */
  async runBounded(
    call: Pick<CallMessage, "id" | "entryId" | "deadline" | "timeoutMs" | "chain" | "runId">,
    options: {
      timeoutSeconds: number;
      label: string;
      entry?: EntryDescriptor;
      kind?: "event";
      /** Told when the call is stopped (cancel, shutdown, timeout) instead of answered, with the reason. */
      onStop?: (reason: unknown) => void;
    },
    work: (ctx: EntryContext) => Promise<WireResult>,
  ): Promise<WireResult> {
    const budgetMs = Math.min(options.timeoutSeconds * 1000, call.timeoutMs);
    const timeoutMs = Math.min(budgetMs, Math.max(0, call.deadline - Date.now()));
    // Node makes a controller's signal only when it is first read (by the handler, or by `abort`): on Node 20 that
    // costs several µs, so a handler that never looks at `ctx.signal` does not pay for it.
    const controller = new AbortController();
    // Cancel, shutdown and the deadline stop the call: it is answered with the reason and its signal aborted.
    let stop!: (reason: unknown) => void;
    const stopped = new Promise<WireResult>((resolve) => {
      stop = this.served.serve(call.id, (reason) => {
        options.onStop?.(reason);
        resolve(errResult(reason));
        controller.abort(reason);
      });
    });
    const timer = setTimeout(() => {
      const kind = options.entry ? "entry" : options.kind;
      const wire = timeoutError(
        { plugin: this.instance.pluginId, entry: call.entryId, timeoutMs: budgetMs, firedBy: "plugin" },
        kind,
      );
      // An entry or an event is named `<plugin>:<id>`, as the host names it; a message handler by its label.
      const message = kind ? wire.message : `${options.label} timed out after ${formatSeconds(budgetMs)}`;
      this.served.stop(call.id, new TimeoutError(message, { details: wire.details }));
    }, timeoutMs);
    const ctx: EntryContext = {
      get signal() {
        return controller.signal;
      },
      entryId: call.entryId,
      callId: call.id,
      deadline: call.deadline,
    };
    try {
      const scope = {
        callId: call.id,
        entryId: call.entryId,
        chain: [...(call.chain ?? []), this.instance.pluginId],
        deadline: call.deadline,
        // Read by the calls the handler makes to other plugins, so they are canceled with it.
        get signal() {
          return controller.signal;
        },
        runId: call.runId,
      };
      const run = runInCallScope(scope, () => work(ctx));
      return await Promise.race([run, stopped]);
    } finally {
      clearTimeout(timer);
      this.served.done(call.id, stop);
      for (const listener of this.callSettledListeners) {
        try {
          listener({ entryId: call.entryId, entry: options.entry });
        } catch (error) {
          this.logger.exception("a call-settled listener failed", error);
        }
      }
    }
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

  /**
   * The call of an entry's handler, for the hook pipeline. Made by a `return`, not as a property of the call: esbuild's
   * keepNames (tsx, the compile cache) would name a closure there with a `defineProperty` on every entry call.
   */
  private invoker(entry: RegisteredEntry, ctx: EntryContext): (args: Record<string, unknown>) => Promise<WireResult> {
    return (args) => this.runHandler(`entry '${entry.descriptor.id}'`, () => entry.handler(args, ctx));
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
