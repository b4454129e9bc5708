/**
 * The host side of the transport: one listening endpoint, many plugin peers. A peer exists only because the host
 * admitted it first (`admit`): each launch gets its own credentials and the peer id its frames will carry, and the
 * transport lets no one else connect. Frames are handed over undecoded, so the host decodes only what a peer it
 * knows sent.
 */
import type { Duplex } from "node:stream";
import type { Disposable, HostToPlugin, PluginConnection } from "@neko/protocol";

export interface IncomingFrame {
  /** The peer's identity as the socket reports it (never a field the peer wrote). */
  peer: string;
  /** The payload's size in bytes. */
  bytes: number;
  /** Decodes the payload: undefined when the bytes are not one valid frame. */
  decode(): { type: string; [key: string]: unknown } | undefined;
  /** The payload as it came, undecoded (a worker relays it as is); undefined when it is not one frame. */
  payload(): Uint8Array | undefined;
}

/** One launch's right to connect once, with the credentials the process gets through its bootstrap descriptor. */
export interface PeerAdmission extends Disposable {
  /** The peer id the process's frames will carry, and what `send` takes. */
  readonly peer: string;
  readonly connection: PluginConnection;
  /**
   * The process that may use the credentials, once it is spawned. Over `ipc://` a connection from any other process
   * is refused, whoever holds the credentials.
   */
  bindProcess(pid: number | undefined, channel?: PeerChannel): void;
}

/**
 * What a transport without an endpoint (the pipe transport) connects through: the private stream the launcher made for
 * the process (its extra stdio slot), and what to do when the peer breaks the protocol on it.
 */
export interface PeerChannel {
  /** The host's end of the socket pair; undefined when the launcher made none (the process cannot connect). */
  stream: Duplex | undefined;
  /** The peer broke the framing (a bad length, …): its connection is closed, and the process is to be ended. */
  misbehaved(why: string): void;
}

export interface HostTransport {
  /** The address plugin processes connect to. */
  readonly endpoint: string;
  /** Connection attempts refused so far (no credentials, used ones, another process's). */
  readonly refusedConnections: number;
  /** Admits one more connection, for the process about to be launched; dispose when that process is gone. */
  admit(label: string): PeerAdmission;
  onFrame(handler: (frame: IncomingFrame) => void): void;
  send(peer: string, message: HostToPlugin): void;
  close(): Promise<void>;
}
