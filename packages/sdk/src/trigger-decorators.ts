/**
 * Decorators for plugin code that runs on something other than an entry call (SPEC §3.5): `@timerInterval`,
 * `@message`, `@onEvent` and `@customEvent`. They only record metadata; the runtime's `PluginTriggers` runs them.
 */
import type { z } from "zod";
import type { EntryContext } from "./entry-context.ts";
import { assertInstanceMethod, type EventTriggerMethod, ownMetadata } from "./plugin-metadata.ts";
import { assertSeconds, configKeyOf } from "./seconds-limit.ts";

/** What a timer's method receives on each tick. */
export interface TimerTick {
  timerId: string;
  /** 1 for the first tick. */
  tick: number;
}

/** A message delivered to `@message` handlers (`POST /plugin/{id}/message`, or the bus). */
export interface PluginMessage {
  source: string;
  text: string;
  sender?: string;
  [field: string]: unknown;
}

export interface TimerOptions {
  /** Default: the method name. */
  id?: string;
  /**
   * Interval in seconds; the first tick comes `seconds` after startup. Or `"config:<key>"`: the number at that key of
   * the plugin's configuration, read at load and again after every accepted change (docs/timers-messages-events.md).
   */
  seconds: number | `config:${string}`;
  name?: string;
  /** Start after startup (default true); otherwise `this.startTimer(id)` starts it. */
  autoStart?: boolean;
  /** The first tick at once when the timer starts, as the original does (default false: one interval later). */
  runImmediately?: boolean;
}

export interface MessageOptions {
  id?: string;
  /** Only messages with this source reach the handler; without it, every message does. */
  source?: string;
  /** Receive messages from startup on (default true); otherwise `this.enableMessageHandler(id)` turns it on. */
  autoStart?: boolean;
}

interface EventDetails {
  id?: string;
  name?: string;
  description?: string;
  /** JSON Schema of the event's args (validated before the handler runs). */
  inputSchema?: Record<string, unknown>;
  /** Zod schema of the event's args. */
  params?: z.ZodType;
  /**
   * `true`: argument names the schema does not declare are let through on a direct trigger (`POST /plugin/trigger`,
   * `callEvent`) too. Events dispatched from the bus always let them through: a producer adding a field must not break
   * its consumers.
   */
  allowExtraArgs?: boolean;
  /** Seconds (default 30). */
  timeout?: number;
}

export interface OnEventOptions extends EventDetails {
  eventType: string;
  kind?: string;
}

export interface CustomEventOptions extends EventDetails {
  eventType: string;
  kind?: string;
  /** "auto" runs the handler once after startup; "message" (default) and "command" wait to be emitted or called. */
  triggerMethod?: EventTriggerMethod;
  /** true: run once after startup, as "auto" does. */
  autoStart?: boolean;
}

type Decorator<M> = (method: M, context: ClassMethodDecoratorContext) => void;
type TimerMethod = (this: any, tick: TimerTick) => unknown;
type MessageMethod = (this: any, message: PluginMessage, ctx: EntryContext) => unknown;
type EventMethod = (this: any, args: any, ctx: EntryContext) => unknown;

/** Event types and ids end up in references like `plugin:type:id`, so they cannot hold a colon. */
const EVENT_NAME = /^[a-zA-Z0-9_.-]{1,128}$/;
const HANDLER_ID = /^[a-zA-Z0-9_.:-]{1,128}$/;
const TRIGGER_METHODS: readonly EventTriggerMethod[] = ["message", "command", "auto"];
const STANDARD_EVENT_TYPES = ["plugin_entry", "lifecycle", "message", "timer"];

export function timerInterval(options: TimerOptions): Decorator<TimerMethod> {
  return (_method, context) => {
    const id = handlerId("@timerInterval", options.id, context);
    const where = `@timerInterval '${id}'`;
    const { seconds } = options;
    if (configKeyOf(`${where}: seconds`, seconds) === undefined) assertSeconds(`${where}: seconds`, seconds);
    for (const flag of ["autoStart", "runImmediately"] as const) {
      const value = options[flag];
      if (value !== undefined && typeof value !== "boolean") {
        throw new TypeError(`${where}: ${flag} must be true or false; got ${JSON.stringify(value)}`);
      }
    }
    const own = ownMetadata(context.metadata);
    if (own.timers.some((t) => t.id === id)) throw new TypeError(`${where}: timer id '${id}' is declared twice`);
    own.timers.push({
      id,
      seconds,
      name: options.name ?? id,
      autoStart: options.autoStart ?? true,
      runImmediately: options.runImmediately ?? false,
      methodName: context.name,
    });
  };
}

export function message(options: MessageOptions = {}): Decorator<MessageMethod> {
  return (_method, context) => {
    const id = handlerId("@message", options.id, context);
    const where = `@message '${id}'`;
    if (options.source !== undefined && (typeof options.source !== "string" || options.source === "")) {
      throw new TypeError(`${where}: source must be a non-empty string`);
    }
    const own = ownMetadata(context.metadata);
    if (own.messages.some((m) => m.id === id)) throw new TypeError(`${where}: handler id '${id}' is declared twice`);
    own.messages.push({ id, source: options.source, autoStart: options.autoStart ?? true, methodName: context.name });
  };
}

/** Runs when an event of `eventType` is emitted on the bus, or when it is called by id. */
export function onEvent(options: OnEventOptions): Decorator<EventMethod> {
  return (_method, context) => recordEvent("@onEvent", options, context, { custom: false, triggerMethod: "message" });
}

/** A plugin-defined event type; `triggerMethod: "auto"` runs it once after startup. */
export function customEvent(options: CustomEventOptions): Decorator<EventMethod> {
  return (_method, context) => {
    const triggerMethod = options.autoStart ? "auto" : (options.triggerMethod ?? "message");
    if (!TRIGGER_METHODS.includes(triggerMethod)) {
      throw new TypeError(
        `@customEvent: triggerMethod must be one of ${TRIGGER_METHODS.join(", ")} (got '${String(triggerMethod)}')`,
      );
    }
    if (STANDARD_EVENT_TYPES.includes(options.eventType)) {
      throw new TypeError(
        `@customEvent: '${options.eventType}' is a standard event type; use its own decorator (@pluginEntry, @lifecycle, @message, @timerInterval)`,
      );
    }
    recordEvent("@customEvent", { kind: "custom", ...options }, context, { custom: true, triggerMethod });
  };
}

function recordEvent(
  name: string,
  options: OnEventOptions,
  context: ClassMethodDecoratorContext,
  how: { custom: boolean; triggerMethod: EventTriggerMethod },
): void {
  const id = handlerId(name, options.id, context);
  if (typeof options.eventType !== "string" || !EVENT_NAME.test(options.eventType)) {
    throw new TypeError(
      `${name} '${id}': eventType must match ${EVENT_NAME.source} (got ${JSON.stringify(options.eventType)})`,
    );
  }
  if (!EVENT_NAME.test(id)) throw new TypeError(`${name}: id '${id}' must match ${EVENT_NAME.source}`);
  const where = `${name} '${options.eventType}:${id}'`;
  if (options.timeout !== undefined) assertSeconds(`${where}: timeout`, options.timeout);
  const own = ownMetadata(context.metadata);
  if (own.events.some((e) => e.eventType === options.eventType && e.id === id)) {
    throw new TypeError(`${where}: declared twice`);
  }
  own.events.push({
    id,
    eventType: options.eventType,
    kind: options.kind ?? "action",
    triggerMethod: how.triggerMethod,
    custom: how.custom,
    name: options.name,
    description: options.description,
    inputSchema: options.inputSchema,
    params: options.params,
    allowExtraArgs: options.allowExtraArgs,
    timeout: options.timeout,
    methodName: context.name,
  });
}

function handlerId(name: string, id: string | undefined, context: ClassMethodDecoratorContext): string {
  assertInstanceMethod(name, context);
  const value = id ?? String(context.name);
  if (typeof value !== "string" || !HANDLER_ID.test(value)) {
    throw new TypeError(`${name}: id ${JSON.stringify(value)} must match ${HANDLER_ID.source}`);
  }
  return value;
}
