// Starts a plugin process. When the host linked the SDK's runtime and the plugin ahead of time (plugin-link.mjs;
// `NEKO_PLUGIN_LINKED` names the link), their compiled modules are imported as they are: no module hooks, no loader
// thread. Otherwise TypeScript is compiled through a shared disk cache (no tsx and no esbuild in a warm process), and
// `@neko/plugin-sdk/*` resolves to this SDK from any folder; see plugin-loader-hooks.mjs.
// First: the runtime's modules load with V8's code caches (heap-limit-flag.mjs).
import "./heap-limit-flag.mjs";
import { loadPluginRuntime } from "./load-plugin-runtime.mjs";

// `ps` shows which plugin a process runs ("neko-plugin: counter") rather than a node command line.
if (process.env.NEKO_PLUGIN_ID) process.title = `neko-plugin: ${process.env.NEKO_PLUGIN_ID}`;

// Stack traces point into the TypeScript sources (the compiled code carries source maps: inline in a module of its
// own, in a file beside each module of the SDK's linked bundle); the SDK's frames in a process started from a startup
// snapshot name its script (snapshot.cjs), which has none.
process.setSourceMapsEnabled(true);

await loadPluginRuntime();
