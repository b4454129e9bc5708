// Starts a plugin process. TypeScript is compiled through a shared disk cache (no tsx and no esbuild in a warm
// process), `@neko/plugin-sdk/*` resolves to this SDK from any folder; see plugin-loader-hooks.mjs.
import { register } from "node:module";
import { pathToFileURL } from "node:url";

// Stack traces point into the TypeScript sources (the compiled code carries inline source maps).
process.setSourceMapsEnabled(true);
const pluginDir = process.env.NEKO_PLUGIN_DIR;
const pluginDirUrl = pluginDir ? `${pathToFileURL(pluginDir).href}/` : "";
register("./plugin-loader-hooks.mjs", import.meta.url, { data: { pluginDirUrl } });
await import("../src/runtime/plugin-main.ts");
