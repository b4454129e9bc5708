/**
 * The plugin side of the pipe transport: the private socket pair the host made for this process, inherited as fd
 * `PIPE_FD`, with length-prefixed msgpack frames (FrameDecoder, docs/wire-protocol.md). No native code: a plugin on
 * this transport loads no addon to talk to the host. Frames sent in the same tick leave in one write.
 */
import net from "node:net";
import {
  decodeFrame,
  encodeStreamFrame,
  FrameReader,
  type HostToPlugin,
  MAX_FRAME_BYTES,
  type PluginToHost,
} from "@neko/protocol";
import type { PluginTransport } from "./plugin-transport.ts";

/** How long `close` waits for queued frames to be taken by the socket (the host is local: normally at once). */
const CLOSE_FLUSH_MS = 1000;

export class PipePluginTransport implements PluginTransport {
  private readonly socket: net.Socket;
  private handler: ((message: HostToPlugin) => void) | undefined;
  private corked = false;
  private readonly uncork = () => {
    this.corked = false;
    this.socket.uncork();
  };

  constructor(fd: number) {
    this.socket = new net.Socket({ fd, readable: true, writable: true });
    // The host's frames, a turn's budget at a time (frame-reader.ts), as the host reads the plugin's.
    new FrameReader(this.socket, {
      maxFrameBytes: MAX_FRAME_BYTES,
      onFrame: (payload) => {
        const message = decodeFrame(payload);
        if (message) this.handler?.(message as unknown as HostToPlugin);
      },
      // The host never sends a broken frame; if it did, nothing more on this pipe can be trusted.
      onProblem: () => this.socket.destroy(),
    });
    // The host closed the pipe (it is stopping, or it ended this process): the IPC channel's disconnect ends us.
    this.socket.on("error", () => undefined);
  }

  send(message: PluginToHost): void {
    // Throws for a message msgpack cannot encode or over MAX_FRAME_BYTES (the caller reports it), like ZeroMQ's.
    const frame = encodeStreamFrame(message);
    if (this.socket.destroyed) return;
    if (!this.corked) {
      this.corked = true;
      this.socket.cork();
      process.nextTick(this.uncork);
    }
    this.socket.write(frame);
  }

  onMessage(handler: (message: HostToPlugin) => void): void {
    this.handler = handler;
  }

  async close(): Promise<void> {
    // Answers settled in this turn (the calls a shutdown canceled) are sent first: they are a few promises behind.
    await new Promise((resolve) => setImmediate(resolve));
    if (this.socket.destroyed) return;
    if (this.corked) this.uncork();
    // The last frames (a load_failed, the shutdown result) must reach the host before the process exits.
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, CLOSE_FLUSH_MS);
      this.socket.end(() => {
        clearTimeout(timer);
        resolve();
      });
    });
    this.socket.destroy();
  }
}
