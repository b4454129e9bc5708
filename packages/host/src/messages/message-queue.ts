/**
 * The host message queue behind `this.pushMessage` and `GET /plugin/messages[/stream]`: checks each message's
 * fields, keeps them in the bus's `messages` namespace (bounded by count and bytes; the oldest dropped and
 * counted) and serves cursor pages and live subscriptions. A message's id is its cursor. Documented in docs/bus.md.
 */
import {
  type BusRecord,
  checkParams,
  type Disposable,
  MESSAGE_TYPES,
  type MessageType,
  type ParamsOut,
  type PluginToHostRequests,
  pluginToHostRequests,
  type WireResult,
} from "@neko/protocol";
import type { BusRecordStore } from "../bus/bus-record-store.ts";
import type { HostContext } from "../host-context.ts";
import { validationFailure, type WireFailure } from "../wire-result.ts";

export { MESSAGE_TYPES, type MessageType };

export const DEFAULT_MESSAGE_CAPACITY = 10_000;
export const DEFAULT_MESSAGE_MAX_BYTES = 64 * 1024 * 1024;

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
  /** Messages added from now on, in order; dispose to stop. */
  subscribe(listener: (message: MessageView) => void): Disposable;
  readonly latestId: number;
}

export class MessageQueue implements MessagesApi, Disposable {
  private readonly registration: Disposable;

  constructor(
    private readonly store: BusRecordStore,
    ctx: HostContext,
  ) {
    this.registration = ctx.services.handle("messages.push", (message, { pluginId }) =>
      this.enqueue(pluginId, messageOf(message, pluginId)),
    );
  }

  dispose(): void {
    this.registration.dispose();
  }

  get latestId(): number {
    return this.store.latestId;
  }

  /** Checks the fields and queues the message; `Ok({ id })` or `Err(ValidationError)` naming the field. */
  push(pluginId: string, input: unknown): WireResult {
    const checked = checkMessage(input, pluginId);
    return checked.ok ? this.enqueue(pluginId, checked.value) : checked;
  }

  private enqueue(pluginId: string, message: QueuedMessage): { ok: true; value: { id: number } } {
    const { source, priority, data } = message;
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

  subscribe(listener: (message: MessageView) => void): Disposable {
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

interface QueuedMessage {
  source: string;
  priority: number;
  data: MessageData;
}

/** The message rules of the contract (`messages.push`, docs/bus.md): each refusal names the field. */
export function checkMessage(input: unknown, pluginId: string): { ok: true; value: QueuedMessage } | WireFailure {
  if (typeof input !== "object" || input === null || Array.isArray(input)) {
    return validationFailure("pushMessage: the message must be an object", "message");
  }
  const checked = checkParams(pluginToHostRequests["messages.push"].params, input, "pushMessage");
  return checked.ok ? { ok: true, value: messageOf(checked.value, pluginId) } : checked;
}

function messageOf(m: ParamsOut<PluginToHostRequests, "messages.push">, pluginId: string): QueuedMessage {
  return {
    source: m.source ?? pluginId,
    priority: m.priority,
    data: {
      messageType: m.messageType,
      description: m.description,
      content: m.content,
      binaryData: m.binaryData,
      binaryUrl: m.binaryUrl,
      metadata: m.metadata,
    },
  };
}
