/**
 * In a linked plugin process (the host compiled and linked the SDK's runtime and the plugin ahead of time, see
 * bin/plugin-link.mjs), which compiled module stands for which source file, by the file's real path. A source the
 * manifest does not list (an extension's, a file created after the link was made) is loaded as in an unlinked
 * process: the module hooks are registered then, the first time one is needed, and they hand out the link's modules
 * for whatever the link holds (the SDK above all), so the plugin, its extensions and the runtime share one SDK. A
 * listed source edited after the link was made still runs as it was linked, until the plugin's next start links it again.
 */
import fs from "node:fs";
import { register } from "node:module";
import path from "node:path";
import { pathToFileURL } from "node:url";

interface LinkManifest {
  main: string;
  /** Source file URL (symlinks resolved) → compiled module URL. */
  modules: Record<string, string>;
}

let manifest: LinkManifest | null | undefined;
let hooked = false;
/**
 * Node's own `register`, kept before the worker-threads guard replaces it for plugin code (worker-threads-guard.ts):
 * the SDK's hooks are the runtime's, which an unlinked process registers at its start all the same.
 */
const registerModuleHooks = register;

function linkManifest(): LinkManifest | null {
  if (manifest !== undefined) return manifest;
  manifest = null;
  const file = process.env.NEKO_PLUGIN_LINKED;
  if (!file) return manifest;
  try {
    const parsed = JSON.parse(fs.readFileSync(file, "utf8")) as Partial<LinkManifest>;
    if (typeof parsed.main === "string" && parsed.modules !== null && typeof parsed.modules === "object") {
      manifest = { main: parsed.main, modules: withoutPartialLink(file, parsed.modules) };
    }
  } catch {
    // not linked after all: the runner saw the same and registered the hooks
  }
  return manifest;
}

/**
 * `modules` without the plugin's own compiled modules when its link folder (the manifest's) is no longer whole (pruned
 * or deleted in part since the host linked it): the plugin then loads through the hooks, as an unlinked plugin does,
 * rather than fail on a compiled module importing one that is gone. The SDK's modules, running already, stay.
 */
function withoutPartialLink(file: string, modules: Record<string, string>): Record<string, string> {
  const own = `${pathToFileURL(path.dirname(file)).href}/`;
  const entries = Object.entries(modules);
  const whole =
    fs.existsSync(path.join(path.dirname(file), "complete")) &&
    entries.every(([, compiled]) => !compiled.startsWith(own) || fs.existsSync(new URL(compiled)));
  return whole ? modules : Object.fromEntries(entries.filter(([, compiled]) => !compiled.startsWith(own)));
}

/** Whether this process runs the linked runtime (no module hooks until a source outside the link is imported). */
export function isLinkedProcess(): boolean {
  return linkManifest() !== null && !hooked;
}

/**
 * The URL to import for the module at `file`: its compiled module when the link holds it, else the file's own URL
 * (after registering the module hooks in a linked process, which the file's TypeScript or imports may need).
 */
export function sourceModuleUrl(file: string): string {
  const url = pathToFileURL(file).href;
  const linked = linkManifest();
  if (linked === null) return url;
  let real = url;
  try {
    real = pathToFileURL(fs.realpathSync(file)).href;
  } catch {
    // a missing file: the import says so
  }
  const compiled = linked.modules[real];
  if (compiled !== undefined) return compiled;
  registerHooks(linked);
  return url;
}

function registerHooks(linked: LinkManifest): void {
  if (hooked) return;
  const sourceDirs = [
    process.env.NEKO_PLUGIN_DIR ?? "",
    ...(process.env.NEKO_PLUGIN_SOURCE_DIRS ?? "").split(path.delimiter),
  ];
  const sourceDirUrls = sourceDirs.filter((dir) => dir !== "").map((dir) => `${pathToFileURL(dir).href}/`);
  // This module's own file (its compiled copy has the source's URL): the hooks live beside the SDK's sources.
  const hooks = new URL("../../bin/plugin-loader-hooks.mjs", import.meta.url);
  registerModuleHooks(hooks, { data: { sourceDirUrls, linked: linked.modules } });
  hooked = true;
}
