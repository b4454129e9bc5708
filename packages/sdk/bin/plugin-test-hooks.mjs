// Registers the plugin processes' module hooks (plugin-loader-hooks.mjs) in a process that runs a plugin's own tests
// (`neko-plugin test`, with the plugin's folder as the current folder): `@neko/plugin-sdk/*`, `@neko/plugin-sdk/testing`
// included, resolves to this SDK and TypeScript runs as it does in the plugin's process, with no install in the folder.
import { register } from "node:module";
import { pathToFileURL } from "node:url";

process.setSourceMapsEnabled(true);
register("./plugin-loader-hooks.mjs", import.meta.url, {
  data: { sourceDirUrls: [`${pathToFileURL(process.cwd()).href}/`] },
});
