/**
 * One plugin's recent log records, bounded by count and by bytes: a new record pushes out the oldest ones until both
 * bounds hold again (the newest record always stays, even alone over the byte bound). What was pushed out is counted.
 */
import { payloadBytes } from "@neko/protocol";
import { BoundedQueue } from "../bus/bounded-queue.ts";
import type { LogRecord } from "../host-logger.ts";

/** What a record costs besides its fields: the object and the ring's bookkeeping. */
const RECORD_OVERHEAD_BYTES = 64;

interface Stored {
  record: LogRecord;
  bytes: number;
}

export class LogRing {
  private readonly records: BoundedQueue<Stored>;
  private bytes = 0;
  private droppedBySize = 0;

  constructor(
    capacity: number,
    private readonly maxBytes: number,
  ) {
    this.records = new BoundedQueue(capacity);
  }

  get size(): number {
    return this.records.size;
  }

  /** Records pushed out so far to stay within the bounds. */
  get dropped(): number {
    return this.records.dropped + this.droppedBySize;
  }

  push(record: LogRecord): void {
    const bytes = RECORD_OVERHEAD_BYTES + payloadBytes(record);
    const pushedOut = this.records.push({ record, bytes });
    this.bytes += bytes - (pushedOut?.bytes ?? 0);
    while (this.bytes > this.maxBytes && this.records.size > 1) {
      this.bytes -= (this.records.shift() as Stored).bytes;
      this.droppedBySize += 1;
    }
  }

  /** The newest `max` records that `wanted` accepts, oldest first. */
  newest(max: number, wanted: (record: LogRecord) => boolean = () => true): LogRecord[] {
    const out: LogRecord[] = [];
    for (let i = this.records.size - 1; i >= 0 && out.length < max; i--) {
      const { record } = this.records.at(i) as Stored;
      if (wanted(record)) out.push(record);
    }
    return out.reverse();
  }
}
