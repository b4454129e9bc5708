/**
 * `worker_threads` under the permission model (SPEC §10, docs/permissions.md). Node 20 runs the SDK's module hooks on
 * a worker thread, so every plugin process gets Node's `--allow-worker`; the runtime therefore refuses new threads
 * itself, before any plugin code runs, unless the manifest grants `worker_threads`: `new Worker` and `module.register`
 * (whose hooks run on a thread of their own) throw the error Node's model throws. A thread, when granted, has the
 * same file and child-process limits as the process.
 */
import { createRequire, syncBuiltinESMExports } from "node:module";

const require = createRequire(import.meta.url);

/** `manifest`: the plugin's plugin.toml as parsed; its `[plugin.permissions] worker_threads` decides. */
export function guardWorkerThreads(manifest: Record<string, unknown>): void {
  const plugin = manifest.plugin as { permissions?: { worker_threads?: unknown } } | undefined;
  if (process.permission === undefined || plugin?.permissions?.worker_threads === true) return;
  const threads: { Worker: unknown } = require("node:worker_threads");
  const modules: { register: unknown } = require("node:module");
  threads.Worker = function Worker() {
    throw accessDenied();
  };
  modules.register = function register() {
    throw accessDenied();
  };
  // `import { Worker } from "node:worker_threads"` sees the same function from now on.
  syncBuiltinESMExports();
}

/** As Node's permission model words a refusal, so errors.ts maps it like any other. */
function accessDenied(): Error {
  return Object.assign(new Error("Access to this API has been restricted"), {
    code: "ERR_ACCESS_DENIED",
    permission: "WorkerThreads",
    resource: "",
  });
}
