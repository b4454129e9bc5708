// Module hooks of a plugin process (they run on Node's loader thread):
// - `@neko/plugin-sdk/*` resolves to this SDK from any folder, so a plugin needs no install of its own;
// - a plugin folder's sources are ES modules, whatever package.json is (or is not) around them;
// - TypeScript (`.ts`, `.mts`) is compiled by esbuild through a disk cache (ts-compile-cache.mjs);
// - TypeScript-style relative specifiers resolve: `./util.js` finds `util.ts`, `./util` finds `util.ts`,
//   `./lib` finds `lib/index.ts`, as tsc's NodeNext and tsx allow.
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { compileTypeScript, defaultCacheDir, isTypeScript } from "./ts-compile-cache.mjs";

const SDK = "@neko/plugin-sdk";
const selfUrl = import.meta.url;
const PLUGIN_SOURCE = /\.(ts|mts|js|mjs)$/;
let pluginDirUrl = "";
let cacheDir;

export function initialize(data) {
  pluginDirUrl = data?.pluginDirUrl ?? "";
  cacheDir = data?.cacheDir ?? defaultCacheDir();
}

export async function resolve(specifier, context, nextResolve) {
  if (specifier === SDK || specifier.startsWith(`${SDK}/`)) {
    return nextResolve(specifier, { ...context, parentURL: selfUrl });
  }
  let resolved;
  try {
    resolved = await nextResolve(specifier, context);
  } catch (error) {
    resolved = await resolveTypeScriptStyle(specifier, context, nextResolve, error);
  }
  const { pathname } = new URL(resolved.url);
  if (resolved.url.startsWith("file:") && isTypeScript(pathname)) return { ...resolved, format: "module" };
  if (
    pluginDirUrl &&
    resolved.url.startsWith(pluginDirUrl) &&
    !resolved.url.includes("/node_modules/") &&
    PLUGIN_SOURCE.test(pathname)
  ) {
    return { ...resolved, format: "module" };
  }
  return resolved;
}

export async function load(url, context, nextLoad) {
  if (url.startsWith("file:") && isTypeScript(new URL(url).pathname)) {
    const file = fileURLToPath(url);
    const source = await readFile(file, "utf8");
    return { format: "module", source: await compileTypeScript(file, source, cacheDir), shortCircuit: true };
  }
  return nextLoad(url, context);
}

/** The other spellings a relative TypeScript import may mean; the first that exists wins. */
async function resolveTypeScriptStyle(specifier, context, nextResolve, error) {
  const relative = /^(\.{1,2}\/|\/|file:)/.test(specifier);
  if (!relative || (error?.code !== "ERR_MODULE_NOT_FOUND" && error?.code !== "ERR_UNSUPPORTED_DIR_IMPORT")) {
    throw error;
  }
  const [bare, query = ""] = splitQuery(specifier);
  const candidates = /\.js$/.test(bare)
    ? [`${bare.slice(0, -3)}.ts`]
    : /\.mjs$/.test(bare)
      ? [`${bare.slice(0, -4)}.mts`]
      : /\.[a-z]+$/i.test(bare.split("/").pop() ?? "")
        ? []
        : [`${bare}.ts`, `${bare}.mts`, `${bare}.js`, `${bare}/index.ts`, `${bare}/index.js`];
  for (const candidate of candidates) {
    try {
      return await nextResolve(candidate + query, context);
    } catch {
      // try the next spelling
    }
  }
  throw error;
}

function splitQuery(specifier) {
  const at = specifier.search(/[?#]/);
  return at < 0 ? [specifier, ""] : [specifier.slice(0, at), specifier.slice(at)];
}
