// Starts a plugin process: TypeScript through tsx, `@neko/plugin-sdk/*` resolved to this SDK from any folder.
import { register } from "node:module";
import { pathToFileURL } from "node:url";
import { register as registerTsx } from "tsx/esm/api";

registerTsx();
const pluginDir = process.env.NEKO_PLUGIN_DIR;
const pluginDirUrl = pluginDir ? `${pathToFileURL(pluginDir).href}/` : "";
register("./sdk-resolve-hook.mjs", import.meta.url, { data: { pluginDirUrl } });
await import("../src/runtime/plugin-main.ts");
