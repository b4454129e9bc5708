/**
 * Every host service a plugin may ask for with `request { id, method, params, deadline }` (answered by `response`):
 * its name, the schema of its params — checked once, when the host receives them — and the type of its `Ok` value.
 * The host's handlers and the SDK's senders are both typed by this map; docs/wire-protocol.md lists it (a test holds
 * the two together). Limits a schema enforces are exported for the handlers that report them.
 */
import { z } from "../lazy-zod.mjs";
import { BUS_NAMESPACES, type BusFilters, type BusRecord } from "../bus-record.ts";
import type { MemoryHit, MemoryRecord } from "../memory-record.ts";
import { MAX_VALUE_DEPTH, nestsDeeperThan } from "../payload-bytes.ts";
import { PLUGIN_ID_PATTERN } from "../plugin-id.ts";
import { type StaticUiInfo, staticUiRegistrationProblem } from "../static-ui.ts";
import { isWebUrl } from "../web-url.ts";
import type { PluginInfo } from "./plugin-info.ts";
import type { SystemInfo } from "./system-info.ts";
import { methodMap, returns } from "./method-map.ts";

export const MAX_MEMORY_KEY_LENGTH = 512;
export const MAX_MEMORY_BUCKET_LENGTH = 128;
export const MAX_MEMORY_VALUE_BYTES = 1024 * 1024;
export const MAX_MEMORY_QUERY_LENGTH = 2000;
export const MEMORY_SEARCH_LIMIT = { default: 10, max: 100 } as const;
export const MEMORY_GET_LIMIT = { default: 20, max: 1000 } as const;

export const MAX_EVENT_TYPE_LENGTH = 256;
export const MAX_RUN_STAGE_LENGTH = 256;
export const MAX_RUN_MESSAGE_LENGTH = 4096;
/** A `binary` export's bytes at most (docs/runs.md); a run holds at most MAX_RUN_BINARY_BYTES of them together. */
export const MAX_RUN_BINARY_ITEM_BYTES = 16 * 1024 * 1024;
export const MAX_RUN_BINARY_BYTES = 64 * 1024 * 1024;
/** A `binary` / `binary_url` export's `mime` and `name`. */
export const RUN_EXPORT_MIME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,63}\/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,63}$/;
export const MAX_RUN_EXPORT_NAME_LENGTH = 255;
/** Files uploaded to one run (`POST /runs/{id}/uploads`) at most; each is at most MAX_RUN_BINARY_ITEM_BYTES. */
export const MAX_RUN_UPLOADS = 100;
/** `run.upload.read` answers at most this many bytes at once: the SDK reads a larger upload in such chunks. */
export const MAX_RUN_UPLOAD_READ_BYTES = 1024 * 1024;
/** An export item's `label` at most, in characters (it counts against the run's 8 MiB of items). */
export const MAX_RUN_EXPORT_LABEL_LENGTH = 1024;

export const MESSAGE_TYPES = ["text", "url", "binary", "binary_url"] as const;
export type MessageType = (typeof MESSAGE_TYPES)[number];
export const MAX_MESSAGE_CONTENT_BYTES = 1024 * 1024;
export const MAX_MESSAGE_BINARY_BYTES = 1024 * 1024;
export const MAX_MESSAGE_DESCRIPTION_LENGTH = 4096;
export const MAX_MESSAGE_SOURCE_LENGTH = 128;
export const MAX_MESSAGE_METADATA_BYTES = 64 * 1024;

/** A plugin's configuration profiles: where they are declared, the active one, and each file. */
export interface ConfigProfileList {
  plugin_id: string;
  source: "profiles.toml" | "plugin.toml" | null;
  active: string | null;
  profiles: Array<{
    name: string;
    path: string;
    resolved_path: string | null;
    exists: boolean;
    problem: string | null;
  }>;
  /** The original N.E.K.O.'s fields: where profiles.toml is (or would be), and the declarations keyed by name. */
  profiles_path: string;
  profiles_exists: boolean;
  config_profiles: {
    active: string | null;
    files: Record<string, { path: string; resolved_path: string | null; exists: boolean }>;
  } | null;
}

/** No params: anything a plugin sends is ignored, as long as it is a map, or nothing at all. */
const empty = () => z.object({}).nullish();
const plainObject = (message: string) =>
  z.custom<Record<string, unknown>>(
    (v) => typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array),
    { error: message },
  );

// ---- plugins.* ----------------------------------------------------------------------------------------------------

const notPluginId = (issue: { input?: unknown }) => `${showValue(issue.input)} is not a plugin id`;
const pluginId = () => z.string({ error: notPluginId }).regex(PLUGIN_ID_PATTERN, { error: notPluginId });

/** What every cross-plugin call carries: the target, its args, the caller's chain and an optional shorter budget. */
const callTarget = () => ({
  pluginId: pluginId(),
  args: plainObject("args must be an object").default({}),
  /** The chain of the call the request is made in; its shape is checked with the cycle and depth (call-chain). */
  chain: z.unknown(),
  timeoutMs: z.number({ error: "timeoutMs must be a positive number" }).positive().optional(),
});

/** `plugins.call` (every cross-plugin call) checked by hand; anything unusual is left to the schema. */
function fastPluginsCall(params: unknown) {
  if (typeof params !== "object" || params === null || Array.isArray(params)) return undefined;
  const { pluginId, entryId, args, chain, timeoutMs, progressId } = params as Record<string, unknown>;
  if (typeof pluginId !== "string" || !PLUGIN_ID_PATTERN.test(pluginId)) return undefined;
  if (typeof entryId !== "string" || entryId.length === 0 || chain === undefined) return undefined;
  const argsOk = args === undefined || (isPlainObject(args) && !(args instanceof Uint8Array));
  if (!argsOk) return undefined;
  if (timeoutMs !== undefined && !(typeof timeoutMs === "number" && Number.isFinite(timeoutMs) && timeoutMs > 0)) {
    return undefined;
  }
  const progressOk =
    progressId === undefined || (typeof progressId === "string" && progressId.length >= 1 && progressId.length <= 128);
  if (!progressOk) return undefined;
  return {
    pluginId,
    args: (args ?? {}) as Record<string, unknown>,
    chain,
    entryId,
    ...(timeoutMs !== undefined && { timeoutMs: timeoutMs as number }),
    ...(progressId !== undefined && { progressId: progressId as string }),
  };
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

// ---- memory.* -----------------------------------------------------------------------------------------------------

const memoryText = (name: string, max: number) =>
  z
    .string({ error: `memory: the ${name} must be a non-empty string` })
    .min(1, { error: `memory: the ${name} must be a non-empty string` })
    .refine((v) => v.length <= max, {
      error: (issue) => `memory: the ${name} is ${(issue.input as string).length} characters long; the limit is ${max}`,
    });

const memoryLimit = (max: number) =>
  z
    .number({ error: `memory: limit must be a whole number from 1 to ${max}` })
    .int({ error: `memory: limit must be a whole number from 1 to ${max}` })
    .min(1, { error: `memory: limit must be a whole number from 1 to ${max}` })
    .max(max, { error: `memory: limit must be a whole number from 1 to ${max}` })
    .optional();

// ---- bus.* --------------------------------------------------------------------------------------------------------

const priority = (what: string) =>
  z
    .number({ error: `${what}priority must be a whole number from 0 to 10` })
    .int({ error: `${what}priority must be a whole number from 0 to 10` })
    .min(0, { error: `${what}priority must be a whole number from 0 to 10` })
    .max(10, { error: `${what}priority must be a whole number from 0 to 10` });

const namespace = () =>
  z.enum(BUS_NAMESPACES, {
    error: (issue) => `unknown bus namespace ${showValue(issue.input)}; known: ${BUS_NAMESPACES.join(", ")}`,
  });

const finite = (key: string) => z.number({ error: `filter '${key}' must be a number` }).finite();
const filterText = (key: string) => z.string({ error: `filter '${key}' must be a string` });

/** Filters from an untrusted plugin or an HTTP query: every field optional and of its type, nothing else. */
const busFilters = (): z.ZodType<BusFilters> =>
  z
    .strictObject(
      {
        pluginId: filterText("pluginId").nullish(),
        source: filterText("source").nullish(),
        type: filterText("type").nullish(),
        priorityMin: finite("priorityMin").nullish(),
        sinceTs: finite("sinceTs").nullish(),
        maxCount: z
          .number({ error: "filter 'maxCount' must be a whole number ≥ 0" })
          .int({ error: "filter 'maxCount' must be a whole number ≥ 0" })
          .min(0, { error: "filter 'maxCount' must be a whole number ≥ 0" })
          .nullish(),
      },
      {
        error: (issue) =>
          issue.code === "unrecognized_keys"
            ? `unknown filter '${issue.keys[0]}'; known: pluginId, source, type, priorityMin, sinceTs, maxCount`
            : "filters must be an object",
      },
    )
    .nullish()
    .transform((filters) => {
      const kept: BusFilters = {};
      for (const [key, value] of Object.entries(filters ?? {})) {
        if (value !== null && value !== undefined) (kept as Record<string, unknown>)[key] = value;
      }
      return kept;
    });

/** A bus query's answer: the namespace's revision when it was read, and the matching records. */
/** The namespaces whose records a plugin may delete (its own ones); `lifecycle` and `memory` are the host's record. */
export const BUS_DELETABLE_NAMESPACES = ["events", "messages", "conversations"] as const;
/** The most ids one `delete` takes. */
export const MAX_BUS_DELETE_IDS = 1000;

/** What `bus.<namespace>.delete(ids)` answers: the ids deleted, and those not kept (evicted, deleted, never). */
export interface BusDeleteAnswer {
  deleted: number[];
  missing: number[];
}

export interface BusQueryAnswer {
  revision: number;
  records: BusRecord[];
}

// ---- messages.push ------------------------------------------------------------------------------------------------

/** Base64 checked in linear time (a backtracking pattern runs out of stack on a multi-megabyte string). */
function isBase64(text: string): boolean {
  return text.length % 4 === 0 && /^[A-Za-z0-9+/]*={0,2}$/.test(text);
}

/** A value as the user wrote it, short enough for an error message; never throws, whatever the value. */
export function showValue(value: unknown): string {
  let text: string;
  try {
    text = typeof value === "string" ? `'${value.slice(0, 60)}'` : (JSON.stringify(value) ?? String(value));
  } catch {
    text = Array.isArray(value) ? "an array" : typeof value;
  }
  return text.length > 60 ? `${text.slice(0, 57)}…` : text;
}

/** A value a plugin hands the host to keep and pass on: at most MAX_VALUE_DEPTH deep (see `nestsDeeperThan`). */
const storable = (what: string) =>
  z.unknown().refine((v) => !nestsDeeperThan(v), { error: `${what} nests deeper than ${MAX_VALUE_DEPTH} levels` });

function jsonBytes(value: unknown): number {
  try {
    return Buffer.byteLength(JSON.stringify(value));
  } catch {
    return Number.POSITIVE_INFINITY;
  }
}

const MESSAGE_FIELDS = [
  "source",
  "messageType",
  "description",
  "priority",
  "content",
  "binaryData",
  "binaryUrl",
  "metadata",
] as const;

const badPriority = (issue: { input?: unknown }) =>
  `pushMessage: 'priority' must be a whole number from 0 to 10 (got ${showValue(issue.input)})`;

/** The rules of a queued message (docs/bus.md); each refusal names the field. `source` defaults to the sender. */
const pushMessage = () =>
  z
    .strictObject(
      {
        messageType: z
          .enum(MESSAGE_TYPES, {
            error: (issue) =>
              `pushMessage: 'messageType' must be one of ${MESSAGE_TYPES.join(", ")} (got ${showValue(issue.input)})`,
          })
          .nullish()
          .transform((v) => v ?? "text"),
        source: z
          .string({ error: `pushMessage: 'source' must be a string of 1–${MAX_MESSAGE_SOURCE_LENGTH} characters` })
          .min(1, { error: `pushMessage: 'source' must be a string of 1–${MAX_MESSAGE_SOURCE_LENGTH} characters` })
          .max(MAX_MESSAGE_SOURCE_LENGTH, {
            error: `pushMessage: 'source' must be a string of 1–${MAX_MESSAGE_SOURCE_LENGTH} characters`,
          })
          .nullish()
          .transform((v) => v ?? undefined),
        description: z
          .string({
            error: `pushMessage: 'description' must be a string of at most ${MAX_MESSAGE_DESCRIPTION_LENGTH} characters`,
          })
          .max(MAX_MESSAGE_DESCRIPTION_LENGTH, {
            error: `pushMessage: 'description' must be a string of at most ${MAX_MESSAGE_DESCRIPTION_LENGTH} characters`,
          })
          .nullish()
          .transform((v) => v ?? ""),
        priority: z
          .number({ error: badPriority })
          .int({ error: badPriority })
          .min(0, { error: badPriority })
          .max(10, { error: badPriority })
          .nullish()
          .transform((v) => v ?? 5),
        content: z
          .string({ error: `pushMessage: 'content' must be a string of at most ${MAX_MESSAGE_CONTENT_BYTES} bytes` })
          .refine((v) => Buffer.byteLength(v) <= MAX_MESSAGE_CONTENT_BYTES, {
            error: `pushMessage: 'content' must be a string of at most ${MAX_MESSAGE_CONTENT_BYTES} bytes`,
          })
          .nullish()
          .transform((v) => v ?? null),
        binaryData: z
          .custom<Uint8Array | string>(() => true)
          .nullish()
          .transform((v, ctx) => {
            if (v === undefined || v === null) return null;
            // A string far over the limit is refused by its length, before it is decoded (or even checked).
            const tooLong = typeof v === "string" && v.length > (MAX_MESSAGE_BINARY_BYTES / 3) * 4 + 4;
            const bytes =
              v instanceof Uint8Array
                ? Buffer.from(v.buffer, v.byteOffset, v.byteLength)
                : typeof v === "string" && !tooLong && isBase64(v)
                  ? Buffer.from(v, "base64")
                  : undefined;
            if (tooLong) {
              ctx.addIssue({
                code: "custom",
                message: `pushMessage: 'binaryData' is about ${Math.floor((v.length / 4) * 3)} bytes; the limit is ${MAX_MESSAGE_BINARY_BYTES}`,
              });
              return z.NEVER;
            }
            if (!bytes) {
              ctx.addIssue({
                code: "custom",
                message: "pushMessage: 'binaryData' must be bytes (a Uint8Array) or a base64 string",
              });
              return z.NEVER;
            }
            if (bytes.length > MAX_MESSAGE_BINARY_BYTES) {
              ctx.addIssue({
                code: "custom",
                message: `pushMessage: 'binaryData' is ${bytes.length} bytes; the limit is ${MAX_MESSAGE_BINARY_BYTES}`,
              });
              return z.NEVER;
            }
            return bytes.toString("base64");
          }),
        binaryUrl: z
          .custom<string>(() => true)
          .nullish()
          .refine((v) => v === undefined || v === null || isWebUrl(v), {
            error: (issue) => `pushMessage: 'binaryUrl' must be an http(s) URL (got ${showValue(issue.input)})`,
          })
          .transform((v) => v ?? null),
        metadata: plainObject("pushMessage: 'metadata' must be an object")
          .refine((v) => !nestsDeeperThan(v) && jsonBytes(v) <= MAX_MESSAGE_METADATA_BYTES, {
            error: `pushMessage: 'metadata' must be at most ${MAX_MESSAGE_METADATA_BYTES} bytes as JSON, nested at most ${MAX_VALUE_DEPTH} deep`,
          })
          .nullish()
          .transform((v) => v ?? {}),
      },
      {
        error: (issue) =>
          issue.code === "unrecognized_keys"
            ? `pushMessage: unknown field '${issue.keys[0]}'; known: ${MESSAGE_FIELDS.join(", ")}`
            : "pushMessage: the message must be an object",
      },
    )
    .superRefine((m, ctx) => {
      const refuse = (field: string, message: string) =>
        ctx.addIssue({ code: "custom", path: [field], message: `pushMessage: ${message}` });
      if (m.messageType === "text" && !m.content) {
        refuse("content", "'content' is required (a non-empty string) for messageType 'text'");
      } else if (m.messageType === "url" && !isWebUrl(m.content)) {
        refuse("content", `'content' must be an http(s) URL for messageType 'url' (got ${showValue(m.content)})`);
      } else if (m.messageType === "binary" && !m.binaryData) {
        refuse("binaryData", "'binaryData' is required (non-empty bytes) for messageType 'binary'");
      } else if (m.messageType === "binary_url" && m.binaryUrl === null) {
        refuse("binaryUrl", "'binaryUrl' is required for messageType 'binary_url'");
      }
    });

// ---- run.* --------------------------------------------------------------------------------------------------------

const runId = () => z.string({ error: "runId must be a string" });
const badProgress = (issue: { input?: unknown }) =>
  `runUpdate: 'progress' must be a number from 0 to 100 (percent), got ${showValue(issue.input)}`;

const exportMime = () =>
  z
    .string({ error: "exportPush: 'mime' must be a media type like 'image/png'" })
    .regex(RUN_EXPORT_MIME_PATTERN, { error: "exportPush: 'mime' must be a media type like 'image/png'" })
    .optional();
const exportName = () =>
  z
    .string({ error: `exportPush: 'name' must be a file name of 1 to ${MAX_RUN_EXPORT_NAME_LENGTH} characters` })
    .min(1, { error: `exportPush: 'name' must be a file name of 1 to ${MAX_RUN_EXPORT_NAME_LENGTH} characters` })
    .max(MAX_RUN_EXPORT_NAME_LENGTH, {
      error: `exportPush: 'name' must be a file name of 1 to ${MAX_RUN_EXPORT_NAME_LENGTH} characters`,
    })
    .optional();
const exportLabel = () =>
  z
    .string({ error: `exportPush: 'label' must be a string of at most ${MAX_RUN_EXPORT_LABEL_LENGTH} characters` })
    .max(MAX_RUN_EXPORT_LABEL_LENGTH, {
      error: (issue) =>
        `exportPush: 'label' is ${(issue.input as string).length} characters; at most ${MAX_RUN_EXPORT_LABEL_LENGTH}`,
    })
    .optional();
const badCount = (field: string) => (issue: { input?: unknown }) =>
  `runUpdate: '${field}' must be a whole number, 0 or more, got ${showValue(issue.input)}`;
const badEta = (issue: { input?: unknown }) =>
  `runUpdate: 'eta' must be a number of seconds, 0 or more, got ${showValue(issue.input)}`;

/** One item `exportPush` attaches to a run. */
const runExport = () =>
  z.discriminatedUnion(
    "type",
    [
      z.object({
        type: z.literal("text"),
        text: z.string({ error: "exportPush: 'text' (a string) is required for type 'text'" }),
        label: exportLabel(),
      }),
      z.object({
        type: z.literal("json"),
        json: z
          .unknown()
          .refine((v) => v !== undefined, { error: "exportPush: 'json' is required for type 'json'" })
          .refine((v) => !nestsDeeperThan(v) && jsonBytes(v) !== Number.POSITIVE_INFINITY, {
            error: `exportPush: 'json' must be a JSON-compatible value, nested at most ${MAX_VALUE_DEPTH} deep`,
          }),
        label: exportLabel(),
      }),
      z.object({
        type: z.literal("url"),
        url: z
          .string({ error: "exportPush: 'url' must be an http(s) URL for type 'url'" })
          .refine(isWebUrl, { error: "exportPush: 'url' must be an http(s) URL for type 'url'" }),
        label: exportLabel(),
      }),
      z.object({
        type: z.literal("binary"),
        binary: z
          .custom<Uint8Array>((v) => v instanceof Uint8Array && v.byteLength > 0, {
            error: "exportPush: 'binary' (non-empty bytes, a Uint8Array) is required for type 'binary'",
          })
          .refine((v) => v.byteLength <= MAX_RUN_BINARY_ITEM_BYTES, {
            error: (issue) =>
              `exportPush: 'binary' is ${(issue.input as Uint8Array).byteLength} bytes; the limit is ${MAX_RUN_BINARY_ITEM_BYTES} (16 MiB) per item`,
          }),
        mime: exportMime(),
        name: exportName(),
        label: exportLabel(),
      }),
      z.object({
        type: z.literal("binary_url"),
        url: z
          .string({ error: "exportPush: 'url' must be an http(s) URL for type 'binary_url'" })
          .refine(isWebUrl, { error: "exportPush: 'url' must be an http(s) URL for type 'binary_url'" }),
        mime: exportMime(),
        name: exportName(),
        label: exportLabel(),
      }),
    ],
    {
      error: (issue) =>
        typeof issue.input === "object" && issue.input !== null
          ? `exportPush: 'type' must be 'text', 'json', 'url', 'binary' or 'binary_url' (got ${showValue((issue.input as { type?: unknown }).type)})`
          : "exportPush: the item must be an object like { type: 'text', text }",
    },
  );
export type RunExportInput = z.output<ReturnType<typeof runExport>>;

/** A file a client uploaded to a run (`POST /runs/{id}/uploads`), as the run's plugin sees it. */
export interface RunUploadInfo {
  uploadId: string;
  name: string;
  mime: string;
  size: number;
  /** ISO time of the upload. */
  time: string;
}

export interface RunStatusAnswer {
  runId: string;
  status: string;
}

// ---- the map ------------------------------------------------------------------------------------------------------

export const pluginToHostRequests = methodMap({
  "system.info": { params: empty, result: returns<SystemInfo>() },

  "plugins.list": { params: empty, result: returns<PluginInfo[]>() },
  "plugins.get": {
    params: () => z.object({ id: z.string({ error: "plugins.get needs an 'id' string" }) }),
    result: returns<PluginInfo | null>(),
  },
  "plugins.call": {
    params: () =>
      z.object({
        ...callTarget(),
        entryId: z
          .string({ error: "plugins.call needs an 'entryId' string" })
          .min(1, { error: "plugins.call needs an 'entryId' string" }),
        /** Run the call as a run and push its progress to the caller as `call.progress` with this id. */
        progressId: z.string().min(1).max(128).optional(),
      }),
    /** The target entry's result, passed through unchanged (an Err too). */
    result: returns<unknown>(),
    fast: fastPluginsCall,
  },
  "plugins.callEvent": {
    params: () =>
      z.object({
        ...callTarget(),
        eventType: z
          .string({ error: "plugins.callEvent needs 'eventType' and 'eventId' strings" })
          .min(1, { error: "plugins.callEvent needs 'eventType' and 'eventId' strings" }),
        eventId: z
          .string({ error: "plugins.callEvent needs 'eventType' and 'eventId' strings" })
          .min(1, { error: "plugins.callEvent needs 'eventType' and 'eventId' strings" }),
      }),
    result: returns<unknown>(),
  },

  "memory.store": {
    params: () =>
      z.object({
        key: memoryText("key", MAX_MEMORY_KEY_LENGTH),
        /** JSON-compatible, at most MAX_MEMORY_VALUE_BYTES as JSON: checked by the service, which names the bad part. */
        value: z.unknown(),
        bucket: memoryText("bucket", MAX_MEMORY_BUCKET_LENGTH),
      }),
    result: returns<MemoryRecord>(),
  },
  "memory.search": {
    params: () =>
      z.object({
        query: z.string({ error: "memory.search: the query must be a string" }).max(MAX_MEMORY_QUERY_LENGTH, {
          error: `memory.search: the query is longer than ${MAX_MEMORY_QUERY_LENGTH} characters`,
        }),
        bucket: memoryText("bucket", MAX_MEMORY_BUCKET_LENGTH).optional(),
        limit: memoryLimit(MEMORY_SEARCH_LIMIT.max),
      }),
    result: returns<MemoryHit[]>(),
  },
  "memory.get": {
    params: () =>
      z.object({
        bucket: memoryText("bucket", MAX_MEMORY_BUCKET_LENGTH),
        limit: memoryLimit(MEMORY_GET_LIMIT.max),
      }),
    result: returns<MemoryRecord[]>(),
  },

  "config.update": {
    // Checked by the configuration service, as the HTTP hot update is, so both refuse with CONFIG_INVALID.
    params: () =>
      z.object({
        patch: z.custom<Record<string, unknown>>(() => true),
        mode: z
          .custom<"temporary" | "permanent">(() => true)
          .nullish()
          .transform((v) => v ?? "permanent"),
        /** An extension of the calling plugin whose own configuration this is (docs/extensions.md). */
        extension: z.string().min(1).optional(),
      }),
    result: returns<{
      plugin_id: string;
      mode: string;
      config: Record<string, unknown>;
      profile: string | null;
      applied: boolean;
    }>(),
  },

  /** The calling plugin's configuration profiles (or an extension's of it), as `GET /plugin/{id}/config/profiles`. */
  "config.profiles": {
    params: () => z.object({ extension: z.string().min(1).optional() }),
    result: returns<ConfigProfileList>(),
  },
  /** One profile file's own content, as `GET /plugin/{id}/config/profiles/{name}`. */
  "config.profile": {
    params: () =>
      z.object({
        name: z.string({ error: "config.profile: the name must be a string" }).min(1),
        extension: z.string().min(1).optional(),
      }),
    result: returns<{
      plugin_id: string;
      name: string;
      path: string;
      active: boolean;
      profile: { name: string; path: string; resolved_path: string | null; exists: boolean };
      config: Record<string, unknown>;
    }>(),
  },

  "static_ui.register": {
    params: () =>
      z
        .object(
          { dir: z.unknown(), indexFile: z.unknown(), cacheControl: z.unknown() },
          { error: "registerStaticUi: the registration must be an object { dir, indexFile, cacheControl }" },
        )
        .superRefine((value, ctx) => {
          const problem = staticUiRegistrationProblem(value);
          if (problem)
            ctx.addIssue({ code: "custom", path: [problem.field], message: `registerStaticUi: ${problem.message}` });
        })
        .transform((v) => v as { dir: string; indexFile: string; cacheControl: string }),
    result: returns<StaticUiInfo>(),
  },

  "messages.push": { params: pushMessage, result: returns<{ id: number }>() },

  /** Answered after every earlier frame of the plugin was handled: its subscriptions and emits are in. */
  "bus.flush": { params: empty, result: returns<null>() },
  "bus.query": {
    params: () => z.object({ namespace: namespace(), filters: busFilters() }),
    result: returns<BusQueryAnswer>(),
  },
  "bus.watch": {
    params: () =>
      z.object({
        watchId: z
          .string({ error: "watchId must be a non-empty string" })
          .min(1, { error: "watchId must be a non-empty string" }),
        namespace: namespace(),
        filters: busFilters(),
      }),
    result: returns<BusQueryAnswer>(),
  },
  "bus.delete": {
    params: () =>
      z.object({
        namespace: z.enum(BUS_DELETABLE_NAMESPACES, {
          error: (issue) =>
            `bus delete: records of ${showValue(issue.input)} cannot be deleted; a plugin deletes its own records of ` +
            `${BUS_DELETABLE_NAMESPACES.join(", ")}`,
        }),
        ids: z
          .array(
            z
              .number({ error: "bus delete: ids must be whole numbers ≥ 1" })
              .int({ error: "bus delete: ids must be whole numbers ≥ 1" })
              .min(1, { error: "bus delete: ids must be whole numbers ≥ 1" }),
            { error: "bus delete: ids must be an array of record ids" },
          )
          .min(1, { error: "bus delete: give at least one id" })
          .max(MAX_BUS_DELETE_IDS, { error: `bus delete: at most ${MAX_BUS_DELETE_IDS} ids at once` }),
      }),
    result: returns<BusDeleteAnswer>(),
  },
  "bus.append": {
    params: () =>
      z.object({
        namespace: z.literal("conversations", {
          error: "plugins may only add records to 'conversations'; the other namespaces are written by the host",
        }),
        record: z
          .object({
            type: z
              .string({ error: "conversation record: type must be a non-empty string" })
              .min(1, { error: "conversation record: type must be a non-empty string" })
              .max(MAX_EVENT_TYPE_LENGTH, { error: "conversation record: type must be a non-empty string" })
              .nullish()
              .transform((v) => v ?? "conversation"),
            priority: priority("conversation record: ").optional(),
            source: z
              .string({
                error: `conversation record: source must be a string of 1–${MAX_MESSAGE_SOURCE_LENGTH} characters`,
              })
              .min(1, {
                error: `conversation record: source must be a string of 1–${MAX_MESSAGE_SOURCE_LENGTH} characters`,
              })
              .max(MAX_MESSAGE_SOURCE_LENGTH, {
                error: `conversation record: source must be a string of 1–${MAX_MESSAGE_SOURCE_LENGTH} characters`,
              })
              .optional(),
            data: storable("conversation record: data")
              .optional()
              .transform((v) => v ?? null),
          })
          .nullish()
          .transform((r) => r ?? { type: "conversation", data: null }),
      }),
    result: returns<BusRecord>(),
  },

  "run.update": {
    params: () =>
      z
        .object({
          runId: runId(),
          progress: z
            .number({ error: badProgress })
            .min(0, { error: badProgress })
            .max(100, { error: badProgress })
            .optional(),
          stage: z
            .string({ error: `runUpdate: 'stage' must be a string of at most ${MAX_RUN_STAGE_LENGTH} characters` })
            .max(MAX_RUN_STAGE_LENGTH, {
              error: `runUpdate: 'stage' must be a string of at most ${MAX_RUN_STAGE_LENGTH} characters`,
            })
            .optional(),
          message: z
            .string({ error: `runUpdate: 'message' must be a string of at most ${MAX_RUN_MESSAGE_LENGTH} characters` })
            .max(MAX_RUN_MESSAGE_LENGTH, {
              error: `runUpdate: 'message' must be a string of at most ${MAX_RUN_MESSAGE_LENGTH} characters`,
            })
            .optional(),
          step: z
            .number({ error: badCount("step") })
            .int({ error: badCount("step") })
            .min(0, { error: badCount("step") })
            .max(Number.MAX_SAFE_INTEGER, { error: badCount("step") })
            .optional(),
          stepTotal: z
            .number({ error: badCount("stepTotal") })
            .int({ error: badCount("stepTotal") })
            .min(0, { error: badCount("stepTotal") })
            .max(Number.MAX_SAFE_INTEGER, { error: badCount("stepTotal") })
            .optional(),
          eta: z
            .number({ error: badEta })
            .min(0, { error: badEta })
            .max(Number.MAX_SAFE_INTEGER, { error: badEta })
            .optional(),
        })
        .refine(
          (u) =>
            u.progress !== undefined ||
            u.stage !== undefined ||
            u.message !== undefined ||
            u.step !== undefined ||
            u.stepTotal !== undefined ||
            u.eta !== undefined,
          {
            path: ["progress"],
            error: "runUpdate: give at least one of progress, stage, message, step, stepTotal, eta",
          },
        )
        .refine((u) => u.step === undefined || u.stepTotal === undefined || u.step <= u.stepTotal, {
          path: ["step"],
          error: "runUpdate: 'step' must not be greater than 'stepTotal'",
        }),
    result: returns<RunStatusAnswer>(),
  },
  "run.export": {
    params: () => z.object({ runId: runId(), item: runExport() }),
    result: returns<{ runId: string; seq: number }>(),
  },
  "run.uploads": {
    params: () => z.object({ runId: runId() }),
    result: returns<RunUploadInfo[]>(),
  },
  "run.upload.read": {
    params: () =>
      z.object({
        runId: runId(),
        uploadId: z.string({ error: "readRunUpload: 'uploadId' must be a string" }).max(64, {
          error: "readRunUpload: 'uploadId' is too long (at most 64 characters)",
        }),
        offset: z
          .number({ error: "readRunUpload: 'offset' must be a whole number, 0 or more" })
          .int({ error: "readRunUpload: 'offset' must be a whole number, 0 or more" })
          .min(0, { error: "readRunUpload: 'offset' must be a whole number, 0 or more" })
          .optional(),
        length: z
          .number({ error: `readRunUpload: 'length' must be a whole number from 1 to ${MAX_RUN_UPLOAD_READ_BYTES}` })
          .int({ error: `readRunUpload: 'length' must be a whole number from 1 to ${MAX_RUN_UPLOAD_READ_BYTES}` })
          .min(1, { error: `readRunUpload: 'length' must be a whole number from 1 to ${MAX_RUN_UPLOAD_READ_BYTES}` })
          .max(MAX_RUN_UPLOAD_READ_BYTES, {
            error: `readRunUpload: 'length' must be a whole number from 1 to ${MAX_RUN_UPLOAD_READ_BYTES}`,
          })
          .optional(),
      }),
    /** One chunk: `data` is the bytes from `offset` on, at most `length` (default and most: 1 MiB). */
    result: returns<RunUploadInfo & { offset: number; data: Uint8Array }>(),
  },
  "run.finish": {
    params: () =>
      z.object({
        runId: runId(),
        data: storable("finish: data")
          .optional()
          .transform((v) => v ?? null),
        reply: storable("finish: reply")
          .optional()
          .transform((v) => v ?? null),
      }),
    result: returns<RunStatusAnswer>(),
  },
});

export type PluginToHostRequests = typeof pluginToHostRequests;
export type PluginRequestMethod = keyof PluginToHostRequests & string;
