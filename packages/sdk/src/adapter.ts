/** `@neko/plugin-sdk/adapter`: what an adapter author imports (SPEC §3.7, docs/adapters.md), besides the plugin SDK. */
import "./symbol-metadata.ts";

export { AdapterChannel, AdapterChannels } from "./adapter/adapter-channels.ts";
export { type AdapterMode, type AdapterSettings, NekoAdapterPlugin } from "./adapter/neko-adapter-plugin.ts";
