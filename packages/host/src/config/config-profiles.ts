/**
 * Config profiles (SPEC §2.1): `profiles.toml` beside plugin.toml (keys at its top or in a `[config_profiles]` table),
 * or else `[plugin.config_profiles]` in plugin.toml, with `active` and `files = { name = "path" }`. A profile file is
 * TOML deep-merged over the manifest; it may not hold a `[plugin]` table, and its path may not leave the plugin folder.
 */
import fs from "node:fs";
import path from "node:path";
import { parse } from "smol-toml";
import { ConfigError } from "./config-error.ts";
import { type ConfigTable, isTable } from "./config-merge.ts";

export const PROFILES_FILE = "profiles.toml";

export interface ConfigProfileFile {
  name: string;
  /** As written in the declaration. */
  path: string;
  /** Absolute path; null when the path leaves the plugin folder. */
  resolvedPath: string | null;
  exists: boolean;
  /** Why this profile cannot be used, if it cannot. */
  problem: string | null;
  /**
   * True when its real path is a file the host or the plugin owns — plugin.toml, profiles.toml, the entry module, or
   * anything under `data/`: such a profile is never read, written or deleted.
   */
  forbidden: boolean;
}

export interface ConfigProfiles {
  /** Where `active` and `files` are declared; null when the plugin has no profiles. */
  source: "profiles.toml" | "plugin.toml" | null;
  active: string | null;
  files: ConfigProfileFile[];
}

export interface ActiveProfile {
  name: string;
  path: string;
  overlay: ConfigTable;
}

/** The profile declarations of the plugin in `dir`; throws a ConfigError for a malformed declaration. */
export function readConfigProfiles(dir: string, manifest: ConfigTable): ConfigProfiles {
  const declared = declaredProfiles(dir, manifest);
  if (!declared) return { source: null, active: null, files: [] };
  const { table, source } = declared;
  const where = source === "profiles.toml" ? PROFILES_FILE : "plugin.toml [plugin.config_profiles]";
  const active = table.active;
  if (active !== undefined && typeof active !== "string") {
    throw ConfigError.invalid(`${where}: active must be a profile name (a string)`);
  }
  const files = table.files ?? {};
  if (!isTable(files)) throw ConfigError.invalid(`${where}: files must be a table of name = "path"`);
  const list = Object.entries(files).map(([name, value]): ConfigProfileFile => {
    if (typeof value !== "string" || value === "") {
      throw ConfigError.invalid(`${where}: files.${name} must be a path (a non-empty string)`);
    }
    return describeProfileFile(dir, manifest, name, value);
  });
  return { source, active: active ? active : null, files: list };
}

/** The active profile's overlay, or undefined when none is active; throws a ConfigError naming the problem. */
export function loadActiveProfile(profiles: ConfigProfiles): ActiveProfile | undefined {
  if (profiles.active === null) return undefined;
  return loadProfile(profiles, profiles.active);
}

/** One declared profile's overlay; throws a ConfigError when it is unknown, outside the folder, missing or invalid. */
export function loadProfile(profiles: ConfigProfiles, name: string): ActiveProfile {
  const file = profiles.files.find((f) => f.name === name);
  if (!file) {
    const known = profiles.files.map((f) => `'${f.name}'`).join(", ") || "none";
    throw ConfigError.invalid(`profile '${name}' is not declared in files (declared: ${known})`, { profile: name });
  }
  if (file.problem || file.resolvedPath === null) {
    throw ConfigError.invalid(`profile '${name}': ${file.problem}`, { profile: name, path: file.path });
  }
  const stat = fs.statSync(file.resolvedPath, { throwIfNoEntry: false });
  if (!stat?.isFile() || stat.size > MAX_PROFILE_FILE_BYTES) {
    throw ConfigError.invalid(`profile '${name}': '${file.path}' is not a regular file of at most 1 MiB`, {
      profile: name,
      path: file.path,
    });
  }
  let overlay: unknown;
  try {
    overlay = parse(fs.readFileSync(file.resolvedPath, "utf8"));
  } catch (error) {
    throw ConfigError.invalid(`profile '${name}' (${file.path}) is not valid TOML: ${firstLine(error)}`, {
      profile: name,
      path: file.path,
    });
  }
  if (!isTable(overlay)) throw ConfigError.invalid(`profile '${name}' (${file.path}) must be a TOML table`);
  if ("plugin" in overlay) {
    throw ConfigError.invalid(
      `profile '${name}' (${file.path}) may not contain a [plugin] table: a profile changes the plugin's own settings only`,
      { profile: name, path: file.path },
    );
  }
  return { name, path: file.path, overlay };
}

/** The largest profile file the host reads. */
export const MAX_PROFILE_FILE_BYTES = 1024 * 1024;

/**
 * `target` resolved against the plugin folder, or undefined when it leaves the folder — also through a symlink, the
 * file's own or one of its folders' (a file not there yet is judged by the nearest folder that is), and when a
 * symlink on the way leads nowhere (a dangling link could be pointed out of the folder later).
 */
export function resolveInsidePluginDir(dir: string, target: string): string | undefined {
  const root = fs.realpathSync(dir);
  const resolved = path.resolve(root, target);
  if (!isInside(root, resolved)) return undefined;
  const real = realPathOf(resolved);
  return real !== undefined && isInside(root, real) ? resolved : undefined;
}

/**
 * The real path `target` has or would have: the nearest part of it that exists (a link itself counts, found with
 * lstat) resolved through its links, with the rest appended; undefined when a link on the way leads nowhere.
 */
export function realPathOf(target: string): string | undefined {
  let existing = target;
  const rest: string[] = [];
  while (fs.lstatSync(existing, { throwIfNoEntry: false }) === undefined) {
    const parent = path.dirname(existing);
    if (parent === existing) return target;
    rest.unshift(path.basename(existing));
    existing = parent;
  }
  try {
    return path.join(fs.realpathSync(existing), ...rest);
  } catch {
    return undefined;
  }
}

/**
 * Why the file at `target` (inside the plugin folder `dir`) may never be a profile, or undefined: its real path is
 * plugin.toml, profiles.toml, the plugin's entry module, or under its `data/` folder — a profile write would overwrite
 * it, a profile delete remove it.
 */
export function ownedFileProblem(dir: string, manifest: ConfigTable, target: string): string | undefined {
  const root = fs.realpathSync(dir);
  const real = realPathOf(target);
  if (real === undefined) return "it is a symbolic link that leads nowhere";
  const plugin = isTable(manifest.plugin) ? manifest.plugin : {};
  const entry =
    typeof plugin.entry === "string" ? plugin.entry.slice(0, Math.max(0, plugin.entry.lastIndexOf(":"))) : "";
  const owned: Array<[string, string]> = [
    [path.join(root, "plugin.toml"), "plugin.toml"],
    [path.join(root, PROFILES_FILE), PROFILES_FILE],
    ...(entry
      ? [[realPathOf(path.resolve(root, entry)) ?? path.resolve(root, entry), "the entry module"] as [string, string]]
      : []),
  ];
  for (const [file, what] of owned) {
    if (samePath(real, file)) return `it is ${what}, not a profile`;
  }
  const data = realPathOf(path.join(root, "data")) ?? path.join(root, "data");
  if (samePath(real, data) || isInside(data, real)) return "it is in the plugin's data/ folder, not a profile";
  return undefined;
}

/** Names a new profile may not take: `active` is the switch's route; the rest are device names on Windows. */
const RESERVED_PROFILE_NAMES = new Set([
  "active",
  // Names of JavaScript's object machinery: a table keyed by them would not hold them as declarations.
  "__proto__",
  "prototype",
  "constructor",
  "con",
  "prn",
  "aux",
  "nul",
  ...Array.from({ length: 9 }, (_, i) => `com${i + 1}`),
  ...Array.from({ length: 9 }, (_, i) => `lpt${i + 1}`),
]);
const PROFILE_NAME = /^[A-Za-z0-9_][A-Za-z0-9_-]{0,63}$/;

/** Why `name` cannot be a new profile's name (it becomes a file name), or undefined when it can. */
export function profileNameProblem(name: string): string | undefined {
  if (!PROFILE_NAME.test(name)) {
    return `profile name ${JSON.stringify(name)} is not allowed: 1 to 64 letters, digits, '_' or '-' (no '.', '/' or '\\'), not starting with '-'`;
  }
  if (RESERVED_PROFILE_NAMES.has(name.toLowerCase())) return `profile name '${name}' is reserved`;
  return undefined;
}

/** Where a new profile's file goes, relative to the plugin folder. */
export function newProfilePath(name: string): string {
  return `profiles/${name}.toml`;
}

function declaredProfiles(
  dir: string,
  manifest: ConfigTable,
): { table: ConfigTable; source: "profiles.toml" | "plugin.toml" } | undefined {
  const file = path.join(dir, PROFILES_FILE);
  if (fs.existsSync(file)) {
    let doc: ConfigTable;
    try {
      doc = parse(fs.readFileSync(file, "utf8"));
    } catch (error) {
      throw ConfigError.invalid(`${PROFILES_FILE} is not valid TOML: ${firstLine(error)}`);
    }
    const table = isTable(doc.config_profiles) ? doc.config_profiles : doc;
    return { table, source: "profiles.toml" };
  }
  const plugin = manifest.plugin;
  const table = isTable(plugin) ? plugin.config_profiles : undefined;
  if (table === undefined) return undefined;
  if (!isTable(table)) throw ConfigError.invalid("plugin.toml: [plugin].config_profiles must be a table");
  return { table, source: "plugin.toml" };
}

function describeProfileFile(dir: string, manifest: ConfigTable, name: string, declared: string): ConfigProfileFile {
  const resolvedPath = resolveInsidePluginDir(dir, declared) ?? null;
  const exists = resolvedPath !== null && fs.existsSync(resolvedPath);
  const owned = resolvedPath === null ? undefined : ownedFileProblem(dir, manifest, resolvedPath);
  const problem =
    resolvedPath === null
      ? `path '${declared}' leaves the plugin folder`
      : owned !== undefined
        ? `path '${declared}' cannot be a profile: ${owned}`
        : exists
          ? null
          : `file '${declared}' does not exist`;
  return { name, path: declared, resolvedPath, exists, problem, forbidden: owned !== undefined };
}

/** The same file, for a case-insensitive file system too (where the two spellings name one file). */
function samePath(a: string, b: string): boolean {
  if (a === b) return true;
  const sa = fs.statSync(a, { throwIfNoEntry: false });
  const sb = fs.statSync(b, { throwIfNoEntry: false });
  return sa !== undefined && sb !== undefined && sa.ino === sb.ino && sa.dev === sb.dev;
}

function isInside(root: string, target: string): boolean {
  const relative = path.relative(root, target);
  return relative !== ".." && !relative.startsWith(`..${path.sep}`) && !path.isAbsolute(relative);
}

function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split("\n")[0];
}
