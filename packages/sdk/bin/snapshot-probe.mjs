// Run from a freshly made startup snapshot (plugin-snapshot.mjs): says "ok" when the SDK's runtime is in it and a
// thread starts (a snapshot that loaded worker_threads as it was made breaks every thread of a process started from it).
import { Worker } from "node:worker_threads";

const runtime = /** @type {Record<symbol, { start?: unknown } | undefined>} */ (globalThis)[
  Symbol.for("neko-plugin.snapshot")
];
if (typeof runtime?.start !== "function") {
  process.stdout.write("no runtime");
} else {
  const worker = new Worker('require("node:worker_threads").parentPort.postMessage(process.cwd())', { eval: true });
  worker.once("message", () => {
    process.stdout.write("ok");
    void worker.terminate();
  });
  worker.once("error", (error) => process.stdout.write(`a thread fails: ${error.message}`));
}
