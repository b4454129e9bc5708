/** An in-memory `PluginTransport` for unit tests: the test plays the host, messages pass through msgpack frames. */
import { decodeFrame, encodeFrame, type HostToPlugin, type PluginToHost } from "@neko/protocol";
import type { PluginTransport } from "./plugin-transport.ts";

export class MemoryPluginTransport implements PluginTransport {
  /** Everything the plugin sent, in order. */
  readonly sent: PluginToHost[] = [];
  private handler: ((message: HostToPlugin) => void) | undefined;
  private waiters: Array<{ match: (m: PluginToHost) => boolean; resolve: (m: PluginToHost) => void }> = [];

  send(message: PluginToHost): void {
    // Round-trip through the real codec so tests catch what would not survive the wire.
    const copy = decodeFrame(encodeFrame(message)) as unknown as PluginToHost;
    this.sent.push(copy);
    for (const w of this.waiters.filter((w) => w.match(copy))) {
      this.waiters.splice(this.waiters.indexOf(w), 1);
      w.resolve(copy);
    }
  }

  onMessage(handler: (message: HostToPlugin) => void): void {
    this.handler = handler;
  }

  async close(): Promise<void> {}

  /** Delivers a message from the "host" to the plugin. */
  deliver(message: HostToPlugin): void {
    this.handler?.(decodeFrame(encodeFrame(message)) as unknown as HostToPlugin);
  }

  /** The next message the plugin sends that matches. */
  next<T extends PluginToHost>(match: (m: PluginToHost) => boolean): Promise<T> {
    return new Promise((resolve) => this.waiters.push({ match, resolve: resolve as (m: PluginToHost) => void }));
  }
}
