/** `@neko/plugin-sdk/extension`: everything an extension author imports (SPEC §3.6, docs/extensions.md). */
import "./symbol-metadata.ts";

export {
  extension,
  extensionEntry,
  extensionHook,
  type ExtensionLifecycleId,
  extensionLifecycle as lifecycle,
} from "./extension-decorators.ts";
export { NekoExtensionBase } from "./extension-base.ts";
export type { ConfigChangeEvent, ConfigChangeMode, LifecycleEvents, ReloadEvent } from "./lifecycle-events.ts";
export { type TimerOptions, type TimerTick, timerInterval } from "./trigger-decorators.ts";
export type { EntryContext } from "./entry-context.ts";
export type {
  AfterHookContext,
  AroundHookContext,
  BeforeHookContext,
  HookArgs,
  ReplaceHookContext,
} from "./hook-context.ts";
export type { HookOptions } from "./hook-decorators.ts";
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
export type { NekoPluginBase } from "./plugin-base.ts";
export type { PluginConfig } from "./plugin-config.ts";
export type { PluginLogger } from "./plugin-logger.ts";
export type { PluginStore } from "./plugin-store.ts";
export type { PluginBus } from "./bus/plugin-bus.ts";
export type { EntryOptions, HookTiming } from "./plugin-metadata.ts";
export type { JsonObject, JsonValue } from "@neko/protocol";
export { Err, isErr, isOk, Ok, type Result, unwrap, unwrapOr } from "./result.ts";
export { SDK_VERSION } from "./version.ts";
export { z } from "@neko/protocol/lazy-zod";
