// Loads the plugin runtime into this process or worker thread (plugin-runner.mjs, plugin-thread.mjs): the link's
// compiled runtime when the host linked the plugin (`NEKO_PLUGIN_LINKED`), else the TypeScript sources through the
// module hooks (plugin-loader-hooks.mjs). A link whose modules went missing before any of it ran falls back to the hooks.
import { existsSync, readFileSync } from "node:fs";
import { register } from "node:module";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { restoreHeapLimitFlag } from "./heap-limit-flag.mjs";

/**
 * The runtime module of the link, or undefined: no link, or one this process cannot read (gone from the cache), or
 * whose SDK modules went (the plugin's modules import them: an SDK link for snapshots pruned, say).
 */
function linkedMain() {
  const manifest = process.env.NEKO_PLUGIN_LINKED;
  if (!manifest) return undefined;
  try {
    const { main, modules } = JSON.parse(readFileSync(manifest, "utf8"));
    if (typeof main !== "string" || !existsSync(fileURLToPath(main))) return undefined;
    const own = `${pathToFileURL(path.dirname(manifest)).href}/`;
    for (const url of Object.values(modules ?? {})) {
      if (typeof url !== "string" || (!url.startsWith(own) && !existsSync(fileURLToPath(url)))) return undefined;
    }
    return main;
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

export async function loadPluginRuntime() {
  // msgpackr without its native string extractor (msgpackr-extract): loading the addon costs 5–7 ms of a start
  // (detect-libc takes a process report to tell glibc from musl), and on the messages a plugin exchanges its JavaScript
  // decoder is as fast (docs/benchmarks.md). Set it to "false" in the host's environment to keep the addon (plugins then
  // start without the startup snapshot, whose msgpackr never has it: plugin-links.ts).
  process.env.MSGPACKR_NATIVE_ACCELERATION_DISABLED ??= "true";
  const main = linkedMain();
  // Started from the SDK's startup snapshot (src/runtime/snapshot-main.ts): the runtime is loaded already, and its
  // linked SDK modules hand the plugin the snapshot's. Without its link (gone from the cache), the hooks' path below.
  const snapshot =
    /** @type {{ start(importer: (specifier: string) => Promise<unknown>): Promise<void> } | undefined} */ (
      /** @type {Record<symbol, unknown>} */ (globalThis)[Symbol.for("neko-plugin.snapshot")]
    );
  if (snapshot !== undefined && main !== undefined) return snapshot.start((specifier) => import(specifier));
  if (main !== undefined && (await importLinked(main))) return;
  delete process.env.NEKO_PLUGIN_LINKED;
  // The plugin's folder, and its extensions' folders (they load into this process): their sources are ES modules.
  const sourceDirs = [
    process.env.NEKO_PLUGIN_DIR ?? "",
    ...(process.env.NEKO_PLUGIN_SOURCE_DIRS ?? "").split(path.delimiter),
  ];
  const sourceDirUrls = sourceDirs.filter((dir) => dir !== "").map((dir) => `${pathToFileURL(dir).href}/`);
  // The hooks run on a thread of their own for as long as the process: it takes its heap limit from the flag when it
  // starts, so the flag set aside by heap-limit-flag.mjs is put back first.
  restoreHeapLimitFlag();
  register("./plugin-loader-hooks.mjs", import.meta.url, { data: { sourceDirUrls } });
  await import("../src/runtime/plugin-main.ts");
}
