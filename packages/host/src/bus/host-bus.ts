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
  type Disposable,
  DisposableStore,
  Emitter,
  ErrorCode,
  MAX_BUS_PAYLOAD_BYTES,
  payloadBytes,
} from "@neko/protocol";
import { type HostContext, releaseWithPlugin } from "../host-context.ts";
import type { StateChange } from "../supervisor/plugin-state.ts";
import type { FinishedCall } from "../supervisor/plugin-supervisor.ts";
import {
  type BusNamespaceStats,
  type BusRecordInput,
  BusRecordStore,
  type BusRecordStoreOptions,
  matchesBusFilters,
} from "./bus-record-store.ts";
import { failure, validationFailure, type WireFailure } from "../wire-result.ts";
import { entryCallRecord } from "./entry-call-record.ts";
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
  /** Every published event, for the server's live streams; dispose to stop. */
  onEvent(listener: (event: BusEvent) => void): Disposable;
  /** Every record added to any namespace (published events, lifecycle, messages, …), for the admin WebSocket. */
  onRecord(listener: (record: BusRecord) => void): Disposable;
  /** Records deleted by their writers (`bus.<namespace>.delete`), for the admin WebSocket; dispose to stop. */
  onDelete(listener: (deletion: { namespace: BusNamespaceName; ids: number[] }) => void): Disposable;
  stats(): BusStats;
}

interface Watch {
  pluginId: string;
  watchId: string;
  namespace: BusNamespaceName;
  filters: BusFilters;
}

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

export class HostBus implements BusApi, Disposable {
  private readonly stores: Record<BusNamespaceName, BusRecordStore>;
  private readonly channels = new Map<string, SubscriberChannel>();
  private readonly watches = new Map<BusNamespaceName, Map<string, Watch>>();
  private readonly events: Emitter<BusEvent>;
  private readonly records: Emitter<BusRecord>;
  private readonly deletions: Emitter<{ namespace: BusNamespaceName; ids: number[] }>;
  private readonly owned = new DisposableStore();
  private published = 0;
  /** Drops counted by channels that have since closed. */
  private droppedByClosed = 0;

  constructor(
    private readonly ctx: HostContext,
    private readonly options: HostBusOptions = {},
  ) {
    const { logger } = ctx;
    this.events = this.owned.add(new Emitter((error) => logger.error({ err: error }, "a bus event listener failed")));
    this.records = this.owned.add(new Emitter((error) => logger.error({ err: error }, "a bus record listener failed")));
    this.deletions = this.owned.add(
      new Emitter((error) => logger.error({ err: error }, "a bus deletion listener failed")),
    );
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
      this.owned.add(
        store.onChange((change) => {
          this.feedWatches(namespace, change.revision, change.added, change.removed);
          for (const record of change.added) this.records.fire(record);
          // A change with nothing added is a delete (an eviction always comes with the record that caused it).
          if (change.added.length === 0 && change.removed.length > 0) {
            this.deletions.fire({ namespace, ids: change.removed.map((r) => r.id) });
          }
        }),
      );
    }
    this.stores = stores;
    this.owned.add(ctx.events.onStateChange(({ pluginId, change }) => this.recordLifecycle(pluginId, change)));
    this.owned.add(ctx.events.onEntriesChange(({ pluginId }) => this.recordEntriesChange(pluginId)));
    this.owned.add(ctx.events.onCall((call) => this.recordCall(call)));
    this.registerServices();
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

  onEvent(listener: (event: BusEvent) => void): Disposable {
    return this.events.event(listener);
  }

  onDelete(listener: (deletion: { namespace: BusNamespaceName; ids: number[] }) => void): Disposable {
    return this.deletions.event(listener);
  }

  onRecord(listener: (record: BusRecord) => void): Disposable {
    return this.records.event(listener);
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

  /** Drops every subscription, watch and queued delivery of a plugin (its process ended, or a new one starts). */
  private forgetPlugin(pluginId: string): void {
    const channel = this.channels.get(pluginId);
    if (channel) {
      this.droppedByClosed += channel.dropped;
      channel.close();
      this.channels.delete(pluginId);
    }
    // Every watch of the plugin, whichever channel it was made on.
    const prefix = `${pluginId}\u0000`;
    for (const byKey of this.watches.values()) {
      for (const key of byKey.keys()) if (key.startsWith(prefix)) byKey.delete(key);
    }
  }

  debugCounts(): Record<string, number> {
    let watches = 0;
    for (const byKey of this.watches.values()) watches += byKey.size;
    return {
      "bus.channels": this.channels.size,
      "bus.watches": watches,
      "bus.listeners": this.events.size + this.records.size + this.deletions.size,
    };
  }

  dispose(): void {
    this.owned.dispose();
    for (const id of [...this.channels.keys()]) this.forgetPlugin(id);
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
    this.events.fire(event);
  }

  /**
   * The plugin's channel, made on its first subscription or watch; it lasts as long as the plugin's process may run.
   * Undefined once that run has ended (the plugin is stopping): what it asks for then would outlive it.
   */
  private channel(pluginId: string): SubscriberChannel | undefined {
    let channel = this.channels.get(pluginId);
    if (!channel) {
      if (!this.ctx.plugins.scope(pluginId)?.running) return undefined;
      channel = new SubscriberChannel({
        pluginId,
        queueLimit: this.options.queueLimit,
        window: this.options.deliveryWindow,
        send: (delivery) => this.ctx.operations.push(pluginId, "bus.deliver", delivery),
      });
      this.channels.set(pluginId, channel);
      releaseWithPlugin(this.ctx, pluginId, "run", () => this.forgetPlugin(pluginId));
    }
    return channel;
  }

  private feedWatches(namespace: BusNamespaceName, revision: number, added: BusRecord[], removed: BusRecord[]) {
    for (const watch of this.watches.get(namespace)?.values() ?? []) {
      const mine = added.filter((r) => matchesBusFilters(r, watch.filters));
      const gone = removed.filter((r) => matchesBusFilters(r, watch.filters)).map((r) => r.id);
      if (mine.length === 0 && gone.length === 0) continue;
      const max = watch.filters.maxCount;
      if (gone.length > 0 && added.length === 0 && max !== undefined) {
        // A delete inside a `maxCount` window: older records move into it. They are the oldest of the window now
        // (at most one per record gone); the watcher already holding some of them keeps one copy.
        const window = this.stores[namespace].query(watch.filters);
        mine.push(...window.slice(0, Math.min(gone.length, window.length)));
      }
      this.channels.get(watch.pluginId)?.enqueueDelta(watch.watchId, revision, mine, gone);
    }
  }

  private removeWatch(pluginId: string, watchId: string): void {
    for (const byKey of this.watches.values()) byKey.delete(`${pluginId}\u0000${watchId}`);
    this.channels.get(pluginId)?.dropWatch(watchId);
  }

  private recordLifecycle(pluginId: string, change: StateChange): void {
    const type = LIFECYCLE_TYPES[change.state] ?? `plugin_${change.state}`;
    const payload = { pluginId, state: change.state, reason: change.reason ?? null };
    const priority = ALARMING_STATES.has(change.state) ? 8 : 5;
    this.stores.lifecycle.append({ type, pluginId, source: "host", priority, data: payload, ts: change.time });
    this.fanOut({ type, payload, publisher: null, ts: change.time });
  }

  /** `plugin_entries_changed`: what lists entries (the MCP adapter's tool list) follows it. */
  private recordEntriesChange(pluginId: string): void {
    const ts = Date.now();
    const type = "plugin_entries_changed";
    const payload = { pluginId };
    this.stores.lifecycle.append({ type, pluginId, source: "host", priority: 3, data: payload, ts });
    this.fanOut({ type, payload, publisher: null, ts });
  }

  private recordCall(call: FinishedCall): void {
    // Once per call: its size is counted by hand (entry-call-record.ts), not walked.
    const { data, dataBytes } = entryCallRecord(call);
    this.stores.events.append({
      type: "entry_call",
      pluginId: call.pluginId,
      source: "host",
      priority: call.result.ok ? 3 : 6,
      data,
      dataBytes,
    });
  }

  /**
   * `bus.<namespace>.delete(ids)`: all or nothing. One id of another's record (or of the host's) refuses the whole
   * call with `PERMISSION_DENIED`, naming it; ids not kept (evicted, deleted already, never) are answered `missing`.
   */
  private deleteOwn(
    pluginId: string,
    namespace: BusNamespaceName,
    ids: number[],
  ): { ok: true; value: { deleted: number[]; missing: number[] } } | WireFailure {
    const store = this.stores[namespace];
    const missing: number[] = [];
    const own: number[] = [];
    for (const id of new Set(ids)) {
      const record = store.get(id);
      if (!record) {
        missing.push(id);
        continue;
      }
      if (!ownsBusRecord(pluginId, record)) {
        const writer = busRecordWriter(record);
        const owner = writer === null ? "the host" : `plugin '${writer}'`;
        return failure(
          ErrorCode.PermissionDenied,
          `bus delete: record ${id} of '${namespace}' was written by ${owner}; a plugin deletes only its own records`,
          "PermissionDeniedError",
          { id, namespace },
        );
      }
      own.push(id);
    }
    const deleted = store.delete(own).map((r) => r.id);
    return { ok: true, value: { deleted, missing } };
  }

  private registerServices(): void {
    const { services, logger } = this.ctx;
    this.owned.add(
      services.onNotify("bus.emit", ({ type, payload, priority }, { pluginId }) => {
        const size = payloadBytes(payload);
        const tooLarge = payloadLimitFailure(`bus.emit '${type}'`, size, "payload");
        if (tooLarge) {
          // A notification has no answer: the refusal goes to the log.
          logger.warn({ plugin: pluginId, error: tooLarge.error }, `dropped a bus event: ${tooLarge.error.message}`);
          return;
        }
        this.publish(type, payload, { publisher: pluginId, priority }, size);
      }),
    );
    this.owned.add(
      services.onNotify("bus.subscribe", ({ type }, { pluginId }) => {
        const channel = this.channel(pluginId);
        if (!channel) return;
        if (channel.types.size >= MAX_SUBSCRIPTIONS_PER_PLUGIN) {
          logger.warn({ plugin: pluginId }, `refused a bus subscription to '${type}': too many subscriptions`);
          return;
        }
        channel.types.add(type);
      }),
    );
    this.owned.add(services.onNotify("bus.unsubscribe", ({ type }, { pluginId }) => this.unsubscribe(pluginId, type)));
    this.owned.add(services.onNotify("bus.ack", ({ batch }, { pluginId }) => this.channels.get(pluginId)?.ack(batch)));
    this.owned.add(
      services.onNotify("bus.unwatch", ({ watchId }, { pluginId }) => this.removeWatch(pluginId, watchId)),
    );
    // Answered only after every earlier frame of the plugin was handled: its subscriptions and emits are in.
    this.owned.add(services.handle("bus.flush", () => ({ ok: true, value: null })));
    this.owned.add(
      services.handle("bus.query", ({ namespace, filters }) => ({ ok: true, value: this.query(namespace, filters) })),
    );
    this.owned.add(
      services.handle("bus.watch", ({ watchId, namespace, filters }, { pluginId }) => {
        const channel = this.channel(pluginId);
        if (!channel) {
          return failure(ErrorCode.PluginNotRunning, `plugin '${pluginId}' is stopping: a watch would outlive it`);
        }
        if (channel.watchIds.size >= MAX_WATCHES_PER_PLUGIN) {
          return validationFailure(`a plugin may hold at most ${MAX_WATCHES_PER_PLUGIN} watches; close some first`);
        }
        this.watches.get(namespace)?.set(`${pluginId}\u0000${watchId}`, { pluginId, watchId, namespace, filters });
        channel.watchIds.add(watchId);
        return { ok: true, value: this.query(namespace, filters) };
      }),
    );
    this.owned.add(
      services.handle("bus.delete", ({ namespace, ids }, { pluginId }) => this.deleteOwn(pluginId, namespace, ids)),
    );
    this.owned.add(
      services.handle("bus.append", ({ record }, { pluginId }) => {
        const size = payloadBytes(record.data);
        const source = record.source ?? pluginId;
        // The data alone, then the whole record (its type and source too) against the same 1 MiB.
        const tooLarge =
          payloadLimitFailure("bus.append: conversation record", size, "data") ??
          payloadLimitFailure(
            "bus.append: conversation record",
            size + Buffer.byteLength(record.type) + Buffer.byteLength(source),
            "record",
          );
        if (tooLarge) return tooLarge;
        const added = this.record("conversations", {
          type: record.type,
          pluginId,
          source,
          priority: record.priority,
          data: record.data,
          dataBytes: size,
        });
        return { ok: true, value: added };
      }),
    );
  }
}

/**
 * Is the record the plugin's own, to delete? An event it emitted (not one the host recorded about it, such as an
 * `entry_call`), a message it pushed, a conversation record it added. (`lifecycle` and `memory` are never deletable.)
 */
export function ownsBusRecord(pluginId: string, record: BusRecord): boolean {
  if (record.pluginId !== pluginId) return false;
  return record.namespace !== "events" || record.source === pluginId;
}

/**
 * Who wrote a record, from what the host set (never from `source`, which a plugin chooses for its messages and
 * conversations): its `pluginId`, or null for the host. In `events` a plugin's own emits carry its id as the source
 * too; a record there about a plugin with another source (`entry_call`) was the host's.
 */
export function busRecordWriter(record: BusRecord): string | null {
  if (record.pluginId === null) return null;
  if (record.namespace === "events" && record.source !== record.pluginId) return null;
  return record.pluginId;
}

/** A plugin's payload over the limit, as the ValidationError it gets; undefined when it fits. */
function payloadLimitFailure(what: string, bytes: number, field: string): WireFailure | undefined {
  if (bytes <= MAX_BUS_PAYLOAD_BYTES) return undefined;
  return validationFailure(
    `${what}: the ${field} is ${bytes} bytes; the limit is ${MAX_BUS_PAYLOAD_BYTES} (1 MiB)`,
    field,
  );
}
