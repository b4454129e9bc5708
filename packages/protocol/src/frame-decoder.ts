/**
 * Length-prefixed framing for a byte stream (the pipe transport, docs/wire-protocol.md "Framing on a byte stream"):
 * each frame is a 4-byte big-endian unsigned length, then that many bytes of one msgpack message. `FrameDecoder`
 * cuts the frames out of the chunks a stream delivers, in any split: a frame that lies whole in one chunk is handed
 * over as a view of that chunk (no copy), one spread over several chunks is gathered into one buffer that grows to
 * the frame's size (doubling, never past it: a frame trickled a byte at a time costs at most twice what came). A
 * length of 0 or over the limit is a broken stream: the decoder stops for good and says why, and the reader closes the
 * connection.
 *
 * A turn's budget (`turnFrames`, `turnBytes`) bounds what one event-loop turn hands over: past it, the rest of the
 * chunks is held (`waiting`) until `nextTurn()`, and the reader (frame-reader.ts) pauses its stream meanwhile, so a
 * peer flooding tiny frames cannot hold the event loop, and its writes meet backpressure. Nothing here knows sockets,
 * so any byte stream (a socket, a MessagePort carrying chunks) can reuse it.
 */

/** The bytes of a frame's length prefix. */
export const FRAME_HEADER_BYTES = 4;

/** The first buffer of a frame spread over chunks (then doubled as more comes, never past the frame's length). */
const FIRST_PARTIAL_BYTES = 64 * 1024;

export interface FrameDecoderOptions {
  /** The largest payload accepted (MAX_FRAME_BYTES on both sides of a plugin's connection). */
  maxFrameBytes: number;
  /** Called once per complete frame, in order, with its payload (valid only until it returns, unless kept). */
  onFrame(payload: Buffer): void;
  /** Frames handed over per turn before the rest waits for `nextTurn()` (default: no limit). */
  turnFrames?: number;
  /** Payload bytes handed over per turn before the rest waits (default: no limit; a bigger frame still passes whole). */
  turnBytes?: number;
}

export class FrameDecoder {
  private header = Buffer.alloc(FRAME_HEADER_BYTES);
  private headerBytes = 0;
  /** The frame being assembled across chunks: its length, the buffer gathering it, and how much of it came. */
  private partialLength = 0;
  private partial: Buffer | undefined;
  private partialBytes = 0;
  /** Chunks (the first from `backlogOffset`) not cut yet: this turn's budget is spent. */
  private backlog: Buffer[] = [];
  private backlogOffset = 0;
  private backlogBytes = 0;
  private spentFrames = 0;
  private spentBytes = 0;
  private readonly turnFrames: number;
  private readonly turnBytes: number;
  private broken: string | undefined;

  constructor(private readonly options: FrameDecoderOptions) {
    this.turnFrames = options.turnFrames ?? Number.POSITIVE_INFINITY;
    this.turnBytes = options.turnBytes ?? Number.POSITIVE_INFINITY;
  }

  /** Why the stream is broken (undefined while it is not): once set, `push` ignores everything. */
  get problem(): string | undefined {
    return this.broken;
  }

  /**
   * Bytes held: an unfinished frame's (its header included: what a peer that stops mid-frame leaves behind) and the
   * chunks waiting for the next turn.
   */
  get pendingBytes(): number {
    return this.headerBytes + this.partialBytes + this.backlogBytes;
  }

  /** Bytes of memory held for an unfinished frame (its buffer's capacity): at most twice what came of it. */
  get partialCapacity(): number {
    return this.partial?.length ?? 0;
  }

  /** True while this turn's budget is spent and chunks wait for `nextTurn()`. */
  get waiting(): boolean {
    return this.backlog.length > 0;
  }

  /** Takes the next chunk of the stream; returns the problem that broke it, if this chunk did. */
  push(chunk: Buffer): string | undefined {
    if (this.broken !== undefined) return this.broken;
    if (chunk.length === 0) return undefined;
    this.backlog.push(chunk);
    this.backlogBytes += chunk.length;
    // Behind chunks already waiting: they go first, at the next turn.
    if (this.backlog.length > 1) return undefined;
    return this.run();
  }

  /** A new turn: a fresh budget, spent first on the chunks that waited. */
  nextTurn(): string | undefined {
    this.spentFrames = 0;
    this.spentBytes = 0;
    if (this.broken !== undefined) return this.broken;
    return this.run();
  }

  /** Stops the decoder for good (the reader gave up on the stream); frames still in `push` are not delivered. */
  stop(why: string): void {
    this.break(why);
  }

  private run(): string | undefined {
    while (this.backlog.length > 0) {
      const chunk = this.backlog[0];
      const offset = this.cut(chunk, this.backlogOffset);
      if (this.broken !== undefined) return this.broken;
      this.backlogBytes -= offset - this.backlogOffset;
      if (offset < chunk.length) {
        // The budget is spent mid-chunk: the rest waits.
        this.backlogOffset = offset;
        return undefined;
      }
      this.backlog.shift();
      this.backlogOffset = 0;
    }
    return undefined;
  }

  private spent(): boolean {
    return this.spentFrames >= this.turnFrames || this.spentBytes >= this.turnBytes;
  }

  private deliver(payload: Buffer): void {
    this.spentFrames += 1;
    this.spentBytes += payload.length;
    this.options.onFrame(payload);
  }

  /** Cuts frames out of `chunk` from `offset`: returns where it stopped (its end, or where the budget ran out). */
  private cut(chunk: Buffer, start: number): number {
    let offset = start;
    const end = chunk.length;
    while (offset < end) {
      if (this.partialLength > 0) {
        const take = Math.min(this.partialLength - this.partialBytes, end - offset);
        this.gather(chunk, offset, take);
        offset += take;
        if (this.partialBytes < this.partialLength) return offset;
        // The buffer grew to exactly the frame's length (see gather).
        const frame = this.partial as Buffer;
        this.partial = undefined;
        this.partialBytes = 0;
        this.partialLength = 0;
        this.deliver(frame);
        if (this.broken !== undefined) return offset;
        continue;
      }
      if (this.spent()) return offset;
      let length: number;
      if (this.headerBytes === 0 && end - offset >= FRAME_HEADER_BYTES) {
        length = chunk.readUInt32BE(offset);
        offset += FRAME_HEADER_BYTES;
      } else {
        const take = Math.min(FRAME_HEADER_BYTES - this.headerBytes, end - offset);
        chunk.copy(this.header, this.headerBytes, offset, offset + take);
        this.headerBytes += take;
        offset += take;
        if (this.headerBytes < FRAME_HEADER_BYTES) return offset;
        this.headerBytes = 0;
        length = this.header.readUInt32BE(0);
      }
      if (length === 0) {
        this.break("a frame of length 0");
        return offset;
      }
      if (length > this.options.maxFrameBytes) {
        this.break(`a frame of ${length} bytes, over the ${this.options.maxFrameBytes}-byte limit`);
        return offset;
      }
      if (end - offset >= length) {
        this.deliver(chunk.subarray(offset, offset + length));
        offset += length;
        if (this.broken !== undefined) return offset;
        continue;
      }
      // Nothing allocated ahead: a peer that announces a big frame and stops holds only about what it sent.
      this.partialLength = length;
    }
    return offset;
  }

  /** Copies `take` bytes of the frame being assembled into its buffer, which doubles as needed up to the frame's size. */
  private gather(chunk: Buffer, offset: number, take: number): void {
    const needed = this.partialBytes + take;
    let buffer = this.partial;
    if (buffer === undefined || buffer.length < needed) {
      let capacity = buffer?.length ?? Math.min(FIRST_PARTIAL_BYTES, this.partialLength);
      while (capacity < needed) capacity *= 2;
      capacity = Math.min(capacity, this.partialLength);
      const grown = Buffer.allocUnsafe(capacity);
      if (buffer !== undefined) buffer.copy(grown, 0, 0, this.partialBytes);
      buffer = grown;
      this.partial = grown;
    }
    chunk.copy(buffer, this.partialBytes, offset, offset + take);
    this.partialBytes = needed;
  }

  private break(why: string): string {
    this.broken ??= why;
    this.partial = undefined;
    this.partialLength = 0;
    this.partialBytes = 0;
    this.headerBytes = 0;
    this.backlog = [];
    this.backlogOffset = 0;
    this.backlogBytes = 0;
    return this.broken;
  }
}

/** The length prefix of a payload of `bytes` bytes. */
export function frameHeader(bytes: number): Buffer {
  const header = Buffer.allocUnsafe(FRAME_HEADER_BYTES);
  header.writeUInt32BE(bytes, 0);
  return header;
}
