/**
 * The type-check step of `neko-plugin check`: the plugin's TypeScript compiled (not emitted) by the `typescript`
 * package in this process, with the plugin's own tsconfig.json when it has one, else the settings `init` writes
 * (sdk-location.ts). Incremental: the build info lives under the user's temp folder (typeCheckBuildInfoDir), so a
 * second check of an unchanged plugin takes a fraction of the first.
 */
import { createHash } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import ts from "typescript";
import { pluginCompilerOptions } from "../sdk-location.ts";

export interface TypeDiagnostic {
  /** Relative to the plugin folder; undefined for a problem of the settings as a whole. */
  file?: string;
  line?: number;
  column?: number;
  code: number;
  message: string;
}

export interface TypeCheckResult {
  /** The problems inside the plugin's folder (and of its settings); the SDK's own are left out. */
  diagnostics: TypeDiagnostic[];
  /** The tsconfig.json used, relative to the folder; undefined when the default settings were. */
  configFile?: string;
  /** How many source files of the plugin were checked. */
  files: number;
}

const SKIPPED_FOLDERS = new Set(["node_modules", "data"]);
const SOURCE = /\.(ts|mts|cts)$/;

/**
 * Where the type-check of `dir` keeps its build info: `<os temp>/neko-plugin-tsbuild-<uid>/<sha1 of the folder>`, one
 * folder per user so that no one else's can be in the way.
 */
export function typeCheckBuildInfoDir(dir: string): string {
  const uid = typeof process.getuid === "function" ? process.getuid() : "user";
  const key = createHash("sha1").update(path.resolve(dir)).digest("hex").slice(0, 16);
  return path.join(os.tmpdir(), `neko-plugin-tsbuild-${uid}`, key);
}

/**
 * Makes `dir` if needed and says whether it is safe to keep build info in: a real folder (not a link) of this user,
 * closed to others. In a shared temp folder another user could have made it first, to hide type errors from the check
 * by editing the build info, or to have it written through a link; such a folder is not used.
 */
function privateFolder(dir: string): boolean {
  try {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const stat = fs.lstatSync(dir);
    if (!stat.isDirectory()) return false;
    if (typeof process.getuid === "function" && stat.uid !== process.getuid()) return false;
    if ((stat.mode & 0o077) !== 0) fs.chmodSync(dir, 0o700);
    return true;
  } catch {
    return false;
  }
}

export function typeCheckPlugin(dir: string): TypeCheckResult {
  const root = path.resolve(dir);
  const buildInfoDir = typeCheckBuildInfoDir(root);
  // Only slower without it: every check starts from nothing.
  const incremental = privateFolder(path.dirname(buildInfoDir)) && privateFolder(buildInfoDir);
  // Only a type-check: nothing is written but the build info (TypeScript allows incremental with noEmit).
  const forced: ts.CompilerOptions = {
    noEmit: true,
    incremental,
    composite: false,
    declaration: false,
    ...(incremental && { tsBuildInfoFile: path.join(buildInfoDir, "tsconfig.tsbuildinfo") }),
  };
  const configPath = path.join(root, "tsconfig.json");
  const setup = fs.existsSync(configPath) ? ownSettings(configPath, forced) : defaultSettings(root, forced);

  const host = ts.createIncrementalCompilerHost(setup.options);
  const program = ts.createIncrementalProgram({
    rootNames: setup.rootNames,
    options: setup.options,
    host,
    configFileParsingDiagnostics: setup.errors,
  });
  // Only the plugin's own files are checked: the SDK's sources (reached through `paths`) are part of the program too,
  // and checking them all took some 15 times as long as the plugin's files for problems that are dropped anyway (see
  // describe). The checker still reads from them whatever the plugin's code uses.
  const own = program.getSourceFiles().filter((file) => isInside(root, file.fileName));
  const all = [
    ...program.getConfigFileParsingDiagnostics(),
    ...program.getOptionsDiagnostics(),
    ...program.getGlobalDiagnostics(),
    ...own.flatMap((file) => program.getSyntacticDiagnostics(file)),
    ...own.flatMap((file) => program.getSemanticDiagnostics(file)),
  ];
  program.emit(); // writes the build info only
  const files = setup.rootNames.filter((file) => isInside(root, file)).length;
  return {
    diagnostics: all.flatMap((d) => describe(d, root)),
    ...(setup.configFile !== undefined && { configFile: setup.configFile }),
    files,
  };
}

interface Settings {
  rootNames: string[];
  options: ts.CompilerOptions;
  errors: ts.Diagnostic[];
  configFile?: string;
}

/** The plugin's tsconfig.json, its problems (a bad `paths`, an unknown option) reported like any other. */
function ownSettings(configPath: string, forced: ts.CompilerOptions): Settings {
  const errors: ts.Diagnostic[] = [];
  const parsed = ts.getParsedCommandLineOfConfigFile(configPath, forced, {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (diagnostic) => errors.push(diagnostic),
  });
  return {
    rootNames: parsed?.fileNames ?? [],
    options: { ...(parsed?.options ?? {}), ...forced },
    errors: [...errors, ...(parsed?.errors ?? [])],
    configFile: "tsconfig.json",
  };
}

/** The settings `init` writes, and every TypeScript file of the folder (not node_modules/ or data/). */
function defaultSettings(root: string, forced: ts.CompilerOptions): Settings {
  const converted = ts.convertCompilerOptionsFromJson(pluginCompilerOptions(), root);
  return {
    rootNames: sourcesOf(root),
    options: { ...converted.options, ...forced },
    errors: converted.errors,
  };
}

function sourcesOf(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((d) => {
    const full = path.join(dir, d.name);
    if (d.isDirectory()) return d.name.startsWith(".") || SKIPPED_FOLDERS.has(d.name) ? [] : sourcesOf(full);
    return d.isFile() && SOURCE.test(d.name) ? [full] : [];
  });
}

/** The diagnostic as the plugin's author reads it; none for a file outside the folder (the SDK's, a library's). */
function describe(d: ts.Diagnostic, root: string): TypeDiagnostic[] {
  const message = ts.flattenDiagnosticMessageText(d.messageText, "\n");
  if (d.file === undefined) return [{ code: d.code, message }];
  if (!isInside(root, d.file.fileName)) return [];
  const { line, character } = d.file.getLineAndCharacterOfPosition(d.start ?? 0);
  return [
    {
      file: path.relative(root, d.file.fileName),
      line: line + 1,
      column: character + 1,
      code: d.code,
      message,
    },
  ];
}

function isInside(root: string, file: string): boolean {
  const relative = path.relative(root, path.resolve(file));
  return (
    relative !== "" &&
    !relative.startsWith("..") &&
    !path.isAbsolute(relative) &&
    !relative.split(path.sep).includes("node_modules")
  );
}
