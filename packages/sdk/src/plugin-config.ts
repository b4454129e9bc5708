/**
 * `this.config` (SPEC §3.4): the plugin's effective configuration — plugin.toml deep-merged with the active profile
 * and any temporary hot update. Reads are local and synchronous; writes go through the host, which validates them,
 * runs `config_change`, and keeps plugin.toml the source of truth (docs/config.md).
 */
import { type ConfigProfileList, ErrorCode } from "@neko/protocol";
import { type ConfigSchema, type ConfigValidator, compileConfigValidator, ownConfig } from "./config-schema.ts";
import { NotFoundError, SdkError, ValidationError } from "./errors.ts";
import { Err, Ok, type Result } from "./result.ts";
import type { HostBridge } from "./runtime/host-client.ts";
import { toResult } from "./wire-result.ts";

/** `"a.b.c"`, or the keys as an array when a key holds a dot. */
export type ConfigPath = string | readonly string[];
/** `permanent` writes plugin.toml; `temporary` lasts until the plugin process restarts. */
export type ConfigWriteMode = "permanent" | "temporary";
export type ConfigRecord = Record<string, unknown>;
export type { ConfigProfileList };
/** One profile as `this.config.profile(name)` answers it. */
export interface ConfigProfileContent {
  plugin_id: string;
  name: string;
  /** As declared, relative to the plugin folder. */
  path: string;
  active: boolean;
  /** The same, as the original N.E.K.O. answers it: `resolved_path` is absolute (null: it leaves the folder). */
  profile: { name: string; path: string; resolved_path: string | null; exists: boolean };
  /** The file's own content. */
  config: ConfigRecord;
}

/** Used by the runtime when the host pushes a new configuration; not part of the plugin author's API. */
export const replaceConfig = Symbol("neko.config.replace");
/** Used when an extension is taken out: its configuration can no longer be written. */
export const closeConfig = Symbol("neko.config.close");

/**
 * `Own` is the type of the plugin's own tables (`value`): what its `static configSchema` parses to, when the plugin
 * names it (`extends NekoPluginBase<typeof Settings>`).
 */
export class PluginConfig<Own extends ConfigRecord = ConfigRecord> {
  #current: ConfigRecord;
  readonly #bridge: HostBridge;
  readonly #extension: string | undefined;
  readonly #validate: ConfigValidator | undefined;
  #closedBecause: string | undefined;

  /**
   * `extension`: the configuration of that extension (its own plugin.toml), written through its host plugin.
   * `schema`: the class's `configSchema`, which `value` parses with.
   */
  constructor(
    initial: ConfigRecord,
    bridge: HostBridge,
    options: { extension?: string; schema?: ConfigSchema | undefined } = {},
  ) {
    this.#current = structuredClone(initial);
    this.#bridge = bridge;
    this.#extension = options.extension;
    this.#validate = options.schema === undefined ? undefined : compileConfigValidator(options.schema);
  }

  /**
   * The plugin's own tables (everything but `[plugin]`, `[plugin_runtime]` and the other manifest tables), parsed by
   * the `configSchema`: typed, with its defaults filled in. Without a schema, the tables as they are. Throws a
   * `ValidationError` naming the key if they do not match (the host refuses such a configuration, so only a plugin
   * constructed by hand in a unit test sees this).
   */
  get value(): Own {
    if (!this.#validate) return structuredClone(ownConfig(this.#current)) as Own;
    const checked = this.#validate(this.#current);
    if (checked.ok) return checked.value as Own;
    const { violation } = checked;
    throw new ValidationError(violation.message, {
      code: ErrorCode.ConfigInvalid,
      details: { path: violation.path, issues: violation.issues },
    });
  }

  /** The value at `path` (a copy), or `fallback` when it is not set. */
  get<T = unknown>(path: ConfigPath, fallback?: T): T {
    const found = lookup(this.#current, keysOf(path));
    return (found.present ? structuredClone(found.value) : fallback) as T;
  }

  /** The value at `path`; throws a `NotFoundError` (code `CONFIG_KEY_MISSING`) naming the path when it is not set. */
  require<T = unknown>(path: ConfigPath): T {
    const keys = keysOf(path);
    const found = lookup(this.#current, keys);
    if (!found.present) {
      throw new NotFoundError(
        `config key '${keys.join(".")}' is required but not set (in plugin.toml or the active profile)`,
        { code: ErrorCode.ConfigKeyMissing, details: { path: keys.join("."), missing: found.missing } },
      );
    }
    return structuredClone(found.value) as T;
  }

  /**
   * The boolean at `path`, or `fallback` when it is not set. A value of another type throws a `ValidationError`
   * (code `CONFIG_INVALID`) naming the key and what it holds; not set and no fallback is `require`'s error. The
   * original N.E.K.O.'s typed getters, for porting; a `configSchema` types `value` instead.
   */
  getBool(path: ConfigPath, fallback?: boolean): boolean {
    return this.#typed(path, fallback, "a boolean", (v): v is boolean => typeof v === "boolean");
  }

  /** The whole number at `path` (TOML's integers), or `fallback`; see `getBool`. */
  getInt(path: ConfigPath, fallback?: number): number {
    return this.#typed(path, fallback, "a whole number", (v): v is number => Number.isSafeInteger(v));
  }

  /** The string at `path`, or `fallback`; see `getBool`. */
  getStr(path: ConfigPath, fallback?: string): string {
    return this.#typed(path, fallback, "a string", (v): v is string => typeof v === "string");
  }

  #typed<T>(path: ConfigPath, fallback: T | undefined, what: string, is: (value: unknown) => value is T): T {
    const keys = keysOf(path);
    const found = lookup(this.#current, keys);
    if (!found.present) return fallback !== undefined ? fallback : this.require<T>(keys);
    if (is(found.value)) return found.value;
    const held = found.value === null ? "null" : Array.isArray(found.value) ? "an array" : typeof found.value;
    throw new ValidationError(`config key '${keys.join(".")}' must be ${what}, but it holds ${held}`, {
      code: ErrorCode.ConfigInvalid,
      details: { path: keys.join("."), expected: what, got: held },
    });
  }

  has(path: ConfigPath): boolean {
    return lookup(this.#current, keysOf(path)).present;
  }

  /** The whole effective configuration (a copy). */
  dump(): ConfigRecord {
    return structuredClone(this.#current);
  }

  /** Sets one value (`"__DELETE__"` removes the key); see `update`. */
  set(
    path: ConfigPath,
    value: unknown,
    options: { mode?: ConfigWriteMode } = {},
  ): Promise<Result<ConfigRecord, SdkError>> {
    const keys = keysOf(path);
    if (keys.length === 0) return this.update(value as ConfigRecord, options);
    const patch: ConfigRecord = {};
    let table = patch;
    for (const key of keys.slice(0, -1)) {
      const next: ConfigRecord = {};
      table[key] = next;
      table = next;
    }
    table[keys[keys.length - 1]] = value;
    return this.update(patch, options);
  }

  /**
   * Deep-merges `patch` into the configuration through the host (default `permanent`: written to plugin.toml).
   * The plugin's `config_change` runs first and may refuse it; `plugin.id` and `plugin.entry` are always refused.
   * Resolves with the new effective configuration, already visible through `get`.
   */
  async update(patch: ConfigRecord, options: { mode?: ConfigWriteMode } = {}): Promise<Result<ConfigRecord, SdkError>> {
    if (this.#closedBecause !== undefined) {
      return Err(new SdkError(`config: ${this.#closedBecause}`, { code: ErrorCode.ConfigChangeRefused }));
    }
    const mode = options.mode ?? "permanent";
    const extension = this.#extension;
    const written = toResult<{ config: ConfigRecord }>(
      await this.#bridge.request(
        "config.update",
        extension === undefined ? { patch, mode } : { patch, mode, extension },
      ),
    );
    if (!written.ok) return written;
    // A running plugin already has it (the host's config.apply came first); one still in `startup` does not.
    this.#current = structuredClone(written.value.config);
    return Ok(written.value.config);
  }

  /**
   * The plugin's configuration profiles, as the host reads them now: where they are declared (`source`), the `active`
   * one, and each declared file with its `problem` if it cannot be used. Read-only: switching, creating and deleting
   * profiles is the user's (the HTTP routes, docs/config.md#profiles).
   */
  async profiles(): Promise<Result<ConfigProfileList, SdkError>> {
    const extension = this.#extension;
    return toResult<ConfigProfileList>(
      await this.#bridge.request("config.profiles", extension === undefined ? {} : { extension }),
    );
  }

  /** One profile file's own content (`config`: the overlay, not merged), and whether it is the active one. */
  async profile(name: string): Promise<Result<ConfigProfileContent, SdkError>> {
    const extension = this.#extension;
    return toResult<ConfigProfileContent>(
      await this.#bridge.request("config.profile", extension === undefined ? { name } : { name, extension }),
    );
  }

  /** Writes are refused from now on, with `reason` (an extension taken out of its plugin); reads go on. */
  [closeConfig](reason: string): void {
    this.#closedBecause = reason;
  }

  [replaceConfig](next: ConfigRecord): void {
    this.#current = structuredClone(next);
  }
}

function keysOf(path: ConfigPath): string[] {
  if (typeof path !== "string") return [...path];
  return path === "" ? [] : path.split(".");
}

function lookup(root: unknown, keys: string[]): { present: boolean; value?: unknown; missing?: string } {
  let node = root;
  for (const [i, key] of keys.entries()) {
    if (typeof node !== "object" || node === null || !Object.hasOwn(node, key)) {
      return { present: false, missing: keys.slice(0, i + 1).join(".") };
    }
    node = (node as ConfigRecord)[key];
  }
  return { present: true, value: node };
}
