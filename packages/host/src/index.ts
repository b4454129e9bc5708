export { createHostLogger, createSilentLogger, type HostLogger, type LogRecord } from "./host-logger.ts";
export { type DiscoveredPlugin, discoverPlugins, resolvePluginRoots } from "./manifest/plugin-discovery.ts";
export {
  type EntryView,
  HOST_VERSION,
  type HostInfo,
  PluginHost,
  type PluginHostApi,
  type PluginHostOptions,
  type PluginDetailView,
  type PluginView,
} from "./plugin-host.ts";
export type { PluginState } from "./supervisor/plugin-state.ts";
export { BoundedQueue } from "./bus/bounded-queue.ts";
export { type BusApi, type BusStats, HostBus, type HostBusOptions } from "./bus/host-bus.ts";
export { BusRecordStore } from "./bus/bus-record-store.ts";
export {
  MESSAGE_TYPES,
  MessageQueue,
  type MessagePage,
  type MessageQuery,
  type MessagesApi,
  type MessageView,
} from "./messages/message-queue.ts";
export { type ExportPage, RunRegistry, type RunExportItem, type RunsApi, type RunView } from "./runs/run-registry.ts";
export { RUN_STATES, type RunState, RunStateMachine } from "./runs/run-state-machine.ts";
