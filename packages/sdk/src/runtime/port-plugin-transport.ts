/**
 * A thread plugin's side of the transport ([plugin_runtime] isolation = "thread"): msgpack frames on a MessagePort of
 * its own, to its runner's main thread, which holds the thread's ZeroMQ connection to the host (with the thread's own
 * routing id and CURVE keys) and relays the frames both ways unchanged. The socket lives outside the thread so a
 * thread that is terminated (a hang) or exits never tears a ZeroMQ socket down with it (zeromq aborts the whole
 * process then).
 */
import type { MessagePort } from "node:worker_threads";
import { decodeFrame, encodeFrame, type HostToPlugin, type PluginToHost } from "@neko/protocol";
import type { PluginTransport } from "./plugin-transport.ts";

export class PortPluginTransport implements PluginTransport {
  private handler: ((message: HostToPlugin) => void) | undefined;
  private closed = false;

  constructor(private readonly port: MessagePort) {
    port.on("message", (frame: unknown) => {
      if (!(frame instanceof Uint8Array)) return;
      const message = decodeFrame(frame);
      if (message) this.handler?.(message as unknown as HostToPlugin);
    });
  }

  send(message: PluginToHost): void {
    if (this.closed) return;
    this.port.postMessage(encodeFrame(message));
  }

  onMessage(handler: (message: HostToPlugin) => void): void {
    this.handler = handler;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // Posted messages are queued in order: a `close` after them reaches the runner after the last frame.
    this.port.postMessage("close");
    this.port.close();
  }
}
