/**
 * What the decorators record on a class, through TC39 decorator metadata. Each class gets its own lists;
 * `collectPluginMetadata` merges a class with its ancestors (a subclass's entry with the same id wins).
 */
import "./symbol-metadata.ts";
import type { z } from "zod";

import { LIFECYCLE_IDS, type LifecycleId } from "@neko/protocol";

export { LIFECYCLE_IDS, type LifecycleId };

export interface EntryOptions {
  id?: string;
  name?: string;
  description?: string;
  /** JSON Schema (draft 2020-12) of the args object. */
  inputSchema?: Record<string, unknown>;
  /** Zod schema of the args object; the JSON Schema is derived from it. */
  params?: z.ZodType;
  kind?: string;
  autoStart?: boolean;
  persist?: boolean;
  /** Validate args before the handler runs (default true). */
  modelValidate?: boolean;
  /**
   * `true`: argument names the schema does not declare are let through (default false: refused with the closest
   * known name). For a schema that cannot say so itself; `additionalProperties: true` or Zod's `.loose()` do the same.
   */
  allowExtraArgs?: boolean;
  /** Seconds (default 30). */
  timeout?: number;
  llmResultFields?: string[];
  metadata?: Record<string, unknown>;
}

export interface EntryMeta extends EntryOptions {
  id: string;
  methodName: string | symbol;
}

export interface LifecycleMeta {
  id: LifecycleId;
  methodName: string | symbol;
}

export type HookTiming = "before" | "after" | "around" | "replace";
export const HOOK_TIMINGS: readonly HookTiming[] = ["before", "after", "around", "replace"];

export interface HookMeta {
  id: string;
  timing: HookTiming;
  /** An entry id, or "*" for every entry. */
  target: string;
  priority: number;
  /** The condition's text; compiled (and checked) when the class is defined. */
  condition?: string;
  methodName: string | symbol;
}

export interface TimerMeta {
  id: string;
  /** Seconds, or `"config:<key>"`. */
  seconds: number | string;
  name: string;
  autoStart: boolean;
  runImmediately?: boolean;
  methodName: string | symbol;
}

export interface MessageMeta {
  id: string;
  /** Only messages with this source reach the handler; none: every message. */
  source?: string;
  autoStart: boolean;
  methodName: string | symbol;
}

export type EventTriggerMethod = "message" | "command" | "auto";

export interface EventMeta {
  id: string;
  eventType: string;
  kind: string;
  /** "auto": runs once after startup; the others only when the event is emitted or called. */
  triggerMethod: EventTriggerMethod;
  custom: boolean;
  name?: string;
  description?: string;
  inputSchema?: Record<string, unknown>;
  params?: z.ZodType;
  /** Unknown argument names let through on a direct trigger too (the bus always lets them through). */
  allowExtraArgs?: boolean;
  /** Seconds (default 30). */
  timeout?: number;
  methodName: string | symbol;
}

export interface ClassPluginMetadata {
  marked: boolean;
  entries: EntryMeta[];
  lifecycles: LifecycleMeta[];
  hooks: HookMeta[];
  timers: TimerMeta[];
  messages: MessageMeta[];
  events: EventMeta[];
}

const NEKO = Symbol.for("neko.plugin.metadata");

/** Every plugin decorator goes on a public instance method: the runtime binds it to the instance by name. */
export function assertInstanceMethod(decorator: string, context: ClassMethodDecoratorContext): void {
  if (context.kind !== "method" || context.static || context.private) {
    throw new TypeError(`${decorator} must decorate a public instance method (got ${String(context.name)})`);
  }
}

/** The own (not inherited) record of the class being decorated. */
export function ownMetadata(metadata: DecoratorMetadataObject): ClassPluginMetadata {
  if (!Object.hasOwn(metadata, NEKO)) {
    (metadata as Record<symbol, unknown>)[NEKO] = {
      marked: false,
      entries: [],
      lifecycles: [],
      hooks: [],
      timers: [],
      messages: [],
      events: [],
    };
  }
  return (metadata as Record<symbol, ClassPluginMetadata>)[NEKO];
}

/** An entry id that one class (not counting its ancestors) declares more than once, if any. */
export function entryIdDeclaredTwice(own: ClassPluginMetadata): string | undefined {
  const seen = new Set<string>();
  for (const entry of own.entries) {
    if (seen.has(entry.id)) return entry.id;
    seen.add(entry.id);
  }
  return undefined;
}

/** An entry id declared twice by one class of `cls`'s chain, if any (a class may still override its ancestors' ids). */
export function entryIdDeclaredTwiceInChain(cls: abstract new (...args: never[]) => unknown): string | undefined {
  for (const own of pluginMetadataChain(cls)) {
    const twice = entryIdDeclaredTwice(own);
    if (twice !== undefined) return twice;
  }
  return undefined;
}

/**
 * The decorated method `name` of `target` bound to it, as the runtime calls it; a `TypeError` when it is not a method
 * (`owner` names where it was looked for: "the router").
 */
export function boundMethod(target: object, name: string | symbol, owner?: string): (...args: any[]) => unknown {
  const method = (target as Record<string | symbol, unknown>)[name];
  if (typeof method !== "function") {
    throw new TypeError(`'${String(name)}' is not a method${owner === undefined ? "" : ` of ${owner}`}`);
  }
  return method.bind(target) as (...args: any[]) => unknown;
}

/** The own records of `cls` and of each ancestor that has any, ancestors first. */
export function pluginMetadataChain(cls: abstract new (...args: never[]) => unknown): ClassPluginMetadata[] {
  const chain: ClassPluginMetadata[] = [];
  let meta = (cls as { [Symbol.metadata]?: DecoratorMetadataObject | null })[Symbol.metadata] ?? null;
  while (meta) {
    if (Object.hasOwn(meta, NEKO)) chain.unshift((meta as Record<symbol, ClassPluginMetadata>)[NEKO]);
    meta = Object.getPrototypeOf(meta) as DecoratorMetadataObject | null;
  }
  return chain;
}

/** Everything recorded on `cls` and its ancestors, ancestors first, with later ids replacing earlier ones. */
export function collectPluginMetadata(cls: abstract new (...args: never[]) => unknown): ClassPluginMetadata {
  const chain = pluginMetadataChain(cls);
  const entries = new Map<string, EntryMeta>();
  const lifecycles = new Map<string, LifecycleMeta>();
  const hooks = new Map<string, HookMeta>();
  const timers = new Map<string, TimerMeta>();
  const messages = new Map<string, MessageMeta>();
  const events = new Map<string, EventMeta>();
  for (const m of chain) {
    for (const e of m.entries) entries.set(e.id, e);
    for (const l of m.lifecycles) lifecycles.set(l.id, l);
    for (const h of m.hooks) hooks.set(h.id, h);
    for (const t of m.timers) timers.set(t.id, t);
    for (const h of m.messages) messages.set(h.id, h);
    for (const e of m.events) events.set(`${e.eventType}:${e.id}`, e);
  }
  const marked = isOwnMarked(cls);
  return {
    marked,
    entries: [...entries.values()],
    lifecycles: [...lifecycles.values()],
    hooks: [...hooks.values()],
    timers: [...timers.values()],
    messages: [...messages.values()],
    events: [...events.values()],
  };
}

function isOwnMarked(cls: object): boolean {
  const meta = (cls as { [Symbol.metadata]?: DecoratorMetadataObject | null })[Symbol.metadata];
  return !!meta && Object.hasOwn(meta, NEKO) && (meta as Record<symbol, ClassPluginMetadata>)[NEKO].marked;
}
