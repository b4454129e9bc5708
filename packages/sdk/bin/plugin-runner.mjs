// Starts a plugin process. When the host linked the SDK's runtime and the plugin ahead of time (plugin-link.mjs;
// `NEKO_PLUGIN_LINKED` names the link), their compiled modules are imported as they are: no module hooks, no loader
// thread. Otherwise TypeScript is compiled through a shared disk cache (no tsx and no esbuild in a warm process), and
// `@neko/plugin-sdk/*` resolves to this SDK from any folder; see plugin-loader-hooks.mjs.
import { existsSync, readFileSync } from "node:fs";
import { register } from "node:module";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

// `ps` shows which plugin a process runs ("neko-plugin: counter") rather than a node command line.
if (process.env.NEKO_PLUGIN_ID) process.title = `neko-plugin: ${process.env.NEKO_PLUGIN_ID}`;

// Stack traces point into the TypeScript sources (the compiled code carries inline source maps).
process.setSourceMapsEnabled(true);

/** The runtime module of the link, or undefined: no link, or one this process cannot read (gone from the cache). */
function linkedMain() {
  const manifest = process.env.NEKO_PLUGIN_LINKED;
  if (!manifest) return undefined;
  try {
    const main = JSON.parse(readFileSync(manifest, "utf8")).main;
    return typeof main === "string" && existsSync(fileURLToPath(main)) ? main : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Imports the linked runtime; false when a module of the link went missing before any of it ran (the cache deleted
 * or pruned while the process started): Node resolves a module's static imports before it evaluates any of them.
 * @param {string} main
 */
async function importLinked(main) {
  try {
    await import(main);
    return true;
  } catch (error) {
    const missing = /** @type {NodeJS.ErrnoException} */ (error)?.code === "ERR_MODULE_NOT_FOUND";
    if (missing && /\.link\//.test(String(/** @type {Error} */ (error).message))) return false;
    throw error;
  }
}

const main = linkedMain();
if (main === undefined || !(await importLinked(main))) {
  delete process.env.NEKO_PLUGIN_LINKED;
  // The plugin's folder, and its extensions' folders (they load into this process): their sources are ES modules.
  const sourceDirs = [
    process.env.NEKO_PLUGIN_DIR ?? "",
    ...(process.env.NEKO_PLUGIN_SOURCE_DIRS ?? "").split(path.delimiter),
  ];
  const sourceDirUrls = sourceDirs.filter((dir) => dir !== "").map((dir) => `${pathToFileURL(dir).href}/`);
  register("./plugin-loader-hooks.mjs", import.meta.url, { data: { sourceDirUrls } });
  await import("../src/runtime/plugin-main.ts");
}
