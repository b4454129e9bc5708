/**
 * Every entry of one plugin: the decorated ones and those registered at run time. Changes are announced so the
 * runtime can tell the host at once (`entries_changed`), and `/plugins` shows them.
 */
import { descriptorJsonProblem, Emitter, type EntryDescriptor, type Event } from "@neko/protocol";
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
  /** The router (class name) whose `includeRouter` brought the entry; undefined for the plugin's own entries. */
  router?: string;
  /** The extension (its id) that brought the entry; undefined for the plugin's own entries. */
  extension?: string;
}

/** How an entry came to be: a decorated method (`dynamic: false`), `registerDynamicEntry`, a router or an extension. */
export interface EntryOrigin {
  dynamic: boolean;
  router?: string;
  extension?: string;
}

export interface EntryRegistration {
  options: EntryOptions & { id: string };
  handler: EntryHandler;
}

export class EntryRegistry {
  private readonly entries = new Map<string, RegisteredEntry>();
  private readonly changes = new Emitter<void>();
  /** Called after every change (an entry added, removed, enabled or disabled); dispose to stop. */
  readonly onChange: Event<void> = this.changes.event;

  /** Adds an entry; an id already taken is refused with a `TypeError` naming it. */
  add(options: EntryOptions & { id: string }, handler: EntryHandler, origin: EntryOrigin): EntryDescriptor {
    return this.addAll([{ options, handler }], origin)[0];
  }

  /**
   * Adds several entries, all or none: every one is checked (id, options, taken or repeated ids) before the first
   * is added, and one change is announced.
   */
  addAll(registrations: readonly EntryRegistration[], origin: EntryOrigin): EntryDescriptor[] {
    const prepared: RegisteredEntry[] = [];
    for (const { options, handler } of registrations) {
      const entry = prepare(options, handler, origin);
      const { id } = entry.descriptor;
      const owner = this.takenBy(id) ?? (prepared.some((p) => p.descriptor.id === id) ? "another entry" : undefined);
      if (owner) throw new TypeError(`entry id '${id}' is already taken by ${owner}`);
      prepared.push(entry);
    }
    for (const entry of prepared) this.entries.set(entry.descriptor.id, entry);
    if (prepared.length > 0) this.changed();
    return prepared.map((e) => e.descriptor);
  }

  /** What holds `id`, in words for an error message ("a dynamic entry", …); undefined when it is free. */
  takenBy(id: string): string | undefined {
    const existing = this.entries.get(id);
    if (!existing) return undefined;
    if (existing.router) return `an entry of router ${existing.router}`;
    if (existing.extension) return `an entry of extension '${existing.extension}'`;
    return existing.descriptor.dynamic ? "a dynamic entry" : "a @pluginEntry method";
  }

  /** Removes a dynamic entry; decorated entries can only be disabled. Returns false for an unknown id. */
  remove(id: string): boolean {
    const entry = this.entries.get(id);
    if (!entry) return false;
    if (entry.router) {
      throw new TypeError(`entry '${id}' comes from router ${entry.router}: excludeRouter(router) removes it`);
    }
    if (entry.extension) {
      throw new TypeError(
        `entry '${id}' comes from extension '${entry.extension}': disabling the extension removes it`,
      );
    }
    if (!entry.descriptor.dynamic) {
      throw new TypeError(`entry '${id}' is a @pluginEntry method: disable it instead of unregistering it`);
    }
    this.removeAll([id]);
    return true;
  }

  /** Removes entries whatever brought them (a router excluded, an extension taken out); one change is announced. */
  removeAll(ids: readonly string[]): void {
    let removed = false;
    for (const id of ids) removed = this.entries.delete(id) || removed;
    if (removed) this.changed();
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

  private changed(): void {
    this.changes.fire();
  }
}

/** Checks one entry's id and options and builds its record; a problem throws a `TypeError` naming the entry. */
function prepare(options: EntryOptions & { id: string }, handler: EntryHandler, origin: EntryOrigin): RegisteredEntry {
  const { id } = options;
  if (typeof id !== "string" || !ENTRY_ID.test(id)) {
    throw new TypeError(`entry id '${String(id)}' must match ${ENTRY_ID.source}`);
  }
  if (typeof handler !== "function") throw new TypeError(`entry '${id}': the handler must be a function`);
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
    dynamic: origin.dynamic,
    metadata: options.metadata ?? null,
    ...(origin.extension !== undefined && { extensionId: origin.extension }),
  };
  // The host's bound (the whole list would be dropped with it, this entry and every later change).
  for (const field of ["metadata", "inputSchema"] as const) {
    const problem = descriptorJsonProblem(descriptor[field]);
    if (problem) throw new TypeError(`entry '${id}': its ${field} ${problem}`);
  }
  let validator: ArgsValidator | undefined;
  try {
    validator =
      options.modelValidate === false
        ? undefined
        : compileArgsValidator(options, { unknownArgs: options.allowExtraArgs === true ? "allow" : "refuse" });
  } catch (error) {
    throw new TypeError(`entry '${id}': ${(error as Error).message}`);
  }
  return {
    descriptor,
    validator,
    handler,
    ...(origin.router !== undefined && { router: origin.router }),
    ...(origin.extension !== undefined && { extension: origin.extension }),
  };
}
