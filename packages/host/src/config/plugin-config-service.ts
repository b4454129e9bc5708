/**
 * The host's side of plugin configuration (SPEC §2.1, §3.4): reads plugin.toml and the active profile into the
 * effective configuration, serves it and writes it (JSON, raw TOML, hot updates, profile switches, the plugin's own
 * `this.config.set`), and keeps a running plugin in step. Every change goes the same way: validate (manifest parser,
 * protected `plugin.id` / `plugin.entry`; a plugin's own write may not touch its permissions), push to the running
 * plugin, whose `config_change` (or `reload`) may refuse
 * it — then nothing changes, neither in the plugin nor on disk — and only then write the file atomically. A plugin
 * with a `configSchema` has its configuration checked against it at start (its hello) and before every change.
 */
import fs from "node:fs";
import path from "node:path";
import { isDeepStrictEqual } from "node:util";
import { writeFileAtomic } from "@neko/plugin-sdk/atomic-write";
import {
  type Answer,
  type Disposable,
  DisposableStore,
  configuredSecondsProblem,
  ErrorCode,
  type HelloMessage,
  MAX_VALUE_DEPTH,
  nestsDeeperThan,
  type PluginToHostRequests,
  type ResultOf,
  type WireError,
  type WireResult,
} from "@neko/protocol";
import {
  type ConfigViolation,
  compileConfigValidator,
  configSchemaProblem,
  ownConfig,
} from "@neko/plugin-sdk/config-schema";
import { parse, stringify } from "smol-toml";
import { type HostContext, releaseWithPlugin } from "../host-context.ts";
import { parseManifest } from "../manifest/plugin-manifest.ts";
import { failure, type WireFailure } from "../wire-result.ts";
import { ConfigError } from "./config-error.ts";
import { ConfigSchemaStore, type KnownConfigSchema } from "./config-schema-store.ts";
import { type ConfigTable, isTable, mergeConfig, REPLACE_MARKER } from "./config-merge.ts";
import {
  type ActiveProfile,
  type ConfigProfiles,
  loadActiveProfile,
  loadProfile,
  MAX_PROFILE_FILE_BYTES,
  newProfilePath,
  ownedFileProblem,
  PROFILES_FILE,
  profileNameProblem,
  readConfigProfiles,
  realPathOf,
  resolveInsidePluginDir,
} from "./config-profiles.ts";
import { leafPaths, withoutPaths, changedPaths, type KeyPath } from "./temporary-paths.ts";
import { rewriteToml } from "./toml-rewrite.ts";

export const HOT_UPDATE_MODES = ["temporary", "permanent"] as const;
export type HotUpdateMode = (typeof HOT_UPDATE_MODES)[number];

/** The largest TOML text (and JSON configuration) `parseToml` / `renderToml` take, in bytes. */
export const MAX_TOML_CONVERT_BYTES = 256 * 1024;

/** What the server may ask about and change in a plugin's configuration. Every answer is a WireResult. */
export interface PluginConfigApi {
  /**
   * `{ plugin_id, config, profile, temporary, temporary_keys, running }`: what the plugin runs with (or will, when
   * stopped); `temporary_keys` are the dotted key paths a temporary change overlays now.
   */
  get(id: string): WireResult;
  /** `{ plugin_id, path, config }`: plugin.toml alone, without the active profile or temporary changes. */
  base(id: string): WireResult;
  /**
   * `{ plugin_id, path, config, temporary, temporary_keys, running }`: plugin.toml with the temporary changes in force
   * (while the plugin runs), without the active profile — what the plugin would run with if no profile were active.
   */
  effectiveBase(id: string): WireResult;
  /** Replaces plugin.toml with `config` (the whole document as JSON). */
  replace(id: string, config: unknown): Promise<WireResult>;
  /** `{ plugin_id, path, toml }`: plugin.toml as written, comments and all; works for a refused plugin too. */
  getToml(id: string): WireResult;
  /** Writes exactly `text` to plugin.toml once it parses as a valid manifest that keeps `plugin.id` / `entry`. */
  replaceToml(id: string, text: unknown): Promise<WireResult>;
  /**
   * Deep-merges `config` (a patch); `temporary` lives in the running plugin only, `permanent` goes to plugin.toml — or,
   * with `profile`, into that declared profile's file (permanent only).
   */
  hotUpdate(id: string, update: { config: unknown; mode: unknown; profile?: unknown }): Promise<WireResult>;
  /** Re-reads plugin.toml and the profiles and hands them to the running plugin's `reload` (no restart). */
  reload(id: string): Promise<WireResult>;
  profiles(id: string): WireResult;
  profile(id: string, name: string): WireResult;
  /** `{ plugin_id, schema }`: the JSON Schema of the plugin's own tables, as its process last sent it; null: none. */
  schema(id: string): WireResult;
  /** Switches the active profile (null: none) in the file that declares the profiles. */
  setActiveProfile(id: string, name: unknown): Promise<WireResult>;
  /**
   * Makes declared profile `name` the active one (404 `NOT_FOUND` when it is not declared): the write's answer with
   * the profile listing afterwards (`profiles_path`, `profiles_exists`, `config_profiles`).
   */
  activateProfile(id: string, name: string): Promise<WireResult>;
  /**
   * Writes profile `name`'s file with `config` (its whole content); a new profile gets `profiles/<name>.toml` and is
   * declared where the plugin declares its profiles (a new profiles.toml when it declares none). `makeActive: true`
   * also makes it the active profile, in the same operation (refused: nothing is written).
   */
  writeProfile(id: string, name: string, config: unknown, options?: { makeActive?: unknown }): Promise<WireResult>;
  /** Removes a profile that is not the active one: its declaration, and its file. */
  deleteProfile(id: string, name: string): Promise<WireResult>;
  /**
   * `{ config }`: TOML text as JSON; touches no file. With a plugin `id`: `{ plugin_id, config }`, 404 for an unknown
   * plugin, and a `plugin.id` / `plugin.entry` other than the plugin's refused (CONFIG_PROTECTED_FIELD).
   */
  parseToml(text: unknown, id?: string): WireResult;
  /** `{ toml }`: a JSON table as TOML text; touches no file. With a plugin `id`: as `parseToml`. */
  renderToml(config: unknown, id?: string): WireResult;
}

/** What a configuration write answers: the same as `config.update`. */
type ConfigWrite = Answer<ResultOf<PluginToHostRequests, "config.update">>;

/** plugin.toml, its profiles and the active profile, as on disk now. */
interface DiskConfig {
  dir: string;
  manifestPath: string;
  text: string;
  base: ConfigTable;
  profiles: ConfigProfiles;
  profile: ActiveProfile | undefined;
}

interface Applied {
  config: ConfigTable;
  profile: string | null;
}

interface Change {
  /** The new effective configuration. */
  next: ConfigTable;
  /** The profile it was made with. */
  profile: string | null;
  /** Given to the lifecycle: `permanent`, `temporary`, `profile` or `reload`. */
  mode: string;
  lifecycle: "config_change" | "reload";
  /** For a reload: the re-read manifest, which becomes the plugin's `this.metadata`. */
  manifest?: ConfigTable;
  /** Writes the files, once the running plugin accepted the change. */
  persist?: () => void;
  /** plugin.toml changed: the host re-reads it afterwards, for listings and the next start. */
  manifestChanged?: boolean;
  /** The temporary patches in force afterwards (unchanged when absent). */
  temporary?: ConfigTable[];
  /** For a change written to the files: what the plugin's next start reads from them (no temporary patch). */
  nextStart?: ConfigTable;
  /** The plugin's own write (`this.config.set/update`), which may be made from its `startup`. */
  byPlugin?: boolean;
}

const PROTECTED_KEYS = ["id", "entry"] as const;

export class PluginConfigService implements PluginConfigApi, Disposable {
  /** Patches of temporary hot updates, in order; they last as long as the plugin process (its run). */
  private readonly temporary = new Map<string, ConfigTable[]>();
  /** The configuration each running plugin has accepted; it lasts as long as the process (its run). */
  private readonly applied = new Map<string, Applied>();
  /** Changes to one plugin's configuration never interleave; the queue goes when the plugin leaves the host. */
  private readonly queues = new Map<string, Promise<unknown>>();
  private readonly owned = new DisposableStore();
  private readonly schemas: ConfigSchemaStore;
  private readonly schemaWatched = new Set<string>();
  /**
   * The configured timers (`seconds: "config:<key>"`) of each plugin's last hello, by plugin id: a plugin that is not
   * running cannot check a change against them itself, so the host does (kept while the plugin is known to the host).
   */
  private readonly timerKeys = new Map<string, Array<{ timer: string; key: string }>>();

  constructor(private readonly ctx: HostContext) {
    this.schemas = new ConfigSchemaStore(path.join(ctx.dataDir, "config-schemas"), (plugin, problem) =>
      ctx.logger.warn({ plugin }, problem),
    );
    this.owned.add(ctx.operations.addLaunchContext((spec, ask) => this.startContext(spec.id, ask.preview)));
    this.owned.add(ctx.operations.addHelloCheck((id, hello) => this.checkHello(id, hello)));
    this.owned.add(
      ctx.services.handle("config.update", ({ patch, mode, extension }, { pluginId }) => {
        if (extension === undefined) return this.hotUpdate(pluginId, { config: patch, mode }, { byPlugin: true });
        return this.extensionUpdate(pluginId, extension, { config: patch, mode });
      }),
    );
    // Reading its own profiles (or an extension's of it): the same answers as the HTTP routes.
    this.owned.add(
      ctx.services.handle("config.profiles", (params, { pluginId }) =>
        this.ownRead(pluginId, params.extension, (id) => this.profiles(id)),
      ),
    );
    this.owned.add(
      ctx.services.handle("config.profile", ({ name, extension }, { pluginId }) =>
        this.ownRead(pluginId, extension, (id) => this.profile(id, name)),
      ),
    );
  }

  debugCounts(): Record<string, number> {
    return {
      "config.applied": this.applied.size,
      "config.temporary": this.temporary.size,
      "config.queues": this.queues.size,
      "config.schemas": this.schemas.size,
    };
  }

  dispose(): void {
    this.owned.dispose();
  }

  get(id: string): WireResult {
    return attempt(() => {
      const applied = this.isRunning(id) ? this.applied.get(id) : undefined;
      if (applied) {
        const keys = temporaryKeys(this.temporary.get(id) ?? []);
        return {
          plugin_id: id,
          config: applied.config,
          profile: applied.profile,
          temporary: keys.length > 0,
          temporary_keys: keys,
          running: true,
        };
      }
      const disk = this.readDisk(id);
      return {
        plugin_id: id,
        config: effective(disk, []),
        profile: profileName(disk),
        temporary: false,
        temporary_keys: [],
        running: false,
      };
    });
  }

  base(id: string): WireResult {
    return attempt(() => {
      const { manifestPath } = this.locate(id);
      return {
        plugin_id: id,
        path: manifestPath,
        config: plainData(parseBase(fs.readFileSync(manifestPath, "utf8"), manifestPath)),
      };
    });
  }

  effectiveBase(id: string): WireResult {
    return attempt(() => {
      const disk = this.readDisk(id, { activeProfile: false });
      const temporary = this.temporaryOf(id);
      const keys = temporaryKeys(temporary);
      return {
        plugin_id: id,
        path: disk.manifestPath,
        config: effective(disk, temporary),
        temporary: keys.length > 0,
        temporary_keys: keys,
        running: this.isRunning(id),
      };
    });
  }

  replace(id: string, config: unknown): Promise<ConfigWrite> {
    return this.serialize(id, () => {
      if (!isTable(config)) {
        throw ConfigError.invalid("config must be a JSON object: the whole plugin.toml as a table");
      }
      assertShallow(config);
      const disk = this.readDisk(id);
      const document = keepDates(disk.base, withProtectedFields(disk.base, mergeConfig({}, config)));
      checkProtected(id, disk.base, document);
      return this.applyManifest(id, disk, manifestText(disk.text, document));
    });
  }

  getToml(id: string): WireResult {
    return attempt(() => {
      const { manifestPath } = this.locate(id);
      return { plugin_id: id, path: manifestPath, toml: fs.readFileSync(manifestPath, "utf8") };
    });
  }

  replaceToml(id: string, text: unknown): Promise<ConfigWrite> {
    return this.serialize(id, () => {
      if (typeof text !== "string") throw ConfigError.invalid("the TOML text must be a string");
      const where = this.locate(id);
      const document = validateManifest(text);
      // A manifest that no longer parses can still be fixed here; only the id is known to protect then.
      checkProtected(id, tryParse(fs.readFileSync(where.manifestPath, "utf8")), document);
      return this.applyManifest(id, where, text);
    });
  }

  /** `byPlugin`: the plugin's own `this.config.set` / `update`, which may not change what it is allowed to do. */
  hotUpdate(
    id: string,
    update: { config: unknown; mode: unknown; profile?: unknown },
    origin: { byPlugin?: boolean; byExtension?: boolean } = {},
  ): Promise<ConfigWrite> {
    return this.serialize(id, (): ConfigWrite | Promise<ConfigWrite> => {
      const { config: patch, mode, profile } = update;
      if (!HOT_UPDATE_MODES.includes(mode as HotUpdateMode)) {
        throw ConfigError.invalid(`mode must be 'temporary' or 'permanent', not ${JSON.stringify(mode)}`);
      }
      if (!isTable(patch)) throw ConfigError.invalid("config must be a JSON object of the keys to change");
      assertShallow(patch);
      if (profile !== undefined && profile !== null) {
        if (typeof profile !== "string" || profile === "") {
          throw ConfigError.invalid("profile must be the name of a declared profile, or null");
        }
        if (mode !== "permanent") {
          throw ConfigError.invalid(
            `a temporary change lives in the running plugin only, not in profile '${profile}': use mode 'permanent' to write the profile's file`,
            { profile },
          );
        }
        return this.patchProfile(id, profile, patch) as Promise<ConfigWrite>;
      }
      const disk = this.readDisk(id);
      if (mode === "permanent") {
        const document = mergeConfig(disk.base, patch);
        checkProtected(id, disk.base, document);
        if (origin.byPlugin) checkPermissionsKept(disk.base, document, { extension: origin.byExtension });
        const touched = leafPaths(patch);
        const written = this.applyManifest(id, disk, manifestText(disk.text, document), touched, {
          byPlugin: origin.byPlugin === true,
        });
        if (origin.byPlugin) return written;
        // Keys the active profile also sets: the plugin goes on seeing the profile's value (docs/config.md).
        return written.then((result): ConfigWrite => {
          if (!result.ok) return result;
          const overlay = loadActiveProfile(readConfigProfiles(disk.dir, document))?.overlay;
          const shadowed = overlay === undefined ? [] : touched.filter((keys) => overlaySets(overlay, keys));
          const value = { ...result.value, shadowed_by_profile: shadowed.map((keys) => keys.join(".")) };
          return { ok: true, value } as ConfigWrite;
        });
      }
      if (!this.isRunning(id)) {
        throw new ConfigError(
          ErrorCode.PluginNotRunning,
          `plugin '${id}' is not running: a temporary change lives in the running plugin only (use mode 'permanent')`,
        );
      }
      const temporary = [...this.temporaryOf(id), patch];
      const next = effective(disk, temporary);
      checkProtected(id, disk.base, next);
      if (origin.byPlugin) {
        checkPermissionsKept(effective(disk, this.temporaryOf(id)), next, { extension: origin.byExtension });
      }
      validateManifest(tomlText(next));
      return this.apply(id, {
        next,
        profile: profileName(disk),
        mode: "temporary",
        lifecycle: "config_change",
        temporary,
        byPlugin: origin.byPlugin === true,
      });
    });
  }

  /**
   * An extension's `this.config.update`, sent by the plugin it is loaded into: written to the extension's own
   * plugin.toml. Only that plugin may write it, and only permanently (an extension has no process of its own to hold
   * a temporary change).
   */
  private async extensionUpdate(
    pluginId: string,
    extension: string,
    update: { config: unknown; mode: unknown },
  ): Promise<ConfigWrite> {
    const manifest = this.ctx.plugins.manifest(extension);
    if (manifest?.type !== "extension" || manifest.host?.pluginId !== pluginId) {
      return failure(ErrorCode.PermissionDenied, `plugin '${pluginId}' holds no extension '${extension}'`);
    }
    if (update.mode !== "permanent") {
      return failure(
        ErrorCode.ConfigInvalid,
        `an extension's configuration is written to its plugin.toml: mode must be 'permanent', not ${JSON.stringify(update.mode)}`,
      );
    }
    return this.hotUpdate(extension, update, { byPlugin: true, byExtension: true });
  }

  /** A read of the calling plugin's configuration, or of an extension loaded into it (no other plugin's). */
  private ownRead<T>(pluginId: string, extension: string | undefined, read: (id: string) => WireResult): Answer<T> {
    if (extension !== undefined) {
      const manifest = this.ctx.plugins.manifest(extension);
      if (manifest?.type !== "extension" || manifest.host?.pluginId !== pluginId) {
        return failure(ErrorCode.PermissionDenied, `plugin '${pluginId}' holds no extension '${extension}'`);
      }
    }
    return read(extension ?? pluginId) as Answer<T>;
  }

  reload(id: string): Promise<ConfigWrite> {
    return this.serialize(id, () => {
      const disk = this.readDisk(id);
      validateManifest(disk.text);
      checkProtected(id, undefined, disk.base);
      const diskEntry = (disk.base.plugin as ConfigTable).entry;
      const runningEntry = this.isRunning(id) ? (this.applied.get(id)?.config.plugin as ConfigTable)?.entry : undefined;
      if (runningEntry !== undefined && diskEntry !== runningEntry) {
        throw new ConfigError(
          ErrorCode.ConfigProtectedField,
          `plugin.toml: [plugin].entry is now ${JSON.stringify(diskEntry)}, not ${JSON.stringify(runningEntry)}: ` +
            `a new entry needs a full reload (POST /plugin/${id}/reload without mode=config)`,
        );
      }
      return this.apply(id, {
        next: effective(disk, []),
        profile: profileName(disk),
        mode: "reload",
        lifecycle: "reload",
        manifest: plainData(disk.base),
        temporary: [],
        manifestChanged: true,
      });
    });
  }

  profiles(id: string): WireResult {
    return attempt(() => {
      const disk = this.readDisk(id, { activeProfile: false });
      return {
        plugin_id: id,
        source: disk.profiles.source,
        active: disk.profiles.active,
        profiles: disk.profiles.files.map((f) => ({
          name: f.name,
          path: f.path,
          resolved_path: f.resolvedPath,
          exists: f.exists,
          problem: f.problem,
        })),
        profiles_path: path.join(disk.dir, PROFILES_FILE),
        profiles_exists: fs.existsSync(path.join(disk.dir, PROFILES_FILE)),
        config_profiles:
          disk.profiles.source === null
            ? null
            : {
                active: disk.profiles.active,
                files: Object.fromEntries(
                  disk.profiles.files.map((f) => [
                    f.name,
                    { path: f.path, resolved_path: f.resolvedPath, exists: f.exists },
                  ]),
                ),
              },
      };
    });
  }

  profile(id: string, name: string): WireResult {
    return attempt(() => {
      const disk = this.readDisk(id, { activeProfile: false });
      const file = disk.profiles.files.find((f) => f.name === name);
      if (!file) throw notDeclared(id, name, disk.profiles);
      const loaded = loadProfile(disk.profiles, name);
      return {
        plugin_id: id,
        name,
        path: loaded.path,
        active: disk.profiles.active === name,
        profile: { name, path: file.path, resolved_path: file.resolvedPath, exists: file.exists },
        config: plainData(loaded.overlay),
      };
    });
  }

  schema(id: string): WireResult {
    return attempt(() => {
      this.locate(id);
      return { plugin_id: id, schema: this.schemaOf(id)?.json ?? null };
    });
  }

  /** `undeclared: "not-found"`: a profile the plugin does not declare is 404 NOT_FOUND (the activate route's answer). */
  setActiveProfile(id: string, name: unknown, options: { undeclared?: "not-found" } = {}): Promise<ConfigWrite> {
    return this.serialize(id, () => {
      if (name !== null && (typeof name !== "string" || name === "")) {
        throw ConfigError.invalid("name must be a profile name, or null for no profile");
      }
      const disk = this.readDisk(id, { activeProfile: false });
      if (options.undeclared === "not-found" && !disk.profiles.files.some((f) => f.name === name)) {
        throw notDeclared(id, String(name), disk.profiles);
      }
      const { source } = disk.profiles;
      if (source === null) {
        throw ConfigError.invalid(
          `plugin '${id}' declares no profiles: add ${PROFILES_FILE} or [plugin.config_profiles] with files = { name = "path" }`,
        );
      }
      const profile = name === null ? undefined : loadProfile(disk.profiles, name);
      // The file that declares the profiles gets the new `active`, keeping its comments.
      const file = source === "profiles.toml" ? path.join(disk.dir, PROFILES_FILE) : disk.manifestPath;
      const text = fs.readFileSync(file, "utf8");
      const document = parse(text);
      const table = profilesTable(document, source);
      if (name === null) delete table.active;
      else table.active = name;
      const written = rewriteToml(text, document);
      const base = source === "plugin.toml" ? validateManifest(written) : disk.base;
      return this.apply(id, {
        ...this.fileChange(id, { ...disk, base, profile }),
        profile: profile?.name ?? null,
        mode: "profile",
        lifecycle: "config_change",
        persist: () => writeFileAtomic(file, written),
        manifestChanged: source === "plugin.toml",
      });
    });
  }

  async activateProfile(id: string, name: string): Promise<WireResult> {
    const written = await this.setActiveProfile(id, name, { undeclared: "not-found" });
    if (!written.ok) return written;
    const listed = this.profiles(id);
    if (!listed.ok) return written;
    const { profiles_path, profiles_exists, config_profiles } = listed.value as Record<string, unknown>;
    return { ok: true, value: { ...written.value, profiles_path, profiles_exists, config_profiles } };
  }

  /**
   * The start hook: a new process starts from the files, without the old process's temporary changes. A preview (a
   * reload's new process, not yet taking over) leaves what the current process runs with as it is.
   */
  private startContext(id: string, preview = false): { config: ConfigTable } {
    const disk = this.readDisk(id);
    const config = effective(disk, []);
    if (!preview) this.setApplied(id, { config, profile: profileName(disk) });
    return { config };
  }

  /** What the plugin's current process runs with; forgotten, with its temporary patches, when the process ends. */
  private setApplied(id: string, applied: Applied): void {
    const first = !this.applied.has(id);
    this.applied.set(id, applied);
    if (first) {
      releaseWithPlugin(this.ctx, id, "run", () => {
        this.applied.delete(id);
        this.temporary.delete(id);
      });
    }
  }

  /**
   * Applies `text` as the new plugin.toml: validated, with the profiles it declares, written once accepted. `touched`:
   * the key paths a patch wrote, whose temporary values go even where the file already held the same value.
   */
  private applyManifest(
    id: string,
    where: { dir: string; manifestPath: string },
    text: string,
    touched: KeyPath[] = [],
    options: { byPlugin?: boolean } = {},
  ): Promise<ConfigWrite> {
    const base = validateManifest(text);
    const profiles = readConfigProfiles(where.dir, base);
    const disk: DiskConfig = {
      dir: where.dir,
      manifestPath: where.manifestPath,
      text,
      base,
      profiles,
      profile: loadActiveProfile(profiles),
    };
    return this.apply(id, {
      ...this.fileChange(id, disk, touched),
      profile: profileName(disk),
      mode: "permanent",
      lifecycle: "config_change",
      persist: () => writeFileAtomic(where.manifestPath, text),
      manifestChanged: true,
      byPlugin: options.byPlugin,
    });
  }

  /**
   * What a change to the files makes of the configuration: what the next start reads (`nextStart`), and what the
   * running plugin runs with (`next`) — the files with the temporary values the change does not touch. A permanent
   * change wins over an earlier temporary one on every key it touches: a key the patch names (`touched`), or whose
   * value in plugin.toml or in the files' effective configuration changes. Temporary values on other keys stay.
   */
  private fileChange(
    id: string,
    after: DiskConfig,
    touched: KeyPath[] = [],
  ): Pick<Change, "next" | "nextStart" | "temporary"> {
    const nextStart = effective(after, []);
    const current = this.temporaryOf(id);
    let temporary: ConfigTable[] = [];
    if (current.length > 0) {
      const before = this.tryReadDisk(id);
      // Files that cannot be read now: nothing tells what the change touches, so no temporary value stays.
      if (before !== undefined) {
        const changed = [
          ...touched,
          ...changedPaths(plainData(before.base), plainData(after.base)),
          ...changedPaths(effective(before, []), nextStart),
        ];
        temporary = withoutPaths(current, changed);
      }
    }
    return { next: effective(after, temporary), nextStart, temporary };
  }

  private tryReadDisk(id: string): DiskConfig | undefined {
    try {
      return this.readDisk(id);
    } catch {
      return undefined;
    }
  }

  writeProfile(id: string, name: string, config: unknown, options: { makeActive?: unknown } = {}): Promise<WireResult> {
    return this.serialize(id, (): Promise<WireResult> => {
      const { makeActive } = options;
      if (makeActive !== undefined && makeActive !== null && typeof makeActive !== "boolean") {
        throw ConfigError.invalid(`make_active must be a boolean, not ${JSON.stringify(makeActive)}`);
      }
      if (!isTable(config)) throw ConfigError.invalid("config must be a JSON object: the profile's tables");
      assertShallow(config);
      return this.writeProfileNow(id, name, config, { makeActive: makeActive === true });
    });
  }

  /**
   * A permanent hot update aimed at a profile: `patch` deep-merged into declared profile `name`'s file, with the same
   * checks as a profile write; when the profile is active, the temporary values on the keys it sets end.
   */
  private patchProfile(id: string, name: string, patch: ConfigTable): Promise<WireResult> {
    const disk = this.readDisk(id, { activeProfile: false });
    const declared = disk.profiles.files.find((f) => f.name === name);
    if (!declared) throw notDeclared(id, name, disk.profiles);
    const current = declared.exists && !declared.forbidden ? loadProfile(disk.profiles, name).overlay : {};
    return this.writeProfileNow(id, name, overlayPatch(current, patch), { touched: leafPaths(patch) });
  }

  /** Writes profile `name`'s whole content (inside the plugin's queue); see `writeProfile`. */
  private async writeProfileNow(
    id: string,
    name: string,
    config: ConfigTable,
    options: { makeActive?: boolean; touched?: KeyPath[] },
  ): Promise<WireResult> {
    if ("plugin" in config) {
      throw ConfigError.invalid(
        `profile '${name}' may not contain a [plugin] table: a profile changes the plugin's own settings only`,
        { profile: name, path: "plugin" },
      );
    }
    const overlay = assertTomlValues(config);
    const disk = this.readDisk(id, { activeProfile: false });
    const declared = disk.profiles.files.find((f) => f.name === name);
    let relative: string;
    let target: string | undefined;
    if (declared) {
      relative = declared.path;
      target = declared.resolvedPath ?? undefined;
      if (declared.forbidden)
        throw ConfigError.invalid(`profile '${name}': ${declared.problem}`, { profile: name, path: relative });
    } else {
      const problem = profileNameProblem(name);
      if (problem) throw ConfigError.invalid(problem, { profile: name });
      relative = newProfilePath(name);
      target = resolveInsidePluginDir(disk.dir, relative);
    }
    if (target === undefined) {
      throw ConfigError.invalid(`profile '${name}': path '${relative}' leaves the plugin folder`, {
        profile: name,
        path: relative,
      });
    }
    const owned = ownedFileProblem(disk.dir, disk.base, target);
    if (owned !== undefined) {
      throw ConfigError.invalid(`profile '${name}': path '${relative}' cannot be a profile: ${owned}`, {
        profile: name,
        path: relative,
      });
    }
    const oldText = readProfileText(target, name, relative, { declared: declared !== undefined });
    const text = profileText(oldText, overlay);
    const wasActive = disk.profiles.active === name;
    const activate = options.makeActive === true && !wasActive;
    // One change to the declaring file: the new profile's declaration and/or `active`.
    const declaration =
      declared && !activate
        ? undefined
        : editDeclaration(disk, (table) => {
            if (!declared) (table.files as ConfigTable)[name] = relative;
            if (activate) table.active = name;
          });
    const created = oldText === undefined;
    const persist = () => {
      // The folders may have changed since the checks (a link swapped in): judged again just before the write.
      assertStillInside(disk.dir, disk.base, target, name, relative);
      writeFileAtomic(target, text);
      if (!declaration) return;
      try {
        writeFileAtomic(declaration.file, declaration.text);
      } catch (error) {
        // All or nothing: the profile file as it was (gone again when it is new).
        if (created) fs.rmSync(target, { force: true });
        else writeFileAtomic(target, oldText);
        throw error;
      }
    };
    const profile: ActiveProfile = { name, path: relative, overlay };
    const asActive: DiskConfig = { ...disk, base: declaration?.base ?? disk.base, profile };
    this.checkAsActive(id, asActive);
    const about = { name, path: relative, created };
    if (wasActive || activate) {
      const result = await this.apply(id, {
        ...this.fileChange(id, asActive, options.touched),
        profile: name,
        mode: activate ? "profile" : "permanent",
        lifecycle: "config_change",
        persist,
        manifestChanged: declaration?.manifest === true,
      });
      return result.ok ? { ok: true, value: { ...result.value, ...about } } : result;
    }
    if (declaration?.manifest) {
      // plugin.toml changes (the new declaration): the running plugin gets it, as any change to plugin.toml.
      const result = await this.applyDeclaration(id, disk, declaration.base as ConfigTable, persist);
      return result.ok ? { ok: true, value: { ...result.value, ...about } } : result;
    }
    persist();
    return { ok: true, value: { ...this.unchanged(id), ...about } };
  }

  /**
   * A change to the profile declarations in plugin.toml that leaves the active profile as it is: applied as any change
   * to plugin.toml, so the running plugin's `plugin.config_profiles` and GET /config follow.
   */
  private applyDeclaration(id: string, disk: DiskConfig, base: ConfigTable, persist: () => void): Promise<ConfigWrite> {
    const profiles = readConfigProfiles(disk.dir, base);
    const after: DiskConfig = { ...disk, base, profiles, profile: loadActiveProfile(profiles) };
    return this.apply(id, {
      ...this.fileChange(id, after),
      profile: profileName(after),
      mode: "permanent",
      lifecycle: "config_change",
      persist,
      manifestChanged: true,
    });
  }

  deleteProfile(id: string, name: string): Promise<WireResult> {
    return this.serialize(id, async (): Promise<WireResult> => {
      const disk = this.readDisk(id, { activeProfile: false });
      const declared = disk.profiles.files.find((f) => f.name === name);
      if (!declared) throw notDeclared(id, name, disk.profiles);
      if (disk.profiles.active === name) {
        throw new ConfigError(
          ErrorCode.ConfigProfileActive,
          `profile '${name}' is the active profile of plugin '${id}': switch to another profile, or none ` +
            `(PUT /plugin/${id}/config/profiles/active), before deleting it`,
          { profile: name },
        );
      }
      const declaration = undeclareProfile(disk, name);
      // The file goes too only when it is a profile's own: a regular `.toml` file in the plugin's profiles/ folder,
      // declared by no other profile. Anything else (plugin.toml, the code, data/, a link) keeps its file.
      const target = declared.resolvedPath;
      const shared = disk.profiles.files.some((f) => f.name !== name && f.resolvedPath === target);
      const removable = target !== null && !shared && !declared.forbidden && isOwnProfileFile(disk.dir, target);
      let removed = false;
      const persist = () => {
        writeFileAtomic(declaration.file, declaration.text);
        if (removable && isOwnProfileFile(disk.dir, target)) {
          fs.rmSync(target, { force: true });
          removed = true;
        }
      };
      if (declaration.manifest) {
        const result = await this.applyDeclaration(id, disk, declaration.base as ConfigTable, persist);
        if (!result.ok) return result;
      } else {
        persist();
      }
      return {
        ok: true,
        value: {
          plugin_id: id,
          name,
          profile: name,
          removed: true,
          path: declared.path,
          file_removed: removed,
          profiles: disk.profiles.files.filter((f) => f.name !== name).map((f) => f.name),
        },
      };
    });
  }

  parseToml(text: unknown, id?: string): WireResult {
    return attempt(() => {
      const current = id === undefined ? undefined : this.protectedFieldsOf(id);
      if (typeof text !== "string") throw ConfigError.invalid("toml must be a string: the TOML text");
      assertConvertible(Buffer.byteLength(text), "TOML text");
      let parsed: ConfigTable;
      try {
        parsed = parse(text);
      } catch (error) {
        if (error instanceof RangeError) {
          throw ConfigError.invalid(`the TOML nests too deep to read (more than ${MAX_VALUE_DEPTH} levels)`, {
            max_depth: MAX_VALUE_DEPTH,
          });
        }
        const { line, column } = error as { line?: number; column?: number };
        const first = (error instanceof Error ? error.message : String(error)).split("\n")[0];
        throw ConfigError.invalid(`invalid TOML at line ${line ?? "?"}, column ${column ?? "?"}: ${first}`, {
          line: line ?? null,
          column: column ?? null,
        });
      }
      const config = plainData(assertShallow(parsed));
      if (id === undefined || current === undefined) return { config };
      checkProtectedIfPresent(current, config);
      return { plugin_id: id, config };
    });
  }

  renderToml(config: unknown, id?: string): WireResult {
    return attempt(() => {
      const current = id === undefined ? undefined : this.protectedFieldsOf(id);
      if (!isTable(config)) throw ConfigError.invalid("config must be a JSON object: a TOML document is a table");
      assertShallow(config);
      assertConvertible(Buffer.byteLength(JSON.stringify(config)), "configuration (as JSON)");
      const toml = tomlText(config);
      if (id === undefined || current === undefined) return { toml };
      checkProtectedIfPresent(current, config);
      return { plugin_id: id, toml };
    });
  }

  /** The plugin's `plugin.id` and `plugin.entry` (as plugin.toml says, when it parses); 404 for an unknown plugin. */
  private protectedFieldsOf(id: string): { id: string; entry: unknown } {
    const { manifestPath } = this.locate(id);
    const base = tryParse(fs.readFileSync(manifestPath, "utf8"));
    return { id, entry: isTable(base?.plugin) ? base.plugin.entry : undefined };
  }

  /** A write that leaves the effective configuration as it is: the answer says what it is. */
  private unchanged(id: string) {
    const current = this.get(id);
    const value = current.ok ? (current.value as { config: ConfigTable; profile: string | null }) : undefined;
    return {
      plugin_id: id,
      mode: "permanent",
      config: value?.config ?? null,
      profile: value?.profile ?? null,
      applied: false,
    };
  }

  /**
   * A profile's content is checked as the configuration it makes when active — a manifest, and what the plugin's
   * configSchema accepts — also when it is not active: a profile that could never be switched to is refused now.
   */
  private checkAsActive(id: string, disk: DiskConfig): void {
    const config = effective(disk, []);
    validateManifest(tomlText(config));
    const schema = this.schemaOf(id);
    if (!schema) return;
    const checked = schema.validate(config);
    if (!checked.ok) throw schemaViolation(checked.violation);
  }

  /**
   * A plugin process's hello: its `configSchema` is kept (and the configuration it starts with checked against it), or
   * the one kept from before forgotten. A start refused by the schema still keeps it, so the manager page has the form
   * to fix the configuration with; a reload's new process refused by it does not (the old code, still serving, keeps
   * its own schema).
   */
  private checkHello(id: string, hello: HelloMessage): WireError | undefined {
    this.recordTimerKeys(id, hello);
    const json = hello.configSchema;
    if (json === undefined || json === null) {
      this.schemas.forget(id);
      return undefined;
    }
    const problem = configSchemaProblem(json);
    if (problem) {
      return failure(ErrorCode.HandshakeFailed, `the plugin's hello is malformed: its configSchema ${problem}`).error;
    }
    const swapping = this.isRunning(id);
    let refusal: WireError | undefined;
    try {
      const checked = compileConfigValidator(json)(effective(this.readDisk(id), []));
      if (!checked.ok) throw schemaViolation(checked.violation);
    } catch (error) {
      const refused = errorResult(error).error;
      refusal = { ...refused, message: `plugin '${id}' cannot start: ${refused.message}` };
    }
    if (!refusal || !swapping) {
      this.schemas.record(id, json);
      this.watchLifetime(id);
    }
    return refusal;
  }

  /**
   * Refuses a change that fails the plugin's configSchema, naming the first offending key: what the plugin runs with
   * afterwards, and for a change to the files also what its next start reads (a temporary patch in force must not
   * hide a file the next start refuses). A change that leaves the plugin's own tables as they are is never refused
   * for them: it may be the repair of a manifest table, and a violation there was not made by it.
   */
  private checkSchema(id: string, change: Change): void {
    const schema = this.schemaOf(id);
    if (!schema) return;
    const before = this.applied.get(id)?.config ?? this.currentFromFiles(id);
    const candidates = [change.next, ...(change.nextStart ? [change.nextStart] : [])];
    for (const config of candidates) {
      if (before !== undefined && sameOwnTables(before, config)) continue;
      const checked = schema.validate(config);
      if (!checked.ok) throw schemaViolation(checked.violation);
    }
  }

  /** What the files say now, or undefined when they cannot be read (the write may be their repair). */
  private currentFromFiles(id: string): ConfigTable | undefined {
    try {
      return effective(this.readDisk(id), this.temporaryOf(id));
    } catch {
      return undefined;
    }
  }

  private schemaOf(id: string): KnownConfigSchema | undefined {
    const known = this.schemas.get(id);
    // Not held for a plugin the host does not supervise (an extension): read again next time.
    if (!this.watchLifetime(id)) this.schemas.release(id);
    return known;
  }

  private recordTimerKeys(id: string, hello: HelloMessage): void {
    const keys = (Array.isArray(hello.timers) ? hello.timers : []).flatMap((t) =>
      typeof t.secondsFrom === "string" ? [{ timer: t.id, key: t.secondsFrom }] : [],
    );
    if (keys.length === 0) {
      this.timerKeys.delete(id);
      return;
    }
    if (this.watchLifetime(id)) this.timerKeys.set(id, keys);
  }

  /**
   * A plugin that is not running: refuses a change leaving one of its configured timers (as its last hello told them)
   * without a usable interval, by the plugin's own rule, so that it does not fail at its next start. A running plugin
   * checks the change itself (it refuses it like a `config_change` returning Err).
   */
  private checkTimerKeys(id: string, change: Change): void {
    const keys = this.timerKeys.get(id);
    if (!keys) return;
    for (const config of [change.next, ...(change.nextStart ? [change.nextStart] : [])]) {
      for (const { timer, key } of keys) {
        const problem = configuredSecondsProblem(timer, key, readDotted(config, key));
        if (problem) {
          throw ConfigError.invalid(`plugin '${id}' would not start with this configuration: ${problem}`, {
            field: "seconds",
            check: "timer",
            timer,
            key,
          });
        }
      }
    }
  }

  /** What is held of a plugin's schema in memory goes when the plugin leaves the host. */
  private watchLifetime(id: string): boolean {
    if (this.schemaWatched.has(id)) return true;
    if (!releaseWithPlugin(this.ctx, id, "lifetime", () => this.forgetSchema(id))) return false;
    this.schemaWatched.add(id);
    return true;
  }

  private forgetSchema(id: string): void {
    this.timerKeys.delete(id);
    this.schemaWatched.delete(id);
    this.schemas.release(id);
  }

  /** The running plugin accepts (or refuses) first; files are written only after it accepted. */
  private async apply(id: string, change: Change): Promise<ConfigWrite> {
    const state = this.ctx.plugins.state(id);
    // A process still in its `startup` takes no config.apply: a write from outside would be recorded but never reach
    // it. Only the plugin's own write (from its `startup`) is already in the process.
    if (state === "starting" && !change.byPlugin) {
      throw new ConfigError(
        ErrorCode.PluginNotRunning,
        `plugin '${id}' is starting: its configuration can be changed once it is running (try again then)`,
        { state },
      );
    }
    this.checkSchema(id, change);
    const running = this.isRunning(id);
    const previous = this.applied.get(id);
    const extensionHost = running ? undefined : this.injectedInto(id);
    if (!running && extensionHost === undefined) this.checkTimerKeys(id, change);
    // What the injected extension runs with now, to put back if the files cannot be written.
    const extensionBefore = extensionHost === undefined ? undefined : effective(this.readDisk(id), []);
    if (extensionHost !== undefined) {
      // An extension loaded in a running plugin takes the change in place (its `config_change` may refuse it).
      const accepted = await this.ctx.operations.control(extensionHost, "config.apply", {
        config: change.next,
        mode: change.mode,
        lifecycle: change.lifecycle,
        ...(change.manifest && { manifest: change.manifest }),
        extension: id,
      });
      if (!accepted.ok) {
        const { error } = accepted;
        if (UNANSWERED.has(error.code)) return { ok: false, error };
        return failure(
          ErrorCode.ConfigChangeRefused,
          `extension '${id}' refused the configuration change in its ${change.lifecycle} handler: ${error.message}`,
          "ConfigError",
          { cause: error },
        );
      }
    }
    if (running) {
      const accepted = await this.ctx.operations.control(id, "config.apply", {
        config: change.next,
        mode: change.mode,
        lifecycle: change.lifecycle,
        ...(change.manifest && { manifest: change.manifest }),
      });
      if (!accepted.ok) {
        const { error } = accepted;
        if (UNANSWERED.has(error.code)) {
          // The plugin may or may not have taken the change: put the old one back.
          if (previous) await this.rollback(id, previous.config);
          return { ok: false, error };
        }
        const byTimers = (error.details as { check?: unknown } | undefined)?.check === "timer";
        return failure(
          ErrorCode.ConfigChangeRefused,
          byTimers
            ? `plugin '${id}' refused the configuration change: its timer check refused it: ${error.message}`
            : `plugin '${id}' refused the configuration change in its ${change.lifecycle} handler: ${error.message}`,
          "ConfigError",
          { cause: error },
        );
      }
    }
    try {
      change.persist?.();
    } catch (error) {
      if (running && previous) await this.rollback(id, previous.config);
      if (extensionHost !== undefined && extensionBefore !== undefined) {
        await this.rollback(extensionHost, extensionBefore, id);
      }
      this.ctx.logger.error({ err: error, plugin: id }, "could not write the configuration");
      return failure(ErrorCode.Internal, `could not write the configuration: ${(error as Error).message}`);
    }
    // Temporary patches live in the running process only (its run releases them with `applied`).
    if (change.temporary && running) this.temporary.set(id, change.temporary);
    // A plugin still starting gets no config.apply (it cannot answer yet); a write from its `startup`
    // (`this.config.set`) is already in the plugin, so it is what the plugin runs with from now on.
    if (running || (change.byPlugin && this.ctx.plugins.state(id) === "starting")) {
      this.setApplied(id, { config: change.next, profile: change.profile });
    }
    if (change.manifestChanged) await this.ctx.plugins.refreshManifest(id);
    return {
      ok: true,
      value: { plugin_id: id, mode: change.mode, config: change.next, profile: change.profile, applied: running },
    };
  }

  /** Puts `config` back in the running plugin `id` (or in its injected `extension`), after a change it took. */
  private async rollback(id: string, config: ConfigTable, extension?: string): Promise<void> {
    const back = await this.ctx.operations.control(id, "config.apply", {
      config,
      mode: "rollback",
      lifecycle: null,
      ...(extension !== undefined && { extension }),
    });
    if (!back.ok) this.ctx.logger.warn({ plugin: id, error: back.error }, "could not roll the configuration back");
  }

  private readDisk(id: string, options: { activeProfile?: boolean } = {}): DiskConfig {
    const { dir, manifestPath } = this.locate(id);
    const text = fs.readFileSync(manifestPath, "utf8");
    const base = parseBase(text, manifestPath);
    const profiles = readConfigProfiles(dir, base);
    const profile = options.activeProfile === false ? undefined : loadActiveProfile(profiles);
    return { dir, manifestPath, text, base, profiles, profile };
  }

  private locate(id: string): { dir: string; manifestPath: string } {
    const found = this.ctx.plugins.location(id);
    if (!found) throw new ConfigError(ErrorCode.PluginNotFound, `no plugin with id '${id}'`);
    return found;
  }

  /** The running plugin an extension is injected into, if it is; undefined for anything else. */
  private injectedInto(id: string): string | undefined {
    const hostId = this.ctx.plugins.manifest(id)?.host?.pluginId;
    if (hostId === undefined || this.ctx.plugins.manifest(id)?.type !== "extension") return undefined;
    if (this.ctx.plugins.state(hostId) !== "running") return undefined;
    const reported = this.ctx.plugins.hello(hostId)?.extensions?.find((e) => e.id === id);
    return reported?.state === "injected" ? hostId : undefined;
  }

  private isRunning(id: string): boolean {
    return this.ctx.plugins.state(id) === "running";
  }

  private temporaryOf(id: string): ConfigTable[] {
    return this.isRunning(id) ? (this.temporary.get(id) ?? []) : [];
  }

  private serialize<T extends WireResult>(id: string, op: () => T | Promise<T>): Promise<T | WireFailure> {
    const run = async (): Promise<T | WireFailure> => {
      try {
        return await op();
      } catch (error) {
        return errorResult(error);
      }
    };
    const queued = this.queues.get(id);
    const next = (queued ?? Promise.resolve()).then(run, run);
    if (!queued && !releaseWithPlugin(this.ctx, id, "lifetime", () => this.queues.delete(id))) return next;
    this.queues.set(
      id,
      next.catch(() => undefined),
    );
    return next;
  }
}

/** Errors that mean the plugin never gave an answer, as opposed to refusing. */
const UNANSWERED = new Set<string>([
  ErrorCode.Timeout,
  ErrorCode.PluginCrashed,
  ErrorCode.PluginNotRunning,
  ErrorCode.Transport,
]);

/** The table holding `active` and `files` in the file that declares the profiles. */
function profilesTable(document: ConfigTable, source: "profiles.toml" | "plugin.toml"): ConfigTable {
  if (source === "plugin.toml") return (document.plugin as ConfigTable).config_profiles as ConfigTable;
  return isTable(document.config_profiles) ? document.config_profiles : document;
}

/** A change to the file declaring the profiles; `base`: the new plugin.toml, when that is the file. */
interface Declaration {
  file: string;
  text: string;
  manifest: boolean;
  base?: ConfigTable;
}

/** Declares profile `name` at `relative` where the plugin declares its profiles; a new profiles.toml when nowhere. */
function undeclareProfile(disk: DiskConfig, name: string): Declaration {
  return editDeclaration(disk, (table) => {
    delete (table.files as ConfigTable)[name];
  });
}

/** `edit` gets the table holding `active` and `files` (a table by then) in the file that declares the profiles. */
function editDeclaration(disk: DiskConfig, edit: (table: ConfigTable) => void): Declaration {
  const { source } = disk.profiles;
  if (source === null) {
    const table: ConfigTable = Object.assign(Object.create(null), { files: Object.create(null) });
    edit(table);
    const { active, files } = table;
    const text = stringify({ ...(active !== undefined && { active }), files });
    return { file: path.join(disk.dir, PROFILES_FILE), text, manifest: false };
  }
  const file = source === "profiles.toml" ? path.join(disk.dir, PROFILES_FILE) : disk.manifestPath;
  const text = source === "profiles.toml" ? fs.readFileSync(file, "utf8") : disk.text;
  const document = parse(text);
  const table = profilesTable(document, source);
  if (!isTable(table.files)) table.files = Object.create(null);
  edit(table);
  const written = rewriteToml(text, document);
  if (source === "profiles.toml") return { file, text: written, manifest: false };
  return { file, text: written, manifest: true, base: validateManifest(written) };
}

/**
 * A profile file's current text, or undefined when there is none yet. Only a regular file is read, of bounded size; a
 * new profile may not take over a file nobody declared.
 */
function readProfileText(
  target: string,
  name: string,
  relative: string,
  options: { declared: boolean },
): string | undefined {
  const stat = fs.statSync(target, { throwIfNoEntry: false });
  if (stat === undefined) return undefined;
  if (!options.declared) {
    throw ConfigError.invalid(
      `profile '${name}': '${relative}' already exists but no profile declares it: declare it, or remove the file`,
      { profile: name, path: relative },
    );
  }
  if (!stat.isFile() || stat.size > MAX_PROFILE_FILE_BYTES) {
    throw ConfigError.invalid(`profile '${name}': '${relative}' is not a regular file of at most 1 MiB`, {
      profile: name,
      path: relative,
    });
  }
  return fs.readFileSync(target, "utf8");
}

/** A regular `.toml` file (not a link) whose real folder is the plugin's `profiles/` folder or one inside it. */
function isOwnProfileFile(dir: string, target: string): boolean {
  const stat = fs.lstatSync(target, { throwIfNoEntry: false });
  if (!stat?.isFile() || !target.endsWith(".toml")) return false;
  const folder = realPathOf(path.dirname(target));
  const profiles = realPathOf(path.join(fs.realpathSync(dir), "profiles"));
  if (folder === undefined || profiles === undefined) return false;
  const relative = path.relative(profiles, folder);
  return relative === "" || (!relative.startsWith("..") && !path.isAbsolute(relative));
}

/** Refuses the write when `target` has left the plugin folder, or become a file the plugin owns, since it was checked. */
function assertStillInside(dir: string, manifest: ConfigTable, target: string, name: string, relative: string): void {
  const inside = resolveInsidePluginDir(dir, path.relative(fs.realpathSync(dir), target));
  const owned = inside === undefined ? "it leaves the plugin folder" : ownedFileProblem(dir, manifest, target);
  if (owned !== undefined) {
    throw ConfigError.invalid(`profile '${name}': path '${relative}' cannot be written: ${owned}`, {
      profile: name,
      path: relative,
    });
  }
}

/**
 * A hot update's patch merged into a profile file's own content, its markers kept: `"__DELETE__"` and a table with
 * `__replace__ = true` act when the profile overlays plugin.toml, on the effective configuration.
 */
function overlayPatch(current: ConfigTable, patch: ConfigTable): ConfigTable {
  // No prototype: a key named `__proto__` is a key like any other.
  const result: ConfigTable = Object.assign(Object.create(null), current);
  for (const [key, value] of Object.entries(patch)) {
    const now = result[key];
    // A table merges into the profile's (which keeps its own `__replace__`); a replacing table or a value replaces.
    if (isTable(value) && value[REPLACE_MARKER] !== true && isTable(now)) {
      result[key] = overlayPatch(now, value);
    } else {
      result[key] = value;
    }
  }
  return result;
}

/** True when the profile `overlay` sets the value at `keys` (or replaces or removes a table holding it). */
function overlaySets(overlay: ConfigTable, keys: KeyPath): boolean {
  let table: ConfigTable = overlay;
  for (const [i, key] of keys.entries()) {
    if (!Object.hasOwn(table, key)) return false;
    const value = table[key];
    if (i === keys.length - 1 || !isTable(value) || value[REPLACE_MARKER] === true) return true;
    table = value;
  }
  return false;
}

/** The new text of a profile file: its comments kept where the old text parses. */
function profileText(oldText: string | undefined, overlay: ConfigTable): string {
  if (oldText === undefined || tryParse(oldText) === undefined) return tomlText(overlay);
  return rewriteToml(oldText, overlay);
}

/** Text bigger than the conversion routes take: 413. */
function assertConvertible(bytes: number, what: string): void {
  if (bytes <= MAX_TOML_CONVERT_BYTES) return;
  throw new ConfigError(
    ErrorCode.PayloadTooLarge,
    `the ${what} is ${bytes} bytes, more than the ${MAX_TOML_CONVERT_BYTES} this route converts`,
    { limit: MAX_TOML_CONVERT_BYTES, size: bytes },
  );
}

/** The dotted key paths the temporary patches overlay, in the order they came, each once. */
function temporaryKeys(patches: ConfigTable[]): string[] {
  return [...new Set(patches.flatMap((patch) => leafPaths(patch).map((keys) => keys.join("."))))];
}

/** plugin.toml alone, parsed; a ConfigError naming the problem when it does not parse. */
function parseBase(text: string, manifestPath: string): ConfigTable {
  const base = tryParse(text);
  if (base) return base;
  const parsed = parseManifest(text, { file: manifestPath });
  throw ConfigError.invalid(parsed.ok ? "invalid TOML" : parsed.problems.map((p) => p.message).join("; "));
}

/** plugin.toml ⊕ active profile ⊕ temporary patches, as plain JSON data. */
function effective(disk: DiskConfig, temporary: ConfigTable[]): ConfigTable {
  const withProfile = disk.profile ? mergeConfig(disk.base, disk.profile.overlay) : disk.base;
  return plainData(temporary.reduce(mergeConfig, withProfile));
}

function profileName(disk: DiskConfig): string | null {
  return disk.profile?.name ?? null;
}

/** A configuration the plugin's configSchema refuses: 400, naming the first offending key. */
/** The value at a dotted key (`check.interval`) of a configuration; undefined when a step is missing. */
function readDotted(config: ConfigTable, key: string): unknown {
  let at: unknown = config;
  for (const step of key.split(".")) {
    if (!isTable(at)) return undefined;
    at = (at as ConfigTable)[step];
  }
  return at;
}

function schemaViolation(violation: ConfigViolation): ConfigError {
  return ConfigError.invalid(violation.message, { path: violation.path, issues: violation.issues });
}

/** 404 NOT_FOUND: the plugin declares no profile `name`; `details.profiles` lists those it does. */
function notDeclared(id: string, name: string, profiles: ConfigProfiles): ConfigError {
  return new ConfigError(ErrorCode.NotFound, `plugin '${id}' declares no profile '${name}'`, {
    profiles: profiles.files.map((f) => f.name),
  });
}

/**
 * For the per-plugin TOML conversions: a document naming a `plugin.id` or `plugin.entry` other than the plugin's is
 * refused (one that leaves them out is not: it may be a fragment).
 */
function checkProtectedIfPresent(current: { id: string; entry: unknown }, next: ConfigTable): void {
  const after = isTable(next.plugin) ? next.plugin : {};
  for (const key of PROTECTED_KEYS) {
    if (after[key] === undefined || current[key] === undefined || after[key] === current[key]) continue;
    throw new ConfigError(
      ErrorCode.ConfigProtectedField,
      `plugin.${key} can never be changed: it is ${JSON.stringify(current[key])}, not ${JSON.stringify(after[key])}`,
      { field: `plugin.${key}`, current: current[key], requested: after[key] },
    );
  }
}

/** `plugin.id` is always the plugin's id and `plugin.entry` never changes (SPEC §2.1). */
function checkProtected(id: string, current: ConfigTable | undefined, next: ConfigTable): void {
  const before = { id, entry: isTable(current?.plugin) ? current.plugin.entry : undefined };
  const after = isTable(next.plugin) ? next.plugin : {};
  for (const key of PROTECTED_KEYS) {
    const was = before[key];
    if (was === undefined || after[key] === was) continue;
    const change = after[key] === undefined ? "the change would remove it" : `not ${JSON.stringify(after[key])}`;
    throw new ConfigError(
      ErrorCode.ConfigProtectedField,
      `plugin.${key} can never be changed: it is ${JSON.stringify(was)}, ${change}`,
      { field: `plugin.${key}`, current: was, requested: after[key] ?? null },
    );
  }
}

/**
 * What a plugin may do (`[plugin.permissions]`, `[plugin_runtime] permissions`) is the user's to change, in plugin.toml
 * or through the HTTP configuration routes; a plugin that could widen its own grants would have none.
 */
/**
 * What a plugin's own write (`this.config.set/update`) may not change, because it decides what the plugin may do:
 * its permissions, its type and host (which would move an extension's code into another plugin's process), its profile
 * declarations and active profile, and for an extension's write, whether it is enabled (the user's choice).
 */
function checkPermissionsKept(current: ConfigTable, next: ConfigTable, options: { extension?: boolean } = {}): void {
  const guarded = (document: ConfigTable) => {
    const plugin = isTable(document.plugin) ? document.plugin : {};
    const runtime = isTable(document.plugin_runtime) ? document.plugin_runtime : {};
    return {
      "plugin.permissions": plugin.permissions,
      "plugin_runtime.permissions": runtime.permissions,
      "plugin.type": plugin.type,
      "plugin.host": plugin.host,
      // Which profile applies, and which files are profiles, is the user's choice (docs/config.md#profiles).
      "plugin.config_profiles": plugin.config_profiles,
      ...(options.extension && { plugin_runtime: document.plugin_runtime }),
    };
  };
  const before = guarded(current);
  const after = guarded(next);
  for (const field of Object.keys(before) as Array<keyof typeof before>) {
    const text = (value: unknown) => JSON.stringify(value ?? null);
    if (text(before[field]) === text(after[field])) continue;
    throw new ConfigError(
      ErrorCode.ConfigProtectedField,
      `${field} can be changed only by the user (plugin.toml, or the HTTP configuration routes), not by the plugin itself`,
      { field },
    );
  }
}

/** A whole-document write may leave out `plugin.id` and `plugin.entry`: they are kept. */
function withProtectedFields(current: ConfigTable, next: ConfigTable): ConfigTable {
  const currentPlugin = isTable(current.plugin) ? current.plugin : {};
  const plugin = isTable(next.plugin) ? { ...next.plugin } : {};
  for (const key of PROTECTED_KEYS) {
    if (plugin[key] === undefined && currentPlugin[key] !== undefined) plugin[key] = currentPlugin[key];
  }
  return { ...next, plugin };
}

/** JSON has no dates: a string that reads exactly as the old TOML date keeps the date. */
function keepDates(current: unknown, next: unknown): any {
  if (current instanceof Date && typeof next === "string" && plainData<unknown>(current) === next) return current;
  if (isTable(current) && isTable(next)) {
    return Object.fromEntries(Object.entries(next).map(([k, v]) => [k, keepDates(current[k], v)]));
  }
  return next;
}

/** The document as TOML text; refuses values TOML cannot hold, naming where they are. */
function tomlText(document: ConfigTable): string {
  return stringify(assertTomlValues(document));
}

/** The new plugin.toml text for `document`, keeping what it can of the old text's comments and layout. */
function manifestText(oldText: string, document: ConfigTable): string {
  return rewriteToml(oldText, assertTomlValues(document));
}

/** TOML has no null: a null anywhere is refused with its path instead of silently dropped. */
function assertTomlValues(value: ConfigTable): ConfigTable {
  const visit = (v: unknown, where: string): void => {
    if (v === null || v === undefined) {
      throw ConfigError.invalid(
        `config value '${where}' is null: TOML has no null (use "__DELETE__" to remove a key)`,
        {
          path: where,
        },
      );
    }
    if (Array.isArray(v)) {
      for (const [i, item] of v.entries()) visit(item, `${where}[${i}]`);
    } else if (isTable(v)) for (const [k, item] of Object.entries(v)) visit(item, where ? `${where}.${k}` : k);
  };
  visit(value, "");
  return value;
}

/** Parses `text` as a manifest; throws a ConfigError listing every problem. Returns the parsed document. */
function validateManifest(text: string): ConfigTable {
  const parsed = parseManifest(text, { file: "plugin.toml" });
  if (!parsed.ok) {
    const problems = parsed.problems.map((p) => p.message);
    throw ConfigError.invalid(`the configuration is not a valid manifest: ${problems.join("; ")}`, { problems });
  }
  return assertShallow(parsed.manifest.raw);
}

/**
 * A configuration is handed to the plugin process and written as TOML: deeper than a value the host hands on may
 * nest, it is refused before anything walks it recursively (merging, TOML writing, which gave up with a 500).
 */
function assertShallow(document: ConfigTable): ConfigTable {
  if (nestsDeeperThan(document, MAX_VALUE_DEPTH)) {
    throw ConfigError.invalid(`the configuration nests deeper than ${MAX_VALUE_DEPTH} levels`, {
      max_depth: MAX_VALUE_DEPTH,
    });
  }
  return document;
}

function tryParse(text: string): ConfigTable | undefined {
  try {
    return parse(text);
  } catch {
    return undefined;
  }
}

/** TOML dates become their text, so the plugin, the HTTP answer and the plugin process see the same data. */
function plainData<T>(value: T): T {
  return JSON.parse(JSON.stringify(value));
}

function attempt(read: () => unknown): WireResult {
  try {
    return { ok: true, value: read() };
  } catch (error) {
    return errorResult(error);
  }
}

/** A ConfigError as its result; anything else (an unreadable file, …) as INTERNAL_ERROR with its message. */
function errorResult(error: unknown): WireFailure {
  if (error instanceof ConfigError) return error.toResult();
  return failure(ErrorCode.Internal, `configuration: ${(error as Error)?.message ?? String(error)}`);
}

function sameOwnTables(a: ConfigTable, b: ConfigTable): boolean {
  return isDeepStrictEqual(ownConfig(a), ownConfig(b));
}
