/**
 * `neko-plugin check`: everything that would stop a plugin folder from loading, found before the host tries it —
 * the manifest, the SDK range, the dependencies, the module loaded in a child process (class, decorators, entries,
 * schemas; a Python plugin's by the Python runner) and the TypeScript type-check — each as an OK / WARN / FAIL item with the reason and, where there is one,
 * the fix. `build` and `install` run it too; `dev` runs it on each change.
 */
import fs from "node:fs";
import path from "node:path";
import {
  conflictProblem,
  dependencyWarnings,
  type DiscoveredPlugin,
  discoverPlugins,
  inspectPluginFolder,
  ownersOf,
  providerProblem,
  requirementProblem,
} from "@neko/host";
import { SDK_VERSION } from "@neko/plugin-sdk/version";
import { paintFor, terminalSafe } from "../text-table.ts";
import { inspectModuleInChild } from "./module-inspection.ts";
import { inspectPythonModuleInChild } from "./python-module-inspection.ts";
import type { TypeCheckResult } from "./plugin-type-check.ts";

export type CheckLevel = "ok" | "warn" | "fail";

export interface CheckItem {
  level: CheckLevel;
  /** "manifest" | "sdk" | "dependencies" | "load" | "class" | "entries" | "schemas" | "types" */
  check: string;
  message: string;
  fix?: string;
  /** Relative to the plugin folder. */
  file?: string;
  line?: number;
  column?: number;
}

export interface CheckReport {
  /** False iff an item is a failure. */
  ok: boolean;
  id?: string;
  dir: string;
  items: CheckItem[];
}

export interface CheckOptions {
  /** Type-check the plugin's TypeScript (default true); it takes seconds the first time. */
  typeCheck?: boolean;
  /** Plugin roots where `[[plugin.dependency]]` must be found; none: dependencies are not checked (a warning). */
  pluginsDirs?: string[];
  /**
   * Load a Python plugin's code (default true). Python has no permission model, so its top-level code would run as
   * this user: `install` leaves it out for an archive's plugin, and says so.
   */
  loadPython?: boolean;
  /** A line for each slow step as it starts (loading the module, the type-check). */
  onProgress?: (line: string) => void;
}

/** At most this many type errors are listed one by one; the rest are counted. */
const MAX_TYPE_ERRORS = 20;
const JAVASCRIPT = /\.m?js$/;

export async function checkPluginFolder(dir: string, options: CheckOptions = {}): Promise<CheckReport> {
  const root = path.resolve(dir);
  const items: CheckItem[] = [];
  const done = (id?: string): CheckReport => ({
    ok: !items.some((item) => item.level === "fail"),
    ...(id !== undefined && { id }),
    dir: root,
    items,
  });
  if (!fs.statSync(root, { throwIfNoEntry: false })?.isDirectory()) {
    items.push({ level: "fail", check: "manifest", message: `${root} is not a folder`, fix: "name a plugin folder" });
    return done();
  }

  const plugin = await inspectPluginFolder(root);
  items.push(...manifestItems(plugin));
  const manifest = plugin.manifest;
  if (manifest === undefined) return done(plugin.idGuessed ? undefined : plugin.id);
  items.push(...(await dependencyItems(plugin, options.pluginsDirs)));

  const modulePath = plugin.entryModulePath;
  if (manifest.entry.language === "python") {
    if (options.loadPython === false) {
      items.push({
        level: "warn",
        check: "load",
        message: `not loaded: ${manifest.entry.module} is Python, whose code would run unconfined (Python has no permission model)`,
        fix: "run `neko-plugin check` on the installed plugin's folder to load it",
      });
    } else if (modulePath !== undefined && fs.existsSync(modulePath)) {
      options.onProgress?.(`loading ${terminalSafe(manifest.entry.module)} with Python…`);
      items.push(
        ...(await inspectPythonModuleInChild({
          dir: root,
          modulePath,
          className: manifest.entry.className,
          entry: String((manifest.raw.plugin as { entry?: unknown } | undefined)?.entry ?? ""),
          manifestEntries: manifest.entries.map(({ id, inputSchema }) => ({ id, ...(inputSchema && { inputSchema }) })),
        })),
      );
    }
    items.push({ level: "ok", check: "types", message: `not type-checked: ${manifest.entry.module} is Python` });
    return done(manifest.id);
  }

  if (modulePath !== undefined && fs.existsSync(modulePath)) {
    options.onProgress?.(`loading ${terminalSafe(manifest.entry.module)} in a child process…`);
    items.push(
      ...(await inspectModuleInChild({
        dir: root,
        modulePath,
        className: manifest.entry.className,
        type: manifest.type,
        ...(manifest.host !== undefined && { prefix: manifest.host.prefix }),
        manifestEntries: manifest.entries.map(({ id, inputSchema }) => ({ id, ...(inputSchema && { inputSchema }) })),
        readGrants: manifest.permissions.fsRead,
      })),
    );
  }

  if (options.typeCheck === false) {
    items.push({ level: "ok", check: "types", message: "not type-checked (the type-check was turned off)" });
  } else if (JAVASCRIPT.test(manifest.entry.module)) {
    items.push({ level: "ok", check: "types", message: `not type-checked: ${manifest.entry.module} is JavaScript` });
  } else {
    options.onProgress?.("type-checking (the first check of a folder takes a few seconds)…");
    items.push(...(await typeItems(root)));
  }
  return done(manifest.id);
}

const TOML_SYNTAX = /^plugin\.toml: invalid TOML at line (\d+), column (\d+): (.*)$/s;
const SDK_PROBLEM = /^plugin\.toml: \[plugin\.sdk\]: /;
const ENTRY_MISSING = /\[plugin\]\.entry module '(.+)' does not exist/;

/** The manifest's problems and warnings, the SDK range's apart; one OK line each when there is nothing to say. */
function manifestItems(plugin: DiscoveredPlugin): CheckItem[] {
  const items: CheckItem[] = [];
  const add = (level: CheckLevel, text: string) => items.push(manifestItem(level, text));
  for (const problem of plugin.problems) add("fail", problem);
  for (const warning of plugin.warnings) add("warn", warning);
  const { manifest } = plugin;
  if (manifest === undefined) return items;
  if (!items.some((item) => item.check === "manifest" && item.level === "fail")) {
    const kind = manifest.type === "plugin" ? "" : `, ${manifest.type}`;
    items.unshift({
      level: "ok",
      check: "manifest",
      message: `plugin.toml is valid (id ${manifest.id}, version ${manifest.version}${kind})`,
    });
  }
  if (manifest.sdk === undefined) {
    items.push({
      level: "warn",
      check: "sdk",
      message: "plugin.toml has no [plugin.sdk]: the plugin claims to work with any SDK",
      fix: `add [plugin.sdk] with supported = ">=${SDK_VERSION}"`,
    });
  } else if (!items.some((item) => item.check === "sdk")) {
    const ranges = Object.entries(manifest.sdk).map(
      ([name, range]) => `${name} ${Array.isArray(range) ? `[${range.map((r) => `'${r}'`).join(", ")}]` : range}`,
    );
    items.push({ level: "ok", check: "sdk", message: `SDK ${SDK_VERSION} fits [plugin.sdk] (${ranges.join(", ")})` });
  }
  return items;
}

function manifestItem(level: CheckLevel, text: string): CheckItem {
  const toml = TOML_SYNTAX.exec(text);
  if (toml) {
    const at = `plugin.toml:${toml[1]}:${toml[2]}`;
    return {
      level,
      check: "manifest",
      message: `${at} invalid TOML: ${toml[3]}`,
      fix: `fix the TOML syntax at ${at}`,
      file: "plugin.toml",
      line: Number(toml[1]),
      column: Number(toml[2]),
    };
  }
  if (SDK_PROBLEM.test(text)) {
    const fix =
      level === "fail"
        ? `run it with an SDK inside the range, or widen [plugin.sdk] if the plugin works with SDK ${SDK_VERSION}`
        : undefined;
    return { level, check: "sdk", message: text, file: "plugin.toml", ...(fix !== undefined && { fix }) };
  }
  const missing = ENTRY_MISSING.exec(text);
  if (missing) {
    const fix = `create ${missing[1]}, or point [plugin].entry = "<module>:<Class>" at the module that exists`;
    return { level, check: "manifest", message: text, fix, file: "plugin.toml" };
  }
  return { level, check: "manifest", message: text, file: "plugin.toml", ...manifestFix(text) };
}

function manifestFix(text: string): { fix?: string } {
  if (/^plugin\.toml: cannot be read/.test(text))
    return { fix: 'create plugin.toml with a [plugin] table: id = "…", entry = "index.ts:MyPlugin"' };
  if (/folder name '.*' differs/.test(text)) return { fix: "name the folder after [plugin].id" };
  return {};
}

/**
 * `[[plugin.dependency]]` against the plugins of `pluginsDirs`, as the host judges them at discovery; and for an
 * extension, the plugin it extends (`[plugin.host].plugin_id`), which must be there too.
 */
async function dependencyItems(plugin: DiscoveredPlugin, pluginsDirs: string[] | undefined): Promise<CheckItem[]> {
  const dependencies = plugin.manifest?.dependencies ?? [];
  const hostId = plugin.manifest?.host?.pluginId;
  if (dependencies.length === 0 && hostId === undefined) {
    return [{ level: "ok", check: "dependencies", message: "none declared" }];
  }
  const names = [
    ...(hostId === undefined ? [] : [`extends ${hostId}`]),
    ...dependencies.map((dep) => `${dep.conflicts ? "conflicts with " : ""}${dep.providers.join(" or ")}`),
  ].join(", ");
  if (pluginsDirs === undefined || pluginsDirs.length === 0) {
    return [
      {
        level: "warn",
        check: "dependencies",
        message: `not checked (${names}): no plugins folder was given`,
        fix: "pass --plugins-dir DIR (repeatable) where the plugins it depends on are installed",
      },
    ];
  }
  const others = (await discoverPlugins({ roots: pluginsDirs, sdkVersion: SDK_VERSION })).filter(
    (other) => path.resolve(other.dir) !== path.resolve(plugin.dir),
  );
  const owners = ownersOf(others);
  const lookup = (id: string) => owners.get(id);
  const where = pluginsDirs.join(" or ");
  const items: CheckItem[] = [];
  const fail = (message: string, fix: string) =>
    items.push({ level: "fail", check: "dependencies", message, fix, file: "plugin.toml" });
  if (hostId !== undefined) {
    const host = lookup(hostId);
    if (host === undefined) {
      fail(`the plugin it extends, '${hostId}' ([plugin.host].plugin_id), is not in ${where}`, `install '${hostId}'`);
    } else if (host.manifest?.type === "extension") {
      fail(`'${hostId}' ([plugin.host].plugin_id) is an extension itself`, "name a plugin, not an extension");
    }
  }
  for (const dep of dependencies) {
    // One dependency at a time, so every unmet one is reported, not only the first.
    const alone = { ...plugin, manifest: { ...(plugin.manifest as NonNullable<typeof plugin.manifest>) } };
    alone.manifest.dependencies = [dep];
    const problem = dep.conflicts ? conflictProblem(alone, lookup) : requirementProblem(alone, lookup);
    if (problem === undefined) {
      // Met, but inside an `untested` range only, or an entry / custom event that only the running plugin can show.
      for (const warning of dependencyWarnings(alone, lookup)) {
        items.push({ level: "warn", check: "dependencies", message: warning, file: "plugin.toml" });
      }
      continue;
    }
    fail(
      problem,
      dep.conflicts
        ? `disable or remove plugin '${dep.id}', or drop the conflict`
        : requirementFix(alone, dep, lookup, where),
    );
  }
  if (items.length === 0) {
    items.push({ level: "ok", check: "dependencies", message: `met in ${pluginsDirs.join(", ")} (${names})` });
  }
  return items;
}

async function typeItems(root: string): Promise<CheckItem[]> {
  let result: TypeCheckResult;
  try {
    // Loaded only when it runs: the typescript package takes half a second to load, which every other command of
    // the CLI (they all register at start) would pay.
    const { typeCheckPlugin } = await import("./plugin-type-check.ts");
    result = typeCheckPlugin(root);
  } catch (error) {
    return [{ level: "fail", check: "types", message: `the type-check failed: ${(error as Error).message}` }];
  }
  const settings = result.configFile ?? "the default settings (no tsconfig.json)";
  if (result.diagnostics.length === 0) {
    return [{ level: "ok", check: "types", message: `${plural(result.files, "file")} type-check with ${settings}` }];
  }
  const items = result.diagnostics.slice(0, MAX_TYPE_ERRORS).map((d): CheckItem => {
    const at = d.file === undefined ? "" : `${d.file}:${d.line}:${d.column} `;
    const where = d.file === undefined ? {} : { file: d.file, line: d.line, column: d.column };
    const fix = d.file === undefined || d.file === "tsconfig.json" ? { fix: `fix ${settings}` } : {};
    return { level: "fail", check: "types", message: `${at}TS${d.code} ${d.message}`, ...where, ...fix };
  });
  const more = result.diagnostics.length - MAX_TYPE_ERRORS;
  if (more > 0) items.push({ level: "fail", check: "types", message: `and ${more} more type errors` });
  return items;
}

const LABELS: Record<CheckLevel, { text: string; colour: "green" | "yellow" | "red" }> = {
  ok: { text: "[OK]", colour: "green" },
  warn: { text: "[WARN]", colour: "yellow" },
  fail: { text: "[FAIL]", colour: "red" },
};

type PluginDependency = NonNullable<DiscoveredPlugin["manifest"]>["dependencies"][number];

/**
 * What to do about an unmet dependency: install the provider when none is installed; otherwise, per provider, what
 * keeps it from fitting — update it to the range, add the missing entry, enable it, fix its own refusal.
 */
function requirementFix(
  plugin: DiscoveredPlugin,
  dep: PluginDependency,
  lookup: (id: string) => DiscoveredPlugin | undefined,
  where: string,
): string {
  const range = dep.version ?? dep.supported ?? dep.untested;
  const having = dep.entry === undefined ? "" : ` with entry '${dep.entry}'`;
  const missing = dep.providers.filter((id) => lookup(id) === undefined);
  if (missing.length === dep.providers.length) {
    const which = missing.length > 1 ? `one of ${missing.map((id) => `'${id}'`).join(", ")}` : `plugin '${dep.id}'`;
    return `install ${which}${range === undefined ? "" : ` ${range}`}${having} in ${where}`;
  }
  const fixes = dep.providers.flatMap((id) => {
    const other = lookup(id);
    const problem = providerProblem(plugin, dep, other) ?? "";
    if (other === undefined) return [`install '${id}'${range === undefined ? "" : ` ${range}`}${having}`];
    if (other === plugin || problem.startsWith("which is this plugin")) return [`drop '${id}' (this plugin) from it`];
    if (problem.startsWith("which is refused")) return [`fix plugin '${id}', which is refused (see its own check)`];
    if (problem.startsWith("which is disabled")) return [`enable plugin '${id}' ([plugin_runtime].enabled = true)`];
    const conflict = /inside its conflicts range '(.*)'$/.exec(problem);
    if (conflict) return [`update '${id}' to a version outside '${conflict[1]}'`];
    const untestedOnly = /outside its untested range '(.*)'$/.exec(problem);
    if (untestedOnly) return [`update '${id}' to ${untestedOnly[1]}`];
    if (/^but version \S+ is installed$/.test(problem) && dep.version !== undefined) {
      return [`update '${id}' to ${dep.version}`];
    }
    if (/outside its supported range/.test(problem) && dep.supported !== undefined) {
      return [
        `update '${id}' to ${dep.supported}${dep.untested === undefined ? "" : ` (or ${dep.untested}, untested)`}`,
      ];
    }
    if (/declares no entry/.test(problem) && dep.entry !== undefined) {
      return [`add entry '${dep.entry}' to '${id}', or update '${id}' to a version that declares it`];
    }
    return problem === "" ? [] : [`make '${id}' fit (${problem})`];
  });
  return fixes.join("; or ");
}

/**
 * The report for a person: one line per item (`[FAIL] types: index.ts:12:5 TS2322 …`), its fix indented below, then
 * a summary line. What came from the plugin (error messages) has its control characters escaped.
 */
export function formatCheckReport(report: CheckReport, options: { color: boolean }): string {
  const paint = paintFor({ isTTY: options.color }, {});
  const lines: string[] = [];
  for (const item of report.items) {
    const label = LABELS[item.level];
    const [first, ...rest] = item.message.split("\n").map(terminalSafe);
    lines.push(`${paint(label.text, label.colour)} ${paint(item.check, "bold")}: ${first}`);
    for (const line of rest) lines.push(`    ${line}`);
    if (item.fix !== undefined) lines.push(`    ${paint("fix:", "cyan")} ${terminalSafe(item.fix)}`);
  }
  const failures = report.items.filter((item) => item.level === "fail").length;
  const warnings = report.items.filter((item) => item.level === "warn").length;
  const name = report.id ?? report.dir;
  const counts = `${plural(failures, "failure")}, ${plural(warnings, "warning")}`;
  lines.push(
    report.ok ? paint(`${name}: passes (${counts})`, "green") : paint(`${name}: does not pass (${counts})`, "red"),
  );
  return `${lines.join("\n")}\n`;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}
