/**
 * Every entry of one plugin: the decorated ones and those registered at run time. Changes are announced so the
 * runtime can tell the host at once (`entries_changed`), and `/plugins` shows them.
 */
import type { EntryDescriptor } from "@neko/protocol";
import type { EntryContext } from "../entry-context.ts";
import { type ArgsValidator, compileArgsValidator, describeArgsSchema } from "../entry-validator.ts";
import type { EntryOptions } from "../plugin-metadata.ts";
import { assertSeconds } from "../seconds-limit.ts";

export const DEFAULT_ENTRY_TIMEOUT_SECONDS = 30;
const ENTRY_ID = /^[a-zA-Z0-9_.:-]{1,128}$/;

export type EntryHandler = (args: any, ctx: EntryContext) => unknown;

export interface RegisteredEntry {
  descriptor: EntryDescriptor;
  validator: ArgsValidator | undefined;
  handler: EntryHandler;
}

export class EntryRegistry {
  private readonly entries = new Map<string, RegisteredEntry>();
  private readonly listeners = new Set<() => void>();

  /** Adds an entry; an id already taken is refused with a `TypeError` naming it. */
  add(options: EntryOptions & { id: string }, handler: EntryHandler, flags: { dynamic: boolean }): EntryDescriptor {
    const { id } = options;
    if (!ENTRY_ID.test(id)) throw new TypeError(`entry id '${id}' must match ${ENTRY_ID.source}`);
    if (typeof handler !== "function") throw new TypeError(`entry '${id}': the handler must be a function`);
    const existing = this.entries.get(id);
    if (existing) {
      const what = existing.descriptor.dynamic ? "a dynamic entry" : "a @pluginEntry method";
      throw new TypeError(`entry id '${id}' is already taken by ${what}`);
    }
    const timeout = options.timeout ?? DEFAULT_ENTRY_TIMEOUT_SECONDS;
    assertSeconds(`entry '${id}': timeout`, timeout);
    for (const flag of ["autoStart", "persist"] as const) {
      if (options[flag] !== undefined && typeof options[flag] !== "boolean") {
        throw new TypeError(`entry '${id}': ${flag} must be true or false (got ${JSON.stringify(options[flag])})`);
      }
    }
    const descriptor: EntryDescriptor = {
      id,
      name: options.name ?? id,
      description: options.description ?? "",
      inputSchema: describeArgsSchema(options),
      kind: options.kind ?? "action",
      timeout,
      llmResultFields: options.llmResultFields ?? null,
      autoStart: options.autoStart ?? false,
      persist: options.persist ?? null,
      enabled: true,
      dynamic: flags.dynamic,
      metadata: options.metadata ?? null,
    };
    const validator = options.modelValidate === false ? undefined : compileArgsValidator(options);
    this.entries.set(id, { descriptor, validator, handler });
    this.changed();
    return descriptor;
  }

  /** Removes a dynamic entry; decorated entries can only be disabled. Returns false for an unknown id. */
  remove(id: string): boolean {
    const entry = this.entries.get(id);
    if (!entry) return false;
    if (!entry.descriptor.dynamic) {
      throw new TypeError(`entry '${id}' is a @pluginEntry method: disable it instead of unregistering it`);
    }
    this.entries.delete(id);
    this.changed();
    return true;
  }

  /** Returns false for an unknown id. */
  setEnabled(id: string, enabled: boolean): boolean {
    const entry = this.entries.get(id);
    if (!entry) return false;
    if (entry.descriptor.enabled !== enabled) {
      entry.descriptor = { ...entry.descriptor, enabled };
      this.changed();
    }
    return true;
  }

  get(id: string): RegisteredEntry | undefined {
    return this.entries.get(id);
  }

  list(options: { includeDisabled?: boolean } = {}): EntryDescriptor[] {
    return [...this.entries.values()].map((e) => e.descriptor).filter((d) => options.includeDisabled || d.enabled);
  }

  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private changed(): void {
    for (const listener of this.listeners) listener();
  }
}
