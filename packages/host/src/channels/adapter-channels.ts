/**
 * Channels from the host's side to an adapter's process (docs/adapters.md#channels): the server (or the CLI) opens one
 * per connection of a protocol it carries itself — an MCP session at `/mcp`, the stdio of `neko-plugin mcp` — and
 * relays that connection's messages to the adapter, which runs the protocol. The host reads nothing of the messages.
 * A channel ends when either side closes it, or when the adapter's process ends.
 */
import { randomUUID } from "node:crypto";
import { type Disposable, DisposableStore, ErrorCode, type WireResult } from "@neko/protocol";
import { type DebugCounted, type HostContext, releaseWithPlugin } from "../host-context.ts";
import { failure } from "../wire-result.ts";

/** What the opener of a channel hears from the adapter. */
export interface ChannelHandlers {
  onMessage(message: unknown, options: { relatedRequestId?: string | number }): void;
  /** Once: the adapter closed it, or its process ended. Not called for the opener's own `close()`. */
  onClose(): void;
}

/** The opener's end of a channel. */
export interface ChannelEnd {
  readonly id: string;
  /** False when it is closed, or the adapter's process is gone. */
  send(message: unknown): boolean;
  close(): void;
}

export interface ChannelsApi {
  /** Opens a channel of `kind` to a running plugin; an Err (`PLUGIN_NOT_RUNNING`, …) when it cannot be. */
  open(pluginId: string, kind: string, handlers: ChannelHandlers): WireResult & { end?: ChannelEnd };
}

interface OpenChannel {
  pluginId: string;
  handlers: ChannelHandlers;
}

export class AdapterChannelHub implements ChannelsApi, Disposable, DebugCounted {
  private readonly channels = new Map<string, OpenChannel>();
  /** The channels of each plugin's current process; the entry goes with the process. */
  private readonly byPlugin = new Map<string, Set<string>>();
  private readonly owned = new DisposableStore();

  constructor(private readonly ctx: HostContext) {
    this.owned.add(
      ctx.services.onNotify("channel.send", ({ channel, message, relatedRequestId }, { pluginId }) => {
        const open = this.channels.get(channel);
        // Only the plugin a channel was opened to may speak on it.
        if (open?.pluginId !== pluginId) return;
        open.handlers.onMessage(message, relatedRequestId === undefined ? {} : { relatedRequestId });
      }),
    );
    this.owned.add(
      ctx.services.onNotify("channel.close", ({ channel }, { pluginId }) => {
        if (this.channels.get(channel)?.pluginId === pluginId) this.end(channel, true);
      }),
    );
  }

  open(pluginId: string, kind: string, handlers: ChannelHandlers): WireResult & { end?: ChannelEnd } {
    const state = this.ctx.plugins.state(pluginId);
    if (state === undefined)
      return failure(ErrorCode.PluginNotFound, `no plugin with id '${pluginId}'`, "NotFoundError");
    if (this.ctx.plugins.manifest(pluginId)?.type !== "adapter") {
      return failure(ErrorCode.PluginRefused, `'${pluginId}' is not an adapter: channels go to adapters only`);
    }
    if (state !== "running") {
      return failure(ErrorCode.PluginNotRunning, `plugin '${pluginId}' is not running (state: ${state})`, "SdkError", {
        state,
      });
    }
    const id = randomUUID();
    let mine = this.byPlugin.get(pluginId);
    if (!mine) {
      mine = new Set();
      this.byPlugin.set(pluginId, mine);
      // When the process ends, every channel to it ends, and its openers hear so.
      releaseWithPlugin(this.ctx, pluginId, "run", () => {
        for (const channel of [...(this.byPlugin.get(pluginId) ?? [])]) this.end(channel, true);
        this.byPlugin.delete(pluginId);
      });
    }
    mine.add(id);
    this.channels.set(id, { pluginId, handlers });
    this.ctx.operations.push(pluginId, "channel.open", { channel: id, kind });
    const end: ChannelEnd = {
      id,
      send: (message) =>
        this.channels.has(id) && this.ctx.operations.push(pluginId, "channel.message", { channel: id, message }),
      close: () => {
        if (!this.channels.has(id)) return;
        this.ctx.operations.push(pluginId, "channel.closed", { channel: id });
        this.end(id, false);
      },
    };
    return { ok: true, value: { id }, end };
  }

  private end(id: string, tell: boolean): void {
    const open = this.channels.get(id);
    if (!open) return;
    this.channels.delete(id);
    this.byPlugin.get(open.pluginId)?.delete(id);
    if (!tell) return;
    try {
      open.handlers.onClose();
    } catch (error) {
      this.ctx.logger.error({ err: error, plugin: open.pluginId }, "a channel's close handler failed");
    }
  }

  debugCounts(): Record<string, number> {
    return { "channels.open": this.channels.size, "channels.plugins": this.byPlugin.size };
  }

  dispose(): void {
    for (const id of [...this.channels.keys()]) this.end(id, true);
    this.owned.dispose();
  }
}
