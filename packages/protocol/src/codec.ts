/** Framing: one msgpack-encoded object per ZeroMQ message part. Decoding never throws; bad bytes are `undefined`. */
import { Packr, RESERVE_START_SPACE } from "msgpackr";
import { ErrorCode } from "./error-codes.ts";
import type { WireError } from "./messages.ts";

// Records off: plain maps on the wire keep the format readable by any msgpack implementation (docs/wire-protocol.md).
// 64-bit integers (what most msgpack libraries use for a millisecond timestamp) decode as numbers, never BigInt:
// a BigInt where a number is expected would throw deep inside the receiver.
// No `copyBuffers`: a decoded `bin` is a view into the bytes decoded (on the pipe transport, possibly a whole read's
// buffer, at most 64 KiB); nothing keeps one past its message's handling, and code that would must copy it
// (docs/wire-protocol.md, "Batching").
const packr = new Packr({ useRecords: false, moreTypes: false, int64AsType: "number" });

/**
 * The largest frame either side sends or accepts. The host's ROUTER drops the connection of a peer that sends more
 * (before buffering it), so a sender checks first and turns an oversized message into an error it can report.
 */
export const MAX_FRAME_BYTES = 64 * 1024 * 1024;

/** Thrown by `encodeFrame` for a message whose frame would pass MAX_FRAME_BYTES; nothing was sent. */
export class FrameTooLargeError extends Error {
  readonly code = ErrorCode.PayloadTooLarge;
  constructor(readonly bytes: number) {
    super(`the message is ${(bytes / 1048576).toFixed(1)} MiB, over the ${MAX_FRAME_BYTES / 1048576} MiB frame limit`);
    this.name = "FrameTooLargeError";
  }
}

/**
 * The error for a message `encodeFrame` refused, as `<what>: <reason>`: `PAYLOAD_TOO_LARGE` for a frame over the
 * limit, `otherwise` for a value msgpack cannot encode (a cycle, a BigInt past 64 bits, …).
 */
export function unsendableError(
  what: string,
  error: unknown,
  otherwise: string = ErrorCode.Validation,
  name = "ValidationError",
): WireError {
  const reason = (error as Error)?.message ?? String(error);
  const code = error instanceof FrameTooLargeError ? ErrorCode.PayloadTooLarge : otherwise;
  return { name, code, message: `${what}: ${reason}` };
}

/** One message as a frame; throws for what msgpack cannot encode and for a frame over MAX_FRAME_BYTES. */
export function encodeFrame(message: object): Buffer {
  const frame = packr.pack(message);
  if (frame.length > MAX_FRAME_BYTES) throw new FrameTooLargeError(frame.length);
  return frame;
}

/**
 * One message as a frame for a byte stream (the pipe transport): its 4-byte big-endian length, then the msgpack bytes,
 * in one buffer (msgpack writes after the 4 bytes it was told to leave free, so nothing is copied). Throws as
 * `encodeFrame` does.
 */
export function encodeStreamFrame(message: object): Buffer {
  const frame = packr.pack(message, RESERVE_START_SPACE | 4);
  const bytes = frame.length - 4;
  if (bytes > MAX_FRAME_BYTES) throw new FrameTooLargeError(bytes);
  frame.writeUInt32BE(bytes, 0);
  return frame;
}

/** A frame from an untrusted peer: returns the decoded object, or undefined if it is not a msgpack map with a type. */
export function decodeFrame(bytes: Uint8Array): { type: string; [key: string]: unknown } | undefined {
  let value: unknown;
  try {
    value = packr.unpack(bytes);
  } catch {
    return undefined;
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) return undefined;
  const type = (value as { type?: unknown }).type;
  if (typeof type !== "string") return undefined;
  return value as { type: string; [key: string]: unknown };
}
