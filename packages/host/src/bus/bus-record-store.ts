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
 * A record and its size, measured once when it was added. A deleted record stays as a tombstone (its size freed, left
 * out of every read) until it is evicted, so ids stay contiguous and cursor reads stay simple.
 */
interface Stored {
  record: BusRecord;
  bytes: number;
  deleted?: boolean;
}

export class BusRecordStore {
  readonly namespace: BusNamespaceName;
  private readonly records: BoundedQueue<Stored>;
  private readonly maxBytes: number;
  private readonly changes: Emitter<BusRecordChange>;
  private nextId = 1;
  private bytes = 0;
  private evictedBySize = 0;
  private tombstones = 0;
  /** Tombstones the ring pushed out: not evictions of records. */
  private tombstonesPushedOut = 0;
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
    return this.records.peekOldest()?.record.id ?? this.nextId;
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
    const pushedOut = this.records.push({ record, bytes });
    this.bytes += bytes;
    if (pushedOut) {
      if (pushedOut.deleted) this.tombstonesPushedOut += 1;
      this.letGo(pushedOut, removed);
    }
    while (this.bytes > this.maxBytes && this.records.size > 1) {
      const old = this.records.shift() as Stored;
      if (!old.deleted) this.evictedBySize += 1;
      this.letGo(old, removed);
    }
    this.revision += 1;
    this.changes.fire({ revision: this.revision, added: [record], removed });
    return record;
  }

  /** An evicted record: its size back (a tombstone's was already), and a live one reported removed. */
  private letGo(old: Stored, removed: BusRecord[]): void {
    if (old.deleted) {
      this.tombstones -= 1;
      return;
    }
    this.bytes -= old.bytes;
    removed.push(old.record);
  }

  /** The kept record with this id (not a deleted one), if any. */
  get(id: number): BusRecord | undefined {
    const stored = this.records.at(id - this.oldestId);
    return stored && !stored.deleted && stored.record.id === id ? stored.record : undefined;
  }

  /**
   * Deletes the kept records with these ids (ids not kept are skipped); one change with them as removed. Who may
   * delete what is the caller's to check (`HostBus`).
   */
  delete(ids: readonly number[]): BusRecord[] {
    const removed: BusRecord[] = [];
    const oldest = this.oldestId;
    for (const id of new Set(ids)) {
      const stored = this.records.at(id - oldest);
      if (!stored || stored.deleted || stored.record.id !== id) continue;
      stored.deleted = true;
      this.tombstones += 1;
      this.bytes -= stored.bytes;
      removed.push(stored.record);
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
      const { record, deleted } = this.records.at(i) as Stored;
      if (!deleted && matchesBusFilters(record, filters)) out.push(record);
    }
    return out.reverse();
  }

  /**
   * Up to `limit` records with an id above `cursor` that match, oldest first. `scannedTo` is the id a follow-up
   * read can continue after (past records the filters skipped); `missed` counts records after the cursor that
   * were evicted before they could be read.
   */
  after(
    cursor: number,
    filters: BusFilters,
    limit: number,
  ): { records: BusRecord[]; scannedTo: number; missed: number } {
    const oldest = this.oldestId;
    const missed = Math.max(0, oldest - cursor - 1);
    const records: BusRecord[] = [];
    let scannedTo = Math.max(cursor, oldest - 1);
    for (let i = Math.max(0, cursor + 1 - oldest); i < this.records.size; i++) {
      const { record, deleted } = this.records.at(i) as Stored;
      if (!deleted && matchesBusFilters(record, filters)) {
        if (records.length === limit) break;
        records.push(record);
      }
      scannedTo = record.id;
    }
    return { records, scannedTo, missed };
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
