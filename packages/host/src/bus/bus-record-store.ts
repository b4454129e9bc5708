/**
 * One bus namespace (`events`, `messages`, …): the latest records, bounded by count and by bytes, with a revision
 * that grows on every change. Queries filter by plugin, source, type, priority and time; cursor reads (`after`) serve
 * the message queue's paging and its SSE replay.
 */
import { type Disposable, Emitter } from "@neko/protocol";
import { payloadBytes, type BusFilters, type BusNamespaceName, type BusRecord } from "@neko/protocol";
import type { HostLogger } from "../host-logger.ts";
import { BoundedQueue } from "./bounded-queue.ts";

export const DEFAULT_NAMESPACE_CAPACITY = 10_000;
/** Every namespace is bounded in bytes too, so one plugin's large records cannot run the host out of memory. */
export const DEFAULT_NAMESPACE_MAX_BYTES = 32 * 1024 * 1024;
/** What a record costs besides its strings and data: its fields, ids and bookkeeping. */
const RECORD_OVERHEAD_BYTES = 128;

export interface BusRecordInput {
  type: string;
  pluginId: string | null;
  source: string;
  priority?: number;
  data?: unknown;
  ts?: number;
  /** `payloadBytes(data)`, when the caller measured it already (to check it against a limit). */
  dataBytes?: number;
}

export interface BusRecordChange {
  revision: number;
  added: BusRecord[];
  removed: BusRecord[];
}

export interface BusRecordStoreOptions {
  namespace: BusNamespaceName;
  /** Where a change listener's failure is reported (the change itself has happened). */
  logger: HostLogger;
  capacity?: number;
  /** Evicts the oldest records while the records' total size is above this (default 32 MiB). */
  maxBytes?: number;
}

export interface BusNamespaceStats {
  size: number;
  capacity: number;
  revision: number;
  /** Records dropped to stay within the bounds. */
  evicted: number;
  latest_id: number;
  bytes: number;
  max_bytes: number;
}

/**
 * A record and its size, measured once when it was added. A deleted record stays as a tombstone until it is evicted,
 * so ids stay contiguous and cursor reads stay simple: only its id is kept (`record` let go, its size freed), and it
 * is left out of every read.
 */
export interface StoredBusRecord {
  id: number;
  /** Undefined once deleted. */
  record: BusRecord | undefined;
  bytes: number;
}

/** Ids of evicted tombstones remembered, so `missed` does not count them (older ones are counted as missed). */
const EVICTED_TOMBSTONES_KEPT = 100_000;

export class BusRecordStore {
  readonly namespace: BusNamespaceName;
  private readonly records: BoundedQueue<StoredBusRecord>;
  private readonly maxBytes: number;
  private readonly changes: Emitter<BusRecordChange>;
  private nextId = 1;
  private bytes = 0;
  private evictedBySize = 0;
  private tombstones = 0;
  /** Tombstones the ring pushed out: not evictions of records. */
  private tombstonesPushedOut = 0;
  /** Ids of tombstones the ring pushed out, ascending (at least the latest `EVICTED_TOMBSTONES_KEPT`). */
  private readonly evictedTombstoneIds: number[] = [];
  /** Records deleted by their owners so far. */
  deletedTotal = 0;
  revision = 0;

  constructor(options: BusRecordStoreOptions) {
    this.namespace = options.namespace;
    // The record is stored: a listener that throws (a watch, an SSE stream) must not turn that into a failure.
    this.changes = new Emitter((error) =>
      options.logger.error({ err: error, namespace: this.namespace }, "a bus namespace listener failed"),
    );
    this.records = new BoundedQueue(options.capacity ?? DEFAULT_NAMESPACE_CAPACITY);
    this.maxBytes = options.maxBytes ?? DEFAULT_NAMESPACE_MAX_BYTES;
  }

  /** Records kept (deleted ones not counted). */
  get size(): number {
    return this.records.size - this.tombstones;
  }

  /** Records dropped so far to keep within the bounds (count or bytes). */
  get evicted(): number {
    return this.records.dropped - this.tombstonesPushedOut + this.evictedBySize;
  }

  /** The id the newest record got (0 before the first). */
  get latestId(): number {
    return this.nextId - 1;
  }

  /** The oldest id still in the ring (a deleted one too), or the next id when empty. */
  get oldestId(): number {
    return this.records.peekOldest()?.id ?? this.nextId;
  }

  append(input: BusRecordInput): BusRecord {
    const record: BusRecord = {
      id: this.nextId++,
      namespace: this.namespace,
      type: input.type,
      ts: input.ts ?? Date.now(),
      pluginId: input.pluginId,
      source: input.source,
      priority: input.priority ?? 5,
      data: input.data ?? null,
    };
    const bytes =
      RECORD_OVERHEAD_BYTES +
      record.type.length +
      record.source.length +
      (record.pluginId?.length ?? 0) +
      (input.dataBytes ?? payloadBytes(record.data));
    const removed: BusRecord[] = [];
    const pushedOut = this.records.push({ id: record.id, record, bytes });
    this.bytes += bytes;
    if (pushedOut) {
      if (!pushedOut.record) this.tombstonesPushedOut += 1;
      this.letGo(pushedOut, removed);
    }
    while (this.bytes > this.maxBytes && this.records.size > 1) {
      const old = this.records.shift() as StoredBusRecord;
      if (old.record) this.evictedBySize += 1;
      this.letGo(old, removed);
    }
    this.revision += 1;
    this.changes.fire({ revision: this.revision, added: [record], removed });
    return record;
  }

  /** An evicted record: its size back (a tombstone's was already), and a live one reported removed. */
  private letGo(old: StoredBusRecord, removed: BusRecord[]): void {
    if (!old.record) {
      this.tombstones -= 1;
      this.evictedTombstoneIds.push(old.id);
      if (this.evictedTombstoneIds.length > 2 * EVICTED_TOMBSTONES_KEPT)
        this.evictedTombstoneIds.splice(0, EVICTED_TOMBSTONES_KEPT);
      return;
    }
    this.bytes -= old.bytes;
    removed.push(old.record);
  }

  /** The slot kept for this id (a tombstone too), if the ring still holds it; for tests and reads. */
  slot(id: number): StoredBusRecord | undefined {
    const stored = this.records.at(id - this.oldestId);
    return stored?.id === id ? stored : undefined;
  }

  /** The kept record with this id (not a deleted one), if any. */
  get(id: number): BusRecord | undefined {
    return this.slot(id)?.record;
  }

  /**
   * Deletes the kept records with these ids (ids not kept are skipped); one change with them as removed. Who may
   * delete what is the caller's to check (`HostBus`).
   */
  delete(ids: readonly number[]): BusRecord[] {
    const removed: BusRecord[] = [];
    for (const id of new Set(ids)) {
      const stored = this.slot(id);
      if (!stored?.record) continue;
      // Watchers get the whole record; the slot keeps its id only, so a deleted record's data is freed now.
      removed.push(stored.record);
      stored.record = undefined;
      this.tombstones += 1;
      this.bytes -= stored.bytes;
    }
    if (removed.length === 0) return removed;
    this.deletedTotal += removed.length;
    this.revision += 1;
    this.changes.fire({ revision: this.revision, added: [], removed });
    return removed;
  }

  /** The latest `maxCount` records matching the filters (all when omitted), oldest first. */
  query(filters: BusFilters = {}): BusRecord[] {
    const max = filters.maxCount ?? Number.POSITIVE_INFINITY;
    const out: BusRecord[] = [];
    for (let i = this.records.size - 1; i >= 0 && out.length < max; i--) {
      const { record } = this.records.at(i) as StoredBusRecord;
      if (record && matchesBusFilters(record, filters)) out.push(record);
    }
    return out.reverse();
  }

  /**
   * Up to `limit` records with an id above `cursor` that match, oldest first. `scannedTo` is the id a follow-up
   * read can continue after (past records the filters skipped); `missed` counts records after the cursor that
   * were evicted before they could be read (records deleted by their owners are not missed).
   */
  after(
    cursor: number,
    filters: BusFilters,
    limit: number,
  ): { records: BusRecord[]; scannedTo: number; missed: number } {
    const oldest = this.oldestId;
    const missed = Math.max(0, oldest - cursor - 1 - this.evictedTombstonesBetween(cursor, oldest));
    const records: BusRecord[] = [];
    let scannedTo = Math.max(cursor, oldest - 1);
    for (let i = Math.max(0, cursor + 1 - oldest); i < this.records.size; i++) {
      const { id, record } = this.records.at(i) as StoredBusRecord;
      if (record && matchesBusFilters(record, filters)) {
        if (records.length === limit) break;
        records.push(record);
      }
      scannedTo = id;
    }
    return { records, scannedTo, missed };
  }

  /** How many remembered evicted tombstones have an id in (`cursor`, `oldest`). */
  private evictedTombstonesBetween(cursor: number, oldest: number): number {
    const ids = this.evictedTombstoneIds;
    const firstAbove = (bound: number) => {
      let lo = 0;
      let hi = ids.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if ((ids[mid] as number) <= bound) lo = mid + 1;
        else hi = mid;
      }
      return lo;
    };
    return firstAbove(oldest - 1) - firstAbove(cursor);
  }

  /** Called after every change, synchronously; dispose to stop. */
  onChange(listener: (change: BusRecordChange) => void): Disposable {
    return this.changes.event(listener);
  }

  stats(): BusNamespaceStats {
    return {
      size: this.size,
      capacity: this.records.capacity,
      revision: this.revision,
      evicted: this.evicted,
      latest_id: this.latestId,
      bytes: this.bytes,
      max_bytes: this.maxBytes,
    };
  }
}

export function matchesBusFilters(record: BusRecord, filters: BusFilters): boolean {
  if (filters.pluginId !== undefined && record.pluginId !== filters.pluginId) return false;
  if (filters.source !== undefined && record.source !== filters.source) return false;
  if (filters.type !== undefined && record.type !== filters.type) return false;
  if (filters.priorityMin !== undefined && record.priority < filters.priorityMin) return false;
  if (filters.sinceTs !== undefined && record.ts < filters.sinceTs) return false;
  return true;
}
