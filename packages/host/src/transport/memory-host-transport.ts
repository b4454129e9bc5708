/**
 * An in-memory `HostTransport` for tests of the host's protocol logic (handshake, supervision, host services) without
 * processes or sockets, as the SDK's `MemoryPluginTransport` is for the plugin side. Every message goes through the
 * real codec both ways and arrives on a later turn of the event loop, as a socket's would; a connection's frames carry
 * the peer id the transport gave it, never one the plugin chose.
 */
import { decodeFrame, encodeFrame, type HostToPlugin, type PluginToHost } from "@neko/protocol";
import type { HostTransport, IncomingFrame } from "./host-transport.ts";

/** The plugin's end of one connection; shaped like the SDK's `PluginTransport`, so its runtime can use it as is. */
export interface MemoryConnection {
  readonly peer: string;
  /** Throws, sending nothing, for a message the codec refuses (as the ZeroMQ transport does). */
  send(message: PluginToHost): void;
  onMessage(handler: (message: HostToPlugin) => void): void;
  close(): Promise<void>;
  /** Sends raw bytes as one frame, as a broken or hostile peer could. */
  sendRaw(bytes: Uint8Array): void;
}

export class MemoryHostTransport implements HostTransport {
  readonly endpoint = "memory://host";
  private handler: ((frame: IncomingFrame) => void) | undefined;
  private readonly peers = new Map<string, (message: HostToPlugin) => void>();
  private nextPeer = 1;
  private closed = false;

  onFrame(handler: (frame: IncomingFrame) => void): void {
    this.handler = handler;
  }

  /** How many connections are open now. */
  get connections(): number {
    return this.peers.size;
  }

  send(peer: string, message: HostToPlugin): void {
    if (this.closed) return;
    const frame = encodeFrame(message);
    const deliver = this.peers.get(peer);
    // A send to a peer that has gone is dropped, as ROUTER drops it.
    if (deliver) setImmediate(() => deliver(decodeFrame(frame) as unknown as HostToPlugin));
  }

  /** A new connection from a plugin process. */
  connect(): MemoryConnection {
    const peer = `memory-${this.nextPeer++}`;
    let handler: ((message: HostToPlugin) => void) | undefined;
    this.peers.set(peer, (message) => handler?.(message));
    const arrive = (bytes: Uint8Array) => {
      if (this.closed || !this.peers.has(peer)) return;
      setImmediate(() => this.handler?.({ peer, message: decodeFrame(bytes) }));
    };
    return {
      peer,
      send: (message) => arrive(encodeFrame(message)),
      sendRaw: (bytes) => arrive(bytes),
      onMessage: (next) => {
        handler = next;
      },
      close: async () => {
        this.peers.delete(peer);
      },
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    this.peers.clear();
  }
}
