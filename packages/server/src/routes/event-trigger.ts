/**
 * `POST /plugin/trigger` with an event reference instead of an entry: `{ plugin_id, event_type, event_id, args }` runs
 * that `@onEvent` / `@customEvent` handler and is answered like an entry call, with `event_type` and `event_id` in
 * place of `entry_id`.
 */
import type { FastifyReply } from "fastify";
import type { PluginHostApi } from "@neko/host";
import { ErrorCode } from "@neko/protocol";
import { HttpError, sendTriggerResult } from "../http-errors.ts";

export const eventTriggerProperties = {
  event_type: { type: "string", minLength: 1 },
  event_id: { type: "string", minLength: 1 },
} as const;

export interface TriggerTarget {
  plugin_id: string;
  entry_id?: string;
  event_type?: string;
  event_id?: string;
  args?: Record<string, unknown>;
  timeout?: number;
}

/** True when the body names an event; a 400 when it names both an entry and an event, or neither, or half an event. */
export function isEventTrigger(body: TriggerTarget): boolean {
  const event = body.event_type !== undefined || body.event_id !== undefined;
  if (event && body.entry_id !== undefined) {
    throw new HttpError(ErrorCode.Validation, "give either entry_id or event_type and event_id, not both");
  }
  if (event && (body.event_type === undefined || body.event_id === undefined)) {
    throw new HttpError(ErrorCode.Validation, "an event reference needs both event_type and event_id");
  }
  if (!event && body.entry_id === undefined) {
    throw new HttpError(
      "VALIDATION_ERROR",
      "body must have required property 'entry_id' (or 'event_type' and 'event_id' to run an event handler)",
    );
  }
  return event;
}

export async function triggerEvent(host: PluginHostApi, body: TriggerTarget, reply: FastifyReply) {
  const { plugin_id, event_type = "", event_id = "", args = {}, timeout } = body;
  const result = await host.callEvent(
    plugin_id,
    { eventType: event_type, eventId: event_id, args },
    { timeoutMs: timeout === undefined ? undefined : timeout * 1000 },
  );
  return sendTriggerResult(reply, { plugin_id, event_type, event_id, run_id: null }, result);
}
