// Node's built-in modules come with V8 code caches, made under V8's default flags, and V8 takes a cache only when the
// flags it runs with hash as they did then. `--max-old-space-size` (the plugin's heap limit, `max_heap_mb`) changes that
// hash, so each built-in module the runtime loads after the process's start (worker_threads, perf_hooks, the ES module
// loader's parts, …; those of the IPC channel are loaded before this runs) would be compiled from its source: loading
// a set of them took 7 ms instead of 2 ms (docs/benchmarks.md). The limit is fixed when the heap is made, at the
// start: setting the flag back to its default here leaves it as it is (a plugin over it still dies out of memory) and
// lets the SDK's runtime load with the caches. The flag is put back (`RESTORE`) before anything starts a thread of its
// own, which takes its limit from the flag: by plugin-main.ts before the plugin's code runs (a worker the plugin
// starts), by load-plugin-runtime.mjs before it registers the module hooks (their loader thread). In a thread plugin
// (its runner has no such flag; its threads have resourceLimits) this does nothing.
import { setFlagsFromString } from "node:v8";

const RESTORE = Symbol.for("neko-plugin.restore-heap-limit-flag");
const limit = process.execArgv.find((arg) => /^--max-old-space-size=\d+$/.test(arg));
if (limit !== undefined) {
  setFlagsFromString("--max-old-space-size=0");
  /** @type {Record<symbol, unknown>} */ (globalThis)[RESTORE] = () => {
    delete (/** @type {Record<symbol, unknown>} */ (globalThis)[RESTORE]);
    setFlagsFromString(limit);
  };
}

/** Puts the flag back if it is still set aside (the SDK's sources call it through `RESTORE`, having no path to bin/). */
export function restoreHeapLimitFlag() {
  const restore = /** @type {Record<symbol, unknown>} */ (globalThis)[RESTORE];
  if (typeof restore === "function") restore();
}
