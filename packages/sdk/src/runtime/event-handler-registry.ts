/**
 * The plugin's `@onEvent` / `@customEvent` handlers (SPEC §3.5), found by event type (bus delivery) or by
 * type and id (`POST /plugin/trigger`, `callEvent("plugin:type:id")`).
 */
import type { EntryContext } from "../entry-context.ts";
import type { ArgsValidator } from "../entry-validator.ts";
import type { EventTriggerMethod } from "../plugin-metadata.ts";

/** What the host is told about a handler (hello, `/plugins`). */
export interface EventHandlerDescriptor {
  id: string;
  eventType: string;
  kind: string;
  triggerMethod: EventTriggerMethod;
  custom: boolean;
  name: string;
  description: string;
  inputSchema: Record<string, unknown> | null;
  /** Seconds. */
  timeout: number;
}

export interface EventHandlerSpec extends EventHandlerDescriptor {
  /** For a direct trigger (`run_event`): unknown names refused unless the handler allows them. */
  validator: ArgsValidator | undefined;
  /** For an event from the bus: unknown names let through (events are broadcast; producers may add fields). */
  busValidator: ArgsValidator | undefined;
  handle: (args: any, ctx: EntryContext) => unknown;
}

export class EventHandlerRegistry {
  private readonly handlers = new Map<string, EventHandlerSpec>();

  add(spec: EventHandlerSpec): void {
    const key = `${spec.eventType}:${spec.id}`;
    if (this.handlers.has(key)) throw new TypeError(`event handler '${key}' is already taken`);
    this.handlers.set(key, spec);
  }

  get(eventType: string, id: string): EventHandlerSpec | undefined {
    return this.handlers.get(`${eventType}:${id}`);
  }

  /** Every handler of one event type, in declaration order. */
  ofType(eventType: string): EventHandlerSpec[] {
    return [...this.handlers.values()].filter((h) => h.eventType === eventType);
  }

  /** The handlers that run once after startup. */
  automatic(): EventHandlerSpec[] {
    return [...this.handlers.values()].filter((h) => h.triggerMethod === "auto");
  }

  describe(): EventHandlerDescriptor[] {
    return [...this.handlers.values()].map(
      ({ validator: _v, busValidator: _b, handle: _h, ...descriptor }) => descriptor,
    );
  }
}
