/**
 * Feeds bus traffic to the plugin's trigger handlers (SPEC §3.5): an event emitted on the bus (by the host or any
 * plugin) runs the `@onEvent` / `@customEvent` handlers of its type; a message on the bus's `messages` namespace
 * (`pushMessage` by another plugin) whose `source` a `@message` handler names reaches that handler. Handlers
 * without a `source` only get messages delivered to this plugin (`POST /plugin/{id}/message`): every message on the
 * bus would be too much, and a plugin's own messages never come back to it.
 */
import type { BusRecord } from "@neko/protocol";
import { BusConnection } from "../bus/bus-connection.ts";
import type { PluginBus } from "../bus/plugin-bus.ts";
import type { PluginLogger } from "../plugin-logger.ts";
import type { HostBridge } from "./host-client.ts";

export interface BusTriggerTargets {
  eventTypes: string[];
  messageSources: string[];
  dispatchEvent: (eventType: string, payload: unknown) => Promise<Array<{ id: string; result: { ok: boolean } }>>;
  deliverMessage: (message: Record<string, unknown>) => Promise<unknown>;
}

/** Subscribes; the returned function unsubscribes everything. */
export async function connectTriggersToBus(options: {
  bus: PluginBus;
  bridge: HostBridge;
  pluginId: string;
  logger: PluginLogger;
  targets: BusTriggerTargets;
}): Promise<() => void> {
  const { bus, pluginId, logger, targets } = options;
  const undo: Array<() => void> = [];
  for (const type of new Set(targets.eventTypes)) {
    undo.push(
      bus.on(type, (payload) => {
        void targets.dispatchEvent(type, payload).then((results) => {
          for (const { id, result } of results) {
            if (!result.ok) logger.warn(`event handler '${type}:${id}' failed on a bus event`, { event: type });
          }
        });
      }),
    );
  }
  // A host watch per source, read at the channel: every added record arrives, however many came in one batch.
  const connection = BusConnection.for(options.bridge, logger);
  for (const source of new Set(targets.messageSources)) {
    const { watchId, snapshot } = connection.open("messages", { source, sinceTs: Date.now() }, ({ added }) => {
      for (const record of added as BusRecord[]) {
        if (record.pluginId === pluginId || record.source !== source) continue;
        void targets.deliverMessage(messageFromRecord(record));
      }
    });
    const opened = await snapshot;
    if (!opened.ok) {
      logger.warn(`could not follow bus messages from source '${source}': ${opened.error.message}`);
      continue;
    }
    undo.push(() => connection.close(watchId));
  }
  return () => {
    for (const step of undo) step();
  };
}

/** A `messages` record as the `{ source, text, sender, … }` a `@message` handler receives. */
function messageFromRecord(record: BusRecord): Record<string, unknown> {
  const data = (record.data ?? {}) as Record<string, unknown>;
  const text = typeof data.content === "string" ? data.content : String(data.description ?? "");
  return {
    source: record.source,
    text,
    sender: record.pluginId ?? "host",
    messageType: record.type,
    description: data.description ?? "",
    priority: record.priority,
    metadata: data.metadata ?? {},
    busRecordId: record.id,
  };
}
