/**
 * Everything a plugin may tell the host with `notify { method, params }` (no answer): name and params schema. The
 * host checks the params once when they arrive and drops a notification that fails, with a warning naming the field.
 */
import { z } from "../lazy-zod.mjs";
import type { WireResult } from "../messages.ts";
import { MAX_VALUE_DEPTH, nestsDeeperThan } from "../payload-bytes.ts";
import { resultProblem } from "../result-problem.ts";
import { STATUS_REPORT_MAX_BYTES } from "../status-report.ts";
import { methodMap, returns } from "./method-map.ts";
import { MAX_EVENT_TYPE_LENGTH } from "./plugin-services.ts";

const eventType = (wildcard: boolean) =>
  z
    .string({ error: `event type must be a string of 1–${MAX_EVENT_TYPE_LENGTH} characters` })
    .min(1, { error: `event type must be a string of 1–${MAX_EVENT_TYPE_LENGTH} characters` })
    .max(MAX_EVENT_TYPE_LENGTH, { error: `event type must be a string of 1–${MAX_EVENT_TYPE_LENGTH} characters` })
    .refine((type) => wildcard || type !== "*", { error: "'*' is only for subscribing to every type" });

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** `bus.emit` as its schema gives it, checked by hand (it is the bus's hot path); undefined: ask the schema. */
function fastBusEmit(
  params: unknown,
): { type: string; payload: NonNullable<unknown> | null; priority: number } | undefined {
  if (!isRecord(params)) return undefined;
  const { type, payload, priority } = params;
  if (typeof type !== "string" || type.length === 0 || type.length > MAX_EVENT_TYPE_LENGTH || type === "*") {
    return undefined;
  }
  if (
    priority !== undefined &&
    !(Number.isInteger(priority) && (priority as number) >= 0 && (priority as number) <= 10)
  ) {
    return undefined;
  }
  if (nestsDeeperThan(payload)) return undefined;
  return { type, payload: payload ?? null, priority: (priority as number | undefined) ?? 5 };
}

/** The gateway pipeline's stages, in order (SPEC §3.7, docs/adapters.md#metrics). */
export const GATEWAY_STAGES = ["normalize", "policy", "route", "invoke", "serialize"] as const;
export type GatewayStage = (typeof GATEWAY_STAGES)[number];
/** Most durations of one stage in one `adapter.stage_timings` report. */
export const MAX_STAGE_SAMPLES = 512;
/** The stable codes of a gateway error (the SDK's `GatewayErrorCode`). */
export const GATEWAY_ERROR_CODES = [
  "invalid_request",
  "policy_denied",
  "route_failed",
  "invoke_failed",
  "internal_error",
] as const;
export type GatewayErrorCodeName = (typeof GATEWAY_ERROR_CODES)[number];
/** How a gateway request ended: `ok`, or its error code. */
export const GATEWAY_OUTCOMES = ["ok", ...GATEWAY_ERROR_CODES] as const;

// Behind a function, as every schema of the contract: made on first use, so a plugin process that checks no such
// message never loads Zod.
const stageSamples = () =>
  z
    .array(z.number().finite().min(0), { error: "stage timings must be lists of durations in ms" })
    .max(MAX_STAGE_SAMPLES, { error: `at most ${MAX_STAGE_SAMPLES} durations per stage in one report` });

export const pluginToHostNotifications = methodMap({
  /** Publishes an event to every subscriber; the payload is bounded by MAX_BUS_PAYLOAD_BYTES (the bus checks it). */
  "bus.emit": {
    params: () =>
      z.object({
        type: eventType(false),
        payload: z
          .unknown()
          .refine((v) => !nestsDeeperThan(v), { error: `the payload nests deeper than ${MAX_VALUE_DEPTH} levels` })
          .optional()
          .transform((v) => v ?? null),
        priority: z
          .number({ error: "priority must be a whole number from 0 to 10" })
          .int({ error: "priority must be a whole number from 0 to 10" })
          .min(0, { error: "priority must be a whole number from 0 to 10" })
          .max(10, { error: "priority must be a whole number from 0 to 10" })
          .default(5),
      }),
    result: returns<void>(),
    fast: fastBusEmit,
  },
  "bus.subscribe": { params: () => z.object({ type: eventType(true) }), result: returns<void>() },
  "bus.unsubscribe": { params: () => z.object({ type: z.string() }), result: returns<void>() },
  /** The plugin dispatched delivery `batch`: its credit comes back. */
  "bus.ack": {
    params: () => z.object({ batch: z.number() }),
    result: returns<void>(),
    fast: (params: unknown) => {
      const batch = isRecord(params) ? params.batch : undefined;
      return typeof batch === "number" && Number.isFinite(batch) ? { batch } : undefined;
    },
  },
  "bus.unwatch": { params: () => z.object({ watchId: z.string() }), result: returns<void>() },
  /** Becomes the plugin's latest status; at most STATUS_REPORT_MAX_BYTES as JSON (the board checks the size). */
  "status.report": {
    params: () =>
      z.object({
        status: z.custom<Record<string, unknown>>(
          (v) => typeof v === "object" && v !== null && !Array.isArray(v) && !nestsDeeperThan(v),
          {
            error: `the status must be an object (at most ${STATUS_REPORT_MAX_BYTES} bytes as JSON, ${MAX_VALUE_DEPTH} deep)`,
          },
        ),
      }),
    result: returns<void>(),
  },
  /** An adapter sends a message on a channel the host opened to it (docs/adapters.md#channels). */
  "channel.send": {
    params: () =>
      z.object({
        channel: z.string().min(1).max(128),
        message: z.unknown(),
        /** For MCP: the request a notification or response belongs to (the HTTP stream it goes on). */
        relatedRequestId: z.union([z.string(), z.number()]).optional(),
      }),
    result: returns<void>(),
  },
  /** An adapter ends a channel. */
  "channel.close": { params: () => z.object({ channel: z.string().min(1).max(128) }), result: returns<void>() },
  /**
   * An adapter's gateway finished requests since its last report: each stage's durations in ms (`total` for the
   * whole request) and how many ended in each outcome (`ok` or a gateway error code). The host folds them into the
   * adapter's metrics (`GET /plugin/metrics/{id}`, `/metrics`).
   */
  "adapter.stage_timings": {
    params: () =>
      z.object({
        stages: z.partialRecord(z.enum([...GATEWAY_STAGES, "total"]), stageSamples()),
        outcomes: z.partialRecord(z.enum(GATEWAY_OUTCOMES), z.number().int().min(0)),
      }),
    result: returns<void>(),
  },
  /** The plugin no longer wants the answer to its request `id`: the host stops the work it does for it. */
  "request.cancel": { params: () => z.object({ id: z.string() }), result: returns<void>() },
  /** The plugin ran one of its `autoStart` entries by itself; the host counts it as a call it made. */
  "entry.auto_called": {
    params: () =>
      z.object({
        entryId: z.string(),
        result: z
          .unknown()
          .superRefine((value, ctx) => {
            const problem = resultProblem(value);
            if (problem) ctx.addIssue({ code: "custom", message: problem });
          })
          .transform((v) => v as WireResult),
        durationMs: z
          .number({ error: "'durationMs' must be a number of ms" })
          .finite({ error: "'durationMs' must be a number of ms" })
          .min(0, { error: "'durationMs' must be a number of ms" }),
      }),
    result: returns<void>(),
  },
});

export type PluginToHostNotifications = typeof pluginToHostNotifications;
export type PluginNotifyMethod = keyof PluginToHostNotifications & string;
