/**
 * The bus (SPEC §4.4), host side: fans events out from publishers to subscribed plugins (ordered per publisher,
 * at-most-once, bounded per-subscriber queues with drop counts), keeps the queryable namespaces, serves their
 * queries and watches, and writes the host's own records (lifecycle changes, one `events` record per entry call).
 * A plugin's subscriptions and watches end when its process stops or crashes. Documented in docs/bus.md.
 */
import {
  BUS_NAMESPACES,
  type BusEvent,
  type BusFilters,
  type BusNamespaceName,
  type BusRecord,
  payloadBytes,
  MAX_BUS_PAYLOAD_BYTES,
} from "@neko/protocol";
import type { HostLogger } from "../host-logger.ts";
import type { HostServices } from "../host-services.ts";
import type { StateChange } from "../supervisor/plugin-state.ts";
import type { FinishedCall, PluginSupervisor } from "../supervisor/plugin-supervisor.ts";
import {
  type BusNamespaceStats,
  type BusRecordInput,
  BusRecordStore,
  type BusRecordStoreOptions,
  matchesBusFilters,
} from "./bus-record-store.ts";
import { validationFailure, type WireFailure } from "../wire-result.ts";
import { SubscriberChannel, type SubscriberStats } from "./subscriber-channel.ts";

export interface HostBusOptions {
  /** Events queued per subscribing plugin before the oldest is dropped (default 1000). */
  queueLimit?: number;
  /** Events and deltas a plugin may have un-acknowledged at once (default 1024). */
  deliveryWindow?: number;
  /** Records kept per namespace (default 10 000). */
  namespaceCapacity?: number;
  /** Bytes of records kept per namespace (default 32 MiB); the oldest records go first. */
  namespaceMaxBytes?: number;
  /** Per-namespace overrides, e.g. the message queue's own bounds for `messages`. */
  namespaces?: Partial<Record<BusNamespaceName, Omit<BusRecordStoreOptions, "namespace" | "logger">>>;
}

export interface BusStats {
  published: number;
  /** Events dropped for all subscribers so far, including plugins that have since stopped. */
  dropped_total: number;
  subscribers: SubscriberStats[];
  namespaces: Record<BusNamespaceName, BusNamespaceStats>;
}

/** What the server may ask of the bus. */
export interface BusApi {
  /** Publishes as the host (or as `publisher`): recorded in `events` and fanned out to subscribers. */
  emit(type: string, payload: unknown, options?: { publisher?: string | null; priority?: number }): BusEvent;
  query(namespace: BusNamespaceName, filters?: BusFilters): { revision: number; records: BusRecord[] };
  /** Every published event, for the server's live streams. */
  onEvent(listener: (event: BusEvent) => void): () => void;
  stats(): BusStats;
}

interface Watch {
  pluginId: string;
  watchId: string;
  namespace: BusNamespaceName;
  filters: BusFilters;
}

const MAX_TYPE_LENGTH = 256;
const MAX_SUBSCRIPTIONS_PER_PLUGIN = 1000;
const MAX_WATCHES_PER_PLUGIN = 256;

/** Lifecycle record type for each plugin state. */
const LIFECYCLE_TYPES: Record<string, string> = {
  starting: "plugin_starting",
  running: "plugin_started",
  stopping: "plugin_stopping",
  stopped: "plugin_stopped",
  crashed: "plugin_crashed",
  quarantined: "plugin_quarantined",
  frozen: "plugin_frozen",
  disabled: "plugin_disabled",
  refused: "plugin_refused",
};
const ALARMING_STATES = new Set(["crashed", "quarantined", "refused"]);

export class HostBus implements BusApi {
  private readonly stores: Record<BusNamespaceName, BusRecordStore>;
  private readonly channels = new Map<string, SubscriberChannel>();
  private readonly watches = new Map<BusNamespaceName, Map<string, Watch>>();
  private readonly eventListeners = new Set<(event: BusEvent) => void>();
  private readonly disposers: Array<() => void> = [];
  private published = 0;
  /** Drops counted by channels that have since closed. */
  private droppedByClosed = 0;

  constructor(
    private readonly supervisor: PluginSupervisor,
    services: HostServices,
    private readonly logger: HostLogger,
    private readonly options: HostBusOptions = {},
  ) {
    const stores = {} as Record<BusNamespaceName, BusRecordStore>;
    for (const namespace of BUS_NAMESPACES) {
      const store = new BusRecordStore({
        namespace,
        logger,
        capacity: options.namespaceCapacity,
        maxBytes: options.namespaceMaxBytes,
        ...options.namespaces?.[namespace],
      });
      stores[namespace] = store;
      this.watches.set(namespace, new Map());
      store.onChange((change) => this.feedWatches(namespace, change.revision, change.added, change.removed));
    }
    this.stores = stores;
    this.disposers.push(
      supervisor.addStateListener((pluginId, change) => this.onPluginState(pluginId, change)),
      supervisor.addCallListener((call) => this.recordCall(call)),
    );
    this.registerServices(services);
  }

  /** The store behind a namespace (the message queue writes `messages`, the memory system `memory`). */
  store(namespace: BusNamespaceName): BusRecordStore {
    return this.stores[namespace];
  }

  /** Appends a record to a namespace; watchers see it as `added`. */
  record(namespace: BusNamespaceName, input: BusRecordInput): BusRecord {
    return this.stores[namespace].append(input);
  }

  emit(type: string, payload: unknown, options: { publisher?: string | null; priority?: number } = {}): BusEvent {
    return this.publish(type, payload ?? null, options);
  }

  unsubscribe(pluginId: string, type: string): void {
    this.channels.get(pluginId)?.types.delete(type);
  }

  query(namespace: BusNamespaceName, filters: BusFilters = {}): { revision: number; records: BusRecord[] } {
    const store = this.stores[namespace];
    return { revision: store.revision, records: store.query(filters) };
  }

  onEvent(listener: (event: BusEvent) => void): () => void {
    this.eventListeners.add(listener);
    return () => this.eventListeners.delete(listener);
  }

  stats(): BusStats {
    const subscribers = [...this.channels.values()].map((c) => c.stats());
    const namespaces = {} as Record<BusNamespaceName, BusNamespaceStats>;
    for (const namespace of BUS_NAMESPACES) namespaces[namespace] = this.stores[namespace].stats();
    return {
      published: this.published,
      dropped_total: this.droppedByClosed + subscribers.reduce((sum, s) => sum + s.dropped, 0),
      subscribers,
      namespaces,
    };
  }

  /** Drops every subscription, watch and queued delivery of a plugin. */
  forgetPlugin(pluginId: string): void {
    const channel = this.channels.get(pluginId);
    if (!channel) return;
    this.droppedByClosed += channel.dropped;
    channel.close();
    this.channels.delete(pluginId);
    for (const watchId of channel.watchIds) this.removeWatch(pluginId, watchId);
  }

  dispose(): void {
    for (const dispose of this.disposers.splice(0)) dispose();
    for (const id of [...this.channels.keys()]) this.forgetPlugin(id);
    this.eventListeners.clear();
  }

  /** `payloadSize`: the payload's `payloadBytes`, when it was measured already (against the per-payload limit). */
  private publish(
    type: string,
    payload: unknown,
    options: { publisher?: string | null; priority?: number },
    payloadSize?: number,
  ): BusEvent {
    const publisher = options.publisher ?? null;
    const event: BusEvent = { type, payload, publisher, ts: Date.now() };
    this.stores.events.append({
      type,
      pluginId: publisher,
      source: publisher ?? "host",
      priority: options.priority,
      data: payload,
      dataBytes: payloadSize,
      ts: event.ts,
    });
    this.fanOut(event, payloadSize);
    return event;
  }

  private fanOut(event: BusEvent, payloadSize?: number): void {
    this.published += 1;
    let bytes = payloadSize;
    for (const channel of this.channels.values()) {
      if (!channel.wants(event.type)) continue;
      bytes ??= payloadBytes(event.payload);
      channel.enqueueEvent(event, bytes);
    }
    for (const listener of this.eventListeners) {
      try {
        listener(event);
      } catch (error) {
        this.logger.error({ err: error }, "a bus event listener failed");
      }
    }
  }

  private channel(pluginId: string): SubscriberChannel {
    let channel = this.channels.get(pluginId);
    if (!channel) {
      channel = new SubscriberChannel({
        pluginId,
        queueLimit: this.options.queueLimit,
        window: this.options.deliveryWindow,
        send: (delivery) => this.supervisor.push(pluginId, "bus.deliver", delivery),
      });
      this.channels.set(pluginId, channel);
    }
    return channel;
  }

  private feedWatches(namespace: BusNamespaceName, revision: number, added: BusRecord[], removed: BusRecord[]) {
    for (const watch of this.watches.get(namespace)?.values() ?? []) {
      const mine = added.filter((r) => matchesBusFilters(r, watch.filters));
      const gone = removed.filter((r) => matchesBusFilters(r, watch.filters)).map((r) => r.id);
      if (mine.length === 0 && gone.length === 0) continue;
      this.channels.get(watch.pluginId)?.enqueueDelta(watch.watchId, revision, mine, gone);
    }
  }

  private removeWatch(pluginId: string, watchId: string): void {
    for (const byKey of this.watches.values()) byKey.delete(`${pluginId}\u0000${watchId}`);
    this.channels.get(pluginId)?.dropWatch(watchId);
  }

  private onPluginState(pluginId: string, change: StateChange): void {
    // A new or stopped process starts with nothing: its code subscribes again when it runs.
    if (change.state !== "running") this.forgetPlugin(pluginId);
    const type = LIFECYCLE_TYPES[change.state] ?? `plugin_${change.state}`;
    const payload = { pluginId, state: change.state, reason: change.reason ?? null };
    const priority = ALARMING_STATES.has(change.state) ? 8 : 5;
    this.stores.lifecycle.append({ type, pluginId, source: "host", priority, data: payload, ts: change.time });
    this.fanOut({ type, payload, publisher: null, ts: change.time });
  }

  private recordCall(call: FinishedCall): void {
    const { result } = call;
    this.stores.events.append({
      type: "entry_call",
      pluginId: call.pluginId,
      source: "host",
      priority: result.ok ? 3 : 6,
      data: {
        entryId: call.entryId,
        ok: result.ok,
        errorCode: result.ok ? null : result.error.code,
        durationMs: Math.round(call.durationMs * 1000) / 1000,
        runId: call.runId ?? null,
      },
    });
  }

  private registerServices(services: HostServices): void {
    services.onNotify("bus.emit", (params: { type?: unknown; payload?: unknown; priority?: unknown }, ctx) => {
      const type = checkEventType(params?.type, false);
      const priority = params?.priority === undefined ? 5 : params.priority;
      if (typeof type !== "string" || !isPriority(priority)) {
        const why = typeof type === "string" ? "priority must be a whole number from 0 to 10" : type.error;
        this.logger.warn({ plugin: ctx.pluginId }, `dropped a bus event: ${why}`);
        return;
      }
      const payload = params.payload ?? null;
      const size = payloadBytes(payload);
      const tooLarge = payloadLimitFailure(`bus.emit '${type}'`, size, "payload");
      if (tooLarge) {
        // A notification has no answer: the refusal goes to the log.
        this.logger.warn(
          { plugin: ctx.pluginId, error: tooLarge.error },
          `dropped a bus event: ${tooLarge.error.message}`,
        );
        return;
      }
      this.publish(type, payload, { publisher: ctx.pluginId, priority }, size);
    });
    services.onNotify("bus.subscribe", (params: { type?: unknown }, ctx) => {
      const type = checkEventType(params?.type, true);
      if (typeof type !== "string") return;
      const channel = this.channel(ctx.pluginId);
      if (channel.types.size >= MAX_SUBSCRIPTIONS_PER_PLUGIN) {
        this.logger.warn({ plugin: ctx.pluginId }, `refused a bus subscription to '${type}': too many subscriptions`);
        return;
      }
      channel.types.add(type);
    });
    services.onNotify("bus.unsubscribe", (params: { type?: unknown }, ctx) => {
      if (typeof params?.type === "string") this.unsubscribe(ctx.pluginId, params.type);
    });
    services.onNotify("bus.ack", (params: { batch?: unknown }, ctx) => {
      if (typeof params?.batch === "number") this.channels.get(ctx.pluginId)?.ack(params.batch);
    });
    services.onNotify("bus.unwatch", (params: { watchId?: unknown }, ctx) => {
      if (typeof params?.watchId === "string") this.removeWatch(ctx.pluginId, params.watchId);
    });
    // Answered only after every earlier frame of the plugin was handled: its subscriptions and emits are in.
    services.handle("bus.flush", () => ({ ok: true, value: null }));
    services.handle("bus.query", (params: { namespace?: unknown; filters?: unknown }) => {
      const namespace = checkNamespace(params?.namespace);
      if (!namespace.ok) return namespace;
      const filters = checkBusFilters(params?.filters);
      if (!filters.ok) return filters;
      return { ok: true, value: this.query(namespace.value, filters.value) };
    });
    services.handle("bus.watch", (params: { watchId?: unknown; namespace?: unknown; filters?: unknown }, ctx) => {
      const namespace = checkNamespace(params?.namespace);
      if (!namespace.ok) return namespace;
      const filters = checkBusFilters(params?.filters);
      if (!filters.ok) return filters;
      if (typeof params.watchId !== "string" || !params.watchId)
        return validationFailure("watchId must be a non-empty string");
      const channel = this.channel(ctx.pluginId);
      if (channel.watchIds.size >= MAX_WATCHES_PER_PLUGIN) {
        return validationFailure(`a plugin may hold at most ${MAX_WATCHES_PER_PLUGIN} watches; close some first`);
      }
      const watch = {
        pluginId: ctx.pluginId,
        watchId: params.watchId,
        namespace: namespace.value,
        filters: filters.value,
      };
      this.watches.get(namespace.value)?.set(`${ctx.pluginId}\u0000${params.watchId}`, watch);
      channel.watchIds.add(params.watchId);
      return { ok: true, value: this.query(namespace.value, filters.value) };
    });
    services.handle("bus.append", (params: { namespace?: unknown; record?: unknown }, ctx) => {
      if (params?.namespace !== "conversations") {
        return validationFailure(
          "plugins may only add records to 'conversations'; the other namespaces are written by the host",
        );
      }
      const record = (params.record ?? {}) as Record<string, unknown>;
      const type = record.type ?? "conversation";
      if (typeof type !== "string" || !type || type.length > MAX_TYPE_LENGTH) {
        return validationFailure("conversation record: type must be a non-empty string", "type");
      }
      if (record.priority !== undefined && !isPriority(record.priority)) {
        return validationFailure("conversation record: priority must be a whole number from 0 to 10", "priority");
      }
      if (record.source !== undefined && typeof record.source !== "string") {
        return validationFailure("conversation record: source must be a string", "source");
      }
      const data = record.data ?? null;
      const size = payloadBytes(data);
      const tooLarge = payloadLimitFailure("bus.append: conversation record", size, "data");
      if (tooLarge) return tooLarge;
      const added = this.record("conversations", {
        type,
        pluginId: ctx.pluginId,
        source: (record.source as string | undefined) ?? ctx.pluginId,
        priority: record.priority as number | undefined,
        data,
        dataBytes: size,
      });
      return { ok: true, value: added };
    });
  }
}

type Checked<T> = { ok: true; value: T } | WireFailure;

/** A plugin's payload over the limit, as the ValidationError it gets; undefined when it fits. */
function payloadLimitFailure(what: string, bytes: number, field: string): WireFailure | undefined {
  if (bytes <= MAX_BUS_PAYLOAD_BYTES) return undefined;
  return validationFailure(
    `${what}: the ${field} is ${bytes} bytes; the limit is ${MAX_BUS_PAYLOAD_BYTES} (1 MiB)`,
    field,
  );
}

function isPriority(value: unknown): value is number {
  return Number.isInteger(value) && (value as number) >= 0 && (value as number) <= 10;
}

/** The type as is when valid, else a sentence saying why not. */
function checkEventType(type: unknown, allowWildcard: boolean): string | { error: string } {
  if (typeof type !== "string" || type.length === 0 || type.length > MAX_TYPE_LENGTH)
    return { error: `event type must be a string of 1–${MAX_TYPE_LENGTH} characters` };
  if (type === "*" && !allowWildcard) return { error: "'*' is only for subscribing to every type" };
  return type;
}

function checkNamespace(value: unknown): Checked<BusNamespaceName> {
  if (typeof value === "string" && (BUS_NAMESPACES as readonly string[]).includes(value)) {
    return { ok: true, value: value as BusNamespaceName };
  }
  return validationFailure(
    `unknown bus namespace '${String(value)}'; known: ${BUS_NAMESPACES.join(", ")}`,
    "namespace",
  );
}

/** Filters from an untrusted plugin or an HTTP query: every field optional and of its type, nothing else. */
function checkBusFilters(value: unknown): Checked<BusFilters> {
  if (value === undefined || value === null) return { ok: true, value: {} };
  if (typeof value !== "object" || Array.isArray(value))
    return validationFailure("filters must be an object", "filters");
  const filters: BusFilters = {};
  for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
    if (v === undefined || v === null) continue;
    switch (key) {
      case "pluginId":
      case "source":
      case "type":
        if (typeof v !== "string") return validationFailure(`filter '${key}' must be a string`, key);
        filters[key] = v;
        break;
      case "priorityMin":
      case "sinceTs":
        if (typeof v !== "number" || !Number.isFinite(v))
          return validationFailure(`filter '${key}' must be a number`, key);
        filters[key] = v;
        break;
      case "maxCount":
        if (!Number.isInteger(v) || (v as number) < 0)
          return validationFailure("filter 'maxCount' must be a whole number ≥ 0", key);
        filters.maxCount = v as number;
        break;
      default:
        return validationFailure(
          `unknown filter '${key}'; known: pluginId, source, type, priorityMin, sinceTs, maxCount`,
          key,
        );
    }
  }
  return { ok: true, value: filters };
}
