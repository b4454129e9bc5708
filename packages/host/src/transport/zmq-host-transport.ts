/** The host's ZeroMQ ROUTER: binds `ipc://` under the run folder (or the `tcp://` address asked for). */
import { decodeFrame, encodeFrame, type HostToPlugin } from "@neko/protocol";
import { Router } from "zeromq";
import type { HostTransport, IncomingFrame } from "./host-transport.ts";

export class ZmqHostTransport implements HostTransport {
  private handler: ((frame: IncomingFrame) => void) | undefined;
  private closed = false;
  private sending: Promise<unknown> = Promise.resolve();
  private readonly loop: Promise<void>;

  private constructor(
    private readonly socket: Router,
    readonly endpoint: string,
  ) {
    this.loop = this.receiveLoop();
  }

  static async bind(endpoint: string): Promise<ZmqHostTransport> {
    const socket = new Router({ linger: 0, sendHighWaterMark: 0, receiveHighWaterMark: 0 });
    await socket.bind(endpoint);
    // For tcp://host:0 the socket knows the real port.
    return new ZmqHostTransport(socket, socket.lastEndpoint ?? endpoint);
  }

  onFrame(handler: (frame: IncomingFrame) => void): void {
    this.handler = handler;
  }

  send(peer: string, message: HostToPlugin): void {
    if (this.closed) return;
    const parts = [Buffer.from(peer, "hex"), encodeFrame(message)];
    // zeromq takes one send at a time (after 512 in one tick it defers and throws EBUSY): chain them, in order.
    // A send to a peer that has gone is dropped by ROUTER; a failure here means the socket closed under us.
    this.sending = this.sending.then(() => (this.closed ? undefined : this.socket.send(parts))).catch(() => undefined);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.socket.close();
    await this.loop;
  }

  private async receiveLoop(): Promise<void> {
    try {
      for await (const parts of this.socket) {
        const peer = parts[0].toString("hex");
        // Our frames are exactly [identity, payload]; anything else is not ours to decode.
        this.handler?.({ peer, message: parts.length === 2 ? decodeFrame(parts[1]) : undefined });
      }
    } catch {
      // Closing the socket ends the iterator with an error; nothing is pending on it.
    }
  }
}
