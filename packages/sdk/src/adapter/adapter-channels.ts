/**
 * Channels to an adapter (docs/adapters.md#channels): the host's server carries some protocols itself (MCP's
 * Streamable HTTP at `/mcp`, stdio for `neko-plugin mcp`) and relays each connection's messages to the adapter
 * process over a channel: `channel.open` (with the protocol's `kind`), `channel.message` both ways, and a close from
 * either side. The adapter sees a small message port per connection; the protocol itself runs here.
 */
import { Emitter, type Event } from "@neko/protocol";
import type { PluginLogger } from "../plugin-logger.ts";
import type { HostBridge } from "../runtime/host-client.ts";

/** One connection the host relays: JSON-RPC messages for MCP. */
export class AdapterChannel {
  private readonly messages = new Emitter<unknown>();
  private readonly closes = new Emitter<void>();
  /** Every message the host relays from the connection. */
  readonly onMessage: Event<unknown> = this.messages.event;
  /** Fired once, when either side closes it (or the connection goes). */
  readonly onClose: Event<void> = this.closes.event;
  private closed = false;

  constructor(
    readonly id: string,
    readonly kind: string,
    private readonly bridge: HostBridge,
    private readonly forget: (id: string) => void,
  ) {}

  get isClosed(): boolean {
    return this.closed;
  }

  /** Sends a message to the connection; false once closed (or when it cannot be sent). */
  send(message: unknown, options: { relatedRequestId?: string | number } = {}): boolean {
    if (this.closed) return false;
    const { relatedRequestId } = options;
    const sent = this.bridge.notify(
      "channel.send",
      relatedRequestId === undefined ? { channel: this.id, message } : { channel: this.id, message, relatedRequestId },
    );
    return sent.ok;
  }

  /** Ends the connection from this side. */
  close(): void {
    if (this.closed) return;
    this.bridge.notify("channel.close", { channel: this.id });
    this.ended();
  }

  /** @internal a message from the host. */
  deliver(message: unknown): void {
    if (!this.closed) this.messages.fire(message);
  }

  /** @internal the host closed it. */
  ended(): void {
    if (this.closed) return;
    this.closed = true;
    this.forget(this.id);
    this.closes.fire();
    this.messages.dispose();
    this.closes.dispose();
  }
}

export class AdapterChannels {
  private readonly open = new Map<string, AdapterChannel>();
  private readonly opened = new Emitter<AdapterChannel>();
  /** A new connection; subscribe to its messages at once (they may follow right after). */
  readonly onOpen: Event<AdapterChannel> = this.opened.event;

  constructor(
    bridge: HostBridge,
    private readonly logger: PluginLogger,
  ) {
    bridge.onPush("channel.open", ({ channel, kind }) => {
      if (this.open.has(channel)) return;
      const made = new AdapterChannel(channel, kind, bridge, (id) => this.open.delete(id));
      this.open.set(channel, made);
      if (this.opened.size === 0) {
        this.logger.warn(`a '${kind}' connection came in, but this adapter serves no channels: it is closed`);
        made.close();
        return;
      }
      this.opened.fire(made);
    });
    bridge.onPush("channel.message", ({ channel, message }) => this.open.get(channel)?.deliver(message));
    bridge.onPush("channel.closed", ({ channel }) => this.open.get(channel)?.ended());
  }

  /** The channels open now. */
  get size(): number {
    return this.open.size;
  }
}
