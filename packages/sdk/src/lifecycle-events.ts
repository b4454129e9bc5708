/**
 * What each `@lifecycle` handler receives (SPEC §3.5), as the runtime passes it: `config_change` and `reload` from
 * runtime/config-sync.ts (and extension-mounts.ts for an extension), `unfreeze` from runtime/plugin-freezer.ts;
 * `startup`, `shutdown` and `freeze` get nothing.
 */
import type { LifecycleId } from "@neko/protocol";
import type { ConfigRecord } from "./plugin-config.ts";

/**
 * Why the configuration changed: a `temporary` hot update, a `permanent` write of plugin.toml, a `profile` switch, or
 * `reload?mode=config` (the `reload` lifecycle only).
 */
export type ConfigChangeMode = "temporary" | "permanent" | "profile" | "reload";

/**
 * What `config_change` and `reload` receive; `this.config` already holds `newConfig` while they run. Annotate a
 * handler that serves both with the plain `ConfigChangeEvent`.
 */
export interface ConfigChangeEvent<M extends ConfigChangeMode = ConfigChangeMode> {
  /** The effective configuration before the change. */
  oldConfig: ConfigRecord;
  /** The effective configuration after it (what `this.config.dump()` answers). */
  newConfig: ConfigRecord;
  mode: M;
}

/** What `reload` receives: the files re-read by `reload?mode=config`. */
export type ReloadEvent = ConfigChangeEvent<"reload">;

/** What `unfreeze` receives: the `static freezable` fields put back, and when they were saved. */
export interface UnfreezeEvent {
  fields: string[];
  /** ISO time of the freeze. */
  savedAt: string;
}

/** Each lifecycle id and what its handler receives (`undefined`: nothing). */
export interface LifecycleEvents {
  startup: undefined;
  shutdown: undefined;
  freeze: undefined;
  unfreeze: UnfreezeEvent;
  config_change: ConfigChangeEvent<Exclude<ConfigChangeMode, "reload">>;
  reload: ReloadEvent;
}

/**
 * A handler of lifecycle `I`: no parameter for those that receive nothing, else one of the type `LifecycleEvents[I]`
 * (or wider). It may return a `Result`, as an entry does; what an `Err` does depends on the lifecycle (SPEC §3.5).
 */
export type LifecycleHandler<I extends LifecycleId> = LifecycleEvents[I] extends undefined
  ? (this: unknown) => unknown
  : (this: unknown, event: LifecycleEvents[I]) => unknown;
