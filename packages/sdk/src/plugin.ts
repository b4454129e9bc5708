/** `@neko/plugin-sdk/plugin`: everything a plugin author imports (SPEC §3). */
import "./symbol-metadata.ts";

export { lifecycle, nekoPlugin, pluginEntry } from "./decorators.ts";
export type { EntryContext } from "./entry-context.ts";
export type {
  ConfigChangeEvent,
  ConfigChangeMode,
  LifecycleEvents,
  LifecycleHandler,
  ReloadEvent,
  UnfreezeEvent,
} from "./lifecycle-events.ts";
export type {
  AfterHookContext,
  AroundHookContext,
  BeforeHookContext,
  HookArgs,
  ReplaceHookContext,
} from "./hook-context.ts";
export { HookConditionError } from "./hook-condition.ts";
export { afterEntry, aroundEntry, beforeEntry, hook, type HookOptions, replaceEntry } from "./hook-decorators.ts";
export { plugin } from "./plugin-namespace.ts";
export {
  type CustomEventOptions,
  customEvent,
  type MessageOptions,
  message,
  type OnEventOptions,
  onEvent,
  type PluginMessage,
  type TimerOptions,
  type TimerTick,
  timerInterval,
} from "./trigger-decorators.ts";
export {
  CircularCallError,
  NotFoundError,
  PermissionDeniedError,
  PluginCallError,
  SdkError,
  type SdkErrorOptions,
  TimeoutError,
  TransportError,
  ValidationError,
} from "./errors.ts";
export { NekoPluginBase, type StaticUiInfo, type StaticUiOptions } from "./plugin-base.ts";
export { PluginRouter } from "./plugin-router.ts";
export type { RouterInfo } from "./runtime/router-mounts.ts";
export type { JsonObject, JsonValue } from "@neko/protocol";
export { DEFAULT_MEMORY_BUCKET, type MemoryHit, type MemoryRecord } from "@neko/protocol";
export { MemoryClient } from "./memory-client.ts";
export { MAX_STORE_KEY_LENGTH, MAX_STORE_VALUE_BYTES, PluginStore } from "./plugin-store.ts";
export {
  DATABASE_KV_TABLE,
  DEFAULT_QUERY_ROW_LIMIT,
  PluginDatabase,
  type QueryOptions,
  READ_ONLY_PRAGMAS,
  type SqlParams,
  type SqlRow,
  type SqlValue,
} from "./plugin-database.ts";
export {
  type CallOptions,
  type CallProgress,
  type PluginEntryInfo,
  type PluginInfo,
  PluginsClient,
} from "./plugins-client.ts";
export type {
  ConfigPath,
  ConfigProfileContent,
  ConfigProfileList,
  ConfigRecord,
  ConfigWriteMode,
  PluginConfig,
} from "./plugin-config.ts";
export type { ConfigOf, ConfigSchema, ConfigSource, JsonSchemaObject } from "./config-schema.ts";
export type { PluginContext } from "./plugin-context.ts";
export type { PluginLogger } from "./plugin-logger.ts";
export type { FileLoggingInfo, FileLoggingOptions, PluginFileLogger } from "./plugin-file-logger.ts";
export type { TimerStartOptions } from "./runtime/timer-scheduler.ts";
export type { EntryOptions, HookTiming, LifecycleId } from "./plugin-metadata.ts";
export { Err, isErr, isOk, Ok, type Result, unwrap, unwrapOr } from "./result.ts";
export { SDK_VERSION } from "./version.ts";
export type { BusEvent, BusFilters, BusNamespaceName, BusRecord } from "@neko/protocol";
export type { BusHandler } from "./bus/bus-connection.ts";
export type { BusNamespace, ConversationNamespace, ConversationRecordInput } from "./bus/bus-namespace.ts";
export { BusRecordList } from "./bus/bus-record-list.ts";
export type { BusWatchChange, BusWatchEvent, BusWatcher } from "./bus/bus-watcher.ts";
export type { PluginBus } from "./bus/plugin-bus.ts";
export type { PushMessageInput } from "./push-message.ts";
export type { RunExport, RunFinish, RunUpdate } from "./run-reporter.ts";
// Re-exported so a plugin folder without its own node_modules can declare `params` schemas.
export { z } from "@neko/protocol/lazy-zod";
