/** The host side of the transport: one listening endpoint, many plugin peers, each known only by its socket identity. */
import type { HostToPlugin } from "@neko/protocol";

export interface IncomingFrame {
  /** The peer's identity as the socket reports it (never a field the peer wrote). */
  peer: string;
  /** The decoded message, or undefined when the bytes were not a valid frame. */
  message: { type: string; [key: string]: unknown } | undefined;
}

export interface HostTransport {
  /** The address plugin processes connect to. */
  readonly endpoint: string;
  onFrame(handler: (frame: IncomingFrame) => void): void;
  send(peer: string, message: HostToPlugin): void;
  close(): Promise<void>;
}
