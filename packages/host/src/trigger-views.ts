/**
 * How `/plugins` shows what a running plugin declared in its hello besides entries: timers, event handlers, hooks and
 * message handlers (snake_case, like the rest of the view). A plugin that is not running shows none.
 */
import type { HelloMessage } from "@neko/protocol";

export interface TimerView {
  id: string;
  name: string;
  seconds: number;
  auto_start: boolean;
}

export interface EventView {
  id: string;
  event_type: string;
  kind: string;
  trigger_method: string | null;
  name: string;
  description: string;
}

export interface HookView {
  id: string;
  timing: string;
  target: string;
  priority: number;
  condition: string | null;
  source: string;
}

export interface MessageHandlerView {
  id: string;
  source: string | null;
  auto_start: boolean;
}

export interface TriggerViews {
  timers: TimerView[];
  events: EventView[];
  hooks: HookView[];
  message_handlers: MessageHandlerView[];
}

export function triggerViews(hello: HelloMessage | undefined): TriggerViews {
  return {
    timers: (hello?.timers ?? []).map((t) => ({
      id: t.id,
      name: t.name ?? t.id,
      seconds: t.seconds,
      auto_start: t.autoStart ?? true,
    })),
    events: (hello?.events ?? []).map((e) => ({
      id: e.id,
      event_type: e.eventType,
      kind: e.kind,
      trigger_method: e.triggerMethod ?? null,
      name: e.name ?? e.id,
      description: e.description ?? "",
    })),
    hooks: (hello?.hooks ?? []).map((h) => ({
      id: h.id,
      timing: h.timing,
      target: h.target,
      priority: h.priority,
      condition: h.condition ?? null,
      source: h.source ?? "plugin",
    })),
    message_handlers: (hello?.messages ?? []).map((m) => ({ id: m.id, source: m.source, auto_start: m.autoStart })),
  };
}
