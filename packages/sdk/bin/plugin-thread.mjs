// A thread plugin's worker ([plugin_runtime] isolation = "thread"; started by plugin-thread-runner.mjs): the plugin
// runtime of a plugin process, in a worker thread of its own V8 isolate. Its bootstrap comes as the first message on
// its port (with the port its frames go on: the runner holds its ZeroMQ connection), before any module of the
// runtime or of the plugin loads; then it runs as plugin-runner.mjs runs a process:
// the linked runtime when the host linked it, else through the module hooks.
import { existsSync, readFileSync } from "node:fs";
import { register } from "node:module";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parentPort } from "node:worker_threads";

const THREAD_BOOTSTRAP = Symbol.for("neko-plugin.thread-bootstrap");

if (!parentPort) throw new Error("plugin-thread.mjs runs only in a worker thread of the neko-plugin thread runner");
const port = parentPort;
const first = await new Promise((resolve) => port.once("message", resolve));
// Nothing else comes on the port, and the plugin gets nothing from it: what it posts there, the runner ignores.
port.unref();
/** @type {Record<PropertyKey, unknown>} */ (globalThis)[THREAD_BOOTSTRAP] =
  first && typeof first === "object" ? { bootstrap: first.bootstrap, port: first.port } : undefined;

process.setSourceMapsEnabled(true);

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

/** @param {string} main */
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
  const sourceDirs = [
    process.env.NEKO_PLUGIN_DIR ?? "",
    ...(process.env.NEKO_PLUGIN_SOURCE_DIRS ?? "").split(path.delimiter),
  ];
  const sourceDirUrls = sourceDirs.filter((dir) => dir !== "").map((dir) => `${pathToFileURL(dir).href}/`);
  register("./plugin-loader-hooks.mjs", import.meta.url, { data: { sourceDirUrls } });
  await import("../src/runtime/plugin-main.ts");
}
