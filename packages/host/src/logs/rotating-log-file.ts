/**
 * One log file of NDJSON lines, rotated by size (`host.ndjson` → `host.ndjson.1` → … → `.keep`, the oldest deleted),
 * written asynchronously: `write` only queues the line, and one write at a time drains the queue. So the disk never
 * holds more than (keep + 1) × maxBytes of it, and a writer faster than the disk cannot stall the host or grow its
 * memory: past `maxPendingBytes` queued, lines are dropped and counted, and a note in the file says how many.
 */
import fs from "node:fs";
import path from "node:path";

export interface RotatingLogFileOptions {
  path: string;
  /** A file is rotated before a line would take it past this size. */
  maxBytes: number;
  /** Rotated files kept besides the current one. */
  keep: number;
  /** Queued text past which new lines are dropped (default 4 MiB). */
  maxPendingBytes?: number;
  /** Fields of the note written after lines were dropped (the plugin tag). */
  noteFields?: Record<string, unknown>;
  /** A file that cannot be opened or written; lines are then dropped until it can. */
  onError?: (error: Error) => void;
}

export const DEFAULT_MAX_PENDING_BYTES = 4 * 1024 * 1024;

export class RotatingLogFile {
  private pending: string[] = [];
  private pendingBytes = 0;
  private handle: fs.promises.FileHandle | undefined;
  private size = 0;
  private draining: Promise<void> | undefined;
  private closed = false;
  /** Dropped since the last note in the file. */
  private unnoted = 0;
  /** Lines dropped so far: the queue was full, or the file could not be written. */
  dropped = 0;

  constructor(private readonly options: RotatingLogFileOptions) {}

  get path(): string {
    return this.options.path;
  }

  /** Queues one line (without its line feed). Never throws, never waits. */
  write(line: string): void {
    if (this.closed) return;
    // Length in UTF-16 units: at most the UTF-8 size for ASCII and a third of it otherwise; close enough for a bound.
    if (this.pendingBytes + line.length > (this.options.maxPendingBytes ?? DEFAULT_MAX_PENDING_BYTES)) {
      this.dropped += 1;
      this.unnoted += 1;
      return;
    }
    this.pending.push(line);
    this.pendingBytes += line.length;
    this.draining ??= this.drain();
  }

  /** Resolves when every line queued so far is in the file (or dropped). */
  async flushed(): Promise<void> {
    while (this.draining) await this.draining;
  }

  /** Writes what is queued, then closes the file; later lines are ignored. */
  async close(): Promise<void> {
    this.closed = true;
    await this.flushed();
    await this.handle?.close().catch(() => undefined);
    this.handle = undefined;
  }

  private async drain(): Promise<void> {
    try {
      while (this.pending.length > 0 || this.unnoted > 0) {
        const batch = this.pending;
        this.pending = [];
        this.pendingBytes = 0;
        if (this.unnoted > 0) {
          batch.push(this.note(this.unnoted));
          this.unnoted = 0;
        }
        try {
          await this.writeLines(batch);
        } catch (error) {
          this.dropped += batch.length;
          this.options.onError?.(error as Error);
          await this.handle?.close().catch(() => undefined);
          this.handle = undefined;
          // Lines that arrive while the disk fails are dropped too, not retried in a loop.
          this.dropped += this.pending.length;
          this.pending = [];
          this.pendingBytes = 0;
          return;
        }
      }
    } finally {
      this.draining = undefined;
    }
  }

  /** In as few writes as the size limit allows, rotating between them. */
  private async writeLines(lines: string[]): Promise<void> {
    let i = 0;
    while (i < lines.length) {
      const handle = await this.open();
      const room = this.options.maxBytes - this.size;
      const chunk: string[] = [];
      let bytes = 0;
      for (; i < lines.length; i++) {
        const size = Buffer.byteLength(lines[i] as string) + 1;
        // A line longer than a whole file still goes in, alone, into an empty file.
        if (bytes + size > room && (chunk.length > 0 || this.size > 0)) break;
        chunk.push(lines[i] as string);
        bytes += size;
      }
      if (chunk.length === 0) {
        await this.rotate();
        continue;
      }
      await handle.write(`${chunk.join("\n")}\n`);
      this.size += bytes;
    }
  }

  private async open(): Promise<fs.promises.FileHandle> {
    if (this.handle) return this.handle;
    await fs.promises.mkdir(path.dirname(this.options.path), { recursive: true });
    const handle = await fs.promises.open(this.options.path, "a");
    // A file left by an earlier host is continued, and rotated when full.
    this.size = (await handle.stat()).size;
    this.handle = handle;
    return handle;
  }

  private async rotate(): Promise<void> {
    await this.handle?.close();
    this.handle = undefined;
    const file = this.options.path;
    const { keep } = this.options;
    if (keep < 1) {
      await fs.promises.rm(file, { force: true });
    } else {
      for (let n = keep - 1; n >= 1; n--) await renameIfThere(`${file}.${n}`, `${file}.${n + 1}`);
      await renameIfThere(file, `${file}.1`);
    }
    this.size = 0;
  }

  private note(count: number): string {
    return JSON.stringify({
      time: new Date().toISOString(),
      level: "warn",
      ...this.options.noteFields,
      msg: `${count} log lines were dropped: the log file could not keep up`,
      dropped: count,
    });
  }
}

async function renameIfThere(from: string, to: string): Promise<void> {
  try {
    await fs.promises.rename(from, to);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
}
