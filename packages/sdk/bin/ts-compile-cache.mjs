// TypeScript for plugin processes: each source file is compiled once by esbuild and kept in a disk cache shared by
// every plugin process of this user, keyed by the file's path and content. A plugin process that finds all its files
// in the cache never loads esbuild, which keeps about 40 MiB and an esbuild child process out of every plugin.
// Only the host writes the cache (warmTypeScriptCache, before it starts a plugin); plugin processes only read it, so
// no plugin can plant code in an entry another plugin loads. A plugin process compiles a miss in memory.
import { createHash, randomBytes } from "node:crypto";
import fs from "node:fs";
import { lstat, readdir, readFile, realpath, rm } from "node:fs/promises";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

// The exports are typed by their declarations in ts-compile-cache.d.mts (which this import resolves to), so the
// implementation and the types the host and the loader hooks see cannot drift apart.
/** @import * as Declared from "./ts-compile-cache.mjs" */

const require = createRequire(import.meta.url);
/** Bump when the options below change, so old cache entries are not reused. */
const FORMAT = 1;
const ESBUILD_VERSION = require("esbuild/package.json").version;
const TARGET = `node${process.versions.node}`;
const TYPESCRIPT = /\.m?ts$/;
/** Folders of a plugin never walked for sources. */
const SKIPPED = new Set(["node_modules", "data", ".git"]);
/** A plugin folder with more sources than this is warmed only in part; the rest compiles on first import. */
const MAX_WARM_FILES = 2000;
/**
 * The esbuild service of a process that had to compile is stopped after this long without work (2 s;
 * `NEKO_ESBUILD_IDLE_MS`, read at each stop, sets it: a test stops it at once).
 */
const esbuildIdleMs = () => {
  const ms = Number(process.env.NEKO_ESBUILD_IDLE_MS);
  return process.env.NEKO_ESBUILD_IDLE_MS !== undefined && Number.isFinite(ms) && ms >= 0 ? ms : 2000;
};

/**
 * The cache folder: `NEKO_TS_CACHE_DIR`, else `<os temp>/neko-plugin-ts-<uid>`. It must be a real folder (not a
 * symlink) owned by this user and closed to others (mode 0700, set when it is ours); otherwise another user could
 * plant compiled code in it, so there is no cache (undefined) and every file is compiled in memory.
 * @type {typeof Declared.defaultCacheDir}
 */
export function defaultCacheDir() {
  const { dir, uid } = cacheLocation();
  try {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const stat = fs.lstatSync(dir);
    if (!stat.isDirectory() || (uid !== undefined && stat.uid !== uid)) return undefined;
    if (uid !== undefined && (stat.mode & 0o077) !== 0) fs.chmodSync(dir, 0o700);
    return dir;
  } catch {
    return undefined;
  }
}

/**
 * The cache folder as a plugin process uses it: the one the host made (the same `NEKO_TS_CACHE_DIR` or temp folder),
 * only looked at, never created or changed; undefined unless it is a real folder of this user closed to others.
 * @type {typeof Declared.readableCacheDir}
 */
export function readableCacheDir() {
  const { dir, uid } = cacheLocation();
  try {
    const stat = fs.lstatSync(dir);
    if (!stat.isDirectory()) return undefined;
    if (uid !== undefined && (stat.uid !== uid || (stat.mode & 0o077) !== 0)) return undefined;
    return dir;
  } catch {
    return undefined;
  }
}

function cacheLocation() {
  const uid = typeof process.getuid === "function" ? process.getuid() : undefined;
  return { uid, dir: process.env.NEKO_TS_CACHE_DIR || path.join(os.tmpdir(), `neko-plugin-ts-${uid ?? "user"}`) };
}

/**
 * The JavaScript for one TypeScript file: from the cache, or compiled now in memory. It never writes the cache: a
 * plugin process that could write entries could plant code in the files other plugins load.
 * @type {typeof Declared.compileTypeScript}
 */
export async function compileTypeScript(file, source, cacheDir) {
  if (cacheDir !== undefined) {
    const entry = entryPath(cacheDir, file, source);
    try {
      return await readFile(entry, "utf8");
    } catch {
      // not in the cache: the host has not seen this file (created after the start, or outside the plugin folder)
    }
    // The host found that this text does not compile: the same error, where it is, without compiling again.
    const failed = await readFile(errorPath(entry), "utf8").catch(() => undefined);
    if (failed !== undefined) throw compileError(file, failed);
  }
  return compile(file, source);
}

/**
 * Where the host notes that a file's text does not compile (beside the entry it would have had).
 * @param {string} entry
 */
function errorPath(entry) {
  return entry.replace(/\.mjs$/, ".error.json");
}

/**
 * A compile failure as a SyntaxError whose stack points at the place in the source (`file:line:column`), so a load
 * failure names it the way a runtime error would.
 * @param {string} file
 * @param {string} noted what `describeCompileError` wrote
 */
function compileError(file, noted) {
  /** @type {{ text?: unknown; line?: unknown; column?: unknown }} */
  let parsed = {};
  try {
    const value = JSON.parse(noted);
    if (value !== null && typeof value === "object") parsed = value;
  } catch {
    // an unreadable note: the error is still that the file does not compile
  }
  const text = typeof parsed.text === "string" ? parsed.text : "it does not compile";
  const error = new SyntaxError(text);
  const { line, column } = parsed;
  if (typeof line === "number" && typeof column === "number" && Number.isInteger(line) && Number.isInteger(column)) {
    error.stack = `SyntaxError: ${text}\n    at ${file}:${line}:${column + 1}`;
  }
  return error;
}

/**
 * The first error of an esbuild failure, as the cache notes it: its text and where (1-based line, 0-based column).
 * @param {unknown} error
 */
function describeCompileError(error) {
  const first = /** @type {{ errors?: { text?: string; location?: { line?: number; column?: number } | null }[] }} */ (
    error
  ).errors?.[0];
  if (typeof first?.text !== "string") return undefined;
  return { text: first.text, line: first.location?.line, column: first.location?.column };
}

/**
 * Compiles one file (the host's warm-up, or a miss in a plugin process).
 * @param {string} file
 * @param {string} source
 */
async function compile(file, source) {
  const code = await transform(file, source);
  if (process.env.NEKO_TS_COMPILE_LOG) {
    try {
      fs.appendFileSync(process.env.NEKO_TS_COMPILE_LOG, `${process.pid} ${file}\n`);
    } catch {
      // a diagnosis aid only (a plugin process under the permission model may not write there)
    }
  }
  return code;
}

/**
 * Whether a path is TypeScript this loader compiles (`.ts`, `.mts`).
 * @type {typeof Declared.isTypeScript}
 */
export function isTypeScript(file) {
  return TYPESCRIPT.test(file);
}

/**
 * Compiles into the cache every TypeScript file under `dirs` that is not there yet (skipping node_modules, data and
 * dot folders). Returns how many files were compiled. Never throws for a file: a file that does not compile is left
 * for the plugin process, which reports the error when it imports it.
 * @type {typeof Declared.warmTypeScriptCache}
 */
export async function warmTypeScriptCache(dirs, cacheDir = defaultCacheDir()) {
  if (cacheDir === undefined) return 0;
  /** @type {string[]} */
  const files = [];
  // The plugin process sees real paths (symlinks resolved), and the cache key holds the path.
  for (const dir of dirs) await collect(await realpath(dir).catch(() => dir), files);
  let compiled = 0;
  await Promise.all(
    files.map(async (file) => {
      try {
        const source = await readFile(file, "utf8");
        const cached = entryPath(cacheDir, file, source);
        if (fs.existsSync(cached)) {
          // In use: keep it young, so pruning leaves it alone.
          const now = new Date();
          fs.utimesSync(cached, now, now);
          return;
        }
        let code;
        try {
          code = await compile(file, source);
        } catch (error) {
          // An error in the text is reported by the plugin process when it imports the file, with where (a process
          // under the permission model could not compile it to find out). Any other failure (esbuild's service) is
          // left for the process to meet again.
          const noted = describeCompileError(error);
          if (noted !== undefined) writeAtomically(errorPath(cached), JSON.stringify(noted));
          return;
        }
        writeAtomically(cached, code);
        compiled += 1;
      } catch {
        // reported by the plugin process on import
      }
    }),
  );
  return compiled;
}

/**
 * Where the SDK's TypeScript lives: its own sources and the protocol package's, which plugin processes load.
 * @type {typeof Declared.sdkSourceDirs}
 */
export function sdkSourceDirs() {
  return [fileURLToPath(new URL("../src", import.meta.url)), path.dirname(require.resolve("@neko/protocol"))];
}

/**
 * Removes cache entries older than `maxAgeMs` (and temporary files left by a crash mid-write); resolves to how many
 * went. An entry still in use is simply compiled again. The host runs it once at start; asynchronous, so a big cache
 * does not hold up the host's event loop.
 * @type {typeof Declared.pruneTypeScriptCache}
 */
export async function pruneTypeScriptCache(cacheDir = defaultCacheDir(), maxAgeMs = 30 * 24 * 3600 * 1000) {
  if (cacheDir === undefined) return 0;
  const cutoff = Date.now() - maxAgeMs;
  let removed = 0;
  for (const name of await readdir(cacheDir).catch(() => [])) {
    const file = path.join(cacheDir, name);
    try {
      // Only names this cache writes: a key, or a key's temporary file.
      const entry = ENTRY_NAME.test(name);
      const temporary = TEMPORARY_NAME.test(name);
      if (!entry && !temporary) continue;
      const { mtimeMs } = await lstat(file);
      if (temporary ? mtimeMs < Date.now() - 3600 * 1000 : mtimeMs < cutoff) {
        await rm(file, { force: true, recursive: true });
        removed += 1;
      }
    } catch {
      // gone already
    }
  }
  return removed;
}

// Linked sources (plugin-link.mjs) are a `.link` folder and its `.links.json` index.
const ENTRY_NAME = /^[0-9a-f]{40}(\.mjs|\.error\.json|\.link|\.links\.json)$/;
const TEMPORARY_NAME = /^[0-9a-f]{40}(\.mjs|\.error\.json|\.link|\.links\.json)\.\d+\.[0-9a-f]{8}\.tmp$/;

/**
 * Where the compiled form of this file with this text lives: named by a hash of all that decides the output.
 * @param {string} cacheDir
 * @param {string} file
 * @param {string} source
 */
function entryPath(cacheDir, file, source) {
  const key = createHash("sha256")
    .update(`${FORMAT}\0${ESBUILD_VERSION}\0${TARGET}\0${file}\0`)
    .update(source)
    .digest("hex")
    .slice(0, 40);
  return path.join(cacheDir, `${key}.mjs`);
}

/** @type {typeof import("esbuild") | undefined} */
let esbuild;
/** @type {NodeJS.Timeout | undefined} */
let idleTimer;
/** Compiles in progress: the service is stopped only once none is left and none started for a while. */
let compiling = 0;

/**
 * @param {string} file
 * @param {string} source
 */
async function transform(file, source) {
  // esbuild compiles in a child process of its own, which the permission model refuses without child_process.
  if (process.permission !== undefined && !process.permission.has("child_process")) {
    throw new Error(
      `${file} is not in the TypeScript compile cache, and this plugin process may not start esbuild's compiler ` +
        "(it has no child_process permission). The host compiles a plugin's TypeScript before each start (files in " +
        "its folder, outside node_modules/, data/ and dot folders, at most 2000): restart the plugin to take in a " +
        "new file, or grant child_process in [plugin.permissions] of plugin.toml.",
    );
  }
  return withEsbuild(async (service) => {
    const result = await service.transform(source, {
      loader: "ts",
      format: "esm",
      target: TARGET,
      sourcefile: file,
      sourcemap: "inline",
      sourcesContent: false,
      // Class and function names survive the decorator lowering, as they do under tsx.
      keepNames: true,
      tsconfigRaw: { compilerOptions: { useDefineForClassFields: true } },
    });
    return result.code;
  });
}

/**
 * Runs `work` with esbuild's service held: the idle stop waits until no work holds it. Whatever else in this process
 * uses esbuild (plugin-link.mjs) must hold it so too, since a service stopped under a build never settles the build's
 * promise (its channel is closed without a word to the requests in flight).
 * @template T
 * @param {(service: typeof import("esbuild")) => Promise<T>} work
 * @returns {Promise<T>}
 */
export async function withEsbuild(work) {
  compiling += 1;
  clearTimeout(idleTimer);
  try {
    esbuild ??= await import("esbuild");
    return await work(esbuild);
  } finally {
    compiling -= 1;
    if (compiling === 0) {
      clearTimeout(idleTimer);
      idleTimer = setTimeout(() => {
        if (compiling === 0) esbuild?.stop();
      }, esbuildIdleMs());
      idleTimer.unref();
    }
  }
}

/**
 * @param {string} target
 * @param {string} text
 */
function writeAtomically(target, text) {
  const temporary = `${target}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
  try {
    fs.writeFileSync(temporary, text, { mode: 0o600 });
    fs.renameSync(temporary, target);
  } catch {
    // A cache that cannot be written only costs a compile next time.
    fs.rmSync(temporary, { force: true });
  }
}

/**
 * @param {string} dir
 * @param {string[]} files
 */
async function collect(dir, files) {
  /** @type {fs.Dirent[]} */
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const entry of entries) {
    if (files.length >= MAX_WARM_FILES) return;
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      if (!SKIPPED.has(entry.name) && !entry.name.startsWith(".")) await collect(full, files);
    } else if (entry.isFile() && isTypeScript(entry.name) && !entry.name.endsWith(".d.ts")) {
      files.push(full);
    }
  }
}
