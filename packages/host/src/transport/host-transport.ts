/**
 * The host side of the transport: one listening endpoint, many plugin peers. A peer exists only because the host
 * admitted it first (`admit`): each launch gets its own credentials and the peer id its frames will carry, and the
 * transport lets no one else connect. Frames are handed over undecoded, so the host decodes only what a peer it
 * knows sent.
 */
import type { Disposable, HostToPlugin, PluginConnection } from "@neko/protocol";

export interface IncomingFrame {
  /** The peer's identity as the socket reports it (never a field the peer wrote). */
  peer: string;
  /** The payload's size in bytes. */
  bytes: number;
  /** Decodes the payload: undefined when the bytes are not one valid frame. */
  decode(): { type: string; [key: string]: unknown } | undefined;
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
  bindProcess(pid: number | undefined): void;
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
