/**
 * The plugin side over ZeroMQ: a DEALER connected to the host's ROUTER, msgpack frames. It connects once, with the
 * routing id and the CURVE keys its launch was given (the host admits one connection per launch, so a reconnection
 * would be refused: the plugin's heartbeats then stop and the host restarts it).
 */
import {
  decodeFrame,
  encodeFrame,
  type HostToPlugin,
  type PluginConnection,
  type PluginToHost,
  serialSend,
} from "@neko/protocol";
import { Dealer } from "zeromq";
import type { PluginTransport } from "./plugin-transport.ts";

export class ZmqPluginTransport implements PluginTransport {
  private readonly socket: Dealer;
  private readonly sendFrame = serialSend((frame: Buffer) => this.socket.send(frame));
  private handler: ((message: HostToPlugin) => void) | undefined;
  private pending: Promise<unknown> = Promise.resolve();

  constructor(connection: PluginConnection) {
    const { curve } = connection;
    this.socket = new Dealer({
      linger: 0,
      sendHighWaterMark: 0,
      receiveHighWaterMark: 0,
      routingId: connection.routingId,
      ...(curve && {
        curveServerKey: curve.serverKey,
        curvePublicKey: curve.publicKey,
        curveSecretKey: curve.secretKey,
      }),
    });
    this.socket.connect(connection.endpoint);
    void this.receiveLoop();
  }

  send(message: PluginToHost): void {
    const frame = encodeFrame(message);
    this.pending = this.sendFrame(frame).catch(() => undefined);
  }

  onMessage(handler: (message: HostToPlugin) => void): void {
    this.handler = handler;
  }

  async close(): Promise<void> {
    await this.pending;
    // A resolved send is only queued: give the last frames (a load_failed, the shutdown result) up to a second to
    // leave before the socket goes; linger 0 would drop them. The host is local, so this is normally instant.
    this.socket.linger = 1000;
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
