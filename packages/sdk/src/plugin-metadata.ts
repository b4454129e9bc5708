/**
 * What the decorators record on a class, through TC39 decorator metadata. Each class gets its own lists;
 * `collectPluginMetadata` merges a class with its ancestors (a subclass's entry with the same id wins).
 */
import "./symbol-metadata.ts";
import type { z } from "zod";

export type LifecycleId = "startup" | "shutdown" | "reload" | "freeze" | "unfreeze" | "config_change";
export const LIFECYCLE_IDS: readonly LifecycleId[] = [
  "startup",
  "shutdown",
  "reload",
  "freeze",
  "unfreeze",
  "config_change",
];

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

export interface ClassPluginMetadata {
  marked: boolean;
  entries: EntryMeta[];
  lifecycles: LifecycleMeta[];
}

const NEKO = Symbol.for("neko.plugin.metadata");

/** The own (not inherited) record of the class being decorated. */
export function ownMetadata(metadata: DecoratorMetadataObject): ClassPluginMetadata {
  if (!Object.hasOwn(metadata, NEKO)) {
    (metadata as Record<symbol, unknown>)[NEKO] = { marked: false, entries: [], lifecycles: [] };
  }
  return (metadata as Record<symbol, ClassPluginMetadata>)[NEKO];
}

/** Everything recorded on `cls` and its ancestors, ancestors first, with later ids replacing earlier ones. */
export function collectPluginMetadata(cls: abstract new (...args: never[]) => unknown): ClassPluginMetadata {
  const chain: ClassPluginMetadata[] = [];
  let meta = (cls as { [Symbol.metadata]?: DecoratorMetadataObject | null })[Symbol.metadata] ?? null;
  while (meta) {
    if (Object.hasOwn(meta, NEKO)) chain.unshift((meta as Record<symbol, ClassPluginMetadata>)[NEKO]);
    meta = Object.getPrototypeOf(meta) as DecoratorMetadataObject | null;
  }
  const entries = new Map<string, EntryMeta>();
  const lifecycles = new Map<string, LifecycleMeta>();
  for (const m of chain) {
    for (const e of m.entries) entries.set(e.id, e);
    for (const l of m.lifecycles) lifecycles.set(l.id, l);
  }
  const marked = isOwnMarked(cls);
  return { marked, entries: [...entries.values()], lifecycles: [...lifecycles.values()] };
}

function isOwnMarked(cls: object): boolean {
  const meta = (cls as { [Symbol.metadata]?: DecoratorMetadataObject | null })[Symbol.metadata];
  return !!meta && Object.hasOwn(meta, NEKO) && (meta as Record<symbol, ClassPluginMetadata>)[NEKO].marked;
}
