// Module hooks of a plugin process (they run on Node's loader thread):
// - `@neko/plugin-sdk/*` resolves to this SDK from any folder, so a plugin needs no install of its own;
// - a bare specifier the plugin's folder cannot resolve, naming a package the SDK itself depends on (`ws`, `zod`,
//   the MCP SDK), resolves from the SDK: a plugin folder anywhere on disk can use them, as it may already read them;
// - a plugin folder's sources (and its extensions') are ES modules, whatever package.json is (or is not) around them;
// - TypeScript (`.ts`, `.mts`) comes compiled from the host's disk cache (ts-compile-cache.mjs), or esbuild on a miss;
// - TypeScript-style relative specifiers resolve: `./util.js` finds `util.ts`, `./util` finds `util.ts`,
//   `./lib` finds `lib/index.ts`, as tsc's NodeNext and tsx allow.
import { readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { compileTypeScript, isTypeScript, readableCacheDir } from "./ts-compile-cache.mjs";

// Node's hook types allow a plain return value; these hooks are async, so they are typed as returning a promise.
/**
 * @import { InitializeHook, LoadFnOutput, LoadHook, ResolveFnOutput, ResolveHook } from "node:module"
 * @typedef {(...args: Parameters<ResolveHook>) => Promise<ResolveFnOutput>} AsyncResolveHook
 */

const SDK = "@neko/plugin-sdk";
const selfUrl = import.meta.url;
const PLUGIN_SOURCE = /\.(ts|mts|js|mjs)$/;
/** @type {string[]} */
let sourceDirUrls = [];
/** @type {string | undefined} */
let cacheDir;
/**
 * In a linked process that registered the hooks late (src/runtime/linked-modules.ts): source URL → the link's compiled
 * module, so what the link holds (the SDK above all) is the one module of its kind in the process.
 * @type {Record<string, string>}
 */
let linked = {};

/** The packages the SDK depends on, by name: the ones a plugin may import without an install of its own. */
const sdkDependencies = new Set(
  Object.keys(JSON.parse(readFileSync(new URL("../package.json", selfUrl), "utf8")).dependencies ?? {}),
);

/** @type {InitializeHook<{ sourceDirUrls?: string[]; linked?: Record<string, string> } | undefined>} */
export function initialize(data) {
  sourceDirUrls = data?.sourceDirUrls ?? [];
  linked = data?.linked ?? {};
  // The same folder the host warmed (the environment the process inherited names it); read, never written.
  cacheDir = readableCacheDir();
}

/** @type {AsyncResolveHook} */
export async function resolve(specifier, context, nextResolve) {
  const resolved = await resolveSource(specifier, context, nextResolve);
  const compiled = Object.hasOwn(linked, resolved.url) ? linked[resolved.url] : undefined;
  return compiled === undefined ? resolved : { url: compiled, format: "module", shortCircuit: true };
}

/** @type {AsyncResolveHook} */
async function resolveSource(specifier, context, nextResolve) {
  if (specifier === SDK || specifier.startsWith(`${SDK}/`)) {
    return nextResolve(specifier, { ...context, parentURL: selfUrl });
  }
  const resolved = await resolveTypeScriptStyle(specifier, context, nextResolve).catch((error) => {
    if (error?.code !== "ERR_MODULE_NOT_FOUND" || !sdkDependencies.has(packageNameOf(specifier))) throw error;
    return nextResolve(specifier, { ...context, parentURL: selfUrl });
  });
  const { pathname } = new URL(resolved.url);
  if (resolved.url.startsWith("file:") && isTypeScript(pathname)) return { ...resolved, format: "module" };
  if (
    sourceDirUrls.some((dirUrl) => resolved.url.startsWith(dirUrl)) &&
    !resolved.url.includes("/node_modules/") &&
    PLUGIN_SOURCE.test(pathname)
  ) {
    return { ...resolved, format: "module" };
  }
  return resolved;
}

/** @type {(...args: Parameters<LoadHook>) => Promise<LoadFnOutput>} */
export async function load(url, context, nextLoad) {
  if (url.startsWith("file:") && isTypeScript(new URL(url).pathname)) {
    const file = fileURLToPath(url);
    const source = await readFile(file, "utf8");
    return { format: "module", source: await compileTypeScript(file, source, cacheDir), shortCircuit: true };
  }
  return nextLoad(url, context);
}

/**
 * Resolves as Node does, plus the spellings a relative import from TypeScript may use, as tsc and tsx read them:
 * from a `.ts`/`.mts` file, `./util.js` means `util.ts` when there is one (even beside a compiled `util.js`); and a
 * path without a known extension (`./util`, `./user.service`) may mean `.ts`, `.mts`, `.js`, `/index.ts`, `/index.js`.
 * @type {AsyncResolveHook}
 */
async function resolveTypeScriptStyle(specifier, context, nextResolve) {
  if (!/^(\.{1,2}\/|\/|file:)/.test(specifier)) return nextResolve(specifier, context);
  const [bare, query = ""] = splitQuery(specifier);
  const fromTypeScript = isTypeScript(new URL(context.parentURL ?? "file:///").pathname);
  const swapped = /\.js$/.test(bare)
    ? `${bare.slice(0, -3)}.ts`
    : /\.mjs$/.test(bare)
      ? `${bare.slice(0, -4)}.mts`
      : undefined;
  if (swapped && fromTypeScript) {
    const typescript = await attempt(swapped + query, context, nextResolve);
    if (typescript) return typescript;
  }
  try {
    return await nextResolve(specifier, context);
  } catch (error) {
    const code = /** @type {NodeJS.ErrnoException | undefined} */ (error)?.code;
    if (code !== "ERR_MODULE_NOT_FOUND" && code !== "ERR_UNSUPPORTED_DIR_IMPORT") throw error;
    const extension = (bare.split("/").pop() ?? "").match(/\.[^.]+$/)?.[0]?.toLowerCase();
    const candidates = swapped
      ? [swapped]
      : extension !== undefined && KNOWN_EXTENSIONS.has(extension)
        ? []
        : [`${bare}.ts`, `${bare}.mts`, `${bare}.js`, `${bare}/index.ts`, `${bare}/index.js`];
    for (const candidate of candidates) {
      const found = await attempt(candidate + query, context, nextResolve);
      if (found) return found;
    }
    throw error;
  }
}

const KNOWN_EXTENSIONS = new Set([".js", ".mjs", ".cjs", ".ts", ".mts", ".cts", ".json", ".node", ".wasm"]);

/** @type {(...args: Parameters<ResolveHook>) => Promise<ResolveFnOutput | undefined>} */
async function attempt(specifier, context, nextResolve) {
  try {
    return await nextResolve(specifier, context);
  } catch {
    return undefined;
  }
}

/**
 * `ws` of `ws`, `@scope/name` of `@scope/name/sub`; "" for a relative, absolute or URL specifier.
 * @param {string} specifier
 */
function packageNameOf(specifier) {
  if (/^(\.{1,2}\/|\/|[a-z][a-z0-9+.-]*:)/i.test(specifier)) return "";
  const parts = specifier.split("/");
  return specifier.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0];
}

/** @param {string} specifier */
function splitQuery(specifier) {
  const at = specifier.search(/[?#]/);
  return at < 0 ? [specifier, ""] : [specifier.slice(0, at), specifier.slice(at)];
}
