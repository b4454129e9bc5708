/** Framing: one msgpack-encoded object per ZeroMQ message part. Decoding never throws; bad bytes are `undefined`. */
import { Packr } from "msgpackr";

// Records off: plain maps on the wire keep the format readable by any msgpack implementation (docs/wire-protocol.md).
// 64-bit integers (what most msgpack libraries use for a millisecond timestamp) decode as numbers, never BigInt:
// a BigInt where a number is expected would throw deep inside the receiver.
const packr = new Packr({ useRecords: false, moreTypes: false, int64AsType: "number" });

export function encodeFrame(message: object): Buffer {
  return packr.pack(message);
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
