/**
 * Entry point of a plugin process or thread started without a startup snapshot (bin/plugin-runner.mjs,
 * bin/plugin-thread.mjs): runs the plugin (plugin-process.ts).
 */
import { runPluginProcess } from "./plugin-process.ts";

await runPluginProcess();
