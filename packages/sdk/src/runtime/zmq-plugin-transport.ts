/** The plugin side over ZeroMQ: a DEALER connected to the host's ROUTER, msgpack frames. */
import { decodeFrame, encodeFrame, type HostToPlugin, type PluginToHost } from "@neko/protocol";
import { Dealer } from "zeromq";
import type { PluginTransport } from "./plugin-transport.ts";

export class ZmqPluginTransport implements PluginTransport {
  private readonly socket = new Dealer({ linger: 0, sendHighWaterMark: 0, receiveHighWaterMark: 0 });
  private handler: ((message: HostToPlugin) => void) | undefined;
  private pending: Promise<unknown> = Promise.resolve();

  constructor(endpoint: string) {
    this.socket.connect(endpoint);
    void this.receiveLoop();
  }

  send(message: PluginToHost): void {
    const frame = encodeFrame(message);
    // zeromq takes one send at a time (after 512 in one tick it defers and throws EBUSY): chain them, in order.
    this.pending = this.pending.then(() => this.socket.send(frame)).catch(() => undefined);
  }

  onMessage(handler: (message: HostToPlugin) => void): void {
    this.handler = handler;
  }

  async close(): Promise<void> {
    await this.pending;
    this.socket.close();
  }

  private async receiveLoop(): Promise<void> {
    try {
      for await (const [frame] of this.socket) {
        const message = decodeFrame(frame);
        if (message) this.handler?.(message as unknown as HostToPlugin);
      }
    } catch {
      // The socket was closed: the process is shutting down.
    }
  }
}
