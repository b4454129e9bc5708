/**
 * An in-memory `HostTransport` for tests of the host's protocol logic (handshake, supervision, host services) without
 * processes or sockets, as the SDK's `MemoryPluginTransport` is for the plugin side. Every message goes through the
 * real codec both ways and arrives on a later turn of the event loop, as a socket's would; a connection's frames carry
 * the peer id the transport gave it, never one the plugin chose.
 */
import { randomBytes } from "node:crypto";
import { decodeFrame, encodeFrame, type HostToPlugin, type PluginConnection, type PluginToHost } from "@neko/protocol";
import type { HostTransport, IncomingFrame, PeerAdmission } from "./host-transport.ts";

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

/** A frame whose payload is already in memory: a memory connection's, or one a worker relayed (worker-hub.ts). */
export class PayloadFrame implements IncomingFrame {
  constructor(
    readonly peer: string,
    private readonly bytesIn: Uint8Array,
  ) {}

  get bytes(): number {
    return this.bytesIn.length;
  }

  decode(): { type: string; [key: string]: unknown } | undefined {
    return decodeFrame(this.bytesIn);
  }

  payload(): Uint8Array {
    return this.bytesIn;
  }
}

export class MemoryHostTransport implements HostTransport {
  readonly endpoint = "memory://host";
  /** A stranger's connection is not refused here: its frames arrive, under a peer id the host never admitted. */
  readonly refusedConnections = 0;
  private handler: ((frame: IncomingFrame) => void) | undefined;
  private readonly peers = new Map<string, (message: HostToPlugin) => void>();
  /** Admitted routing ids not connected yet. */
  private readonly admitted = new Set<string>();
  private closed = false;

  admit(_label: string): PeerAdmission {
    const routingId = randomBytes(16).toString("hex");
    this.admitted.add(routingId);
    const connection: PluginConnection = { endpoint: this.endpoint, routingId, curve: null };
    return {
      peer: routingId,
      connection,
      bindProcess: () => undefined,
      dispose: () => {
        this.admitted.delete(routingId);
      },
    };
  }

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

  /**
   * A new connection from a plugin process, with the credentials its launch was given: it gets the peer id that was
   * admitted (once). Without them (or a second time) it is a stranger, with a peer id the host never admitted.
   */
  connect(connection?: PluginConnection): MemoryConnection {
    const admitted = connection !== undefined && this.admitted.delete(connection.routingId);
    const peer = admitted ? connection.routingId : `stranger-${randomBytes(8).toString("hex")}`;
    let handler: ((message: HostToPlugin) => void) | undefined;
    this.peers.set(peer, (message) => handler?.(message));
    const arrive = (bytes: Uint8Array) => {
      if (this.closed || !this.peers.has(peer)) return;
      setImmediate(() => this.handler?.(new PayloadFrame(peer, bytes)));
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
