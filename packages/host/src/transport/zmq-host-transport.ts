/** The host's ZeroMQ ROUTER: binds `ipc://` under the run folder (or the `tcp://` address asked for). */
import { decodeFrame, encodeFrame, type HostToPlugin, MAX_FRAME_BYTES, serialSend } from "@neko/protocol";
import { Router } from "zeromq";
import type { HostLogger } from "../host-logger.ts";
import type { HostTransport, IncomingFrame } from "./host-transport.ts";

// MAX_FRAME_BYTES (64 MiB): ZeroMQ drops the connection of a peer that sends more, before buffering it. The SDK
// checks its own frames against it, so only a broken or hostile plugin meets it.
export { MAX_FRAME_BYTES };

export class ZmqHostTransport implements HostTransport {
  private handler: ((frame: IncomingFrame) => void) | undefined;
  private closed = false;
  private readonly loop: Promise<void>;
  private readonly sendFrames = serialSend((frames: Buffer[]) => this.socket.send(frames));

  private constructor(
    private readonly socket: Router,
    readonly endpoint: string,
    private readonly logger: HostLogger,
  ) {
    this.loop = this.receiveLoop();
  }

  static async bind(endpoint: string, options: { logger: HostLogger }): Promise<ZmqHostTransport> {
    const socket = new Router({
      linger: 0,
      sendHighWaterMark: 0,
      receiveHighWaterMark: 0,
      maxMessageSize: MAX_FRAME_BYTES,
    });
    await socket.bind(endpoint);
    // For tcp://host:0 the socket knows the real port.
    return new ZmqHostTransport(socket, socket.lastEndpoint ?? endpoint, options.logger);
  }

  onFrame(handler: (frame: IncomingFrame) => void): void {
    this.handler = handler;
  }

  send(peer: string, message: HostToPlugin): void {
    if (this.closed) return;
    // A send to a peer that has gone is dropped by ROUTER; a failure here means the socket closed under us.
    this.sendFrames([Buffer.from(peer, "hex"), encodeFrame(message)]).catch(() => undefined);
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
        try {
          // Our frames are exactly [identity, payload]; anything else is not ours to decode.
          this.handler?.({ peer, message: parts.length === 2 ? decodeFrame(parts[1]) : undefined });
        } catch (error) {
          // One frame that cannot be handled must not end this loop: the host would stop hearing every plugin.
          this.logger.error({ err: error, peer }, "a frame from a plugin could not be handled");
        }
      }
    } catch {
      // Closing the socket ends the iterator with an error; nothing is pending on it.
    }
  }
}
