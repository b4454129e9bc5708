/**
 * Plugin code that runs on something other than an entry call (SPEC §3.5): timers, `@message` handlers and
 * `@onEvent` / `@customEvent` handlers. Wires the decorated methods into their registries, starts timers and auto
 * events after startup, stops timers before shutdown, and serves the host's control operations:
 *
 * - `deliver_message` `{ message }` → runs the matching message handlers (`POST /plugin/{id}/message`);
 * - `run_event` `{ eventType, eventId, args, timeoutMs?, chain?, runId? }` → runs one event handler by id (`POST /plugin/trigger`
 *   with an event reference, and `callEvent("plugin:type:id")`).
 *
 * The bus delivers through `deliverMessage(message)` and `dispatchEvent(eventType, payload)`.
 */
import {
  type Answer,
  ErrorCode,
  type HostToPluginControls,
  type MessageDelivery,
  type ParamsOut,
  randomUUID,
  type WireResult,
} from "@neko/protocol";
import type { EntryContext } from "../entry-context.ts";
import { compileArgsValidator, describeArgsSchema } from "../entry-validator.ts";
import { NotFoundError, SdkError, TimeoutError, ValidationError } from "../errors.ts";
import type { ClassPluginMetadata } from "../plugin-metadata.ts";
import type { PluginMessage } from "../trigger-decorators.ts";
import { errResult } from "../wire-result.ts";
import { connectTriggersToBus } from "./bus-trigger-bridge.ts";
import { DEFAULT_ENTRY_TIMEOUT_SECONDS } from "./entry-registry.ts";
import { EventHandlerRegistry, type EventHandlerSpec } from "./event-handler-registry.ts";
import type { MessageHandlerRegistry } from "./message-handler-registry.ts";
import type { PluginRuntime } from "./plugin-runtime.ts";
import type { TimerScheduler } from "./timer-scheduler.ts";

export interface PluginTriggersOptions {
  runtime: PluginRuntime;
  meta: ClassPluginMetadata;
  /** The plugin instance's method of that name, bound to the instance. */
  bind: (name: string | symbol) => (...args: any[]) => unknown;
}

/** Where a delivery or an event call comes from: the host's control message, or nothing (the bus, startup). */
export interface TriggerCall {
  id?: string;
  deadline?: number;
  /** The caller's time budget (ms) the deadline came from. */
  timeoutMs?: number;
  chain?: string[];
  runId?: string;
}

export type { MessageDelivery };

export class PluginTriggers {
  readonly timers: TimerScheduler;
  readonly messages: MessageHandlerRegistry;
  readonly events = new EventHandlerRegistry();
  private readonly runtime: PluginRuntime;
  private stopped = false;
  private disconnectBus: (() => void) | undefined;

  constructor({ runtime, meta, bind }: PluginTriggersOptions) {
    this.runtime = runtime;
    this.timers = runtime.instance.ctx.timers;
    this.messages = runtime.instance.ctx.messageHandlers;
    for (const { methodName, ...timer } of meta.timers) this.timers.add({ ...timer, tick: bind(methodName) });
    // Configured intervals are read now: a missing or bad one stops the plugin from loading, naming the key.
    const config = runtime.instance.config;
    this.timers.useConfig((path) => config.get(path));
    const timerProblem = this.timers.applyConfig();
    if (timerProblem) throw new TypeError(timerProblem);
    for (const { methodName, ...handler } of meta.messages) this.messages.add({ ...handler, handle: bind(methodName) });
    for (const event of meta.events) {
      this.events.add({
        id: event.id,
        eventType: event.eventType,
        kind: event.kind,
        triggerMethod: event.triggerMethod,
        custom: event.custom,
        name: event.name ?? event.id,
        description: event.description ?? "",
        inputSchema: describeArgsSchema(event),
        validator: compileArgsValidator(event, { unknownArgs: event.allowExtraArgs === true ? "allow" : "refuse" }),
        busValidator: compileArgsValidator(event, { unknownArgs: "allow" }),
        timeout: event.timeout ?? DEFAULT_ENTRY_TIMEOUT_SECONDS,
        handle: bind(event.methodName),
      });
    }
    runtime.registerControl("deliver_message", ({ message }, control) => this.deliverMessage(message, control));
    runtime.registerControl("run_event", (payload, control) => this.runEvent(payload, control));
    runtime.afterReady(() => this.afterStartup());
    runtime.onShutdown(() => {
      this.stopped = true;
      this.disconnectBus?.();
      return this.timers.stopAll();
    });
  }

  /** What the hello tells the host. */
  describe() {
    return { timers: this.timers.describe(), events: this.events.describe(), messages: this.messages.describe() };
  }

  /**
   * Runs every active handler whose `source` matches (or that has none), one after another, and answers with each
   * handler's result. A message without string `source` and `text` is refused with a `ValidationError`.
   * `namedSourceOnly` (messages seen on the bus) leaves out the handlers without a `source`. Once the delivery is
   * canceled or past its deadline, the handlers after the stopped one do not start: each is answered `CANCELED`
   * (docs/timers-messages-events.md#canceling-a-delivery).
   */
  async deliverMessage(
    message: unknown,
    call: TriggerCall = {},
    options: { namedSourceOnly?: boolean } = {},
  ): Promise<Answer<MessageDelivery>> {
    const problem = messageProblem(message);
    if (problem) return errResult(new ValidationError(`invalid message: ${problem}`));
    const handlers = this.messages
      .matching(message as PluginMessage)
      .filter((h) => !options.namedSourceOnly || h.source !== undefined);
    const delivery: MessageDelivery = { handlers: [] };
    let stopped: "was canceled" | "timed out" | undefined;
    for (const handler of handlers) {
      if (stopped) {
        const skipped = new SdkError(`message handler '${handler.id}' did not run: the delivery ${stopped}`, {
          code: ErrorCode.Canceled,
        });
        delivery.handlers.push({ id: handler.id, result: errResult(skipped) });
        continue;
      }
      const label = `message handler '${handler.id}'`;
      const result = await this.bounded(
        call,
        `message:${handler.id}`,
        DEFAULT_ENTRY_TIMEOUT_SECONDS,
        label,
        undefined,
        (ctx) => handler.handle(message as PluginMessage, ctx),
        (reason) => {
          // A handler's own 30 s cap, with no delivery deadline or one still ahead, does not stop the next handlers.
          if (!(reason instanceof TimeoutError)) stopped = "was canceled";
          else if (call.deadline !== undefined && call.deadline - Date.now() <= 50) stopped = "timed out";
        },
      );
      delivery.handlers.push({ id: handler.id, result });
    }
    return { ok: true, value: delivery };
  }

  /** Runs one event handler by type and id, after validating its args; `EVENT_NOT_FOUND` for an unknown one. */
  async runEvent(payload: ParamsOut<HostToPluginControls, "run_event">, call: TriggerCall = {}): Promise<WireResult> {
    const { eventType, eventId, args } = payload;
    const handler = this.events.get(eventType, eventId);
    if (!handler) {
      return errResult(
        new NotFoundError(`plugin '${this.runtime.instance.pluginId}' has no event handler '${eventType}:${eventId}'`, {
          code: ErrorCode.EventNotFound,
          details: { events: this.events.describe().map((e) => `${e.eventType}:${e.id}`) },
        }),
      );
    }
    const { chain = call.chain, runId = call.runId, timeoutMs = call.timeoutMs } = payload;
    return this.runHandler(handler, args, { ...call, chain, runId, timeoutMs });
  }

  /**
   * Runs every handler of `eventType` with `payload` (a bus event); each one's result, in declaration order. Names
   * the handler's schema does not declare are let through: the event is broadcast, and a producer adding a field must
   * not break its consumers.
   */
  async dispatchEvent(eventType: string, payload: unknown): Promise<Array<{ id: string; result: WireResult }>> {
    const results: Array<{ id: string; result: WireResult }> = [];
    for (const handler of this.events.ofType(eventType)) {
      results.push({ id: handler.id, result: await this.runHandler(handler, payload ?? {}, {}, true) });
    }
    return results;
  }

  private runHandler(
    handler: EventHandlerSpec,
    args: unknown,
    call: TriggerCall,
    fromBus = false,
  ): Promise<WireResult> {
    const label = `event '${handler.eventType}:${handler.id}'`;
    if (typeof args !== "object" || args === null || Array.isArray(args)) {
      return Promise.resolve(errResult(new ValidationError(`invalid arguments for ${label}: args must be an object`)));
    }
    let checked = args as Record<string, unknown>;
    const validator = fromBus ? handler.busValidator : handler.validator;
    if (validator) {
      const result = validator(args);
      if (!result.ok) return Promise.resolve(errResult(result.error));
      checked = result.value;
    }
    return this.bounded(call, `${handler.eventType}:${handler.id}`, handler.timeout, label, "event", (ctx) =>
      handler.handle(checked, ctx),
    );
  }

  private bounded(
    call: TriggerCall,
    entryId: string,
    timeoutSeconds: number,
    label: string,
    kind: "event" | undefined,
    fn: (ctx: EntryContext) => unknown,
    onStop?: (reason: unknown) => void,
  ): Promise<WireResult> {
    const deadline = call.deadline ?? Date.now() + timeoutSeconds * 1000;
    const bounded = {
      id: call.id ?? randomUUID(),
      entryId,
      deadline,
      timeoutMs: call.timeoutMs ?? Math.max(0, deadline - Date.now()),
      chain: call.chain,
      runId: call.runId,
    };
    return this.runtime.runBounded(
      bounded,
      { timeoutSeconds, label, ...(kind && { kind }), onStop },
      (ctx) => this.runtime.runHandler(label, () => fn(ctx)),
      undefined,
    );
  }

  private async afterStartup(): Promise<void> {
    if (this.stopped) return;
    const { instance } = this.runtime;
    this.disconnectBus = await connectTriggersToBus({
      bus: instance.bus,
      bridge: instance.ctx.bridge,
      pluginId: instance.pluginId,
      logger: instance.logger,
      targets: {
        eventTypes: this.events.describe().map((e) => e.eventType),
        messageSources: this.messages.describe().flatMap((m) => (m.source === null ? [] : [m.source])),
        dispatchEvent: (type, payload) => this.dispatchEvent(type, payload),
        deliverMessage: (message) => this.deliverMessage(message, {}, { namedSourceOnly: true }),
      },
    });
    if (this.stopped) {
      this.disconnectBus();
      return;
    }
    this.timers.begin();
    for (const handler of this.events.automatic()) {
      if (this.stopped) return;
      const result = await this.runHandler(handler, {}, {});
      if (!result.ok) {
        this.runtime.instance.logger.warn(
          `auto event '${handler.eventType}:${handler.id}' failed: ${result.error.message}`,
          { event: `${handler.eventType}:${handler.id}` },
        );
      }
    }
  }
}

function messageProblem(message: unknown): string | undefined {
  if (typeof message !== "object" || message === null || Array.isArray(message)) return "a message must be an object";
  const m = message as Record<string, unknown>;
  if (typeof m.source !== "string") return "'source' must be a string";
  if (typeof m.text !== "string") return "'text' must be a string";
  if (m.sender !== undefined && typeof m.sender !== "string") return "'sender' must be a string when given";
  return undefined;
}
