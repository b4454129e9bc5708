// Starts a plugin process. TypeScript is compiled through a shared disk cache (no tsx and no esbuild in a warm
// process), `@neko/plugin-sdk/*` resolves to this SDK from any folder; see plugin-loader-hooks.mjs.
import { register } from "node:module";
import path from "node:path";
import { pathToFileURL } from "node:url";

// `ps` shows which plugin a process runs ("neko-plugin: counter") rather than a node command line.
if (process.env.NEKO_PLUGIN_ID) process.title = `neko-plugin: ${process.env.NEKO_PLUGIN_ID}`;

// Stack traces point into the TypeScript sources (the compiled code carries inline source maps).
process.setSourceMapsEnabled(true);
// The plugin's folder, and its extensions' folders (they load into this process): their sources are ES modules.
const sourceDirs = [
  process.env.NEKO_PLUGIN_DIR ?? "",
  ...(process.env.NEKO_PLUGIN_SOURCE_DIRS ?? "").split(path.delimiter),
];
const sourceDirUrls = sourceDirs.filter((dir) => dir !== "").map((dir) => `${pathToFileURL(dir).href}/`);
register("./plugin-loader-hooks.mjs", import.meta.url, { data: { sourceDirUrls } });
await import("../src/runtime/plugin-main.ts");
