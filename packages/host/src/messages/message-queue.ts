/**
 * The host message queue behind `this.pushMessage` and `GET /plugin/messages[/stream]`: checks each message's
 * fields, keeps them in the bus's `messages` namespace (bounded by count and bytes; the oldest dropped and
 * counted) and serves cursor pages and live subscriptions. A message's id is its cursor. Documented in docs/bus.md.
 */
import { Buffer } from "node:buffer";
import type { BusRecord, WireResult } from "@neko/protocol";
import type { HostServices } from "../host-services.ts";
import type { BusRecordStore } from "../bus/bus-record-store.ts";
import { isWebUrl } from "../web-url.ts";
import { validationFailure, type WireFailure } from "../wire-result.ts";

export const MESSAGE_TYPES = ["text", "url", "binary", "binary_url"] as const;
export type MessageType = (typeof MESSAGE_TYPES)[number];

export const DEFAULT_MESSAGE_CAPACITY = 10_000;
export const DEFAULT_MESSAGE_MAX_BYTES = 64 * 1024 * 1024;
const MAX_CONTENT_BYTES = 1024 * 1024;
const MAX_BINARY_BYTES = 1024 * 1024;
const MAX_DESCRIPTION_LENGTH = 4096;
const MAX_SOURCE_LENGTH = 128;
const MAX_METADATA_BYTES = 64 * 1024;
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

/** What a message keeps in its bus record's `data`. */
export interface MessageData {
  messageType: MessageType;
  description: string;
  content: string | null;
  /** Base64. */
  binaryData: string | null;
  binaryUrl: string | null;
  metadata: Record<string, unknown>;
}

/** A message as the HTTP API shows it. */
export interface MessageView {
  id: number;
  plugin_id: string | null;
  source: string;
  message_type: MessageType;
  description: string;
  priority: number;
  content: string | null;
  binary_data: string | null;
  binary_url: string | null;
  metadata: Record<string, unknown>;
  time: string;
}

export interface MessageQuery {
  pluginId?: string;
  priorityMin?: number;
  /** Only messages with an id above this. */
  after?: number;
  maxCount?: number;
}

export interface MessagePage {
  messages: MessageView[];
  /** Pass as `after` to continue; past messages the filters skipped. */
  next_cursor: number;
  has_more: boolean;
  /** Messages dropped from the queue since the host started (oldest first, to stay within its bounds). */
  dropped: number;
  /** Messages after the given cursor that were dropped before they could be read. */
  missed: number;
}

/** What the server may ask of the message queue. */
export interface MessagesApi {
  list(query?: MessageQuery): MessagePage;
  /** Messages added from now on, in order. */
  subscribe(listener: (message: MessageView) => void): () => void;
  readonly latestId: number;
}

export class MessageQueue implements MessagesApi {
  constructor(
    private readonly store: BusRecordStore,
    services: HostServices,
  ) {
    services.handle("messages.push", (params, ctx) => this.push(ctx.pluginId, params));
  }

  get latestId(): number {
    return this.store.latestId;
  }

  /** Checks the fields and queues the message; `Ok({ id })` or `Err(ValidationError)` naming the field. */
  push(pluginId: string, input: unknown): WireResult {
    const checked = checkMessage(input, pluginId);
    if (!checked.ok) return checked;
    const { source, priority, data } = checked.value;
    const record = this.store.append({ type: data.messageType, pluginId, source, priority, data });
    return { ok: true, value: { id: record.id } };
  }

  list(query: MessageQuery = {}): MessagePage {
    const after = query.after ?? 0;
    const limit = query.maxCount ?? 100;
    // A cursor from before a host restart is ahead of every id: read from the start again.
    const cursor = after > this.store.latestId ? 0 : after;
    const filters = { pluginId: query.pluginId, priorityMin: query.priorityMin };
    const page = this.store.after(cursor, filters, limit);
    return {
      messages: page.records.map(messageView),
      next_cursor: page.scannedTo,
      has_more: page.scannedTo < this.store.latestId,
      dropped: this.store.evicted,
      missed: page.missed,
    };
  }

  subscribe(listener: (message: MessageView) => void): () => void {
    return this.store.onChange((change) => {
      for (const record of change.added) listener(messageView(record));
    });
  }
}

export function messageView(record: BusRecord): MessageView {
  const data = record.data as MessageData;
  return {
    id: record.id,
    plugin_id: record.pluginId,
    source: record.source,
    message_type: data.messageType,
    description: data.description,
    priority: record.priority,
    content: data.content,
    binary_data: data.binaryData,
    binary_url: data.binaryUrl,
    metadata: data.metadata,
    time: new Date(record.ts).toISOString(),
  };
}

type Checked = { ok: true; value: { source: string; priority: number; data: MessageData } } | WireFailure;

function refuse(field: string, message: string): WireFailure {
  return validationFailure(`pushMessage: ${message}`, field);
}

/** The message rules (docs/bus.md): each refusal names the field. */
export function checkMessage(input: unknown, pluginId: string): Checked {
  if (typeof input !== "object" || input === null || Array.isArray(input)) {
    return refuse("message", "the message must be an object");
  }
  const m = input as Record<string, unknown>;
  for (const key of Object.keys(m)) {
    if (!(MESSAGE_FIELDS as readonly string[]).includes(key) && m[key] !== undefined) {
      return refuse(key, `unknown field '${key}'; known: ${MESSAGE_FIELDS.join(", ")}`);
    }
  }
  const messageType = m.messageType ?? "text";
  if (typeof messageType !== "string" || !(MESSAGE_TYPES as readonly string[]).includes(messageType)) {
    return refuse("messageType", `'messageType' must be one of ${MESSAGE_TYPES.join(", ")} (got ${show(messageType)})`);
  }
  const source = m.source ?? pluginId;
  if (typeof source !== "string" || source.length === 0 || source.length > MAX_SOURCE_LENGTH) {
    return refuse("source", `'source' must be a string of 1–${MAX_SOURCE_LENGTH} characters`);
  }
  const description = m.description ?? "";
  if (typeof description !== "string" || description.length > MAX_DESCRIPTION_LENGTH) {
    return refuse("description", `'description' must be a string of at most ${MAX_DESCRIPTION_LENGTH} characters`);
  }
  const priority = m.priority ?? 5;
  if (!Number.isInteger(priority) || (priority as number) < 0 || (priority as number) > 10) {
    return refuse("priority", `'priority' must be a whole number from 0 to 10 (got ${show(priority)})`);
  }
  const content = m.content ?? null;
  if (content !== null && (typeof content !== "string" || Buffer.byteLength(content) > MAX_CONTENT_BYTES)) {
    return refuse("content", `'content' must be a string of at most ${MAX_CONTENT_BYTES} bytes`);
  }
  if (messageType === "text" && !content) {
    return refuse("content", "'content' is required (a non-empty string) for messageType 'text'");
  }
  if (messageType === "url" && !isWebUrl(content)) {
    return refuse("content", `'content' must be an http(s) URL for messageType 'url' (got ${show(content)})`);
  }
  let binaryData: string | null = null;
  if (m.binaryData !== undefined && m.binaryData !== null) {
    const bytes = toBytes(m.binaryData);
    if (!bytes) return refuse("binaryData", "'binaryData' must be bytes (a Uint8Array) or a base64 string");
    if (bytes.length > MAX_BINARY_BYTES) {
      return refuse("binaryData", `'binaryData' is ${bytes.length} bytes; the limit is ${MAX_BINARY_BYTES}`);
    }
    binaryData = bytes.toString("base64");
  }
  if (messageType === "binary" && !binaryData) {
    return refuse("binaryData", "'binaryData' is required (non-empty bytes) for messageType 'binary'");
  }
  const binaryUrl = m.binaryUrl ?? null;
  if (binaryUrl !== null && !isWebUrl(binaryUrl)) {
    return refuse("binaryUrl", `'binaryUrl' must be an http(s) URL (got ${show(binaryUrl)})`);
  }
  if (messageType === "binary_url" && binaryUrl === null) {
    return refuse("binaryUrl", "'binaryUrl' is required for messageType 'binary_url'");
  }
  const metadata = m.metadata ?? {};
  if (typeof metadata !== "object" || metadata === null || Array.isArray(metadata)) {
    return refuse("metadata", "'metadata' must be an object");
  }
  if (metadataBytes(metadata as Record<string, unknown>) > MAX_METADATA_BYTES) {
    return refuse("metadata", `'metadata' must be at most ${MAX_METADATA_BYTES} bytes as JSON`);
  }
  return {
    ok: true,
    value: {
      source,
      priority: priority as number,
      data: {
        messageType: messageType as MessageType,
        description,
        content: content as string | null,
        binaryData,
        binaryUrl: binaryUrl as string | null,
        metadata: metadata as Record<string, unknown>,
      },
    },
  };
}

function metadataBytes(metadata: Record<string, unknown>): number {
  try {
    return Buffer.byteLength(JSON.stringify(metadata));
  } catch {
    return Number.POSITIVE_INFINITY;
  }
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function toBytes(value: unknown): Buffer | undefined {
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  if (typeof value === "string" && BASE64.test(value)) return Buffer.from(value, "base64");
  return undefined;
}

function show(value: unknown): string {
  const text = typeof value === "string" ? `'${value}'` : (JSON.stringify(value) ?? String(value));
  return text.length > 60 ? `${text.slice(0, 57)}…` : text;
}
