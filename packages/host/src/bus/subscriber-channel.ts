/**
 * The host's line to one subscribed plugin: a bounded FIFO of bus events plus the pending delta of each of its
 * watches, sent in batches under a credit window. The plugin acks each batch once it has dispatched it, so a slow
 * or blocked plugin holds at most `window` items in flight and `queueLimit` events queued; beyond that the oldest
 * event is dropped and counted. Watch deltas are merged while they wait, so they never need dropping.
 */
import type { BusDelivery, BusEvent, BusRecord, BusWatchDelta } from "@neko/protocol";
import { BoundedQueue } from "./bounded-queue.ts";

export const DEFAULT_SUBSCRIBER_QUEUE_LIMIT = 1000;
export const DEFAULT_DELIVERY_WINDOW = 1024;
/**
 * Payload bytes one batch may carry (at least one event always goes). Keeps every push far below the 64 MiB frame
 * limit: a window of 1024 events of up to 1 MiB each would not fit in one frame.
 */
export const MAX_BATCH_PAYLOAD_BYTES = 16 * 1024 * 1024;

export interface SubscriberChannelOptions {
  pluginId: string;
  queueLimit?: number;
  window?: number;
  /** Pushes one batch to the plugin; false when it cannot be reached. */
  send: (delivery: BusDelivery) => boolean;
}

export interface SubscriberStats {
  plugin_id: string;
  types: string[];
  watches: number;
  queued: number;
  in_flight: number;
  delivered: number;
  dropped: number;
}

export class SubscriberChannel {
  /** Event types the plugin subscribed to (`*` for all). */
  readonly types = new Set<string>();
  /** Watch ids the plugin registered. */
  readonly watchIds = new Set<string>();
  private readonly events: BoundedQueue<{ event: BusEvent; bytes: number }>;
  private readonly deltas = new Map<string, BusWatchDelta>();
  private readonly unacked = new Map<number, number>();
  private readonly window: number;
  private inFlight = 0;
  private nextBatch = 1;
  private scheduled: NodeJS.Immediate | undefined;
  private closed = false;
  delivered = 0;
  /** Events lost because the plugin could not be reached when their batch was sent. */
  private undeliverable = 0;

  constructor(private readonly options: SubscriberChannelOptions) {
    this.events = new BoundedQueue(options.queueLimit ?? DEFAULT_SUBSCRIBER_QUEUE_LIMIT);
    this.window = options.window ?? DEFAULT_DELIVERY_WINDOW;
  }

  get pluginId(): string {
    return this.options.pluginId;
  }

  /** Events dropped for this plugin: queue overflow plus batches it could not be sent. */
  get dropped(): number {
    return this.events.dropped + this.undeliverable;
  }

  wants(type: string): boolean {
    return this.types.has(type) || this.types.has("*");
  }

  /** `bytes`: the payload's size as `payloadBytes` counts it (what bounds a batch). */
  enqueueEvent(event: BusEvent, bytes = 0): void {
    if (this.closed) return;
    this.events.push({ event, bytes });
    this.schedule();
  }

  /** Merges a change into the watch's pending delta; a record added and evicted before it was sent cancels out. */
  enqueueDelta(watchId: string, revision: number, added: BusRecord[], removed: number[]): void {
    if (this.closed) return;
    const pending = this.deltas.get(watchId);
    if (!pending) {
      this.deltas.set(watchId, { watchId, revision, added: [...added], removed: [...removed] });
    } else {
      pending.revision = revision;
      pending.added.push(...added);
      for (const id of removed) {
        const index = pending.added.findIndex((r) => r.id === id);
        if (index >= 0) pending.added.splice(index, 1);
        else pending.removed.push(id);
      }
    }
    this.schedule();
  }

  /** Forgets a watch's pending delta (the watch was closed). */
  dropWatch(watchId: string): void {
    this.watchIds.delete(watchId);
    this.deltas.delete(watchId);
  }

  /** The plugin has dispatched batch `batch`: its items no longer count against the window. */
  ack(batch: number): void {
    const size = this.unacked.get(batch);
    if (size === undefined) return;
    this.unacked.delete(batch);
    this.inFlight -= size;
    // The plugin is waiting for more: send what queued up at once rather than after the next turn.
    this.pump();
  }

  close(): void {
    this.closed = true;
    if (this.scheduled) clearImmediate(this.scheduled);
    this.scheduled = undefined;
    this.events.clear();
    this.deltas.clear();
    this.unacked.clear();
  }

  stats(): SubscriberStats {
    return {
      plugin_id: this.options.pluginId,
      types: [...this.types].sort(),
      watches: this.watchIds.size,
      queued: this.events.size,
      in_flight: this.inFlight,
      delivered: this.delivered,
      dropped: this.dropped,
    };
  }

  /** Batches what arrives within one turn of the event loop into one push. */
  private schedule(): void {
    if (this.scheduled || this.closed) return;
    this.scheduled = setImmediate(() => {
      this.scheduled = undefined;
      this.pump();
    });
  }

  private pump(): void {
    while (!this.closed && this.inFlight < this.window && (this.events.size > 0 || this.deltas.size > 0)) {
      const room = this.window - this.inFlight;
      const events: BusEvent[] = [];
      let bytes = 0;
      while (events.length < room && this.events.size > 0) {
        const next = this.events.peek() as { event: BusEvent; bytes: number };
        if (events.length > 0 && bytes + next.bytes > MAX_BATCH_PAYLOAD_BYTES) break;
        this.events.shift();
        events.push(next.event);
        bytes += next.bytes;
      }
      const deltas: BusWatchDelta[] = [];
      for (const [watchId, delta] of this.deltas) {
        if (events.length + deltas.length >= room) break;
        deltas.push(delta);
        this.deltas.delete(watchId);
      }
      const batch = this.nextBatch++;
      const size = events.length + deltas.length;
      if (!this.options.send({ batch, events, deltas })) {
        this.undeliverable += events.length;
        continue;
      }
      this.unacked.set(batch, size);
      this.inFlight += size;
      this.delivered += events.length;
    }
  }
}
