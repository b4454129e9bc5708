/**
 * What the host asks of a plugin's runtime besides entry calls — `control { id, op, payload, deadline }`, answered by
 * `result` — and what it pushes to it without an answer (`push { topic, payload }`). The plugin checks each payload
 * against its schema when it arrives; the host's senders and the SDK's handlers are typed by these maps.
 */
import { z } from "../lazy-zod.mjs";
import type { BusEvent, BusWatchDelta } from "../bus-record.ts";
import type { ExtensionSpec, ExtensionStatus } from "../extension-spec.ts";
import type { WireResult } from "../messages.ts";
import { methodMap, returns } from "./method-map.ts";

export const LIFECYCLE_IDS = ["startup", "shutdown", "reload", "freeze", "unfreeze", "config_change"] as const;
export type LifecycleId = (typeof LIFECYCLE_IDS)[number];

const table = () => z.record(z.string(), z.unknown());

/** A message for the plugin's `@message` handlers (`POST /plugin/{id}/message`, a bus message). */
export interface PluginMessageInput {
  source: string;
  text: string;
  sender?: string;
  [field: string]: unknown;
}

export interface MessageDelivery {
  /** Each matching handler, in order, and its result. */
  handlers: Array<{ id: string; result: WireResult }>;
}

export const hostToPluginControls = methodMap({
  /** A new effective configuration; the named lifecycle may refuse it (its Err), which puts the old one back. */
  "config.apply": {
    params: () =>
      z.object({
        config: table(),
        /** `temporary` / `permanent` (hot updates, writes), `profile`, `reload`, or `rollback`. */
        mode: z.string(),
        lifecycle: z.enum(["config_change", "reload"]).nullable(),
        /** The re-read manifest (`this.metadata`), on reload. */
        manifest: table().optional(),
        /** The configuration is that of this extension loaded in the plugin, not the plugin's own. */
        extension: z.string().min(1).optional(),
      }),
    result: returns<{ handled: boolean }>(),
  },
  /** Runs `freeze` and saves the `static freezable` fields; the host then stops the process. */
  freeze: { params: () => z.null().optional(), result: returns<{ fields: string[]; file: string }>() },
  /** The message is checked by the runtime, which answers a bad one with a ValidationError naming the field. */
  deliver_message: { params: () => z.object({ message: z.unknown() }), result: returns<MessageDelivery>() },
  run_event: {
    params: () =>
      z.object({
        eventType: z.string({ error: "run_event needs string 'eventType' and 'eventId'" }),
        eventId: z.string({ error: "run_event needs string 'eventType' and 'eventId'" }),
        args: z
          .unknown()
          .optional()
          .transform((v) => v ?? {}),
        timeoutMs: z.number().optional(),
        chain: z.array(z.string()).optional(),
        runId: z.string().optional(),
      }),
    /** The handler's result. */
    result: returns<unknown>(),
  },
  /** Loads an extension into the running plugin (SPEC §3.6): its entries, hooks and timers join the plugin's. */
  "extension.inject": {
    params: () =>
      z.object({
        id: z.string().min(1),
        dir: z.string().min(1),
        entryModule: z.string().min(1),
        className: z.string().min(1),
        prefix: z.string(),
        manifest: table(),
        config: table(),
      }) satisfies z.ZodType<ExtensionSpec>,
    /** `failed`, with the reason, when it could not be loaded; the plugin runs on either way. */
    result: returns<ExtensionStatus>(),
  },
  /** Takes an extension out: its `shutdown`, then its entries, hooks, timers and subscriptions go. */
  "extension.remove": {
    params: () => z.object({ id: z.string().min(1) }),
    result: returns<{ id: string; removed: boolean }>(),
  },
  /** What the runtime holds now (entries, hooks, timers, bus handlers, handles), for leak checks. */
  "runtime.counts": { params: () => z.null().optional(), result: returns<Record<string, number>>() },
  /** Runs one lifecycle handler (served by the TypeScript runtime; the host sends it for nothing yet). */
  lifecycle: {
    params: () => z.object({ id: z.enum(LIFECYCLE_IDS), arg: z.unknown().optional() }),
    result: returns<unknown>(),
  },
});

export type HostToPluginControls = typeof hostToPluginControls;
export type ControlOp = keyof HostToPluginControls & string;

/** `bus.deliver` checked by hand (every event to a subscriber passes here); undefined: ask the schema. */
function fastBusDeliver(params: unknown): { batch: number; events: BusEvent[]; deltas: BusWatchDelta[] } | undefined {
  if (typeof params !== "object" || params === null) return undefined;
  const { batch, events, deltas } = params as Record<string, unknown>;
  if (typeof batch !== "number" || !Number.isFinite(batch) || !Array.isArray(events) || !Array.isArray(deltas)) {
    return undefined;
  }
  for (const event of events) if (typeof (event as BusEvent | null)?.type !== "string") return undefined;
  for (const delta of deltas) if (typeof (delta as BusWatchDelta | null)?.watchId !== "string") return undefined;
  return { batch, events, deltas };
}

export const hostToPluginPushes = methodMap({
  /** A channel to an adapter opens (`kind`: the protocol on it, e.g. `mcp`); messages follow (docs/adapters.md). */
  "channel.open": {
    params: () => z.object({ channel: z.string().min(1), kind: z.string().min(1) }),
    result: returns<void>(),
  },
  "channel.message": {
    params: () => z.object({ channel: z.string().min(1), message: z.unknown() }),
    result: returns<void>(),
  },
  "channel.closed": { params: () => z.object({ channel: z.string().min(1) }), result: returns<void>() },
  /** Progress of a call the plugin made with a `progressId` (`this.plugins.callEntry(…, { onProgress })`). */
  "call.progress": {
    params: () =>
      z.object({
        progressId: z.string(),
        runId: z.string(),
        progress: z.number().nullable(),
        stage: z.string().nullable(),
        message: z.string().nullable(),
      }),
    result: returns<void>(),
  },
  /** A batch of bus events and watch deltas; the plugin answers `bus.ack { batch }` once it has dispatched it. */
  "bus.deliver": {
    params: () =>
      z.object({
        batch: z.number(),
        // Shallow on purpose (a batch can hold a thousand events): what dispatch reads is checked, payloads are not.
        events: z.array(z.custom<BusEvent>((e) => typeof (e as BusEvent | null)?.type === "string")),
        deltas: z.array(z.custom<BusWatchDelta>((d) => typeof (d as BusWatchDelta | null)?.watchId === "string")),
      }),
    result: returns<void>(),
    fast: fastBusDeliver,
  },
});

export type HostToPluginPushes = typeof hostToPluginPushes;
export type PushTopic = keyof HostToPluginPushes & string;
