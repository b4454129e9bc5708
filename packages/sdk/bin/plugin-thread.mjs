// A thread plugin's worker ([plugin_runtime] isolation = "thread"; started by plugin-thread-runner.mjs): the plugin
// runtime of a plugin process, in a worker thread of its own V8 isolate. Its bootstrap comes as the first message on
// its port (with the port its frames go on: the runner holds its ZeroMQ connection), before any module of the
// runtime or of the plugin loads; then it runs as plugin-runner.mjs runs a process:
// the linked runtime when the host linked it, else through the module hooks.
import { realpathSync } from "node:fs";
import { createRequire, syncBuiltinESMExports } from "node:module";
import path from "node:path";
import { parentPort } from "node:worker_threads";
import { loadPluginRuntime } from "./load-plugin-runtime.mjs";

// Before any plugin code loads: a thread may load no native code but the SDK's own addons. Native code reads the
// whole process's memory — every neighbour thread's bootstrap secret and keys (docs/permissions.md#thread-plugins) —
// and the runner must keep --allow-addons for its own. `require` of a .node file goes through process.dlopen too.
// A thread may start no worker of its own either: a nested worker would get a fresh, unguarded process.
const sdkRequire = createRequire(import.meta.url);
/** @param {() => string} locate */
function addonDir(locate) {
  try {
    return realpathSync(locate());
  } catch {
    return undefined;
  }
}
const allowedAddonDirs = [
  addonDir(() => path.dirname(sdkRequire.resolve("better-sqlite3/package.json"))),
  // msgpack's fast path, a dependency of @neko/protocol's codec (located from there: it is not the SDK's own).
  addonDir(() => {
    const codecPackage = "msgpackr";
    const codec = createRequire(sdkRequire.resolve("@neko/protocol")).resolve(codecPackage);
    const platform = `@msgpackr-extract/msgpackr-extract-${process.platform}-${process.arch}/package.json`;
    return path.dirname(createRequire(codec).resolve(platform));
  }),
].filter((dir) => dir !== undefined);
const dlopen = process.dlopen.bind(process);
/** @param {string} file */
function allowedAddon(file) {
  let real;
  try {
    real = realpathSync(path.toNamespacedPath(file));
  } catch {
    return false;
  }
  return allowedAddonDirs.some((dir) => real.startsWith(dir + path.sep));
}
Object.defineProperty(process, "dlopen", {
  value: function dlopenGuarded(
    /** @type {{ exports: unknown }} */ module,
    /** @type {string} */ file,
    /** @type {number[]} */ ...rest
  ) {
    if (!allowedAddon(String(file))) {
      const error = new Error(
        `a thread plugin may not load native code (${String(file)}): native code reads every thread's memory in the ` +
          'runner; set [plugin_runtime] isolation = "process" (docs/permissions.md#thread-plugins)',
      );
      Object.assign(error, { code: "ERR_ACCESS_DENIED" });
      throw error;
    }
    return dlopen(module, file, ...rest);
  },
  writable: false,
  configurable: false,
  enumerable: true,
});
// A thread shares its runner's process: a signal to the runner (or its host, or the whole group) would end every
// thread in it. Other processes are as for a process plugin (docs/permissions.md#thread-plugins).
const kill = process.kill.bind(process);
Object.defineProperty(process, "kill", {
  value: function killGuarded(/** @type {number} */ pid, /** @type {string | number | undefined} */ signal) {
    const target = Number(pid);
    if (target === process.pid || target === process.ppid || target <= 0) {
      const error = new Error(
        `a thread plugin may not signal pid ${String(pid)}: its runner (pid ${process.pid}), the host, or a process group ` +
          "holds every thread plugin (docs/permissions.md#thread-plugins)",
      );
      Object.assign(error, { code: "ERR_ACCESS_DENIED" });
      throw error;
    }
    return kill(pid, signal);
  },
  writable: false,
  configurable: false,
  enumerable: true,
});
const workerThreads = sdkRequire("node:worker_threads");
workerThreads.Worker = class RefusedWorker {
  constructor() {
    const error = new Error(
      'a thread plugin may not start worker threads (its runner is shared): set [plugin_runtime] isolation = "process"',
    );
    Object.assign(error, { code: "ERR_ACCESS_DENIED" });
    throw error;
  }
};
syncBuiltinESMExports();

// A thread's stdout and stderr reach the runner as it reads them; what waits is held here, in Buffers outside the
// heap limit. Above OUTPUT_BUFFER_BYTES a write is dropped and counted, and the count is told once the stream drains.
const OUTPUT_BUFFER_BYTES = 4 * 1024 * 1024;
for (const stream of [process.stdout, process.stderr]) {
  const write = stream.write.bind(stream);
  let dropped = 0;
  stream.write = /** @type {typeof stream.write} */ (
    (/** @type {any} */ chunk, /** @type {any[]} */ ...rest) => {
      if (stream.writableLength > OUTPUT_BUFFER_BYTES) {
        dropped += typeof chunk === "string" ? chunk.length : (chunk?.length ?? 0);
        const callback = rest.find((arg) => typeof arg === "function");
        if (callback) queueMicrotask(() => callback());
        return false;
      }
      if (dropped > 0) {
        write(
          `[neko-plugin: ${dropped} bytes of this thread's output were dropped: it wrote faster than the host reads]\n`,
        );
        dropped = 0;
      }
      return write(chunk, ...rest);
    }
  );
}

const THREAD_BOOTSTRAP = Symbol.for("neko-plugin.thread-bootstrap");

if (!parentPort) throw new Error("plugin-thread.mjs runs only in a worker thread of the neko-plugin thread runner");
const port = parentPort;
const first = await new Promise((resolve) => port.once("message", resolve));
// Nothing else comes on the port, and the plugin gets nothing from it: what it posts there, the runner ignores.
port.unref();
/** @type {Record<PropertyKey, unknown>} */ (globalThis)[THREAD_BOOTSTRAP] =
  first && typeof first === "object" ? { bootstrap: first.bootstrap, port: first.port } : undefined;

process.setSourceMapsEnabled(true);

await loadPluginRuntime();
