/**
 * A body over the limit is read to its end (and thrown away) before the 413 goes out: a client still sending when
 * the server closes the connection gets EPIPE or a reset, not the answer. Reading stops at a bound, past which the
 * connection is closed under the sender; the request timeout bounds the time it may take.
 */
import type { IncomingMessage } from "node:http";

/** How much of an oversized body the server reads, and discards, to be able to answer it. */
export const OVERSIZED_BODY_DRAIN_BYTES = 32 * 1024 * 1024;

/** Reads and discards the rest of `req`'s body; resolves `true` once it has ended, `false` past `maxBytes` or on close. */
export function drainOversizedBody(req: IncomingMessage, maxBytes = OVERSIZED_BODY_DRAIN_BYTES): Promise<boolean> {
  if (req.readableEnded) return Promise.resolve(true);
  if (req.destroyed) return Promise.resolve(false);
  return new Promise((resolve) => {
    let read = 0;
    const finish = (whole: boolean) => {
      req.off("data", onData);
      req.off("end", onEnd);
      req.off("close", onClose);
      resolve(whole);
    };
    const onData = (chunk: Buffer) => {
      read += chunk.length;
      if (read > maxBytes) {
        req.pause();
        finish(false);
      }
    };
    const onEnd = () => finish(true);
    const onClose = () => finish(req.readableEnded);
    req.on("data", onData);
    req.on("end", onEnd);
    req.on("close", onClose);
    req.resume();
  });
}
