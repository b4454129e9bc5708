export {
  HOT_UPDATE_MODES,
  type HotUpdateMode,
  MAX_TOML_CONVERT_BYTES,
  type PluginConfigApi,
} from "./config/plugin-config-service.ts";
export {
  createHostLogger,
  createSilentLogger,
  type HostLogger,
  type HostLoggerOptions,
  HostLogSink,
  isLogLevel,
  logLevelNamed,
  LOG_LEVELS,
  type LogLevel,
  type LogRecord,
} from "./host-logger.ts";
export type { LogPage, LogQuery, LogRecordView, LogsApi } from "./logs/plugin-logs.ts";
export {
  DEFAULT_LOG_FILE_MAX_BYTES,
  DEFAULT_LOG_FILES_KEPT,
  type LogFiles,
  type LogFilesOptions,
} from "./logs/log-files.ts";
export type { EntryMetricsView, MetricsApi, PluginMetricsView } from "./metrics/plugin-metrics.ts";
export type { MetricsHistoryView, MetricsSample } from "./metrics/metrics-history.ts";
export { isPluginLogFileName, type LogFileRead, type LogFilesApi, type LogFileView } from "./logs/log-files.ts";
export {
  conflictProblem,
  dependencyWarnings,
  ownersOf,
  providerProblem,
  requirementProblem,
} from "./manifest/plugin-dependencies.ts";
export {
  type DiscoveredPlugin,
  discoverPlugins,
  inspectPluginFolder,
  resolvePluginRoots,
} from "./manifest/plugin-discovery.ts";
export {
  type EntryView,
  HOST_VERSION,
  type HostInfo,
  PLUGIN_RUNNER_PATH,
  warmPluginSources,
  PluginHost,
  type PluginHostApi,
  type PluginHostOptions,
  type PluginDetailView,
  type PluginView,
} from "./plugin-host.ts";
export type { PluginStatusReport } from "./plugin-status-board.ts";
export type { StaticUi } from "./static-ui/static-ui-registry.ts";
export type { PluginState } from "./supervisor/plugin-state.ts";
export type { EventView, HookView, MessageHandlerView, TimerView } from "./trigger-views.ts";
export type { BusApi, BusStats, HostBusOptions } from "./bus/host-bus.ts";
export type { MessagePage, MessageQuery, MessagesApi, MessageView } from "./messages/message-queue.ts";
export {
  type ExportPage,
  type RunExportContent,
  type RunExportItem,
  type RunFileLookup,
  type RunsApi,
  type RunUploadInput,
  type RunView,
  type StartedRun,
  safeFileName,
} from "./runs/run-registry.ts";
export { RUN_STATES, type RunState } from "./runs/run-state-machine.ts";
export type { PluginStateChange, PluginLogLine, FinishedCall } from "./supervisor/plugin-supervisor.ts";
export type { HostContext, HostEvents, HostFeature } from "./host-context.ts";
export type {
  ChildExit,
  ChildLine,
  LaunchPreparation,
  LaunchRequest,
  PluginChild,
  PluginLauncher,
} from "./supervisor/plugin-launcher.ts";
export type { HostTransport, IncomingFrame, PeerAdmission } from "./transport/host-transport.ts";
export { NodePluginLauncher } from "./supervisor/node-plugin-launcher.ts";
export { PYTHON_RUNNER_PATH, PythonPluginLauncher } from "./supervisor/python-plugin-launcher.ts";
export {
  findPythonInterpreter,
  PYTHON_REQUIREMENT,
  type PythonInterpreter,
  pythonCandidates,
} from "./supervisor/python-interpreter.ts";
export { inspectionFlags, pluginProcessEnv } from "./supervisor/inspection-sandbox.ts";
export { ZmqHostTransport } from "./transport/zmq-host-transport.ts";
export { PipeHostTransport } from "./transport/pipe-host-transport.ts";
export {
  DEFAULT_LOCAL_TRANSPORT,
  isTransportKind,
  LOCAL_TRANSPORT_ENV,
  TRANSPORT_KINDS,
  type TransportKind,
} from "./transport/local-transport-choice.ts";
export { type MemoryConnection, MemoryHostTransport } from "./transport/memory-host-transport.ts";
export { PluginWorker, type PluginWorkerOptions } from "./workers/plugin-worker.ts";
export { publicKeyHex, type WorkerHubOptions, type WorkerView } from "./workers/worker-hub.ts";
export { type CurveKeyPair, keyFileText, makeKeyPair, readKeyFile, writeKeyFile } from "./workers/key-file.ts";
export type { ChannelEnd, ChannelHandlers, ChannelsApi } from "./channels/adapter-channels.ts";
export type { ExtensionsApi, ExtensionView } from "./extensions/extension-registry.ts";
