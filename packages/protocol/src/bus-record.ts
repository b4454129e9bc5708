/**
 * What the bus puts on the wire: the records of its queryable namespaces, the filters a query carries, and the
 * batches the host pushes to a subscribed plugin (events and watch deltas). Shared by the host and the SDK.
 */

export const BUS_NAMESPACES = ["events", "messages", "lifecycle", "conversations", "memory"] as const;
export type BusNamespaceName = (typeof BUS_NAMESPACES)[number];

/** One record of a namespace. `id` grows by one per record within its namespace, so it doubles as a cursor. */
export interface BusRecord {
  id: number;
  namespace: BusNamespaceName;
  /** Event type, lifecycle kind (`plugin_started`, …), message type (`text`, …), `entry_call`, … */
  type: string;
  /** Milliseconds since the epoch. */
  ts: number;
  /** The plugin the record is about or came from; null for the host itself. */
  pluginId: string | null;
  /** Who produced it: a plugin id, `host`, or a message's own `source`. */
  source: string;
  /** 0–10. */
  priority: number;
  data: unknown;
}

/** `bus.<namespace>.get(filters)`: every field optional; `maxCount` keeps the latest matching records. */
export interface BusFilters {
  pluginId?: string;
  source?: string;
  type?: string;
  priorityMin?: number;
  /** Records at or after this time (ms since the epoch). */
  sinceTs?: number;
  maxCount?: number;
}

/** An event published with `bus.emit`, as subscribers receive it. */
export interface BusEvent {
  type: string;
  payload: unknown;
  /** The publishing plugin, or null when the host published it. */
  publisher: string | null;
  ts: number;
}

/** Changes to the records a watch follows, since the last delta the plugin was sent. */
export interface BusWatchDelta {
  watchId: string;
  revision: number;
  /** New records; after a delete inside a `maxCount` window, also the older records that move into it. */
  added: BusRecord[];
  /** Ids of records that left the namespace (evicted by its bound, or deleted). */
  removed: number[];
}

/** One `bus.deliver` push; the plugin answers with a `bus.ack` notify naming `batch` once it has dispatched it. */
export interface BusDelivery {
  batch: number;
  events: BusEvent[];
  deltas: BusWatchDelta[];
}
