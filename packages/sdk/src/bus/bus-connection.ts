/**
 * The plugin process's one link to the host bus (shared by every `this.bus` on the same host bridge): keeps the
 * local handlers per event type, tells the host which types to send, dispatches each delivered batch in order and
 * acknowledges it (the host's credit window), and routes watch deltas to their watchers.
 */
import type {
  BusDelivery,
  BusEvent,
  BusFilters,
  BusNamespaceName,
  BusWatchDelta,
  ParamsIn,
  PluginRequestMethod,
  PluginToHostRequests,
  WireResult,
} from "@neko/protocol";
import type { PluginLogger } from "../plugin-logger.ts";
import type { HostBridge, RequestAnswer } from "../runtime/host-client.ts";
import type { BusWatchChannel } from "./bus-watcher.ts";
import { randomUUID } from "@neko/protocol";

/** A bus event handler: the payload, then the event (type, publisher, time). May be async. */
export type BusHandler = (payload: any, event: BusEvent) => unknown;

const connections = new WeakMap<HostBridge, BusConnection>();

/** What a bus, its namespaces and its watchers use of the connection (an extension's is scoped: scoped-bus-link.ts). */
export type BusLink = Pick<BusConnection, "on" | "emit" | "flush" | "request" | "open" | "close" | "reportError">;

export class BusConnection implements BusWatchChannel {
  private readonly handlers = new Map<string, Set<BusHandler>>();
  private readonly watchSinks = new Map<string, (delta: BusWatchDelta) => void>();

  private constructor(
    private readonly bridge: HostBridge,
    private readonly logger: PluginLogger,
  ) {
    bridge.onPush("bus.deliver", (delivery) => this.deliver(delivery));
  }

  static for(bridge: HostBridge, logger: PluginLogger): BusConnection {
    let connection = connections.get(bridge);
    if (!connection) {
      connection = new BusConnection(bridge, logger);
      connections.set(bridge, connection);
    }
    return connection;
  }

  /** Handlers and watches held now, for leak checks (`runtime.counts`). */
  counts(): { busHandlers: number; busWatches: number } {
    let busHandlers = 0;
    for (const set of this.handlers.values()) busHandlers += set.size;
    return { busHandlers, busWatches: this.watchSinks.size };
  }

  /** Adds a handler; the host is told about the type when its first handler arrives and its last one leaves. */
  on(type: string, handler: BusHandler): () => void {
    let set = this.handlers.get(type);
    if (!set) {
      set = new Set();
      this.handlers.set(type, set);
      this.bridge.notify("bus.subscribe", { type });
    }
    const entry: BusHandler = (payload, event) => handler(payload, event);
    set.add(entry);
    return () => {
      if (!set.delete(entry) || set.size > 0) return;
      this.handlers.delete(type);
      this.bridge.notify("bus.unsubscribe", { type });
    };
  }

  emit(type: string, payload: unknown, priority: number | undefined): WireResult {
    return this.bridge.notify("bus.emit", priority === undefined ? { type, payload } : { type, payload, priority });
  }

  /** Answered after the host handled everything this process sent before it. */
  flush(): Promise<WireResult> {
    return this.bridge.request("bus.flush", {});
  }

  request<K extends PluginRequestMethod>(
    method: K,
    params: ParamsIn<PluginToHostRequests, K>,
  ): Promise<RequestAnswer<K>> {
    return this.bridge.request(method, params);
  }

  open(namespace: BusNamespaceName, filters: BusFilters, onDelta: (delta: BusWatchDelta) => void) {
    const watchId = randomUUID();
    this.watchSinks.set(watchId, onDelta);
    const snapshot = this.bridge.request("bus.watch", { watchId, namespace, filters });
    void snapshot.then((answer) => {
      if (!answer.ok) this.watchSinks.delete(watchId);
    });
    return { watchId, snapshot };
  }

  close(watchId: string): void {
    if (this.watchSinks.delete(watchId)) this.bridge.notify("bus.unwatch", { watchId });
  }

  reportError(message: string, error: unknown): void {
    this.logger.exception(message, error);
  }

  /** One batch from the host: events in order to their handlers, deltas to their watchers, then the ack. */
  private deliver(delivery: BusDelivery): void {
    try {
      for (const event of delivery.events) {
        this.dispatch(this.handlers.get(event.type), event);
        if (event.type !== "*") this.dispatch(this.handlers.get("*"), event);
      }
      for (const delta of delivery.deltas) this.watchSinks.get(delta.watchId)?.(delta);
    } finally {
      // The credit comes back whatever happened: a batch that broke dispatch must not stall the plugin's bus.
      this.bridge.notify("bus.ack", { batch: delivery.batch });
    }
  }

  private dispatch(handlers: Set<BusHandler> | undefined, event: BusEvent): void {
    if (!handlers) return;
    for (const handler of [...handlers]) {
      try {
        const returned = handler(event.payload, event);
        if (returned instanceof Promise) {
          returned.catch((error) => this.logger.exception(`a bus handler for '${event.type}' failed`, error));
        }
      } catch (error) {
        this.logger.exception(`a bus handler for '${event.type}' failed`, error);
      }
    }
  }
}
