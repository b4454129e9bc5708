/**
 * Length-prefixed framing for a byte stream (the pipe transport, docs/wire-protocol.md "Framing on a byte stream"):
 * each frame is a 4-byte big-endian unsigned length, then that many bytes of one msgpack message. `FrameDecoder`
 * cuts the frames out of the chunks a stream delivers, in any split: a frame that lies whole in one chunk is handed
 * over as a view of that chunk (no copy), one spread over several chunks is copied once into a buffer of its size. A
 * length of 0 or over the limit is a broken stream: the decoder stops for good and says why, and the reader closes the
 * connection. Nothing here knows sockets, so any byte stream (a socket, a MessagePort carrying chunks) can reuse it.
 */

/** The bytes of a frame's length prefix. */
export const FRAME_HEADER_BYTES = 4;

export interface FrameDecoderOptions {
  /** The largest payload accepted (MAX_FRAME_BYTES on both sides of a plugin's connection). */
  maxFrameBytes: number;
  /** Called once per complete frame, in order, with its payload (valid only until it returns, unless kept). */
  onFrame(payload: Buffer): void;
}

export class FrameDecoder {
  private header = Buffer.alloc(FRAME_HEADER_BYTES);
  private headerBytes = 0;
  /** The frame being assembled across chunks: its length, and the pieces of it that have come. */
  private partialLength = 0;
  private partial: Buffer[] = [];
  private partialBytes = 0;
  private broken: string | undefined;

  constructor(private readonly options: FrameDecoderOptions) {}

  /** Why the stream is broken (undefined while it is not): once set, `push` ignores everything. */
  get problem(): string | undefined {
    return this.broken;
  }

  /** Bytes of an unfinished frame held (its header included): what a peer that stops mid-frame leaves behind. */
  get pendingBytes(): number {
    return this.headerBytes + this.partialBytes;
  }

  /** Takes the next chunk of the stream; returns the problem that broke it, if this chunk did. */
  push(chunk: Buffer): string | undefined {
    if (this.broken !== undefined) return this.broken;
    let offset = 0;
    const end = chunk.length;
    while (offset < end) {
      if (this.partialLength > 0) {
        const take = Math.min(this.partialLength - this.partialBytes, end - offset);
        this.partial.push(take === end - offset && offset === 0 ? chunk : chunk.subarray(offset, offset + take));
        this.partialBytes += take;
        offset += take;
        if (this.partialBytes < this.partialLength) return undefined;
        // The one copy: the pieces, joined into a buffer of the frame's size.
        const frame = Buffer.concat(this.partial, this.partialLength);
        this.partial = [];
        this.partialBytes = 0;
        this.partialLength = 0;
        this.options.onFrame(frame);
        if (this.broken !== undefined) return this.broken;
        continue;
      }
      let length: number;
      if (this.headerBytes === 0 && end - offset >= FRAME_HEADER_BYTES) {
        length = chunk.readUInt32BE(offset);
        offset += FRAME_HEADER_BYTES;
      } else {
        const take = Math.min(FRAME_HEADER_BYTES - this.headerBytes, end - offset);
        chunk.copy(this.header, this.headerBytes, offset, offset + take);
        this.headerBytes += take;
        offset += take;
        if (this.headerBytes < FRAME_HEADER_BYTES) return undefined;
        this.headerBytes = 0;
        length = this.header.readUInt32BE(0);
      }
      if (length === 0) return this.break("a frame of length 0");
      if (length > this.options.maxFrameBytes) {
        return this.break(`a frame of ${length} bytes, over the ${this.options.maxFrameBytes}-byte limit`);
      }
      if (end - offset >= length) {
        this.options.onFrame(chunk.subarray(offset, offset + length));
        offset += length;
        if (this.broken !== undefined) return this.broken;
        continue;
      }
      // Kept as the pieces that came (nothing allocated ahead): a peer that announces a big frame and stops holds only
      // what it sent.
      this.partialLength = length;
    }
    return undefined;
  }

  /** Stops the decoder for good (the reader gave up on the stream); frames still in `push` are not delivered. */
  stop(why: string): void {
    this.break(why);
  }

  private break(why: string): string {
    this.broken ??= why;
    this.partial = [];
    this.partialLength = 0;
    this.partialBytes = 0;
    this.headerBytes = 0;
    return this.broken;
  }
}

/** The length prefix of a payload of `bytes` bytes. */
export function frameHeader(bytes: number): Buffer {
  const header = Buffer.allocUnsafe(FRAME_HEADER_BYTES);
  header.writeUInt32BE(bytes, 0);
  return header;
}
