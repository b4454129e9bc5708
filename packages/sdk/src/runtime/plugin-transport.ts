/** The plugin side of the transport: one connection to the host. ZeroMQ in production, in-memory in unit tests. */
import type { HostToPlugin, PluginToHost } from "@neko/protocol";

export interface PluginTransport {
  /** Queues a message to the host; never throws for a closed peer. */
  send(message: PluginToHost): void;
  onMessage(handler: (message: HostToPlugin) => void): void;
  /** Waits until queued messages are handed to the socket, then closes it. */
  close(): Promise<void>;
}
