// The plugin.toml contract (SPEC §2.1): turns a manifest's text into a typed PluginManifest, or into every problem
// it has at once, each naming the file, the key and what is wrong in a plain sentence.
import { posix, win32 } from "node:path";
import { PLUGIN_ID_PATTERN } from "@neko/protocol";
import { databaseNameProblem } from "@neko/plugin-sdk/database-name";
import { valid as validSemver } from "semver";
import { parse, TomlError } from "smol-toml";
import { ManifestTable, type ManifestReport } from "./manifest-table.ts";
import { TRANSPORT_KINDS, type TransportKind } from "../transport/local-transport-choice.ts";
import { parseSdkRange } from "./sdk-compat.ts";

export const PLUGIN_TYPES = ["plugin", "extension", "adapter"] as const;
export const ADAPTER_MODES = ["gateway", "router", "bridge", "hybrid"] as const;
export const PERSIST_MODES = ["off", "auto", "manual"] as const;
/** `[plugin_state].backend` values of the original: `file` is what this host does; `memory` is read as `file`. */
export const STATE_BACKENDS = ["file", "memory"] as const;
/** `[plugin.database].name` when absent: `data/<plugin id>.db`, as the original names it. */
export const DATABASE_NAME_SUFFIX = ".db";
/** Ids a plugin may not take: the server has routes `/plugin/<id>/…` of its own under them. */
export const RESERVED_PLUGIN_IDS = new Set(["metrics"]);
export const ENTRY_MODULE_EXTENSIONS = [".ts", ".mts", ".js", ".mjs"] as const;
/**
 * The original N.E.K.O.'s module path of a plugin package (SPEC §3.8): `plugin.plugins.<dir>` or `plugins.<dir>`,
 * the package whose code is the plugin folder's `__init__.py`.
 */
/** A name Python can import (a folder or a file without `.py`): what the runner's dotted module path is made of. */
const PYTHON_IDENTIFIER = /^[\p{L}_][\p{L}\p{N}_]*$/u;
const PYTHON_PACKAGE_PATH = /^(?:plugin\.)?plugins\.[A-Za-z_][A-Za-z0-9_]*$/;

export type PluginType = (typeof PLUGIN_TYPES)[number];
export type AdapterMode = (typeof ADAPTER_MODES)[number];
export type PersistMode = (typeof PERSIST_MODES)[number];

export type PluginManifest = {
  id: string;
  /**
   * `module` is normalized and relative to the plugin folder (`./src/../index.ts` → `index.ts`). `language` is set
   * for a Python plugin (a `.py` module or the original's `plugins.<dir>` module path, whose module is `__init__.py`);
   * absent for a Node one.
   */
  entry: { module: string; className: string; language?: "python" };
  name: string;
  description: string;
  version: string;
  type: PluginType;
  author?: { name?: string; email?: string };
  /** Version ranges as written; see parseSdkRange. `conflicts` may be a list: any range of it refuses. */
  sdk?: { recommended?: string; supported?: string; untested?: string; conflicts?: string | string[] };
  /** Set for extensions only. */
  host?: { pluginId: string; prefix: string };
  /** From `[[plugin.dependency]]`. */
  dependencies: PluginDependency[];
  store: { enabled: boolean };
  /** `[plugin.database]`: the plugin's own SQLite file `data/<name>`, `this.db`. */
  database: { enabled: boolean; name: string };
  permissions: {
    /** Extra paths the process may read / write, as written: relative to the plugin folder, or absolute. */
    fsRead: string[];
    fsWrite: string[];
    childProcess: boolean;
    workerThreads: boolean;
    maxHeapMb: number;
    /** Plugin ids this plugin may call; undefined means all. */
    allowCalls?: string[];
  };
  /** `permissions`: run the process under Node's permission model (SPEC §10); false only for development. */
  /** `transport`: the local transport the manifest asks for (`zmq` or `pipe`); undefined: the host's default. */
  runtime: {
    enabled: boolean;
    autoStart: boolean;
    permissions: boolean;
    isolation: PluginIsolation;
    transport?: TransportKind;
  };
  state: { persistMode: PersistMode };
  /** Set for adapters only: other plugins may use an `[adapter]` table as their own configuration. */
  adapter?: { mode: AdapterMode; priority: number };
  /** From `[[plugin.entries]]`; `timeout` is in seconds. */
  entries: Array<{
    id: string;
    name?: string;
    description?: string;
    inputSchema?: Record<string, unknown>;
    timeout?: number;
  }>;
  /** The whole parsed document, untouched: the plugin's own tables are its configuration. */
  raw: Record<string, unknown>;
};

/**
 * One `[[plugin.dependency]]`, in any of the original's forms: `id` (that plugin), `entry = "plugin:entry"`,
 * `custom_event = "plugin:event_type:event_id"`, or `providers = [ids]` (any one of them, optionally with an `entry` /
 * `custom_event` written without the plugin part). `id` is the plugin it names (the first provider for `providers`).
 */
export type PluginDependency = {
  id: string;
  /** The plugins any one of which satisfies it: `[id]` unless `providers` is given. */
  providers: string[];
  /** `entry`: the entry id the provider must declare. */
  entry?: string;
  /** `custom_event`: the event the provider must have. */
  customEvent?: { eventType: string; eventId: string };
  /** Version ranges for the provider: `version` (this host's key), and the original's `supported` / `untested`. */
  version?: string;
  supported?: string;
  untested?: string;
  /** The original's `conflicts = ["<1.0", …]`: a provider version inside any of them does not satisfy it. */
  conflictRanges: string[];
  /** `conflicts = true`: the plugin must be absent (or outside `version`). */
  conflicts: boolean;
};

export type ManifestProblem = { file: string; key?: string; message: string };

export type ParseManifestResult =
  | { ok: true; manifest: PluginManifest; warnings: ManifestProblem[] }
  | { ok: false; problems: ManifestProblem[]; warnings: ManifestProblem[]; partialId?: string };

const CLASS_NAME_PATTERN = /^[A-Za-z_$][A-Za-z0-9_$]*$/;
const PREFIX_PATTERN = /^[a-zA-Z0-9_-]*$/;
const DEFAULT_VERSION = "0.1.0";
const DEFAULT_MAX_HEAP_MB = 256;

export function parseManifest(text: string, opts: { file: string }): ParseManifestResult {
  const { file } = opts;
  let raw: Record<string, unknown>;
  try {
    raw = parse(text);
  } catch (error) {
    return { ok: false, problems: [tomlSyntaxProblem(file, error)], warnings: [] };
  }
  const report: ManifestReport = { file, problems: [], warnings: [] };
  const doc = ManifestTable.document(report, raw);
  const plugin = doc.table("plugin", { required: true });
  if (plugin === undefined) return { ok: false, problems: report.problems, warnings: report.warnings };

  let id = readId(plugin, "id", { required: true });
  if (id !== undefined && RESERVED_PLUGIN_IDS.has(id)) {
    plugin.problem(
      "id",
      `'${id}' is reserved: GET /plugin/${id}/{name} is a server route, so the plugin's own routes would be hidden`,
    );
    id = undefined;
  }
  const entry = readEntry(plugin);
  const name = plugin.string("name");
  const description = plugin.string("description") ?? "";
  const version = readVersion(plugin);
  const type = plugin.oneOf("type", PLUGIN_TYPES) ?? "plugin";
  const author = readAuthor(plugin);
  const sdk = readSdk(plugin);
  const host = readHost(plugin, { type, id });
  const dependencies = readDependencies(plugin);
  const store = readStore(plugin);
  const database = readDatabase(plugin, { id, type });
  const permissions = readPermissions(plugin);
  const entries = readAllEntries(doc, plugin);
  plugin.allow("config_profiles"); // owned by the config-profile loader
  plugin.warnUnknownKeys();
  const runtime = readRuntime(doc);
  const state = readState(doc);
  const adapter = type === "adapter" ? readAdapter(doc) : undefined;

  if (report.problems.length > 0 || id === undefined || entry === undefined) {
    return {
      ok: false,
      problems: report.problems,
      warnings: report.warnings,
      ...(id !== undefined && { partialId: id }),
    };
  }
  const manifest: PluginManifest = {
    id,
    entry,
    name: name ?? id,
    description,
    version,
    type,
    ...definedOnly({ author, sdk, host, adapter }),
    dependencies,
    store,
    database,
    permissions,
    runtime,
    state,
    entries,
    raw,
  };
  return { ok: true, manifest, warnings: report.warnings };
}

function tomlSyntaxProblem(file: string, error: unknown): ManifestProblem {
  if (error instanceof TomlError) {
    // smol-toml's message is "Invalid TOML document: <reason>\n\n<code block>"; the reason is the useful part.
    const reason = error.message.split("\n")[0].replace(/^Invalid TOML document: /, "");
    return { file, message: `${file}: invalid TOML at line ${error.line}, column ${error.column}: ${reason}` };
  }
  return { file, message: `${file}: invalid TOML: ${error instanceof Error ? error.message : String(error)}` };
}

function readId(table: ManifestTable, key: string, opts: { required?: boolean } = {}): string | undefined {
  const id = table.string(key, opts);
  if (id === undefined || PLUGIN_ID_PATTERN.test(id)) return id;
  table.problem(key, `must be 1 to 128 letters, digits, '_' or '-', not '${id}'`);
  return undefined;
}

function readEntry(plugin: ManifestTable): PluginManifest["entry"] | undefined {
  const spec = plugin.string("entry", { required: true });
  if (spec === undefined) return undefined;
  // The last colon splits, so a Windows drive letter lands in the module part and is refused as absolute there.
  const colon = spec.lastIndexOf(":");
  const module = spec.slice(0, colon);
  const className = spec.slice(colon + 1);
  if (colon <= 0 || !CLASS_NAME_PATTERN.test(className)) {
    plugin.problem("entry", `must look like 'index.ts:ClassName', not '${spec}'`);
    return undefined;
  }
  if (PYTHON_PACKAGE_PATH.test(module)) return { module: "__init__.py", className, language: "python" };
  const moduleProblem = (reason: string) => plugin.problem("entry", `module '${module}' ${reason}`);
  const normalized = posix.normalize(module.replaceAll("\\", "/"));
  let ok = true;
  if (posix.isAbsolute(module) || win32.isAbsolute(module)) {
    moduleProblem("must be a path relative to the plugin folder");
    ok = false;
  } else if (normalized === ".." || normalized.startsWith("../")) {
    moduleProblem("must stay inside the plugin folder");
    ok = false;
  }
  const python = normalized.endsWith(".py");
  if (!python && !ENTRY_MODULE_EXTENSIONS.some((extension) => normalized.endsWith(extension))) {
    const endings = [...ENTRY_MODULE_EXTENSIONS, ".py"].join(", ").replace(/, (?=[^,]*$)/, " or ");
    moduleProblem(`must end in ${endings}, or be the original's 'plugins.<folder>' module path`);
    ok = false;
  }
  if (ok && python) {
    // The runner imports it as `plugin.plugins.<id>.<its path, dotted>`: every part must be a Python identifier.
    const parts = normalized.slice(0, -".py".length).split("/");
    const bad = parts.find((part) => !PYTHON_IDENTIFIER.test(part));
    if (bad !== undefined) {
      moduleProblem(
        `cannot be imported by Python: '${bad}' is not a Python identifier (letters, digits and '_', not starting ` +
          "with a digit); rename it, e.g. to '" +
          `${bad.replace(/[^\p{L}\p{N}_]/gu, "_").replace(/^(?=\p{N})/u, "_")}'`,
      );
      ok = false;
    }
  }
  if (!ok) return undefined;
  return python ? { module: normalized, className, language: "python" } : { module: normalized, className };
}

function readVersion(plugin: ManifestTable): string {
  const version = plugin.string("version");
  if (version === undefined) return DEFAULT_VERSION;
  if (validSemver(version) === null)
    plugin.problem("version", `must be a semver version like '1.2.3', not '${version}'`);
  return version;
}

function readRange(table: ManifestTable, key: string): string | undefined {
  const text = table.string(key);
  if (text === undefined) return undefined;
  const parsed = parseSdkRange(text);
  if (!parsed.ok) table.problem(key, parsed.message);
  return text;
}

/** A range or a list of ranges (the original's `conflicts = [">=0.3", "<0.1"]`), each checked. */
function readRanges(table: ManifestTable, key: string): string[] | undefined {
  const texts = table.strings(key);
  for (const text of texts ?? []) {
    const parsed = parseSdkRange(text);
    if (!parsed.ok) table.problem(key, parsed.message);
  }
  if (texts !== undefined && texts.length === 0) table.problem(key, "is an empty list: give at least one range");
  return texts;
}

function readAuthor(plugin: ManifestTable): PluginManifest["author"] {
  const author = plugin.table("author");
  if (author === undefined) return undefined;
  const result = definedOnly({ name: author.string("name"), email: author.string("email") });
  author.warnUnknownKeys();
  return result;
}

function readSdk(plugin: ManifestTable): PluginManifest["sdk"] {
  const sdk = plugin.table("sdk");
  if (sdk === undefined) return undefined;
  const recommended = readRange(sdk, "recommended");
  let supported = readRange(sdk, "supported");
  // `compatible` is the original's older name of `supported`; both at once would leave one of them ignored.
  const compatible = readRange(sdk, "compatible");
  if (compatible !== undefined && sdk.has("supported")) {
    sdk.problem(
      "compatible",
      "and [plugin.sdk].supported are both given: `compatible` is the old name of `supported`; keep one",
    );
  } else if (compatible !== undefined) {
    sdk.warning("compatible", "is read as [plugin.sdk].supported (its older name); rename it to `supported`");
    supported = compatible;
  }
  const untested = readRange(sdk, "untested");
  const conflicts = readRanges(sdk, "conflicts");
  const result = definedOnly({
    recommended,
    supported,
    untested,
    conflicts: conflicts?.length === 1 && typeof sdk.raw("conflicts") === "string" ? conflicts[0] : conflicts,
  });
  sdk.warnUnknownKeys();
  return result;
}

function readHost(plugin: ManifestTable, self: { type: PluginType; id: string | undefined }): PluginManifest["host"] {
  if (self.type !== "extension") {
    if (plugin.has("host")) plugin.warning("host", "is ignored: only an extension has a host plugin");
    plugin.allow("host");
    return undefined;
  }
  const host = plugin.section("host");
  const pluginId = readId(host, "plugin_id");
  if (!host.has("plugin_id")) host.problem("plugin_id", "is required for an extension");
  if (pluginId !== undefined && pluginId === self.id) {
    host.problem("plugin_id", `must name another plugin, not the extension itself ('${pluginId}')`);
  }
  const prefix = host.string("prefix") ?? "";
  if (!PREFIX_PATTERN.test(prefix)) host.problem("prefix", `must be letters, digits, '_' or '-', not '${prefix}'`);
  host.warnUnknownKeys();
  return pluginId === undefined ? undefined : { pluginId, prefix };
}

function readDependencies(plugin: ManifestTable): PluginManifest["dependencies"] {
  return plugin.tableArray("dependency").flatMap((dependency) => {
    const result = readDependency(dependency);
    dependency.warnUnknownKeys();
    return result === undefined ? [] : [result];
  });
}

/** One `[[plugin.dependency]]`: exactly one of `id`, `entry`, `custom_event`, `providers` names the plugin(s). */
function readDependency(dependency: ManifestTable): PluginDependency | undefined {
  const problemsBefore = dependency.problemCount();
  const id = dependency.has("id") ? readId(dependency, "id") : undefined;
  const entrySpec = dependency.string("entry");
  const eventSpec = dependency.string("custom_event");
  const providers = dependency.stringArray("providers");
  for (const provider of providers ?? []) {
    if (!PLUGIN_ID_PATTERN.test(provider))
      dependency.problem("providers", `contains '${provider}', which is not a plugin id`);
  }
  if (providers !== undefined && providers.length === 0) dependency.problem("providers", "is an empty list");
  const version = readRange(dependency, "version");
  const supported = readRange(dependency, "supported");
  const untested = readRange(dependency, "untested");
  // `conflicts = true`: must be absent; a range or a list of ranges: those versions do not satisfy it.
  const conflictsValue = dependency.raw("conflicts");
  let conflicts = false;
  let conflictRanges: string[] = [];
  if (typeof conflictsValue === "boolean") conflicts = dependency.boolean("conflicts") ?? false;
  else if (conflictsValue !== undefined) {
    if (typeof conflictsValue !== "string" && !Array.isArray(conflictsValue)) {
      dependency.problem("conflicts", "must be true / false, a version range or a list of version ranges");
      dependency.allow("conflicts");
    } else conflictRanges = readRanges(dependency, "conflicts") ?? [];
  }

  const forms = [
    dependency.has("id") && "id",
    entrySpec !== undefined && "entry",
    eventSpec !== undefined && "custom_event",
  ].filter((form) => form !== false);
  if (forms.length > 1) {
    dependency.problem(forms[1], `cannot be given with ${forms[0]}: one dependency names one thing`);
  } else if (forms.includes("id") && providers !== undefined) {
    dependency.problem("providers", "cannot be given with id: list every acceptable plugin in providers");
  } else if (forms.length === 0 && providers === undefined && !dependency.has("providers")) {
    dependency.problem("id", "is required (or the original's entry, custom_event or providers)");
  }
  if (conflicts && (entrySpec !== undefined || eventSpec !== undefined || providers !== undefined)) {
    dependency.problem("conflicts", "= true goes with id only (a plugin that must be absent)");
  }
  for (const key of ["supported", "untested"]) {
    if (conflicts && dependency.has(key)) {
      dependency.problem(
        key,
        "cannot be given with conflicts = true (a plugin that must be absent): use version to say which versions conflict",
      );
    }
  }

  let target: string | undefined = id;
  let entry: string | undefined;
  let customEvent: PluginDependency["customEvent"];
  if (entrySpec !== undefined) {
    const parts = entrySpec.split(":");
    const shape =
      providers === undefined ? "'plugin_id:entry_id'" : "'entry_id' (with providers) or 'plugin_id:entry_id'";
    if (
      parts.length > 2 ||
      parts.some((part) => !PLUGIN_ID_PATTERN.test(part)) ||
      (parts.length === 1 && providers === undefined)
    ) {
      dependency.problem("entry", `must look like ${shape}, not '${entrySpec}'`);
    } else {
      [target, entry] = parts.length === 2 ? parts : [undefined, parts[0]];
    }
  }
  if (eventSpec !== undefined) {
    const parts = eventSpec.split(":");
    const shape =
      providers === undefined
        ? "'plugin_id:event_type:event_id'"
        : "'event_type:event_id' (with providers) or 'plugin_id:event_type:event_id'";
    if (
      parts.length < 2 ||
      parts.length > 3 ||
      parts.some((part) => !PLUGIN_ID_PATTERN.test(part)) ||
      (parts.length === 2 && providers === undefined)
    ) {
      dependency.problem("custom_event", `must look like ${shape}, not '${eventSpec}'`);
    } else {
      if (parts.length === 3) target = parts.shift();
      customEvent = { eventType: parts[0], eventId: parts[1] };
    }
  }
  if (target !== undefined && providers !== undefined && !forms.includes("id")) {
    dependency.problem("providers", `cannot be given with a plugin id in ${forms[0]} ('${target}')`);
  }
  if (dependency.problemCount() > problemsBefore) return undefined;
  const candidates = providers ?? (target === undefined ? [] : [target]);
  if (candidates.length === 0) return undefined;
  return {
    id: candidates[0],
    providers: candidates,
    ...definedOnly({ entry, customEvent, version, supported, untested }),
    conflictRanges,
    conflicts,
  };
}

function readStore(plugin: ManifestTable): PluginManifest["store"] {
  const store = plugin.section("store");
  const result = { enabled: store.boolean("enabled") ?? true };
  store.warnUnknownKeys();
  return result;
}

/** `[plugin.database]`: on unless `enabled = false`; `name` is a plain file name inside `data/`. */
function readDatabase(
  plugin: ManifestTable,
  { id, type }: { id: string | undefined; type: PluginType },
): PluginManifest["database"] {
  if (type === "extension" && plugin.has("database")) {
    plugin.warning("database", "is ignored: an extension has no this.db (it has its own store)");
  }
  const database = plugin.section("database");
  const enabled = database.boolean("enabled") ?? true;
  let name = database.string("name");
  if (name !== undefined) {
    const problem = databaseNameProblem(name);
    if (problem !== undefined) {
      database.problem("name", problem);
      name = undefined;
    }
  }
  database.warnUnknownKeys();
  return { enabled, name: name ?? `${id ?? "plugin"}${DATABASE_NAME_SUFFIX}` };
}

function readPermissions(plugin: ManifestTable): PluginManifest["permissions"] {
  const permissions = plugin.section("permissions");
  const allowCalls = permissions.stringArray("allow_calls");
  for (const id of allowCalls ?? []) {
    if (!PLUGIN_ID_PATTERN.test(id)) permissions.problem("allow_calls", `contains '${id}', which is not a plugin id`);
  }
  const result = {
    fsRead: readGrantedPaths(permissions, "fs_read"),
    fsWrite: readGrantedPaths(permissions, "fs_write"),
    childProcess: permissions.boolean("child_process") ?? false,
    workerThreads: permissions.boolean("worker_threads") ?? false,
    maxHeapMb: permissions.number("max_heap_mb", { integer: true, positive: true }) ?? DEFAULT_MAX_HEAP_MB,
    ...definedOnly({ allowCalls }),
  };
  permissions.warnUnknownKeys();
  return result;
}

/**
 * `fs_read` / `fs_write`: paths relative to the plugin folder (`"cache"`, `"../shared"`) or absolute. Each becomes one
 * `--allow-fs-*` flag of Node's permission model, which reads `*` as a wildcard and does not expand `~`.
 */
function readGrantedPaths(permissions: ManifestTable, key: "fs_read" | "fs_write"): string[] {
  const paths = permissions.stringArray(key) ?? [];
  const problem = (sentence: string) => permissions.problem(key, sentence);
  for (const granted of paths) {
    if (granted.trim() === "") problem("contains an empty path");
    else if (granted.includes("\0")) problem(`contains a path with a NUL character`);
    else if (granted.includes("*")) {
      problem(`contains '${granted}': '*' is not allowed (name the folder itself: that grants everything in it)`);
    } else if (granted.startsWith("~")) {
      problem(`contains '${granted}': '~' is not expanded; write the absolute path`);
    }
  }
  return paths;
}

/**
 * `[[plugin.entries]]`, or the original's top-level `[[entries]]` read the same way; a manifest with both is refused,
 * so neither list is silently dropped. A top-level `entries` that is not an array of tables (an `[entries]` table, a
 * value) is the plugin's configuration, like any other top-level table.
 */
function readAllEntries(doc: ManifestTable, plugin: ManifestTable): PluginManifest["entries"] {
  const topLevel = doc.raw("entries");
  const topLevelList =
    Array.isArray(topLevel) &&
    topLevel.length > 0 &&
    topLevel.every((item) => typeof item === "object" && item !== null && !Array.isArray(item));
  if (!topLevelList) return readEntries(plugin);
  if (plugin.has("entries")) {
    doc.problem(
      "entries",
      "and [[plugin.entries]] are both given: keep one list (the top-level one is the original's place)",
    );
    plugin.allow("entries");
    return [];
  }
  return readEntries(doc);
}

function readEntries(owner: ManifestTable): PluginManifest["entries"] {
  const firstLabel = new Map<string, string>();
  return owner.tableArray("entries").flatMap((entry) => {
    const id = readId(entry, "id", { required: true });
    const result = definedOnly({
      name: entry.string("name"),
      description: entry.string("description"),
      inputSchema: entry.record("input_schema"),
      timeout: entry.number("timeout", { positive: true }),
    });
    entry.warnUnknownKeys();
    if (id === undefined) return [];
    const earlier = firstLabel.get(id);
    if (earlier !== undefined) entry.problem("id", `'${id}' is already declared by ${earlier}`);
    else firstLabel.set(id, entry.label);
    return [{ id, ...result }];
  });
}

/** `[plugin_runtime] isolation`: a process of its own (the default), or a worker thread in the shared runner. */
export const PLUGIN_ISOLATIONS = ["process", "thread"] as const;
export type PluginIsolation = (typeof PLUGIN_ISOLATIONS)[number];

function readRuntime(doc: ManifestTable): PluginManifest["runtime"] {
  const runtime = doc.section("plugin_runtime");
  const result = {
    enabled: runtime.boolean("enabled") ?? true,
    autoStart: runtime.boolean("auto_start") ?? true,
    permissions: runtime.boolean("permissions") ?? true,
    isolation: runtime.oneOf("isolation", PLUGIN_ISOLATIONS) ?? "process",
  };
  const transport = runtime.oneOf("transport", TRANSPORT_KINDS);
  runtime.warnUnknownKeys();
  return transport === undefined ? result : { ...result, transport };
}

function readState(doc: ManifestTable): PluginManifest["state"] {
  const state = doc.section("plugin_state");
  const result = { persistMode: state.oneOf("persist_mode", PERSIST_MODES) ?? "off" };
  // The original's storage of frozen state: `file` is what this host does; `memory` (kept in the host only, lost
  // with it) is not offered, and the state goes to the file instead, said so.
  const backend = state.oneOf("backend", STATE_BACKENDS);
  if (backend === "memory") {
    state.warning("backend", "= 'memory' is not supported: frozen state is saved to data/ as with 'file'");
  }
  state.warnUnknownKeys();
  return result;
}

// No unknown-key warnings here: an adapter keeps its own settings (route rules, …) in this table.
function readAdapter(doc: ManifestTable): PluginManifest["adapter"] {
  const adapter = doc.section("adapter");
  return {
    mode: adapter.oneOf("mode", ADAPTER_MODES) ?? "gateway",
    priority: adapter.number("priority", { integer: true }) ?? 0,
  };
}

/** Drops undefined properties so optional keys are absent rather than present-but-undefined. */
function definedOnly<T extends Record<string, unknown>>(values: T): T {
  return Object.fromEntries(Object.entries(values).filter(([, value]) => value !== undefined)) as T;
}
