/**
 * The plugin's `@message` handlers (SPEC §3.5) and which of them a message reaches: a handler with a `source` only
 * gets messages with that source, one without gets every message; a handler turned off gets none.
 */
import type { EntryContext } from "../entry-context.ts";
import type { PluginMessage } from "../trigger-decorators.ts";

export interface MessageHandlerSpec {
  id: string;
  source?: string;
  autoStart: boolean;
  handle: (message: PluginMessage, ctx: EntryContext) => unknown;
}

export interface MessageHandlerDescriptor {
  id: string;
  source: string | null;
  autoStart: boolean;
}

export class MessageHandlerRegistry {
  private readonly handlers = new Map<string, { spec: MessageHandlerSpec; active: boolean }>();

  add(spec: MessageHandlerSpec): void {
    if (this.handlers.has(spec.id)) throw new TypeError(`message handler id '${spec.id}' is already taken`);
    this.handlers.set(spec.id, { spec, active: spec.autoStart });
  }

  /** False for an unknown id. */
  setActive(id: string, active: boolean): boolean {
    const handler = this.handlers.get(id);
    if (!handler) return false;
    handler.active = active;
    return true;
  }

  /** The active handlers for this message, in declaration order. */
  matching(message: PluginMessage): MessageHandlerSpec[] {
    return [...this.handlers.values()]
      .filter((h) => h.active && (h.spec.source === undefined || h.spec.source === message.source))
      .map((h) => h.spec);
  }

  describe(): MessageHandlerDescriptor[] {
    return [...this.handlers.values()].map(({ spec }) => ({
      id: spec.id,
      source: spec.source ?? null,
      autoStart: spec.autoStart,
    }));
  }
}
